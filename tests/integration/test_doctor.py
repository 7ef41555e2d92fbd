"""`raykube doctor` against real faults on the local cluster (fake nodes, a real scheduler, the real operator).

Each test causes one fault for real: a request no node can hold, a nodeSelector nothing matches, an image
kwok is told cannot be pulled, a ResourceQuota that refuses pods, fake-pod states (head unready, workers stuck
in ``wait-gcs-ready``, OOMKilled, crash loops), a RayJob whose cluster never gets ready. A healthy cluster
gives no finding and exit code 0. The operator-stopped diagnoses are in test_doctor_operator.py (they need
to be the only operator).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from raykube.cli.main import app
from raykube.local.nodes.fake import MISSING_IMAGE, POD_STATE_ANNOTATION
from tests.integration.kube import (
    apply,
    eventually,
    kubectl,
    no_rights_kubeconfig,
    scratch_namespace,
    unreachable_kubeconfig,
)
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("doctor-operator"), lease_namespace="kube-system")


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "dr")


def doctor(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "raykube.cli.main", "doctor", "--kubeconfig", str(kubeconfig), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def findings(kubeconfig: Path, ns: str, target: str) -> list[dict[str, Any]]:
    """`raykube doctor TARGET -n NS -o json`'s findings. The command runs in this process (typer's runner): the
    tests poll it, and a new interpreter importing the whole CLI cost about two seconds a poll on a busy
    two-core machine. `doctor()` stays a real process for what only a process shows (exit codes, stderr)."""
    done = CliRunner().invoke(app, ["doctor", "--kubeconfig", str(kubeconfig), target, "-n", ns, "-o", "json"])
    crashed = done.exception is not None and not isinstance(done.exception, SystemExit)
    assert done.exit_code in (0, 1) and not crashed, f"{done.output}{done.exception!r}"
    report = json.loads(done.stdout)
    assert report["healthy"] == (done.exit_code == 0)
    return [f for resource in report["resources"] for f in resource["findings"]]


def wait_for_finding(kubeconfig: Path, ns: str, target: str, code: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        return next((f for f in findings(kubeconfig, ns, target) if f["code"] == code), None)

    try:
        return eventually(probe, timeout=90, what=f"doctor finding {code} for {target}")
    except AssertionError as err:
        # What the operator had made of it by then: the next failure says where the chain stopped.
        seen = kubectl(kubeconfig, "get", "rayjobs,rayclusters,pods,events", "-n", ns, "-o", "wide", check=False)
        jobs = kubectl(kubeconfig, "get", "rayjobs", "-n", ns, "-o", "jsonpath={.items[*].status}", check=False)
        raise AssertionError(f"{err}\n{seen.stdout}{seen.stderr}\nRayJob status: {jobs.stdout}") from None


def container(name: str, cpu: str = "1", memory: str = "1Gi", image: str = "rayproject/ray:2.52.0") -> dict[str, Any]:
    return {"name": name, "image": image, "resources": {"requests": {"cpu": cpu, "memory": memory},
                                                        "limits": {"memory": memory}}}


def raycluster(name: str, *, worker: dict[str, Any] | None = None, worker_pod: dict[str, Any] | None = None,
               head_annotations: dict[str, str] | None = None, worker_annotations: dict[str, str] | None = None,
               replicas: int = 1) -> dict[str, Any]:
    head_template = {"metadata": {"annotations": head_annotations or {}},
                     "spec": {"containers": [container("ray-head")]}}
    worker_template = {"metadata": {"annotations": worker_annotations or {}},
                       "spec": {"containers": [worker or container("ray-worker")], **(worker_pod or {})}}
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": name},
            "spec": {"rayVersion": "2.52.0", "headGroupSpec": {"rayStartParams": {}, "template": head_template},
                     "workerGroupSpecs": [{"groupName": "workers", "replicas": replicas, "minReplicas": 0,
                                           "maxReplicas": 5, "rayStartParams": {}, "template": worker_template}]}}


def state(kubeconfig: Path, ns: str, name: str) -> str:
    done = kubectl(kubeconfig, "get", "raycluster", name, "-n", ns, "-o", "jsonpath={.status.state}", check=False)
    return done.stdout


def test_a_healthy_cluster_has_no_findings(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, raycluster("fine"))
    eventually(lambda: state(kubeconfig, ns, "fine") == "ready", what="ready cluster")
    done = doctor(kubeconfig, "raycluster/fine", "-n", ns)
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip() == f"RayCluster {ns}/fine: healthy"
    everything = doctor(kubeconfig, "-n", ns)
    assert everything.returncode == 0 and "healthy" in everything.stdout


def test_pending_for_resources(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, raycluster("huge", worker=container("ray-worker", cpu="1000")))
    found = wait_for_finding(kubeconfig, ns, "huge", "pod-unschedulable-resources")
    assert "Insufficient cpu" in found["evidence"][0]
    assert found["subject"].startswith(f"worker pod {ns}/huge-workers-worker-")
    text = doctor(kubeconfig, "huge", "-n", ns)
    assert text.returncode == 1 and "No node has enough free resources" in text.stdout


def test_pending_for_a_node_selector(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, raycluster("picky", worker_pod={"nodeSelector": {"disktype": "unobtainium"}}))
    found = wait_for_finding(kubeconfig, ns, "picky", "pod-unschedulable-selector")
    assert "didn't match Pod's node affinity/selector" in found["evidence"][0]
    assert "unobtainium" in found["evidence"][1]


def test_pending_for_taints(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    key = f"raykube.dev/doctor-{ns}"
    try:
        kubectl(kubeconfig, "taint", "nodes", "--all", f"{key}=test:NoSchedule")  # running pods stay, new ones wait
        apply(kubeconfig, ns, raycluster("tainted"))
        found = wait_for_finding(kubeconfig, ns, "tainted", "pod-unschedulable-taints")
        # The scheduler of Kubernetes 1.34 no longer names the taint ("2 node(s) had untolerated taint(s)"); the
        # finding quotes it and shows the pod's tolerations beside it.
        assert "untolerated taint" in found["evidence"][0]
        assert found["evidence"][1].startswith("tolerations: ")
        assert found["evidence"][1].startswith("tolerations: ")  # the admission defaults, none for our key
    finally:
        kubectl(kubeconfig, "taint", "nodes", "--all", f"{key}-", check=False)


def test_admission_policy_rejects_pod_creation(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    policy = f"no-ray-workers-{ns}"
    kubectl(kubeconfig, "apply", "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": {"name": policy},
         "spec": {"failurePolicy": "Fail",
                  "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                          "operations": ["CREATE"], "resources": ["pods"]}]},
                  "validations": [{"expression": "!has(object.metadata.labels) || !('ray.io/node-type' in "
                                                 "object.metadata.labels) || object.metadata.labels['ray.io/node-type']"
                                                 " != 'worker'", "message": "no Ray workers in this namespace"}]}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": {"name": policy},
         "spec": {"policyName": policy, "validationActions": ["Deny"],
                  "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}}}]))
    probe_pod = yaml.safe_dump({"apiVersion": "v1", "kind": "Pod",
                                "metadata": {"name": "probe", "labels": {"ray.io/node-type": "worker"}},
                                "spec": {"containers": [{"name": "c", "image": "pause"}]}})

    def policy_in_force() -> bool:
        """The API server loads a new policy asynchronously: until a dry-run worker pod is refused, the
        operator's pods would still be admitted."""
        done = kubectl(kubeconfig, "create", "--dry-run=server", "-n", ns, "-f", "-", input=probe_pod, check=False)
        return done.returncode != 0 and "no Ray workers in this namespace" in done.stderr

    try:
        eventually(policy_in_force, what="the admission policy in force")
        apply(kubeconfig, ns, raycluster("policed"))
        found = wait_for_finding(kubeconfig, ns, "policed", "pod-creation-rejected")
        assert any("no Ray workers in this namespace" in line for line in found["evidence"]), found
        assert "admission" in found["summary"]
    finally:
        kubectl(kubeconfig, "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy,
                check=False)


