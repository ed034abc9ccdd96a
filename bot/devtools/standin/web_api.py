"""A local stand-in for Slack's Web API: a real HTTP server on 127.0.0.1.

`leadbot demo` runs against it, and so do the tests (the way bolt-python tests itself). It answers
like Slack does (`{"ok": true, ...}`, `{"ok": false, "error": ...}`, 429 with Retry-After) and
rejects what Slack would reject, a little more strictly: a message without `text`, more than 50
blocks, a button value over 2,000 characters, and the other Block Kit limits checked below.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from bot.devtools.standin.block_checks import block_problems
from bot.devtools.standin.http_handler import StandinRequestHandler
from bot.devtools.standin.waiting import wait_under

BOT_USER_ID = "U0LEADBOT"
TEAM_ID = "T0LEADBOT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    seconds: float  # time spent inside the stand-in, reported apart from Leadbot's own time
    received_at: float = field(default_factory=time.perf_counter)
    received_wall: float = field(default_factory=time.time)  # to compare with deadlines stored in the database


@dataclass
class Failure:
    status: int
    error: str
    retry_after: int | None = None


class FakeSlack:
    """Start with `start()`; point a WebClient at `base_url`."""

    def __init__(self, bot_token: str = "xoxb-standin", host: str = "127.0.0.1", port: int = 0):
        self.bot_token = bot_token
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict] = {}
        self.responses: list[dict] = []  # what listeners sent to response_url
        self.home_views: dict[str, dict] = {}
        self._home_hashes: dict[str, str] = {}
        self.opened_views: list[dict] = []  # modals opened with views.open, newest last
        self.uploads: dict[str, dict] = {}  # file id → {"filename", "alt_txt", "bytes", "channel", "title", "comment"}
        self._failures: dict[str, list[Failure]] = {}
        self._lost_answers: dict[str, int] = {}
        self._ts = itertools.count(1)
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str = "1") -> str:
        return f"{self.url}/response/{key}"

    def start(self) -> FakeSlack:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- faults ----------------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 500,
        error: str = "internal_error",
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        with self._cond:
            self._failures.setdefault(method, []).extend([Failure(status, error, retry_after)] * times)

    def lose_answer_next(self, method: str, times: int = 1) -> None:
        """Carry out the next call(s) to `method`, then hang up without answering (an answer lost on the way)."""
        with self._cond:
            self._lost_answers[method] = self._lost_answers.get(method, 0) + times

    # -- what happened ---------------------------------------------------------------------------
    def calls_to(self, method: str, ok: bool | None = True) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id[1:]

    def home_hash(self, user_id: str) -> str | None:
        """The hash of the App Home view a person has now, as Slack puts it in app_home_opened."""
        with self._cond:
            return self._home_hashes.get(user_id)

    def messages_in(self, channel: str) -> list[dict]:
        with self._cond:
            return [m for (ch, _), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1])) if ch == channel]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until predicate() is truthy (checked after every call the stand-in answers)."""
        return wait_under(self._cond, predicate, timeout, "the fake Slack")

    # -- the API ---------------------------------------------------------------------------------
    def _next_ts(self) -> str:
        # Like Slack's: the time of posting, unique within a channel (here: unique everywhere).
        self._last_ts = max(time.time(), getattr(self, "_last_ts", 0.0) + 0.000001)
        return f"{self._last_ts:.6f}"

    def _channel_for(self, channel: str) -> str:
        return self.dm_channel(channel) if channel[:1] in ("U", "W") else channel

    def answer(self, method: str, args: dict, token: str | None) -> tuple[int, dict, dict]:
        """(status, headers, body) for one Web API call; holds the lock."""
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return failure.status, headers, {"ok": False, "error": failure.error}
        if token != self.bot_token:
            return 200, {}, {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 404, {}, {"ok": False, "error": "unknown_method"}
        return 200, {}, handler(args)

    def _message_problems(self, args: dict) -> dict | None:
        if not isinstance(args.get("text"), str) or not args["text"].strip():
            return {"ok": False, "error": "no_text"}
        if len(args["text"]) > 40_000:
            return {"ok": False, "error": "msg_too_long"}
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks is not None:
            problems = block_problems(blocks, 50)
            if problems:
                return {"ok": False, "error": "invalid_blocks", "errors": problems}
        return None

    def _api_auth_test(self, args: dict) -> dict:
        return {
            "ok": True,
            "url": "https://standin.slack.invalid/",
            "team": "Leadbot stand-in",
            "user": "leadbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "B0LEADBOT",
        }

    def _api_chat_postMessage(self, args: dict) -> dict:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        problem = self._message_problems(args)
        if problem:
            return problem
        channel, ts = self._channel_for(args["channel"]), self._next_ts()
        thread_ts = args.get("thread_ts")
        if thread_ts and (channel, thread_ts) not in self.messages:
            return {"ok": False, "error": "thread_not_found"}
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": "B0LEADBOT",
            "ts": ts,
            "text": args["text"],
            "blocks": args.get("blocks") or [],
            "thread_ts": thread_ts,
            "channel": channel,
            "edits": 0,
        }
        metadata = json.loads(args["metadata"]) if isinstance(args.get("metadata"), str) else args.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict) or not re.fullmatch(r"[a-z0-9_]+", str(metadata.get("event_type", ""))):
                return {"ok": False, "error": "invalid_metadata_format"}
            message["metadata"] = metadata
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _api_chat_update(self, args: dict) -> dict:
        key = (args.get("channel"), args.get("ts"))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        problem = self._message_problems(args)
        if problem:
            return problem
        message = self.messages[key]
        message.update(text=args["text"], blocks=args.get("blocks") or [], edits=message["edits"] + 1)
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args["text"]}

    def _api_chat_postEphemeral(self, args: dict) -> dict:
        problem = self._message_problems(args)
        if problem:
            return problem
        self.responses.append(
            {
                "channel": args.get("channel"),
                "user": args.get("user"),
                "text": args["text"],
                "response_type": "ephemeral",
            }
        )
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_views_publish(self, args: dict) -> dict:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        problems = block_problems(view.get("blocks", []), 100)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        # Slack's hash: a publish naming the hash of a view that has since been replaced is refused.
        user = args["user_id"]
        current = self._home_hashes.get(user)
        if args.get("hash") and args["hash"] != current:
            return {"ok": False, "error": "hash_conflict"}
        self._home_hashes[user] = f"{time.time():.0f}.{next(self._ts)}"
        self.home_views[user] = view
        return {"ok": True, "view": {"id": "V0HOME", "type": "home", **view, "hash": self._home_hashes[user]}}

    def _api_views_open(self, args: dict) -> dict:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        problems = block_problems(view.get("blocks", []), 100)
        for key in ("title", "submit", "close"):
            if key in view and len(view[key].get("text", "")) > 24:
                problems.append(f"{key} over 24 characters")
        if len(view.get("private_metadata", "")) > 3000:
            problems.append("private_metadata over 3000 characters")
        if problems:
            return {"ok": False, "error": "invalid_arguments", "errors": problems}
        opened = {
            "id": f"V{len(self.opened_views) + 1:08d}",
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": "1601009219.3NRSqpiD",
            **view,
        }
        self.opened_views.append({"trigger_id": args["trigger_id"], "view": opened})
        return {"ok": True, "view": opened}

    def _api_files_getUploadURLExternal(self, args: dict) -> dict:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.uploads) + 1:08d}"
        if len(args.get("alt_txt") or "") > 1000:
            return {"ok": False, "error": "invalid_arguments"}
        self.uploads[file_id] = {
            "filename": args["filename"],
            "length": int(args["length"]),
            "alt_txt": args.get("alt_txt"),
            "bytes": None,
        }
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, args: dict) -> dict:
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        done = []
        for item in files or []:
            upload = self.uploads.get(item.get("id"))
            if upload is None or upload["bytes"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(channel=args.get("channel_id"), title=item.get("title"), comment=args.get("initial_comment"))
            done.append({"id": item["id"], "title": item.get("title")})
        return {"ok": True, "files": done}

    def _api_conversations_history(self, args: dict) -> dict:
        """Top-level messages of a channel, newest first (thread replies are not in a channel's history)."""
        return self._history(args, lambda m: not m["thread_ts"] or m["thread_ts"] == m["ts"])

    def _api_conversations_replies(self, args: dict) -> dict:
        """A thread: its parent, then the replies, oldest first."""
        parent = args.get("ts")
        return self._history(args, lambda m: m["ts"] == parent or m["thread_ts"] == parent, newest_first=False)

    def _history(self, args: dict, keep, newest_first: bool = True) -> dict:
        channel = args.get("channel")
        if not channel or channel[:1] in ("U", "W"):  # history takes a conversation id, not a user
            return {"ok": False, "error": "channel_not_found"}
        oldest, limit = float(args.get("oldest") or 0), int(args.get("limit") or 100)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        found = [
            {k: v for k, v in m.items() if k != "metadata" or with_metadata}
            for (ch, ts), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1]), reverse=newest_first)
            if ch == channel and float(ts) > oldest and keep(m)
        ]
        # Pages as Slack gives them: `limit` at a time, an opaque cursor to the next, "" after the last.
        cursor = args.get("cursor") or ""
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page, more = found[start : start + limit], len(found) > start + limit
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "messages": page, "has_more": more, "response_metadata": {"next_cursor": next_cursor}}

    def _api_conversations_open(self, args: dict) -> dict:
        users = args.get("users")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self.dm_channel(users.split(",")[0])}}

    # -- HTTP ------------------------------------------------------------------------------------
    def _handler_class(self):
        return type("Handler", (StandinRequestHandler,), {"standin": self})

    # -- what the HTTP side hands over (see http_handler.py) ----------------------------------------
    def receive_upload(self, file_id: str, data: bytes) -> bool:
        with self._cond:
            upload = self.uploads.get(file_id)
            if upload is not None:
                upload["bytes"] = data
            self._cond.notify_all()
        return upload is not None

    def receive_response(self, key: str, args: dict) -> None:
        with self._cond:
            self.responses.append({"_key": key, **args})
            self._cond.notify_all()

    def receive_call(self, method: str, args: dict, token: str | None, started: float) -> tuple[int, dict, dict, bool]:
        """(status, headers, body, whether to hang up instead of answering) for one Web API call."""
        with self._cond:
            status, headers, body = self.answer(method, args, token)
            self.calls.append(
                Call(method, args, bool(body.get("ok")), body.get("error"), time.perf_counter() - started)
            )
            lose = self._lost_answers.get(method, 0) > 0
            if lose:
                self._lost_answers[method] -= 1
            self._cond.notify_all()
        return status, headers, body, lose
