"""Our generated CRDs on a real kube-apiserver.

Installing them at all proves the schemas are structural (the API server refuses non-structural v1 CRDs and
reports ``NonStructuralSchema``). Then every document of our four kinds in the upstream v1.7.0 samples passes a
server-side dry-run create with strict field validation, so nothing an upstream user writes is rejected or
silently pruned; real objects show upstream's printer columns and categories; invalid objects are rejected with
the schema's or the CEL rule's message.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.kube import eventually, kubectl
from tests.unit.api.upstream import VERSION, reference_dir, requires_reference, sample_documents

pytestmark = pytest.mark.integration

SAMPLES = sample_documents()
#: Sample documents that are not ours and need third-party CRDs this cluster does not have (never applied).
#: Documents of our kinds in the same files are tested like all others.
THIRD_PARTY = {
    "agent-sandbox__sandbox#0": "SandboxTemplate: agent-sandbox extension CRD (extensions.agents.x-k8s.io)",
    "agent-sandbox__sandbox#1": "SandboxWarmPool: agent-sandbox extension CRD (extensions.agents.x-k8s.io)",
    "gateway-api__istio-class#0": "GatewayClass: Gateway API CRD (gateway.networking.k8s.io)",
    "ray-cluster-agc-gatewayapi#0": "Gateway: Gateway API CRD (gateway.networking.k8s.io)",
    "ray-cluster-agc-gatewayapi#1": "HTTPRoute: Gateway API CRD (gateway.networking.k8s.io)",
    "ray-cluster.kai-gpu-sharing#0": "Queue: KAI scheduler CRD (scheduling.run.ai)",
    "ray-cluster.kai-gpu-sharing#1": "Queue: KAI scheduler CRD (scheduling.run.ai)",
    "ray-cluster.kai-scheduler#0": "Queue: KAI scheduler CRD (scheduling.run.ai)",
    "ray-cluster.kai-scheduler#1": "Queue: KAI scheduler CRD (scheduling.run.ai)",
    "ray-cluster.volcano-scheduler-queue#0": "Queue: Volcano CRD (scheduling.volcano.sh)",
    "ray-job.volcano-scheduler-queue#0": "Queue: Volcano CRD (scheduling.volcano.sh)",
}
KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")


@pytest.fixture(scope="module")
def ns(kubeconfig: Path, ray_crds: None) -> Iterator[str]:
    name = f"crds-{uuid.uuid4().hex[:8]}"
    kubectl(kubeconfig, "create", "namespace", name)
    yield name
    kubectl(kubeconfig, "delete", "namespace", name, "--wait=false", check=False)


def _in_namespace(document: dict[str, Any], ns: str, name: str | None = None) -> str:
    doc = copy.deepcopy(document)
    doc["metadata"].pop("namespace", None)
    if name is not None:
        doc["metadata"]["name"] = name
    return yaml.safe_dump(doc)


def _create(
    kubeconfig: Path, ns: str, document: dict[str, Any], *extra: str, check: bool = False, name: str | None = None
) -> Any:
    return kubectl(
        kubeconfig, "create", "-n", ns, "--validate=strict", "-f", "-", *extra,
        input=_in_namespace(document, ns, name), check=check,
    )


def _sample(kind: str) -> dict[str, Any]:
    """The first upstream sample document of ``kind`` from its ``*.sample.yaml`` file."""
    return next(doc for sample_id, doc in SAMPLES if doc["kind"] == kind and ".sample#" in sample_id)


def _cluster(name: str, **spec: Any) -> dict[str, Any]:
    """A small valid RayCluster (one head, one worker group) with ``spec`` merged in."""
    container = {"name": "ray-head", "image": "rayproject/ray:2.52.0"}
    document: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name},
        "spec": {
            "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [container]}}},
            "workerGroupSpecs": [
                {
                    "groupName": "small",
                    "minReplicas": 0,
                    "maxReplicas": 2,
                    "template": {"spec": {"containers": [{**container, "name": "ray-worker"}]}},
                }
            ],
        },
    }
    document["spec"].update(spec)
    return document


# ------------------------------------------------------------------------------------------------ installation


def test_crds_are_established_and_structural(kubeconfig: Path, ray_crds: None) -> None:
    for plural in ("rayclusters", "rayjobs", "rayservices", "raycronjobs"):
        crd = json.loads(kubectl(kubeconfig, "get", "crd", f"{plural}.ray.io", "-o", "json").stdout)
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", conditions
        assert conditions.get("NonStructuralSchema", "False") == "False", conditions
        assert crd["status"]["storedVersions"] == ["v1"]


def test_installing_again_is_a_no_op(kubeconfig: Path, ray_crds: None) -> None:
    crd_dir = Path(__file__).resolve().parents[2] / "config" / "crd" / "bases"
    before = kubectl(kubeconfig, "get", "crd", "rayclusters.ray.io", "-o", "jsonpath={.metadata.generation}").stdout
    result = kubectl(kubeconfig, "apply", "--server-side", "-f", str(crd_dir))
    assert "serverside-applied" in result.stdout
    after = kubectl(kubeconfig, "get", "crd", "rayclusters.ray.io", "-o", "jsonpath={.metadata.generation}").stdout
    assert before == after


# -------------------------------------------------------------------------------------------------- samples


@requires_reference
@pytest.mark.parametrize(("sample_id", "document"), SAMPLES, ids=[sample_id for sample_id, _ in SAMPLES])
def test_upstream_sample_passes_a_server_side_dry_run(
    kubeconfig: Path, ns: str, sample_id: str, document: dict[str, Any]
) -> None:
    # A name of its own: other tests of this module create the samples for real in the same namespace, and a
    # dry-run create of an existing name fails with AlreadyExists (seen with a random test order).
    dry_name = f"dry-{uuid.uuid4().hex[:8]}"
    result = _create(kubeconfig, ns, document, "--dry-run=server", "-o", "json", name=dry_name)
    assert result.returncode == 0, f"{sample_id}: {result.stderr}"
    stored = json.loads(result.stdout)
    assert stored["kind"] == document["kind"]
    assert "Warning" not in result.stderr, result.stderr  # strict validation: no unknown or duplicate field


@requires_reference
def test_all_upstream_samples_of_our_kinds_are_covered() -> None:
    assert len(SAMPLES) >= 80
    assert {doc["kind"] for _, doc in SAMPLES} == set(KINDS)


@requires_reference
def test_excluded_documents_are_exactly_those_of_unserved_api_groups(kubeconfig: Path, ray_crds: None) -> None:
    # The Gateway API group is served once a test that needs it has installed its CRDs (the gateway_crds
    # fixture, for the whole session): it is a third-party group all the same, so the answer must not depend
    # on the order the tests ran in.
    served = {v for v in kubectl(kubeconfig, "api-versions").stdout.split()
              if not v.startswith("gateway.networking.k8s.io/")}
    base = reference_dir()
    assert base is not None
    unserved: dict[str, str] = {}
    for path in sorted((base / VERSION / "samples").glob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(doc, dict) and doc.get("apiVersion") not in served:
                unserved[f"{path.stem}#{index}"] = str(doc.get("kind"))
    assert unserved == {key: reason.split(":")[0] for key, reason in THIRD_PARTY.items()}


def test_a_dry_run_applies_the_crd_defaults(kubeconfig: Path, ns: str) -> None:
    result = _create(kubeconfig, ns, _cluster("defaults"), "--dry-run=server", "-o", "json", check=True)
    group = json.loads(result.stdout)["spec"]["workerGroupSpecs"][0]
    assert (group["numOfHosts"], group["replicas"], group["priority"]) == (1, 0, 0)
    ports = {"spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 6379}]}]}}
    result = _create(
        kubeconfig, ns, _cluster("port-default", headGroupSpec={"template": ports}), "--dry-run=server", "-o", "json",
        check=True,
    )
    head = json.loads(result.stdout)["spec"]["headGroupSpec"]["template"]["spec"]
    assert head["containers"][0]["ports"] == [{"containerPort": 6379, "protocol": "TCP"}]


# ------------------------------------------------------------------------------------------ columns, categories


def _table(output: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines()]


@requires_reference
def test_get_rayclusters_shows_the_upstream_printer_columns(kubeconfig: Path, ns: str) -> None:
    name = f"cols-{uuid.uuid4().hex[:8]}"  # its own name: other tests of this module create the sample itself
    _create(kubeconfig, ns, _sample("RayCluster"), check=True, name=name)
    header = _table(kubectl(kubeconfig, "get", "rayclusters", "-n", ns).stdout)[0]
    assert header == ["NAME", "DESIRED WORKERS", "AVAILABLE WORKERS", "CPUS", "MEMORY", "GPUS", "STATUS", "AGE"]
    wide = _table(kubectl(kubeconfig, "get", "rayclusters", "-n", ns, "-o", "wide").stdout)[0]
    assert wide == [*header[:6], "TPUS", "STATUS", "AGE", "HEAD POD IP", "HEAD SERVICE IP"]

    status = {
        "desiredWorkerReplicas": 3,
        "availableWorkerReplicas": 2,
        "desiredCPU": "4",
        "desiredMemory": "8Gi",
        "desiredGPU": "1",
        "desiredTPU": "0",
        "state": "ready",
        "head": {"podIP": "10.244.0.9", "serviceIP": "10.96.0.9"},
    }
    kubectl(
        kubeconfig, "patch", "raycluster", name, "-n", ns, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )

    def row() -> list[str] | None:
        rows = _table(kubectl(kubeconfig, "get", "raycluster", name, "-n", ns, "-o", "wide").stdout)
        return rows[1] if rows[1][1:8] == ["3", "2", "4", "8Gi", "1", "0", "ready"] else None

    values = eventually(row, timeout=10, what="status columns")
    assert values[0] == name
    assert values[-2:] == ["10.244.0.9", "10.96.0.9"]


def _one_of_each_kind(kubeconfig: Path, ns: str) -> None:
    for kind in KINDS:
        document = _sample(kind)
        existing = kubectl(kubeconfig, "get", kind.lower(), document["metadata"]["name"], "-n", ns, check=False)
        if existing.returncode != 0:
            _create(kubeconfig, ns, document, check=True)


@requires_reference
def test_get_all_lists_every_ray_kind(kubeconfig: Path, ns: str) -> None:
    _one_of_each_kind(kubeconfig, ns)
    listed = kubectl(kubeconfig, "get", "all", "-n", ns, "-o", "name").stdout.split()
    for kind in KINDS:
        assert f"{kind.lower()}.ray.io/{_sample(kind)['metadata']['name']}" in listed


@requires_reference
def test_other_kinds_show_their_upstream_printer_columns(kubeconfig: Path, ns: str) -> None:
    _one_of_each_kind(kubeconfig, ns)
    expected = {
        "rayjobs": ["NAME", "JOB STATUS", "DEPLOYMENT STATUS", "RAY CLUSTER NAME", "START TIME", "END TIME", "AGE"],
        "rayservices": ["NAME", "SERVICE STATUS", "NUM SERVE ENDPOINTS"],
        "raycronjobs": ["NAME", "SCHEDULE", "TIMEZONE", "LAST SCHEDULE", "AGE", "SUSPEND"],
    }
    for plural, header in expected.items():
        assert _table(kubectl(kubeconfig, "get", plural, "-n", ns).stdout)[0] == header


def test_v1alpha1_is_served_deprecated_and_stored_as_v1(kubeconfig: Path, ns: str) -> None:
    document = _cluster("old-client")
    document["apiVersion"] = "ray.io/v1alpha1"
    result = _create(kubeconfig, ns, document, check=True)
    assert "ray.io/v1alpha1 RayCluster is deprecated; use ray.io/v1 RayCluster" in result.stderr
    got = kubectl(kubeconfig, "get", "rayclusters.v1.ray.io", "old-client", "-n", ns, "-o", "json")
    stored = json.loads(got.stdout)
    assert stored["apiVersion"] == "ray.io/v1"
    assert stored["spec"]["workerGroupSpecs"][0]["numOfHosts"] == 1


# ------------------------------------------------------------------------------------------- invalid objects


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            _cluster("bad-managed-by", managedBy="someone-else"),
            "the managedBy field value must be either 'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue'",
            id="managedBy-value-cel",
        ),
        pytest.param(
            _cluster("bad-enum", upgradeStrategy={"type": "Sometimes"}),
            'spec.upgradeStrategy.type: Unsupported value: "Sometimes": supported values: "Recreate", "None"',
            id="enum",
        ),
        pytest.param(
            _cluster("bad-field", headGroupSpec={"template": {}, "bogus": 1}),
            'unknown field "spec.headGroupSpec.bogus"',
            id="unknown-ray-field",
        ),
        pytest.param(
            _cluster(
                "bad-pod-field", headGroupSpec={"template": {"spec": {"containers": [{"name": "c", "bogus": 1}]}}}
            ),
            'unknown field "spec.headGroupSpec.template.spec.containers[0].bogus"',
            id="unknown-field-in-embedded-pod-template",
        ),
        pytest.param(
            _cluster(
                "bad-quantity",
                headGroupSpec={
                    "template": {
                        "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "lots"}}}]}
                    }
                },
            ),
            "spec.headGroupSpec.template.spec.containers[0].resources.limits.cpu: Invalid value",
            id="quantity-pattern",
        ),
        pytest.param(
            _cluster("bad-group", workerGroupSpecs=[{"minReplicas": 0, "maxReplicas": 1, "template": {}}]),
            "spec.workerGroupSpecs[0].groupName: Required value",
            id="required",
        ),
        pytest.param(
            {
                "apiVersion": "ray.io/v1",
                "kind": "RayCronJob",
                "metadata": {"name": "bad-tz"},
                "spec": {"schedule": "* * * * *", "timeZone": "", "jobTemplate": {"entrypoint": "true"}},
            },
            "spec.timeZone: Invalid value: \"\": spec.timeZone in body should be at least 1 chars long",
            id="minLength",
        ),
        pytest.param(
            {
                "apiVersion": "ray.io/v1",
                "kind": "RayJob",
                "metadata": {"name": "bad-deletion"},
                "spec": {"entrypoint": "true", "deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}}},
            },
            "deletionStrategy requires either BOTH onSuccess and onFailure, OR the deletionRules field",
            id="deletion-strategy-cel",
        ),
    ],
)
def test_invalid_objects_are_rejected_with_the_schema_message(
    kubeconfig: Path, ns: str, document: dict[str, Any], message: str
) -> None:
    result = _create(kubeconfig, ns, document)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_changing_managed_by_is_rejected(kubeconfig: Path, ns: str) -> None:
    _create(kubeconfig, ns, _cluster("managed", managedBy="ray.io/kuberay-operator"), check=True)
    result = kubectl(
        kubeconfig, "patch", "raycluster", "managed", "-n", ns, "--type=merge",
        "-p", json.dumps({"spec": {"managedBy": "kueue.x-k8s.io/multikueue"}}), check=False,
    )
    assert result.returncode != 0
    assert "spec.managedBy: Invalid value: \"string\": the managedBy field is immutable" in result.stderr
