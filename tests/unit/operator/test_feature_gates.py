"""`--feature-gates`: KubeRay's syntax; RayCronJob is the gate raykube switches, the others keep their defaults."""

from __future__ import annotations

import pytest

from raykube.operator.config import OperatorConfig, parse_feature_gates


def test_raycronjob_is_off_by_default_and_switched_on_by_the_flag() -> None:
    assert not OperatorConfig().gate("RayCronJob")
    assert OperatorConfig(feature_gates=parse_feature_gates("RayCronJob=true")).gate("RayCronJob")
    assert parse_feature_gates("RayCronJob=false") == frozenset()


def test_kuberays_default_gates_stay_on_and_setting_them_differently_is_reported_not_fatal() -> None:
    warnings: list[str] = []
    gates = parse_feature_gates("RayClusterStatusConditions=true, RayJobDeletionPolicy=false,RayCronJob=true",
                                warn=warnings.append)
    assert gates == frozenset({"RayCronJob"})
    assert OperatorConfig(feature_gates=gates).gate("RayJobDeletionPolicy")
    assert warnings == ["feature gate RayJobDeletionPolicy=false is ignored: raykube always runs with "
                        "RayJobDeletionPolicy=true"]


@pytest.mark.parametrize(("text", "message"), [
    ("RayCronJob", "expected Name=true|false"),
    ("RayCronJob=yes", "expected Name=true|false"),
    ("NoSuchGate=true", "unrecognized feature gate: NoSuchGate"),
])
def test_malformed_or_unknown_gates_are_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_feature_gates(text)
