"""Where the SDK talks to, and how its synchronous calls run the async client.

:class:`Connection` picks the cluster as kubectl does: an explicit kubeconfig (and context), else
``$KUBECONFIG`` or ``~/.kube/config``, else, inside a pod, the pod's service account. :func:`sync` runs one
coroutine to the end; inside a running event loop (a Jupyter notebook) it runs it on a helper thread, so the
SDK's calls stay plain function calls everywhere.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from raykube.runtime.apiaccess import ApiAccess, load_access
from raykube.runtime.client import KubeClient
from raykube.runtime.explain import KNOWN, explain

T = TypeVar("T")


class SdkError(Exception):
    """A failure with a one-line message meant for the user: what went wrong and what to do.

    Every failure of the API access layer (no kubeconfig, an unreachable API server, RBAC, a missing object)
    reaches the caller as an ``SdkError``; the original exception is kept in :attr:`cause` (and chained, so
    shown, only with ``RAYKUBE_DEBUG=1``).
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


def _debug() -> bool:
    return os.environ.get("RAYKUBE_DEBUG", "") not in ("", "0")


def sdk_error(err: BaseException) -> SdkError:
    """``err`` (one of :data:`raykube.runtime.explain.KNOWN`) as an :class:`SdkError`."""
    found = SdkError(explain(err), cause=err)
    if not _debug():
        found.__suppress_context__ = True  # a notebook shows one short traceback, not the client's internals
    else:
        found.__cause__ = err
    return found


def sync(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to completion from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    try:
        if not running:
            return asyncio.run(work)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, work).result()
    except SdkError as err:
        if not _debug():
            err.__cause__, err.__suppress_context__ = None, True
        raise
    except KNOWN as err:
        raise sdk_error(err)  # noqa: B904 (sdk_error decides what to chain)


@dataclass(frozen=True)
class Connection:
    """A Kubernetes API to use.

    Parameters:
        kubeconfig: a kubeconfig file (None: ``$KUBECONFIG``, ``~/.kube/config``, or in-cluster).
        context: the kubeconfig context (None: its current context).
        namespace: the namespace objects go to (None: the context's, else ``default``).
        in_cluster: use the pod's service account (None: when no kubeconfig exists and running in a pod).
    """

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    in_cluster: bool | None = None

    def _in_cluster(self) -> bool:
        if self.in_cluster is not None:
            return self.in_cluster
        has_config = bool(self.kubeconfig or os.environ.get("KUBECONFIG")) or (Path.home() / ".kube/config").exists()
        return not has_config and "KUBERNETES_SERVICE_HOST" in os.environ

    def client(self) -> KubeClient:
        if self._in_cluster():
            return KubeClient.from_in_cluster(field_manager="raykube-sdk")
        path = self.kubeconfig or (os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None)
        return KubeClient.from_kubeconfig(path, context=self.context, field_manager="raykube-sdk")

    def access(self) -> ApiAccess:
        """Plain HTTP settings (pod logs, the dashboard through the API server's Service proxy)."""
        try:
            if self._in_cluster():
                return load_access(in_cluster=True)
            path = self.kubeconfig or (os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None)
            return load_access(path, context=self.context)
        except KNOWN as err:
            raise sdk_error(err)  # noqa: B904 (sdk_error decides what to chain)

    def resolve_namespace(self, namespace: str | None = None) -> str:
        return namespace or self.namespace or self.access().namespace or "default"


DEFAULT = Connection()
