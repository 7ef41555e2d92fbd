"""Ray jobs from Python: ``Job.submit(entrypoint, runtime_env, cluster=...)`` → ``wait()`` / ``logs()``.

A job is a RayJob the operator runs (K8sJobMode: a submitter pod runs ``ray job submit``): on an existing
cluster (``cluster=``: the RayJob's ``clusterSelector``) or on a new one (``cluster_config=``: the RayJob's
``rayClusterSpec``, deleted after the job unless ``shutdown_after_finish=False``). ``logs()`` reads the
driver log from the Ray dashboard through the API server's Service proxy (or ``dashboard_address``).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from raykube.api.rayjob import RayJob
from raykube.controllers.kinds import RAYJOB
from raykube.ray.client import DashboardClient
from raykube.ray.errors import DashboardError
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.explain import explain
from raykube.sdk.cluster import Cluster, ClusterConfig
from raykube.sdk.connection import DEFAULT, Connection, SdkError, sync

TERMINAL = {"Complete", "Failed", "ValidationFailed"}


@dataclass(frozen=True)
class JobStatus:
    """Where a RayJob is: the operator's deployment status and Ray's job status."""

    name: str
    namespace: str
    deployment_status: str
    job_status: str
    cluster: str
    message: str

    @property
    def done(self) -> bool:
        return self.deployment_status in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.deployment_status == "Complete" and self.job_status == "SUCCEEDED"


def _status(obj: dict[str, Any]) -> JobStatus:
    model = RayJob.model_validate(obj)
    status = model.status
    return JobStatus(name=model.metadata["name"], namespace=model.metadata["namespace"],
                     deployment_status=(status.job_deployment_status if status else None) or "New",
                     job_status=(status.job_status if status else None) or "",
                     cluster=(status.ray_cluster_name if status else None) or "",
                     message=(status.message if status else None) or "")


def rayjob_body(name: str, namespace: str, entrypoint: str, *, runtime_env: dict[str, Any] | None,
                cluster: str | None, cluster_config: ClusterConfig | None, shutdown_after_finish: bool,
                ttl_seconds: int) -> dict[str, Any]:
    """The RayJob for a submission (validated by raykube's ray.io/v1 model)."""
    spec: dict[str, Any] = {"entrypoint": entrypoint, "submissionMode": "K8sJobMode"}
    if runtime_env:
        spec["runtimeEnvYAML"] = yaml.safe_dump(runtime_env, sort_keys=True)
    if cluster:
        spec["clusterSelector"] = {"ray.io/cluster": cluster}
    elif cluster_config is not None:
        spec["rayClusterSpec"] = cluster_config.to_spec()
        if shutdown_after_finish:
            spec.update(shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=ttl_seconds)
    else:
        raise SdkError("Job.submit needs cluster= (an existing cluster) or cluster_config= (a new one)")
    body = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}
    return RayJob.model_validate(body).to_json()


