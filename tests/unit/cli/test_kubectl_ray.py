"""The pure parts of `kubectl ray`: KubeRay's tables and kubectl's padding, the generated RayCluster, flags."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.api.raycluster import RayCluster
from raykube.cli.kubectl_ray import generate, jobs, manage, tables
from raykube.cli.kubectl_ray.session import PluginError

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("seconds", "text"), [
    pytest.param(-5, "<invalid>", id="future"), pytest.param(0, "0s", id="zero"), pytest.param(119, "119s", id="s"),
    pytest.param(120, "2m", id="2m"), pytest.param(200, "3m20s", id="m-s"), pytest.param(900, "15m", id="15m"),
    pytest.param(3 * 3600 + 60 * 5, "3h5m", id="h-m"), pytest.param(30 * 3600, "30h", id="30h"),
    pytest.param(3 * 86400 + 4 * 3600, "3d4h", id="d-h"), pytest.param(90 * 86400, "90d", id="90d"),
    pytest.param(3 * 365 * 86400 + 10 * 86400, "3y10d", id="y-d"), pytest.param(9 * 365 * 86400, "9y", id="9y"),
])
def test_ages_read_like_kubectls(seconds: float, text: str) -> None:
    assert tables.human_duration(seconds) == text


def test_tables_pad_like_kubectls_tabwriter() -> None:
    text = tables.render(("Name", "Replicas", "Cluster"), [["a-very-long-name", "1/1", "c"]])
    assert text == ("NAME               REPLICAS   CLUSTER\n"
                    "a-very-long-name   1/1        c\n")


def cluster(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "rc", "namespace": "ns", "creationTimestamp": "2025-12-31T23:59:00Z"},
            "status": status}


def test_cluster_rows_show_the_most_relevant_condition() -> None:
    conditions = [{"type": "HeadPodReady", "status": "True"}, {"type": "RayClusterProvisioned", "status": "True"}]
    row = tables.cluster_rows([cluster(desiredWorkerReplicas=2, availableWorkerReplicas=1, desiredCPU="3",
                                       desiredMemory="6Gi", state="ready", conditions=conditions)], NOW)[0]
    assert row == ["rc", "ns", "2", "1", "3", "0", "0", "6Gi", "RayClusterProvisioned", "ready", "60s"]
    suspended = [{"type": "RayClusterProvisioned", "status": "False"}, {"type": "RayClusterSuspended",
                                                                        "status": "True"}]
    assert tables.relevant_condition(cluster(conditions=suspended)) == "RayClusterSuspended"
    assert tables.cluster_rows([{"metadata": {"name": "x"}}], NOW)[0][-1] == "<unknown>"


def test_workergroup_totals_use_limits_where_requests_are_missing() -> None:
    group = {"groupName": "g", "replicas": 3, "template": {"spec": {"containers": [
        {"resources": {"requests": {"cpu": "500m"}, "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}}},
        {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]}}}
    ready = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    row = tables.workergroup_row(cluster(), group, [ready, {"status": {"phase": "Pending"}}], all_namespaces=True)
    assert row == ["ns", "g", "1/3", "3", "3", "0", "4608Mi", "rc"]
    suspended = tables.workergroup_row(cluster(), {**group, "suspend": True}, [], all_namespaces=False)
    assert suspended[2:6] == ["0", "0", "0", "0"]


def test_the_default_cluster_is_kuberays_and_a_valid_raycluster() -> None:
    body = generate.raycluster(generate.ClusterConfig(name="c", namespace="ns"))
    RayCluster.model_validate(body)
    head = body["spec"]["headGroupSpec"]
    assert head["rayStartParams"] == {"dashboard-host": "0.0.0.0"}
    assert head["template"]["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"},
                                                                      "limits": {"memory": "4Gi"}}
    assert body["spec"]["workerGroupSpecs"][0]["groupName"] == "default-group"


@pytest.mark.parametrize(("config", "message"), [
    pytest.param(generate.ClusterConfig(name="c", namespace="n", head=generate.NodeShape(cpu="two")),
                 "--head-cpu: 'two' is not a valid resource quantity", id="quantity"),
    pytest.param(generate.ClusterConfig(name="c", namespace="n", groups=[generate.GroupShape(tpu="4")]),
                 "--worker-tpu needs --worker-node-selectors", id="tpu"),
    pytest.param(generate.ClusterConfig(name="c", namespace="n", autoscaler="v3"), "--autoscaler", id="autoscaler"),
])
def test_bad_flags_are_refused(config: generate.ClusterConfig, message: str) -> None:
    with pytest.raises(generate.ConfigError, match=message):
        generate.validate(config)


def test_config_file_names_must_agree_with_flags() -> None:
    data = {"name": "a", "namespace": "x", "worker-groups": [{"name": "g", "replicas": 2, "cpu": "3"}]}
    config = generate.from_file(data, name=None, namespace=None)
    assert (config.name, config.namespace, config.groups[0].replicas, config.groups[0].cpu) == ("a", "x", 2, "3")
    with pytest.raises(generate.ConfigError, match='does not match the cluster name "b"'):
        generate.from_file(data, name="b", namespace=None)
    with pytest.raises(generate.ConfigError, match="--namespace=x"):
        generate.from_file(data, name=None, namespace="y")


def test_scale_bounds_are_checked() -> None:
    group = {"replicas": 2, "minReplicas": 1, "maxReplicas": 4}
    assert manage.new_replicas(group, 3, -1, -1) == {"replicas": 3}
    assert manage.new_replicas(group, 6, -1, 8) == {"replicas": 6, "maxReplicas": 8}
    with pytest.raises(PluginError, match="must be between"):
        manage.new_replicas(group, 5, -1, -1)
    with pytest.raises(PluginError, match="must not be greater"):
        manage.new_replicas(group, -1, 5, 3)


def test_delete_targets() -> None:
    assert manage.parse_targets(["a", "RayJob/b", "rayservice/c"]) == [("raycluster", "a"), ("rayjob", "b"),
                                                                      ("rayservice", "c")]
    for bad, message in (("pod/x", "unsupported resource type"), ("rayjob/", "invalid resource type/name")):
        with pytest.raises(PluginError, match=message):
            manage.parse_targets([bad])


def test_job_submit_needs_interactive_mode_and_takes_the_runtime_env_by_precedence(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({"kind": "RayJob", "metadata": {"name": "j"},
                                    "spec": {"submissionMode": "InteractiveMode", "entrypoint": "old",
                                             "runtimeEnvYAML": "pip: [a]\n"}}))
    common: dict[str, Any] = {"image": "img", "ray_version": "2.52.0", "head_cpu": "1", "head_memory": "1Gi",
                              "worker_replicas": 1, "worker_cpu": "1", "worker_memory": "1Gi"}
    body = jobs.build("python x.py", file=path, name=None, namespace="ns", **common)
    assert body["spec"]["entrypoint"] == "python x.py" and body["metadata"] == {"name": "j", "namespace": "ns"}
    assert jobs.runtime_env(body, None, None) == {"pip": ["a"]}
    env_file = tmp_path / "env.yaml"
    env_file.write_text("env_vars: {A: '1'}\n")
    assert jobs.runtime_env(body, env_file, None) == {"env_vars": {"A": "1"}}
    assert jobs.runtime_env(body, env_file, '{"pip": ["b"]}') == {"pip": ["b"]}
    path.write_text(yaml.safe_dump({"kind": "RayJob", "spec": {"submissionMode": "HTTPMode"}}))
    with pytest.raises(ValueError, match="must be set to 'InteractiveMode'"):
        jobs.build("x", file=path, name="n", namespace="ns", **common)
    with pytest.raises(ValueError, match=r"Must set either yaml file \(--filename\) or set Ray job name"):
        jobs.build("x", file=None, name=None, namespace="ns", **common)
    flags = jobs.build("x", file=None, name="n", namespace="ns", **common)
    assert flags["spec"]["submissionMode"] == "InteractiveMode"
    worker = flags["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    assert worker["resources"]["requests"] == {"cpu": "1", "memory": "1Gi"}


def test_session_restarts_the_port_forward_until_it_ends(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A port-forward that fails (its head pod replaced) is restarted after 3 s; one that ends normally ends it."""
    from raykube.cli.kubectl_ray import access
    from raykube.cli.kubectl_ray.app import main
    from tests.unit.cli.fakeapi import write_kubeconfig

    async def cluster_of(*_: Any) -> str:
        return "c"

    calls: list[list[str]] = []
    exits = iter([1, 1, 0])
    slept: list[float] = []
    monkeypatch.setattr(access, "head_cluster", cluster_of)
    def call(command: list[str]) -> int:
        calls.append(command)
        return next(exits)

    monkeypatch.setattr("raykube.cli.kubectl_ray.access.subprocess.call", call)
    monkeypatch.setattr("raykube.cli.kubectl_ray.access.time.sleep", slept.append)
    monkeypatch.setenv("KUBECTL", "kubectl-stub")
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "k", "http://127.0.0.1:1")))
    with pytest.raises(SystemExit) as done:
        main(["session", "c"])
    assert done.value.code == 0
    assert calls == [["kubectl-stub", "port-forward", "-n", "ns", "--address=localhost", "service/c-head-svc",
                      "8265:8265", "10001:10001"]] * 3
    assert slept == [access.RECONNECT_DELAY] * 2 == [3.0, 3.0]
    assert capsys.readouterr().out.count("failed to port-forward: exit status 1. Retrying in 3s ...") == 2


