"""`raykube doctor` with outdated CRDs: KubeRay v1.3.0's RayJob CRD really installed under the current operator.

The CRD is replaced for the duration of the test and put back (``kubectl replace``, so the schema is exactly
ours again) before the next module runs. A module of its own so no other test sees the old schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import CRD_DIR
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.test_doctor import findings, raycluster

pytestmark = pytest.mark.integration


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "drc")


def served_fields(kubeconfig: Path) -> str:
    return kubectl(kubeconfig, "get", "crd", "rayjobs.ray.io", "-o",
                   "jsonpath={.spec.versions[?(@.name=='v1')].schema.openAPIV3Schema.properties.spec.properties}").stdout


def replace_crd(kubeconfig: Path, source: Path) -> None:
    """Put ``source`` in place of the installed CRD of that name, exactly (an update needs the resourceVersion)."""
    crd = yaml.safe_load(source.read_text())
    crd["metadata"]["resourceVersion"] = kubectl(kubeconfig, "get", "crd", crd["metadata"]["name"], "-o",
                                                 "jsonpath={.metadata.resourceVersion}").stdout.strip()
    kubectl(kubeconfig, "replace", "-f", "-", input=yaml.safe_dump(crd))


@pytest.fixture
def old_rayjob_crd(kubeconfig: Path, ray_crds: None, kuberay_reference: Path) -> Iterator[None]:
    replace_crd(kubeconfig, kuberay_reference / "v1.3.0" / "crds" / "ray.io_rayjobs.yaml")
    try:
        eventually(lambda: "preRunningDeadlineSeconds" not in served_fields(kubeconfig), what="the old schema")
        yield
    finally:
        replace_crd(kubeconfig, CRD_DIR / "ray.io_rayjobs.yaml")
        eventually(lambda: "preRunningDeadlineSeconds" in served_fields(kubeconfig), what="our schema back")


def test_an_outdated_rayjob_crd(kubeconfig: Path, ns: str, old_rayjob_crd: None) -> None:
    spec = raycluster("unused")["spec"]

    def pruned() -> bool:
        """The API server drops the field the old schema does not know: the fault is real (applied again until
        the server's handler uses the replaced schema)."""
        # --validate=ignore: this kubectl asks for strict field validation, which refuses the unknown field
        # instead of letting the server prune it, as older clients and most client libraries do.
        manifest = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "old"},
                    "spec": {"entrypoint": "python -c 1", "rayClusterSpec": spec, "preRunningDeadlineSeconds": 600}}
        kubectl(kubeconfig, "apply", "--validate=ignore", "-n", ns, "-f", "-", input=yaml.safe_dump(manifest))
        stored = kubectl(kubeconfig, "get", "rayjob", "old", "-n", ns, "-o", "jsonpath={.spec}").stdout
        return "preRunningDeadlineSeconds" not in stored

    eventually(pruned, what="the field pruned by the old schema")
    outdated = [f for f in findings(kubeconfig, ns, "rayjob/old") if f["code"] == "crd-outdated"]
    assert [f["subject"] for f in outdated] == ["CustomResourceDefinition rayjobs.ray.io"]
    assert outdated[0]["evidence"][0] == ("CustomResourceDefinition rayjobs.ray.io: the v1 schema has no "
                                          "spec.deletionStrategy, spec.preRunningDeadlineSeconds")


def test_current_crds_give_no_crd_finding(kubeconfig: Path, ns: str, ray_crds: None) -> None:
    apply(kubeconfig, ns, raycluster("fresh"))
    assert not [f for f in findings(kubeconfig, ns, "fresh") if f["code"].startswith("crd-")]
