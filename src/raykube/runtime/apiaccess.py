"""How to reach the API server with a plain httpx client: base URL, TLS context and auth headers.

The controller client (:mod:`raykube.runtime.client`) gets its connection from lightkube. Two other users need
the same connection settings on an ``httpx`` transport of their own: the CLI (streaming pod logs) and the
Ray dashboard client when it goes through the API server's Service proxy (KubeRay's
``--use-kubernetes-proxy``: ``/api/v1/namespaces/<ns>/services/<svc>:dashboard/proxy``), for an operator that
runs outside the cluster network. :func:`load_access` builds them once from a kubeconfig (certificate files
or inline data, bearer tokens, token files) or from the pod's service account; exec and auth-provider
plugins are not supported.
"""

from __future__ import annotations

import base64
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError


class ApiAccessError(Exception):
    """The kubeconfig cannot be used for plain HTTP access."""


@dataclass(frozen=True)
class ApiAccess:
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


def load_access(kubeconfig: str | None = None, *, context: str | None = None, in_cluster: bool = False) -> ApiAccess:
    """Access from a kubeconfig (``None``: ``$KUBECONFIG`` or ``~/.kube/config``) or the pod's service account."""
    try:
        if in_cluster:
            source = KubeConfig.from_service_account()
        else:
            source = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        config = source.get(context)
    except ConfigError as err:
        raise ApiAccessError(str(err)) from err
    if config is None:
        raise ApiAccessError("no usable context in the kubeconfig")
    return _from_config(config)


def _from_config(config: SingleConfig) -> ApiAccess:
    cluster, user = config.cluster, config.user
    headers: dict[str, str] = {}
    if not cluster.server.startswith("https://"):
        return ApiAccess(cluster.server.rstrip("/"), config.namespace, False, headers)
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
            raise ApiAccessError("kubeconfig users with exec or auth-provider plugins are not supported")
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
    return ApiAccess(cluster.server.rstrip("/"), config.namespace, context, headers)


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
