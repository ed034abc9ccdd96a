"""Fault injection on loopback: a TCP proxy in front of a real server that can be cut and restored."""

from __future__ import annotations

import socket
import threading


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a real server, and fails on demand.

    `cut()` drops every connection and hangs up on new ones (as when a database host goes away);
    `refuse()` stops listening, so connecting is refused; `restore()` forwards again on the same port.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._up = threading.Event()
        self._up.set()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port again
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self._lock:
            self._open.discard(end)
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        end.close()

    def cut(self) -> None:
        self._up.clear()
        with self._lock:
            ends = list(self._open)
        for end in ends:
            self._close(end)

    def refuse(self) -> None:
        """Nothing listens on the port any more: connecting is refused, as when a host's service is down."""
        self.cut()
        self._listener.close()
        self._refusing = True

    def restore(self) -> None:
        if getattr(self, "_refusing", False):
            self._refusing = False
            self._listen()
        self._up.set()

    def stop(self) -> None:
        self._stopping = True
        self.cut()
        self._listener.close()
