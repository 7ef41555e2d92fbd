"""`raykube job ...`: run Ray jobs as RayJobs, follow them, read their logs, list them.

* ``submit -- <entrypoint>`` creates a RayJob with a fresh cluster (``--mode`` K8sJobMode, HTTPMode or
  SidecarMode; the operator submits). ``--working-dir`` ships a small directory as a ConfigMap mounted in the
  head pod, where the entrypoint runs. With ``--cluster <name>`` (or ``--mode InteractiveMode``) the CLI submits
  itself, as KubeRay's kubectl plugin does: it creates an InteractiveMode RayJob, waits for the cluster, uploads
  the working directory as a Ray package and submits through the dashboard (the API server's Service proxy, or
  ``--dashboard-address``), then sets ``spec.jobId`` so the operator follows the job.
* ``logs <name> [-f]``: the submitter's output (K8sJobMode: the submitter pod; SidecarMode: the head pod's
  submitter container) or the driver log from the dashboard (HTTPMode, InteractiveMode, or ``--dashboard``).
* ``list``: RayJobs with their job and deployment status.

Progress goes to stderr, one line per state change; the exit code is 0 for a job that completed and 1 for
one that failed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from raykube.builders import names
from raykube.cli.jobspec import (
    DEFAULT_IMAGE,
    WORKDIR_MOUNT,
    mount_workdir,
    rayjob_manifest,
    workdir_configmap,
    workdir_package,
)
from raykube.cli.kubehttp import KubeAccess, KubeAccessError, load_access, stream_pod_log
from raykube.controllers.kinds import POD, RAYJOB
from raykube.ray.client import DashboardClient
from raykube.ray.errors import DashboardError
from raykube.ray.models import JobSubmitRequest
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError
from raykube.runtime.explain import explain
from raykube.runtime.kinds import ResourceKind
from raykube.runtime.objects import Obj

app = typer.Typer(no_args_is_help=True, help="Run Ray jobs as RayJobs and follow them.")
console = Console(stderr=True)

_TERMINAL = {"Complete", "Failed", "ValidationFailed"}
_MODES = ("K8sJobMode", "HTTPMode", "SidecarMode", "InteractiveMode")
CONFIG_MAP = ResourceKind("", "v1", "ConfigMap", "configmaps")

Kubeconfig = Annotated[str | None, typer.Option(envvar="KUBECONFIG", help="Kubeconfig file.")]
Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="Namespace (default: the context's).")]


def _access(kubeconfig: str | None) -> KubeAccess:
    try:
        return load_access(kubeconfig)
    except KubeAccessError as err:
        raise typer.BadParameter(str(err), param_hint="--kubeconfig") from None


_suffix = names.random_suffix


# -- commands ----------------------------------------------------------------------------------------------


@app.command()
def submit(
    entrypoint: Annotated[list[str], typer.Argument(help="The command to run, after `--`.")],
    name: Annotated[str | None, typer.Option(help="RayJob name (default: job-<random>).")] = None,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    working_dir: Annotated[Path | None, typer.Option(help="Directory to run the entrypoint in.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Existing RayCluster: submit in InteractiveMode.")] = None,
    mode: Annotated[str, typer.Option(help="K8sJobMode, HTTPMode, SidecarMode or InteractiveMode.")] = "K8sJobMode",
    image: Annotated[str, typer.Option(help="Ray image of the new cluster.")] = DEFAULT_IMAGE,
    ray_version: Annotated[str, typer.Option(help="rayVersion of the new cluster.")] = "2.52.0",
    workers: Annotated[int, typer.Option(help="Worker pods of the new cluster.")] = 1,
    head_cpu: Annotated[str, typer.Option(help="CPU of the head pod.")] = "1",
    worker_cpu: Annotated[str, typer.Option(help="CPU of each worker pod.")] = "1",
    memory: Annotated[str, typer.Option(help="Memory of each pod.")] = "2Gi",
    shutdown: Annotated[bool, typer.Option(help="Delete the new cluster when the job ends.")] = True,
    ttl: Annotated[int, typer.Option(help="Seconds to keep the cluster after the job ends.")] = 60,
    wait: Annotated[bool, typer.Option(help="Follow the RayJob until it ends.")] = True,
    dashboard_address: Annotated[str | None, typer.Option(
        help="Ray dashboard URL for InteractiveMode (default: through the API server's Service proxy).")] = None,
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 3600.0,
) -> None:
    """Run ENTRYPOINT as a RayJob and follow it to the end."""
    if mode not in _MODES:
        raise typer.BadParameter(f"must be one of {', '.join(_MODES)}", param_hint="--mode")
    interactive = bool(cluster) or mode == "InteractiveMode"
    access = _access(kubeconfig)
    ns = namespace or access.namespace
    job_name = name or f"job-{_suffix()}"
    manifest = rayjob_manifest(job_name, ns, " ".join(entrypoint), mode=mode, cluster=cluster, image=image,
                               ray_version=ray_version, workers=workers, head_cpu=head_cpu, worker_cpu=worker_cpu,
                               memory=memory, shutdown=shutdown, ttl=ttl)
    configmap = None
    if working_dir is not None and not interactive:
        configmap, items = workdir_configmap(job_name, ns, working_dir)
        mount_workdir(manifest, configmap["metadata"]["name"], items)
    code = asyncio.run(_submit(kubeconfig, access, manifest, configmap, working_dir if interactive else None,
                               dashboard_address, wait=wait, timeout=timeout))
    raise typer.Exit(code)


async def _submit(kubeconfig: str | None, access: KubeAccess, manifest: dict[str, Any], configmap: Obj | None,
                  package_dir: Path | None, dashboard_address: str | None, *, wait: bool, timeout: float,
                  submission_id: str | None = None, request_options: dict[str, Any] | None = None,
                  extra_headers: dict[str, str] | None = None) -> int:
    """Create the RayJob and follow it; InteractiveMode submits through the dashboard (``request_options``: more
    fields of the submission, ``extra_headers``: more HTTP headers to the dashboard)."""
    client = KubeClient.from_kubeconfig(kubeconfig) if kubeconfig else KubeClient.from_kubeconfig()
    ns, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
    progress = _Progress(f"{ns}/{name}")
    try:
        created = await client.create(RAYJOB, manifest, namespace=ns)
        progress.note(f"created RayJob {ns}/{name} ({manifest['spec']['submissionMode']})")
        if configmap is not None:
            configmap["metadata"]["ownerReferences"] = [{"apiVersion": "ray.io/v1", "kind": "RayJob", "name": name,
                                                        "uid": created["metadata"]["uid"], "controller": True}]
            await client.create(CONFIG_MAP, configmap, namespace=ns)
            progress.note(f"working directory in ConfigMap {configmap['metadata']['name']}, mounted at "
                          f"{WORKDIR_MOUNT}")
        if manifest["spec"]["submissionMode"] == "InteractiveMode":
            status = await _follow(client, ns, name, progress, until={"Waiting", *_TERMINAL}, timeout=timeout)
            if status.get("jobDeploymentStatus") != "Waiting":
                return 1
            address = dashboard_address or access.service_proxy(ns, f"{status['rayClusterName']}-head-svc")
            job_id = await _submit_to_dashboard(access, address, manifest, package_dir, progress,
                                                via_proxy=dashboard_address is None, submission_id=submission_id,
                                                request_options=request_options, extra_headers=extra_headers)
            await client.patch(RAYJOB, name, {"spec": {"jobId": job_id}}, namespace=ns)
        if not wait:
            return 0
        status = await _follow(client, ns, name, progress, until=_TERMINAL, timeout=timeout)
        return 0 if status.get("jobDeploymentStatus") == "Complete" else 1
    except ApiError as err:
        typer.echo(f"Error: {explain(err)}", err=True)  # one line, as every command's
        return 1
    finally:
        await client.close()


async def _submit_to_dashboard(access: KubeAccess, address: str, manifest: dict[str, Any], package_dir: Path | None,
                               progress: _Progress, *, via_proxy: bool, submission_id: str | None = None,
                               request_options: dict[str, Any] | None = None,
                               extra_headers: dict[str, str] | None = None) -> str:
    name = manifest["metadata"]["name"]
    job_id = submission_id or f"{name}-{_suffix()}"
    runtime_env: dict[str, Any] = dict(yaml.safe_load(manifest["spec"].get("runtimeEnvYAML") or "") or {})
    transport = access.transport() if via_proxy else None
    headers = {**(access.headers if via_proxy else {}), **(extra_headers or {})}
    async with DashboardClient(transport=transport, headers=headers or None, timeout=60.0) as dashboard:
        if package_dir is not None:
            uri, data = workdir_package(package_dir)
            if not await dashboard.package_exists(address, uri):
                await dashboard.upload_package(address, uri, data)
            runtime_env["working_dir"] = uri
            progress.note(f"uploaded {package_dir} ({len(data) // 1024} KiB) as {uri}")
        request = JobSubmitRequest(entrypoint=manifest["spec"]["entrypoint"], submission_id=job_id,
                                   runtime_env=runtime_env or None, **(request_options or {}))
        await dashboard.submit_job(address, request)
    progress.note(f"submitted Ray job {job_id}")
    return job_id


class _Progress:
    """One line per change of (deployment status, job status, cluster), with the time since start."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.started = time.monotonic()
        self.last: tuple[str, str, str] | None = None

    def note(self, text: str) -> None:
        console.print(f"[dim]{time.monotonic() - self.started:6.1f}s[/dim]  {text}")

    def show(self, status: dict[str, Any]) -> None:
        key = (str(status.get("jobDeploymentStatus") or "New"), str(status.get("jobStatus") or ""),
               str(status.get("rayClusterName") or ""))
        if key == self.last:
            return
        self.last = key
        parts = [f"[bold]{key[0]}[/bold]"]
        if key[1]:
            colour = {"SUCCEEDED": "green", "FAILED": "red", "STOPPED": "yellow"}.get(key[1], "cyan")
            parts.append(f"job [{colour}]{key[1]}[/{colour}]")
        if key[2]:
            parts.append(f"cluster {key[2]}")
        if status.get("reason"):
            parts.append(f"[red]{status['reason']}[/red]: {status.get('message', '')}")
        self.note("  ·  ".join(parts))


