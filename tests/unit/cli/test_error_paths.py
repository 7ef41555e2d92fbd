"""Every user-facing command fails with one line saying what went wrong and what to do: no traceback.

(Also here, since it needs the entry point and no API server: `create cluster --dry-run` with every flag.)

Each command of ``kubectl ray``, ``raykube doctor`` and ``raykube get`` is run in-process (the console scripts'
own entry points) against each fault: no kubeconfig, a kubeconfig that is not YAML, an unknown context, an
API server nobody listens on, a stand-in API server (:mod:`.fakeapi`) that refuses everything (403, 401),
that has no ray.io CRDs, or that holds no objects, and a bad flag. The same faults through the real kubectl
binary and the real API server (with real RBAC) are in tests/integration/test_kubectl_ray.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from raykube.cli import main as raykube_main
from raykube.cli.kubectl_ray import app as kubectl_ray_app
from tests.unit.cli.fakeapi import fake_api, write_kubeconfig

Entry = Callable[[list[str] | None], None]

# (entry point, arguments, what the "missing object" answer must say); {out} is a scratch directory.
COMMANDS: list[tuple[str, list[str], str]] = [
    ("kubectl-ray", ["get", "cluster"], ""),
    ("kubectl-ray", ["get", "cluster", "ghost"], "Ray cluster ghost not found in namespace ns"),
    ("kubectl-ray", ["get", "nodes", "ghost"], "Ray node ghost not found in namespace ns in any Ray cluster"),
    ("kubectl-ray", ["get", "workergroups", "ghost"], "Ray worker group ghost not found in namespace ns"),
    ("kubectl-ray", ["get", "token", "ghost"], "failed to get RayCluster ns/ghost"),
    ("kubectl-ray", ["create", "cluster", "c", "--head-cpu", "1"], ""),
    ("kubectl-ray", ["create", "workergroup", "g", "-c", "ghost"], "error getting Ray cluster"),
    ("kubectl-ray", ["scale", "cluster", "ghost", "-w", "g", "-r", "1"], "failed to scale"),
    ("kubectl-ray", ["delete", "ghost", "-y"], "failed to delete raycluster/ghost"),
    ("kubectl-ray", ["session", "ghost"], "Ray cluster ghost not found in namespace ns"),
    ("kubectl-ray", ["log", "ghost", "--out-dir", "{out}"], "Ray cluster ghost not found in namespace ns"),
    ("kubectl-ray", ["job", "submit", "--name", "j", "--working-dir", "{out}", "--verify", "false", "--log-style",
                     "record", "--log-color", "false", "--", "python", "x.py"], ""),  # Ray CLI flags: accepted
    ("raykube", ["doctor", "raycluster/ghost"], "RayCluster ghost not found in namespace ns"),
    ("raykube", ["doctor", "rayjob/ghost", "-o", "json"], "RayJob ghost not found in namespace ns"),
    ("raykube", ["doctor", "-A"], ""),
    ("raykube", ["get", "cluster"], ""),
]
ENTRIES: dict[str, Entry] = {"kubectl-ray": kubectl_ray_app.main, "raykube": raykube_main.main}


def ids(command: tuple[str, list[str], str]) -> str:
    return f"{command[0]} {' '.join(a for a in command[1] if a != '{out}')}"


def run(capsys: pytest.CaptureFixture[str], entry: str, args: list[str], out: Path) -> tuple[int, str, str]:
    argv = [a.replace("{out}", str(out)) for a in args]
    with pytest.raises(SystemExit) as done:
        ENTRIES[entry](argv)
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def assert_one_line(code: int, err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert code != 0, err
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No kubeconfig of the machine's user leaks in, and no debug mode."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("RAYKUBE_DEBUG", raising=False)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    (path / "main.py").write_text("print(1)\n")
    return path


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with fake_api(request.param) as url:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "fake.kubeconfig", url)))
        yield


@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_no_kubeconfig(capsys: pytest.CaptureFixture[str], out: Path, command: tuple[str, list[str], str]) -> None:
    code, _, err = run(capsys, command[0], command[1], out)
    assert_one_line(code, err, "no kubeconfig at ~/.kube/config", "set KUBECONFIG")


@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_a_kubeconfig_that_is_not_yaml(capsys: pytest.CaptureFixture[str], out: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, command: tuple[str, list[str], str]) -> None:
    broken = tmp_path / "broken.kubeconfig"
    broken.write_text("clusters: [\n")
    monkeypatch.setenv("KUBECONFIG", str(broken))
    code, _, err = run(capsys, command[0], command[1], out)
    assert_one_line(code, err, f"the kubeconfig {broken} is not valid YAML (line 2)")


@pytest.mark.parametrize("command", COMMANDS[:2], ids=ids)
def test_an_unknown_context(capsys: pytest.CaptureFixture[str], out: Path, tmp_path: Path,
                            command: tuple[str, list[str], str]) -> None:
    config = write_kubeconfig(tmp_path / "k", "http://127.0.0.1:1")
    code, _, err = run(capsys, command[0], [*command[1], "--kubeconfig", str(config), "--context", "nope"], out)
    assert_one_line(code, err, "Context 'nope' not found", "kubectl config get-contexts")


@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_an_unreachable_api_server(capsys: pytest.CaptureFixture[str], out: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch, command: tuple[str, list[str], str]) -> None:
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "k", "http://127.0.0.1:1")))
    code, _, err = run(capsys, command[0], command[1], out)
    assert_one_line(code, err, "cannot reach the API server", "is the cluster up")


@pytest.mark.parametrize("served", ["forbidden"], indirect=True)
@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_missing_rbac(capsys: pytest.CaptureFixture[str], out: Path, served: None,
                      command: tuple[str, list[str], str]) -> None:
    code, _, err = run(capsys, command[0], command[1], out)
    assert_one_line(code, err, "is forbidden", "ask a cluster admin for RBAC permission")


@pytest.mark.parametrize("served", ["unauthorized"], indirect=True)
@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_rejected_credentials(capsys: pytest.CaptureFixture[str], out: Path, served: None,
                              command: tuple[str, list[str], str]) -> None:
    code, _, err = run(capsys, command[0], command[1], out)
    assert_one_line(code, err, "rejected the credentials", "renew the token")


@pytest.mark.parametrize("served", ["no-crds"], indirect=True)
@pytest.mark.parametrize("command", [c for c in COMMANDS if c[1][0] == "get" and c[1][1] == "cluster"], ids=ids)
def test_ray_crds_not_installed(capsys: pytest.CaptureFixture[str], out: Path, served: None,
                                command: tuple[str, list[str], str]) -> None:
    code, _, err = run(capsys, command[0], command[1], out)
    assert_one_line(code, err, "are the ray.io CRDs installed?")


@pytest.mark.parametrize("served", ["empty"], indirect=True)
@pytest.mark.parametrize("command", [c for c in COMMANDS if c[2]], ids=ids)
def test_missing_objects(capsys: pytest.CaptureFixture[str], out: Path, served: None,
                         command: tuple[str, list[str], str]) -> None:
    code, _, err = run(capsys, command[0], command[1], out)
    assert_one_line(code, err, command[2])


@pytest.mark.parametrize("entry", ["kubectl-ray", "raykube"])
@pytest.mark.parametrize("args", [["get", "cluster", "--bogus"], ["get", "nodes", "-A", "extra", "args"],
                                  ["scale", "cluster", "c", "-r", "many"]], ids=["option", "argument", "value"])
def test_bad_flags_are_usage_errors(capsys: pytest.CaptureFixture[str], out: Path, entry: str,
                                    args: list[str]) -> None:
    code, _, err = run(capsys, entry, args, out)
    assert code == 2
    assert_one_line(code, err, "--help")


@pytest.mark.parametrize("args", [["doctor", "--bogus"], ["doctor", "-o", "xml"], ["doctor", "pod/x"]],
                         ids=["option", "output", "kind"])
def test_doctor_refuses_bad_arguments(capsys: pytest.CaptureFixture[str], out: Path, args: list[str]) -> None:
    code, _, err = run(capsys, "raykube", args, out)
    assert_one_line(code, err)


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str], out: Path) -> None:
    code, _, err = run(capsys, "kubectl-ray", ["get", "cluster", "--debug"], out)
    assert code == 1 and "Traceback" in err and err.strip().splitlines()[-1].startswith("Error: no kubeconfig")
    code, _, err = run(capsys, "raykube", ["--debug", "doctor"], out)
    assert code == 1 and "Traceback" in err
    # --debug holds for its own call only: an in-process caller's next call (and its subprocesses, which
    # inherit the environment) is back to one line.
    assert "RAYKUBE_DEBUG" not in os.environ
    assert_one_line(*run(capsys, "kubectl-ray", ["get", "cluster"], out)[::2])


def test_a_kubeconfig_without_contexts(capsys: pytest.CaptureFixture[str], out: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.kubeconfig"
    empty.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config"}))
    monkeypatch.setenv("KUBECONFIG", str(empty))
    code, _, err = run(capsys, "kubectl-ray", ["get", "cluster"], out)
    assert_one_line(code, err, f"the kubeconfig {empty} lacks 'clusters'", "kubectl config view")


def test_version_warns_when_the_operator_cannot_be_looked_up(capsys: pytest.CaptureFixture[str], out: Path,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As KubeRay's plugin: the plugin version always, the operator lookup failing is a warning (exit 0); a
    kubeconfig that cannot be used at all is an error."""
    code, printed, err = run(capsys, "kubectl-ray", ["version"], out)
    assert printed.startswith("kubectl ray plugin version: ")
    assert_one_line(code, err, "no kubeconfig at")
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "k", "http://127.0.0.1:1")))
    code, printed, err = run(capsys, "kubectl-ray", ["version"], out)
    lines = printed.splitlines()
    assert code == 0 and not err and len(lines) == 2
    assert lines[1].startswith("warning: KubeRay operator installation cannot be found: cannot reach the API server")
    assert lines[1].endswith('Did you install it with the name "kuberay-operator"?')
    with fake_api("forbidden") as url:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "k", url)))
        code, printed, err = run(capsys, "kubectl-ray", ["version"], out)
    assert code == 0 and "cannot be found: forbidden: deployments is forbidden" in printed
    with fake_api("empty") as url:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "k", url)))
        code, printed, err = run(capsys, "kubectl-ray", ["version"], out)
    assert code == 0 and "cannot be found: no Deployment kuberay-operator in any namespace. Did" in printed


