"""The Ray Serve REST API of the stand-in dashboard (:mod:`raykube.ray.standin`), with scripted outcomes.

Ray Serve's declarative API as Ray 2.x serves it:

* ``PUT /api/serve/applications/`` stores a multi-application config (``{"applications": [...]}``) and
  answers 200 with an empty body;
* ``GET /api/serve/applications/?api_type=declarative`` answers ``ServeInstanceDetails``: the applications
  by name, each with ``status``, ``message``, ``deployed_app_config`` and ``deployments`` by name (each
  with ``status`` and ``message``);
* ``GET /-/healthz`` (the proxy port, 8000) answers ``success`` (200) when the proxy is healthy and
  ``This node is being drained.`` (503) otherwise.

One stand-in serves every cluster: a request names the cluster it is meant for by its ``Host`` header, as a
proxy in front of many dashboards would see it (the operator's ``--dashboard-url-override`` keeps the real
host ``<cluster>-head-svc.<ns>.svc.<domain>:<port>`` there). Each cluster's Serve instance follows the
:class:`ServeScript` of the longest matching cluster-name prefix: applications are ``DEPLOYING`` for
``deploying_for`` seconds after each PUT, then ``RUNNING``, unless their ``import_path`` is listed in
``failures`` (then ``DEPLOY_FAILED`` with that message, their deployments ``UNHEALTHY``). The proxy health
is per host (the head pod's IP): every proxy is healthy until :meth:`ServeInstances.set_proxy_health` says
otherwise. A script with ``hang`` never answers the Serve API (as a wedged dashboard).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DRAINING = "This node is being drained."
#: The answer of a hanging route: the server holds the connection until the client gives up.
HANG: tuple[int, Any] = (0, None)


@dataclass(frozen=True)
class ServeScript:
    """How the Serve instances of matching clusters behave."""

    deploying_for: float = 0.0
    failures: Mapping[str, str] = field(default_factory=dict)
    status_code: int | None = None
    hang: bool = False  # never answer the Serve API (the caller's timeout must fire)


@dataclass
class ServeInstance:
    """The Serve state of one cluster."""

    config: dict[str, Any]
    deployed_at: float
    puts: int = 0


def cluster_of_host(host: str) -> str:
    """``<cluster>-head-svc.<ns>.svc...:port`` -> ``<ns>/<cluster>``; any other host as it is."""
    name = host.rsplit(":", 1)[0]
    labels = name.split(".")
    if len(labels) >= 2 and labels[0].endswith("-head-svc"):
        return f"{labels[1]}/{labels[0].removesuffix('-head-svc')}"
    return host


class ServeInstances:
    """The Serve instances of every cluster the stand-in was asked about, by ``<ns>/<cluster>``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._scripts: dict[str, ServeScript] = {}
        self.default = ServeScript()
        self.instances: dict[str, ServeInstance] = {}
        self.unhealthy_proxies: set[str] = set()

    # -- test control ------------------------------------------------------------------------------

    def script(self, cluster_prefix: str, script: ServeScript) -> None:
        """Clusters whose name starts with ``cluster_prefix`` follow ``script`` (longest prefix wins)."""
        self._scripts[cluster_prefix] = script

    def set_proxy_health(self, host: str, healthy: bool) -> None:
        """Make the proxy at ``host`` (an IP, or ``ip:port``) answer healthy or draining."""
        ip = host.rsplit(":", 1)[0]
        (self.unhealthy_proxies.discard if healthy else self.unhealthy_proxies.add)(ip)

    def forget(self, cluster: str) -> None:
        """Drop a cluster's Serve state (as a head restart without GCS fault tolerance does)."""
        self.instances.pop(cluster, None)

    def puts(self, cluster: str) -> int:
        instance = self.instances.get(cluster)
        return instance.puts if instance else 0

    def _script_for(self, cluster: str) -> ServeScript:
        name = cluster.rsplit("/", 1)[-1]
        matches = [p for p in self._scripts if name.startswith(p)]
        return self._scripts[max(matches, key=len)] if matches else self.default

    # -- routes ------------------------------------------------------------------------------------

    def answer(self, method: str, route: str, host: str, body: bytes) -> tuple[int, Any] | None:
        """The answer of a Serve route, or None when ``route`` is not one."""
        if route == "/-/healthz":
            healthy = host.rsplit(":", 1)[0] not in self.unhealthy_proxies
            return (200, "success") if healthy else (503, DRAINING)
        if route != "/api/serve/applications":
            return None
        cluster = cluster_of_host(host)
        script = self._script_for(cluster)
        if script.hang:
            return HANG
        if script.status_code is not None:
            return script.status_code, f"scripted error {script.status_code}"
        if method == "PUT":
            return self._put(cluster, body)
        if method == "GET":
            return 200, self._details(cluster, script)
        return 405, "method not allowed"

    def _put(self, cluster: str, body: bytes) -> tuple[int, Any]:
        try:
            config = json.loads(body or b"{}")
            apps = config["applications"]
            assert isinstance(apps, list)
        except (ValueError, KeyError, AssertionError):
            return 400, "the body must be a Serve config with an 'applications' list"
        previous = self.instances.get(cluster)
        self.instances[cluster] = ServeInstance(config, self._clock(), (previous.puts if previous else 0) + 1)
        return 200, ""

    def _details(self, cluster: str, script: ServeScript) -> dict[str, Any]:
        instance = self.instances.get(cluster)
        applications: dict[str, Any] = {}
        if instance is not None:
            deploying = self._clock() - instance.deployed_at < script.deploying_for
            for app in instance.config.get("applications") or []:
                applications[str(app.get("name") or "default")] = _app_details(app, script, deploying)
        return {
            "deploy_mode": "MULTI_APP",
            "proxy_location": "EveryNode",
            "controller_info": {"node_id": "standin"},
            "target_capacity": (instance.config.get("target_capacity") if instance else None),
            "applications": applications,
        }


def _app_details(app: Mapping[str, Any], script: ServeScript, deploying: bool) -> dict[str, Any]:
    failure = script.failures.get(str(app.get("import_path") or ""))
    if failure is not None:
        status, message, deployment_status = "DEPLOY_FAILED", failure, "UNHEALTHY"
    elif deploying:
        status, message, deployment_status = "DEPLOYING", "", "UPDATING"
    else:
        status, message, deployment_status = "RUNNING", "", "HEALTHY"
    deployments = {
        str(d.get("name")): {
            "name": d.get("name"),
            "status": deployment_status,
            "status_trigger": "CONFIG_UPDATE",
            "message": failure or "",
            "replicas": [],
        }
        for d in app.get("deployments") or []
    }
    return {
        "name": app.get("name") or "default",
        "route_prefix": app.get("route_prefix", "/"),
        "status": status,
        "message": message,
        "source": "declarative",
        "deployed_app_config": dict(app),
        "deployments": deployments,
    }
