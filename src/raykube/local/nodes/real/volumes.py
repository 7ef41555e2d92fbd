"""Local volumes for the real node: a default StorageClass and what to provision or delete, as pure plans.

A KubeRay user's local cluster (kind, k3s, minikube) has a default StorageClass backed by directories on the
node, so a PersistentVolumeClaim without a class (KubeRay's `<cluster>-gcs-pvc` for the embedded RocksDB GCS
backend, a user's claim) binds. The real node does the same: StorageClass `standard` (kind's name), marked
default, `WaitForFirstConsumer`, reclaim policy `Delete`. `provisioner` runs the loop; this module decides:

* a pending claim of one of our classes (once the scheduler picked our node, or at once for `Immediate`)
  gets a hostPath PersistentVolume `pvc-<claim uid>` bound to it (`claimRef`) and to the node
  (`nodeAffinity`), on a directory under the node's state directory;
* a volume we made whose claim is gone (`Released`) with reclaim policy `Delete` loses its directory and
  then its PersistentVolume; `Retain` keeps both, as Kubernetes documents.

Capacity is not enforced (a directory has no size), as with kind's and k3s's local-path volumes. Every access
mode is accepted: there is one node, so every pod using a volume runs beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from raykube.local.nodes.real.plan import NODE_NAME

PROVISIONER: Final = "local.raykube.dev/hostpath"
STORAGE_CLASS: Final = "standard"
DEFAULT_CLASS_ANNOTATION: Final = "storageclass.kubernetes.io/is-default-class"
PROVISIONED_BY: Final = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE: Final = "volume.kubernetes.io/selected-node"
HOSTNAME_LABEL: Final = "kubernetes.io/hostname"
# The provisioner's user (client certificate) and what RBAC lets it do.
USER: Final = "system:raykube-storage-provisioner"

K8sObject = dict[str, Any]


def storage_class() -> K8sObject:
    """The node's default StorageClass (created with the node's other API objects)."""
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        # As kind and k3s: a volume is made once a pod needs it, on the node the scheduler chose.
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def rbac_objects() -> list[tuple[str, K8sObject]]:
    """(collection path, object): what the provisioner may read and change, and no more."""
    return [
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": USER},
            "rules": [
                {"apiGroups": [""], "resources": ["persistentvolumes"],
                 "verbs": ["get", "list", "watch", "create", "delete"]},
                {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            ],
        }),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": USER},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": USER},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}],
        }),
    ]


def volume_name(claim: K8sObject) -> str:
    """`pvc-<claim uid>`, the name external provisioners give: one volume per claim, found again by name."""
    return f"pvc-{claim['metadata']['uid']}"


def volume_dir(root: Path, claim: K8sObject) -> Path:
    """`<root>/pvc-<uid>_<namespace>_<claim>`: unique, and says whose data it holds to someone looking."""
    meta = claim["metadata"]
    return root / f"{volume_name(claim)}_{meta['namespace']}_{meta['name']}"


def build_volume(claim: K8sObject, storage_class: K8sObject, root: Path, node: str = NODE_NAME) -> K8sObject:
    """The hostPath PersistentVolume for `claim`, pre-bound to it and pinned to `node`."""
    meta, spec = claim["metadata"], claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": volume_name(claim), "annotations": {PROVISIONED_BY: PROVISIONER}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
            "storageClassName": storage_class["metadata"]["name"],
            "volumeMode": "Filesystem",
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                         "name": meta["name"], "uid": meta["uid"]},
            "hostPath": {"path": str(volume_dir(root, claim)), "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]}},
        },
    }


@dataclass(frozen=True)
class Refusal:
    """A claim of our class that we cannot serve, and why (a Warning Event on the claim)."""

    claim: K8sObject
    message: str


@dataclass
class VolumePlan:
    """One pass: volumes to create (with their directories), volumes to delete, claims refused."""

    create: list[K8sObject] = field(default_factory=list)
    delete: list[K8sObject] = field(default_factory=list)
    refuse: list[Refusal] = field(default_factory=list)


def _ours(storage_class: K8sObject | None) -> bool:
    return storage_class is not None and storage_class.get("provisioner") == PROVISIONER


def _waiting_for_us(claim: K8sObject, storage_class: K8sObject, node: str) -> bool:
    """Pending and unbound; for `WaitForFirstConsumer`, the scheduler has put its first pod on our node."""
    spec, status = claim.get("spec") or {}, claim.get("status") or {}
    if spec.get("volumeName") or status.get("phase", "Pending") != "Pending":
        return False
    if claim["metadata"].get("deletionTimestamp"):
        return False
    if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer":
        return (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE) == node
    return True


def deletable_dir(volume: K8sObject, root: Path) -> Path | None:
    """The directory of a volume we made, if it lies directly under `root` (never anything else)."""
    path = ((volume.get("spec") or {}).get("hostPath") or {}).get("path")
    if not path:
        return None
    candidate = Path(path)
    return candidate if candidate.parent == root and ".." not in candidate.parts else None


def plan(claims: list[K8sObject], volumes: list[K8sObject], classes: list[K8sObject], root: Path,
         node: str = NODE_NAME) -> VolumePlan:
    """What to do now, from the claims, volumes and StorageClasses as listed."""
    by_class = {c["metadata"]["name"]: c for c in classes}
    existing = {v["metadata"]["name"] for v in volumes}
    result = VolumePlan()
    for claim in claims:
        storage_class = by_class.get((claim.get("spec") or {}).get("storageClassName") or "")
        if storage_class is None or not _ours(storage_class) or not _waiting_for_us(claim, storage_class, node):
            continue
        if volume_name(claim) in existing:
            continue  # made in an earlier pass; the PV controller binds it
        if (claim.get("spec") or {}).get("volumeMode") == "Block":
            result.refuse.append(Refusal(claim, f"{PROVISIONER} provides directories only: volumeMode Block "
                                                "is not supported"))
            continue
        result.create.append(build_volume(claim, storage_class, root, node))
    for volume in volumes:
        meta, spec = volume["metadata"], volume.get("spec") or {}
        if (meta.get("annotations") or {}).get(PROVISIONED_BY) != PROVISIONER or meta.get("deletionTimestamp"):
            continue
        released = (volume.get("status") or {}).get("phase") == "Released"
        if released and spec.get("persistentVolumeReclaimPolicy") == "Delete":
            result.delete.append(volume)
    return result
