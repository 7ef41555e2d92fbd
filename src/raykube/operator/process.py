"""`raykube operator` as a child process, with its own metrics/probe ports and a log file.

What the integration tests and the benchmarks (`bench/`) run: the operator exactly as a user or the chart
starts it, talking to a real API server. Not used by the operator itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from raykube.local.ports import free_ports


class OperatorProcess:
    """`raykube operator` in a subprocess with its own metrics/probe ports and a log file."""

    def __init__(
        self,
        kubeconfig: Path,
        log_dir: Path,
        *,
        name: str = "operator",
        lease_namespace: str = "default",
        extra: tuple[str, ...] = (),
        program: tuple[str, ...] = (sys.executable, "-m", "raykube.cli.main", "operator"),
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`program` runs the operator; bench/ passes KubeRay's Go operator, which takes the same flags.
        ``env`` is added to the process environment (KubeRay's switches, e.g. ENABLE_GCS_FT_REDIS_CLEANUP)."""
        self.metrics_port, self.probe_port = free_ports(2)
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *program,
                f"--kubeconfig={kubeconfig}",
                f"--metrics-addr=127.0.0.1:{self.metrics_port}",
                f"--health-probe-bind-address=127.0.0.1:{self.probe_port}",
                f"--leader-election-namespace={lease_namespace}",
                *extra,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /readyz answers 200; fails at once if the process exits."""
        def ready() -> bool:
            assert self.proc.poll() is None, f"operator exited: {self.log_tail()}"
            try:
                return httpx.get(f"http://127.0.0.1:{self.probe_port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the operator was not ready after {timeout:.0f} s: {self.log_tail()}")
            time.sleep(0.2)

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def is_leader(self) -> bool:
        return "leader_election_master_status{name=" in self.metrics() and any(
            line.startswith("leader_election_master_status") and line.rstrip().endswith(" 1.0")
            for line in self.metrics().splitlines()
        )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no lease release (a crash)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM: graceful shutdown (in-flight reconciles finish, the lease is released)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
