"""The Python SDK (`raykube.sdk`) on the real node: a real Ray cluster, a real Ray task, its real driver log.

docs/sdk.md's walkthrough as a notebook user runs it against the local cluster's kubeconfig: `ClusterConfig` ->
`Cluster.up()` -> `wait_ready()`, `Job.submit(entrypoint, runtime_env=..., cluster=...)` -> `wait()` -> `logs()`,
then `down()`; before `down()`, `kubectl ray log` (through the real kubectl) downloads every Ray node's log files.
The operator runs as a process on this machine and reaches the dashboard through the API server's
Service proxy, as the SDK's `logs()` does. The times from `up()` to ready and from `submit()` to a finished job
are printed.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from raykube.local.binaries import binary
from raykube.sdk import Cluster, ClusterConfig, Connection, Job, SdkError, list_clusters, list_jobs
from tests.integration.kube import eventually, kubectl, plugin_env
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

# The task runs in a Ray worker process and answers with the job's runtime_env variable and a computed value.
TASK = ("import os, ray; ray.init(); "
        "print('answer', ray.get(ray.remote(lambda: os.environ['SDK_GREETING'] + ' ' + str(6 * 7)).remote()))")


@pytest.fixture(scope="module")
def operator(real_kubeconfig: Path, real_crds: None, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[OperatorProcess]:
    yield from running_operator(real_kubeconfig, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system",
                                extra=("--use-kubernetes-proxy",))


def _diagnostics(kubeconfig: Path, ns: str, operator: OperatorProcess) -> str:
    parts = [kubectl(kubeconfig, "get", "rayclusters,rayjobs,jobs,pods", "-n", ns, "-o", "wide", check=False).stdout,
             kubectl(kubeconfig, "get", "events", "-n", ns, "--sort-by=.lastTimestamp", check=False).stdout]
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", ns, "-o", "json", check=False).stdout or "{}")
    for pod in pods.get("items", []):
        name = pod["metadata"]["name"]
        log = kubectl(kubeconfig, "logs", "-n", ns, name, "--all-containers", "--tail=25", check=False)
        parts.append(f"--- {name}\n{log.stdout}{log.stderr}")
    parts.append(f"--- operator\n{operator.log_tail()}")
    return "\n".join(parts)


def test_a_ray_task_runs_through_the_sdk(real_kubeconfig: Path, ns: str, ray_image: str,
                                         operator: OperatorProcess, tmp_path: Path) -> None:
    conn = Connection(kubeconfig=str(real_kubeconfig), namespace=ns)
    # Two vCPUs: the head, one worker and the job's submitter pod (500m) must fit; the SDK sets limits = requests,
    # and Ray rounds each 500m up to one CPU for tasks.
    config = ClusterConfig(name="sdk", num_workers=1, head_cpu="500m", head_memory="3Gi", worker_cpu="500m",
                           worker_memory="2Gi", image=ray_image, ray_version=ray_image.rpartition(":")[2])
    started = time.monotonic()
    cluster = Cluster(config, connection=conn).up()
    lines: list[str] = []
    try:
        details = cluster.wait_ready(timeout=600, progress=lines.append)
    except SdkError as err:
        raise AssertionError(f"{err}\n{_diagnostics(real_kubeconfig, ns, operator)}") from None
    print(f"SDK: cluster ready {time.monotonic() - started:.1f}s after up(); progress: {lines}")
    assert lines[-1] == "sdk: ready, head up, workers 1/1 ready"
    assert (details.state, details.ready_workers, len(details.worker_pods)) == ("ready", 1, 1)
    assert [c.name for c in list_clusters(connection=conn)] == ["sdk"]

    started = time.monotonic()
    job = Job.submit(f'python -c "{TASK}"', runtime_env={"env_vars": {"SDK_GREETING": "hello-from-the-sdk"}},
                     cluster=cluster)
    seen: list[str] = []
    try:
        final = job.wait(timeout=600, progress=seen.append)
    except SdkError as err:
        raise AssertionError(f"{err}\n{_diagnostics(real_kubeconfig, ns, operator)}") from None
    print(f"SDK: job finished {time.monotonic() - started:.1f}s after submit(); progress: {seen}")
    assert final.succeeded, f"{final}\n{_diagnostics(real_kubeconfig, ns, operator)}"
    assert final.cluster == "sdk" and seen[-1] == f"{job.name}: Complete, job SUCCEEDED"

    # The driver's log, read from the real Ray dashboard through the API server's Service proxy.
    logs = job.logs()
    assert "answer hello-from-the-sdk 42" in logs, logs
    followed: list[str] = []
    assert job.logs(follow=True, out=followed.append) == logs and "".join(followed) == logs
    assert [j.name for j in list_jobs(connection=conn)] == [job.name]

    _kubectl_ray_log_downloads_every_node(real_kubeconfig, ns, tmp_path / "ray-logs")

    cluster.down()
    eventually(lambda: not list_clusters(connection=conn), timeout=120, what="the RayCluster deleted")
    eventually(lambda: not json.loads(kubectl(real_kubeconfig, "get", "pods", "-n", ns, "-l", "ray.io/cluster=sdk",
                                              "-o", "json").stdout)["items"], timeout=180, what="the Ray pods gone")
    with pytest.raises(SdkError, match=f"RayCluster {ns}/sdk not found"):
        Cluster.attach("sdk", connection=conn)


def _kubectl_ray_log_downloads_every_node(kubeconfig: Path, ns: str, out: Path) -> None:
    """`kubectl ray log sdk --out-dir OUT` lays the files out as KubeRay's plugin does: per Ray node pod,
    OUT/<pod>/stdout.log (its Ray container's output) and the files of /tmp/ray/session_latest/logs beside it
    (`kubectl exec ... tar`), with KubeRay's lines on stdout and nothing on stderr."""
    out.mkdir()  # KubeRay's plugin wants an --out-dir that exists
    done = subprocess.run([str(binary("kubectl")), "ray", "log", "sdk", "-n", ns, "--out-dir", str(out)],
                          capture_output=True, text=True, env=plugin_env(kubeconfig), timeout=600, check=False)
    assert done.returncode == 0 and not done.stderr, f"kubectl ray log failed:\n{done.stdout}\n{done.stderr}"
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", ns, "-l", "ray.io/cluster=sdk", "-o", "json").stdout)
    nodes = {p["metadata"]["name"]: p for p in pods["items"]}
    assert sorted(p["metadata"]["labels"]["ray.io/node-type"] for p in nodes.values()) == ["head", "worker"]
    lines = done.stdout.splitlines()
    assert lines[0] == "Command set to retrieve both head and worker node logs.", done.stdout
    assert sorted(lines[1:]) == sorted(f"Downloading log for Ray Node {name}" for name in nodes), done.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(nodes)
    for name, pod in nodes.items():
        files = {p.relative_to(out / name).as_posix() for p in (out / name).rglob("*") if p.is_file()}
        head = pod["metadata"]["labels"]["ray.io/node-type"] == "head"
        wanted = {"stdout.log", "raylet.out"} | ({"gcs_server.out"} if head else set())
        assert wanted <= files, f"{name}: {sorted(files)}"
        assert (out / name / "raylet.out").stat().st_size > 0
        container = pod["spec"]["containers"][0]["name"]
        printed = kubectl(kubeconfig, "logs", "-n", ns, name, "-c", container).stdout.splitlines()
        saved = (out / name / "stdout.log").read_text().splitlines()
        assert saved and saved[0] == printed[0], f"{name}: stdout.log {saved[:3]} vs kubectl logs {printed[:3]}"
    # The job's driver log, written by Ray's job supervisor (on the head unless told otherwise) into the node's logs.
    drivers = {p.relative_to(out).as_posix(): p.read_text() for p in out.glob("*/job-driver-*.log")}
    assert any("answer hello-from-the-sdk 42" in text for text in drivers.values()), sorted(drivers)
