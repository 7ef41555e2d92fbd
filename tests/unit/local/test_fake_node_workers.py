"""`raykube local up --fake-node-workers`: how many pods kwok (every fake node's kubelet) starts at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from raykube.cli.local import app
from raykube.local.nodes import fake


def _documents(text: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(text))


def test_by_default_kwok_keeps_its_own_worker_count_and_gets_only_our_stages() -> None:
    documents = _documents(fake.kwok_config())
    assert {d["kind"] for d in documents} == {"Stage"}
    assert documents == _documents(yaml.safe_dump_all(fake.pod_stages(), sort_keys=False))


def test_a_worker_count_becomes_kwoks_pod_stage_parallelism_before_the_stages() -> None:
    first, *stages = _documents(fake.kwok_config(32))
    assert first == {"apiVersion": "config.kwok.x-k8s.io/v1alpha1", "kind": "KwokConfiguration",
                     "options": {"podPlayStageParallelism": 32}}
    assert [s["metadata"]["name"] for s in stages] == [s["metadata"]["name"] for s in fake.pod_stages()]


def test_the_cli_refuses_a_negative_worker_count(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["up", "--state-dir", str(tmp_path), "--fake-node-workers", "-1"])
    assert result.exit_code == 2
    assert "--fake-node-workers" in result.output
