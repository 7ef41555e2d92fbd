"""HTTP/1.1 keep-alive over asyncio streams: the operator's transport to its one API server.

Why not httpx's default transport (httpcore over anyio): profiles of the operator at 100 RayClusters spent a
quarter of its CPU there, not in the request itself: before every request the pool polls every idle
connection's socket (a syscall each), anyio looks up typed stream attributes on every read and write, and
each body passes through three layers of iterators (docs/benchmarks.md has the profile). The API server is
one host speaking plain HTTP/1.1 (JSON bodies with Content-Length, chunked watch streams), so this transport
does only that, on asyncio's own TLS streams:

* a LIFO pool of idle connections; one that the server closed is noticed without a syscall (the stream saw
  EOF) and dropped, and one idle longer than ``keepalive_expiry`` is closed;
* a request on a reused connection that fails before any byte of the answer arrived (the server closed it
  in the meantime) is sent again once on a new connection, except a POST: a create must never be doubled;
* Content-Length bodies are read at once and the connection goes back to the pool; chunked bodies (watches,
  large lists) are streamed chunk by chunk, and the connection goes back once the last chunk is read;
* failures are httpx's exceptions (``ConnectError``, ``ReadError``, ``ReadTimeout``, ...), so callers that
  handle ``httpx2.TransportError`` need not know which transport ran.

httpx keeps everything above the transport: URL and header building, authentication flows, decompression.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator

import httpx2

_CRLF = b"\r\n"
_NO_BODY_STATUS = frozenset({204, 304})


class _Connection:
    __slots__ = ("idle_since", "key", "reader", "writer")

    def __init__(self, key: tuple[str, str, int], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                 ) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float, expiry: float) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing() and now - self.idle_since < expiry

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _Retry(Exception):
    """A reused connection failed before the answer began: send the request again on a new one."""


class Http11Transport(httpx2.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 for httpx2's ``AsyncClient(transport=...)``.

    Parameters:
        ssl_context: for https URLs (CA, client certificate); ``None`` for plain http.
        max_idle: idle connections kept per host.
        keepalive_expiry: seconds an idle connection is kept.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None, *, max_idle: int = 64,
                 keepalive_expiry: float = 30.0) -> None:
        self._ssl = ssl_context
        self._max_idle = max_idle
        self._expiry = keepalive_expiry
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._closed:
            raise httpx2.ConnectError("the transport is closed", request=request)
        url = request.url
        key = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        body = await request.aread()
        head = self._head(request, body)
        timeouts = request.extensions.get("timeout") or {}
        for _ in range(2):
            conn = self._checkout(key)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(key, request, timeouts.get("connect"))
            try:
                return await self._exchange(conn, request, head + body, timeouts, retry_ok=reused)
            except _Retry:
                conn.close()
                if request.method == "POST":
                    raise httpx2.RemoteProtocolError(
                        "the API server closed a kept-alive connection before answering", request=request
                    ) from None
        raise httpx2.RemoteProtocolError("the API server closed the connection before answering", request=request)

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    # -- connections ---------------------------------------------------------------------------------

    def _checkout(self, key: tuple[str, str, int]) -> _Connection | None:
        conns = self._idle.get(key)
        now = time.monotonic()
        while conns:
            conn = conns.pop()
            if conn.usable(now, self._expiry):
                return conn
            conn.close()
        return None

    def _checkin(self, conn: _Connection) -> None:
        conns = self._idle.setdefault(conn.key, [])
        if self._closed or len(conns) >= self._max_idle or conn.reader.at_eof():
            conn.close()
            return
        conn.idle_since = time.monotonic()
        conns.append(conn)

    async def _connect(self, key: tuple[str, str, int], request: httpx2.Request, timeout: float | None
                       ) -> _Connection:
        scheme, host, port = key
        ctx = (self._ssl or ssl.create_default_context()) if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=ctx, limit=1 << 20)
        except TimeoutError as exc:
            raise httpx2.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from exc
        except OSError as exc:  # ssl.SSLError is an OSError
            raise httpx2.ConnectError(f"connecting to {host}:{port}: {exc}", request=request) from exc
        return _Connection(key, reader, writer)

    # -- one request and its answer ----------------------------------------------------------------------

    @staticmethod
    def _head(request: httpx2.Request, body: bytes) -> bytes:
        target = request.url.raw_path
        lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
        has_length = False
        for name, value in request.headers.raw:
            lowered = name.lower()
            if lowered == b"content-length":
                has_length = True
            elif lowered == b"transfer-encoding":
                continue  # the body is always sent whole, with its length
            lines.append(name + b": " + value)
        if body and not has_length:
            lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
        return _CRLF.join(lines) + _CRLF + _CRLF

    async def _exchange(self, conn: _Connection, request: httpx2.Request, data: bytes,
                        timeouts: dict[str, float | None], *, retry_ok: bool) -> httpx2.Response:
        reader = conn.reader
        try:
            conn.writer.write(data)
            async with asyncio.timeout(timeouts.get("write")):
                await conn.writer.drain()
            async with asyncio.timeout(timeouts.get("read")):
                raw_head = await reader.readuntil(_CRLF + _CRLF)
        except TimeoutError as exc:
            conn.close()
            raise httpx2.ReadTimeout("the API server did not answer in time", request=request) from exc
        except asyncio.IncompleteReadError as exc:
            conn.close()
            if retry_ok and not exc.partial:
                raise _Retry() from exc
            raise httpx2.RemoteProtocolError("the API server closed the connection before answering",
                                             request=request) from exc
        except ConnectionError as exc:
            conn.close()
            if retry_ok:
                raise _Retry() from exc
            raise httpx2.ReadError(f"sending the request: {exc!r}", request=request) from exc
        except (OSError, asyncio.LimitOverrunError) as exc:
            conn.close()
            raise httpx2.ReadError(f"reading the answer: {exc!r}", request=request) from exc
        status_line, _, raw_headers = raw_head.partition(_CRLF)
        status, headers, length, chunked, keep_alive = _parse_head(status_line, raw_headers, request)
        if request.method == "HEAD" or status in _NO_BODY_STATUS or (length == 0 and not chunked):
            self._release(conn, keep_alive)
            return httpx2.Response(status, headers=headers, content=b"", request=request)
        if chunked:
            stream = _ChunkedBody(self, conn, request, keep_alive, timeouts.get("read"))
            return httpx2.Response(status, headers=headers, stream=stream, request=request)
        try:
            async with asyncio.timeout(timeouts.get("read")):
                body = await reader.readexactly(length) if length is not None else await reader.read()
        except TimeoutError as exc:
            conn.close()
            raise httpx2.ReadTimeout("the API server did not finish its answer in time", request=request) from exc
        except (OSError, asyncio.IncompleteReadError) as exc:
            conn.close()
            raise httpx2.ReadError(f"reading the body: {exc!r}", request=request) from exc
        self._release(conn, keep_alive and length is not None)
        return httpx2.Response(status, headers=headers, stream=httpx2.ByteStream(body), request=request)

    def _release(self, conn: _Connection, keep_alive: bool) -> None:
        if keep_alive:
            self._checkin(conn)
        else:
            conn.close()


def _parse_head(status_line: bytes, raw_headers: bytes, request: httpx2.Request
                ) -> tuple[int, list[tuple[bytes, bytes]], int | None, bool, bool]:
    """Status, headers, Content-Length (None: unknown), chunked, and whether the connection stays open."""
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise httpx2.RemoteProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}", request=request)
    try:
        status = int(parts[1])
    except ValueError as exc:
        raise httpx2.RemoteProtocolError(f"bad status line: {status_line[:80]!r}", request=request) from exc
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    keep_alive = parts[0] == b"HTTP/1.1"
    for line in raw_headers.split(_CRLF):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise httpx2.RemoteProtocolError(f"bad header line: {line[:80]!r}", request=request)
        value = value.strip()
        headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif lowered == b"connection":
            keep_alive = value.lower() != b"close"
    return status, headers, length, chunked, keep_alive


class _ChunkedBody(httpx2.AsyncByteStream):
    """A chunked body read chunk by chunk; the connection is kept only if the last chunk was read."""

    def __init__(self, transport: Http11Transport, conn: _Connection, request: httpx2.Request, keep_alive: bool,
                 read_timeout: float | None) -> None:
        self._transport = transport
        self._conn: _Connection | None = conn
        self._request = request
        self._keep_alive = keep_alive
        self._timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        reader = conn.reader
        while True:
            try:
                async with asyncio.timeout(self._timeout):
                    size_line = await reader.readline()
                    if not size_line:
                        raise asyncio.IncompleteReadError(b"", None)
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while (await reader.readline()) not in (_CRLF, b""):
                            pass  # trailers
                        break
                    chunk = await reader.readexactly(size + 2)
            except TimeoutError as exc:
                await self.aclose()
                raise httpx2.ReadTimeout("no data from the API server in time", request=self._request) from exc
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                await self.aclose()
                raise httpx2.ReadError(f"reading a chunked body: {exc!r}", request=self._request) from exc
            yield chunk[:-2]
        self._conn = None
        self._transport._release(conn, self._keep_alive)

    async def aclose(self) -> None:
        """Closed before the last chunk: the connection is in an unknown place of the stream, so it goes."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
