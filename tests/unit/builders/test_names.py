"""Child names and KubeRay's two truncation rules."""

from __future__ import annotations

import pytest

from raykube.builders import names

LONG = "ray-cluster-0000000000000000000000011111111122222233333333333333"


def test_long_head_generate_name_keeps_the_first_fifty_characters() -> None:
    assert names.head_pod_name(LONG, deterministic=False) == "ray-cluster-00000000000000000000000111111111222222-head-"


def test_deterministic_head_name_has_no_trailing_dash() -> None:
    assert names.head_pod_name(LONG, deterministic=True) == "ray-cluster-00000000000000000000000111111111222222-head"


def test_worker_generate_name_cuts_cluster_and_group_together() -> None:
    name = names.worker_pod_generate_name("c" * 40, "g" * 20)
    assert name == "c" * 40 + "-" + "g" * 9 + "-worker-"
    assert len(name) + 5 <= 63


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "72fbcc7e-a661-4b18e-ca41-e903-fc3ae634b18e-lazer090scholar-director-s",
            "rca41-e903-fc3ae634b18e-lazer090scholar-director-s",
            id="keeps-the-end-and-fixes-a-leading-digit",
        ),
        pytest.param(
            "--------566666--------444433-----------222222----------4444",
            "r6666--------444433-----------222222----------4444",
            id="fixes-leading-punctuation",
        ),
        pytest.param("acceptable-name-head-12345", "acceptable-name-head-12345", id="unchanged"),
    ],
)
def test_check_name(raw: str, expected: str) -> None:
    assert names.check_name(raw) == expected


def test_service_names_and_fqdn() -> None:
    assert names.head_service_name("rc") == "rc-head-svc"
    assert names.head_service_name("rc", "custom") == "custom"
    assert names.headless_service_name("rc") == "rc-headless"
    assert names.serve_service_name("rc") == "rc-serve-svc"
    assert names.fqdn("rc-head-svc", "ns", "cluster.local") == "rc-head-svc.ns.svc.cluster.local"
