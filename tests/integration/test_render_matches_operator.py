"""`raykube render` prints exactly what the operator creates: every v1.7.0 RayCluster sample, object by object.

Every upstream RayCluster sample that renders (is valid) is applied, each in its own namespace, to the real API
server with fake nodes and one running operator. For each cluster, `raykube render` of the stored RayCluster
(same name, namespace and UID) is sent through the API server as a server-side dry run, so that both sides
carry the same server defaults and admission changes; then every rendered object is compared with the object
the operator created, and the operator must have created nothing else. What is random or the server's alone
is normalised: uid, resourceVersion, times, managedFields, status, pod names and nodes, the ServiceAccount
token volume's suffix, allocated cluster IPs, replica-name suffixes and the auth token.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from raykube.cli.main import app
from raykube.cli.render import RenderError, load_objects
from tests.integration.kube import eventually, kubectl
from tests.integration.operator import OperatorProcess, running_operator
from tests.unit.api.upstream import VERSION, reference_dir

pytestmark = pytest.mark.integration

Obj = dict[str, Any]

#: Kinds the operator creates for a RayCluster (plural names for kubectl).
CHILD_KINDS = {
    "Pod": "pods",
    "Service": "services",
    "ServiceAccount": "serviceaccounts",
    "Role": "roles.rbac.authorization.k8s.io",
    "RoleBinding": "rolebindings.rbac.authorization.k8s.io",
    "Ingress": "ingresses.networking.k8s.io",
    "Secret": "secrets",
    "PersistentVolumeClaim": "persistentvolumeclaims",
}
REPLICA_NAME = "ray.io/worker-group-replica-name"


def _docs(path: Path) -> list[Obj]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def _cluster_docs(path: Path) -> list[Obj]:
    return [d for d in _docs(path) if d.get("kind") == "RayCluster"]


def _service_accounts(cluster: Obj) -> set[str]:
    """ServiceAccounts the cluster's pod templates name (a sample may expect them to exist already)."""
    spec = cluster.get("spec") or {}
    groups = [spec.get("headGroupSpec") or {}, *(spec.get("workerGroupSpecs") or [])]
    names = {((g.get("template") or {}).get("spec") or {}).get("serviceAccountName") for g in groups}
    return {n for n in names if n}


def _renders(path: Path) -> bool:
    try:
        load_objects(path, "default", [])
    except RenderError:
        return False  # invalid: the operator only emits a Warning Event
    return True


def _samples() -> list[Path]:
    base = reference_dir()
    if base is None:
        return []
    return [p for p in sorted((base / VERSION / "samples").glob("*.yaml")) if _cluster_docs(p) and _renders(p)]


def _with_ingress(sample: Path) -> list[Obj]:
    """The plain sample with ``enableIngress: true`` (no upstream sample sets it)."""
    (cluster,) = _cluster_docs(sample)
    cluster["metadata"]["name"] = "raycluster-with-ingress"
    cluster["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx", "team": "ray"}
    cluster["spec"]["headGroupSpec"]["enableIngress"] = True
    return [cluster]


SAMPLES = _samples()
#: (test id, documents): every valid sample, and the cases no sample covers.
CASES: list[tuple[str, list[Obj]]] = [(p.stem, _docs(p)) for p in SAMPLES] + [
    ("enable-ingress", _with_ingress(p)) for p in SAMPLES if p.name == "ray-cluster.sample.yaml"
]


def _namespace(index: int) -> str:
    return f"render-{index:02d}"


