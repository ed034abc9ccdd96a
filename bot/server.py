"""The production HTTP server (waitress: pure Python, threaded, runs on any platform)."""

from __future__ import annotations

from waitress.server import create_server


def make_http_server(wsgi_app, host: str = "0.0.0.0", port: int = 3000, threads: int = 16):
    """A waitress server, not yet serving; call `.run()`. Port 0 picks a free one (`.effective_port`)."""
    # Bolt finishes listeners on its own thread pool after ack(), so request threads stay free.
    return create_server(wsgi_app, host=host, port=port, threads=threads, ident="leadbot",
                         clear_untrusted_proxy_headers=True)
