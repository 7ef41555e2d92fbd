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
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

DEFAULT_KUBECONFIG = "~/.kube/config"
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


class ApiAccessError(Exception):
    """The kubeconfig cannot be used (missing, malformed, no such context, an unsupported auth plugin)."""


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


def kubeconfig_path(kubeconfig: str | None) -> str:
    """The file a kubeconfig is read from: ``kubeconfig``, else the first of ``$KUBECONFIG``, else the default."""
    return kubeconfig or (os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or DEFAULT_KUBECONFIG)


def load_config(kubeconfig: str | None = None, *, context: str | None = None,
                in_cluster: bool = False) -> SingleConfig:
    """One context of a kubeconfig (``None``: ``$KUBECONFIG`` or ``~/.kube/config``) or the pod's service account.

    Every way a kubeconfig can be unusable (missing, not YAML, no such context, no contexts at all) raises
    :class:`ApiAccessError` with one line saying which file and what to do, never lightkube's or PyYAML's own
    multi-line text.
    """
    if kubeconfig is None and not os.environ.get("KUBECONFIG"):
        # As client-go: inside a pod with no kubeconfig of its own, the pod's service account.
        in_cluster = in_cluster or (not Path(DEFAULT_KUBECONFIG).expanduser().is_file()
                                    and SERVICE_ACCOUNT_TOKEN.is_file())
    if in_cluster:
        try:
            config = KubeConfig.from_service_account().get()
        except (ConfigError, KeyError, OSError) as err:
            raise ApiAccessError(f"no in-cluster service account ({err}): run inside a pod, or use a kubeconfig") \
                from err
        assert config is not None
        return config
    path = kubeconfig_path(kubeconfig)
    if not Path(path).expanduser().is_file():
        raise ApiAccessError(f"no kubeconfig at {path}: set KUBECONFIG or name a kubeconfig file (--kubeconfig; "
                             "Connection(kubeconfig=...) in the SDK); `raykube local up` writes one for a local "
                             "cluster")
    try:
        source = KubeConfig.from_file(path)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ApiAccessError(f"the kubeconfig {path} is not valid YAML{where}: fix or replace it") from err
    except KeyError as err:
        raise ApiAccessError(f"the kubeconfig {path} lacks {err}: fix or replace it (`kubectl config view` shows "
                             "what it holds)") from err
    except (ConfigError, TypeError, AttributeError, OSError) as err:
        raise ApiAccessError(f"the kubeconfig {path} cannot be read ({type(err).__name__}: {err}): fix or replace "
                             "it") from err
    try:
        config = source.get(context)
    except ConfigError as err:
        raise ApiAccessError(f"{err} in the kubeconfig {path}: `kubectl config get-contexts` lists the contexts") \
            from err
    except (KeyError, TypeError, AttributeError) as err:
        raise ApiAccessError(f"the kubeconfig {path} has no usable context ({type(err).__name__}: {err}): "
                             "`kubectl config get-contexts` lists the contexts") from err
    if config is None:
        raise ApiAccessError(f"the kubeconfig {path} has no current context: pass --context or run "
                             "`kubectl config use-context NAME`")
    return config


def load_access(kubeconfig: str | None = None, *, context: str | None = None, in_cluster: bool = False) -> ApiAccess:
    """Access from a kubeconfig (``None``: ``$KUBECONFIG`` or ``~/.kube/config``) or the pod's service account."""
    return _from_config(load_config(kubeconfig, context=context, in_cluster=in_cluster))


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
