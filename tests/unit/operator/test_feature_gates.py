"""`--feature-gates`: KubeRay's syntax and gates, defaults as KubeRay v1.7.0, every gate switchable."""

from __future__ import annotations

import pytest

from raykube.api.validation import ValidationGates
from raykube.builders.settings import OperatorSettings
from raykube.operator.config import DEFAULT_GATES, FEATURE_GATES, OperatorConfig, parse_feature_gates, with_gates


def test_the_defaults_are_kuberay_v1_7_0s() -> None:
    config = OperatorConfig()
    assert {name for name in FEATURE_GATES if config.gate(name)} == {
        "RayClusterStatusConditions", "RayJobDeletionPolicy", "RayMultiHostIndexing", "RayServiceIncrementalUpgrade"}
    assert parse_feature_gates("") == DEFAULT_GATES
    assert OperatorConfig().settings.gates == ValidationGates()


def test_raycronjob_is_off_by_default_and_switched_on_by_the_flag() -> None:
    assert not OperatorConfig().gate("RayCronJob")
    assert OperatorConfig(feature_gates=parse_feature_gates("RayCronJob=true")).gate("RayCronJob")
    assert parse_feature_gates("RayCronJob=false") == DEFAULT_GATES


@pytest.mark.parametrize("name", sorted(FEATURE_GATES))
def test_every_kuberay_gate_can_be_switched_against_its_default(name: str) -> None:
    flipped = str(not FEATURE_GATES[name]).lower()
    assert OperatorConfig(feature_gates=parse_feature_gates(f"{name}={flipped}")).gate(name) is not FEATURE_GATES[name]


def test_gates_reach_validation_and_the_builders() -> None:
    gates = parse_feature_gates(
        "RayClusterNetworkPolicy=true, RayClusterMTLS=true,RayClusterHistoryServer=true,"
        "GCSFaultToleranceEmbeddedStorage=true,RayJobDeletionPolicy=false,RayMultiHostIndexing=false,"
        "RayClusterStatusConditions=false"
    )
    settings = with_gates(OperatorSettings(), gates)
    assert settings.gates == ValidationGates(
        rayjob_deletion_policy=False, network_policy=True, mtls=True, history_server=True, gcs_embedded_storage=True
    )
    assert not settings.enable_multi_host_indexing
    assert not settings.enable_status_conditions


@pytest.mark.parametrize(("text", "message"), [
    ("RayCronJob", "expected Name=true|false"),
    ("RayCronJob=yes", "expected Name=true|false"),
    ("NoSuchGate=true", "unrecognized feature gate: NoSuchGate"),
])
def test_malformed_or_unknown_gates_are_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_feature_gates(text)


def test_asking_for_a_gate_kuberay_does_not_have_is_a_bug() -> None:
    with pytest.raises(KeyError):
        OperatorConfig().gate("NoSuchGate")
