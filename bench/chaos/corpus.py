"""The bad-manifest corpus of the chaos suite: generated from the CRD schemas, plus hand-written edge cases.

Pure: CRD documents in, manifests out. For every field the schema declares (down to a few levels below
``spec``; the embedded Kubernetes types such as pod templates are only given a wrong type, they are the
API server's to check), a small valid manifest of the kind is mutated once per mutation its type allows:

* every type: a value of the wrong JSON type;
* integers: -1, 2^31 (past int32), 2^63-1;
* strings: 100 KiB of text, and for fields with a closed set of values an unknown one;
* objects and arrays required by their parent: removed;
* arrays: empty.

Each :class:`Case` names its kind, the field path and the mutation, so the report can say which answer each
class of mistake got.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

Doc = dict[str, Any]

HUGE_STRING: Final = "x" * (100 * 1024)
INT32_OVERFLOW: Final = 2**31
INT64_MAX: Final = 2**63 - 1

#: Subtrees that are Kubernetes' own types (or a whole cluster spec, mutated through RayCluster already):
#: given a wrong type only.
OPAQUE: Final = frozenset({
    "template", "submitterPodTemplate", "headService", "serveService", "rayClusterSpec", "rayClusterConfig",
    "metadata", "affinity", "volumeMounts", "env", "envFrom", "securityContext", "resources", "volumes",
    "tolerations", "nodeSelector", "ingressRules", "egressRules", "containers", "podSelector",
    "collectorOptions", "condition",
})
MAX_DEPTH: Final = 4

#: String fields with a closed set of values (KubeRay checks them in Go, the CRDs declare no enum).
CLOSED_STRINGS: Final = frozenset({
    "mode", "backend", "serviceType", "pathType", "deletionPolicy", "upscalingMode", "imagePullPolicy",
    "version", "type", "submissionMode", "policy", "managedBy", "timeZone", "schedule", "rayVersion",
})


@dataclass(frozen=True)
class Case:
    """One manifest of the corpus."""

    id: str
    kind: str
    path: str  # the mutated field ("metadata.name" for names)
    mutation: str  # wrong-type, negative, int32-overflow, int64-max, huge-string, unknown-value, ...
    manifest: Doc
    origin: str = "schema"  # or "hand-written"


def _container(name: str) -> Doc:
    return {"name": name, "image": "rayproject/ray:2.46.0", "resources": {"requests": {"cpu": "10m"}}}


def cluster_spec() -> Doc:
    """A small valid RayCluster spec: a head and one worker group of 0 replicas (one pod per cluster)."""
    return {
        "rayVersion": "2.46.0",
        "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [_container("ray-head")]}}},
        "workerGroupSpecs": [{"groupName": "w", "replicas": 0, "minReplicas": 0, "maxReplicas": 2,
                              "rayStartParams": {}, "template": {"spec": {"containers": [_container("ray")]}}}],
    }


def job_spec() -> Doc:
    return {"entrypoint": "python -c 'print(1)'", "shutdownAfterJobFinishes": True, "ttlSecondsAfterFinished": 0,
            "rayClusterSpec": cluster_spec()}


SERVE_CONFIG: Final = """\
applications:
  - name: fruit_app
    import_path: fruit.deployment_graph
    route_prefix: /fruit
    runtime_env:
      working_dir: "https://github.com/ray-project/test_dag/archive/master.zip"