def test_image_pull_failure(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, raycluster("noimage", worker=container("ray-worker", image=MISSING_IMAGE)))
    found = wait_for_finding(kubeconfig, ns, "noimage", "image-pull-failed")
    assert "ImagePullBackOff" in found["evidence"][0] and MISSING_IMAGE in found["evidence"][0]


def test_quota_refuses_pod_creation(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "two-pods"},
                           "spec": {"hard": {"pods": "2"}}})
    apply(kubeconfig, ns, raycluster("quota", replicas=3))
    found = wait_for_finding(kubeconfig, ns, "quota", "pod-creation-quota")
    assert any("exceeded quota: two-pods" in line for line in found["evidence"]), found
    eventually(lambda: any("ResourceQuota two-pods: pods used 2 of 2" in line
                           for f in findings(kubeconfig, ns, "quota") if f["code"] == "pod-creation-quota"
                           for line in f["evidence"]), what="the full quota named")


def test_head_not_ready_and_workers_waiting_for_gcs(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    apply(kubeconfig, ns, raycluster("sick", head_annotations={POD_STATE_ANNOTATION: "Unready"},
                                     worker_annotations={POD_STATE_ANNOTATION: "InitStuck"}))
    head = wait_for_finding(kubeconfig, ns, "sick", "head-not-ready")
    assert head["evidence"][0].startswith("Ready=False (ContainersNotReady)")
    worker = wait_for_finding(kubeconfig, ns, "sick", "worker-waiting-for-gcs")
    assert worker["evidence"][0].startswith("init container wait-gcs-ready: running for ")


@pytest.mark.parametrize(("fake_state", "code", "evidence"), [
    pytest.param("OOMKilled", "container-oomkilled", "terminated OOMKilled, exit code 137", id="oomkilled"),
    pytest.param("CrashLoopBackOff", "container-crashloop", "waiting CrashLoopBackOff", id="crashloop"),
])
def test_crashing_workers(operator: OperatorProcess, kubeconfig: Path, ns: str, fake_state: str, code: str,
                          evidence: str) -> None:
    apply(kubeconfig, ns, raycluster("crashy", worker_annotations={POD_STATE_ANNOTATION: fake_state}))
    found = wait_for_finding(kubeconfig, ns, "crashy", code)
    assert evidence in found["evidence"][0]


def test_rayjob_stuck_initializing(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    cluster_spec = raycluster("unused", head_annotations={POD_STATE_ANNOTATION: "Unready"})["spec"]
    apply(kubeconfig, ns, {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "stuck"},
                           "spec": {"entrypoint": "python -c 1", "rayClusterSpec": cluster_spec}})
    try:
        found = wait_for_finding(kubeconfig, ns, "rayjob/stuck", "rayjob-stuck-initializing")
    except AssertionError as err:
        raise AssertionError(f"{err}\noperator log:\n{operator.log_tail(60)}") from None
    assert found["evidence"][0].startswith("jobDeploymentStatus: Initializing; RayCluster stuck-")
    codes = {f["code"] for f in findings(kubeconfig, ns, "rayjob/stuck")}
    assert "head-not-ready" in codes
    everything = doctor(kubeconfig, "-A", "-o", "json")
    resources = json.loads(everything.stdout)["resources"]
    mine = [(r["kind"], r["name"]) for r in resources if r["namespace"] == ns]
    assert mine == [("RayJob", "stuck")]  # its RayCluster is examined with it, not twice


def test_autoscaler_role_removed(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    cluster = raycluster("scaler")
    cluster["spec"]["enableInTreeAutoscaling"] = True
    apply(kubeconfig, ns, cluster)
    eventually(lambda: state(kubeconfig, ns, "scaler") == "ready", what="ready cluster")
    eventually(lambda: kubectl(kubeconfig, "get", "role", "scaler", "-n", ns, check=False).returncode == 0,
               what="the autoscaler Role")
    assert doctor(kubeconfig, "scaler", "-n", ns).returncode == 0  # the operator's own RBAC is enough
    kubectl(kubeconfig, "delete", "role", "scaler", "-n", ns)
    found = wait_for_finding(kubeconfig, ns, "scaler", "autoscaler-rbac-missing")
    assert found["evidence"] == [f"Role {ns}/scaler: not found"]


def test_a_failed_submitter_is_quoted(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    submitter_pod = {"metadata": {"annotations": {POD_STATE_ANNOTATION: "Failed"}},
                     "spec": {"restartPolicy": "Never",
                              "containers": [{"name": "ray-job-submitter", "image": "rayproject/ray:2.52.0"}]}}
    apply(kubeconfig, ns, {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "nosubmit"},
                           "spec": {"entrypoint": "python -c 1", "submitterPodTemplate": submitter_pod,
                                    "submitterConfig": {"backoffLimit": 0},
                                    "rayClusterSpec": raycluster("unused")["spec"]}})
    found = wait_for_finding(kubeconfig, ns, "rayjob/nosubmit", "rayjob-submitter-failed")
    assert found["subject"].startswith(f"submitter pod {ns}/nosubmit-")
    assert found["evidence"][0].startswith("container ray-job-submitter: terminated ")
    assert "exit code 1" in found["evidence"][0]
    # Its log is asked for; fake nodes have no kubelet to serve it, and the doctor says so.
    pod = found["subject"].split("/")[-1]
    assert found["evidence"][1].startswith(f"log of {pod}/ray-job-submitter: not available (")


def test_a_chart_operator_watching_other_namespaces(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    """The Deployment the kuberay-operator chart makes with ``singleNamespaceInstall`` (fake nodes run its pod
    Ready), watching another namespace."""
    labels = {"app.kubernetes.io/name": "kuberay-operator"}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kuberay-operator",
                                                                               "labels": labels},
                  "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                               {"name": "kuberay-operator", "image": "raykube/operator:test",
                                "args": ["--watch-namespace=elsewhere,other"]}]}}}}
    apply(kubeconfig, ns, deployment)
    try:
        apply(kubeconfig, ns, raycluster("unwatched"))
        found = wait_for_finding(kubeconfig, ns, "unwatched", "operator-not-watching-namespace")
        assert found["evidence"] == [f"Deployment {ns}/kuberay-operator: --watch-namespace=elsewhere,other"]
    finally:
        kubectl(kubeconfig, "delete", "deployment", "kuberay-operator", "-n", ns, "--wait=true")


