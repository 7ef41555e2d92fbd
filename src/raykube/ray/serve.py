"""Ray Serve's REST API: wire models and an async client (over the Jobs API client's plumbing).

The same bounds as :mod:`raykube.ray.client`: httpx's per-phase timeouts and one overall deadline per call
(KubeRay: 2 s direct), typed failures (:mod:`raykube.ray.errors`). Three calls, as KubeRay makes them:

* :meth:`ServeClient.applications`: ``GET /api/serve/applications/?api_type=declarative``;
* :meth:`ServeClient.deploy`: ``PUT /api/serve/applications/`` with the whole multi-app config as JSON;
* :meth:`ServeClient.proxy_healthy`: ``GET /-/healthz`` on a node's Serve proxy (port ``serve``, 8000).

``host`` overrides the ``Host`` header, for a dashboard reached through something that routes by it (the
operator's ``--dashboard-url-override`` test hook names the real dashboard there).
"""

from __future__ import annotations

from typing import Any

from raykube.ray.client import DashboardClient
from raykube.ray.errors import DashboardError
from raykube.ray.serve_models import ServeApplicationDetails, ServeDeploymentDetails, ServeInstanceDetails

__all__ = ["ServeApplicationDetails", "ServeClient", "ServeDeploymentDetails", "ServeInstanceDetails"]

APPLICATIONS_PATH = "/api/serve/applications/"


class ServeClient(DashboardClient):
    """Calls the Serve API of any Ray dashboard (constructor as :class:`DashboardClient`)."""

    async def applications(self, address: str, *, host: str | None = None) -> ServeInstanceDetails:
        """The applications Serve runs, with their deployments."""
        body = await self._call("GET", address, APPLICATIONS_PATH + "?api_type=declarative", headers=_host(host))
        return self._parse(address, ServeInstanceDetails, body or {})

    async def deploy(self, address: str, config: dict[str, Any], *, host: str | None = None) -> None:
        """Replace every declarative application with ``config`` (a ``ServeDeploySchema`` as JSON)."""
        await self._call("PUT", address, APPLICATIONS_PATH, payload=config, expect_json=False, headers=_host(host))

    async def proxy_healthy(self, address: str, *, host: str | None = None) -> bool:
        """Whether the Serve proxy at ``address`` says ``success``; False for any failure, draining included."""
        try:
            text = await self._call("GET", address, "/-/healthz", expect_json=False, headers=_host(host))
        except DashboardError:
            return False
        return str(text).strip() == "success"


def _host(host: str | None) -> dict[str, str] | None:
    return {"Host": host} if host else None
