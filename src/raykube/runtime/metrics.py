"""Prometheus metrics with controller-runtime's names, on an injectable registry.

Dashboards and alerts written for controller-runtime operators (KubeRay among them) keep working
because the series are named and labelled the same way:

* ``controller_runtime_reconcile_total{controller,result}`` with ``result`` in
  ``success | error | requeue_after``; ``controller_runtime_reconcile_errors_total{controller}``;
  ``controller_runtime_terminal_reconcile_errors_total{controller}``;
  ``controller_runtime_reconcile_time_seconds{controller}``;
  ``controller_runtime_max_concurrent_reconciles{controller}``; ``controller_runtime_active_workers{controller}``.
* ``workqueue_depth``, ``workqueue_adds_total``, ``workqueue_queue_duration_seconds``,
  ``workqueue_work_duration_seconds``, ``workqueue_retries_total``, labelled ``{name,controller}``.
* ``leader_election_master_status{name}``.

All collectors live on one :class:`RuntimeMetrics` bound to the ``CollectorRegistry`` it is
given, so tests (and two managers in one process) never collide on the global registry.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60)
_QUEUE_BUCKETS = tuple(10.0**exp for exp in range(-8, 2))


class RuntimeMetrics:
    """Every runtime collector, registered on ``registry`` (a fresh one when omitted)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total",
            "Reconciliations per controller and result.",
            ["controller", "result"],
            registry=r,
        )
        self.reconcile_errors = Counter(
            "controller_runtime_reconcile_errors_total", "Reconciliations that raised.", ["controller"], registry=r
        )
        self.terminal_errors = Counter(
            "controller_runtime_terminal_reconcile_errors_total",
            "Reconciliations that raised TerminalError.",
            ["controller"],
            registry=r,
        )
        self.reconcile_time = Histogram(
            "controller_runtime_reconcile_time_seconds",
            "Time per reconciliation.",
            ["controller"],
            buckets=_RECONCILE_BUCKETS,
            registry=r,
        )
        self.max_concurrent = Gauge(
            "controller_runtime_max_concurrent_reconciles", "Worker count.", ["controller"], registry=r
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers", "Workers reconciling now.", ["controller"], registry=r
        )
        labels = ["name", "controller"]
        self.depth = Gauge("workqueue_depth", "Keys waiting in the queue.", labels, registry=r)
        self.adds = Counter("workqueue_adds_total", "Keys added to the queue.", labels, registry=r)
        self.queue_duration = Histogram(
            "workqueue_queue_duration_seconds",
            "Time a key waits before a worker takes it.",
            labels,
            buckets=_QUEUE_BUCKETS,
            registry=r,
        )
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds",
            "Time a worker holds a key.",
            labels,
            buckets=_QUEUE_BUCKETS,
            registry=r,
        )
        self.retries = Counter("workqueue_retries_total", "Rate-limited re-adds.", labels, registry=r)
        self.rest_requests = Counter(
            "rest_client_requests_total", "API server responses by method and code.", ["method", "code"], registry=r
        )
        self.leader = Gauge("leader_election_master_status", "1 while this process leads.", ["name"], registry=r)

    def queue(self, name: str) -> PrometheusQueueMetrics:
        """Queue hooks for the queue of controller ``name``."""
        return PrometheusQueueMetrics(self, name)


class PrometheusQueueMetrics:
    """:class:`~raykube.runtime.queue.QueueMetrics` writing to :class:`RuntimeMetrics`."""

    def __init__(self, metrics: RuntimeMetrics, name: str) -> None:
        self._depth = metrics.depth.labels(name, name)
        self._adds = metrics.adds.labels(name, name)
        self._queue_duration = metrics.queue_duration.labels(name, name)
        self._work_duration = metrics.work_duration.labels(name, name)
        self._retries = metrics.retries.labels(name, name)

    def added(self, depth: int) -> None:
        self._adds.inc()
        self._depth.set(depth)

    def taken(self, depth: int, waited: float) -> None:
        self._depth.set(depth)
        self._queue_duration.observe(waited)

    def finished(self, worked: float) -> None:
        self._work_duration.observe(worked)

    def retried(self) -> None:
        self._retries.inc()


def count_requests(metrics: RuntimeMetrics) -> Callable[[str, int], None]:
    """A ``KubeClient.on_response`` hook that counts into ``rest_client_requests_total``."""

    def observe(method: str, code: int) -> None:
        metrics.rest_requests.labels(method, str(code)).inc()

    return observe
