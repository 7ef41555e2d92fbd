"""Fluent fixtures for RayClusters and their pods, as JobSet's testing wrappers."""

from __future__ import annotations

import copy
from typing import Any

from raykube.api.raycluster import RayCluster


def _template(cpu: str = "1", memory: str = "2G") -> dict[str, Any]:
    return {
        "spec": {
            "containers": [
                {
                    "name": "ray",
                    "image": "rayproject/ray:2.46.0",
                    "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}},
                }
            ]
        }
    }


class ClusterBuilder:
    def __init__(self, name: str, namespace: str = "default") -> None:
        self._obj: dict[str, Any] = {
            "apiVersion": "ray.io/v1",
            "kind": "RayCluster",
            "metadata": {"name": name, "namespace": namespace, "generation": 1, "uid": "uid-1"},
            "spec": {"headGroupSpec": {"rayStartParams": {}, "template": _template()}, "workerGroupSpecs": []},
        }

    def worker_group(
        self,
        name: str,
        *,
        replicas: int | None = 1,
        min_replicas: int = 0,
        max_replicas: int = 10,
        to_delete: list[str] | None = None,
        suspend: bool | None = None,
        hosts: int = 1,
        cpu: str = "1",
        memory: str = "2G",
    ) -> ClusterBuilder:
        group: dict[str, Any] = {
            "groupName": name,
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "numOfHosts": hosts,
            "rayStartParams": {},
            "template": _template(cpu, memory),
        }
        if replicas is not None:
            group["replicas"] = replicas
        if to_delete is not None:
            group["scaleStrategy"] = {"workersToDelete": to_delete}
        if suspend is not None:
            group["suspend"] = suspend
        self._obj["spec"]["workerGroupSpecs"].append(group)
        return self

    def autoscaling(self) -> ClusterBuilder:
        self._obj["spec"]["enableInTreeAutoscaling"] = True
        return self

    def upgrade(self, strategy: str) -> ClusterBuilder:
        self._obj["spec"]["upgradeStrategy"] = {"type": strategy}
        return self

    def suspend(self, value: bool = True) -> ClusterBuilder:
        self._obj["spec"]["suspend"] = value
        return self

    def conditions(self, **states: bool) -> ClusterBuilder:
        self._obj.setdefault("status", {})["conditions"] = [
            {
                "type": t,
                "status": "True" if v else "False",
                "reason": t,
                "message": "",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
            for t, v in states.items()
        ]
        return self

    def status(self, **fields: Any) -> ClusterBuilder:
        self._obj.setdefault("status", {}).update(fields)
        return self

    def annotate(self, key: str, value: str) -> ClusterBuilder:
        self._obj["metadata"].setdefault("annotations", {})[key] = value
        return self

    def obj(self) -> RayCluster:
        return RayCluster.model_validate(copy.deepcopy(self._obj))


def make_cluster(name: str = "rc") -> ClusterBuilder:
    return ClusterBuilder(name)


def make_pod(
    name: str,
    *,
    group: str = "headgroup",
    phase: str = "Running",
    ready: bool = True,
    created: str = "2026-01-01T00:00:00Z",
    terminating: bool = False,
    restart_policy: str | None = None,
    terminated: bool = False,
    ip: str = "10.244.0.9",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    node_type = "head" if group == "headgroup" else "worker"
    pod: dict[str, Any] = {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": {"ray.io/cluster": "rc", "ray.io/node-type": node_type, "ray.io/group": group, **(labels or {})},
        },
        "spec": {"containers": [{"name": "ray"}]},
        "status": {
            "phase": phase,
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }
    if terminating:
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    if restart_policy:
        pod["spec"]["restartPolicy"] = restart_policy
    if terminated:
        pod["status"]["containerStatuses"] = [
            {"name": "ray", "ready": False, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
        ]
    return pod
