"""raykube's HTTP/1.1 transport against a scripted server on loopback: keep-alive, chunked streams, a kept-alive
connection the server closed (a GET is sent again, a POST never), and timeouts as httpx's exceptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx2
import pytest

from raykube.runtime.transport import Http11Transport

Handler = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


class Server:
    """Answers each request with ``handler(request_head, reader, writer)``; False closes the connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head.split(b"\r\n", 1)[0] + b" " + body)
                if not await self.handler(head, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def ok(body: bytes) -> Handler:
    async def handle(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        await writer.drain()
        return True

    return handle


async def serving(server: Server) -> AsyncIterator[httpx2.AsyncClient]:
    srv = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    client = httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=Http11Transport(),
                                timeout=httpx2.Timeout(2.0))
    try:
        yield client
    finally:
        await client.aclose()
        srv.close()


@pytest.fixture
async def json_server() -> AsyncIterator[tuple[Server, httpx2.AsyncClient]]:
    server = Server(ok(b'{"kind":"Pod"}'))
    async for client in serving(server):
        yield server, client


async def test_requests_reuse_one_kept_alive_connection(json_server: tuple[Server, httpx2.AsyncClient]) -> None:
    server, client = json_server
    for _ in range(5):
        response = await client.get("/api/v1/pods")
        assert response.status_code == 200 and response.json() == {"kind": "Pod"}
    posted = await client.post("/api/v1/namespaces/ns/pods", content=b'{"a":1}')
    assert posted.json() == {"kind": "Pod"}
    assert server.connections == 1
    assert server.requests[-1] == b'POST /api/v1/namespaces/ns/pods HTTP/1.1 {"a":1}'


async def test_a_chunked_stream_arrives_chunk_by_chunk_and_the_connection_is_reused_after_it() -> None:
    go_on = asyncio.Event()

    async def handle(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if b"watch=true" not in head:
            return await ok(b"{}")(head, reader, writer)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for line in (b'{"type":"ADDED"}\n', b'{"type":"MODI', b'FIED"}\n'):
            writer.write(b"%x\r\n%s\r\n" % (len(line), line))
            await writer.drain()
            await go_on.wait()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    server = Server(handle)
    async for client in serving(server):
        seen: list[str] = []
        async with client.stream("GET", "/api/v1/pods?watch=true") as response:
            async for line in response.aiter_lines():
                seen.append(line)
                go_on.set()  # the first event arrived before the server sent the rest
        assert seen == ['{"type":"ADDED"}', '{"type":"MODIFIED"}']
        assert (await client.get("/x")).json() == {}
        assert server.connections == 1


async def test_a_kept_alive_connection_the_server_closed_is_replaced_for_a_get_but_never_for_a_post() -> None:
    answered = 0

    async def handle(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        nonlocal answered
        answered += 1
        if answered == 2:
            return False  # took the request, closed without a word (a server's idle timeout racing us)
        return await ok(b"{}")(head, reader, writer)

    server = Server(handle)
    async for client in serving(server):
        await client.get("/first")
        assert (await client.get("/again")).json() == {}  # sent again on a new connection
        assert server.connections == 2
        answered = 1
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.post("/create", content=b"{}")  # might have been done: never sent twice
        assert [r.split(b" ")[1] for r in server.requests].count(b"/create") == 1


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def handle(head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async for client in serving(Server(handle)):
        with pytest.raises(httpx2.ReadTimeout):
            await client.get("/slow", timeout=httpx2.Timeout(0.2))


async def test_an_unreachable_server_is_a_connect_error() -> None:
    client = httpx2.AsyncClient(base_url="http://127.0.0.1:9", transport=Http11Transport())
    with pytest.raises(httpx2.ConnectError):
        await client.get("/")
    await client.aclose()
