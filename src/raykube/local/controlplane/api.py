"""A tiny synchronous HTTPS client for the local cluster's own set-up steps (health, nodes, waits).

The operator uses the async runtime client; `raykube local` only needs a handful of calls before any
of that exists, so it talks to the API server directly with the admin client certificate.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx


class LocalApi:
    """GET/POST/DELETE against the local API server (as the admin user, or the client certificate given)."""

    def __init__(self, server: str, *, ca: Path, cert: Path, key: Path, timeout: float = 10.0) -> None:
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        self._http = httpx.Client(base_url=server, verify=context, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LocalApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def healthy(self, path: str = "/readyz") -> bool:
        response = self._http.get(path)
        return response.status_code == 200 and response.text.strip() == "ok"

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None on 404."""
        response = self._http.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def items(self, path: str) -> list[dict[str, Any]]:
        """The items of the list at `path` (a collection)."""
        listed = self.get(path)
        return list((listed or {}).get("items") or [])

    def delete(self, path: str) -> bool:
        """DELETE the object at `path`; False if it was already gone."""
        response = self._http.delete(path)
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body`; an object that already exists (409) is returned as it is on the server."""
        response = self._http.post(path, json=body)
        if response.status_code == 409:
            existing = self.get(f"{path}/{body['metadata']['name']}")
            assert existing is not None
            return existing
        if response.is_error:
            raise httpx.HTTPStatusError(
                f"POST {path}: {response.status_code} {response.text[:500]}",
                request=response.request,
                response=response,
            )
        result: dict[str, Any] = response.json()
        return result


def https_healthy(port: int, path: str = "/healthz") -> bool:
    """True if a component's self-signed HTTPS health endpoint on loopback answers 'ok'."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    response = httpx.get(f"https://127.0.0.1:{port}{path}", verify=context, timeout=2.0)
    return response.status_code == 200 and response.text.strip() == "ok"


def http_healthy(url: str) -> bool:
    response = httpx.get(url, timeout=2.0)
    return response.status_code == 200
