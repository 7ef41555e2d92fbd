"""The operator's command-line configuration, with KubeRay's flag names and defaults where they exist."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from raykube.builders.settings import OperatorSettings
from raykube.controllers.rayjob.settings import RayJobSettings


@dataclass(frozen=True)
class OperatorConfig:
    """How `raykube operator` runs.

    Attributes (KubeRay's flag in brackets):
        kubeconfig: a kubeconfig file; None means in-cluster config [`--kubeconfig`].
        watch_namespaces: namespaces to watch; empty means all [`--watch-namespace`, comma-separated].
        leader_election: run controllers only while holding the Lease [`--enable-leader-election`, on].
        leader_election_namespace: where the Lease lives [`--leader-election-namespace`; default: the
            operator pod's namespace (`POD_NAMESPACE`), else `default`].
        leader_election_id: the Lease's name [KubeRay: `ray-operator-leader`].
        metrics_addr / probe_addr: listen addresses [`--metrics-addr` `:8080`, `--health-probe-bind-address` `:8082`].
        reconcile_concurrency: RayCluster workers [`--reconcile-concurrency`, 1 in KubeRay; 16 here: a
            reconcile mostly waits on the API server, not the CPU].
        qps / burst: client-side rate limit towards the API server [`--qps` 100, `--burst` 200 in KubeRay v1.7].
        settings: builder switches read from the environment (ENABLE_INIT_CONTAINER_INJECTION, ...).
        rayjob: RayJob timings (RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS, ...) and the dashboard test hook.
    """

    kubeconfig: str | None = None
    watch_namespaces: tuple[str, ...] = ()
    leader_election: bool = True
    leader_election_namespace: str = field(default_factory=lambda: os.environ.get("POD_NAMESPACE", "default"))
    leader_election_id: str = "ray-operator-leader"
    metrics_addr: str = ":8080"
    probe_addr: str = ":8082"
    reconcile_concurrency: int = 16
    qps: float = 100.0
    burst: int = 200
    settings: OperatorSettings = field(default_factory=OperatorSettings)
    rayjob: RayJobSettings = field(default_factory=RayJobSettings)