async def _follow(client: KubeClient, ns: str, name: str, progress: _Progress, *, until: set[str],
                  timeout: float) -> dict[str, Any]:
    """Show every status the RayJob goes through (a watch, so no state is skipped) until one of ``until``."""
    deadline = time.monotonic() + timeout
    selector = f"metadata.name={name}"
    status: dict[str, Any] = {}
    with console.status(f"waiting for RayJob {ns}/{name} ..."):
        while time.monotonic() < deadline:
            listed = await client.list(RAYJOB, namespace=ns, field_selector=selector)
            if not listed.items:
                progress.note("the RayJob is gone")
                return {}
            status = dict(listed.items[0].get("status") or {})
            progress.show(status)
            if status.get("jobDeploymentStatus") in until:
                return status
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
                    async for event in client.watch(RAYJOB, namespace=ns, field_selector=selector,
                                                    resource_version=listed.resource_version, timeout_seconds=60):
                        if event.type == "DELETED":
                            progress.note("the RayJob was deleted")
                            return {}
                        if event.type in ("ADDED", "MODIFIED"):
                            status = dict(event.object.get("status") or {})
                            progress.show(status)
                            if status.get("jobDeploymentStatus") in until:
                                return status
            except TimeoutError:
                break
            except ApiError as err:
                if err.code != 410:  # an expired watch is relisted; anything else is a real error
                    raise
    progress.note(f"[yellow]still {status.get('jobDeploymentStatus') or 'New'} after {timeout:g}s[/yellow]")
    return status


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="RayJob name.")],
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
    dashboard: Annotated[bool, typer.Option(help="Read the driver log from the Ray dashboard.")] = False,
    dashboard_address: Annotated[str | None, typer.Option(help="Ray dashboard URL (default: Service proxy).")] = None,
) -> None:
    """Print a RayJob's output: the submitter's log, or the driver log from the dashboard."""
    access = _access(kubeconfig)
    ns = namespace or access.namespace
    code = asyncio.run(_logs(kubeconfig, access, ns, name, follow=follow,
                             dashboard=dashboard or dashboard_address is not None, address=dashboard_address))
    raise typer.Exit(code)