def test_create_cluster_flags_shape_the_dry_run(capsys: pytest.CaptureFixture[str], out: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `create cluster` flag of docs/kubectl-ray.md, as it lands in the printed RayCluster (no API call)."""
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "k", "http://127.0.0.1:1")))
    tpu = "cloud.google.com/gke-tpu-topology=2x2,cloud.google.com/gke-tpu-accelerator=tpu-v4"
    code, printed, _ = run(capsys, "kubectl-ray", [
        "create", "cluster", "c", "--dry-run", "--labels", "app=ray,env=dev", "--annotations", "owner=me",
        "--image", "img:1", "--head-cpu", "3", "--head-memory", "5Gi", "--head-gpu", "1",
        "--head-ephemeral-storage", "10Gi", "--head-ray-start-params", "num-cpus=0", "--head-node-selectors",
        "pool=head", "--worker-replicas", "2", "--worker-cpu", "1", "--worker-memory", "2Gi", "--worker-gpu", "1",
        "--worker-tpu", "4", "--worker-ephemeral-storage", "5Gi", "--worker-ray-start-params",
        "object-store-memory=100", "--worker-node-selectors", tpu, "--num-of-hosts", "2", "--autoscaler", "v2"], out)
    assert code == 0
    body = yaml.safe_load(printed)
    assert body["metadata"] == {"name": "c", "namespace": "ns", "labels": {"app": "ray", "env": "dev"},
                                "annotations": {"owner": "me"}}
    head = body["spec"]["headGroupSpec"]
    assert head["rayStartParams"] == {"dashboard-host": "0.0.0.0", "num-cpus": "0"}
    assert head["template"]["spec"]["nodeSelector"] == {"pool": "head"}
    container = head["template"]["spec"]["containers"][0]
    assert container["image"] == "img:1"
    assert container["resources"]["requests"] == {"cpu": "3", "memory": "5Gi", "ephemeral-storage": "10Gi",
                                                  "nvidia.com/gpu": "1"}
    group = body["spec"]["workerGroupSpecs"][0]
    assert (group["replicas"], group["numOfHosts"], group["rayStartParams"]) == (2, 2, {"object-store-memory": "100"})
    assert group["template"]["spec"]["nodeSelector"]["cloud.google.com/gke-tpu-accelerator"] == "tpu-v4"
    assert group["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "memory": "2Gi", "ephemeral-storage": "5Gi", "nvidia.com/gpu": "1", "google.com/tpu": "4"}
    assert (body["spec"]["enableInTreeAutoscaling"], body["spec"]["autoscalerOptions"]) == (True, {"version": "v2"})


@pytest.mark.parametrize(("entry", "args", "usage"), [("kubectl-ray", ["get"], "Usage: kubectl ray get"),
                                                     ("kubectl-ray", ["create"], "Usage: kubectl ray create"),
                                                     ("raykube", ["get"], "Usage: raykube get")])
def test_a_group_without_its_subcommand_prints_its_help(capsys: pytest.CaptureFixture[str], out: Path, entry: str,
                                                        args: list[str], usage: str) -> None:
    code, printed, err = run(capsys, entry, args, out)
    assert code == 0 and usage in printed and not err
