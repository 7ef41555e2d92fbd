"""GCS fault tolerance: env, start params and annotations per upstream sample, the clean-up Job, the rocksdb PVC."""

from __future__ import annotations

import json
from typing import Any

import pytest

from raykube import reasons
from raykube.api.raycluster import RayCluster
from raykube.builders.cluster import cluster_context, desired_cluster
from raykube.builders.gcs_ft import build_gcs_pvc, build_redis_cleanup_job, uses_redis, uses_rocksdb, wants_gcs_pvc
from raykube.builders.settings import OperatorSettings
from raykube.cli.render import plan_new_cluster
from tests.unit.builders.conftest import make_cluster, sample_cluster

DEFAULTS = OperatorSettings()
SECRET_REF = {"secretKeyRef": {"name": "redis-password-secret", "key": "password"}}


def _pods(rc: RayCluster) -> tuple[dict[str, Any], dict[str, Any]]:
    desired = desired_cluster(rc, DEFAULTS, auth_token="t", pods=plan_new_cluster(rc))
    assert desired.head_pod is not None
    return desired.head_pod, desired.worker_pods[0][1]


def _env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0].get("env", [])}


def _start(pod: dict[str, Any]) -> str:
    return str(_env(pod)["KUBERAY_GEN_RAY_START_CMD"])


