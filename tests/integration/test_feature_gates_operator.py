"""`--feature-gates` on a running operator: a RayCluster field whose gate is off is rejected with KubeRay's
Event and message; the same cluster is accepted by an operator started with the gate on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import running_operator

pytestmark = pytest.mark.integration

GATE_OFF_MESSAGE = "spec.networkPolicy requires the RayClusterNetworkPolicy feature gate to be enabled"


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "gate")


def _fenced() -> dict[str, Any]:
    container = {"name": "ray", "image": "rayproject/ray:2.46.0"}
    spec = {"rayVersion": "2.46.0", "networkPolicy": {"mode": "DenyAll"},
            "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [container]}}}}
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "fenced"}, "spec": spec}


def _invalid_notes(kubeconfig: Path, ns: str) -> list[str]:
    items = json.loads(kubectl(kubeconfig, "get", "events", "-n", ns, "-o", "json").stdout)["items"]
    return [e.get("message") or e.get("note") or "" for e in items if e.get("reason") == "InvalidRayClusterSpec"]


def _heads(kubeconfig: Path, ns: str) -> list[str]:
    out = kubectl(kubeconfig, "get", "pods", "-n", ns, "-l", "ray.io/cluster=fenced", "-o", "name").stdout
    return out.split()


def test_a_gated_field_is_rejected_while_its_gate_is_off_and_accepted_with_it_on(
    kubeconfig: Path, ray_crds: None, ns: str, tmp_path: Path
) -> None:
    apply(kubeconfig, ns, _fenced())
    for _ in running_operator(kubeconfig, tmp_path, name="gate-off", lease_namespace="kube-system"):
        notes = eventually(lambda: _invalid_notes(kubeconfig, ns), what="InvalidRayClusterSpec Event")
        assert any(GATE_OFF_MESSAGE in note for note in notes), notes
        assert _heads(kubeconfig, ns) == []
    for proc in running_operator(kubeconfig, tmp_path, name="gate-on", lease_namespace="kube-system",
                                 extra=("--feature-gates=RayClusterNetworkPolicy=true",)):
        eventually(lambda: _heads(kubeconfig, ns), what=f"a head pod (operator log:\n{proc.log_tail()})")
        assert len(_invalid_notes(kubeconfig, ns)) == 1  # only the gate-off operator's
