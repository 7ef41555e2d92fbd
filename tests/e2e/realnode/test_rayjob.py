"""RayJob with real Ray on the real-node local cluster: our Ray image, our operator, no stand-ins.

What runs: `raykube local up --nodes real` (containerd, kubelet, kube-proxy, CoreDNS on this machine), the Ray
image built by `raykube local image build ray` (fixtures in conftest.py), and `raykube operator` as a process.
Every RayJob here creates a real RayCluster; the operator reaches its dashboard through the API server's
Service proxy (the operator is not inside the cluster network), the submitter pods through cluster DNS.

The machine has two vCPUs: clusters are one head (no CPUs for tasks) and one worker (1 CPU for tasks), each
requesting 300m, and the tests run one RayJob at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.kube import eventually, kubectl
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
REFERENCE_SAMPLE = "ray-job.sample.yaml"

TASK = "import ray; ray.init(); print('answer', ray.get(ray.remote(lambda: 6 * 7).remote()))"


@pytest.fixture(scope="module")
def real(real_kubeconfig: Path, real_crds: None) -> Path:
    return real_kubeconfig


@pytest.fixture(scope="module")
def operator(real: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    # The operator runs on this machine, outside the cluster's DNS: it reaches dashboards through the API
    # server's Service proxy (KubeRay's --use-kubernetes-proxy).
    yield from running_operator(real, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system",
                                extra=("--use-kubernetes-proxy",))


def _container(name: str, image: str, memory: str) -> dict[str, Any]:
    return {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": {"cpu": "300m", "memory": "1Gi"}, "limits": {"memory": memory}}}


def _cluster_spec(image: str) -> dict[str, Any]:
    version = image.rpartition(":")[2]
    return {
        "rayVersion": version,
        "headGroupSpec": {"rayStartParams": {"num-cpus": "0"},
                          "template": {"spec": {"containers": [_container("ray-head", image, "3Gi")]}}},
        "workerGroupSpecs": [{"groupName": "workers", "replicas": 1, "minReplicas": 1, "maxReplicas": 1,
                              "rayStartParams": {"num-cpus": "1"},
                              "template": {"spec": {"containers": [_container("ray-worker", image, "2Gi")]}}}],
    }


def _rayjob(name: str, image: str, entrypoint: str = f'python -c "{TASK}"', **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": name},
            "spec": {"entrypoint": entrypoint, "rayClusterSpec": _cluster_spec(image), **spec}}


def _apply(kubeconfig: Path, ns: str, manifest: dict[str, Any] | str) -> None:
    text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
    kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=text)


def _status(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    out = kubectl(kubeconfig, "get", "rayjob", name, "-n", ns, "-o", "json", check=False)
    return dict(json.loads(out.stdout).get("status") or {}) if out.returncode == 0 else {}


def _diagnostics(kubeconfig: Path, ns: str, operator: OperatorProcess) -> str:
    """What a failed test needs to be understood: objects, events, every container's log tail, the operator's."""
    parts = [kubectl(kubeconfig, "get", "rayjobs,rayclusters,jobs,pods", "-n", ns, "-o", "wide", check=False).stdout,
             kubectl(kubeconfig, "get", "rayjobs", "-n", ns, "-o", "jsonpath={.items[*].status}", check=False).stdout,
             kubectl(kubeconfig, "get", "events", "-n", ns, "--sort-by=.lastTimestamp", check=False).stdout]
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", ns, "-o", "json", check=False).stdout or "{}")
    for pod in pods.get("items", []):
        for container in pod["spec"]["containers"]:
            name = f"{pod['metadata']['name']}/{container['name']}"
            log = kubectl(kubeconfig, "logs", "-n", ns, pod["metadata"]["name"], "-c", container["name"],
                          "--tail=25", check=False)
            parts.append(f"--- {name}\n{log.stdout}{log.stderr}")
    parts.append(f"--- operator\n{operator.log_tail()}")
    return "\n".join(parts)


def _wait(kubeconfig: Path, ns: str, name: str, states: set[str], operator: OperatorProcess,
          timeout: float = 600) -> dict[str, Any]:
    try:
        return eventually(lambda: (s := _status(kubeconfig, ns, name)).get("jobDeploymentStatus") in states and s,
                          timeout=timeout, what=f"RayJob {name} in {states}")
    except AssertionError as err:
        raise AssertionError(f"{err}\n{_diagnostics(kubeconfig, ns, operator)}") from None


def _expect(actual: object, expected: object, kubeconfig: Path, ns: str, operator: OperatorProcess) -> None:
    assert actual == expected, f"{actual!r} != {expected!r}\n{_diagnostics(kubeconfig, ns, operator)}"


def _real_sample(reference: Path, image: str) -> str:
    """KubeRay's ray-job.sample.yaml on our image: no pip install (pods have no route off the machine)."""
    job, configmap = yaml.safe_load_all((reference / "v1.7.0" / "samples" / REFERENCE_SAMPLE).read_text())
    job["spec"]["runtimeEnvYAML"] = "env_vars:\n  counter_name: test_counter\n"
    job["spec"]["rayClusterSpec"] = _cluster_spec(image)
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    head["containers"][0]["volumeMounts"] = [{"mountPath": "/home/ray/samples", "name": "code-sample"}]
    head["volumes"] = [{"name": "code-sample", "configMap": {"name": "ray-job-code-sample",
                                                            "items": [{"key": "sample_code.py",
                                                                       "path": "sample_code.py"}]}}]
    job["spec"]["shutdownAfterJobFinishes"] = True
    job["spec"]["ttlSecondsAfterFinished"] = 5
    code = configmap["data"]["sample_code.py"]
    configmap["data"]["sample_code.py"] = "\n".join(
        line for line in code.splitlines() if "requests" not in line) + "\n"
    return yaml.safe_dump_all([job, configmap])


