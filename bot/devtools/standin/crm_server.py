"""What the CRM stand-ins (HubSpot, Salesforce) share: a real HTTP server on 127.0.0.1, the log of what it
was asked, injected faults (an error answer, an answer lost after the work was done) and waiting for a state.

A subclass answers one request at a time under the stand-in's lock (`respond`), in its vendor's shapes.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from bot.devtools.standin.requests import post
from bot.devtools.standin.waiting import wait_under

EVENT_TRIES = 3


@dataclass
class EventDelivery:
    """One POST the stand-in made to the subscriber (HubSpot's webhook, a Salesforce Flow's callout)."""

    body: str
    status: int | None = None  # None: not answered (yet, or the subscriber was unreachable)
    answer: str = ""


@dataclass
class CrmRequest:
    method: str
    path: str
    body: Any
    status: int
    headers: dict = field(default_factory=dict)
    received_at: float = field(default_factory=time.time)


class CrmStandin:
    """Start with `start()`, point the vendor's client at `url`, `stop()` at the end."""

    name = "CRM"

    def __init__(self) -> None:
        self.requests: list[CrmRequest] = []
        self.deliveries: list[EventDelivery] = []
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # the clock its events are stamped by
        self._subscriber: tuple[str, Callable[[str, str], dict]] | None = None  # (url, headers for a body)
        self._outgoing: queue.Queue[EventDelivery] = queue.Queue()
        self._sender: threading.Thread | None = None
        self._failures: list[tuple[str, int, dict]] = []  # (path prefix, status, body fields)
        self._lost_answers: list[str] = []
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (_CrmHandler,), {"standin": self}))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._sender:
            self._outgoing.put(None)  # the sender's signal to end

    # -- events the CRM sends out (webhooks, Flow callouts) ------------------------------------------------
    def send_events_to(self, url: str, headers_for: Callable[[str, str], dict], now=None) -> None:
        """POST each change to `url`, one at a time in the order they happened, as the vendor's subscription
        would; `headers_for(url, body)` signs or authorises each POST, `now` stamps the events."""
        with self._cond:
            self._subscriber = (url, headers_for)
            if now is not None:
                self.now = now
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_events, daemon=True)
                self._sender.start()

    def emit(self, body: Any) -> None:
        """Queue one POST of `body` to the subscriber (nothing without one). Called under the lock."""
        if self._subscriber is not None:
            delivery = EventDelivery(json.dumps(body))
            self.deliveries.append(delivery)
            self._outgoing.put(delivery)

    def resend(self, delivery: EventDelivery) -> EventDelivery:
        """The same body again, as the vendor's retry (or a replay) would send it."""
        with self._cond:
            again = EventDelivery(delivery.body)
            self.deliveries.append(again)
            self._outgoing.put(again)
            return again

    def wait_for_deliveries(self, timeout: float = 5.0) -> list[EventDelivery]:
        """Until every queued event has been answered; the deliveries so far."""
        return self.wait_for(lambda: all(d.status is not None for d in self.deliveries) and list(self.deliveries),
                             timeout)  # fmt: skip

    def _send_events(self) -> None:
        while (delivery := self._outgoing.get()) is not None:
            url, headers_for = self._subscriber
            for attempt in range(EVENT_TRIES):  # the vendor retries a 5xx or no answer; not a 4xx
                try:
                    status, answer, _ = post(url, delivery.body, headers_for(url, delivery.body))
                except OSError as exc:
                    status, answer = 0, str(exc)
                if 0 < status < 500:
                    break
                time.sleep(0.05 * (attempt + 1))
            with self._cond:
                delivery.status, delivery.answer = status, answer
                self._cond.notify_all()

    # -- faults a test or the demo injects ------------------------------------------------------------
    def fail_next(self, path_prefix: str, status: int = 500, times: int = 1, **body) -> None:
        """Answer the next `times` requests whose path starts with `path_prefix` with this error."""
        with self._cond:
            self._failures.extend([(path_prefix, status, body)] * times)

    def clear_failures(self) -> None:
        with self._cond:
            self._failures.clear()

    def lose_answer_next(self, path_prefix: str, times: int = 1) -> None:
        """Carry out the next request(s) to this path, then hang up without answering."""
        with self._cond:
            self._lost_answers.extend([path_prefix] * times)

    def take_failure(self, path: str) -> tuple[int, dict] | None:
        """The injected error for this path, if one is waiting (called by `respond`, under the lock)."""
        failure = next((f for f in self._failures if path.startswith(f[0])), None)
        if failure is None:
            return None
        self._failures.remove(failure)
        return failure[1], dict(failure[2])

    def wait_for(self, predicate, timeout: float = 5.0):
        return wait_under(self._cond, predicate, timeout, f"the {self.name} stand-in")

    # -- one request ----------------------------------------------------------------------------------
    def respond(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, dict, Any]:
        """(status, extra headers, answer body or None) for one request; called under the lock."""
        raise NotImplementedError

    def handle(self, method: str, path: str, query: dict, headers: dict, body: Any) -> tuple[int, dict, Any, bool]:
        with self._cond:
            status, extra, answer = self.respond(method, path, query, headers, body)
            self.requests.append(CrmRequest(method, path, body, status, headers))
            lose = next((p for p in self._lost_answers if path.startswith(p)), None)
            if lose is not None:
                self._lost_answers.remove(lose)
            self._cond.notify_all()
            return status, extra, answer, lose is not None


class _CrmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin: CrmStandin

    def log_message(self, *args):
        pass

    def _serve(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            body: Any = dict(parse_qsl(raw.decode(errors="replace")))
        else:
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = "not json"
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, answer, lose = self.standin.handle(self.command, url.path, parse_qs(url.query), headers, body)
        if lose:
            self.close_connection = True  # done, but the caller never hears so
            return
        data = b"" if answer is None else json.dumps(answer).encode()
        try:
            self.send_response(status)
            if answer is not None:
                self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the caller went away (a worker shut down mid-call)
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = _serve