class Job:
    """A submitted Ray job (a RayJob)."""

    def __init__(self, name: str, *, namespace: str | None = None, connection: Connection = DEFAULT,
                 dashboard_address: str | None = None) -> None:
        self.name = name
        self.connection = connection
        self.namespace = connection.resolve_namespace(namespace)
        self.dashboard_address = dashboard_address

    def __repr__(self) -> str:
        return f"Job({self.namespace}/{self.name})"

    @classmethod
    def submit(cls, entrypoint: str, *, runtime_env: dict[str, Any] | None = None,
               cluster: Cluster | str | None = None, cluster_config: ClusterConfig | None = None,
               name: str | None = None, namespace: str | None = None, shutdown_after_finish: bool = True,
               ttl_seconds: int = 60, dashboard_address: str | None = None,
               connection: Connection = DEFAULT) -> Job:
        """Create a RayJob running ``entrypoint`` on ``cluster`` (existing) or on a new ``cluster_config``."""
        if isinstance(cluster, Cluster):
            namespace = namespace or cluster.namespace
            connection = cluster.connection if connection is DEFAULT else connection
        elif cluster:
            # A RayJob selecting a cluster that does not exist waits forever: say so now instead.
            Cluster.attach(cluster, namespace=namespace, connection=connection)
        job = cls(name or f"job-{''.join(random.choices('bcdfghjklmnpqrstvwxz2456789', k=5))}",
                  namespace=namespace, connection=connection, dashboard_address=dashboard_address)
        body = rayjob_body(job.name, job.namespace, entrypoint, runtime_env=runtime_env,
                           cluster=cluster.name if isinstance(cluster, Cluster) else cluster,
                           cluster_config=cluster_config, shutdown_after_finish=shutdown_after_finish,
                           ttl_seconds=ttl_seconds)

        async def create() -> None:
            client = connection.client()
            try:
                await client.create(RAYJOB, body, namespace=job.namespace)
            except ApiError as err:
                raise SdkError(f"cannot create RayJob {job.namespace}/{job.name}: {explain(err)}") from err
            finally:
                await client.close()

        sync(create())
        return job

    def _get(self) -> dict[str, Any]:
        async def get() -> dict[str, Any]:
            client = self.connection.client()
            try:
                return await client.get(RAYJOB, self.name, namespace=self.namespace)
            except ApiError as err:
                if is_not_found(err):
                    raise SdkError(f"RayJob {self.namespace}/{self.name} not found: list_jobs() lists the jobs "
                                   "there are") from err
                raise
            finally:
                await client.close()

        return sync(get())

    def status(self) -> JobStatus:
        return _status(self._get())

    def wait(self, timeout: float = 3600.0, *, progress: Callable[[str], None] | None = None,
             poll: float = 1.0) -> JobStatus:
        """Wait until the RayJob is Complete or Failed, reporting each change; raise on timeout."""
        report = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        deadline, last = time.monotonic() + timeout, ""
        while True:
            status = self.status()
            line = f"{self.name}: {status.deployment_status}" + (f", job {status.job_status}" if status.job_status
                                                                  else "")
            if line != last:
                report(line)
                last = line
            if status.done:
                return status
            if time.monotonic() >= deadline:
                raise SdkError(f"RayJob {self.namespace}/{self.name} still {status.deployment_status} after "
                               f"{timeout:g}s; `raykube doctor rayjob/{self.name} -n {self.namespace}` says why")
            time.sleep(poll)

    def logs(self, *, follow: bool = False, poll: float = 1.0, out: Callable[[str], None] | None = None) -> str:
        """The driver's log from the Ray dashboard; with ``follow``, printed as it grows until the job ends."""
        status = self._get().get("status") or {}
        if not status.get("jobId") or not status.get("rayClusterName"):
            raise SdkError(f"RayJob {self.namespace}/{self.name} has no Ray job yet")
        emit = out or (lambda text: print(text, end="", flush=True))
        return sync(self._logs(str(status["jobId"]), str(status["rayClusterName"]), follow, poll, emit))

    async def _logs(self, job_id: str, cluster: str, follow: bool, poll: float,
                    emit: Callable[[str], None]) -> str:
        import asyncio

        access = self.connection.access()
        via_proxy = self.dashboard_address is None
        address = self.dashboard_address or access.service_proxy(self.namespace, f"{cluster}-head-svc")
        text = ""
        async with DashboardClient(transport=access.transport() if via_proxy else None,
                                   headers=access.headers if via_proxy else None, timeout=30.0) as dashboard:
            try:
                while True:
                    current = await dashboard.job_logs(address, job_id)
                    if follow and len(current) > len(text):
                        emit(current[len(text):])
                    text = current
                    if not follow or (await dashboard.get_job(address, job_id)).status.is_terminal:
                        return text
                    await asyncio.sleep(poll)
            except DashboardError as err:
                raise SdkError(f"cannot read the logs of Ray job {job_id}: {err}") from err

    def delete(self) -> None:
        async def delete() -> None:
            client = self.connection.client()
            try:
                await client.delete(RAYJOB, self.name, namespace=self.namespace)
            finally:
                await client.close()

        sync(delete())


def list_jobs(namespace: str | None = None, *, all_namespaces: bool = False,
              connection: Connection = DEFAULT) -> list[JobStatus]:
    """Every RayJob of the namespace (or of all namespaces) with its status."""
    ns = None if all_namespaces else connection.resolve_namespace(namespace)

    async def read() -> list[dict[str, Any]]:
        client = connection.client()
        try:
            return (await client.list(RAYJOB, namespace=ns)).items
        finally:
            await client.close()

    return [_status(obj) for obj in sorted(sync(read()), key=lambda j: (j["metadata"]["namespace"],
                                                                       j["metadata"]["name"]))]
