"""Kubeconfig files for the local cluster's users (admin, controller-manager, scheduler, kwok, ...)."""

from __future__ import annotations

from pathlib import Path

import yaml

from raykube.local.controlplane.pki import KeyPair


def write_kubeconfig(path: Path, *, server: str, ca: Path, user: str, client: KeyPair) -> Path:
    """Write a single-context kubeconfig that authenticates with a client certificate."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "raykube-local", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [
            {"name": user, "user": {"client-certificate": str(client.cert), "client-key": str(client.key)}}
        ],
        "contexts": [{"name": "raykube-local", "context": {"cluster": "raykube-local", "user": user}}],
        "current-context": "raykube-local",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
