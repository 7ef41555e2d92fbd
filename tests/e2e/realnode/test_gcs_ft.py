"""GCS fault tolerance with real Redis and real Ray on the real node (KubeRay's `ray-cluster.external-redis.yaml`).

A detached actor holds a value; the head pod is deleted; the new head recovers the GCS from Redis while the
worker pod keeps running, and the actor answers with its value. Deleting the cluster then runs the clean-up
Job, and the keys of the cluster's storage namespace are gone from Redis. The head recovery time (head pod
deleted -> a new head Ready and the RayCluster `ready` again) is printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.local import redisimage
from raykube.local.images import store as images
from tests.e2e.realnode.gcsft import CREATE_ACTOR, READ_ACTOR, pods, ready
from tests.integration.kube import eventually, kubectl
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

SAMPLE = "ray-cluster.external-redis.yaml"
NAME = "raycluster-external-redis"
PASSWORD = "5241590000000000"  # the sample's, in its redis.conf and Secret

@pytest.fixture(scope="module")
def redis_image(import_built_images: Callable[[], list[str]]) -> str:
    """redis:7.4.0 (Debian's redis-server), built and imported into the package's running real node."""
    built = redisimage.build_redis(lambda message: print(message, flush=True))
    import_built_images()
    return images.short(built.names[0])


@pytest.fixture(scope="module")
def operator(redis_image: str, real_kubeconfig: Path, real_crds: None,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(real_kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system")


def _sample(reference: Path, ray_image: str) -> str:
    """The sample as published, with CPU/memory requests that fit two vCPUs and our Ray image."""
    docs = [d for d in yaml.safe_load_all((reference / "v1.7.0" / "samples" / SAMPLE).read_text()) if d]
    cluster = next(d for d in docs if d["kind"] == "RayCluster")
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    worker_group = cluster["spec"]["workerGroupSpecs"][0]
    worker = worker_group["template"]["spec"]["containers"][0]
    for container, limit in ((head, "3Gi"), (worker, "2Gi")):
        container["image"] = ray_image
        container["resources"] = {"requests": {"cpu": "300m", "memory": "1Gi"}, "limits": {"memory": limit}}
    worker_group["rayStartParams"] = {"num-cpus": "1"}
    cluster["spec"]["rayVersion"] = ray_image.rpartition(":")[2]
    return yaml.safe_dump_all(docs)


def _cluster(kubeconfig: Path, ns: str) -> dict[str, Any] | None:
    out = kubectl(kubeconfig, "get", "raycluster", NAME, "-n", ns, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def _redis_keys(kubeconfig: Path, ns: str, pattern: str) -> list[str]:
    pod = pods(kubeconfig, ns, "app=redis")[0]["metadata"]["name"]
    out = kubectl(kubeconfig, "exec", "-n", ns, pod, "--", "redis-cli", "-a", PASSWORD, "--no-auth-warning",
                  "--scan", "--pattern", pattern)
    return [line for line in out.stdout.splitlines() if line.strip()]


def test_head_loss_is_survived_through_redis_and_deletion_cleans_redis(
    real_kubeconfig: Path, ns: str, ray_image: str, operator: OperatorProcess, kuberay_reference: Path
) -> None:
    kc = real_kubeconfig
    kubectl(kc, "apply", "-n", ns, "-f", "-", input=_sample(kuberay_reference, ray_image))
    eventually(lambda: (c := _cluster(kc, ns)) and c.get("status", {}).get("state") == "ready", timeout=400,
               what=f"RayCluster ready (operator log:\n{operator.log_tail()})")
    head = pods(kc, ns, f"ray.io/cluster={NAME},ray.io/node-type=head")[0]
    workers_before = {p["metadata"]["uid"]: p for p in pods(kc, ns, f"ray.io/cluster={NAME},ray.io/node-type=worker")}
    assert len(workers_before) == 1
    storage_namespace = head["metadata"]["annotations"]["ray.io/external-storage-namespace"]
    cluster = _cluster(kc, ns)
    assert cluster is not None and storage_namespace == cluster["metadata"]["uid"]
    assert "ray.io/gcs-ft-redis-cleanup-finalizer" in cluster["metadata"]["finalizers"]

    stored = eventually(lambda: (out := kubectl(kc, "exec", "-n", ns, head["metadata"]["name"], "--", "python", "-c",
                                                CREATE_ACTOR, check=False)).returncode == 0 and out.stdout,
                        timeout=180, what="detached actor created")
    assert "stored kept-through-head-loss" in stored
    assert _redis_keys(kc, ns, f"*{storage_namespace}*"), "the GCS wrote nothing under the cluster's namespace"

    started = time.monotonic()
    kubectl(kc, "delete", "pod", "-n", ns, head["metadata"]["name"], "--wait=false")

    def recovered() -> dict[str, Any] | None:
        heads = [p for p in pods(kc, ns, f"ray.io/cluster={NAME},ray.io/node-type=head")
                 if p["metadata"]["uid"] != head["metadata"]["uid"]]
        c = _cluster(kc, ns)
        if heads and ready(heads[0]) and c and c.get("status", {}).get("state") == "ready":
            return heads[0]
        return None

    new_head = eventually(recovered, timeout=400, what="a new head Ready and the cluster ready")
    recovery = time.monotonic() - started
    print(f"GCS FT (Redis): head recovered in {recovery:.1f}s (head deleted -> new head Ready, cluster ready)")

    answer = eventually(lambda: (out := kubectl(kc, "exec", "-n", ns, new_head["metadata"]["name"], "--", "python",
                                                "-c", READ_ACTOR, check=False)).returncode == 0 and out.stdout,
                        timeout=180, what="the detached actor answering after the head restart")
    assert "value kept-through-head-loss" in answer
    workers_after = {p["metadata"]["uid"]: p for p in pods(kc, ns, f"ray.io/cluster={NAME},ray.io/node-type=worker")}
    assert set(workers_after) == set(workers_before), "the worker pod was replaced"
    restarts = [s.get("restartCount", 0) for p in workers_after.values() for s in p["status"]["containerStatuses"]]
    assert restarts == [0] * len(restarts), "a worker container restarted"

    kubectl(kc, "delete", "raycluster", NAME, "-n", ns, "--wait=false")
    eventually(lambda: _cluster(kc, ns) is None, timeout=300, what="RayCluster deleted after the clean-up Job")
    reasons = kubectl(kc, "get", "events", "-n", ns, "-o", "jsonpath={range .items[*]}{.reason}{'\\n'}{end}").stdout
    assert "CreatedRedisCleanupJob" in reasons.split()
    assert "ForceDeletedStuckCluster" not in reasons.split() and "RedisCleanupJobFailed" not in reasons.split()
    assert _redis_keys(kc, ns, f"*{storage_namespace}*") == []
