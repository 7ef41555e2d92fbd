"""What every controller's wiring does the same way (called by the ``build_*`` functions of this package).

* :func:`event_recorder` / :func:`reporting_controller` / :func:`run` make a controller whose failures show as
  Warning Events, with a rate-limited recorder of its own, and start both with the manager;
* :func:`dashboard_client` is the one HTTP client (one connection pool) through which a controller's
  background probes call Ray dashboards, directly or through the API server's service proxy;
* :func:`probing_controller`, :class:`ProbingParts` and :class:`ProbingCollector` are how a probing controller
  (RayJob, RayService) is made, what it must close at shutdown and what it reports at scrape time.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from raykube.controllers.events import Reconcile, reporting
from raykube.controllers.kit import ProbingReconciler
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
SettingsT = TypeVar("SettingsT")


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


def probing_controller(
    config: OperatorConfig,
    client: KubeClient,
    name: str,
    reconciler_type: type[ProbingReconciler[CacheT, P, SettingsT]],
    *,
    cache: CacheT,
    probes: P,
    settings: SettingsT,
    metrics: RuntimeMetrics,
) -> tuple[Controller, EventRecorder]:
    """Controller ``name`` over a ``reconciler_type`` pass, and its recorder; the probes' answers re-enqueue the
    object on this controller's queue (no pass waits on HTTP: an answer is an event like a watch event)."""
    recorder = event_recorder(config, client, name)
    reconciler = reconciler_type(
        client, cache=cache, probes=probes, recorder=recorder, settings=settings, operator_settings=config.settings
    )
    controller = reporting_controller(config, name, reconciler.reconcile, lookup=reconciler.get, recorder=recorder,
                                      metrics=metrics)
    probes.on_answer = controller.queue.add
    return controller, recorder


class ProbingCollector(Collector, Generic[CacheT]):
    """A probing controller's metrics at scrape time: its objects by state, read from the cache (:meth:`states`),
    then ``<calls_metric>`` (calls made) and ``<calls_metric>_in_flight``."""

    calls_metric: str  # e.g. raykube_rayjob_dashboard_calls
    calls: str  # what a call is, for the help text: "Ray dashboard calls"
    kind: str  # whose calls, for the help text: "RayJob"

    def __init__(self, cache: CacheT, probes: Probes) -> None:
        self._cache = cache
        self._probes = probes

    @abstractmethod
    def states(self) -> Iterator[GaugeMetricFamily]: ...

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self.states()
        yield CounterMetricFamily(
            self.calls_metric, f"{self.calls} made by the {self.kind} controller (background, never in a reconcile).",
            value=self._probes.calls_made,
        )
        yield GaugeMetricFamily(f"{self.calls_metric}_in_flight", f"{self.calls} under way.",
                                value=self._probes.in_flight)

