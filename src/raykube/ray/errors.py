"""Typed failures of a Ray dashboard call.

A caller branches on the class, never on a message:

* :class:`JobNotFound`: the dashboard answered and does not know the submission id (HTTP 404);
* :class:`DashboardUnreachable`: no answer at all — connection refused, DNS failure, or the call's time
  budget ran out (``timed_out`` tells which);
* :class:`DashboardServerError`: the dashboard answered with an error status or with a body that is not the
  expected JSON; :class:`SubmissionIdTaken` is the one server error a submitter treats as "already done";
* :class:`DashboardRequestFailed`: httpx refused the call or its answer for any other reason (an invalid or
  too long URL, an undecodable body): every failure of a call is one of these classes, never a bare httpx error.
"""

from __future__ import annotations


class DashboardError(Exception):
    """Any failed dashboard call.

    Parameters:
        address: the dashboard's base URL.
        detail: what went wrong, for people.
    """

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"{address}: {detail}")
        self.address = address
        self.detail = detail


class JobNotFound(DashboardError):
    """The dashboard has no job with this submission id."""


class DashboardUnreachable(DashboardError):
    """The dashboard did not answer (connection failure, or the call's timeout passed)."""

    def __init__(self, address: str, detail: str, *, timed_out: bool = False) -> None:
        super().__init__(address, detail)
        self.timed_out = timed_out


class DashboardServerError(DashboardError):
    """The dashboard answered, but with an error status or an unreadable body."""

    def __init__(self, address: str, detail: str, *, status_code: int) -> None:
        super().__init__(address, detail)
        self.status_code = status_code


class SubmissionIdTaken(DashboardServerError):
    """A job with this submission id exists already (Ray: "Please use a different submission_id")."""


class DashboardRequestFailed(DashboardError):
    """The call could not be made or its answer not read (httpx's InvalidURL, DecodingError, ...)."""
