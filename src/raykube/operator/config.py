"""The operator's command-line configuration, with KubeRay's flag names and defaults where they exist."""

from __future__ import annotations

import os
from collections.abc import Callable
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
        metrics_addr / probe_addr: listen addresses [`--metrics-addr` `:8080`, `--health-probe-bind-address` `:8082`
            in KubeRay; here loopback by default, `127.0.0.1:8080` and `127.0.0.1:8082`, so a developer's operator
            is not reachable from the network; the chart passes `:8080` and `:8082` for its Service and probes].
        reconcile_concurrency: RayCluster workers [`--reconcile-concurrency`, 1 in KubeRay; 16 here: a
            reconcile mostly waits on the API server, not the CPU].
        qps / burst: client-side rate limit towards the API server [`--qps` 100, `--burst` 200 in KubeRay v1.7].
        settings: builder switches read from the environment (ENABLE_INIT_CONTAINER_INJECTION, ...).
        rayjob: RayJob timings (RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS, ...) and the dashboard test hook.
        feature_gates: gates switched on [`--feature-gates`, e.g. `RayCronJob=true`]; see FEATURE_GATES.
    """

    kubeconfig: str | None = None
    watch_namespaces: tuple[str, ...] = ()
    leader_election: bool = True
    leader_election_namespace: str = field(default_factory=lambda: os.environ.get("POD_NAMESPACE", "default"))
    leader_election_id: str = "ray-operator-leader"
    metrics_addr: str = "127.0.0.1:8080"
    probe_addr: str = "127.0.0.1:8082"
    reconcile_concurrency: int = 16
    qps: float = 100.0
    burst: int = 200
    settings: OperatorSettings = field(default_factory=OperatorSettings)
    rayjob: RayJobSettings = field(default_factory=RayJobSettings)
    feature_gates: frozenset[str] = frozenset()

    def gate(self, name: str) -> bool:
        return name in self.feature_gates if name in TOGGLED_GATES else FEATURE_GATES[name]


#: KubeRay v1.7.0's feature gates and their defaults. raykube always behaves as the defaults say, except
#: for the gates in TOGGLED_GATES, which `--feature-gates` switches.
FEATURE_GATES: dict[str, bool] = {
    "RayClusterStatusConditions": True,
    "RayJobDeletionPolicy": True,
    "RayMultiHostIndexing": True,
    "RayServiceIncrementalUpgrade": True,
    "RayCronJob": False,
    "SidecarSubmitterRestart": False,
    "RayClusterNetworkPolicy": False,
    "GCSFaultToleranceEmbeddedStorage": False,
    "RayClusterMTLS": False,
    "RayClusterHistoryServer": False,
    "KubernetesWAS": False,
}
TOGGLED_GATES: frozenset[str] = frozenset({"RayCronJob"})


def parse_feature_gates(text: str, warn: Callable[[str], None] = lambda _: None) -> frozenset[str]:
    """`Name=true,Other=false` (KubeRay's `--feature-gates` syntax) -> the toggled gates switched on.

    A malformed entry or an unknown gate is an error, as in KubeRay. A known gate that raykube does not
    switch, set against its default, is reported through ``warn`` and otherwise ignored (the Helm chart of
    KubeRay 1.3.0 turns RayJobDeletionPolicy off: the operator must still start)."""
    enabled = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq or value.lower() not in ("true", "false"):
            raise ValueError(f"expected Name=true|false, got {item!r}")
        if name not in FEATURE_GATES:
            raise ValueError(f"unrecognized feature gate: {name}")
        on = value.lower() == "true"
        if name in TOGGLED_GATES:
            if on:
                enabled.add(name)
        elif on != FEATURE_GATES[name]:
            default = str(FEATURE_GATES[name]).lower()
            warn(f"feature gate {name}={value.lower()} is ignored: raykube always runs with {name}={default}")
    return frozenset(enabled)
