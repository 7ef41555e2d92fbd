"""Wire models of Ray Serve's REST API (``/api/serve/applications/``), as Ray's dashboard sends them.

Pure values, apart from the client in :mod:`raykube.ray.serve`, so that pure controller modules can use them.
Only the fields raykube reads are declared; unknown fields are ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ServeDeploymentDetails(_Wire):
    """One deployment of an application (``UPDATING``, ``HEALTHY``, ``UNHEALTHY``, ...)."""

    status: str = ""
    message: str = ""


class ServeApplicationDetails(_Wire):
    """One application (``NOT_STARTED``, ``DEPLOYING``, ``RUNNING``, ``DEPLOY_FAILED``, ...)."""

    status: str = ""
    message: str = ""
    deployments: dict[str, ServeDeploymentDetails] = Field(default_factory=dict)


class ServeInstanceDetails(_Wire):
    """``GET /api/serve/applications/?api_type=declarative``."""

    applications: dict[str, ServeApplicationDetails] = Field(default_factory=dict)
    target_capacity: float | None = None