def test_external_redis_sample_password_stays_a_secret_reference() -> None:
    head, worker = _pods(sample_cluster("ray-cluster.external-redis.yaml"))
    env = _env(head)
    assert env["RAY_REDIS_ADDRESS"] == "redis:6379"
    assert env["REDIS_PASSWORD"] == SECRET_REF
    assert env["RAY_external_storage_namespace"] == "uid-1"  # default: the RayCluster UID
    assert "REDIS_USERNAME" not in env
    assert "--redis-password=$REDIS_PASSWORD" in _start(head)
    assert head["metadata"]["annotations"][reasons.ANNOTATION_FT_ENABLED] == "true"
    assert head["metadata"]["annotations"][reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE] == "uid-1"
    assert "5241590000000000" not in json.dumps(head)  # the sample's password lives only in its Secret
    assert _env(worker)["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600"
    assert "RAY_REDIS_ADDRESS" not in _env(worker)
    assert reasons.ANNOTATION_FT_ENABLED not in (worker["metadata"].get("annotations") or {})


def test_external_redis_uri_sample_keeps_the_uri() -> None:
    rc = sample_cluster("ray-cluster.external-redis-uri.yaml")
    head, _ = _pods(rc)
    options = rc.spec.gcs_fault_tolerance_options
    assert options is not None
    assert _env(head)["RAY_REDIS_ADDRESS"] == options.redis_address
    assert "://" in str(options.redis_address)


def test_deprecated_annotation_sample_uses_the_users_env_and_params() -> None:
    rc = sample_cluster("ray-cluster.deprecate-gcs-ft.yaml")
    assert rc.annotations[reasons.ANNOTATION_FT_ENABLED] == "true" and rc.spec.gcs_fault_tolerance_options is None
    head, worker = _pods(rc)
    env = _env(head)
    assert "RAY_REDIS_ADDRESS" in env  # set by the user in the template
    assert env["RAY_external_storage_namespace"] == "uid-1"
    assert head["metadata"]["annotations"][reasons.ANNOTATION_FT_ENABLED] == "true"
    assert _env(worker)["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600"
    assert uses_redis(rc.spec, rc.annotations)


def test_literal_username_and_password_and_storage_namespace() -> None:
    rc = make_cluster(gcsFaultToleranceOptions={
        "redisAddress": "redis:6379",
        "redisUsername": {"value": "ray"},
        "redisPassword": {"value": "pw"},
        "externalStorageNamespace": "my-ns",
    })
    head, _ = _pods(rc)
    env = _env(head)
    assert (env["REDIS_USERNAME"], env["REDIS_PASSWORD"]) == ("ray", "pw")
    assert env["RAY_external_storage_namespace"] == "my-ns"
    assert head["metadata"]["annotations"][reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE] == "my-ns"
    assert "--redis-username=$REDIS_USERNAME" in _start(head) and "--redis-password=$REDIS_PASSWORD" in _start(head)


def test_ft_off_head_annotated_false_and_workers_untouched() -> None:
    head, worker = _pods(make_cluster())
    assert head["metadata"]["annotations"][reasons.ANNOTATION_FT_ENABLED] == "false"
    assert "RAY_gcs_rpc_server_reconnect_timeout_s" not in _env(worker)


def test_cleanup_job_is_the_head_reduced_to_its_ray_container() -> None:
    rc = sample_cluster("ray-cluster.external-redis.yaml")
    job = build_redis_cleanup_job(cluster_context(rc, DEFAULTS))
    assert job["metadata"]["name"] == "raycluster-external-redis-redis-cleanup"
    assert job["metadata"]["labels"][reasons.LABEL_NODE_TYPE] == "redis-cleanup"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "RayCluster"
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 300)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and "initContainers" not in pod
    assert len(pod["containers"]) == 1
    ray = pod["containers"][0]
    assert not {"livenessProbe", "readinessProbe"} & set(ray)
    assert ray["resources"]["limits"] == {"cpu": "200m", "memory": "256Mi"}
    assert ray["command"] == ["/bin/bash", "-c", "--"]
    assert "cleanup_redis_storage" in ray["args"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in ray["env"]}
    assert env["REDIS_PASSWORD"] == SECRET_REF and env["RAY_redis_db_connect_retries"] == "120"
    assert env["RAY_redis_db_connect_wait_milliseconds"] == "500"
    assert spec["template"]["metadata"]["labels"][reasons.LABEL_NODE_TYPE] == "redis-cleanup"


def test_cleanup_command_is_valid_python_and_bash() -> None:
    import shlex
    import subprocess

    rc = sample_cluster("ray-cluster.external-redis.yaml")
    args = build_redis_cleanup_job(cluster_context(rc, DEFAULTS))["spec"]["template"]["spec"]["containers"][0]["args"]
    words = shlex.split(args[0])
    program = words[words.index("-c") + 1]
    compile(program, "<cleanup>", "exec")
    assert subprocess.run(["bash", "-n", "-c", args[0]], check=False).returncode == 0


def test_embedded_sample_uses_rocksdb_and_a_pvc() -> None:
    rc = sample_cluster("ray-cluster.embedded-gcs-ft.yaml")
    assert uses_rocksdb(rc.spec) and not uses_redis(rc.spec, rc.annotations)
    head, worker = _pods(rc)
    env = _env(head)
    assert (env["RAY_gcs_storage"], env["RAY_gcs_storage_path"]) == ("rocksdb", "/data/gcs")
    assert "RAY_REDIS_ADDRESS" not in env and "RAY_external_storage_namespace" not in env
    volume = next(v for v in head["spec"]["volumes"] if v["name"] == "gcs-storage")
    ctx = cluster_context(rc, DEFAULTS)
    options = rc.spec.gcs_fault_tolerance_options
    assert options is not None
    claim = options.storage.claim_name if options.storage is not None else None
    assert volume["persistentVolumeClaim"]["claimName"] == (claim or f"{rc.name}-gcs-pvc")
    assert wants_gcs_pvc(ctx) == (not claim)
    assert _env(worker)["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600"


@pytest.mark.parametrize("policy, owned", [(None, True), ("DeleteWithCluster", True), ("Retain", False)])
def test_gcs_pvc_defaults_and_deletion_policy(policy: str | None, owned: bool) -> None:
    storage: dict[str, Any] = {"storageClassName": "fast"}
    if policy:
        storage["deletionPolicy"] = policy
    rc = make_cluster(gcsFaultToleranceOptions={"backend": "rocksdb", "storage": storage})
    pvc = build_gcs_pvc(cluster_context(rc, DEFAULTS))
    assert pvc["metadata"]["name"] == "rc-gcs-pvc"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["spec"]["storageClassName"] == "fast"
    assert ("ownerReferences" in pvc["metadata"]) == owned


def test_users_claim_means_no_pvc() -> None:
    rc = make_cluster(gcsFaultToleranceOptions={"backend": "rocksdb", "storage": {"claimName": "mine"}})
    assert not wants_gcs_pvc(cluster_context(rc, DEFAULTS))
    head, _ = _pods(rc)
    volume = next(v for v in head["spec"]["volumes"] if v["name"] == "gcs-storage")
    assert volume["persistentVolumeClaim"]["claimName"] == "mine"


def _errors(gates: Any, **options: Any) -> list[str]:
    from raykube.api.validation import validate_raycluster

    return validate_raycluster(make_cluster(gcsFaultToleranceOptions=options), gates=gates)


def test_rocksdb_needs_the_feature_gate_and_no_redis_settings() -> None:
    from raykube.api.validation import ValidationGates

    off, on = ValidationGates(), ValidationGates(gcs_embedded_storage=True)
    assert any("GCSFaultToleranceEmbeddedStorage" in e for e in _errors(off, backend="rocksdb"))
    assert _errors(on, backend="rocksdb", storage={"size": "2Gi"}) == []
    mixed = _errors(on, backend="rocksdb", redisAddress="redis:6379", redisPassword={"value": "x"})
    assert [e.split(":")[0] for e in mixed] == [
        "spec.gcsFaultToleranceOptions.redisAddress",
        "spec.gcsFaultToleranceOptions.redisPassword",
    ]
    assert _errors(on, redisAddress="redis:6379", storage={"size": "2Gi"}) == [
        "spec.gcsFaultToleranceOptions.storage: can only be set with backend rocksdb"
    ]
