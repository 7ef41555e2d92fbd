"""The metrics/health endpoint: loopback by default, and a hostile request only closes its connection."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from raykube.operator.config import OperatorConfig
from raykube.operator.http import Endpoints


class Writer:
    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


async def _answer(request: bytes) -> Writer:
    reader, writer = asyncio.StreamReader(), Writer()
    reader.feed_data(request)
    reader.feed_eof()
    await Endpoints(CollectorRegistry(), ready=lambda: True)._handle(reader, writer)  # type: ignore[arg-type]
    return writer


async def test_an_oversized_request_line_is_closed_without_an_error() -> None:
    # Found as a hostile user: every oversized request logged a traceback.
    writer = await _answer(b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\n\r\n")
    assert writer.closed and writer.data == b""


async def test_a_normal_request_is_answered() -> None:
    writer = await _answer(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert writer.data.startswith(b"HTTP/1.1 200 OK") and writer.data.endswith(b"ok")


def test_endpoints_listen_on_loopback_unless_told_otherwise() -> None:
    config = OperatorConfig()
    assert config.metrics_addr == "127.0.0.1:8080" and config.probe_addr == "127.0.0.1:8082"
