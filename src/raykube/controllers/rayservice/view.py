"""What the pure RayService modules know about a cluster's Serve: frozen values, no I/O.

``serve.py`` makes the Serve calls in the background and hands out these values; ``plan``, ``status`` and
``actions`` import only this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube.ray.serve_models import ServeInstanceDetails


@dataclass(frozen=True)
class Endpoint:
    """Where a call goes: the URL, and the ``Host`` header when the URL is a stand-in for the real host."""

    url: str
    host: str | None = None


@dataclass(frozen=True)
class Applied:
    """What was last PUT to a cluster: the serve config text, the UID of the head pod that took it and, during
    an incremental upgrade, the ``target_capacity`` sent with it."""

    config: str
    head_uid: str
    target_capacity: int | None = None

    def same_config(self, other: Applied | None) -> bool:
        """The same config on the same head (whatever the target capacity)."""
        return other is not None and (self.config, self.head_uid) == (other.config, other.head_uid)


@dataclass(frozen=True)
class ClusterServe:
    """What a pass may know about one cluster's Serve."""

    apps: ServeInstanceDetails | None = None
    apps_error: str = ""
    applied: Applied | None = None
    deploy_error: str = ""
    deploying: bool = False
    proxies: tuple[tuple[str, bool], ...] = ()

    def proxy_healthy(self, pod_ip: str) -> bool | None:
        return dict(self.proxies).get(pod_ip)
