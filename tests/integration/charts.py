"""The kuberay-operator chart installed with helm on the local cluster, its operator run as a local process
authenticated as the chart's ServiceAccount (fake nodes run no containers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from raykube.local.charts.operator import read_deployment, service_account_kubeconfig, without_local_flags
from tests.charts.helm import helm
from tests.integration.kube import eventually, kubectl
from tests.integration.operator import OperatorProcess


class ChartOperator:
    """`helm install` of the operator chart into `namespace`, then `raykube operator` as its ServiceAccount."""

    def __init__(self, kubeconfig: Path, chart: Path, *, namespace: str, name: str, home: Path, log_dir: Path,
                 sets: tuple[str, ...] = ()) -> None:
        self.kubeconfig, self.namespace, self.name, self.home = kubeconfig, namespace, name, home
        self.log_dir = log_dir
        # fullnameOverride keeps the cluster-scoped ClusterRole unique to this test.
        self.install_output = helm(
            "install", "kuberay-operator", str(chart), "-n", namespace, "--set", f"fullnameOverride={name}",
            *[arg for item in sets for arg in ("--set", item)], home=home, kubeconfig=kubeconfig,
        ).stdout
        self.deployed = read_deployment(kubeconfig, namespace, name)
        self.account_kubeconfig = service_account_kubeconfig(
            kubeconfig, namespace, self.deployed.service_account, log_dir / "operator.kubeconfig")
        self.process: OperatorProcess | None = None

    @property
    def account(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.deployed.service_account}"

    def start(self, extra: tuple[str, ...] = ()) -> OperatorProcess:
        """Run the operator with the Deployment's flags, plus ``extra`` (test hooks)."""
        self.process = OperatorProcess(
            self.account_kubeconfig, self.log_dir, lease_namespace=self.namespace,
            extra=(*without_local_flags(self.deployed.args), *extra),
        )
        self.process.wait_ready()
        return self.process

    def can_i(self, *args: str) -> bool:
        """`kubectl auth can-i ARGS` with the ServiceAccount's own token."""
        result = kubectl(self.account_kubeconfig, "auth", "can-i", *args, check=False)
        assert result.stdout.strip() in ("yes", "no"), result.stderr
        return result.stdout.strip() == "yes"

    def log(self) -> str:
        return (self.log_dir / "operator.log").read_text(errors="replace")

    def close(self) -> None:
        if self.process is not None:
            self.process.stop()
        helm("uninstall", "kuberay-operator", "-n", self.namespace, "--ignore-not-found", home=self.home,
             kubeconfig=self.kubeconfig, check=False)


def running_chart_operator(kubeconfig: Path, chart: Path, **options: Any) -> Iterator[ChartOperator]:
    """A ChartOperator (``options`` as its constructor takes them), installed and started, uninstalled
    afterwards: the body of a fixture (``yield from running_chart_operator(...)``)."""
    operator = ChartOperator(kubeconfig, chart, **options)
    try:
        operator.start()
        yield operator
    finally:
        operator.close()


def get(kubeconfig: Path, *args: str) -> dict[str, Any]:
    return dict(json.loads(kubectl(kubeconfig, "get", *args, "-o", "json").stdout))


def wait_state(kubeconfig: Path, namespace: str, name: str, state: str = "ready", timeout: float = 120,
               ) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        cluster = get(kubeconfig, "raycluster", name, "-n", namespace)
        return cluster if cluster.get("status", {}).get("state") == state else None

    return eventually(probe, timeout=timeout, what=f"RayCluster {namespace}/{name} {state}")


def pods(kubeconfig: Path, namespace: str, selector: str) -> list[dict[str, Any]]:
    items = get(kubeconfig, "pods", "-n", namespace, "-l", selector)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]