"""


def base_manifests() -> dict[str, Doc]:
    """One small valid object per kind (the RayCronJob's runs are suspended RayJobs: no clusters)."""
    def obj(kind: str, spec: Doc) -> Doc:
        return {"apiVersion": "ray.io/v1", "kind": kind, "metadata": {"name": kind.lower()}, "spec": spec}

    cron_template = job_spec() | {"suspend": True}
    return {
        "RayCluster": obj("RayCluster", cluster_spec()),
        "RayJob": obj("RayJob", job_spec()),
        "RayService": obj("RayService", {"serveConfigV2": SERVE_CONFIG, "rayClusterConfig": cluster_spec()}),
        "RayCronJob": obj("RayCronJob", {"schedule": "@every 5s", "jobTemplate": cron_template}),
    }


def spec_schema(crd: Doc) -> Doc:
    version = next(v for v in crd["spec"]["versions"] if v.get("storage", True))
    return dict(version["schema"]["openAPIV3Schema"]["properties"]["spec"])


def _kind_of(schema: Doc) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    return str(schema.get("type") or "any")


def _walk(schema: Doc, path: list[str | int], depth: int, parent_required: bool,
          ) -> Iterator[tuple[list[str | int], Doc, bool, bool]]:
    """(path, schema, required by its parent, opaque) of every field below ``schema``."""
    for key, child in (schema.get("properties") or {}).items():
        here = [*path, key]
        required = key in (schema.get("required") or [])
        opaque = key in OPAQUE or depth + 1 >= MAX_DEPTH
        yield here, child, required, opaque
        if opaque:
            continue
        if child.get("type") == "object":
            yield from _walk(child, here, depth + 1, required)
        elif child.get("type") == "array" and (child.get("items") or {}).get("type") == "object":
            yield from _walk(child["items"], [*here, 0], depth + 1, required)


def _mutations(key: str, schema: Doc, *, required: bool, opaque: bool) -> Iterator[tuple[str, Any]]:
    kind = _kind_of(schema)
    wrong = {"integer": "1x", "number": "one", "string": 12345, "boolean": "yes", "object": [1],
             "array": "not-a-list", "int-or-string": [1], "any": None}
    if kind != "any":
        yield "wrong-type", wrong[kind]
    if required:
        yield "missing-required", _MISSING
    if opaque:
        return
    if kind == "integer":
        yield "negative", -1
        yield "int32-overflow", INT32_OVERFLOW
        yield "int64-max", INT64_MAX
    elif kind == "string":
        yield "huge-string", HUGE_STRING
        if key in CLOSED_STRINGS or schema.get("enum"):
            yield "unknown-value", "NotAValue"
    elif kind == "array":
        yield "empty-array", []


_MISSING: Final = object()


def _set(doc: Doc, path: list[str | int], value: Any) -> None:
    """Set ``path`` in ``doc`` (creating what is missing); ``_MISSING`` deletes the last key."""
    node: Any = doc
    for step, nxt in itertools.pairwise(path):
        if isinstance(step, int):
            while len(node) <= step:
                node.append({})
            node = node[step]
            continue
        if not isinstance(node.get(step), dict | list):
            node[step] = [] if isinstance(nxt, int) else {}
        node = node[step]
    last = path[-1]
    if value is _MISSING:
        if isinstance(node, dict):
            node.pop(last, None)
    elif isinstance(last, int):
        while len(node) <= last:
            node.append({})
        node[last] = value
    else:
        node[last] = value


def _text(path: list[str | int]) -> str:
    return ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")


def schema_cases(crds: dict[str, Doc]) -> list[Case]:
    """Every generated case, for the kinds whose CRD (kind -> CRD document) is given."""
    bases = base_manifests()
    cases: list[Case] = []
    for kind, crd in sorted(crds.items()):
        for path, schema, required, opaque in _walk(spec_schema(crd), [], 0, True):
            key = str(next(p for p in reversed(path) if isinstance(p, str)))
            for mutation, value in _mutations(key, schema, required=required, opaque=opaque):
                manifest = copy.deepcopy(bases[kind])
                _set(manifest["spec"], path, value)
                field = "spec." + _text(path)
                cases.append(Case(f"{kind}/{field}/{mutation}", kind, field, mutation, manifest))
    return cases


def _with(kind: str, mutate: Any) -> Doc:
    manifest = copy.deepcopy(base_manifests()[kind])
    mutate(manifest)
    return manifest


def _name(name: str) -> Any:
    return lambda m: m["metadata"].update(name=name)


def _group(**fields: Any) -> Any:
    return lambda m: m["spec"]["workerGroupSpecs"][0].update(fields)


def _job(**fields: Any) -> Any:
    return lambda m: m["spec"].update(fields)


def _cron(**fields: Any) -> Any:
    return lambda m: m["spec"].update(fields)


LONGEST_NAME: Final = ("n" * 63 + ".") * 3 + "n" * 61  # 253 characters: valid for the API server

#: (id, kind, field, mutation) of the hand-written edge cases.
HAND_WRITTEN: Final[list[tuple[str, str, str, Any]]] = [
    ("name-54", "RayCluster", "metadata.name", _name("n" * 54)),
    ("name-253", "RayCluster", "metadata.name", _name(LONGEST_NAME)),
    ("name-254", "RayCluster", "metadata.name", _name(LONGEST_NAME + "n")),
    ("name-253", "RayJob", "metadata.name", _name(LONGEST_NAME)),
    ("name-253", "RayService", "metadata.name", _name(LONGEST_NAME)),
    ("name-253", "RayCronJob", "metadata.name", _name(LONGEST_NAME)),
    ("name-uppercase", "RayCluster", "metadata.name", _name("Upper")),
    ("replicas-int32-max", "RayCluster", "spec.workerGroupSpecs[0].replicas",
     _group(replicas=2**31 - 1, maxReplicas=2**31 - 1)),
    ("replicas-negative", "RayCluster", "spec.workerGroupSpecs[0].replicas", _group(replicas=-5)),
    ("min-above-max", "RayCluster", "spec.workerGroupSpecs[0].minReplicas", _group(minReplicas=3, maxReplicas=1)),
    ("num-of-hosts-zero", "RayCluster", "spec.workerGroupSpecs[0].numOfHosts", _group(numOfHosts=0)),
    ("hosts-times-replicas-overflow", "RayCluster", "spec.workerGroupSpecs[0].numOfHosts",
     _group(numOfHosts=2**31 - 1, replicas=2, maxReplicas=2)),
    ("group-name-64", "RayCluster", "spec.workerGroupSpecs[0].groupName", _group(groupName="g" * 64)),
    ("group-name-slash", "RayCluster", "spec.workerGroupSpecs[0].groupName", _group(groupName="a/b")),
    ("duplicate-groups", "RayCluster", "spec.workerGroupSpecs",
     lambda m: m["spec"]["workerGroupSpecs"].append(copy.deepcopy(m["spec"]["workerGroupSpecs"][0]))),
    ("no-head-containers", "RayCluster", "spec.headGroupSpec.template.spec.containers",
     lambda m: m["spec"]["headGroupSpec"]["template"]["spec"].update(containers=[])),
    ("multibyte-annotation", "RayCluster", "metadata.annotations",
     lambda m: m["metadata"].update(annotations={"note": "\u00e9\u6f22\U0001f600" * 20000})),
    ("ray-start-params-injection", "RayCluster", "spec.headGroupSpec.rayStartParams",
     lambda m: m["spec"]["headGroupSpec"].update(rayStartParams={"num-cpus": "1; rm -rf /", "block": "false"})),
    ("submitter-no-containers", "RayJob", "spec.submitterPodTemplate",
     _job(submitterPodTemplate={"spec": {"containers": [], "restartPolicy": "Never"}})),
    ("deadline-int64-max", "RayJob", "spec.activeDeadlineSeconds", _job(activeDeadlineSeconds=2**63 - 1)),
    ("ttl-negative", "RayJob", "spec.ttlSecondsAfterFinished", _job(ttlSecondsAfterFinished=-1)),
    ("submission-mode-unknown", "RayJob", "spec.submissionMode", _job(submissionMode="Teleport")),
    ("cluster-selector-and-spec", "RayJob", "spec.clusterSelector",
     _job(clusterSelector={"ray.io/cluster": "elsewhere"})),
    ("no-cluster-at-all", "RayJob", "spec.rayClusterSpec", lambda m: m["spec"].pop("rayClusterSpec")),
    ("entrypoint-1mib", "RayJob", "spec.entrypoint", _job(entrypoint="echo " + "y" * (1024 * 1024 - 5))),
    ("runtime-env-not-yaml", "RayJob", "spec.runtimeEnvYAML", _job(runtimeEnvYAML="{: [")),
    ("serve-config-not-yaml", "RayService", "spec.serveConfigV2", lambda m: m["spec"].update(serveConfigV2="{: [")),
    ("every-overflow", "RayCronJob", "spec.schedule", _cron(schedule="@every 99999999999h")),
    ("cron-seven-fields", "RayCronJob", "spec.schedule", _cron(schedule="* * * * * * *")),
    ("cron-minute-61", "RayCronJob", "spec.schedule", _cron(schedule="61 * * * *")),
    ("cron-feb-30", "RayCronJob", "spec.schedule", _cron(schedule="0 0 30 2 *")),
    ("timezone-unknown", "RayCronJob", "spec.timeZone", _cron(timeZone="Mars/Olympus_Mons")),
    ("every-zero", "RayCronJob", "spec.schedule", _cron(schedule="@every 0s")),
    ("template-no-cluster", "RayCronJob", "spec.jobTemplate.rayClusterSpec",
     lambda m: m["spec"]["jobTemplate"].pop("rayClusterSpec")),
    ("name-too-long-for-runs", "RayCronJob", "metadata.name", _name("c" * 40)),
]


def hand_written_cases() -> list[Case]:
    return [Case(f"{kind}/{field}/{case_id}", kind, field, case_id, _with(kind, mutate), origin="hand-written")
            for case_id, kind, field, mutate in HAND_WRITTEN]


def corpus(crds: dict[str, Doc]) -> list[Case]:
    """The generated cases, then the hand-written ones."""
    return schema_cases(crds) + hand_written_cases()
