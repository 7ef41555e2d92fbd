"""The operator's plain-HTTP endpoints: `/metrics` (Prometheus), `/healthz`, `/readyz`.

A few GET routes do not justify a web framework: this is asyncio's own server, one request per
connection, as kubelet probes and Prometheus scrapes use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

_STATUS_TEXT = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}


class Endpoints:
    """Serves the metrics registry and two probes; `ready()` decides /readyz."""

    def __init__(self, registry: CollectorRegistry, *, ready: Callable[[], bool]) -> None:
        self._registry = registry
        self._ready = ready

    def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        if method != "GET":
            return 405, "text/plain", b"only GET\n"
        route = path.split("?", 1)[0]
        if route == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if route == "/healthz":
            return 200, "text/plain", b"ok"
        if route == "/readyz":
            return (200, "text/plain", b"ok") if self._ready() else (500, "text/plain", b"caches not synced")
        return 404, "text/plain", b"not found\n"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=10)
            while (await asyncio.wait_for(reader.readline(), timeout=10)) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            parts = request_line.decode("latin-1").split()
            status, content_type, body = self.respond(*parts[:2]) if len(parts) >= 2 else (405, "text/plain", b"")
            head = (
                f"HTTP/1.1 {status} {_STATUS_TEXT[status]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):
            pass  # a slow, broken or oversized request (ValueError: a line past the stream limit) just closes
        finally:
            writer.close()

    async def serve(self, address: str) -> None:
        """Serve on `host:port` (empty host: all interfaces) until cancelled; `0` as port disables."""
        host, _, port = address.rpartition(":")
        if port == "0":
            await asyncio.Event().wait()
            return
        server = await asyncio.start_server(self._handle, host or None, int(port))
        async with server:
            await server.serve_forever()