ARCHIVE = b"<the archive>"  # stands for a tar archive of three Ray log files


def _archive(files: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize(("code", "stdout", "stderr", "problem"), [
    pytest.param(0, ARCHIVE, b"", None, id="tar-ok"),
    # GNU tar exits 1 when a log file grew while it was read (`--warning=no-file-changed` only hides the message).
    pytest.param(1, ARCHIVE, b"", None, id="file-changed"),
    pytest.param(1, b"", b"error: unable to upgrade connection: pod does not exist\n",
                 "unable to upgrade connection: pod does not exist", id="no-exec"),
    pytest.param(2, ARCHIVE, b"tar: ./x: Cannot open: Permission denied\ntar: Exiting with failure status\n",
                 "tar: Exiting with failure status", id="tar-failed"),
    pytest.param(0, b"not a tar archive at all", b"", "not a tar archive", id="garbage"),
])
def test_log_download_lays_files_out_like_kuberays(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int,
                                                    stdout: bytes, stderr: bytes, problem: str | None) -> None:
    """DIR/<pod>/stdout.log (the Ray container's output) and /tmp/ray/session_latest/logs' files beside it."""
    import subprocess
    from typing import cast

    from raykube.cli.kubectl_ray import access
    from raykube.cli.kubectl_ray.session import Target
    from raykube.runtime.apiaccess import ApiAccess

    async def container_log(*_: Any) -> list[str]:
        return ["ray start --head", "started"]

    ran: list[list[str]] = []
    archive = _archive({"raylet.out": b"raylet\n", "gcs_server.out": b"gcs\n", "events/event_GCS.log": b"{}\n"})

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[bytes]:
        ran.append(command)
        return subprocess.CompletedProcess(command, code, archive if stdout == ARCHIVE else stdout, stderr)

    monkeypatch.setattr(access, "_container_log", container_log)
    monkeypatch.setattr("raykube.cli.kubectl_ray.access.subprocess.run", run)
    monkeypatch.setenv("KUBECTL", "kubectl-stub")
    target = Target(None, None, "ns", cast(ApiAccess, None))
    pod = {"metadata": {"name": "c-head-x"}, "spec": {"containers": [{"name": "ray-head"}, {"name": "sidecar"}]}}
    problems = access._download(target, pod, tmp_path / "c-head-x")
    assert ran == [["kubectl-stub", "exec", "-n", "ns", "c-head-x", "-c", "ray-head", "--", "tar",
                    "--warning=no-file-changed", "-cf", "-", "-C", "/tmp/ray/session_latest/logs/", "."]]
    assert (tmp_path / "c-head-x" / "stdout.log").read_text() == "ray start --head\nstarted\n"
    if problem is None:
        assert problems == []
        assert (tmp_path / "c-head-x" / "raylet.out").read_text() == "raylet\n"
        assert (tmp_path / "c-head-x" / "gcs_server.out").read_text() == "gcs\n"
        assert (tmp_path / "c-head-x" / "events" / "event_GCS.log").is_file()
    else:
        assert len(problems) == 1 and problems[0].startswith("could not copy /tmp/ray/session_latest/logs/")
        assert problem in problems[0]
        assert sorted(p.name for p in (tmp_path / "c-head-x").iterdir()) == ["stdout.log"]
