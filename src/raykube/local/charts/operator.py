"""Run the operator that the kuberay-operator chart deployed, as a local process.

Fake (kwok) nodes run no containers, so on them the chart's operator pod is Running without any operator
inside. This module starts ``raykube operator`` on this machine the way that pod would run it: the
Deployment's own args and environment as read from the API server, authenticated as the Deployment's
ServiceAccount with a token from the TokenRequest API (so RBAC is exactly the chart's). Only the listen
addresses change: the metrics and probe endpoints move to loopback ports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from raykube.local.binaries import binary

#: Flags the local process gets its own values for.
_LOCAL_FLAGS = ("--kubeconfig", "--metrics-addr", "--health-probe-bind-address")


class ChartOperatorError(RuntimeError):
    """The chart's operator Deployment cannot be found or read."""


@dataclass(frozen=True)
class DeployedOperator:
    """What the chart's Deployment runs."""

    namespace: str
    service_account: str
    args: tuple[str, ...]
    #: Plain environment of the container, with the downward-API namespace resolved.
    env: dict[str, str]


def _kubectl(kubeconfig: Path, *args: str) -> str:
    result = subprocess.run([str(binary("kubectl")), f"--kubeconfig={kubeconfig}", *args],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise ChartOperatorError(f"kubectl {' '.join(args[:3])}: {result.stderr.strip()}")
    return result.stdout


def read_deployment(kubeconfig: Path, namespace: str, name: str = "kuberay-operator") -> DeployedOperator:
    """The operator container of Deployment `namespace/name` (the chart's `kuberay-operator` container)."""
    deployment: dict[str, Any] = json.loads(_kubectl(kubeconfig, "get", "deployment", name, "-n", namespace,
                                                     "-o", "json"))
    spec = deployment["spec"]["template"]["spec"]
    containers = spec["containers"]
    container = next((c for c in containers if c["name"] == "kuberay-operator"), containers[0])
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
        elif var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[var["name"]] = namespace
    return DeployedOperator(
        namespace=namespace,
        service_account=spec.get("serviceAccountName", "default"),
        args=tuple(container.get("args", [])),
        env=env,
    )


def service_account_kubeconfig(
    admin_kubeconfig: Path, namespace: str, account: str, out: Path, *, duration: str = "24h"
) -> Path:
    """Write a kubeconfig at `out` that authenticates as ServiceAccount `namespace/account`.

    The token comes from the TokenRequest API (`kubectl create token`); server and CA are the admin
    kubeconfig's current cluster.
    """
    token = _kubectl(admin_kubeconfig, "create", "token", account, "-n", namespace, f"--duration={duration}").strip()
    admin: dict[str, Any] = yaml.safe_load(admin_kubeconfig.read_text())
    context_name = admin.get("current-context") or admin["contexts"][0]["name"]
    context = next(c["context"] for c in admin["contexts"] if c["name"] == context_name)
    cluster = dict(next(c["cluster"] for c in admin["clusters"] if c["name"] == context["cluster"]))
    if "certificate-authority" in cluster:
        ca = Path(cluster["certificate-authority"])
        cluster["certificate-authority"] = str(ca if ca.is_absolute() else admin_kubeconfig.parent / ca)
    user = f"system:serviceaccount:{namespace}:{account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "cluster", "user": user, "namespace": namespace}}],
        "current-context": user,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config))
    out.chmod(0o600)
    return out


def without_local_flags(args: tuple[str, ...] | list[str]) -> list[str]:
    """`args` without the flags a local process sets itself (kubeconfig, metrics and probe addresses)."""
    kept: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
            continue
        flag, has_value, _ = arg.partition("=")
        if flag in _LOCAL_FLAGS:
            skip_value = not has_value
            continue
        kept.append(arg)
    return kept


def local_args(args: tuple[str, ...], *, kubeconfig: Path, metrics_port: int, probe_port: int) -> list[str]:
    """The Deployment's args for a local process: own kubeconfig, metrics and probes on loopback."""
    return [
        f"--kubeconfig={kubeconfig}",
        f"--metrics-addr=127.0.0.1:{metrics_port}",
        f"--health-probe-bind-address=127.0.0.1:{probe_port}",
        *without_local_flags(args),
    ]


def operator_command(args: list[str]) -> list[str]:
    """`raykube operator ARGS` with this Python's raykube."""
    return [sys.executable, "-m", "raykube.cli.main", "operator", *args]
