"""The `redis` image of the local cluster: Debian's redis-server from `images/redis/Dockerfile`.

It is registered under the names KubeRay's GCS fault tolerance samples use (``redis:7.4.0``) and the shorter
tags of the same release line, so the samples apply unchanged on a real node without a registry. The image
holds Debian bookworm's Redis (7.0), not 7.4: the registration says what manifests may ask for, and
:data:`REDIS_NOTE` says what they get.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from raykube.local.images import store as image_store
from raykube.local.images.builder import Builder
from raykube.local.images.recipes import Built, Progress, _write, images_dir

#: The tags the image answers to: the samples' redis:7.4.0 and the tags a user would write for it.
REDIS_NAMES: Final = ("redis:7.4.0", "redis:7.4", "redis:7", "redis:latest")
REDIS_NOTE: Final = "this is Debian bookworm's Redis 7.0, registered under the tags the KubeRay samples use"


def redis_names(extra: Sequence[str] = ()) -> list[str]:
    """The default names plus ``extra`` tags (``7.2`` or ``redis:7.2`` both mean ``redis:7.2``)."""
    names = list(REDIS_NAMES)
    for tag in extra:
        name = tag if ":" in tag else f"redis:{tag}"
        if name not in names:
            names.append(name)
    return names


def build_redis(progress: Progress, tags: Sequence[str] = (), store: image_store.ImageStore | None = None) -> Built:
    recipe = images_dir() / "redis"
    builder = Builder(recipe / "Dockerfile", recipe, {}, progress)
    return _write(store or image_store.ImageStore(), "redis", builder, redis_names(tags), progress)
