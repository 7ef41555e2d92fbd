"""One sample's namespace, as read from the API server, turned into a snapshot two operators can share.

What differs between two runs of the same operator is taken out: the namespace, uids, resourceVersions,
times, IP addresses, the random suffixes of generated names (pods, a RayJob's or RayService's RayCluster, a
RayJob's job id, a RayCronJob's RayJobs), scheduling (node names) and what the API server assigns (cluster
IPs, node ports). Secret values are replaced by a marker (the auth token is random); their keys stay.

A snapshot is ``{"objects": {key: object}, "events": {key: [message, ...]}}``, keys ``Kind/name`` with
normalised names (``#1``, ``#2``, ... when several objects normalise to the same name, e.g. the pods of one
group). Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from bench.conformance.samples import RAY_KINDS

#: The kinds recorded when the operator created them (the ray.io objects of the sample are recorded too).
RECORDED_KINDS = ("Pod", "Service", "Job", "Secret", "ServiceAccount", "Role", "RoleBinding", "Ingress",
                  "PersistentVolumeClaim", *RAY_KINDS)
#: Owners whose children come from Kubernetes' own controllers (a sample's Redis Deployment, ...), not the
#: operator's.
FOREIGN_OWNERS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")

RAND = "<rand>"
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d| [+-]\d{4} UTC)?")
#: Names the API server generates for every pod (the projected service-account token volume).
TOKEN_VOLUME = re.compile(r"\bkube-api-access-[a-z0-9]{5}\b")
REPLICA_NAME_LABEL = "ray.io/worker-group-replica-name"
UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
IP = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")
DROPPED_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                    "namespace", "deletionGracePeriodSeconds")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _owner(obj: dict[str, Any]) -> tuple[str, str] | None:
    """The controlling owner's (kind, name), else the first owner's, else None."""
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    return (ref["kind"], ref["name"]) if ref else None


def _created(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("creationTimestamp", ""))


def name_map(objects: list[dict[str, Any]], namespace: str) -> dict[str, str]:
    """Generated name (or generated value) -> stable placeholder, for every random part in this namespace."""
    names: dict[str, str] = {namespace: "<ns>"}
    by_owner: dict[tuple[str, str], int] = {}
    for obj in sorted(objects, key=_created):
        kind, meta = obj.get("kind"), obj.get("metadata", {})
        owner = _owner(obj)
        if kind in ("RayCluster", "RayJob") and owner and owner[0] in ("RayJob", "RayService", "RayCronJob"):
            count = by_owner[owner] = by_owner.get(owner, 0) + 1
            names[meta["name"]] = f"{owner[1]}-{RAND}{count if count > 1 else ''}"
        if kind == "Pod" and meta.get("generateName"):
            names[meta["name"]] = f"{meta['generateName']}{RAND}"
        job_id = (obj.get("status") or {}).get("jobId")
        if kind == "RayJob" and job_id and job_id != (obj.get("spec") or {}).get("jobId"):
            names[job_id] = f"<jobid:{meta['name']}>"
    return names


class Normaliser:
    """Rewrites every string of a namespace's objects with one name map (longest names first)."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = sorted(names.items(), key=lambda item: -len(item[0]))

    def text(self, value: str) -> str:
        for raw, placeholder in self._names:
            if raw in value:
                value = value.replace(raw, placeholder)
        value = TIME.sub("<time>", value)
        value = UID.sub("<uid>", value)
        return IP.sub("<ip>", value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _metadata(meta: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in meta.items() if k not in DROPPED_METADATA}
    annotations = {k: v for k, v in (kept.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        kept["annotations"] = annotations
    else:
        kept.pop("annotations", None)
    if kept.get("ownerReferences"):
        kept["ownerReferences"] = [{k: v for k, v in r.items() if k != "uid"} for r in kept["ownerReferences"]]
    return kept


def _strip_kind(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Drop what the API server, the scheduler or the fake kubelet decide (same for both operators)."""
    spec, status = dict(obj.get("spec") or {}), obj.get("status") or {}
    if kind == "Pod":
        spec.pop("nodeName", None)
        return {**obj, "spec": spec, "status": {"phase": status.get("phase")}}
    if kind == "Service":
        for key in ("clusterIP", "clusterIPs", "healthCheckNodePort"):
            spec.pop(key, None)
        spec["ports"] = [{k: v for k, v in p.items() if k != "nodePort"} for p in spec.get("ports") or []]
        return {k: v for k, v in {**obj, "spec": spec}.items() if k != "status"}
    if kind == "Secret":
        data = {k: "<data>" for k in sorted({*(obj.get("data") or {}), *(obj.get("stringData") or {})})}
        return {**{k: v for k, v in obj.items() if k not in ("data", "stringData")}, "data": data}
    if kind in ("Job", "Ingress"):
        return {k: v for k, v in obj.items() if k != "status"}
    if kind == "PersistentVolumeClaim":
        spec.pop("volumeName", None)
        return {**obj, "spec": spec, "status": {"phase": status.get("phase")}}
    return obj


def _recorded(obj: dict[str, Any], applied: set[tuple[str, str]], by_uid: dict[str, dict[str, Any]]) -> bool:
    """Whether ``obj`` is the operator's doing (or a ray.io object of the sample, for its status)."""
    kind, name = obj.get("kind", ""), obj.get("metadata", {}).get("name", "")
    if kind in RAY_KINDS:
        return True
    if kind not in RECORDED_KINDS or (kind, name) in applied:
        return False
    if kind == "ServiceAccount" and name == "default":
        return False
    seen: set[str] = set()
    current: dict[str, Any] | None = obj
    while current is not None:  # walk the owner chain: a Deployment's pods are not the operator's
        refs = current.get("metadata", {}).get("ownerReferences") or []
        if any(r.get("kind") in FOREIGN_OWNERS for r in refs):
            return False
        uid = next((r.get("uid") for r in refs if r.get("uid") not in seen), None)
        seen.add(uid or "")
        current = by_uid.get(uid or "")
    return True


def _shape(obj: dict[str, Any], applied: set[tuple[str, str]]) -> dict[str, Any]:
    kind, name = obj["kind"], obj["metadata"]["name"]
    if kind in RAY_KINDS and (kind, name) in applied:
        # The user's own object: only what the operator adds (status, finalizers, labels it sets).
        meta = _metadata(obj["metadata"])
        kept_meta = {k: meta[k] for k in ("name", "finalizers") if k in meta}
        return {"kind": kind, "metadata": kept_meta, "status": obj.get("status") or {}}
    shaped = {k: v for k, v in obj.items() if k != "apiVersion"}
    shaped["metadata"] = _metadata(obj["metadata"])
    return _strip_kind(kind, shaped)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _event_line(event: dict[str, Any]) -> tuple[str, str] | None:
    """(``Kind/name reason``, ``Type: message``) of an Event about a ray.io object, else None."""
    involved = event.get("involvedObject") or event.get("regarding") or {}
    if not str(involved.get("apiVersion", "")).startswith("ray.io/"):
        return None
    message = event.get("message") or event.get("note") or ""
    return f"{involved.get('kind')}/{involved.get('name')} {event.get('reason')}", f"{event.get('type')}: {message}"


def snapshot(objects: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]], *, namespace: str,
             applied: set[tuple[str, str]]) -> dict[str, Any]:
    """One namespace (objects of every kind, and its Events) -> the normalised snapshot."""
    items = list(objects)
    by_uid = {o["metadata"]["uid"]: o for o in items if o.get("metadata", {}).get("uid")}
    norm = Normaliser(name_map(items, namespace))
    shaped = [norm.value(_shape(o, applied)) for o in items if _recorded(o, applied, by_uid)]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for obj in shaped:
        grouped.setdefault(f"{obj['kind']}/{obj['metadata'].get('name', '')}", []).append(obj)
    result = _numbered(grouped)
    lines: dict[str, set[str]] = {}
    for event in events:
        line = _event_line(event)
        if line is not None:
            lines.setdefault(norm.text(line[0]), set()).add(norm.text(line[1]))
    return renormalise({"objects": result, "events": {k: sorted(v) for k, v in sorted(lines.items())}})


def _replica_names(objects: Iterable[dict[str, Any]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for obj in objects:
        replica = ((obj.get("metadata") or {}).get("labels") or {}).get(REPLICA_NAME_LABEL)
        if obj.get("kind") == "Pod" and replica and "-" in replica:
            names[replica] = f"{replica.rsplit('-', 1)[0]}-{RAND}"
    return names


#: The generated name of a RayJob's RayCluster (``<rayjob>-<5 random>``, the RayJob's name possibly truncated).
GENERATED_CLUSTER = re.compile(r"^[a-z0-9.-]+-[a-z0-9]{5}$")


CREATED_CLUSTER = re.compile(r"^Normal: Created RayCluster [^/]+/([a-z0-9.-]+)$")
#: A node port the API server picked (the default NodePort range), as RayCluster ``status.endpoints`` shows it.
NODE_PORT = re.compile(r"^3[0-2]\d{3}$")
#: client-go's event aggregator prefixes the message of Events it folded together.
COMBINED = "(combined from similar events): "


def _deleted_job_clusters(snap: dict[str, Any]) -> dict[re.Pattern[str], str]:
    """A RayJob's generated RayCluster deleted before the snapshot (``shutdownAfterJobFinishes``, deletion
    rules; the RayJob itself may be gone too) is not in the name map: its name and its pods' names, as the
    RayJob's status and the Events still show them -> the placeholders :func:`name_map` gives a cluster it saw."""
    objects = snap.get("objects", {})
    found: dict[str, str] = {}  # cluster name -> RayJob name
    for key, obj in objects.items():
        if key.startswith("RayJob/"):
            found[str(((obj.get("status") or {}).get("rayClusterName")) or "")] = obj["metadata"]["name"]
    for key, messages in snap.get("events", {}).items():
        if key.startswith("RayJob/") and key.endswith(" CreatedRayCluster"):
            for message in messages:
                match = CREATED_CLUSTER.match(message)
                if match:
                    found[match.group(1)] = key.split(" ", 1)[0].split("/", 1)[1]
    names: dict[re.Pattern[str], str] = {}
    for cluster, job in found.items():
        if not GENERATED_CLUSTER.match(cluster) or f"RayCluster/{cluster}" in objects:
            continue
        placeholder = f"{job}-{RAND}"
        pods = re.compile(rf"\b{re.escape(cluster)}(-head|-[a-z0-9.-]+-worker)-[a-z0-9]{{5}}\b")
        names[pods] = rf"{placeholder}\1-{RAND}"
        names[re.compile(rf"\b{re.escape(cluster)}\b")] = placeholder
    return names


def _node_ports(obj: Any) -> Any:
    """RayCluster ``status.endpoints`` of a NodePort head Service: the API server's port choice."""
    if not isinstance(obj, dict) or obj.get("kind") != "RayCluster":
        return obj
    endpoints = (obj.get("status") or {}).get("endpoints")
    if not isinstance(endpoints, dict):
        return obj
    endpoints = {k: "<nodeport>" if isinstance(v, str) and NODE_PORT.match(v) else v for k, v in endpoints.items()}
    return {**obj, "status": {**obj["status"], "endpoints": endpoints}}


#: Where KubeRay writes a Go struct that is empty (a non-pointer struct is never omitted by ``omitempty``) and
#: raykube writes nothing: (kind, path, the empty value). Same meaning to the API and to both operators; the
#: field is dropped from KubeRay's side only when it holds exactly that empty value. ``*`` is every list item.
#: Go's empty ``RayClusterStatus`` (its Quantities are never omitted, ``head`` is a struct).
EMPTY_CLUSTER_STATUS = {"desiredCPU": "0", "desiredGPU": "0", "desiredMemory": "0", "desiredTPU": "0", "head": {}}
EMPTY_STRUCTS: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    ("RayCluster", ("spec", "headGroupSpec", "template", "metadata"), {}),
    ("RayCluster", ("spec", "workerGroupSpecs", "*", "template", "metadata"), {}),
    ("RayCluster", ("spec", "workerGroupSpecs", "*", "scaleStrategy"), {}),
    ("RayCluster", ("spec", "headGroupSpec", "headService", "spec"), {}),
    ("RayCluster", ("spec", "headGroupSpec", "headService", "status"), {"loadBalancer": {}}),
    ("RayJob", ("status", "rayJobInfo"), {}),
    ("RayJob", ("status", "rayClusterStatus"), EMPTY_CLUSTER_STATUS),
    ("RayService", ("status", "activeServiceStatus"), {"rayClusterStatus": EMPTY_CLUSTER_STATUS}),
)

#: A pod create refused because the pod's ServiceAccount does not exist yet: the sample applies that
#: ServiceAccount together with the cluster, so whether the operator's first attempt comes before it is run timing.
MISSING_ACCOUNT = re.compile(r'is forbidden: error looking up service account [^ ]+: serviceaccount "[^"]+" not found$')
#: A failed create's Event reason -> the reason of the same create succeeding.
CREATE_RETRIED = {"FailedToCreateHeadPod": "CreatedHeadPod", "FailedToCreateWorkerPod": "CreatedWorkerPod"}


def _without_transient_account_failures(events: dict[str, list[str]]) -> dict[str, list[str]]:
    """Events without the pod-create failures for a missing ServiceAccount that a later create of the same
    cluster's pods (``Created*Pod``) shows to have been transient (the ServiceAccount came after the first try).
    A ServiceAccount that never comes keeps its Warning."""
    kept: dict[str, list[str]] = {}
    for key, messages in events.items():
        where, _, reason = key.rpartition(" ")
        if reason in CREATE_RETRIED and events.get(f"{where} {CREATE_RETRIED[reason]}"):
            messages = [m for m in messages if not MISSING_ACCOUNT.search(m)]
        if messages:
            kept[key] = messages
    return kept


def _drop_empty(value: Any, path: tuple[str, ...], empty: Any) -> Any:
    """``value`` without the field at ``path`` when that field equals ``empty`` (a copy; ``value`` untouched)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == "*":
        return [_drop_empty(item, rest, empty) for item in value] if isinstance(value, list) else value
    if not isinstance(value, dict) or head not in value:
        return value
    if not rest:
        return {k: v for k, v in value.items() if not (k == head and v == empty)}
    return {**value, head: _drop_empty(value[head], rest, empty)}


def _without_empty_structs(obj: Any) -> Any:
    for kind, path, empty in EMPTY_STRUCTS:
        if isinstance(obj, dict) and obj.get("kind") == kind:
            obj = _drop_empty(obj, path, empty)
    return obj


def _numbered(grouped: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Objects by key; several under one key get ``#1``, ``#2``, ... in a stable order."""
    objects: dict[str, Any] = {}
    for key, group in sorted(grouped.items()):
        if len(group) == 1:
            objects[key] = group[0]
            continue
        for index, obj in enumerate(sorted(group, key=_canonical), start=1):
            objects[f"{key}#{index}"] = obj
    return objects


def renormalise(snap: dict[str, Any]) -> dict[str, Any]:
    """The rules added after golden files were first written, applied to a finished snapshot (idempotent, so
    :func:`snapshot` ends with it and older golden files can be brought up to date): the projected token
    volume's generated name, multi-host replica names (``<group>-<random>``), times written with a space, the
    generated names of RayJob clusters deleted before the snapshot, node ports in RayCluster endpoints, client-go's
    "(combined from similar events)" prefix, the empty structs Go writes where
    raykube writes nothing (:data:`EMPTY_STRUCTS`), and pod-create failures for a ServiceAccount the sample applies
    with the cluster once a later create succeeded (:func:`_without_transient_account_failures`)."""
    names = _replica_names(snap.get("objects", {}).values())
    clusters = _deleted_job_clusters(snap)

    def text(value: str) -> str:
        for raw, placeholder in names.items():
            value = value.replace(raw, placeholder)
        for pattern, replacement in clusters.items():
            value = pattern.sub(replacement, value)
        return TIME.sub("<time>", TOKEN_VOLUME.sub("kube-api-access-<rand>", value))

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, dict):
            return {text(k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, obj in snap.get("objects", {}).items():
        grouped.setdefault(text(key.split("#", 1)[0]), []).append(_node_ports(_without_empty_structs(walk(obj))))
    objects = _numbered(grouped)
    events: dict[str, set[str]] = {}
    for key, messages in snap.get("events", {}).items():
        events.setdefault(text(key), set()).update(text(m.replace(COMBINED, "")) for m in messages)
    return {"objects": objects,
            "events": _without_transient_account_failures({k: sorted(v) for k, v in sorted(events.items())})}
