"""A TCP relay in front of the API server that the chaos suite can cut and restore (an API outage as the
operator sees it: open connections reset, new ones refused, TLS untouched end to end)."""

from __future__ import annotations

import contextlib
import socket
import threading


class Relay:
    """Listens on a free loopback port and forwards every connection to ``target`` while :attr:`up`."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.up = True
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, name="relay-accept", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._connections.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._copy, args=(source, sink), daemon=True).start()

    def _copy(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(1 << 16):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._connections.discard(sock)

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        self.up = False
        with self._lock:
            open_now = list(self._connections)
        self._drop(*open_now)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self._server.close()
