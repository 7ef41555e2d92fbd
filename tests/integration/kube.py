"""Test helpers for talking to the real local API server: a lightkube client, kubectl, and polling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from lightkube import Client, KubeConfig

from raykube.local.binaries import binary

T = TypeVar("T")


def client(kubeconfig: Path, **kwargs: object) -> Client:
    return Client(KubeConfig.from_file(kubeconfig), field_manager="raykube-tests", **kwargs)  # type: ignore[arg-type]


def kubectl(
    kubeconfig: Path, *args: str, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(binary("kubectl")), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True, text=True, check=False, input=input, timeout=120,
    )
    if check and done.returncode:
        # kubectl's own message is what a failing test must show; CalledProcessError's text leaves it out.
        raise AssertionError(f"kubectl {' '.join(args[:3])} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def plugin_env(kubeconfig: Path) -> dict[str, str]:
    """kubectl's environment for ``kubectl ray``: the virtualenv's bin (holding the kubectl-ray console script) and
    kubectl's own directory on PATH, ``KUBECONFIG`` set."""
    bindir = Path(sys.executable).parent
    assert (bindir / "kubectl-ray").exists(), "kubectl-ray console script not installed (make venv)"
    path = os.pathsep.join([str(bindir), str(binary("kubectl").parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "KUBECONFIG": str(kubeconfig)}


def kubectl_json(kubeconfig: Path, *args: str) -> dict[str, Any]:
    """``kubectl <args> -o json``, decoded."""
    decoded: dict[str, Any] = json.loads(kubectl(kubeconfig, *args, "-o", "json").stdout)
    return decoded


def eventually(probe: Callable[[], T | bool | None], *, timeout: float = 60.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy, and return that (a probe that is a plain condition
    gives True; typed probes are written `cond and value`, whose falsy part is the bool). Not a timing assertion:
    the timeout only bounds how long a broken system is waited for."""
    deadline = time.monotonic() + timeout
    last: T | bool | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last  # type: ignore[return-value]  # True only for plain conditions, whose value is unused
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def apply(kubeconfig: Path, namespace: str, manifest: dict[str, Any] | str) -> None:
    """`kubectl apply` a manifest (a dict or YAML text) into `namespace`."""
    text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", input=text)


def scratch_namespace(kubeconfig: Path, prefix: str) -> Iterator[str]:
    """A fresh namespace for one test (use as a generator fixture body); deleted without waiting."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", name)
    yield name
    kubectl(kubeconfig, "delete", "namespace", name, "--wait=false")


def unreachable_kubeconfig(kubeconfig: Path, path: Path) -> Path:
    """A copy of ``kubeconfig`` whose server is a loopback port nobody listens on."""
    config = yaml.safe_load(kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:1"
    path.write_text(yaml.safe_dump(config))
    return path


def no_rights_kubeconfig(kubeconfig: Path, namespace: str, path: Path, *, account: str = "nobody") -> Path:
    """A kubeconfig for a new ServiceAccount of ``namespace`` with no RBAC at all (real RBAC says no to it)."""
    kubectl(kubeconfig, "create", "serviceaccount", account, "-n", namespace)
    token = kubectl(kubeconfig, "create", "token", account, "-n", namespace).stdout.strip()
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["contexts"][0]["context"]["cluster"]
    config["users"] = [{"name": account, "user": {"token": token}}]
    config["contexts"] = [{"name": account, "context": {"cluster": cluster, "user": account,
                                                        "namespace": namespace}}]
    config["current-context"] = account
    path.write_text(yaml.safe_dump(config))
    return path
