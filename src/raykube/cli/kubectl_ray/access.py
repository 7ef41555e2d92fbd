"""`kubectl ray session` (port-forwards to a head) and `kubectl ray log` (every Ray node's logs into a directory).

Both take ``NAME`` (a RayCluster) or ``raycluster|rayjob|rayservice/NAME``. ``session`` forwards, as KubeRay's
plugin does, the dashboard (8265) and the Ray client (10001) of a RayCluster, the dashboard of a RayJob's
cluster, the dashboard and Serve (8000) of a RayService, through ``kubectl port-forward`` to the head Service,
and starts it again 3 s after it fails (the head pod was replaced, the connection dropped) until it ends
cleanly or is interrupted.

``log`` writes, for each Ray node pod, its Ray container's output to ``--out-dir/<pod>/stdout.log`` and copies
``/tmp/ray/session_latest/logs`` there (``kubectl exec ... tar``), as KubeRay's plugin does; a node whose
files cannot be read (no exec, no tar, a node without a kubelet) is reported, the others still downloaded.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Annotated

import typer

from raykube.cli.kubectl_ray.manage import parse_targets
from raykube.cli.kubectl_ray.session import (
    Context,
    Kubeconfig,
    Namespace,
    PluginError,
    Target,
    closing,
    fail,
    kubectl_args,
    kubectl_binary,
    run,
    target,
)
from raykube.cli.kubehttp import stream_pod_log
from raykube.controllers.kinds import POD, RAYCLUSTER, RAYJOB, RAYSERVICE
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.explain import explain
from raykube.runtime.objects import Obj

PORTS = {"Ray Dashboard": 8265, "Ray Interactive Client": 10001, "Ray Serve": 8000}
_SESSION_PORTS = {"raycluster": ("Ray Dashboard", "Ray Interactive Client"), "rayjob": ("Ray Dashboard",),
                  "rayservice": ("Ray Dashboard", "Ray Serve")}
RECONNECT_DELAY = 3.0
RAY_LOG_DIR = "/tmp/ray/session_latest/logs/"
_NODE_TYPES = {"all": "Command set to retrieve both head and worker node logs.",
               "head": "Command set to retrieve only head node logs.",
               "worker": "Command set to retrieve only worker node logs."}
_KIND_OBJECTS = {"raycluster": (RAYCLUSTER, "Ray cluster"), "rayjob": (RAYJOB, "RayJob"),
                 "rayservice": (RAYSERVICE, "RayService")}


def _one_target(resource: str) -> tuple[str, str]:
    try:
        (found,) = parse_targets([resource])
    except PluginError as err:
        fail(err)
    return found


async def head_cluster(t: Target, kind: str, name: str) -> str:
    """The RayCluster behind a resource (a RayJob's is in its status); raises when missing."""
    resource, label = _KIND_OBJECTS[kind]
    async with closing(t.client()) as client:
        try:
            obj = await client.get(resource, name, namespace=t.namespace)
        except ApiError as err:
            if is_not_found(err):
                raise PluginError(f"{label} {name} not found in namespace {t.namespace}") from err
            raise
    if kind == "rayjob":
        cluster = str((obj.get("status") or {}).get("rayClusterName") or "")
        if not cluster:
            raise PluginError(f"RayJob {name} has no Ray cluster yet")
        return cluster
    return name


def session(
    resource: Annotated[str, typer.Argument(metavar="(RAYCLUSTER | TYPE/NAME)")],
    address: Annotated[str, typer.Option(help="Local address to listen on.")] = "localhost",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="verbose output")] = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Forward local ports to the Ray resources (RayCluster: dashboard and client; RayJob: dashboard; RayService:
    dashboard and Serve)."""
    kind, name = _one_target(resource)
    t = target(kubeconfig, context, namespace)
    cluster = run(head_cluster(t, kind, name))
    service = f"{name if kind == 'rayservice' else cluster}-head-svc"
    ports = {label: port for label, port in PORTS.items() if label in _SESSION_PORTS[kind]}
    typer.echo(f"Forwarding ports to service {service}")
    for label, port in ports.items():
        typer.echo(f"{label}: http://{address}:{port}")
    typer.echo("")
    command = [kubectl_binary(), *kubectl_args(t), "port-forward", "-n", t.namespace, f"--address={address}",
               f"service/{service}", *[f"{p}:{p}" for p in ports.values()]]
    try:
        while True:
            if verbose:
                typer.echo(f"Running: {' '.join(command)}")
            code = subprocess.call(command)
            if code == 0:
                return
            typer.echo(f"failed to port-forward: exit status {code}. Retrying in {RECONNECT_DELAY:g}s ...\n")
            time.sleep(RECONNECT_DELAY)
    except KeyboardInterrupt:
        typer.echo("", err=True)


def log(
    resource: Annotated[str, typer.Argument(metavar="(RAYCLUSTER | TYPE/NAME)")],
    out_dir: Annotated[Path | None, typer.Option(help="directory to save the logs to")] = None,
    node_type: Annotated[str, typer.Option(help="type of Ray node from which to download log, supports 'worker', "
                                                "'head', or 'all'")] = "all",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Get Ray cluster logs."""
    kind, name = _one_target(resource)
    node_type = node_type.lower()
    if node_type not in _NODE_TYPES:
        fail(f"unknown node type `{node_type}`")
    t = target(kubeconfig, context, namespace)
    cluster = run(_log_cluster(t, kind, name))
    made = out_dir is None
    if out_dir is None:
        typer.echo("No output directory specified, creating dir under current directory using resource name.")
        out_dir = Path(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(_NODE_TYPES[node_type])
    selector = f"ray.io/cluster={cluster}" + ("" if node_type == "all" else f",ray.io/node-type={node_type}")

    async def pods() -> list[Obj]:
        async with closing(t.client()) as client:
            return (await client.list(POD, namespace=t.namespace, label_selector=selector)).items

    found = run(pods())
    if not found:
        if made:
            shutil.rmtree(out_dir, ignore_errors=True)
        fail(f"No Ray nodes found for resource {cluster}")
    problems = 0
    for pod in sorted(found, key=lambda p: p["metadata"]["name"]):
        pod_name = str(pod["metadata"]["name"])
        typer.echo(f"Downloading log for Ray Node {pod_name}")
        for problem in _download(t, pod, out_dir / pod_name):
            problems += 1
            typer.echo(f"  {pod_name}: {problem}", err=True)
    if problems:
        fail(f"{problems} download(s) failed; what could be read is in {out_dir}")


async def _log_cluster(t: Target, kind: str, name: str) -> str:
    """The RayCluster whose nodes ``log`` reads (a RayService's active cluster, as KubeRay's plugin does)."""
    if kind != "rayservice":
        return await head_cluster(t, kind, name)
    async with closing(t.client()) as client:
        try:
            obj = await client.get(RAYSERVICE, name, namespace=t.namespace)
        except ApiError as err:
            raise PluginError(f"failed to retrieve Ray service info for {name}: {explain(err)}") from err
    cluster = str(((obj.get("status") or {}).get("activeServiceStatus") or {}).get("rayClusterName") or "")
    if not cluster:
        raise PluginError(f"RayService {name} has no active Ray cluster yet")
    return cluster


def _download(t: Target, pod: Obj, dest: Path) -> list[str]:
    """The Ray container's output into ``stdout.log``, then the Ray log files (``exec tar``); the problems."""
    dest.mkdir(parents=True, exist_ok=True)
    pod_name, container = str(pod["metadata"]["name"]), str(pod["spec"]["containers"][0]["name"])
    problems = []
    try:
        lines = asyncio.run(_container_log(t, pod_name, container))
        (dest / "stdout.log").write_text("\n".join(lines) + ("\n" if lines else ""))
    except Exception as err:
        problems.append(f"could not read the log of container {container}: {err}")
    command = [kubectl_binary(), *kubectl_args(t), "exec", "-n", t.namespace, pod_name, "-c", container, "--",
               "tar", "--warning=no-file-changed", "-cf", "-", "-C", RAY_LOG_DIR, "."]
    done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    reason = (done.stderr.decode(errors="replace").strip().splitlines() or [f"exit {done.returncode}"])[-1]
    # GNU tar exits 1 when a file changed while it was read (Ray keeps writing its logs; --warning only silences
    # the message): the archive is still whole. kubectl's own failures (no pod, no exec) exit 1 with no output.
    if done.returncode in (0, 1) and done.stdout:
        try:
            with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
                archive.extractall(dest, filter="data")
            return problems
        except tarfile.TarError as err:
            reason = f"not a tar archive ({err})"
    problems.append(f"could not copy {RAY_LOG_DIR} (kubectl exec ... tar): {reason}")
    return problems


async def _container_log(t: Target, pod: str, container: str) -> list[str]:
    return [line async for line in stream_pod_log(t.access, t.namespace, pod, container=container)]
