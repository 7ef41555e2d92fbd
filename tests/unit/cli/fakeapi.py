"""A stand-in API server for error-path tests: plain HTTP on loopback, one canned behaviour per test.

``empty``: every list is empty and every named object is missing (404 NotFound), as in an empty namespace.
``forbidden`` / ``unauthorized``: every request is refused (403 / 401), as for a ServiceAccount token without
rights or an expired token. ``no-crds``: the ray.io group is not served (404 with the API server's own
"the server could not find the requested resource"), other lists are empty.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

MODES = ("empty", "forbidden", "unauthorized", "no-crds")


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": message}


def answer(mode: str, method: str, path: str) -> tuple[int, dict[str, Any]]:
    """What the fake answers ``method path`` with in ``mode``."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    # /api/v1/... or /apis/GROUP/VERSION/...; then optionally namespaces/NS/; then PLURAL[/NAME[/SUB]].
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    plural = rest[0] if rest else ""
    if mode == "forbidden":
        return 403, _status(403, "Forbidden", f'{plural} is forbidden: User "system:serviceaccount:ns:nobody" '
                                              f'cannot {method.lower()} resource "{plural}"')
    if mode == "unauthorized":
        return 401, _status(401, "Unauthorized", "Unauthorized")
    if mode == "no-crds" and parts[:2] == ["apis", "ray.io"]:
        return 404, _status(404, "NotFound", "the server could not find the requested resource")
    if method == "GET" and len(rest) == 1:
        return 200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}
    name = rest[1] if len(rest) > 1 else ""
    return 404, _status(404, "NotFound", f'{plural} "{name}" not found')


class _Handler(BaseHTTPRequestHandler):
    mode = "empty"

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        code, body = answer(self.server.mode, self.command, self.path)  # type: ignore[attr-defined]
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _reply

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_api(mode: str) -> Iterator[str]:
    """Serve ``mode`` on a free loopback port; yields the server URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.mode = mode  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_kubeconfig(path: Path, server: str, *, namespace: str = "ns") -> Path:
    """A kubeconfig with one context pointing at ``server`` with a bearer token."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "nobody", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "nobody", "namespace": namespace}}]}))
    return path
