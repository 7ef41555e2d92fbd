"""Hash of a RayClusterSpec that ignores what may change without a new cluster being wanted (KubeRay's
``GenerateHashWithoutReplicasAndWorkersToDelete`` in ``controllers/ray/utils/util.go``).

Muted: every group's replicas, min/max replicas and ``scaleStrategy.workersToDelete`` (the autoscaler's),
the pod templates' tolerations and scheduling gates (set by schedulers such as Kueue after creation) and
``upgradeStrategy``. Used for ``ray.io/hash-without-replicas-and-workers-to-delete`` on RayService clusters
and for ``ray.io/upgrade-strategy-recreate-hash`` on head pods: a change of the value means "the user changed
the spec". Like KubeRay: SHA-1 of the JSON, base32 (extended hex alphabet). The value is only ever compared
with values raykube itself wrote; its bytes differ from KubeRay's (Go serialises struct fields in declaration
order, we serialise with sorted keys), see docs/compatibility.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from raykube.api.raycluster import RayClusterSpec

_MUTED_GROUP_FIELDS = ("replicas", "minReplicas", "maxReplicas")
_MUTED_POD_FIELDS = ("tolerations", "schedulingGates")


def _mute_template(template: Any) -> None:
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    if isinstance(pod_spec, dict):
        for key in _MUTED_POD_FIELDS:
            pod_spec.pop(key, None)


def spec_without_replicas(spec: RayClusterSpec) -> dict[str, Any]:
    """The spec as JSON with the muted fields (see the module docstring) removed."""
    data = spec.to_json()
    data.pop("upgradeStrategy", None)
    _mute_template((data.get("headGroupSpec") or {}).get("template"))
    for group in data.get("workerGroupSpecs") or []:
        for key in _MUTED_GROUP_FIELDS:
            group.pop(key, None)
        strategy = group.get("scaleStrategy")
        if isinstance(strategy, dict):
            strategy.pop("workersToDelete", None)
        _mute_template(group.get("template"))
    return data


def _digest(data: dict[str, Any]) -> str:
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return base64.b32hexencode(hashlib.sha1(payload, usedforsecurity=False).digest()).decode()


def hash_without_replicas(spec: RayClusterSpec) -> str:
    """Base32hex SHA-1 of :func:`spec_without_replicas`."""
    return _digest(spec_without_replicas(spec))


def hash_of_first_groups(spec: RayClusterSpec, groups: int) -> str:
    """:func:`hash_without_replicas` of the spec cut to its first ``groups`` worker groups: equal to a cluster's
    hash when the spec only appended worker groups to it (KubeRay then updates that cluster in place)."""
    data = spec_without_replicas(spec)
    if "workerGroupSpecs" in data:
        data["workerGroupSpecs"] = data["workerGroupSpecs"][:groups]
    return _digest(data)


def recreate_hash(spec: RayClusterSpec) -> str:
    """The hash that `upgradeStrategy: Recreate` compares (``ray.io/upgrade-strategy-recreate-hash``): the same
    function as the RayService's, as in KubeRay."""
    return hash_without_replicas(spec)
