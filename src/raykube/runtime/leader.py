"""Lease-based leader election (coordination.k8s.io/v1), after client-go's ``leaderelection``.

Only the leader runs controllers; every replica keeps its caches warm so a new leader starts at
once. :class:`LeaderElector` implements the client-go algorithm with controller-runtime's defaults
(lease 15 s, renew deadline 10 s, retry 2 s):

* **Acquire**: every ``retry_period`` (with jitter), read the Lease. Take it if it does not exist
  (create), is released (empty ``holderIdentity``), or has not changed for ``lease_duration``.
  "Not changed" is judged by *when this process last saw the record change*, on its own monotonic
  clock, never by comparing the holder's timestamps with ours, so clock skew between nodes cannot
  cause two leaders.
* **Write safely**: every update is a PUT carrying the ``resourceVersion`` that was read, so of
  two candidates racing for an expired lease exactly one wins; the other gets 409 and retries.
* **Renew**: every ``retry_period``; if no renewal succeeds within ``renew_deadline`` the
  leader gives up, cancels the leading work and raises :class:`LeadershipLost`. The deadline is
  shorter than the lease so the old leader stops before anyone else may start.
* **Release** on a clean exit: the holder is cleared and the duration set to 1 s, so a successor
  takes over within one retry period instead of waiting out the lease.

Identity is ``hostname_uuid``: unique per process even when two replicas share a host name.
"""

from __future__ import annotations

import asyncio
import random
import socket
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from raykube.runtime import logs
from raykube.runtime.clock import Clock, RealClock, micro_time
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.kinds import LEASE, KindLike
from raykube.runtime.metrics import RuntimeMetrics
from raykube.runtime.objects import Obj

_log = logs.get_logger("raykube.leader")


class LeaseClient(Protocol):
    """The calls leader election makes (:class:`~raykube.runtime.client.KubeClient` has them)."""

    async def get(self, kind: KindLike, name: str, *, namespace: str | None = None) -> Obj: ...

    async def create(self, kind: KindLike, obj: Any, *, namespace: str | None = None) -> Obj: ...

    async def replace(self, kind: KindLike, obj: Any, *, subresource: str | None = None) -> Obj: ...


class LeadershipLost(Exception):
    """The lease could not be renewed within the renew deadline."""


