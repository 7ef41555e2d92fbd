"""Run the raykube operator as a real process against the local cluster (as a user or the chart would)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from raykube.operator.process import OperatorProcess

__all__ = ["OperatorProcess", "running_operator"]


def running_operator(kubeconfig: Path, log_dir: Path, **options: Any) -> Iterator[OperatorProcess]:
    """An OperatorProcess (``options`` as its constructor takes them), ready, stopped afterwards: the body of a
    fixture (``yield from running_operator(...)``)."""
    proc = OperatorProcess(kubeconfig, log_dir, **options)
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()