async def _logs(kubeconfig: str | None, access: KubeAccess, ns: str, name: str, *, follow: bool, dashboard: bool,
                address: str | None) -> int:
    client = KubeClient.from_kubeconfig(kubeconfig) if kubeconfig else KubeClient.from_kubeconfig()
    try:
        job = await client.get(RAYJOB, name, namespace=ns)
        spec, status = job.get("spec") or {}, job.get("status") or {}
        mode = spec.get("submissionMode") or "K8sJobMode"
        if not dashboard and mode == "K8sJobMode":
            pods = (await client.list(POD, namespace=ns, label_selector=f"batch.kubernetes.io/job-name={name}")).items
            if not pods:
                console.print("no submitter pod yet")
                return 1
            pod = max(pods, key=lambda p: str(p["metadata"].get("creationTimestamp", "")))
            await _print_pod_log(access, ns, pod["metadata"]["name"], None, follow)
            return 0
        if not dashboard and mode == "SidecarMode":
            cluster = status.get("rayClusterName", "")
            heads = (await client.list(POD, namespace=ns,
                                       label_selector=f"ray.io/cluster={cluster},ray.io/node-type=head")).items
            if not heads:
                console.print("no head pod yet")
                return 1
            await _print_pod_log(access, ns, heads[0]["metadata"]["name"], "ray-job-submitter", follow)
            return 0
        return await _dashboard_logs(client, access, ns, name, status, follow=follow, address=address)
    except (ApiError, KubeAccessError, DashboardError) as err:
        typer.echo(f"Error: {explain(err)}", err=True)  # one line, as every command's
        return 1
    finally:
        await client.close()


