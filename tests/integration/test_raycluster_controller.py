"""The RayCluster controller against a real API server with fake nodes: what a KubeRay user sees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.builders import make_raycluster
from tests.integration.kube import apply, eventually, kubectl, kubectl_json, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "rc")


_apply = apply


def _cluster(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    return kubectl_json(kubeconfig, "get", "raycluster", name, "-n", ns)


def _pods(kubeconfig: Path, ns: str, selector: str) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = kubectl_json(kubeconfig, "get", "pods", "-n", ns, "-l", selector)["items"]
    return pods


def _running(pod: dict[str, Any]) -> bool:
    return pod["status"].get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")


def _workers(kubeconfig: Path, ns: str, cluster: str, group: str) -> list[str]:
    pods = _pods(kubeconfig, ns, f"ray.io/cluster={cluster},ray.io/group={group}")
    return sorted(p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp"))


def _wait_state(kubeconfig: Path, ns: str, name: str, state: str, timeout: float = 90) -> dict[str, Any]:
    return eventually(
        lambda: (c := _cluster(kubeconfig, ns, name)).get("status", {}).get("state") == state and c,
        timeout=timeout,
        what=f"RayCluster {name} {state}",
    )


def _invalid_spec_note(kubeconfig: Path, ns: str) -> str | None:
    """The message of the first InvalidRayClusterSpec Event in `ns`, if any."""
    events = kubectl_json(kubeconfig, "get", "events", "-n", ns)["items"]
    notes = [e.get("message") or e.get("note") or "" for e in events if e.get("reason") == "InvalidRayClusterSpec"]
    return notes[0] if notes else None


def _sample(reference: Path) -> str:
    return (reference / "v1.7.0" / "samples" / "ray-cluster.sample.yaml").read_text()


def test_sample_cluster_becomes_ready_with_kuberays_columns(
    operator: OperatorProcess, kubeconfig: Path, ns: str, kuberay_reference: Path
) -> None:
    _apply(kubeconfig, ns, _sample(kuberay_reference))
    _wait_state(kubeconfig, ns, "raycluster-kuberay", "ready")
    table = kubectl(kubeconfig, "get", "rayclusters", "-n", ns).stdout.splitlines()
    header = table[0].split()
    assert header == ["NAME", "DESIRED", "WORKERS", "AVAILABLE", "WORKERS", "CPUS", "MEMORY", "GPUS", "STATUS", "AGE"]
    assert table[1].split()[:7] == ["raycluster-kuberay", "1", "1", "2", "6Gi", "0", "ready"]
    pods = _pods(kubeconfig, ns, "ray.io/cluster=raycluster-kuberay")
    names = sorted(p["metadata"]["name"] for p in pods)
    assert len(names) == 2
    assert names[0].startswith("raycluster-kuberay-head-")
    assert names[1].startswith("raycluster-kuberay-workergroup-worker-")
    assert all(_running(p) for p in pods)
    services = kubectl_json(kubeconfig, "get", "svc", "-n", ns)["items"]
    assert [s["metadata"]["name"] for s in services] == ["raycluster-kuberay-head-svc"]

    def reasons() -> set[str]:
        return set(
            kubectl(
                kubeconfig, "get", "events", "-n", ns, "-o", "jsonpath={range .items[*]}{.reason}{'\\n'}{end}"
            ).stdout.split()
        )

    eventually(lambda: {"CreatedHeadPod", "CreatedWorkerPod"} <= reasons(), what="creation events")


def _small_cluster(name: str, replicas: int, *, autoscaling: bool = False, max_replicas: int = 100) -> dict[str, Any]:
    cluster = (
        make_raycluster(name)
        .ray_version("2.46.0")
        .resources(cpu="100m", memory="128Mi")
        .worker_group("small", replicas=replicas, max_replicas=max_replicas)
        .worker_group("other", replicas=1, max_replicas=5)
    )
    return (cluster.autoscaling() if autoscaling else cluster).json()


def test_scaling_with_kubectl_patch(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    _apply(kubeconfig, ns, _small_cluster("scale", 2))
    eventually(lambda: len(_workers(kubeconfig, ns, "scale", "small")) == 2, what="2 workers")
    kubectl(
        kubeconfig,
        "patch",
        "raycluster",
        "scale",
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 5}]',
    )
    eventually(lambda: len(_workers(kubeconfig, ns, "scale", "small")) == 5, what="5 workers")
    kubectl(
        kubeconfig,
        "patch",
        "raycluster",
        "scale",
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 1}]',
    )
    eventually(lambda: len(_workers(kubeconfig, ns, "scale", "small")) == 1, what="1 worker")
    status = _wait_state(kubeconfig, ns, "scale", "ready")
    eventually(
        lambda: _cluster(kubeconfig, ns, "scale")["status"].get("desiredWorkerReplicas") == 2,
        what="desired 2 (1 small + 1 other)",
    )
    assert status["spec"]["workerGroupSpecs"][1]["groupName"] == "other"


def test_autoscaler_patch_deletes_exactly_the_named_workers(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    _apply(kubeconfig, ns, _small_cluster("auto", 4, autoscaling=True))
    before = eventually(
        lambda: (w := _workers(kubeconfig, ns, "auto", "small")) and len(w) == 4 and w, what="4 workers"
    )
    doomed = before[1:3]
    # What Ray's autoscaler sends: a JSON patch of replicas and scaleStrategy.workersToDelete for group 0.
    patch = [
        {"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 2},
        {"op": "replace", "path": "/spec/workerGroupSpecs/0/scaleStrategy", "value": {"workersToDelete": doomed}},
    ]
    kubectl(kubeconfig, "patch", "raycluster", "auto", "-n", ns, "--type=json", "-p", json.dumps(patch))
    after = eventually(
        lambda: (w := _workers(kubeconfig, ns, "auto", "small")) and len(w) == 2 and w, what="2 workers left"
    )
    assert after == [before[0], before[3]]
    spec = _cluster(kubeconfig, ns, "auto")["spec"]
    assert spec["workerGroupSpecs"][0]["scaleStrategy"]["workersToDelete"] == doomed  # never cleared by us
    assert [g["groupName"] for g in spec["workerGroupSpecs"]] == ["small", "other"]  # never reordered


def test_failed_worker_is_replaced_and_deleted_head_is_recreated(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    _apply(kubeconfig, ns, _small_cluster("heal", 2))
    _wait_state(kubeconfig, ns, "heal", "ready")
    victim = _workers(kubeconfig, ns, "heal", "small")[0]
    kubectl(kubeconfig, "annotate", "pod", victim, "-n", ns, "local.raykube.dev/fake-pod-state=Failed")

    def replaced() -> bool:
        workers = _workers(kubeconfig, ns, "heal", "small")
        return victim not in workers and len(workers) == 2

    eventually(replaced, what="failed worker replaced")

    head = _pods(kubeconfig, ns, "ray.io/cluster=heal,ray.io/node-type=head")[0]["metadata"]["name"]
    kubectl(kubeconfig, "delete", "pod", head, "-n", ns, "--wait=false")

    def new_head() -> bool:
        heads = [p for p in _pods(kubeconfig, ns, "ray.io/cluster=heal,ray.io/node-type=head") if _running(p)]
        return len(heads) == 1 and heads[0]["metadata"]["name"] != head

    eventually(new_head, what="head recreated")


def test_suspend_removes_all_pods_and_resume_brings_them_back(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    _apply(kubeconfig, ns, _small_cluster("nap", 2))
    _wait_state(kubeconfig, ns, "nap", "ready")
    kubectl(kubeconfig, "patch", "raycluster", "nap", "-n", ns, "--type=merge", "-p", '{"spec": {"suspend": true}}')
    suspended = _wait_state(kubeconfig, ns, "nap", "suspended")
    assert _pods(kubeconfig, ns, "ray.io/cluster=nap") == []
    conditions = {c["type"]: c["status"] for c in suspended["status"]["conditions"]}
    assert conditions["RayClusterSuspended"] == "True" and conditions["RayClusterSuspending"] == "False"
    kubectl(kubeconfig, "patch", "raycluster", "nap", "-n", ns, "--type=merge", "-p", '{"spec": {"suspend": false}}')
    _wait_state(kubeconfig, ns, "nap", "ready")
    assert len(_workers(kubeconfig, ns, "nap", "small")) == 2

    def reasons() -> set[str]:
        return set(
            kubectl(
                kubeconfig, "get", "events", "-n", ns, "-o", "jsonpath={range .items[*]}{.reason}{'\\n'}{end}"
            ).stdout.split()
        )

    expected = {"RayClusterSuspending", "RayClusterSuspended", "RayClusterResumed"}
    eventually(lambda: expected <= reasons(), what="suspend/resume events")
    assert "RayClusterProvisioned" not in reasons()  # the condition says it, no Event (as KubeRay)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(
            lambda s: s["workerGroupSpecs"][1].update(groupName="small"), "duplicate", id="duplicate-group-names"
        ),
        pytest.param(
            lambda s: s["workerGroupSpecs"][0].update(minReplicas=5, maxReplicas=2),
            "minReplicas",
            id="min-greater-than-max",
        ),
    ],
)
def test_invalid_spec_gets_a_warning_event_and_no_pods(
    operator: OperatorProcess, kubeconfig: Path, ns: str, mutate: Any, message: str
) -> None:
    manifest = _small_cluster("bad", 1)
    mutate(manifest["spec"])
    _apply(kubeconfig, ns, manifest)

    note = eventually(lambda: _invalid_spec_note(kubeconfig, ns), what="InvalidRayClusterSpec event")
    assert message in note
    assert _pods(kubeconfig, ns, "ray.io/cluster=bad") == []
    assert operator.proc.poll() is None  # never a crash


@pytest.mark.parametrize("name", ["n" * 54, ("n" * 63 + ".") * 3 + "n" * 61], ids=["54", "253-longest-valid"])
def test_a_name_longer_than_kuberay_allows_is_reported(
    operator: OperatorProcess, kubeconfig: Path, ns: str, name: str
) -> None:
    # A 253-character name is valid for the API server: the Event about it once had a name too long to exist.
    _apply(kubeconfig, ns, _small_cluster(name, 1))

    assert "53" in eventually(lambda: _invalid_spec_note(kubeconfig, ns), what="InvalidRayClusterSpec event")
    events = json.loads(kubectl(kubeconfig, "get", "events.events.k8s.io", "-n", ns, "-o", "json").stdout)["items"]
    assert any(e.get("regarding", {}).get("name") == name for e in events)

    def replica_failure() -> dict[str, Any] | None:
        conditions = _cluster(kubeconfig, ns, name).get("status", {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "ReplicaFailure"), None)

    condition = eventually(replica_failure, what="ReplicaFailure on the misnamed cluster")
    assert condition["reason"] == "InvalidRayClusterSpec" and "53" in condition["message"]
    assert _pods(kubeconfig, ns, "ray.io/is-ray-node=yes") == []


def test_a_pod_template_without_containers_is_reported_and_gets_no_pods(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    manifest = _small_cluster("empty", 1)
    manifest["spec"]["headGroupSpec"]["template"]["spec"]["containers"] = []
    _apply(kubeconfig, ns, manifest)  # the schema (as KubeRay's) allows an empty list; the controller does not
    note = eventually(lambda: _invalid_spec_note(kubeconfig, ns), what="InvalidRayClusterSpec event")
    assert "container" in note
    assert _pods(kubeconfig, ns, "ray.io/cluster=empty") == []


def test_a_cluster_over_the_pod_limit_is_refused_and_does_not_stall_others(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    # Found as a hostile user: replicas 2^31-1 made the operator build every pod body at once.
    _apply(kubeconfig, ns, _small_cluster("huge", 2**31 - 1, max_replicas=2**31 - 1))
    _apply(kubeconfig, ns, _small_cluster("fine", 1))

    note = eventually(lambda: _invalid_spec_note(kubeconfig, ns), what="InvalidRayClusterSpec event")
    assert "limit of 10000" in note and "2147483649 pods" in note

    def replica_failure() -> dict[str, Any] | None:
        conditions = _cluster(kubeconfig, ns, "huge").get("status", {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "ReplicaFailure"), None)

    condition = eventually(replica_failure, what="ReplicaFailure on the huge cluster")
    assert condition["status"] == "True" and condition["reason"] == "ReplicasOverLimit"
    _wait_state(kubeconfig, ns, "fine", "ready")
    assert _pods(kubeconfig, ns, "ray.io/cluster=huge") == []
    assert operator.proc.poll() is None


def test_a_cluster_larger_than_one_pass_is_completed_by_later_passes_without_duplicates(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    # One pass creates at most 200 pods; 230 workers need a second pass, started by the first one's requeue.
    _apply(kubeconfig, ns, _small_cluster("wide", 230, max_replicas=300))
    eventually(
        lambda: len(_workers(kubeconfig, ns, "wide", "small")) == 230, timeout=180, what="230 workers of group small"
    )
    pods = _pods(kubeconfig, ns, "ray.io/cluster=wide,ray.io/group=small")
    indexes = [p["metadata"]["labels"].get("ray.io/worker-group-replica-index") for p in pods]
    assert sorted(indexes, key=int) == [str(i) for i in range(230)]  # no index twice, none skipped


def test_unknown_fields_are_rejected_with_strict_validation(ray_crds: None, kubeconfig: Path, ns: str) -> None:
    manifest = _small_cluster("typo", 1)
    manifest["spec"]["workerGroupSpecs"][0]["replica"] = 3
    result = kubectl(
        kubeconfig, "apply", "--validate=strict", "-n", ns, "-f", "-", input=yaml.safe_dump(manifest), check=False
    )
    assert result.returncode != 0
    assert 'unknown field "spec.workerGroupSpecs[0].replica"' in result.stderr


def test_operator_exposes_metrics(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    _apply(kubeconfig, ns, _small_cluster("metered", 1))
    _wait_state(kubeconfig, ns, "metered", "ready")
    text = operator.metrics()
    assert 'controller_runtime_reconcile_total{controller="raycluster"' in text
    assert "workqueue_depth" in text
    assert "controller_runtime_reconcile_time_seconds_bucket" in text
    ready = next(line for line in text.splitlines() if line.startswith('raykube_rayclusters{state="ready"}'))
    assert float(ready.rsplit(" ", 1)[1]) >= 1


def test_a_pod_that_only_carries_our_labels_is_left_alone(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    labels = {"ray.io/cluster": "mine", "ray.io/node-type": "worker", "ray.io/group": "small"}
    kubectl(
        kubeconfig,
        "apply",
        "-n",
        ns,
        "-f",
        "-",
        input=yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "bystander", "labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            }
        ),
    )
    _apply(kubeconfig, ns, _small_cluster("mine", 0))
    _wait_state(kubeconfig, ns, "mine", "ready")  # 0 small workers + 1 other: the bystander is not counted
    status = _cluster(kubeconfig, ns, "mine")["status"]
    assert status["availableWorkerReplicas"] == 1
    kubectl(kubeconfig, "get", "pod", "bystander", "-n", ns)  # still there


def test_token_auth_gets_a_generated_secret_and_autoscaling_gets_its_rbac(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    manifest = _small_cluster("guarded", 1, autoscaling=True)
    manifest["spec"]["rayVersion"] = "2.52.0"
    manifest["spec"]["authOptions"] = {"mode": "token"}
    _apply(kubeconfig, ns, manifest)
    _wait_state(kubeconfig, ns, "guarded", "ready")
    secret = kubectl_json(kubeconfig, "get", "secret", "guarded", "-n", ns)
    assert len(secret["data"]["auth_token"]) >= 40  # base64 of 32 random bytes
    assert secret["metadata"]["ownerReferences"][0]["name"] == "guarded"
    head = _pods(kubeconfig, ns, "ray.io/cluster=guarded,ray.io/node-type=head")[0]
    env = {e["name"]: e for e in head["spec"]["containers"][0]["env"]}
    assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "guarded", "key": "auth_token"}
    role = kubectl_json(kubeconfig, "get", "role", "guarded", "-n", ns)
    assert {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "verbs": ["get", "patch"]} in role["rules"]
    kubectl(kubeconfig, "get", "rolebinding", "guarded", "-n", ns)
    kubectl(kubeconfig, "get", "serviceaccount", "guarded", "-n", ns)
    assert head["spec"]["serviceAccountName"] == "guarded"
    assert [c["name"] for c in head["spec"]["containers"]][-1] == "autoscaler"


def test_recreate_upgrade_strategy_replaces_all_pods_on_a_spec_change(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    manifest = _small_cluster("fresh", 1)
    manifest["spec"]["upgradeStrategy"] = {"type": "Recreate"}
    _apply(kubeconfig, ns, manifest)
    _wait_state(kubeconfig, ns, "fresh", "ready")
    before = {p["metadata"]["name"] for p in _pods(kubeconfig, ns, "ray.io/cluster=fresh")}
    kubectl(
        kubeconfig,
        "patch",
        "raycluster",
        "fresh",
        "-n",
        ns,
        "--type=json",
        "-p",
        '[{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 2}]',
    )
    eventually(lambda: len(_workers(kubeconfig, ns, "fresh", "small")) == 2, what="scaled without recreate")
    assert before <= {p["metadata"]["name"] for p in _pods(kubeconfig, ns, "ray.io/cluster=fresh")}
    image = "rayproject/ray:2.47.0"
    kubectl(
        kubeconfig,
        "patch",
        "raycluster",
        "fresh",
        "-n",
        ns,
        "--type=json",
        "-p",
        json.dumps([{"op": "replace", "path": "/spec/headGroupSpec/template/spec/containers/0/image", "value": image}]),
    )

    def all_new() -> bool:
        pods = [p for p in _pods(kubeconfig, ns, "ray.io/cluster=fresh") if _running(p)]
        names = {p["metadata"]["name"] for p in pods}
        return len(pods) == 4 and not (names & before)

    eventually(all_new, what="every pod recreated")
    head = _pods(kubeconfig, ns, "ray.io/cluster=fresh,ray.io/node-type=head")[0]
    assert head["spec"]["containers"][0]["image"] == image
