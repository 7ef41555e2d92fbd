"""The Ray pod informer keeps a slim copy of each pod: what no controller reads is dropped, and every fact the
controllers take from a pod (podfacts) is the same on the slim copy as on the whole pod."""

from __future__ import annotations

import copy
import sys
from typing import Any

from raykube.api.raycluster import RayCluster
from raykube.builders.settings import OperatorSettings
from raykube.cli.render import render_cluster
from raykube.controllers.raycluster import pods as podfacts
from raykube.runtime.objects import ObjectKey
from raykube.runtime.store import Store
from tests.unit.controllers.fixtures import make_cluster


def _running(pod: dict[str, Any], *, exited: bool = False) -> dict[str, Any]:
    pod = copy.deepcopy(pod)
    pod["metadata"].update(name=pod["metadata"].get("name") or pod["metadata"]["generateName"] + "abcde",
                           uid="0b0e6a57-5a43-4c3b-9d0f-8f6e0e7f0a11", resourceVersion="123",
                           creationTimestamp="2026-12-06T23:00:00Z")
    pod["spec"]["nodeName"] = "kwok-node-0"
    state = ({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2026-12-06T23:00:01Z",
                             "finishedAt": "2026-12-06T23:01:01Z"}} if exited
             else {"running": {"startedAt": "2026-12-06T23:00:01Z"}})
    pod["status"] = {
        "phase": "Failed" if exited else "Running", "podIP": "10.0.1.2", "startTime": "2026-12-06T23:00:01Z",
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": "2026-12-06T23:00:01Z"}
                       for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [{"name": pod["spec"]["containers"][0]["name"], "state": state, "ready": not exited,
                               "restartCount": 0, "image": "rayproject/ray:2.46.0"}],
    }
    return pod


def _pods() -> list[dict[str, Any]]:
    cluster = RayCluster.model_validate(make_cluster("rc").worker_group("workers", replicas=2).json())
    return [obj for _, obj in render_cluster(cluster, OperatorSettings()) if obj["kind"] == "Pod"]


def _deep_size(obj: Any, seen: set[int] | None = None) -> int:
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(_deep_size(k, seen) + _deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list):
        size += sum(_deep_size(v, seen) for v in obj)
    return size


def test_the_slim_pod_keeps_every_fact_the_controllers_read() -> None:
    for whole in [_running(p) for p in _pods()] + [_running(p, exited=True) for p in _pods()]:
        slim = copy.deepcopy(whole)
        podfacts.slim_for_cache(slim)
        facts = (podfacts.name, podfacts.labels, podfacts.is_head, podfacts.is_worker, podfacts.group,
                 podfacts.is_terminating, podfacts.phase, podfacts.is_running_and_ready, podfacts.is_ready,
                 podfacts.ray_container_status, podfacts.deletion_reason, podfacts.terminated_text,
                 podfacts.state_summary)
        for fact in facts:
            assert fact(slim) == fact(whole), fact.__name__
        assert slim["metadata"] == whole["metadata"] and slim["status"] == whole["status"]
        container = slim["spec"]["containers"][0]
        assert {"name", "image", "resources"} <= set(container)
        assert not {"env", "readinessProbe", "livenessProbe", "args", "command", "volumeMounts"} & set(container)
        assert "volumes" not in slim["spec"] and slim["spec"]["nodeName"] == "kwok-node-0"


def test_a_store_with_the_transform_holds_about_half_the_bytes_per_ray_pod() -> None:
    whole = _running(_pods()[-1])
    store = Store(transform=podfacts.slim_for_cache)
    store.upsert(copy.deepcopy(whole))
    cached = store.get(ObjectKey(whole["metadata"].get("namespace", "default"), whole["metadata"]["name"]))
    assert cached is not None
    assert _deep_size(cached) < 0.6 * _deep_size(whole)
