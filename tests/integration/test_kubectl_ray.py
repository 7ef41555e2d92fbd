"""`kubectl ray ...` through the real kubectl binary as a plugin, on the local cluster with fake nodes.

The plugin is the ``kubectl-ray`` console script of this virtualenv, found by kubectl on ``PATH`` as any
plugin is. Table headers are compared with the column names and order of KubeRay v1.7.0's plugin source
(``kubectl-plugin/pkg/cmd/get/get_cluster.go``, ``get_nodes.go``, ``get_workergroup.go``), written out here.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.local.binaries import binary
from raykube.ray.standin import JobScript, StandInDashboard
from tests.integration.kube import (
    eventually,
    kubectl,
    no_rights_kubeconfig,
    plugin_env,
    scratch_namespace,
    unreachable_kubeconfig,
)
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration

# KubeRay v1.7.0's column names, in order.
KUBERAY_CLUSTER = ["NAME", "NAMESPACE", "DESIRED WORKERS", "AVAILABLE WORKERS", "CPUS", "GPUS", "TPUS", "MEMORY",
                   "CONDITION", "STATUS", "AGE"]
KUBERAY_NODES = ["NAME", "CPUS", "GPUS", "TPUS", "MEMORY", "CLUSTER", "TYPE", "WORKER GROUP", "AGE"]
KUBERAY_WORKERGROUPS = ["NAME", "REPLICAS", "CPUS", "GPUS", "TPUS", "MEMORY", "CLUSTER"]
SMALL = ["--head-cpu", "1", "--head-memory", "1Gi", "--worker-cpu", "1", "--worker-memory", "1Gi"]


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInDashboard]:
    server = StandInDashboard(JobScript(run_for=1.0))
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def operator(
    kubeconfig: Path, ray_crds: None, standin: StandInDashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("kubectl-ray-operator"),
                                lease_namespace="kube-system", extra=(f"--dashboard-url-override={standin.url}",))


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "kr")


def ray(kubeconfig: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
        cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``kubectl ray ARGS`` with the real kubectl binary."""
    done = subprocess.run([str(binary("kubectl")), "ray", *args], capture_output=True, text=True,
                          env=env or plugin_env(kubeconfig), cwd=cwd, timeout=timeout, check=False)
    if check:
        assert done.returncode == 0, f"kubectl ray {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def columns(line: str) -> list[str]:
    """A kubectl table line split at runs of 2+ spaces (column names contain single spaces)."""
    return re.split(r"\s{2,}", line.strip())


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_kubectl_lists_the_plugin(kubeconfig: Path) -> None:
    done = subprocess.run([str(binary("kubectl")), "plugin", "list"], capture_output=True, text=True,
                          env=plugin_env(kubeconfig), check=False)
    assert "kubectl-ray" in done.stdout


