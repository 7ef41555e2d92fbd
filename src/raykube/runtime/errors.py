"""Errors raised by the Kubernetes access layer, and predicates over them.

A failed API call raises :class:`ApiError` carrying the HTTP status code and the ``Status`` body's
``reason`` and ``message``. Callers branch on the code through small predicates
(:func:`is_not_found`, :func:`is_conflict`, :func:`is_gone`, ...), the Python counterpart of
apimachinery's ``apierrors.IsNotFound``; they never parse messages. Transport failures (connection
refused, stream cut) are left as the HTTP library's own exceptions.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The API server answered with an error status.

    Parameters:
        code: the HTTP status code (also ``Status.code``).
        reason: the machine-readable ``Status.reason`` (``NotFound``, ``Conflict``, ``Expired``...).
        message: the human-readable ``Status.message``.
        status: the full ``Status`` body when the server sent one.
    """

    def __init__(self, code: int, reason: str = "", message: str = "", status: dict[str, Any] | None = None):
        super().__init__(f"{code} {reason}: {message}" if reason else f"{code}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or {}
        self.retry_after: float | None = None

    @classmethod
    def from_status(cls, status: dict[str, Any], *, default_code: int = 500) -> ApiError:
        """Build the error from a ``metav1.Status`` object (as found in watch ``ERROR`` events)."""
        code = status.get("code")
        return cls(
            code if isinstance(code, int) else default_code,
            str(status.get("reason") or ""),
            str(status.get("message") or ""),
            status,
        )


class NotLeader(Exception):
    """A write refused before it was sent: this process no longer holds its leader Lease (fencing)."""


def _code(exc: BaseException) -> int | None:
    return exc.code if isinstance(exc, ApiError) else None


def is_not_found(exc: BaseException) -> bool:
    """404: the object (or its namespace) does not exist."""
    return _code(exc) == 404


def is_conflict(exc: BaseException) -> bool:
    """409 Conflict from an update with a stale ``resourceVersion``."""
    return _code(exc) == 409 and getattr(exc, "reason", "") != "AlreadyExists"


def is_already_exists(exc: BaseException) -> bool:
    """409 AlreadyExists from a create."""
    return _code(exc) == 409 and getattr(exc, "reason", "") == "AlreadyExists"


def is_gone(exc: BaseException) -> bool:
    """410 Gone / Expired: the ``resourceVersion`` is too old to watch from; relist."""
    return _code(exc) == 410


def is_namespace_terminating(exc: BaseException) -> bool:
    """403 with cause ``NamespaceTerminating``: nothing new can be created in a namespace being deleted."""
    if _code(exc) != 403:
        return False
    causes = ((getattr(exc, "status", None) or {}).get("details") or {}).get("causes") or []
    # StatusCause.Type travels as "reason" in JSON.
    return any(isinstance(c, dict) and c.get("reason") == "NamespaceTerminating" for c in causes)


def is_too_many_requests(exc: BaseException) -> bool:
    """429: the server asked the client to slow down."""
    return _code(exc) == 429
