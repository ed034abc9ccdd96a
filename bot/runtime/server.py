"""The production HTTP server (waitress: pure Python, threaded, runs on any platform)."""

from __future__ import annotations

import threading

from waitress.server import create_server


def make_http_server(wsgi_app, host: str = "0.0.0.0", port: int = 3000, threads: int = 8):
    """A waitress server, not yet serving; call `.run()`. Port 0 picks a free one (`.effective_port`)."""
    # Bolt finishes listeners on its own thread pool after ack(), so request threads stay free.
    return create_server(
        wsgi_app, host=host, port=port, threads=threads, ident="leadbot", clear_untrusted_proxy_headers=True
    )


class ServerThread:
    """Runs a waitress server on a background thread and stops it cleanly (demo, tests, benchmarks).

    The socket is closed on the serving thread itself, so no select() ever sees a closed descriptor.
    """

    def __init__(self, server):
        self.server = server
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="leadbot-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.server.effective_host}:{self.server.effective_port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self.server.asyncore.loop(timeout=0.05, map=self.server._map, use_poll=True, count=1)
        self.server.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