def test_create_dry_run_prints_kuberays_default_cluster(kubeconfig: Path) -> None:
    done = ray(kubeconfig, "create", "cluster", "sample", "--dry-run")
    cluster = yaml.safe_load(done.stdout)
    assert cluster["kind"] == "RayCluster" and cluster["metadata"] == {"name": "sample", "namespace": "default"}
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["resources"]["requests"] == {"cpu": "2", "memory": "4Gi"}
    group = cluster["spec"]["workerGroupSpecs"][0]
    assert (group["groupName"], group["replicas"]) == ("default-group", 1)
    assert group["template"]["spec"]["containers"][0]["image"] == "rayproject/ray:2.52.0"
    older = yaml.safe_load(ray(kubeconfig, "create", "cluster", "s", "--dry-run", "--ray-version", "2.41.0").stdout)
    assert older["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] == "rayproject/ray:2.41.0"


def test_create_cluster_from_kuberays_config_file(kubeconfig: Path, tmp_path: Path) -> None:
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump({"name": "from-file", "ray-version": "2.46.0",
                                      "head": {"cpu": "3", "memory": "5Gi"},
                                      "worker-groups": [{"name": "gpu", "replicas": 2, "gpu": "1"}]}))
    cluster = yaml.safe_load(ray(kubeconfig, "create", "cluster", "--file", str(config), "--dry-run").stdout)
    assert cluster["metadata"]["name"] == "from-file"
    group = cluster["spec"]["workerGroupSpecs"][0]
    assert (group["groupName"], group["replicas"]) == ("gpu", 2)
    assert group["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    clash = ray(kubeconfig, "create", "cluster", "--file", str(config), "--head-cpu", "1", check=False)
    assert_one_line_error(clash, "incompatible with --file", "head_cpu")
    other = ray(kubeconfig, "create", "cluster", "other", "--file", str(config), check=False)
    assert_one_line_error(other, 'does not match the cluster name "other"')


def test_cluster_life_cycle_through_the_plugin(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    created = ray(kubeconfig, "create", "cluster", "c1", "-n", ns, *SMALL, "--wait", "--timeout", "120s")
    assert created.stdout.splitlines() == ["Created Ray cluster: c1", "Ray cluster c1 is provisioned"]
    again = ray(kubeconfig, "create", "cluster", "c1", "-n", ns, check=False)
    assert_one_line_error(again, f"the Ray cluster c1 in namespace {ns} already exists")

    table = ray(kubeconfig, "get", "cluster", "-n", ns).stdout.splitlines()
    assert columns(table[0]) == KUBERAY_CLUSTER
    assert columns(table[1])[:10] == ["c1", ns, "1", "1", "2", "0", "0", "2Gi", "RayClusterProvisioned", "ready"]
    everywhere = ray(kubeconfig, "get", "clusters", "-A").stdout
    assert any(columns(line)[:2] == ["c1", ns] for line in everywhere.splitlines()[1:])
    as_json = json.loads(ray(kubeconfig, "get", "cluster", "c1", "-n", ns, "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in as_json["items"]] == ["c1"]
    assert_one_line_error(ray(kubeconfig, "get", "cluster", "nope", "-n", ns, check=False),
                          f"Ray cluster nope not found in namespace {ns}")

    nodes = ray(kubeconfig, "get", "nodes", "-n", ns).stdout.splitlines()
    assert columns(nodes[0]) == KUBERAY_NODES
    rows = sorted(columns(line) for line in nodes[1:])
    assert sorted((r[1], r[4], r[5], r[6], r[7]) for r in rows) == [("1", "1Gi", "c1", "head", "headgroup"),
                                                                    ("1", "1Gi", "c1", "worker", "default-group")]
    all_nodes = ray(kubeconfig, "get", "nodes", "-A", "--ray-cluster", "c1").stdout.splitlines()
    assert columns(all_nodes[0]) == ["NAMESPACE", *KUBERAY_NODES]
    assert_one_line_error(ray(kubeconfig, "get", "node", "ghost", "-n", ns, check=False),
                          f"Ray node ghost not found in namespace {ns} in any Ray cluster")

    added = ray(kubeconfig, "create", "workergroup", "extra", "-c", "c1", "-n", ns, "--worker-cpu", "1",
                "--worker-memory", "1Gi", "--worker-replicas", "0", "--worker-min-replicas", "0")
    assert added.stdout.strip() == f"Updated Ray cluster {ns}/c1 with new worker group"
    groups = ray(kubeconfig, "get", "workergroups", "-n", ns).stdout.splitlines()
    assert columns(groups[0]) == KUBERAY_WORKERGROUPS
    assert sorted(columns(line) for line in groups[1:]) == [["default-group", "1/1", "1", "0", "0", "1Gi", "c1"],
                                                            ["extra", "0/0", "0", "0", "0", "0", "c1"]]

    scaled = ray(kubeconfig, "scale", "cluster", "c1", "-n", ns, "-w", "default-group", "-r", "2")
    assert scaled.stdout.strip() == (f"Scaled worker group default-group in Ray cluster c1 in namespace {ns} "
                                     "from 1 to 2 replicas")
    eventually(lambda: "2/2" in ray(kubeconfig, "get", "workergroup", "default-group", "-n", ns).stdout,
               what="two ready workers")
    bounds = ray(kubeconfig, "scale", "cluster", "c1", "-n", ns, "-w", "extra", "--max-replicas", "5")
    assert "5 max replicas" in bounds.stdout
    assert_one_line_error(ray(kubeconfig, "scale", "cluster", "c1", "-n", ns, "-w", "nope", "-r", "1", check=False),
                          "worker group nope not found", "Available worker groups: default-group, extra")
    assert_one_line_error(ray(kubeconfig, "scale", "cluster", "c1", "-n", ns, "-r", "1", check=False),
                          "must specify -w/--worker-group")
    assert_one_line_error(ray(kubeconfig, "get", "token", "c1", "-n", ns, check=False),
                          f"RayCluster {ns}/c1 was not configured to use authentication tokens")

    version = ray(kubeconfig, "version").stdout.splitlines()
    assert version[0].startswith("kubectl ray plugin version: ")
    missing = ("warning: KubeRay operator installation cannot be found: no Deployment kuberay-operator in any "
               'namespace. Did you install it with the name "kuberay-operator"?')  # the operator here is a process
    deployed = kubectl(kubeconfig, "get", "deployments", "-A", "-l", "app.kubernetes.io/name=kuberay-operator",
                       "-o", "name").stdout.strip()
    assert version[1] == missing if not deployed else version[1].startswith("KubeRay operator version: ")

    deleted = ray(kubeconfig, "delete", "c1", "-n", ns, "--yes")
    assert deleted.stdout.strip() == "Deleted raycluster c1"
    assert_one_line_error(ray(kubeconfig, "delete", "raycluster/c1", "-n", ns, "-y", check=False),
                          "failed to delete raycluster/c1")
    assert_one_line_error(ray(kubeconfig, "delete", "pod/x", "-n", ns, "-y", check=False),
                          "unsupported resource type: pod/x")


def test_delete_asks_before_deleting(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    ray(kubeconfig, "create", "cluster", "keep", "-n", ns, *SMALL)
    done = subprocess.run([str(binary("kubectl")), "ray", "delete", "keep", "-n", ns], input="n\n",
                          capture_output=True, text=True, env=plugin_env(kubeconfig), check=True)
    assert "- raycluster/keep" in done.stdout and "Canceled deletion." in done.stdout
    assert kubectl(kubeconfig, "get", "raycluster", "keep", "-n", ns).returncode == 0


def test_get_token_prints_the_clusters_auth_token(operator: OperatorProcess, kubeconfig: Path, ns: str,
                                                  tmp_path: Path) -> None:
    cluster = yaml.safe_load(ray(kubeconfig, "create", "cluster", "secure", "-n", ns, *SMALL, "--dry-run").stdout)
    cluster["spec"]["authOptions"] = {"mode": "token"}
    kubectl(kubeconfig, "apply", "-f", "-", input=yaml.safe_dump(cluster))

    def secret() -> str:
        done = kubectl(kubeconfig, "get", "secret", "secure", "-n", ns, "-o", "jsonpath={.data.auth_token}",
                       check=False)
        return done.stdout if done.returncode == 0 else ""

    encoded = eventually(secret, what="the auth token Secret")
    assert ray(kubeconfig, "get", "token", "secure", "-n", ns).stdout == base64.b64decode(encoded).decode()
    assert_one_line_error(ray(kubeconfig, "get", "token", "ghost", "-n", ns, check=False),
                          f"failed to get RayCluster {ns}/ghost")


def test_session_forwards_the_head_services_ports(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    ray(kubeconfig, "create", "cluster", "s1", "-n", ns, *SMALL, "--wait", "--timeout", "120s")
    proc = subprocess.Popen([str(binary("kubectl")), "ray", "session", "s1", "-n", ns], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=plugin_env(kubeconfig), start_new_session=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert lines == ["Forwarding ports to service s1-head-svc", "Ray Dashboard: http://localhost:8265",
                         "Ray Interactive Client: http://localhost:10001"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert_one_line_error(ray(kubeconfig, "session", "ghost", "-n", ns, check=False),
                          f"Ray cluster ghost not found in namespace {ns}")
    assert_one_line_error(ray(kubeconfig, "session", "rayjob/ghost", "-n", ns, check=False),
                          f"RayJob ghost not found in namespace {ns}")


def test_session_of_a_rayservice_forwards_its_dashboard_and_serve(operator: OperatorProcess, kubeconfig: Path,
                                                                  ns: str) -> None:
    """`session rayservice/NAME` forwards the dashboard (8265) and Ray Serve (8000), as KubeRay v1.7.0's plugin.

    The RayService is made Ready by the stand-in dashboard's Ray Serve API. Fake nodes have no kubelet to
    port-forward through, so, as for a RayCluster above, what is checked is what the session prints, the
    `kubectl port-forward` it runs (`-v`), and that the Service it forwards to exposes both ports and selects the
    serving cluster's head pod (what `kubectl port-forward service/...` connects to)."""
    def container(name: str) -> dict[str, object]:
        return {"name": name, "image": "rayproject/ray:2.52.0",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}

    apps = [{"name": "app", "import_path": "app.deployment", "route_prefix": "/",
             "deployments": [{"name": "Model"}]}]
    kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=yaml.safe_dump({
        "apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "rs1"},
        "spec": {"serveConfigV2": yaml.safe_dump({"applications": apps}), "rayClusterConfig": {
            "rayVersion": "2.52.0",
            "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [container("ray-head")]}}},
            "workerGroupSpecs": [{"groupName": "small", "replicas": 1, "minReplicas": 1, "maxReplicas": 1,
                                  "rayStartParams": {},
                                  "template": {"spec": {"containers": [container("ray-worker")]}}}]}}}))

    def ready() -> dict[str, Any] | None:
        status = json.loads(kubectl(kubeconfig, "get", "rayservice", "rs1", "-n", ns, "-o", "json").stdout).get(
            "status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        return status if conditions.get("Ready") == "True" else None

    status = eventually(ready, timeout=120, what="RayService rs1 Ready")
    active = status["activeServiceStatus"]["rayClusterName"]

    proc = subprocess.Popen([str(binary("kubectl")), "ray", "session", "rayservice/rs1", "-n", ns, "-v"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=plugin_env(kubeconfig),
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(5)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    # KubeRay's lines and order for a RayService: the dashboard, then Serve (no Ray client), then a blank line.
    assert lines[:4] == ["Forwarding ports to service rs1-head-svc", "Ray Dashboard: http://localhost:8265",
                         "Ray Serve: http://localhost:8000", ""], lines
    assert lines[4].startswith("Running: ") and lines[4].endswith(
        f" port-forward -n {ns} --address=localhost service/rs1-head-svc 8265:8265 8000:8000"), lines[4]

    service = json.loads(kubectl(kubeconfig, "get", "service", "rs1-head-svc", "-n", ns, "-o", "json").stdout)
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    assert (ports["dashboard"], ports["serve"]) == (8265, 8000), ports
    selector = ",".join(f"{k}={v}" for k, v in service["spec"]["selector"].items())
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", ns, "-l", selector, "-o", "json").stdout)["items"]
    selected = [f"{p['metadata']['labels']['ray.io/cluster']}/{p['metadata']['labels']['ray.io/node-type']}"
                for p in pods]
    assert selected == [f"{active}/head"], (selector, selected)

    assert_one_line_error(ray(kubeconfig, "session", "rayservice/ghost", "-n", ns, check=False),
                          f"RayService ghost not found in namespace {ns}")


def test_log_downloads_each_ray_node(operator: OperatorProcess, kubeconfig: Path, ns: str, tmp_path: Path) -> None:
    ray(kubeconfig, "create", "cluster", "l1", "-n", ns, *SMALL, "--wait", "--timeout", "120s")
    done = ray(kubeconfig, "log", "l1", "-n", ns, "--node-type", "head", "--out-dir", str(tmp_path / "logs"),
               check=False)
    lines = done.stdout.splitlines()
    assert lines[0] == "Command set to retrieve only head node logs."
    downloads = [line for line in lines if line.startswith("Downloading log for Ray Node ")]
    assert len(downloads) == 1 and downloads[0].split()[-1].startswith("l1-head-")
    head = downloads[0].split()[-1]
    assert (tmp_path / "logs" / head).is_dir()
    # Fake nodes run no containers and have no kubelet to exec in: each failed download is named, then exit 1.
    if done.returncode != 0:
        assert f"{head}: could not" in done.stderr and done.stderr.strip().splitlines()[-1].startswith("Error: ")
    everything = ray(kubeconfig, "logs", "l1", "-n", ns, check=False, cwd=tmp_path)
    assert everything.stdout.splitlines()[:2] == [
        "No output directory specified, creating dir under current directory using resource name.",
        "Command set to retrieve both head and worker node logs."]
    assert len([ln for ln in everything.stdout.splitlines() if ln.startswith("Downloading log")]) == 2
    assert (tmp_path / "l1").is_dir()
    assert_one_line_error(ray(kubeconfig, "log", "l1", "-n", ns, "--node-type", "gpu", check=False),
                          "unknown node type `gpu`")
    assert_one_line_error(ray(kubeconfig, "log", "ghost", "-n", ns, check=False, cwd=tmp_path),
                          f"Ray cluster ghost not found in namespace {ns}")
    assert not (tmp_path / "ghost").exists()


def test_job_submit_runs_an_interactive_rayjob(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard, tmp_path: Path
) -> None:
    workdir = tmp_path / "job"
    workdir.mkdir()
    (workdir / "main.py").write_text("print('hello')\n")
    rayjob = tmp_path / "rayjob.yaml"
    rayjob.write_text(yaml.safe_dump({
        "apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "from-yaml"},
        "spec": {"submissionMode": "InteractiveMode",
                 "rayClusterSpec": {"headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [
            {"name": "ray-head", "image": "rayproject/ray:2.52.0",
             "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}}}}}))
    done = ray(kubeconfig, "job", "submit", "-n", ns, "-f", str(rayjob), "--working-dir", str(workdir),
               "--runtime-env-json", '{"env_vars": {"GREETING": "hi"}}', "--submission-id", "from-yaml-1",
               "--dashboard-address", standin.url, "--", "python", "main.py")
    job = standin.jobs["from-yaml-1"]
    assert job.entrypoint == "python main.py"
    assert job.request["runtime_env"]["env_vars"] == {"GREETING": "hi"}
    assert job.request["runtime_env"]["working_dir"].startswith("gcs://_ray_pkg_")
    status = json.loads(kubectl(kubeconfig, "get", "rayjob", "from-yaml", "-n", ns, "-o", "json").stdout)["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), done.stderr

    quick = ray(kubeconfig, "job", "submit", "-n", ns, "--name", "flags", *SMALL[:4], "--worker-replicas", "0",
                "--working-dir", str(workdir), "--entrypoint-num-cpus", "1", "--metadata-json", '{"team": "ml"}',
                "--submission-id", "flags-1", "--no-wait", "--dashboard-address", standin.url, "--", "python",
                "-c", "1")
    assert quick.returncode == 0
    spec = json.loads(kubectl(kubeconfig, "get", "rayjob", "flags", "-n", ns, "-o", "json").stdout)["spec"]
    assert spec["submissionMode"] == "InteractiveMode" and spec["jobId"] == "flags-1"
    assert standin.jobs["flags-1"].request["entrypoint_num_cpus"] == 1
    assert standin.jobs["flags-1"].request["metadata"] == {"team": "ml"}
    cluster = json.loads(kubectl(kubeconfig, "get", "rayjob", "flags", "-n", ns, "-o", "json").stdout)["status"][
        "rayClusterName"]
    proc = subprocess.Popen([str(binary("kubectl")), "ray", "session", "rayjob/flags", "-n", ns],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=plugin_env(kubeconfig),
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert lines == [f"Forwarding ports to service {cluster}-head-svc", "Ray Dashboard: http://localhost:8265",
                         ""]  # a RayJob's session forwards the dashboard only, as KubeRay's
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    bad = tmp_path / "not-a-job.yaml"
    bad.write_text("kind: Pod\n")
    assert_one_line_error(ray(kubeconfig, "job", "submit", "-f", str(bad), "--", "x", check=False),
                          "is not a RayJob manifest")
    assert_one_line_error(ray(kubeconfig, "job", "submit", "--", "x", check=False),
                          "Must set either yaml file (--filename) or set Ray job name (--name)")
    assert_one_line_error(ray(kubeconfig, "job", "submit", "--name", "x", "--", "x", check=False),
                          "working directory is required")


# Every command that talks to the API server, with arguments naming objects that do not exist.
EVERY_COMMAND = [["get", "cluster"], ["get", "cluster", "ghost"], ["get", "nodes"], ["get", "workergroups"],
                 ["get", "token", "ghost"], ["create", "cluster", "c", *SMALL], ["create", "workergroup", "g", "-c",
                 "ghost"], ["scale", "cluster", "ghost", "-w", "g", "-r", "1"], ["delete", "ghost", "-y"],
                 ["session", "ghost"], ["log", "ghost", "--out-dir", "{tmp}"],
                 ["job", "submit", "--name", "j", "--working-dir", "{tmp}", "--", "python", "x.py"]]


#: A command that reads and one that writes: enough to show a client-side fault through the real kubectl; every
#: command meets those faults in-process in tests/unit/cli/test_error_paths.py.
SOME_COMMANDS = [EVERY_COMMAND[0], EVERY_COMMAND[5]]


def test_errors_are_one_line(kubeconfig: Path, tmp_path: Path, ns: str, ray_crds: None) -> None:
    """Each fault through the real kubectl; the real API server's RBAC for every command."""
    assert_one_line_error(ray(kubeconfig, "get", "cluster", "--bogus", check=False), "No such option: --bogus")
    unreachable = unreachable_kubeconfig(kubeconfig, tmp_path / "unreachable.kubeconfig")
    limited = no_rights_kubeconfig(kubeconfig, ns, tmp_path / "limited.kubeconfig")
    faults = {"no kubeconfig": (tmp_path / "missing.kubeconfig", ("no kubeconfig at", "set KUBECONFIG"), SOME_COMMANDS),
              "unreachable": (unreachable, ("cannot reach the API server", "is the cluster up"), SOME_COMMANDS),
              "no RBAC": (limited, ("forbidden", "ask a cluster admin for RBAC permission"), EVERY_COMMAND)}
    for fault, (config, fragments, commands) in faults.items():
        env = {**plugin_env(kubeconfig), "KUBECONFIG": str(config)}
        for command in commands:
            args = [a.replace("{tmp}", str(tmp_path)) for a in command]
            cut = args.index("--") if "--" in args else len(args)
            done = ray(kubeconfig, *args[:cut], "-n", ns, *args[cut:], check=False, env=env, timeout=60)
            assert done.returncode != 0, (fault, command)
            assert_one_line_error(done, *fragments)
    debug = ray(kubeconfig, "get", "cluster", "-n", ns, "--debug", check=False,
                env={**plugin_env(kubeconfig), "KUBECONFIG": str(limited)})
    assert "Traceback" in debug.stderr and debug.returncode == 1


def test_raykube_offers_the_same_commands(kubeconfig: Path, ray_crds: None) -> None:
    raykube = shutil.which("raykube", path=str(Path(sys.executable).parent))
    assert raykube is not None
    done = subprocess.run([raykube, "get", "cluster", "-A"], capture_output=True, text=True,
                          env=plugin_env(kubeconfig), check=True)
    assert columns(done.stdout.splitlines()[0]) == KUBERAY_CLUSTER
    helped = subprocess.run([raykube, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("local", "render", "operator", "job", "get", "create", "scale", "delete", "session", "log"):
        assert re.search(rf"\b{command}\b", helped), command
