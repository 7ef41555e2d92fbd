"""HTTP to the API server for the CLI: streaming pod logs over the kubeconfig's connection settings.

The connection settings themselves (TLS, credentials, the Service proxy URL) come from
:mod:`raykube.runtime.apiaccess`, shared with the operator's ``--use-kubernetes-proxy``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from raykube.runtime.apiaccess import ApiAccess as KubeAccess
from raykube.runtime.apiaccess import ApiAccessError as KubeAccessError
from raykube.runtime.apiaccess import load_access

__all__ = ["KubeAccess", "KubeAccessError", "load_access", "stream_pod_log"]


async def stream_pod_log(
    access: KubeAccess, namespace: str, pod: str, *, container: str | None = None, follow: bool = False
) -> AsyncIterator[str]:
    """Lines of a pod's log (until the container ends, with ``follow``)."""
    params = {"follow": "true" if follow else "false", **({"container": container} if container else {})}
    url = f"{access.server}/api/v1/namespaces/{namespace}/pods/{pod}/log"
    timeout = httpx.Timeout(30.0, read=None) if follow else httpx.Timeout(30.0)
    async with (
        httpx.AsyncClient(transport=access.transport(), headers=access.headers, timeout=timeout) as http,
        http.stream("GET", url, params=params) as response,
    ):
        if response.status_code >= 400:
            text = (await response.aread()).decode(errors="replace")
            raise KubeAccessError(f"logs of pod {namespace}/{pod}: HTTP {response.status_code}: {text[:300]}")
        async for line in response.aiter_lines():
            yield line
