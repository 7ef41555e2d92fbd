"""What every controller's wiring does the same way (called by the ``build_*`` functions of this package).

* :func:`event_recorder` / :func:`reporting_controller` / :func:`run` make a controller whose failures show as
  Warning Events, with a rate-limited recorder of its own, and start both with the manager;
* :func:`dashboard_client` is the one HTTP client (one connection pool) through which a controller's
  background probes call Ray dashboards, directly or through the API server's service proxy;
* :class:`ProbingParts` and :func:`probe_call_metrics` are what a probing controller (RayJob, RayService)
  must close at shutdown and what it reports about its calls at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from raykube.controllers.events import Reconcile, reporting
from raykube.operator.config import OperatorConfig
from raykube.ray.client import DashboardClient
from raykube.runtime.apiaccess import load_access
from raykube.runtime.client import KubeClient
from raykube.runtime.controller import Controller
from raykube.runtime.events import EventRecorder
from raykube.runtime.manager import Manager
from raykube.runtime.metrics import RuntimeMetrics
from raykube.runtime.objects import Obj, ObjectKey

#: KubeRay's RayHTTPClientProxyTimeoutSeconds: calls through the API server's proxy get more time.
PROXY_TIMEOUT = 10.0

D = TypeVar("D", bound=DashboardClient)
CacheT = TypeVar("CacheT")


class Probes(Protocol):
    """The background callers (RayJob's dashboard probes, RayService's Serve probes), as the wiring sees them."""

    on_answer: Callable[[ObjectKey], None] | None
    calls_made: int

    @property
    def in_flight(self) -> int: ...

    async def close(self) -> None: ...


P = TypeVar("P", bound=Probes)


def event_recorder(config: OperatorConfig, client: KubeClient, name: str) -> EventRecorder:
    """The Event recorder of controller ``name``: its own rate limit, so a burst of Events never delays writes."""
    return EventRecorder(client.with_rate_limit(config.qps, config.burst), controller=f"{name}-controller")


def reporting_controller(
    config: OperatorConfig,
    name: str,
    reconcile: Reconcile,
    *,
    lookup: Callable[[ObjectKey], Obj | None],
    recorder: EventRecorder,
    metrics: RuntimeMetrics,
) -> Controller:
    """Controller ``name`` over ``reconcile``, every failure shown on the object (found by ``lookup``)."""
    return Controller(name, reporting(reconcile, lookup=lookup, recorder=recorder),
                      workers=config.reconcile_concurrency, metrics=metrics)


def run(manager: Manager, controller: Controller, recorder: EventRecorder) -> None:
    """Start the controller (with the informers wired to it) and its recorder while leading."""
    manager.add_controller(controller)
    manager.add_runnable(recorder.run)


def dashboard_client(config: OperatorConfig, client_type: type[D]) -> tuple[D, str | None]:
    """A ``client_type`` for the controller's probes, and the API server's base URL when the calls go through
    its service proxy (``--use-kubernetes-proxy``, unless a dashboard URL override says where to go)."""
    settings = config.rayjob  # the dashboard flags are KubeRay's RayJob ones, used by RayService too
    transport: httpx.AsyncBaseTransport | None = None
    headers: dict[str, str] | None = None
    timeout, proxy_base = settings.dashboard_timeout, None
    if settings.use_kubernetes_proxy and not settings.dashboard_url_override:
        access = load_access(config.kubeconfig, in_cluster=not config.kubeconfig)
        transport, headers, timeout, proxy_base = access.transport(), access.headers, PROXY_TIMEOUT, access.server
    http = client_type(transport=transport, headers=headers, timeout=timeout,
                       max_connections=settings.dashboard_concurrency, user_agent="raykube-operator")
    return http, proxy_base


@dataclass
class ProbingParts(Generic[CacheT, P]):
    """A controller whose passes start background dashboard calls, and what must be closed with it."""

    controller: Controller
    cache: CacheT
    probes: P
    http: DashboardClient  # the probes' connection pool
    recorder: EventRecorder

    async def close(self) -> None:
        # Probes first: their tasks use the pool; the recorder last, so their Events still go out.
        await self.probes.close()
        await self.http.close()
        await self.recorder.flush()


def probe_call_metrics(probes: Probes, metric: str, calls: str, kind: str
                       ) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    """``<metric>`` (calls made) and ``<metric>_in_flight``, for a collector's scrape."""
    yield CounterMetricFamily(metric, f"{calls} made by the {kind} controller (background, never in a reconcile).",
                              value=probes.calls_made)
    yield GaugeMetricFamily(f"{metric}_in_flight", f"{calls} under way.", value=probes.in_flight)
