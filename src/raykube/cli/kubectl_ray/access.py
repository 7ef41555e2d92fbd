"""`kubectl ray session` (port-forwards to a head) and `kubectl ray log` (every Ray node's logs into a directory).

Both take ``NAME`` (a RayCluster) or ``raycluster|rayjob|rayservice/NAME``. ``session`` forwards, as KubeRay's
plugin does, the dashboard (8265) and the Ray client (10001) of a RayCluster, the dashboard of a RayJob's
cluster, the dashboard and Serve (8000) of a RayService, through ``kubectl port-forward`` to the head Service,
and starts it again 3 s after it fails (the head pod was replaced, the connection dropped) until it ends
cleanly or is interrupted. ``log`` copies ``/tmp/ray/session_latest/logs`` of each Ray node pod (``kubectl exec ...
tar``) into ``--out-dir/<pod>/``; where that fails (no tar, no exec, a node without a kubelet) it saves the
containers' logs from the API instead, and says so.
"""

from __future__ import annotations

import asyncio
import io
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
from raykube.runtime.objects import Obj

PORTS = {"Ray Dashboard": 8265, "Ray Interactive Client": 10001, "Ray Serve": 8000}
_SESSION_PORTS = {"raycluster": ("Ray Dashboard", "Ray Interactive Client"), "rayjob": ("Ray Dashboard",),
                  "rayservice": ("Ray Dashboard", "Ray Serve")}
RECONNECT_DELAY = 3.0
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
    out_dir: Annotated[Path | None, typer.Option(help="File Directory PATH of where to download the file logs to.")]
    = None,
    node_type: Annotated[str, typer.Option(help="Type of Ray node to download the files for (all, head, worker).")]
    = "all",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Get Ray logs of every Ray node of a cluster into a directory."""
    if node_type not in ("all", "head", "worker"):
        fail(f"unknown --node-type {node_type!r}: must be all, head or worker")
    kind, name = _one_target(resource)
    t = target(kubeconfig, context, namespace)
    cluster = run(head_cluster(t, kind, name))
    if out_dir is None:
        typer.echo("No output directory specified, creating dir under current directory using resource name.")
        out_dir = Path.cwd() / name
    out_dir.mkdir(parents=True, exist_ok=True)
    selector = f"ray.io/cluster={cluster}" + ("" if node_type == "all" else f",ray.io/node-type={node_type}")

    async def pods() -> list[Obj]:
        async with closing(t.client()) as client:
            return (await client.list(POD, namespace=t.namespace, label_selector=selector)).items

    found = run(pods())
    if not found:
        fail(f"no Ray nodes found for {kind} {name} in namespace {t.namespace}")
    saved = 0
    for pod in sorted(found, key=lambda p: p["metadata"]["name"]):
        pod_name = str(pod["metadata"]["name"])
        typer.echo(f"Downloading log for Ray Node {pod_name}")
        problem = _download(t, pod, out_dir / pod_name)
        if problem:
            typer.echo(f"  could not download logs of {pod_name}: {problem}", err=True)
        else:
            saved += 1
    if not saved:
        fail(f"no logs could be downloaded into {out_dir}")
    typer.echo(f"Saved logs of {saved} Ray node(s) in {out_dir}")


def _download(t: Target, pod: Obj, dest: Path) -> str:
    """Copy one node's Ray logs (``exec tar``), else its container logs; the problem, or "" on success."""
    dest.mkdir(parents=True, exist_ok=True)
    pod_name = str(pod["metadata"]["name"])
    containers = [str(c["name"]) for c in pod["spec"]["containers"]]
    command = [kubectl_binary(), *kubectl_args(t), "exec", "-n", t.namespace, pod_name, "-c", containers[0], "--",
               "tar", "-cf", "-", "-C", "/tmp/ray/session_latest", "logs"]
    done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    if done.returncode == 0 and done.stdout:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(dest, filter="data")
        return ""
    exec_problem = (done.stderr.decode(errors="replace").strip().splitlines() or ["exec failed"])[-1]
    problems = []
    for container in containers:
        try:
            lines = asyncio.run(_container_log(t, pod_name, container))
        except Exception as err:
            problems.append(f"{container}: {err}")
            continue
        (dest / f"{container}.log").write_text("\n".join(lines) + ("\n" if lines else ""))
    if len(problems) == len(containers):
        return f"exec: {exec_problem}; container logs: {'; '.join(problems)}"
    return ""


async def _container_log(t: Target, pod: str, container: str) -> list[str]:
    return [line async for line in stream_pod_log(t.access, t.namespace, pod, container=container)]
