"""Ray Serve calls as background tasks: a slow or dead dashboard never holds a reconcile worker.

KubeRay calls the Serve API inside the reconcile (GET, maybe PUT, and a proxy health check per head pod,
2 s timeout each, every 2 s per RayService). Here a pass only *asks* (:meth:`ServeProbes.poll`,
:meth:`~ServeProbes.deploy`, :meth:`~ServeProbes.check_proxy`) and *reads* (:meth:`~ServeProbes.view`),
both instant. Each ask starts at most one task per RayService, cluster and kind of call; tasks share
``concurrency`` slots; an answer that is news (first answer, other application statuses, a PUT finished,
the proxy's health changed) re-enqueues the RayService.

Per cluster the probes remember the last **applied** config (the config text and the head pod UID it was
applied to): KubeRay's LRU cache of serve configs. A PUT drops the applications answer read before it, so
"all applications RUNNING" is never read off the previous config.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Unpack

from raykube.controllers.probes import BackgroundProbes, ProbeOptions
from raykube.controllers.rayservice.view import Applied, ClusterServe, Endpoint
from raykube.ray.errors import DashboardError
from raykube.ray.serve import ServeClient, ServeInstanceDetails
from raykube.runtime import logs
from raykube.runtime.objects import ObjectKey

__all__ = ["Applied", "ClusterServe", "Endpoint", "Outcome", "ServeProbes"]

_log = logs.get_logger("raykube.rayservice.serve")


class Outcome(NamedTuple):
    """A finished PUT: the cluster, the error text (empty when applied) and whether only the target capacity
    changed (an incremental upgrade step)."""

    cluster: str
    error: str
    capacity_only: bool = False


@dataclass
class _Cluster:
    apps: ServeInstanceDetails | None = None
    apps_error: str = ""
    apps_started: dt.datetime | None = None
    applied: Applied | None = None
    deploy_error: str = ""
    proxies: dict[str, bool] = field(default_factory=dict)
    epoch: int = 0  # PUTs started: a GET begun before a PUT says nothing about what the PUT deployed
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def pending(self, kind: str) -> bool:
        task = self.tasks.get(kind)
        return task is not None and not task.done()

    def cancel(self) -> None:
        for task in self.tasks.values():
            if not task.done():
                task.cancel()


class ServeProbes(BackgroundProbes[ServeClient]):
    """Background Serve calls and their latest answers, per RayService and cluster."""

    def __init__(self, client: ServeClient, **options: Unpack[ProbeOptions]) -> None:
        super().__init__(client, **options)
        self._state: dict[ObjectKey, dict[str, _Cluster]] = {}
        self._outcomes: dict[ObjectKey, list[Outcome]] = {}

    def view(self, key: ObjectKey, cluster: str) -> ClusterServe:
        state = self._state.get(key, {}).get(cluster)
        if state is None:
            return ClusterServe()
        return ClusterServe(
            state.apps,
            state.apps_error,
            state.applied,
            state.deploy_error,
            state.pending("deploy"),
            tuple(sorted(state.proxies.items())),
        )

    @property
    def in_flight(self) -> int:
        return sum(1 for s in self._state.values() for c in s.values() for k in c.tasks if c.pending(k))

    # -- asking ------------------------------------------------------------------------------------

    def poll(self, key: ObjectKey, cluster: str, endpoint: Endpoint, *, max_age: float) -> None:
        """GET the applications unless a GET or PUT is under way or the last GET started < ``max_age`` ago."""
        state = self._cluster(key, cluster)
        if state.pending("apps") or state.pending("deploy"):
            return
        if state.apps_started is not None and (self._clock.now() - state.apps_started).total_seconds() < 0.9 * max_age:
            return
        state.apps_started = self._clock.now()
        self._start(key, cluster, "apps", self._get(key, cluster, endpoint))

    def deploy(
        self,
        key: ObjectKey,
        cluster: str,
        endpoint: Endpoint,
        config: dict[str, Any],
        applied: Applied,
        *,
        capacity_only: bool = False,
    ) -> None:
        """PUT the config unless a PUT is under way; on success ``applied`` is remembered.

        A pass decides from a view taken before its API writes; a PUT that finished meanwhile already applied
        ``applied``, so the ask is dropped unless the last answer showed Serve without applications."""
        state = self._cluster(key, cluster)
        lost = state.apps is not None and not state.apps.applications
        if state.applied == applied and not lost:
            return
        if not state.pending("deploy"):
            state.epoch += 1
            self._start(key, cluster, "deploy", self._put(key, cluster, endpoint, config, applied, capacity_only))

    def check_proxy(self, key: ObjectKey, cluster: str, endpoint: Endpoint, pod_ip: str) -> None:
        """GET ``/-/healthz`` of the proxy on the head pod ``pod_ip``."""
        state = self._cluster(key, cluster)
        if not state.pending(f"proxy-{pod_ip}"):
            self._start(key, cluster, f"proxy-{pod_ip}", self._proxy(key, cluster, endpoint, pod_ip))

    def forget_cluster(self, key: ObjectKey, cluster: str) -> None:
        state = self._state.get(key, {}).pop(cluster, None)
        if state is not None:
            state.cancel()

    def keep_only(self, key: ObjectKey, clusters: set[str]) -> None:
        """Drop what is known about clusters of ``key`` that no longer exist."""
        for cluster in set(self._state.get(key, {})) - clusters:
            self.forget_cluster(key, cluster)

    def take_outcomes(self, key: ObjectKey) -> list[Outcome]:
        """Finished PUTs since the last call."""
        return self._outcomes.pop(key, [])

    def forget(self, key: ObjectKey) -> None:
        self._outcomes.pop(key, None)
        for state in self._state.pop(key, {}).values():
            state.cancel()

    async def close(self) -> None:
        tasks = [t for s in self._state.values() for c in s.values() for t in c.tasks.values() if not t.done()]
        for key in list(self._state):
            self.forget(key)
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- plumbing ----------------------------------------------------------------------------------

    def _cluster(self, key: ObjectKey, cluster: str) -> _Cluster:
        return self._state.setdefault(key, {}).setdefault(cluster, _Cluster())

    def _start(self, key: ObjectKey, cluster: str, kind: str, call: Coroutine[Any, Any, bool]) -> None:
        self._state[key][cluster].tasks[kind] = asyncio.create_task(
            self._run(key, call), name=f"serve-{kind}-{key}-{cluster}"
        )

    async def _run(self, key: ObjectKey, call: Coroutine[Any, Any, bool]) -> None:
        try:
            news = await self._bounded(call)
        except Exception as exc:  # a bug, not an answer: log it, look again later
            _log.error("Serve call crashed", key=str(key), exc_info=exc)
            news = True
        if news:
            self._wake(key)

    def _live(self, key: ObjectKey, cluster: str) -> _Cluster | None:
        return self._state.get(key, {}).get(cluster)

    async def _get(self, key: ObjectKey, cluster: str, endpoint: Endpoint) -> bool:
        started = self._state[key][cluster].epoch
        try:
            apps, error = await self._client.applications(endpoint.url, host=endpoint.host), ""
        except DashboardError as err:
            apps, error = None, err.detail
        state = self._live(key, cluster)
        if state is None or state.epoch != started:
            return False
        news = (apps, error) != (state.apps, state.apps_error)
        state.apps, state.apps_error = apps, error
        return news

    async def _put(
        self,
        key: ObjectKey,
        cluster: str,
        endpoint: Endpoint,
        config: dict[str, Any],
        applied: Applied,
        capacity_only: bool = False,
    ) -> bool:
        try:
            await self._client.deploy(endpoint.url, config, host=endpoint.host)
            error = ""
        except DashboardError as err:
            error = err.detail
        state = self._live(key, cluster)
        if state is None:
            return False
        state.deploy_error = error
        self._outcomes.setdefault(key, []).append(Outcome(cluster, error, capacity_only))
        if not error:
            state.applied = applied
            state.apps, state.apps_error, state.apps_started = None, "", None  # read them again, after the PUT
        return True

    async def _proxy(self, key: ObjectKey, cluster: str, endpoint: Endpoint, pod_ip: str) -> bool:
        healthy = await self._client.proxy_healthy(endpoint.url, host=endpoint.host)
        state = self._live(key, cluster)
        if state is None:
            return False
        news = state.proxies.get(pod_ip) != healthy
        state.proxies = {pod_ip: healthy}  # only the current head pod matters
        return news