async def _print_pod_log(access: KubeAccess, ns: str, pod: str, container: str | None, follow: bool) -> None:
    async for line in stream_pod_log(access, ns, pod, container=container, follow=follow):
        typer.echo(line)


async def _dashboard_logs(client: KubeClient, access: KubeAccess, ns: str, name: str, status: dict[str, Any], *,
                          follow: bool, address: str | None) -> int:
    if not status.get("jobId") or not status.get("rayClusterName"):
        console.print("the RayJob has no Ray job yet")
        return 1
    via_proxy = address is None
    target = address or access.service_proxy(ns, f"{status['rayClusterName']}-head-svc")
    printed = 0
    async with DashboardClient(transport=access.transport() if via_proxy else None,
                               headers=access.headers if via_proxy else None, timeout=30.0) as dashboard:
        while True:
            text = await dashboard.job_logs(target, status["jobId"])
            if len(text) > printed:
                typer.echo(text[printed:], nl=False)
                printed = len(text)
            if not follow:
                return 0
            details = await dashboard.get_job(target, status["jobId"])
            if details.status.is_terminal:
                final = await dashboard.job_logs(target, status["jobId"])
                typer.echo(final[printed:], nl=False)
                return 0
            await asyncio.sleep(1.0)


@app.command(name="list")
def list_jobs(
    namespace: Namespace = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")] = False,
    kubeconfig: Kubeconfig = None,
) -> None:
    """List RayJobs with their job and deployment status."""
    access = _access(kubeconfig)
    ns = None if all_namespaces else (namespace or access.namespace)
    items = asyncio.run(_list(kubeconfig, ns))
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in (["NAMESPACE"] if all_namespaces else []) + ["NAME", "MODE", "JOB STATUS", "DEPLOYMENT STATUS",
                                                               "RAY CLUSTER", "START", "END"]:
        table.add_column(column)
    for job in sorted(items, key=lambda j: (j["metadata"].get("namespace", ""), j["metadata"]["name"])):
        status, spec = job.get("status") or {}, job.get("spec") or {}
        row = [job["metadata"]["name"], spec.get("submissionMode") or "K8sJobMode", status.get("jobStatus", ""),
               status.get("jobDeploymentStatus", ""), status.get("rayClusterName", ""), status.get("startTime", ""),
               status.get("endTime", "")]
        table.add_row(*([job["metadata"].get("namespace", "")] if all_namespaces else []), *row)
    Console().print(table)


async def _list(kubeconfig: str | None, namespace: str | None) -> list[Obj]:
    client = KubeClient.from_kubeconfig(kubeconfig) if kubeconfig else KubeClient.from_kubeconfig()
    try:
        return (await client.list(RAYJOB, namespace=namespace)).items
    finally:
        await client.close()
