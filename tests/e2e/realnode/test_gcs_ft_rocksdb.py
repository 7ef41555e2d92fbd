"""GCS fault tolerance with the embedded RocksDB backend on the real node (`ray-cluster.embedded-gcs-ft.yaml`).

The operator runs with `--feature-gates=GCSFaultToleranceEmbeddedStorage=true` and creates the PVC
`<cluster>-gcs-pvc` without a class; the local cluster's default StorageClass `standard` and its provisioner give
it a directory on the node. A detached actor holds a value; the head pod is deleted; the new head mounts the same
volume, its GCS reads the state back from RocksDB while the worker pod keeps running, and the actor answers with
its value. Deleting the cluster then takes the PVC with it, and the provisioner deletes the volume and its
directory (reclaim policy Delete). The head recovery time (head pod deleted -> a new head Ready and the RayCluster
`ready` again) is printed.

Ray gained the RocksDB store after the Ray the rest of the suite pins (2.52.0, whose GCS knows only memory and
Redis); these clusters run Ray ROCKSDB_RAY_VERSION, built here like the default image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from raykube.local.cluster import LocalCluster
from raykube.local.images import recipes
from raykube.local.images import store as image_store
from tests.e2e.realnode.gcsft import CREATE_ACTOR, READ_ACTOR, get, pods, ready
from tests.integration.kube import eventually, kubectl
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

# A Ray release whose GCS has the embedded RocksDB store (`RAY_gcs_storage=rocksdb`).
ROCKSDB_RAY_VERSION = "2.60.0"
SAMPLE = "ray-cluster.embedded-gcs-ft.yaml"
NAME = "raycluster-embedded-gcs-ft"
CLAIM = f"{NAME}-gcs-pvc"
HEAD = f"ray.io/cluster={NAME},ray.io/node-type=head"
WORKERS = f"ray.io/cluster={NAME},ray.io/node-type=worker"
T = TypeVar("T")


@pytest.fixture(scope="module")
def rocksdb_ray_image(import_built_images: Callable[[], list[str]]) -> str:
    """rayproject/ray:ROCKSDB_RAY_VERSION from images/ray, built and imported into the package's running real node."""
    built = recipes.build_ray(recipes.plan_ray(ROCKSDB_RAY_VERSION), lambda message: print(message, flush=True))
    import_built_images()
    return image_store.short(built.names[0])


