"""The operator's command-line configuration, with KubeRay's flag names and defaults where they exist."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from raykube.api.validation import ValidationGates
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
        feature_gates: the gates that are on [`--feature-gates`, e.g. `RayCronJob=true`]; see FEATURE_GATES.
            ``settings`` must agree with them (build both with :func:`with_gates`).
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
    feature_gates: frozenset[str] = field(default_factory=lambda: DEFAULT_GATES)

    def gate(self, name: str) -> bool:
        """Whether KubeRay's feature gate ``name`` is on (KeyError for a gate KubeRay does not have)."""
        if name not in FEATURE_GATES:
            raise KeyError(name)
        return name in self.feature_gates


#: KubeRay v1.7.0's feature gates and their defaults (pkg/features/features.go). `--feature-gates` switches
#: each of them; what each one changes in raykube is listed in docs/compatibility.md.
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
DEFAULT_GATES: frozenset[str] = frozenset(name for name, on in FEATURE_GATES.items() if on)


def parse_feature_gates(text: str) -> frozenset[str]:
    """`Name=true,Other=false` (KubeRay's `--feature-gates` syntax) -> every gate that is on.

    Gates not named keep their default. A malformed entry or an unknown gate is an error, as in KubeRay
    (component-base's feature gate parser)."""
    enabled = set(DEFAULT_GATES)
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, eq, value = item.partition("=")
        name = name.strip()
        if not eq or value.strip().lower() not in ("true", "false"):
            raise ValueError(f"expected Name=true|false, got {item!r}")
        if name not in FEATURE_GATES:
            raise ValueError(f"unrecognized feature gate: {name}")
        if value.strip().lower() == "true":
            enabled.add(name)
        else:
            enabled.discard(name)
    return frozenset(enabled)


def validation_gates(enabled: frozenset[str]) -> ValidationGates:
    """The gates that decide which spec fields the controllers accept."""
    return ValidationGates(
        rayjob_deletion_policy="RayJobDeletionPolicy" in enabled,
        network_policy="RayClusterNetworkPolicy" in enabled,
        mtls="RayClusterMTLS" in enabled,
        history_server="RayClusterHistoryServer" in enabled,
        gcs_embedded_storage="GCSFaultToleranceEmbeddedStorage" in enabled,
    )


def with_gates(settings: OperatorSettings, enabled: frozenset[str]) -> OperatorSettings:
    """``settings`` with the builder and validation switches the gates decide."""
    return replace(
        settings,
        gates=validation_gates(enabled),
        enable_multi_host_indexing="RayMultiHostIndexing" in enabled,
        enable_status_conditions="RayClusterStatusConditions" in enabled,
    )
