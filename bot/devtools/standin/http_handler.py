"""The stand-in's HTTP side: Web API calls, response_url posts and file uploads, over real HTTP/1.1."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl


class StandinRequestHandler(BaseHTTPRequestHandler):
    """Parses each request as Slack receives it and hands it to the stand-in (`standin`, set by a subclass)."""

    protocol_version = "HTTP/1.1"
    standin: Any

    def log_message(self, *args):  # quiet: tests and the demo print what matters
        pass

    def _reply(self, status: int, body: dict | str, headers: dict | None = None) -> None:
        raw = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self):
        started = time.perf_counter()
        raw_bytes = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/upload/"):
            found = self.standin.receive_upload(self.path.removeprefix("/upload/"), raw_bytes)
            self._reply(200 if found else 404, f"OK - {len(raw_bytes)}")
            return
        raw = raw_bytes.decode(errors="replace")
        try:
            args = (
                (json.loads(raw) if raw else {})
                if "json" in (self.headers.get("Content-Type") or "")
                else dict(parse_qsl(raw))
            )
        except json.JSONDecodeError:
            self._reply(200, {"ok": False, "error": "invalid_json"})
            return
        if self.path.startswith("/response/"):
            self.standin.receive_response(self.path.removeprefix("/response/"), args)
            self._reply(200, "ok")
            return
        method = self.path.removeprefix("/api/").split("?")[0]
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        status, headers, body, lose = self.standin.receive_call(method, args, token, started)
        if lose:
            self.close_connection = True  # done, but the caller never hears so
            return
        self._reply(status, body, headers)
