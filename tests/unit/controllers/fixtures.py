"""The unit tests' RayCluster: `tests.builders.make_raycluster` with what a cached object has (namespace, uid,
generation) and every pod asking for 1 CPU and 2G (requests and limits)."""

from __future__ import annotations

from tests.builders.raycluster import RayClusterBuilder, make_raycluster


def make_cluster(name: str = "rc") -> RayClusterBuilder:
    return (
        make_raycluster(name)
        .namespace("default")
        .generation(1)
        .uid("uid-1")
        .resources(cpu="1", memory="2G", limits=True)
    )
