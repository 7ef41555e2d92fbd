"""`raykube local up/kubeconfig/status/down` as a user runs them, in a separate state directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from raykube.local.binaries import versions
from raykube.local.cluster import ClusterConfig, LocalCluster
from raykube.local.controlplane.components import etcd_data_dir
from raykube.local.processes import ComponentFailedError, ProcessRecord, is_alive

pytestmark = pytest.mark.integration


def _raykube(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "raykube.cli.main", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_up_kubeconfig_status_down_leaves_no_process_behind(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    up = _raykube("local", "up", "--state-dir", state, "--fake-nodes", "1")
    assert up.returncode == 0, up.stderr
    kubeconfig = _raykube("local", "kubeconfig", "--state-dir", state)
    assert kubeconfig.stdout.strip() == up.stdout.strip().splitlines()[-1]
    assert Path(kubeconfig.stdout.strip()).is_file()
    assert "kube-apiserver healthy" in up.stderr  # per-component progress

    status = _raykube("local", "status", "--state-dir", state)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "api: ready" in status.stdout

    again = _raykube("local", "up", "--state-dir", state, "--fake-nodes", "1")
    assert again.returncode == 0 and "already up" in again.stderr

    records = [ProcessRecord.from_json(p) for p in json.loads((tmp_path / "state/state.json").read_text())["processes"]]
    assert {r.name for r in records} == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
    down = _raykube("local", "down", "--state-dir", state)
    assert down.returncode == 0, down.stderr
    assert [r.name for r in records if is_alive(r)] == []
    assert "nothing was running" in _raykube("local", "down", "--state-dir", state).stderr


def test_a_component_that_fails_is_named_with_its_log_and_nothing_is_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tool cache whose etcd is real but whose kube-apiserver dies at once with a message.
    real_cache = Path(os.environ.get("RAYKUBE_CACHE", Path.home() / ".cache" / "raykube"))
    cache = tmp_path / "cache"
    k8s = versions()["K8S_VERSION"]
    for name, version in (("etcd", versions()["ETCD_VERSION"]), ("kube-apiserver", k8s)):
        (cache / "bin" / f"{name}-{version}").mkdir(parents=True)
    etcd_version = versions()["ETCD_VERSION"]
    (cache / "bin" / f"etcd-{etcd_version}" / "etcd").symlink_to(real_cache / "bin" / f"etcd-{etcd_version}" / "etcd")
    fake = cache / "bin" / f"kube-apiserver-{k8s}" / "kube-apiserver"
    fake.write_text("#!/bin/sh\necho 'E1126 open /nonexistent/apiserver.crt: no such file'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("RAYKUBE_CACHE", str(cache))

    cluster = LocalCluster(ClusterConfig(state_dir=tmp_path / "state", timeout=20))
    with pytest.raises(ComponentFailedError) as err:
        cluster.up()
    assert "kube-apiserver exited before it was healthy" in str(err.value)
    assert "/nonexistent/apiserver.crt" in str(err.value)
    assert cluster.records() == []  # down() ran and forgot the state
    assert not etcd_data_dir(tmp_path / "state").exists()
