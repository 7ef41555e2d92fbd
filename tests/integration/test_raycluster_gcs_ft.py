"""GCS fault tolerance on fake nodes: the pods of the upstream samples, validation, and the Redis clean-up
finalizer with its Job succeeding, failing and timing out (KubeRay §2.9)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from raykube import reasons
from raykube.cli.main import app
from raykube.local.nodes.fake import POD_STATE_ANNOTATION
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration

FIN = reasons.FINALIZER_GCS_FT_REDIS_CLEANUP
#: ray.io/gcs-ft-deletion-timeout of the stuck cluster: long enough to read its status and run the doctor while
#: its deletion waits, on a busy machine.
TIMEOUT = 25
SECRET_REF = {"secretKeyRef": {"name": "redis-password-secret", "key": "password"}}


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "gcsft")


def _get(kubeconfig: Path, ns: str, *args: str) -> dict[str, Any]:
    return json.loads(kubectl(kubeconfig, "get", *args, "-n", ns, "-o", "json").stdout)  # type: ignore[no-any-return]


def _cluster_or_none(kubeconfig: Path, ns: str, name: str) -> dict[str, Any] | None:
    out = kubectl(kubeconfig, "get", "raycluster", name, "-n", ns, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _events(kubeconfig: Path, ns: str) -> list[dict[str, Any]]:
    return _get(kubeconfig, ns, "events")["items"]  # type: ignore[no-any-return]


def _event(kubeconfig: Path, ns: str, reason: str) -> dict[str, Any] | None:
    return next((e for e in _events(kubeconfig, ns) if e.get("reason") == reason), None)


def _ready(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    return eventually(
        lambda: (c := _cluster_or_none(kubeconfig, ns, name)) and c.get("status", {}).get("state") == "ready" and c,
        timeout=90, what=f"RayCluster {name} ready",
    )


def _head(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    pods = _get(kubeconfig, ns, "pods", "-l", f"ray.io/cluster={name},ray.io/node-type=head")["items"]
    assert len(pods) == 1
    return pods[0]  # type: ignore[no-any-return]


def _env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0].get("env", [])}


def _ft_cluster(name: str, *, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    container = {"name": "ray", "image": "rayproject/ray:2.52.0",
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "rayVersion": "2.52.0",
            "gcsFaultToleranceOptions": {
                "redisAddress": "redis:6379",
                "redisPassword": {"valueFrom": SECRET_REF},
            },
            "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [container]}}},
            "workerGroupSpecs": [{
                "groupName": "small", "replicas": 1, "minReplicas": 0, "maxReplicas": 3, "rayStartParams": {},
                "template": {"spec": {"containers": [container]}},
            }],
        },
    }


def _steer_cleanup_pod(kubeconfig: Path, ns: str, name: str, state: str) -> None:
    """The clean-up Job's pod is built from the head template: annotate the template (the running head pod
    is left alone: changing the template does not recreate it)."""
    patch = {"spec": {"headGroupSpec": {"template": {"metadata": {"annotations": {POD_STATE_ANNOTATION: state}}}}}}
    kubectl(kubeconfig, "patch", "raycluster", name, "-n", ns, "--type=merge", "-p", json.dumps(patch))


def _delete(kubeconfig: Path, ns: str, name: str) -> None:
    kubectl(kubeconfig, "delete", "raycluster", name, "-n", ns, "--wait=false")


def _doctor(kubeconfig: Path, ns: str, name: str) -> list[dict[str, Any]]:
    """`raykube doctor raycluster/NAME -o json`'s findings, run in this process (as test_doctor.py does)."""
    done = CliRunner().invoke(app, ["doctor", "--kubeconfig", str(kubeconfig), f"raycluster/{name}", "-n", ns,
                                    "-o", "json"])
    assert done.exit_code in (0, 1) and not (done.exception and not isinstance(done.exception, SystemExit)), (
        f"{done.output}{done.exception!r}")
    return [f for resource in json.loads(done.stdout)["resources"] for f in resource["findings"]]


