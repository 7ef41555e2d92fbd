"""HTTP to the API server for the CLI: the kubeconfig's TLS and credentials on a plain httpx transport.

The CLI needs two things the controller client does not offer: streaming pod logs, and the API server's
Service proxy to a cluster's Ray dashboard (``/api/v1/namespaces/<ns>/services/<svc>:dashboard/proxy``), which
:class:`~raykube.ray.client.DashboardClient` can use as if it were the dashboard itself. Both need the same
connection settings, built here once from a kubeconfig (certificate files or inline data, bearer tokens;
exec plugins are not supported).
"""

from __future__ import annotations

import base64
import ssl
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError


class KubeAccessError(Exception):
    """The kubeconfig cannot be used by the CLI's HTTP client."""


@dataclass(frozen=True)
class KubeAccess:
    """Where the API server is and how to reach it."""

    server: str
    namespace: str
    ssl_context: ssl.SSLContext | bool
    headers: dict[str, str] = field(default_factory=dict)

    def transport(self) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(verify=self.ssl_context)

    def service_proxy(self, namespace: str, service: str, port: str = "dashboard") -> str:
        """Base URL of a Service port through the API server's proxy."""
        return f"{self.server}/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy"

    async def stream_pod_log(
        self, namespace: str, pod: str, *, container: str | None = None, follow: bool = False
    ) -> AsyncIterator[str]:
        """Lines of a pod's log (until the container ends, with ``follow``)."""
        params = {"follow": "true" if follow else "false", **({"container": container} if container else {})}
        url = f"{self.server}/api/v1/namespaces/{namespace}/pods/{pod}/log"
        timeout = httpx.Timeout(30.0, read=None) if follow else httpx.Timeout(30.0)
        async with (
            httpx.AsyncClient(transport=self.transport(), headers=self.headers, timeout=timeout) as http,
            http.stream("GET", url, params=params) as response,
        ):
            if response.status_code >= 400:
                text = (await response.aread()).decode(errors="replace")
                raise KubeAccessError(f"logs of pod {namespace}/{pod}: HTTP {response.status_code}: {text[:300]}")
            async for line in response.aiter_lines():
                yield line


def load_access(kubeconfig: str | None, *, context: str | None = None) -> KubeAccess:
    """Build :class:`KubeAccess` from a kubeconfig file (``None``: ``$KUBECONFIG`` or ``~/.kube/config``)."""
    try:
        config = (KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()).get(context)
    except ConfigError as err:
        raise KubeAccessError(str(err)) from err
    if config is None:
        raise KubeAccessError("no usable context in the kubeconfig")
    return _from_config(config)


def _from_config(config: SingleConfig) -> KubeAccess:
    cluster, user = config.cluster, config.user
    headers: dict[str, str] = {}
    if not cluster.server.startswith("https://"):
        return KubeAccess(cluster.server.rstrip("/"), config.namespace, False, headers)
    if cluster.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cluster.certificate_auth_data:
        context = ssl.create_default_context(cadata=base64.b64decode(cluster.certificate_auth_data).decode())
    elif cluster.certificate_auth:
        context = ssl.create_default_context(cafile=str(config.abs_file(cluster.certificate_auth)))
    else:
        context = ssl.create_default_context()
    if user is not None:
        if user.exec is not None or user.auth_provider is not None:
            raise KubeAccessError("kubeconfig users with exec or auth-provider plugins are not supported")
        cert = _file(config, user.client_cert, user.client_cert_data)
        key = _file(config, user.client_key, user.client_key_data)
        if cert and key:
            context.load_cert_chain(cert, key)
        token = user.token or (Path(str(config.abs_file(user.token_file))).read_text().strip()
                               if user.token_file else None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif user.username and user.password:
            basic = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
    return KubeAccess(cluster.server.rstrip("/"), config.namespace, context, headers)


def _file(config: SingleConfig, path: str | None, data: str | None) -> str | None:
    """A certificate or key as a file path (inline data is written to a private temporary file)."""
    if path:
        return str(config.abs_file(path))
    if not data:
        return None
    handle = tempfile.NamedTemporaryFile(prefix="raykube-", suffix=".pem", delete=False)  # noqa: SIM115
    with handle:
        handle.write(base64.b64decode(data))
    return handle.name