def test_errors_are_one_line(operator: OperatorProcess, kubeconfig: Path, ns: str, tmp_path: Path) -> None:
    done = doctor(kubeconfig, "raycluster/ghost", "-n", ns)
    assert done.returncode == 1 and done.stderr.strip() == f"Error: RayCluster ghost not found in namespace {ns}"
    bad = doctor(kubeconfig, "pod/x", "-n", ns)
    assert bad.returncode == 1 and "cannot examine 'pod/x'" in bad.stderr
    empty = doctor(kubeconfig, "-n", ns)
    assert empty.returncode == 0 and empty.stdout.strip() == f"No RayClusters, RayJobs or RayServices found in " \
                                                             f"namespace {ns}."
    flag = doctor(kubeconfig, "--bogus")
    assert flag.returncode == 2 and flag.stderr.strip().startswith("Error: No such option: --bogus")
    faults = {unreachable_kubeconfig(kubeconfig, tmp_path / "unreachable"): "cannot reach the API server",
              no_rights_kubeconfig(kubeconfig, ns, tmp_path / "limited"): "ask a cluster admin for RBAC permission",
              tmp_path / "missing": "no kubeconfig at"}
    for config, fragment in faults.items():
        for args in (["-n", ns], ["raycluster/ghost", "-n", ns], ["-A", "-o", "json"]):
            failed = subprocess.run([sys.executable, "-m", "raykube.cli.main", "doctor", "--kubeconfig", str(config),
                                     *args], capture_output=True, text=True, timeout=120, check=False)
            lines = failed.stderr.strip().splitlines()
            assert failed.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: "), failed.stderr
            assert fragment in lines[0] and not failed.stdout