@pytest.fixture(scope="module")
def applied(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    """Every sample applied, one namespace per sample, and one operator reconciling them all.

    The sample's other documents (ConfigMaps, Secrets, ServiceAccounts, ...) are created first where the
    local cluster knows their kind, and a ServiceAccount a pod template names but the sample does not
    create is made empty (the pods could not be created without it).
    """
    assert len(SAMPLES) >= 30, "the KubeRay reference samples were not found"
    for index, (_, case) in enumerate(CASES):
        ns = _namespace(index)
        kubectl(kubeconfig, "create", "namespace", ns)
        clusters = [d for d in case if d.get("kind") == "RayCluster"]
        for doc in case:
            if doc.get("kind") != "RayCluster":
                kubectl(kubeconfig, "create", "-n", ns, "-f", "-", input=yaml.safe_dump(doc), check=False)
        for cluster in clusters:
            for account in sorted(_service_accounts(cluster)):
                kubectl(kubeconfig, "create", "serviceaccount", account, "-n", ns, check=False)
        docs = [{**d, "metadata": {**d["metadata"], "namespace": ns}} for d in clusters]
        kubectl(kubeconfig, "create", "-n", ns, "-f", "-", input=yaml.safe_dump_all(docs))
    try:
        # `raykube render` validates as an operator with every gate on: samples of alpha fields need them.
        gates = "RayClusterNetworkPolicy=true,RayClusterMTLS=true,RayClusterHistoryServer=true," \
                "GCSFaultToleranceEmbeddedStorage=true"
        yield from running_operator(kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system",
                                    extra=(f"--feature-gates={gates}",))
    finally:
        for index in range(len(CASES)):
            kubectl(kubeconfig, "delete", "namespace", _namespace(index), "--wait=false", check=False)


def _render(stored: Obj, tmp: Path) -> list[Obj]:
    """`raykube render` of a stored RayCluster (its identity kept, its status dropped).

    The command runs in this process (typer's runner, as the render unit tests do): the same code from
    argument parsing to the printed YAML, without a new interpreter importing the whole CLI for each poll
    of each sample (about two seconds each on a busy two-core machine, 47 samples).
    """
    meta = {k: stored["metadata"][k] for k in ("name", "namespace", "uid")}
    for key in ("labels", "annotations"):
        if stored["metadata"].get(key):
            meta[key] = stored["metadata"][key]
    source = tmp / f"{meta['namespace']}-{meta['name']}.yaml"
    source.write_text(yaml.safe_dump({**stored, "metadata": meta, "status": {}}))
    result = CliRunner().invoke(app, ["render", "-f", str(source)])
    assert result.exit_code == 0, f"raykube render failed: {result.output}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


DRY = "-dry-run"


def _dry_run(kubeconfig: Path, ns: str, objects: list[Obj]) -> list[Obj]:
    """The objects as the API server would store them (defaults, admission), without storing them.

    Named objects get a temporary name (the operator's own objects already hold theirs); pods use
    generateName. Nothing the server adds depends on the name.
    """
    renamed = copy.deepcopy(objects)
    for obj in renamed:
        if obj["metadata"].get("name"):
            obj["metadata"]["name"] += DRY
    body = {"apiVersion": "v1", "kind": "List", "items": renamed}
    out = kubectl(
        kubeconfig, "create", "--dry-run=server", "-n", ns, "-o", "json", "-f", "-", input=json.dumps(body), check=False
    )
    assert out.returncode == 0, f"the API server rejects the rendered objects: {out.stderr}"
    items: list[Obj] = []
    decoder, text, at = json.JSONDecoder(), out.stdout.strip(), 0
    while at < len(text):  # kubectl prints one JSON document per object
        parsed, at = decoder.raw_decode(text, at)
        items += parsed["items"] if parsed.get("kind") == "List" else [parsed]
        at += len(text[at:]) - len(text[at:].lstrip())
    for obj in items:
        if obj["kind"] != "Pod" or obj["metadata"].get("name", "").endswith(DRY):
            obj["metadata"]["name"] = obj["metadata"]["name"].removesuffix(DRY)
    return items


def _owned(kubeconfig: Path, ns: str, uid: str) -> list[Obj]:
    """Every object in `ns` of a child kind whose controller is the RayCluster `uid`."""
    out = kubectl(kubeconfig, "get", ",".join(CHILD_KINDS.values()), "-n", ns, "-o", "json")
    items = json.loads(out.stdout)["items"]
    return [
        o
        for o in items
        if any(r.get("controller") and r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
    ]


def _key(obj: Obj) -> tuple[str, ...]:
    """Which rendered object an object is: kind and name; pods by group, replica index and host index."""
    meta = obj["metadata"]
    if obj["kind"] != "Pod":
        return (obj["kind"], meta["name"])
    labels = meta.get("labels") or {}
    return (
        "Pod",
        labels.get("ray.io/group", ""),
        labels.get("ray.io/worker-group-replica-index", ""),
        labels.get("ray.io/replica-host-index", ""),
    )


def _normalise(obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    meta = obj["metadata"]
    for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
        meta.pop(key, None)
    if obj["kind"] == "Pod":
        meta.pop("name", None)
        obj["spec"].pop("nodeName", None)
    if obj["kind"] == "Service":
        spec = obj["spec"]
        if spec.get("clusterIP") not in (None, "None"):
            spec["clusterIP"], spec["clusterIPs"] = "<allocated>", ["<allocated>"]
        for port in spec.get("ports") or []:
            if "nodePort" in port:
                port["nodePort"] = "<allocated>"
    if obj["kind"] == "Secret":
        obj["data"] = dict.fromkeys(obj.get("data") or {}, "<token>")
    text = re.sub(r"kube-api-access-[a-z0-9]{5}", "kube-api-access-<suffix>", json.dumps(obj, sort_keys=True))
    replica = (meta.get("labels") or {}).get(REPLICA_NAME)
    if replica:
        text = text.replace(replica, replica.rsplit("-", 1)[0] + "-<suffix>")
    return dict(json.loads(text))


def _paths(want: Any, got: Any, at: str = "") -> list[str]:
    """Where two JSON values differ, as ``path: render value != operator value`` lines."""
    if isinstance(want, dict) and isinstance(got, dict):
        return [line for k in sorted(set(want) | set(got)) for line in _paths(want.get(k), got.get(k), f"{at}.{k}")]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [line for i, (w, g) in enumerate(zip(want, got, strict=True)) for line in _paths(w, g, f"{at}[{i}]")]
    return [] if want == got else [f"{at}: {json.dumps(want)[:200]} != {json.dumps(got)[:200]}"]


def _differences(kubeconfig: Path, ns: str, tmp: Path) -> list[str]:
    """Where the operator's objects in `ns` differ from `raykube render` (empty when they match)."""
    problems: list[str] = []
    clusters = json.loads(kubectl(kubeconfig, "get", "rayclusters", "-n", ns, "-o", "json").stdout)["items"]
    for stored in clusters:
        name, uid = stored["metadata"]["name"], stored["metadata"]["uid"]
        rendered = {_key(o): _normalise(o) for o in _dry_run(kubeconfig, ns, _render(stored, tmp))}
        created = {_key(o): _normalise(o) for o in _owned(kubeconfig, ns, uid)}
        if sorted(rendered) != sorted(created):
            problems.append(f"{name}: rendered {sorted(rendered)} but the operator created {sorted(created)}")
            continue
        for key, want in rendered.items():
            if created[key] != want:
                paths = "\n  ".join(_paths(want, created[key]))
                problems.append(f"{name}: {key} differs (render != operator):\n  {paths}")
    return problems


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case_id for case_id, _ in CASES])
def test_render_equals_what_the_operator_created(
    applied: OperatorProcess, kubeconfig: Path, tmp_path: Path, index: int
) -> None:
    ns = _namespace(index)
    last: list[list[str]] = [[]]

    def matches() -> bool:
        last[0] = _differences(kubeconfig, ns, tmp_path)
        return not last[0]

    try:
        eventually(matches, timeout=90, what=f"the operator's objects for {CASES[index][0]}")
    except AssertionError:
        pytest.fail("\n".join(last[0]) + f"\noperator log:\n{applied.log_tail()}")
