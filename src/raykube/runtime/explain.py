"""One line for a failure of the Kubernetes access layer: what went wrong and what to do.

Shared by every user-facing entry point (``kubectl ray``, ``raykube``, ``raykube doctor``, the SDK), so the
same fault reads the same everywhere: a kubeconfig that cannot be used, an API server that does not answer,
credentials it rejects, RBAC that forbids the call, an object or a resource type it does not have.
"""

from __future__ import annotations

import httpx
import httpx2

from raykube.runtime.apiaccess import ApiAccessError
from raykube.runtime.errors import ApiError

# The failures :func:`explain` knows; anything else is a bug and keeps its traceback.
KNOWN = (ApiError, ApiAccessError, httpx.TransportError, httpx2.TransportError, OSError)


def explain(err: BaseException) -> str:
    """``err`` as one line (newlines folded), with a hint where there is one."""
    return " ".join(_explain(err).split())


def _explain(err: BaseException) -> str:
    if isinstance(err, ApiError):
        return _api_error(err)
    if isinstance(err, ApiAccessError):
        return str(err)
    if isinstance(err, httpx.TransportError | httpx2.TransportError | ConnectionError | TimeoutError):
        detail = str(err) or type(err).__name__
        return f"cannot reach the API server: {detail} (is the cluster up, and is the kubeconfig's server right?)"
    return str(err) or type(err).__name__


def _api_error(err: ApiError) -> str:
    said = err.message or err.reason or str(err)
    if err.code == 401:
        return (f"the API server rejected the credentials (401 Unauthorized): {said} (renew the token or "
                "certificate in the kubeconfig)")
    if err.code == 403:
        return (f"forbidden: {said} (ask a cluster admin for RBAC permission; `kubectl auth can-i --list` shows "
                "what you may do)")
    if err.code == 404 and said.startswith("the server could not find the requested resource"):
        return ("the API server does not serve this resource type: are the ray.io CRDs installed? "
                "(`kubectl get crd rayclusters.ray.io`; install them with the raykube chart or `kubectl apply` "
                "of its CRDs)")
    if err.code == 404:
        return f"not found: {said}"
    return f"the API server answered {err.code} {err.reason}: {said}".replace("  ", " ")
