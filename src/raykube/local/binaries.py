"""Where the Go-built tools live, and which versions raykube pins.

`tools/build.sh` (run by `make tools`) builds every binary into
``$RAYKUBE_CACHE/bin/<name>-<version>/<name>``; this module finds them again. The versions come from
``versions.env`` beside this file, the one place both the shell build and Python read them from.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_VERSIONS_FILE = Path(__file__).with_name("versions.env")

# Which version key each binary is built at.
_VERSION_KEY = {
    "kube-apiserver": "K8S_VERSION",
    "kube-controller-manager": "K8S_VERSION",
    "kube-scheduler": "K8S_VERSION",
    "kubectl": "K8S_VERSION",
    "kubelet": "K8S_VERSION",
    "kube-proxy": "K8S_VERSION",
    "etcd": "ETCD_VERSION",
    "helm": "HELM_VERSION",
    "kwok": "KWOK_VERSION",
    "coredns": "COREDNS_VERSION",
    "pause": "PAUSE_VERSION",
    "kuberay-operator": "KUBERAY_VERSION",  # bench/ only, built on demand
}


class MissingBinaryError(RuntimeError):
    """A pinned tool has not been built on this machine yet."""


@cache
def versions() -> dict[str, str]:
    """The pinned versions, e.g. ``{"K8S_VERSION": "v1.34.4", ...}``."""
    pinned: dict[str, str] = {}
    for line in _VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pinned[key.strip()] = value.strip()
    return pinned


def cache_dir() -> Path:
    """The tool cache; ``$RAYKUBE_CACHE`` overrides the per-user default."""
    return Path(os.environ.get("RAYKUBE_CACHE", Path.home() / ".cache" / "raykube"))


def binary(name: str) -> Path:
    """Path of the pinned build of `name`; raises MissingBinaryError with the fix if it is absent."""
    version = versions()[_VERSION_KEY[name]]
    path = cache_dir() / "bin" / f"{name}-{version}" / name
    if not os.access(path, os.X_OK):
        raise MissingBinaryError(f"{name} {version} is not built yet ({path} missing): run `make tools`")
    return path
