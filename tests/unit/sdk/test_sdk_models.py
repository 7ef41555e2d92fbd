"""The SDK's pure parts: configs become valid ray.io/v1 objects, connections pick the right source, calls work
inside a running event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from raykube.api.rayjob import RayJob
from raykube.sdk import ClusterConfig, Connection, SdkError
from raykube.sdk.connection import sync
from raykube.sdk.job import rayjob_body


def test_a_cluster_config_is_a_valid_raycluster() -> None:
    config = ClusterConfig(name="demo", num_workers=3, worker_gpu=1, labels={"team": "ml"},
                           pod_annotations={"a": "b"}, ray_start_params={"num-cpus": "1"})
    cluster = config.to_raycluster("ns")
    body = cluster.to_json()
    assert body["metadata"] == {"name": "demo", "namespace": "ns", "labels": {"team": "ml"}}
    group = body["spec"]["workerGroupSpecs"][0]
    assert (group["replicas"], group["minReplicas"], group["maxReplicas"]) == (3, 0, 3)
    worker = group["template"]["spec"]["containers"][0]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert group["template"]["metadata"]["annotations"] == {"a": "b"}


def test_a_job_runs_on_an_existing_or_a_new_cluster() -> None:
    attached = rayjob_body("j", "ns", "python x.py", runtime_env={"pip": ["a"]}, cluster="demo", cluster_config=None,
                           shutdown_after_finish=True, ttl_seconds=60)
    RayJob.model_validate(attached)
    assert attached["spec"]["clusterSelector"] == {"ray.io/cluster": "demo"}
    assert "shutdownAfterJobFinishes" not in attached["spec"]
    assert yaml.safe_load(attached["spec"]["runtimeEnvYAML"]) == {"pip": ["a"]}
    fresh = rayjob_body("j", "ns", "python x.py", runtime_env=None, cluster=None,
                        cluster_config=ClusterConfig(name="ignored"), shutdown_after_finish=True, ttl_seconds=30)
    assert fresh["spec"]["rayClusterSpec"]["rayVersion"] == "2.52.0"
    assert (fresh["spec"]["shutdownAfterJobFinishes"], fresh["spec"]["ttlSecondsAfterFinished"]) == (True, 30)
    with pytest.raises(SdkError, match="needs cluster="):
        rayjob_body("j", "ns", "x", runtime_env=None, cluster=None, cluster_config=None,
                    shutdown_after_finish=True, ttl_seconds=0)


def test_in_cluster_config_is_used_only_without_a_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    assert Connection()._in_cluster()
    assert not Connection(kubeconfig="/some/kubeconfig")._in_cluster()
    assert not Connection(in_cluster=False)._in_cluster()
    monkeypatch.setenv("KUBECONFIG", "/x")
    assert not Connection()._in_cluster()
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    monkeypatch.delenv("KUBECONFIG")
    assert not Connection()._in_cluster()


def test_sync_calls_work_inside_a_running_loop() -> None:
    async def answer() -> int:
        return 42

    async def notebook_cell() -> int:
        return sync(answer())

    assert sync(answer()) == 42
    assert asyncio.run(notebook_cell()) == 42
