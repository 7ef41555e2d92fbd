"""Which worker pods to stamp from a group's template: replica indexes and multi-host replicas.

KubeRay v1.7.0 (feature gate RayMultiHostIndexing, on) labels each worker with
`ray.io/worker-group-replica-index`; a multi-host group (`numOfHosts > 1`) is made of replicas whose
hosts share `ray.io/worker-group-replica-name` and carry `ray.io/replica-host-index` 0..n-1. New pods
take the lowest free replica index; a replica missing some hosts gets exactly those hosts back (same
name, same host index) before whole new replicas are started.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from typing import Any

from raykube import reasons
from raykube.api.defaults import effective_num_of_hosts
from raykube.api.raycluster import WorkerGroupSpec
from raykube.builders import names
from raykube.builders.pod import stamp_worker_replica
from raykube.builders.settings import OperatorSettings
from raykube.controllers.raycluster import pods as podfacts

_ALPHABET = string.ascii_lowercase + string.digits


def random_suffix() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(5))


def _used(members: list[dict[str, Any]], label: str) -> set[str]:
    return {v for p in members if (v := podfacts.labels(p).get(label)) is not None}


def _free_indexes(members: list[dict[str, Any]]) -> Any:
    used = _used(members, reasons.LABEL_WORKER_GROUP_REPLICA_INDEX)
    index = 0
    while True:
        if str(index) not in used:
            yield index
        index += 1


def pods_to_create(
    template: dict[str, Any],
    group: WorkerGroupSpec,
    members: list[dict[str, Any]],
    count: int,
    settings: OperatorSettings,
    *,
    suffix: Callable[[], str] = random_suffix,
) -> list[dict[str, Any]]:
    """`count` pods for `group`, stamped with replica labels, given the group's live `members`."""
    hosts = effective_num_of_hosts(group)
    indexes = _free_indexes(members)
    if hosts == 1:
        return [
            stamp_worker_replica(template, group=group, replica_index=next(indexes), settings=settings)
            for _ in range(count)
        ]
    pods: list[dict[str, Any]] = []
    replicas: dict[str, tuple[str, set[str]]] = {}  # replica name -> (replica index, host indexes present)
    for pod in members:
        labels = podfacts.labels(pod)
        name = labels.get(reasons.LABEL_WORKER_GROUP_REPLICA_NAME)
        if name:
            index, present = replicas.setdefault(
                name, (labels.get(reasons.LABEL_WORKER_GROUP_REPLICA_INDEX, "0"), set())
            )
            present.add(labels.get(reasons.LABEL_REPLICA_HOST_INDEX, ""))
    for name, (index, present) in sorted(replicas.items()):
        for host in range(hosts):
            if len(pods) < count and str(host) not in present:
                pods.append(
                    stamp_worker_replica(
                        template,
                        group=group,
                        replica_index=int(index),
                        host_index=host,
                        replica_name=name,
                        settings=settings,
                    )
                )
    while len(pods) < count:
        name, index = names.worker_replica_name(group.group_name, suffix()), next(indexes)
        for host in range(hosts):
            pods.append(
                stamp_worker_replica(
                    template, group=group, replica_index=index, host_index=host, replica_name=name, settings=settings
                )
            )
    return pods