def default_identity() -> str:
    """``hostname_uuid4``."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass(frozen=True)
class LeaderElectionConfig:
    """Where the Lease lives and the timing (controller-runtime defaults)."""

    name: str
    namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")


class LeaderElector:
    """Acquires, renews and releases one Lease.

    Parameters:
        client: Lease reads and writes.
        config: lease name, namespace, identity and timing.
        clock: time source.
        metrics: sets ``leader_election_master_status``.
    """

    def __init__(
        self,
        client: LeaseClient,
        config: LeaderElectionConfig,
        *,
        clock: Clock | None = None,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        self._client = client
        self.config = config
        self._clock = clock or RealClock()
        self._metrics = metrics
        self._lease: Obj | None = None
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._renewed_at = float("-inf")
        self.is_leader = False

    def holds_lease(self) -> bool:
        """Leading, and the lease was renewed within the renew deadline (by this process' monotonic clock).

        A process that was frozen (SIGSTOP, a long GC pause, a suspended VM) wakes up with this False even
        before its renew loop has run, so the writes it had in flight are refused, not sent on stale data.
        """
        return self.is_leader and self._clock.monotonic() - self._renewed_at < self.config.renew_deadline

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Wait for the lease, run ``lead()`` while holding it, release it when ``lead`` ends or on cancel.

        Raises :class:`LeadershipLost` (after cancelling ``lead``) if renewal fails.
        """
        await self._acquire()
        lead_task = asyncio.create_task(lead(), name=f"lead-{self.config.name}")
        lost = False
        try:
            await self._renew_until_done(lead_task)
            lost = not lead_task.done()
            if lost:
                raise LeadershipLost(f"lease {self.config.namespace}/{self.config.name} not renewed")
            lead_task.result()  # re-raise what the leading work raised
        finally:
            if not lead_task.done():
                lead_task.cancel()
                await asyncio.gather(lead_task, return_exceptions=True)
            self._set_leader(False)
            if not lost:
                await self.release()

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the lease; ``False`` if someone else holds it or the write lost."""
        if await self._renew_optimistically():
            return True
        try:
            lease = await self._client.get(LEASE, self.config.name, namespace=self.config.namespace)
        except ApiError as exc:
            if not is_not_found(exc):
                raise
            return await self._create()
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        record = (holder, spec.get("renewTime"), spec.get("leaseTransitions"), spec.get("leaseDurationSeconds"))
        if record != self._observed:
            self._observed, self._observed_at = record, self._clock.monotonic()
        duration = float(spec.get("leaseDurationSeconds") or self.config.lease_duration)
        expired = self._clock.monotonic() - self._observed_at >= duration
        if holder and holder != self.config.identity and not expired:
            return False
        now = micro_time(self._clock.now())
        mine = holder == self.config.identity
        lease["spec"] = {
            **spec,
            "holderIdentity": self.config.identity,
            "leaseDurationSeconds": int(self.config.lease_duration),
            "acquireTime": spec.get("acquireTime") if mine else now,
            "renewTime": now,
            "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (0 if mine else 1),
        }
        return await self._write(lease)

    async def _renew_optimistically(self) -> bool:
        """The leader's renewal as one PUT of the lease it wrote last (client-go's fast path): if anyone
        changed the lease since, the resourceVersion no longer matches and the server refuses it (409), and
        the caller reads the lease and decides as usual. Saves the GET of every renewal."""
        if not self.is_leader or self._lease is None:
            return False
        spec = self._lease.get("spec") or {}
        if spec.get("holderIdentity") != self.config.identity:
            return False
        lease = {**self._lease, "spec": {**spec, "renewTime": micro_time(self._clock.now())}}
        try:
            return await self._write(lease)
        except ApiError:
            return False

    async def release(self) -> None:
        """Hand the lease back so a successor need not wait for it to expire (errors are logged)."""
        if self._lease is None or (self._lease.get("spec") or {}).get("holderIdentity") != self.config.identity:
            return
        now = micro_time(self._clock.now())
        lease = {**self._lease}
        lease["spec"] = {
            **lease["spec"],
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "acquireTime": now,
            "renewTime": now,
        }
        try:
            await self._client.replace(LEASE, lease)
            _log.info("Released the lease", lease=self.config.name, identity=self.config.identity)
        except Exception as exc:
            _log.warning("Could not release the lease", lease=self.config.name, error=str(exc))
        self._lease = None

    async def _acquire(self) -> None:
        _log.info("Waiting for the lease", lease=self.config.name, identity=self.config.identity)
        while not await self._attempt():
            await self._clock.sleep(self.config.retry_period * (1 + 0.2 * random.random()))
        self._renewed_at = self._clock.monotonic()
        self._set_leader(True)
        _log.info("Started leading", lease=self.config.name, identity=self.config.identity)

    async def _renew_until_done(self, lead_task: asyncio.Task[None]) -> None:
        """Renew every retry period until ``lead_task`` ends (return) or the renew deadline passes (return)."""
        last_renew = self._clock.monotonic()
        while True:
            sleeper = asyncio.create_task(self._clock.sleep(self.config.retry_period))
            await asyncio.wait([lead_task, sleeper], return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            if lead_task.done():
                return
            if await self._attempt():
                last_renew = self._renewed_at = self._clock.monotonic()
            elif self._clock.monotonic() - last_renew >= self.config.renew_deadline:
                _log.error("Lost the lease", lease=self.config.name, identity=self.config.identity)
                return

    async def _attempt(self) -> bool:
        # Bound each attempt: a hung API call must not outlive the renew deadline (real time).
        try:
            return await asyncio.wait_for(self.try_acquire_or_renew(), self.config.renew_deadline)
        except Exception as exc:
            _log.warning("Lease attempt failed", lease=self.config.name, error=str(exc))
            return False

    async def _create(self) -> bool:
        now = micro_time(self._clock.now())
        lease = {
            "apiVersion": LEASE.api_version,
            "kind": LEASE.kind,
            "metadata": {"name": self.config.name, "namespace": self.config.namespace},
            "spec": {
                "holderIdentity": self.config.identity,
                "leaseDurationSeconds": int(self.config.lease_duration),
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        try:
            self._lease = await self._client.create(LEASE, lease, namespace=self.config.namespace)
        except ApiError as exc:
            if exc.code == 409:
                return False
            raise
        return True

    async def _write(self, lease: Obj) -> bool:
        try:
            self._lease = await self._client.replace(LEASE, lease)
        except ApiError as exc:
            if exc.code == 409:
                return False
            raise
        return True

    def _set_leader(self, leading: bool) -> None:
        self.is_leader = leading
        if self._metrics is not None:
            self._metrics.leader.labels(self.config.name).set(1 if leading else 0)
