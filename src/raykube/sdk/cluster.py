"""Ray clusters from Python: ``ClusterConfig`` → ``Cluster.up()`` → ``wait_ready()`` → ... → ``down()``.

The config becomes a :class:`raykube.api.raycluster.RayCluster` (the same model the operator reads, so it is
validated the same way); status and details are read back into that model. Every call is synchronous and
reads the API afresh (no cache, no background thread), so a notebook cell shows the cluster as it is now.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from raykube.api.raycluster import RayCluster
from raykube.controllers.kinds import POD, RAYCLUSTER
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.explain import explain
from raykube.sdk.connection import DEFAULT, Connection, SdkError, sync

DEFAULT_IMAGE = "rayproject/ray:2.52.0"


@dataclass
class ClusterConfig:
    """A Ray cluster: one head and one worker group.

    Parameters:
        name: the RayCluster's name.
        namespace: where it lives (None: the connection's namespace).
        num_workers: worker pods (``replicas``); ``min_workers``/``max_workers`` bound the autoscaler.
        head_cpu, head_memory, worker_cpu, worker_memory, worker_gpu: per-pod resources (requests = limits).
        image: the Ray image; ``ray_version`` its Ray version.
        labels, annotations: Kubernetes metadata of the RayCluster (annotations also go on its pods' template).
        ray_start_params: extra ``ray start`` flags for every node.
    """

    name: str
    namespace: str | None = None
    num_workers: int = 1
    min_workers: int = 0
    max_workers: int | None = None
    head_cpu: str = "1"
    head_memory: str = "2Gi"
    worker_cpu: str = "1"
    worker_memory: str = "2Gi"
    worker_gpu: int = 0
    image: str = DEFAULT_IMAGE
    ray_version: str = "2.52.0"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    pod_annotations: dict[str, str] = field(default_factory=dict)
    ray_start_params: dict[str, str] = field(default_factory=dict)

    def _container(self, name: str, cpu: str, memory: str, gpu: int) -> dict[str, Any]:
        amounts: dict[str, Any] = {"cpu": cpu, "memory": memory, **({"nvidia.com/gpu": str(gpu)} if gpu else {})}
        return {"name": name, "image": self.image, "resources": {"requests": amounts, "limits": dict(amounts)}}

    def to_spec(self) -> dict[str, Any]:
        """The ``spec`` of the RayCluster (also a RayJob's ``rayClusterSpec``)."""
        meta = {"annotations": dict(self.pod_annotations)} if self.pod_annotations else {}
        head = {"rayStartParams": dict(self.ray_start_params),
                "template": {**({"metadata": meta} if meta else {}), "spec": {"containers": [
                    self._container("ray-head", self.head_cpu, self.head_memory, 0)]}}}
        group = {"groupName": "workers", "replicas": self.num_workers, "minReplicas": self.min_workers,
                 "maxReplicas": self.max_workers if self.max_workers is not None else max(self.num_workers, 1),
                 "rayStartParams": dict(self.ray_start_params),
                 "template": {**({"metadata": meta} if meta else {}), "spec": {"containers": [
                     self._container("ray-worker", self.worker_cpu, self.worker_memory, self.worker_gpu)]}}}
        return {"rayVersion": self.ray_version, "headGroupSpec": head, "workerGroupSpecs": [group]}

    def to_raycluster(self, namespace: str) -> RayCluster:
        """The RayCluster model (validated by raykube's ray.io/v1 types)."""
        meta: dict[str, Any] = {"name": self.name, "namespace": namespace}
        if self.labels:
            meta["labels"] = dict(self.labels)
        if self.annotations:
            meta["annotations"] = dict(self.annotations)
        return RayCluster.model_validate({"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta,
                                          "spec": self.to_spec()})


@dataclass(frozen=True)
class ClusterDetails:
    """A cluster as it is now: state, workers, resources, pods, dashboard."""

    name: str
    namespace: str
    state: str
    desired_workers: int
    ready_workers: int
    cpu: str
    memory: str
    gpu: str
    head_pod: str | None
    worker_pods: tuple[str, ...]
    dashboard_url: str

    def __str__(self) -> str:
        return (f"RayCluster {self.namespace}/{self.name}: {self.state or 'starting'}, workers "
                f"{self.ready_workers}/{self.desired_workers} ready, {self.cpu} CPU, {self.memory} memory, "
                f"{self.gpu} GPU; dashboard {self.dashboard_url}")


def _details(obj: dict[str, Any], pods: list[dict[str, Any]], dashboard: str) -> ClusterDetails:
    model = RayCluster.model_validate(obj)
    status = model.status
    roles = {p["metadata"]["name"]: (p["metadata"].get("labels") or {}).get("ray.io/node-type") for p in pods}
    return ClusterDetails(
        name=model.metadata["name"], namespace=model.metadata["namespace"],
        state=(status.state if status else None) or "",
        desired_workers=(status.desired_worker_replicas if status else None) or 0,
        ready_workers=(status.ready_worker_replicas if status else None) or 0,
        cpu=str(status.desired_cpu) if status and status.desired_cpu is not None else "0",
        memory=str(status.desired_memory) if status and status.desired_memory is not None else "0",
        gpu=str(status.desired_gpu) if status and status.desired_gpu is not None else "0",
        head_pod=next((n for n, r in roles.items() if r == "head"), None),
        worker_pods=tuple(sorted(n for n, r in roles.items() if r == "worker")),
        dashboard_url=dashboard)


class Cluster:
    """A Ray cluster on Kubernetes (a RayCluster), created from a :class:`ClusterConfig` or attached by name."""

    def __init__(self, config: ClusterConfig, *, connection: Connection = DEFAULT) -> None:
        self.config = config
        self.connection = connection
        self.namespace = connection.resolve_namespace(config.namespace)
        self.name = config.name

    @classmethod
    def attach(cls, name: str, *, namespace: str | None = None, connection: Connection = DEFAULT) -> Cluster:
        """An existing RayCluster (raises :class:`SdkError` when it does not exist)."""
        cluster = cls(ClusterConfig(name=name, namespace=namespace), connection=connection)
        cluster._get()
        return cluster

    def __repr__(self) -> str:
        return f"Cluster({self.namespace}/{self.name})"

    # -- life cycle ------------------------------------------------------------------------------

    def up(self) -> Cluster:
        """Create the RayCluster (an existing one of that name is an error)."""
        body = self.config.to_raycluster(self.namespace).to_json()

        async def create() -> None:
            client = self.connection.client()
            try:
                await client.create(RAYCLUSTER, body, namespace=self.namespace)
            except ApiError as err:
                raise SdkError(f"cannot create RayCluster {self.namespace}/{self.name}: {explain(err)}") from err
            finally:
                await client.close()

        sync(create())
        return self

    def down(self) -> None:
        """Delete the RayCluster (its pods and Services go with it); a missing cluster is fine."""

        async def delete() -> None:
            client = self.connection.client()
            try:
                await client.delete(RAYCLUSTER, self.name, namespace=self.namespace)
            except ApiError as err:
                if not is_not_found(err):
                    raise
            finally:
                await client.close()

        sync(delete())

    def scale(self, workers: int, *, group: str | None = None) -> None:
        """Set a worker group's replicas (the first group by default), widening min/max to allow it."""
        obj = self._get()
        groups = obj["spec"].get("workerGroupSpecs") or []
        chosen = next((g for g in groups if group in (None, g.get("groupName"))), None)
        if chosen is None:
            raise SdkError(f"RayCluster {self.namespace}/{self.name} has no worker group {group!r}")
        chosen["replicas"] = workers
        chosen["minReplicas"] = min(int(chosen.get("minReplicas") or 0), workers)
        chosen["maxReplicas"] = max(int(chosen.get("maxReplicas") or 0), workers)

        async def replace() -> None:
            client = self.connection.client()
            try:
                await client.replace(RAYCLUSTER, obj)
            finally:
                await client.close()

        sync(replace())

    # -- reading ---------------------------------------------------------------------------------

    def _get(self) -> dict[str, Any]:
        async def get() -> dict[str, Any]:
            client = self.connection.client()
            try:
                return await client.get(RAYCLUSTER, self.name, namespace=self.namespace)
            except ApiError as err:
                if is_not_found(err):
                    raise SdkError(f"RayCluster {self.namespace}/{self.name} not found: list_clusters() lists the "
                                   "clusters there are") from err
                raise
            finally:
                await client.close()

        return sync(get())

    def status(self) -> str:
        """The RayCluster's state (``ready``, ``suspended``, ...; ``""`` while it starts)."""
        status = RayCluster.model_validate(self._get()).status
        return (status.state if status else None) or ""

    def is_ready(self) -> bool:
        return self.status() == "ready"

    def dashboard_url(self) -> str:
        """The Ray dashboard through the API server's Service proxy (works from outside the cluster)."""
        return self.connection.access().service_proxy(self.namespace, f"{self.name}-head-svc") + "/"

    def details(self) -> ClusterDetails:
        obj = self._get()

        async def pods() -> list[dict[str, Any]]:
            client = self.connection.client()
            try:
                return (await client.list(POD, namespace=self.namespace,
                                          label_selector=f"ray.io/cluster={self.name}")).items
            finally:
                await client.close()

        return _details(obj, sync(pods()), self.dashboard_url())

    def wait_ready(self, timeout: float = 300.0, *, progress: Callable[[str], None] | None = None,
                   poll: float = 1.0) -> ClusterDetails:
        """Wait until the cluster is ready, reporting each change (to stderr by default); raise on timeout."""
        report = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        deadline, last = time.monotonic() + timeout, ""
        while True:
            details = self.details()
            line = (f"{self.name}: {details.state or 'starting'}, head {'up' if details.head_pod else 'pending'}, "
                    f"workers {details.ready_workers}/{details.desired_workers} ready")
            if line != last:
                report(line)
                last = line
            if details.state == "ready":
                return details
            if time.monotonic() >= deadline:
                raise SdkError(f"RayCluster {self.namespace}/{self.name} not ready after {timeout:g}s ({line}); "
                               f"`raykube doctor raycluster/{self.name} -n {self.namespace}` says why")
            time.sleep(poll)


def list_clusters(namespace: str | None = None, *, all_namespaces: bool = False,
                  connection: Connection = DEFAULT) -> list[ClusterDetails]:
    """Every RayCluster of the namespace (or of all namespaces), with its details."""
    ns = None if all_namespaces else connection.resolve_namespace(namespace)

    async def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        client = connection.client()
        try:
            clusters = (await client.list(RAYCLUSTER, namespace=ns)).items
            pods = (await client.list(POD, namespace=ns, label_selector="ray.io/cluster")).items
            return clusters, pods
        finally:
            await client.close()

    clusters, pods = sync(read())
    access = connection.access()
    found = []
    for obj in sorted(clusters, key=lambda c: (c["metadata"]["namespace"], c["metadata"]["name"])):
        meta = obj["metadata"]
        own = [p for p in pods if p["metadata"]["namespace"] == meta["namespace"]
               and (p["metadata"].get("labels") or {}).get("ray.io/cluster") == meta["name"]]
        found.append(_details(obj, own, access.service_proxy(meta["namespace"], f"{meta['name']}-head-svc") + "/"))
    return found
