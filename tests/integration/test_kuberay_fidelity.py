"""What a KubeRay v1.7.0 user sees, shown on the local cluster (fake nodes): the conditions every RayCluster
carries, the blank `kubectl get rayclusters` columns of zero counts, KubeRay's Event reasons and texts, and a
K8sJobMode RayJob whose Ray never answers failing as KubeRay fails it.

The operator runs without a stand-in dashboard: no Ray answers, as on the fake nodes of the differential
run against KubeRay's own operator that found these differences.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.builders import make_raycluster
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("fidelity-operator"), lease_namespace="kube-system")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "fid")


def _get(kubeconfig: Path, ns: str, kind: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(kubectl(kubeconfig, "get", kind, name, "-n", ns, "-o", "json").stdout)
    return obj


def _events(kubeconfig: Path, ns: str) -> list[tuple[str, str, str]]:
    items = json.loads(kubectl(kubeconfig, "get", "events", "-n", ns, "-o", "json").stdout)["items"]
    return [(e.get("type", ""), e.get("reason", ""), e.get("message") or e.get("note") or "") for e in items]


def _cluster(name: str, replicas: int, *, autoscaling: bool = False) -> dict[str, Any]:
    cluster = (
        make_raycluster(name)
        .ray_version("2.46.0")
        .resources(cpu="100m")
        .worker_group("small", replicas=replicas, max_replicas=4)
    )
    return (cluster.autoscaling() if autoscaling else cluster).json()


def _ready(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    return eventually(lambda: (c := _get(kubeconfig, ns, "raycluster", name)).get("status", {}).get("state") == "ready"
                      and c, timeout=90, what=f"RayCluster {name} ready")


def _columns(table: str) -> list[dict[str, str]]:
    """`kubectl get` output cut at the header's column starts (so a blank cell stays a blank cell).

    Columns are at least two spaces apart in the header; a column title may hold one space.
    """
    header, *rows = table.splitlines()
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[max(0, i - 2):i] == "  ")]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    return [{header[a:b].strip(): row[a:b].strip() for a, b in bounds} for row in rows]


def test_a_cluster_carries_all_kuberay_conditions_and_zero_counts_show_blank(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _cluster("lonely", 0))
    cluster = _ready(kubeconfig, ns, "lonely")
    conditions = {c["type"]: (c["status"], c["reason"], c.get("message", "")) for c in cluster["status"]["conditions"]}
    assert conditions["RayClusterSuspended"] == ("False", "RayClusterSuspended", "")
    assert conditions["RayClusterSuspending"] == ("False", "RayClusterSuspending", "")
    assert conditions["RayClusterProvisioned"] == ("True", "AllPodRunningAndReadyFirstTime",
                                                   "All Ray Pods are ready for the first time")
    assert conditions["HeadPodReady"][:2] == ("True", "HeadPodRunningAndReady")
    for field in ("desiredWorkerReplicas", "availableWorkerReplicas", "readyWorkerReplicas", "minWorkerReplicas"):
        assert field not in cluster["status"], field
    assert cluster["status"]["maxWorkerReplicas"] == 4

    table = kubectl(kubeconfig, "get", "rayclusters", "-n", ns).stdout
    (row,) = _columns(table)
    assert row["NAME"] == "lonely"
    assert row["DESIRED WORKERS"] == "" and row["AVAILABLE WORKERS"] == "", (
        f"zero worker counts print blank, as KubeRay's:\n{table}")
    assert (row["CPUS"], row["STATUS"]) == ("100m", "ready"), table


def test_events_carry_kuberays_reasons_and_texts(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, _cluster("chatty", 2, autoscaling=True))
    _ready(kubeconfig, ns, "chatty")
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", ns, "-l", "ray.io/cluster=chatty", "-o", "json").stdout)
    head = next(p["metadata"]["name"] for p in pods["items"] if p["metadata"]["labels"]["ray.io/node-type"] == "head")
    workers = sorted(p["metadata"]["name"] for p in pods["items"] if p["metadata"]["labels"]["ray.io/node-type"] ==
                     "worker")
    expected = {
        ("Normal", "CreatedServiceAccount", f"Created service account {ns}/chatty"),
        ("Normal", "CreatedRole", f"Created role {ns}/chatty"),
        ("Normal", "CreatedRoleBinding", f"Created role binding {ns}/chatty"),
        ("Normal", "CreatedService", f"Created service {ns}/chatty-head-svc"),
        ("Normal", "CreatedHeadPod", f"Created head Pod {ns}/{head}"),
        *{("Normal", "CreatedWorkerPod", f"Created worker Pod {ns}/{w}") for w in workers},
    }
    eventually(lambda: expected <= set(_events(kubeconfig, ns)),
               what=f"KubeRay's creation Events (have {_events(kubeconfig, ns)})")

    kubectl(kubeconfig, "patch", "raycluster", "chatty", "-n", ns, "--type=merge", "-p", '{"spec": {"suspend": true}}')
    suspended = ("Normal", "DeletedPod", f"Deleted Pods for RayCluster {ns}/chatty due to suspension")
    eventually(lambda: suspended in _events(kubeconfig, ns), what="the suspension's one DeletedPod Event")
    reasons = [reason for _, reason, _ in _events(kubeconfig, ns)]
    assert "DeletedHeadPod" not in reasons and "DeletedWorkerPod" not in reasons


def test_a_k8s_job_mode_rayjob_whose_ray_never_answers_fails_as_kuberay(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    # kwok completes the submitter's pod at once; no Ray dashboard ever answers.
    spec = {"entrypoint": "python -c 'print(1)'", "rayClusterSpec": _cluster("ignored", 0)["spec"]}
    apply(kubeconfig, ns, {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "mute"}, "spec": spec})
    status = eventually(lambda: (s := _get(kubeconfig, ns, "rayjob", "mute").get("status", {}))
                        .get("jobDeploymentStatus") == "Failed" and s, timeout=200, what="RayJob mute Failed")
    assert status["reason"] == "JobDeploymentStatusTransitionGracePeriodExceeded"
    assert status["jobStatus"] == "FAILED"
    assert status["message"].startswith("The RayJob submitter finished at ")
    assert status["message"].endswith(" but the ray job did not reach terminal state within 30s")
    # Copied while the RayJob waited for its cluster: the last copy is of a cluster not yet ready.
    assert status.get("rayClusterStatus", {}).get("state") != "ready"
