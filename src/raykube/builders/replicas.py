"""Which worker pods a group gets next: replica indexes, replica names and host indexes (pure).

KubeRay v1.7.0 (feature gate RayMultiHostIndexing, on) labels each worker with
``ray.io/worker-group-replica-index``; a multi-host group (``numOfHosts > 1``) is made of replicas whose
hosts share ``ray.io/worker-group-replica-name`` and carry ``ray.io/replica-host-index`` 0..n-1. New pods
take the lowest free replica index; a replica missing some hosts gets exactly those hosts back (same
name, same host index) before whole new replicas are started.

The choice is a value (:class:`WorkerSlot`) made by the RayCluster plan from the live pods; the pods are
stamped from it by :func:`raykube.builders.cluster.desired_cluster`. ``raykube render`` makes the same
choice for a cluster with no pods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from raykube import reasons
from raykube.api.defaults import effective_num_of_hosts
from raykube.api.raycluster import WorkerGroupSpec
from raykube.builders import names

Labels = Mapping[str, str]


@dataclass(frozen=True)
class WorkerSlot:
    """One worker pod to create: its group, replica index and, in a multi-host group, replica name and host."""

    group: str
    replica_index: int
    host_index: int = 0
    replica_name: str | None = None


def _free_indexes(members: Sequence[Labels]) -> Iterator[int]:
    used = {v for labels in members if (v := labels.get(reasons.LABEL_WORKER_GROUP_REPLICA_INDEX)) is not None}
    index = 0
    while True:
        if str(index) not in used:
            yield index
        index += 1


def choose_worker_slots(
    group: WorkerGroupSpec,
    members: Sequence[Labels],
    count: int,
    suffix: Callable[[], str] = names.random_suffix,
) -> tuple[WorkerSlot, ...]:
    """``count`` slots for ``group`` given the labels of its live pods (``suffix`` names new replicas)."""
    hosts = effective_num_of_hosts(group)
    if hosts < 1:
        return ()  # a group of numOfHosts < 1 keeps no pods (`effective_replicas` is 0)
    indexes = _free_indexes(members)
    if hosts == 1:
        return tuple(WorkerSlot(group.group_name, next(indexes)) for _ in range(count))
    slots: list[WorkerSlot] = []
    replicas: dict[str, tuple[str, set[str]]] = {}  # replica name -> (replica index, host indexes present)
    for labels in members:
        name = labels.get(reasons.LABEL_WORKER_GROUP_REPLICA_NAME)
        if name:
            index, present = replicas.setdefault(
                name, (labels.get(reasons.LABEL_WORKER_GROUP_REPLICA_INDEX, "0"), set())
            )
            present.add(labels.get(reasons.LABEL_REPLICA_HOST_INDEX, ""))
    for name, (index, present) in sorted(replicas.items()):
        for host in range(hosts):
            if len(slots) < count and str(host) not in present:
                slots.append(WorkerSlot(group.group_name, int(index), host, name))
    while len(slots) < count:
        new_name, new_index = names.worker_replica_name(group.group_name, suffix()), next(indexes)
        slots += [WorkerSlot(group.group_name, new_index, host, new_name) for host in range(hosts)]
    return tuple(slots)