def _gone(kubeconfig: Path, ns: str, name: str, timeout: float = 90) -> None:
    eventually(lambda: _cluster_or_none(kubeconfig, ns, name) is None, timeout=timeout, what=f"{name} deleted")


@pytest.mark.parametrize(
    "sample", ["ray-cluster.external-redis.yaml", "ray-cluster.external-redis-uri.yaml",
               "ray-cluster.deprecate-gcs-ft.yaml", "ray-cluster.persistent-redis.yaml"],
)
def test_redis_samples_get_ft_env_and_the_cleanup_finalizer(
    operator: OperatorProcess, kubeconfig: Path, ns: str, kuberay_reference: Path, sample: str
) -> None:
    apply(kubeconfig, ns, (kuberay_reference / "v1.7.0" / "samples" / sample).read_text())
    clusters = _get(kubeconfig, ns, "rayclusters")["items"]
    assert len(clusters) == 1
    name = clusters[0]["metadata"]["name"]
    cluster = _ready(kubeconfig, ns, name)
    assert FIN in cluster["metadata"]["finalizers"]
    head = _head(kubeconfig, ns, name)
    env = _env(head)
    annotations = head["metadata"]["annotations"]
    assert annotations[reasons.ANNOTATION_FT_ENABLED] == "true"
    namespace = annotations[reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE]
    options = cluster["spec"].get("gcsFaultToleranceOptions") or {}
    assert namespace == options.get("externalStorageNamespace", cluster["metadata"]["uid"])
    assert env["RAY_external_storage_namespace"] == namespace
    assert "RAY_REDIS_ADDRESS" in env
    if options:
        assert env["RAY_REDIS_ADDRESS"] == options["redisAddress"]
        password = options.get("redisPassword") or {}
        if "valueFrom" in password:  # never inlined
            assert env["REDIS_PASSWORD"] == password["valueFrom"]
        if password:
            assert "--redis-password=$REDIS_PASSWORD" in env["KUBERAY_GEN_RAY_START_CMD"]
    workers = _get(kubeconfig, ns, "pods", "-l", f"ray.io/cluster={name},ray.io/node-type=worker")["items"]
    assert workers and all(_env(w)["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600" for w in workers)


def test_annotation_and_options_together_are_rejected(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, _ft_cluster("both", annotations={reasons.ANNOTATION_FT_ENABLED: "true"}))
    event = eventually(lambda: _event(kubeconfig, ns, "InvalidRayClusterSpec"), what="InvalidRayClusterSpec")
    assert "both set" in (event.get("message") or event.get("note") or "")
    assert not _get(kubeconfig, ns, "pods")["items"]
    assert FIN not in (_get(kubeconfig, ns, "raycluster", "both")["metadata"].get("finalizers") or [])


def test_deletion_runs_the_cleanup_job_after_the_pods_and_then_lets_go(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _ft_cluster("ok"))
    _ready(kubeconfig, ns, "ok")
    _delete(kubeconfig, ns, "ok")
    _gone(kubeconfig, ns, "ok")
    created = eventually(lambda: _event(kubeconfig, ns, "CreatedRedisCleanupJob"), what="CreatedRedisCleanupJob")
    assert "ok-redis-cleanup" in (created.get("message") or created.get("note") or "")
    eventually(lambda: _event(kubeconfig, ns, "DeletedHeadPod"), what="DeletedHeadPod")
    assert _event(kubeconfig, ns, "ForceDeletedStuckCluster") is None
    assert _event(kubeconfig, ns, "RedisCleanupJobFailed") is None


def test_failed_cleanup_job_releases_the_cluster_with_a_warning(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    apply(kubeconfig, ns, _ft_cluster("fails"))
    cluster = _ready(kubeconfig, ns, "fails")
    _steer_cleanup_pod(kubeconfig, ns, "fails", "Failed")
    _delete(kubeconfig, ns, "fails")
    _gone(kubeconfig, ns, "fails")
    failed = eventually(lambda: _event(kubeconfig, ns, "RedisCleanupJobFailed"),
                        what=f"RedisCleanupJobFailed among {[e.get('reason') for e in _events(kubeconfig, ns)]}")
    assert failed["type"] == "Warning"
    assert cluster["metadata"]["uid"] in (failed.get("message") or failed.get("note") or "")
    assert _event(kubeconfig, ns, "ForceDeletedStuckCluster") is None


def test_stuck_cleanup_job_is_abandoned_after_the_deletion_timeout(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    timeout = {reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT: str(TIMEOUT)}
    apply(kubeconfig, ns, _ft_cluster("stuck", annotations=timeout))
    _ready(kubeconfig, ns, "stuck")
    _steer_cleanup_pod(kubeconfig, ns, "stuck", "Unready")  # runs for ever, never completes
    _delete(kubeconfig, ns, "stuck")
    # While it waits, the deletion says why: the Job exists and an Event names the deadline.
    job = eventually(
        lambda: next(iter(_get(kubeconfig, ns, "jobs", "-l", "ray.io/node-type=redis-cleanup")["items"]), None),
        what="clean-up Job",
    )
    assert job["metadata"]["name"] == "stuck-redis-cleanup"
    created = eventually(lambda: _event(kubeconfig, ns, "CreatedRedisCleanupJob"), what="CreatedRedisCleanupJob")
    assert f"gcs-ft-deletion-timeout={TIMEOUT}s" in str(created.get("message") or created.get("note"))
    cluster = _cluster_or_none(kubeconfig, ns, "stuck")
    assert cluster is not None and FIN in cluster["metadata"]["finalizers"]
    assert not _get(kubeconfig, ns, "pods", "-l", "ray.io/node-type in (head,worker)")["items"]
    # ... the status says it too, with the Job and the deadline ...
    started = _time(cluster["metadata"]["deletionTimestamp"])
    deadline = (started + dt.timedelta(seconds=TIMEOUT)).strftime("%Y-%m-%dT%H:%M:%SZ")
    waits_for_job = f"Deleting: waiting for the Redis clean-up Job {ns}/stuck-redis-cleanup"

    def reason() -> str | None:
        found = str(((_cluster_or_none(kubeconfig, ns, "stuck") or {}).get("status") or {}).get("reason"))
        return found if found.startswith(waits_for_job) else None

    said = eventually(reason, timeout=10, what="status.reason naming the clean-up Job")
    assert f"has not finished by {deadline} (ray.io/gcs-ft-deletion-timeout={TIMEOUT}s)" in said, said
    # ... and so does `raykube doctor`, with the Job's state and when the operator gives up.
    waiting = next(f for f in _doctor(kubeconfig, ns, "stuck") if f["code"] == "raycluster-deletion-waiting")
    assert f"Redis clean-up Job {ns}/stuck-redis-cleanup (running)" in waiting["summary"], waiting
    assert f"the operator gives up at {deadline}" in waiting["summary"], waiting
    source = f"deadline {deadline}: deletion + {TIMEOUT}s (annotation {reasons.ANNOTATION_GCS_FT_DELETION_TIMEOUT})"
    assert source in waiting["evidence"], waiting
    _gone(kubeconfig, ns, "stuck")
    forced = eventually(lambda: _event(kubeconfig, ns, "ForceDeletedStuckCluster"), what="ForceDeletedStuckCluster")
    assert forced["type"] == "Warning"
    assert _event(kubeconfig, ns, "RedisCleanupJobFailed") is None


def test_rocksdb_without_the_feature_gate_is_rejected(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    body = _ft_cluster("rocks")
    body["spec"]["gcsFaultToleranceOptions"] = {"backend": "rocksdb"}
    apply(kubeconfig, ns, body)
    event = eventually(lambda: _event(kubeconfig, ns, "InvalidRayClusterSpec"), what="InvalidRayClusterSpec")
    assert "GCSFaultToleranceEmbeddedStorage" in (event.get("message") or event.get("note") or "")
    assert not _get(kubeconfig, ns, "pvc")["items"] and not _get(kubeconfig, ns, "pods")["items"]
