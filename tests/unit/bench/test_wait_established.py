"""`wait_established` waits through kubectl's answer for a CRD with no status conditions yet, and fails on others."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from bench import localcluster

NIL = ".status.conditions accessor error: <nil> is of the type <nil>, expected []interface{}"


def _answers(monkeypatch: pytest.MonkeyPatch, answers: list[tuple[int, str]]) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        code, err = answers.pop(0)
        return subprocess.CompletedProcess(argv, code, "", err)

    monkeypatch.setattr(localcluster, "binary", lambda name: Path("/bin") / name)
    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(time, "sleep", lambda _: None)
    return calls


def test_a_crd_without_conditions_yet_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, [(1, NIL), (1, NIL), (0, "")])
    localcluster.wait_established(Path("kc"), ["crd/rayclusters.ray.io"])
    assert len(calls) == 3
    assert all(c[-1] == "crd/rayclusters.ray.io" and "--for=condition=Established" in c for c in calls)


def test_any_other_failure_is_raised_at_once_with_kubectls_message(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, [(1, 'Error from server (NotFound): crd "x" not found')])
    with pytest.raises(RuntimeError, match="NotFound"):
        localcluster.wait_established(Path("kc"), ["crd/x"])
    assert len(calls) == 1


def test_the_ray_crd_names_come_from_the_generated_files() -> None:
    assert localcluster.ray_crd_names() == ["crd/rayclusters.ray.io", "crd/raycronjobs.ray.io", "crd/rayjobs.ray.io",
                                            "crd/rayservices.ray.io"]