def test_the_sample_rayjob_succeeds_and_its_output_is_in_the_submitter_log(
    real: Path, operator: OperatorProcess, ns: str, ray_image: str, kuberay_reference: Path
) -> None:
    _apply(real, ns, _real_sample(kuberay_reference, ray_image))
    status = _wait(real, ns, "rayjob-sample", {"Complete", "Failed"}, operator)
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status
    logs = kubectl(real, "logs", "-n", ns, "job/rayjob-sample").stdout
    assert "test_counter got 5" in logs
    cluster = status["rayClusterName"]
    eventually(lambda: kubectl(real, "get", "raycluster", cluster, "-n", ns, check=False).returncode != 0,
               timeout=120, what="cluster deleted after the TTL")


def test_an_entrypoint_that_exits_1_fails_and_is_retried_once_on_a_fresh_cluster(
    real: Path, operator: OperatorProcess, ns: str, ray_image: str
) -> None:
    failing = "python -c \"import sys; print('failing on purpose'); sys.exit(1)\""
    _apply(real, ns, _rayjob("failing", ray_image, failing, submissionMode="HTTPMode", backoffLimit=1,
                             shutdownAfterJobFinishes=True))
    status = _wait(real, ns, "failing", {"Failed", "Complete"}, operator, timeout=900)
    _expect((status["jobDeploymentStatus"], status["reason"], status["failed"], status["jobStatus"]),
            ("Failed", "AppFailed", 2, "FAILED"), real, ns, operator)
    # events.k8s.io Events read through core/v1 (what `kubectl get events` shows): `note` is `message` there.
    created = kubectl(real, "get", "events", "-n", ns, "--field-selector", "reason=CreatedRayCluster",
                      "-o", "jsonpath={.items[*].message}").stdout
    assert created.count("Created RayCluster") == 2, created


@pytest.mark.parametrize("mode", ["HTTPMode", "SidecarMode"])
def test_http_and_sidecar_modes_succeed(
    real: Path, operator: OperatorProcess, ns: str, ray_image: str, mode: str
) -> None:
    name = mode.lower().removesuffix("mode")
    _apply(real, ns, _rayjob(name, ray_image, submissionMode=mode, shutdownAfterJobFinishes=True,
                             ttlSecondsAfterFinished=120))
    status = _wait(real, ns, name, {"Complete", "Failed"}, operator)
    _expect((status["jobDeploymentStatus"], status["jobStatus"]), ("Complete", "SUCCEEDED"), real, ns, operator)
    # The entrypoint really ran on the cluster: Ray kept its output (the cluster lives until the TTL).
    selector = f"ray.io/cluster={status['rayClusterName']},ray.io/node-type=head"
    head = kubectl(real, "get", "pods", "-n", ns, "-l", selector, "-o", "jsonpath={.items[0].metadata.name}").stdout
    logs = kubectl(real, "exec", "-n", ns, head, "-c", "ray-head", "--", "ray", "job", "logs", status["jobId"]).stdout
    assert "answer 42" in logs, logs


def test_interactive_mode_waits_for_the_users_job_id(
    real: Path, operator: OperatorProcess, ns: str, ray_image: str
) -> None:
    _apply(real, ns, _rayjob("interactive", ray_image, submissionMode="InteractiveMode"))
    waiting = _wait(real, ns, "interactive", {"Waiting"}, operator)
    cluster = waiting["rayClusterName"]
    time.sleep(5)
    assert _status(real, ns, "interactive")["jobDeploymentStatus"] == "Waiting"
    head = kubectl(real, "get", "pods", "-n", ns, "-l", f"ray.io/cluster={cluster},ray.io/node-type=head",
                   "-o", "jsonpath={.items[0].metadata.name}").stdout
    kubectl(real, "exec", "-n", ns, head, "--", "ray", "job", "submit", "--address", "http://127.0.0.1:8265",
            "--submission-id", "by-hand-1", "--no-wait", "--", "python", "-c", TASK)
    kubectl(real, "patch", "rayjob", "interactive", "-n", ns, "--type=merge", "-p", '{"spec":{"jobId":"by-hand-1"}}')
    status = _wait(real, ns, "interactive", {"Complete", "Failed"}, operator)
    _expect((status["jobDeploymentStatus"], status["jobStatus"], status["jobId"]),
            ("Complete", "SUCCEEDED", "by-hand-1"), real, ns, operator)


def test_active_deadline_fails_a_long_job(real: Path, operator: OperatorProcess, ns: str, ray_image: str) -> None:
    # The test sits the whole deadline out. HTTPMode submits once the cluster (head and worker) is ready, about
    # 20-25 s after apply here and more while the other suite loads the machine: 75 s keeps the job RUNNING
    # when the deadline passes, as asserted.
    _apply(real, ns, _rayjob("long", ray_image, "sleep 3600", submissionMode="HTTPMode",
                             activeDeadlineSeconds=75, shutdownAfterJobFinishes=True))
    status = _wait(real, ns, "long", {"Failed", "Complete"}, operator, timeout=600)
    # The job was still RUNNING when the deadline passed.
    _expect((status["jobDeploymentStatus"], status["reason"], status["jobStatus"]),
            ("Failed", "DeadlineExceeded", "RUNNING"), real, ns, operator)
