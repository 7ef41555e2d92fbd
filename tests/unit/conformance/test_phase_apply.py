"""The conformance harness applies each sample until kubectl accepts it, and reports an error that stays."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from bench.conformance import phase
from bench.conformance.samples import Sample


def _sample() -> Sample:
    doc = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"}}
    return Sample(name="s", applied=[doc])


def _answers(monkeypatch: pytest.MonkeyPatch, answers: list[tuple[int, str]]) -> list[str]:
    inputs: list[str] = []

    def kubectl(kubeconfig: Path, *args: str, input: str | None = None, check: bool = True) -> Any:
        inputs.append(input or "")
        code, err = answers.pop(0)
        return subprocess.CompletedProcess(args, code, "", err)

    monkeypatch.setattr(phase, "kubectl", kubectl)
    return inputs


def test_a_create_resent_by_kubectl_then_refused_as_already_existing_is_applied_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _answers(monkeypatch, [(1, 'Error from server (AlreadyExists): clusterroles "reader" already exists'),
                                    (0, "")])
    assert phase._apply(Path("kc"), _sample(), "ns-000", pause=0) == ""
    assert len(inputs) == 2 and inputs[0] == inputs[1] and "reader" in inputs[0]


def test_an_error_that_stays_is_reported_after_the_last_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = _answers(monkeypatch, [(1, "error: invalid"), (1, "error: invalid"), (1, "error: still invalid")])
    assert phase._apply(Path("kc"), _sample(), "ns-000", pause=0) == "error: still invalid"
    assert len(inputs) == phase.APPLY_ATTEMPTS
