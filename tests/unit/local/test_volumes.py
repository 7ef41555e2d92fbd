"""The real node's volume plans: which claims get a hostPath volume, which volumes go, and what they look like."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, cast

from raykube.local.controlplane.api import LocalApi
from raykube.local.nodes.real import configs, volumes
from raykube.local.nodes.real.plan import NODE_NAME
from raykube.local.nodes.real.provisioner import Provisioner

ROOT = Path("/state/node/volumes")


def _claim(name: str = "demo-gcs-pvc", uid: str = "u1", *, class_name: str | None = "standard",
           selected: str | None = NODE_NAME, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ml", "uid": uid}
    if selected:
        meta["annotations"] = {volumes.SELECTED_NODE: selected}
    body_spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                                 **spec}
    if class_name:
        body_spec["storageClassName"] = class_name
    return {"metadata": meta, "spec": body_spec, "status": {"phase": "Pending"}}


def _released(volume: dict[str, Any], policy: str = "Delete") -> dict[str, Any]:
    volume["spec"]["persistentVolumeReclaimPolicy"] = policy
    volume["status"] = {"phase": "Released"}
    return volume


CLASS = volumes.storage_class()


def test_the_default_class_is_kinds_standard_made_when_a_pod_needs_it() -> None:
    assert CLASS["metadata"]["name"] == "standard"
    assert CLASS["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert (CLASS["provisioner"], CLASS["reclaimPolicy"], CLASS["volumeBindingMode"]) == (
        volumes.PROVISIONER, "Delete", "WaitForFirstConsumer")
    paths = [path for path, _ in configs.cluster_objects()]
    assert "/apis/storage.k8s.io/v1/storageclasses" in paths


def test_a_claim_placed_on_our_node_gets_a_hostpath_volume_bound_to_it_and_to_the_node() -> None:
    claim = _claim(accessModes=["ReadWriteOnce"], resources={"requests": {"storage": "5Gi"}})
    todo = volumes.plan([claim], [], [CLASS], ROOT)
    assert len(todo.create) == 1 and not todo.delete and not todo.refuse
    volume = todo.create[0]
    assert volume["metadata"]["name"] == "pvc-u1"
    assert volume["metadata"]["annotations"] == {volumes.PROVISIONED_BY: volumes.PROVISIONER}
    spec = volume["spec"]
    assert spec["claimRef"] == {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": "ml",
                                "name": "demo-gcs-pvc", "uid": "u1"}
    assert spec["hostPath"] == {"path": str(ROOT / "pvc-u1_ml_demo-gcs-pvc"), "type": "DirectoryOrCreate"}
    assert (spec["capacity"], spec["accessModes"], spec["storageClassName"]) == (
        {"storage": "5Gi"}, ["ReadWriteOnce"], "standard")
    assert spec["persistentVolumeReclaimPolicy"] == "Delete"
    term = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert term == {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_NAME]}


def test_a_waiting_claim_is_left_until_the_scheduler_picks_our_node() -> None:
    assert volumes.plan([_claim(selected=None)], [], [CLASS], ROOT).create == []
    assert volumes.plan([_claim(selected="other-node")], [], [CLASS], ROOT).create == []


def test_an_immediate_class_of_ours_provisions_without_a_pod() -> None:
    immediate = {**CLASS, "metadata": {"name": "fast"}, "volumeBindingMode": "Immediate", "reclaimPolicy": "Retain"}
    todo = volumes.plan([_claim(class_name="fast", selected=None)], [], [CLASS, immediate], ROOT)
    assert [v["spec"]["storageClassName"] for v in todo.create] == ["fast"]
    assert todo.create[0]["spec"]["persistentVolumeReclaimPolicy"] == "Retain"


def test_claims_that_are_not_ours_or_not_pending_are_left_alone() -> None:
    other = {"metadata": {"name": "ssd"}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "Immediate"}
    bound = _claim(uid="b", volumeName="pvc-b")
    bound["status"] = {"phase": "Bound"}
    deleting = _claim(uid="d")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    claims = [_claim(uid="s", class_name="ssd"), _claim(uid="n", class_name=None),
              _claim(uid="m", class_name="missing"), bound, deleting]
    assert volumes.plan(claims, [], [CLASS, other], ROOT).create == []


def test_a_volume_made_in_an_earlier_pass_is_not_made_again() -> None:
    claim = _claim()
    made = volumes.build_volume(claim, CLASS, ROOT)
    assert volumes.plan([claim], [made], [CLASS], ROOT).create == []


def test_block_volumes_are_refused_with_a_reason() -> None:
    todo = volumes.plan([_claim(volumeMode="Block")], [], [CLASS], ROOT)
    assert todo.create == [] and len(todo.refuse) == 1
    assert "volumeMode Block is not supported" in todo.refuse[0].message


def test_only_our_released_volumes_with_policy_delete_are_deleted() -> None:
    ours = _released(volumes.build_volume(_claim(uid="a"), CLASS, ROOT))
    kept = _released(volumes.build_volume(_claim(uid="b"), CLASS, ROOT), policy="Retain")
    bound = volumes.build_volume(_claim(uid="c"), CLASS, ROOT)
    bound["status"] = {"phase": "Bound"}
    foreign = _released(volumes.build_volume(_claim(uid="d"), CLASS, ROOT))
    foreign["metadata"]["annotations"] = {volumes.PROVISIONED_BY: "someone.else/hostpath"}
    todo = volumes.plan([], [ours, kept, bound, foreign], [CLASS], ROOT)
    assert [v["metadata"]["name"] for v in todo.delete] == ["pvc-a"]


def test_only_a_directory_directly_under_the_root_is_ever_removed() -> None:
    volume = volumes.build_volume(_claim(), CLASS, ROOT)
    assert volumes.deletable_dir(volume, ROOT) == ROOT / "pvc-u1_ml_demo-gcs-pvc"
    for path in ("/", "/state", str(ROOT), str(ROOT / "a" / "b"), str(ROOT / ".." / "x")):
        volume["spec"]["hostPath"]["path"] = path
        assert volumes.deletable_dir(volume, ROOT) is None, path
    del volume["spec"]["hostPath"]
    assert volumes.deletable_dir(volume, ROOT) is None


def test_the_provisioner_may_touch_volumes_but_only_read_claims() -> None:
    role = next(body for path, body in volumes.rbac_objects() if body["kind"] == "ClusterRole")
    verbs = {resource: rule["verbs"] for rule in role["rules"] for resource in rule["resources"]}
    assert set(verbs["persistentvolumes"]) >= {"create", "delete"}
    assert set(verbs["persistentvolumeclaims"]) == {"get", "list", "watch"}


class FakeApi:
    """The three calls the provisioner makes, against dicts."""

    def __init__(self, claims: list[dict[str, Any]]) -> None:
        self.lists: dict[str, list[dict[str, Any]]] = {
            "/api/v1/persistentvolumeclaims": claims, "/api/v1/persistentvolumes": [],
            "/apis/storage.k8s.io/v1/storageclasses": [CLASS]}
        self.events: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def items(self, path: str) -> list[dict[str, Any]]:
        return self.lists[path]

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        (self.events if path.endswith("/events") else self.lists[path]).append(body)
        return body

    def delete(self, path: str) -> bool:
        self.deleted.append(path)
        return True


def test_the_provisioner_makes_a_writable_directory_then_removes_it_with_its_volume(tmp_path: Path) -> None:
    api = FakeApi([_claim(), _claim(name="raw", uid="r", volumeMode="Block")])
    provisioner = Provisioner(cast(LocalApi, api), tmp_path)
    provisioner.sync()
    [volume] = api.lists["/api/v1/persistentvolumes"]
    directory = Path(volume["spec"]["hostPath"]["path"])
    assert directory.parent == tmp_path and directory.is_dir()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o777  # Ray's uid 1000 writes there
    reasons = [(e["reason"], e["involvedObject"]["name"]) for e in api.events]
    assert reasons == [("ProvisioningSucceeded", "demo-gcs-pvc"), ("ProvisioningFailed", "raw")]

    provisioner.sync()  # nothing new: no second volume, no second refusal Event
    assert len(api.lists["/api/v1/persistentvolumes"]) == 1 and len(api.events) == 2

    (directory / "data").write_text("rocksdb")
    _released(volume)
    provisioner.sync()
    assert api.deleted == ["/api/v1/persistentvolumes/pvc-u1"] and not directory.exists()