@pytest.fixture(scope="module")
def operator(rocksdb_ray_image: str, real_kubeconfig: Path, real_crds: None,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(real_kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system",
                                extra=("--feature-gates=GCSFaultToleranceEmbeddedStorage=true",))


def _sample(reference: Path, image: str) -> str:
    """The sample as published, with CPU/memory requests that fit two vCPUs and the RocksDB-capable image."""
    docs = [d for d in yaml.safe_load_all((reference / "v1.7.0" / "samples" / SAMPLE).read_text()) if d]
    cluster = next(d for d in docs if d["kind"] == "RayCluster")
    assert cluster["spec"]["gcsFaultToleranceOptions"]["backend"] == "rocksdb"
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    worker_group = cluster["spec"]["workerGroupSpecs"][0]
    worker = worker_group["template"]["spec"]["containers"][0]
    for container, limit in ((head, "3Gi"), (worker, "2Gi")):
        container["image"] = image
        container["resources"] = {"requests": {"cpu": "300m", "memory": "1Gi"}, "limits": {"memory": limit}}
    worker_group["rayStartParams"] = {"num-cpus": "1"}
    cluster["spec"]["rayVersion"] = image.rpartition(":")[2]
    return yaml.safe_dump_all(docs)


def test_head_loss_is_survived_through_rocksdb_on_a_local_volume(
    rocksdb_ray_image: str, real_cluster: LocalCluster, real_kubeconfig: Path, ns: str, operator: OperatorProcess,
    kuberay_reference: Path,
) -> None:
    kc = real_kubeconfig
    provisioner_log = real_cluster.state_dir / "logs" / "storage-provisioner.log"

    def waited(probe: Callable[[], T | None], what: str, timeout: float = 400) -> T:
        try:
            return eventually(probe, timeout=timeout, what=what)
        except AssertionError as err:
            objects = kubectl(kc, "get", "raycluster,pods,pvc,pv", "-n", ns, "-o", "wide", check=False).stdout
            events = kubectl(kc, "get", "events", "-n", ns, "--sort-by=.lastTimestamp", check=False).stdout
            tail = "\n".join(provisioner_log.read_text().splitlines()[-20:]) if provisioner_log.exists() else ""
            raise AssertionError(f"{err}\n{objects}\n{events}\n--- provisioner\n{tail}\n"
                                 f"--- operator\n{operator.log_tail()}") from None

    def cluster_state() -> str:
        return str(((get(kc, ns, "raycluster", NAME) or {}).get("status") or {}).get("state", ""))

    started = time.monotonic()
    kubectl(kc, "apply", "-n", ns, "-f", "-", input=_sample(kuberay_reference, rocksdb_ray_image))
    waited(lambda: cluster_state() == "ready", "RayCluster ready")
    print(f"GCS FT (RocksDB): cluster ready {time.monotonic() - started:.1f}s after apply (volume provisioned)")

    # The operator's claim, without a class, got the default one and a directory on the node.
    claim = get(kc, ns, "pvc", CLAIM)
    assert claim is not None and claim["status"]["phase"] == "Bound"
    assert claim["spec"]["storageClassName"] == "standard"
    volume = get(kc, "", "pv", claim["spec"]["volumeName"])
    assert volume is not None and volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    volume_name, directory = volume["metadata"]["name"], Path(volume["spec"]["hostPath"]["path"])
    assert directory.parent == real_cluster.state_dir / "node" / "volumes"
    reasons = kubectl(kc, "get", "events", "-n", ns, "--field-selector", f"involvedObject.name={CLAIM}",
                      "-o", "jsonpath={range .items[*]}{.reason}{'\\n'}{end}").stdout.split()
    assert "ProvisioningSucceeded" in reasons

    head = pods(kc, ns, HEAD)[0]
    assert [v["persistentVolumeClaim"]["claimName"] for v in head["spec"]["volumes"]
            if "persistentVolumeClaim" in v] == [CLAIM]
    workers_before = {p["metadata"]["uid"] for p in pods(kc, ns, WORKERS)}
    assert len(workers_before) == 1

    def python(pod: dict[str, Any], code: str) -> str | None:
        out = kubectl(kc, "exec", "-n", ns, pod["metadata"]["name"], "--", "python", "-c", code, check=False)
        return out.stdout if out.returncode == 0 else None

    stored = waited(lambda: python(head, CREATE_ACTOR), "detached actor created", timeout=180)
    assert "stored kept-through-head-loss" in stored
    # RocksDB keeps its database on the volume: its CURRENT file names the live manifest.
    assert any(p.name == "CURRENT" for p in directory.rglob("*")), f"no RocksDB files in {directory}"

    started = time.monotonic()
    kubectl(kc, "delete", "pod", "-n", ns, head["metadata"]["name"], "--wait=false")

    def recovered() -> dict[str, Any] | None:
        heads = [p for p in pods(kc, ns, HEAD) if p["metadata"]["uid"] != head["metadata"]["uid"]]
        if heads and ready(heads[0]) and cluster_state() == "ready":
            return heads[0]
        return None

    new_head = waited(recovered, "a new head Ready and the cluster ready")
    recovery = time.monotonic() - started
    print(f"GCS FT (RocksDB): head recovered in {recovery:.1f}s (head deleted -> new head Ready, cluster ready)")

    answer = waited(lambda: python(new_head, READ_ACTOR), "the detached actor answering after the head restart",
                    timeout=180)
    assert "value kept-through-head-loss" in answer
    workers_after = pods(kc, ns, WORKERS)
    assert {p["metadata"]["uid"] for p in workers_after} == workers_before, "the worker pod was replaced"
    restarts = [s.get("restartCount", 0) for p in workers_after for s in p["status"]["containerStatuses"]]
    assert restarts == [0] * len(restarts), "a worker container restarted"

    # Deleting the cluster takes its claim (owned by it); the provisioner then deletes the volume and its data.
    kubectl(kc, "delete", "raycluster", NAME, "-n", ns, "--wait=false")
    waited(lambda: get(kc, ns, "pvc", CLAIM) is None, "the GCS claim deleted with the cluster", timeout=300)
    waited(lambda: get(kc, "", "pv", volume_name) is None and not directory.exists(),
           "the volume and its directory deleted", timeout=120)
