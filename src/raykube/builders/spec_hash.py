"""Hash of a RayClusterSpec that ignores what the autoscaler changes (KubeRay's
``GenerateHashWithoutReplicasAndWorkersToDelete`` in ``controllers/ray/utils/util.go``).

Used for ``ray.io/hash-without-replicas-and-workers-to-delete`` on RayService clusters and for
``ray.io/upgrade-strategy-recreate-hash`` on head pods: a change of the value means "the user changed the
spec", never "the autoscaler scaled". Like KubeRay: SHA-1 of the JSON, base32 (extended hex alphabet).
The value is only ever compared with values raykube itself wrote; its bytes differ from KubeRay's (Go
serialises struct fields in declaration order, we serialise with sorted keys), see docs/compatibility.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from raykube.api.raycluster import RayClusterSpec

_MUTED_GROUP_FIELDS = ("replicas", "minReplicas", "maxReplicas")


def spec_without_replicas(spec: RayClusterSpec) -> dict[str, Any]:
    """The spec as JSON with replicas, min/max replicas and ``workersToDelete`` removed from every group."""
    data = spec.to_json()
    for group in data.get("workerGroupSpecs") or []:
        for key in _MUTED_GROUP_FIELDS:
            group.pop(key, None)
        strategy = group.get("scaleStrategy")
        if isinstance(strategy, dict):
            strategy.pop("workersToDelete", None)
    return data


def hash_without_replicas(spec: RayClusterSpec) -> str:
    """Base32hex SHA-1 of :func:`spec_without_replicas`."""
    payload = json.dumps(spec_without_replicas(spec), sort_keys=True, separators=(",", ":")).encode()
    return base64.b32hexencode(hashlib.sha1(payload, usedforsecurity=False).digest()).decode()


def recreate_hash(spec: RayClusterSpec) -> str:
    """The hash that `upgradeStrategy: Recreate` compares (``ray.io/upgrade-strategy-recreate-hash``).

    Like KubeRay, it also ignores what may change without a restart being wanted: the upgrade strategy
    itself and the pod templates' tolerations and scheduling gates (set by schedulers such as Kueue).
    """
    data = spec_without_replicas(spec)
    data.pop("upgradeStrategy", None)
    templates = [data.get("headGroupSpec", {}).get("template")]
    templates += [group.get("template") for group in data.get("workerGroupSpecs") or []]
    for template in templates:
        pod_spec = (template or {}).get("spec")
        if isinstance(pod_spec, dict):
            pod_spec.pop("tolerations", None)
            pod_spec.pop("schedulingGates", None)
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return base64.b32hexencode(hashlib.sha1(payload, usedforsecurity=False).digest()).decode()
