"""`raykube local ...`: a local Kubernetes cluster for trying raykube and for its tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from raykube.cli import charts
from raykube.local.binaries import MissingBinaryError
from raykube.local.cluster import ClusterConfig, LocalCluster, NodeMode, default_state_dir
from raykube.local.nodes.real.plan import RealNodeError
from raykube.local.processes import ComponentFailedError, is_alive

app = typer.Typer(no_args_is_help=True, help="A local Kubernetes cluster on this machine.")
console = Console(stderr=True)
app.add_typer(charts.app, name="charts")

StateDir = Annotated[
    Path, typer.Option("--state-dir", envvar="RAYKUBE_LOCAL_STATE", help="Directory holding the cluster's state.")
]


def _cluster(state_dir: Path | None, **kwargs: object) -> LocalCluster:
    return LocalCluster(ClusterConfig(state_dir=state_dir or default_state_dir(), **kwargs))  # type: ignore[arg-type]


@app.command()
def up(
    state_dir: StateDir = None,  # type: ignore[assignment]
    nodes: Annotated[
        str, typer.Option(help="Node kind: 'fake' (kwok) or 'real' (containerd, kubelet, kube-proxy, CoreDNS).")
    ] = "fake",
    fake_nodes: Annotated[int, typer.Option(help="How many fake nodes.")] = 2,
    node_cpu: Annotated[str, typer.Option(help="CPU capacity of each fake node.")] = "32",
    node_memory: Annotated[str, typer.Option(help="Memory capacity of each fake node.")] = "128Gi",
    control_plane_qps: Annotated[int, typer.Option(
        help="API requests per second allowed to the scheduler and controller-manager (bursts of twice that); "
             "0 keeps their defaults (the scheduler binds at most about 50 pods per second). Raise it for "
             "benchmarks at scale.")] = 0,
    fake_node_workers: Annotated[int, typer.Option(
        help="Pods the fake nodes (one kwok for all) move to Running at a time; 0 keeps kwok's default (4). "
             "Raise it for benchmarks at scale, where real nodes would start pods side by side.")] = 0,
) -> None:
    """Start etcd, the API server, controller-manager, scheduler and nodes on loopback."""
    if nodes not in ("fake", "real"):
        raise typer.BadParameter("must be 'fake' or 'real'", param_hint="--nodes")
    if control_plane_qps < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--control-plane-qps")
    if fake_node_workers < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--fake-node-workers")
    node_mode: NodeMode = "fake" if nodes == "fake" else "real"
    started = time.monotonic()
    try:
        cluster = _cluster(state_dir, nodes=node_mode, fake_nodes=fake_nodes, node_cpu=node_cpu,
                           node_memory=node_memory, control_plane_qps=control_plane_qps,
                           fake_node_workers=fake_node_workers)
        with console.status("starting the local cluster ...") as status:
            def progress(message: str) -> None:
                console.log(message)
                status.update(f"{message} ...")

            cluster.up(progress)
    except (MissingBinaryError, ComponentFailedError, RealNodeError, ValueError) as err:
        console.print(f"[red]raykube local up failed:[/red] {err}")
        raise typer.Exit(1) from None
    console.print(f"[green]local cluster up[/green] in {time.monotonic() - started:.1f}s")
    typer.echo(str(cluster.kubeconfig))


@app.command()
def down(state_dir: StateDir = None) -> None:  # type: ignore[assignment]
    """Stop every process of the local cluster (by pid) and remove its etcd data."""
    stopped = _cluster(state_dir).down(console.log)
    console.print(f"stopped {len(stopped)} processes" if stopped else "nothing was running")


@app.command()
def kubeconfig(state_dir: StateDir = None) -> None:  # type: ignore[assignment]
    """Print the path of the local cluster's admin kubeconfig."""
    cluster = _cluster(state_dir)
    if not cluster.kubeconfig.exists():
        console.print("no local cluster: run `raykube local up`")
        raise typer.Exit(1)
    typer.echo(str(cluster.kubeconfig))


@app.command()
def status(state_dir: StateDir = None) -> None:  # type: ignore[assignment]
    """Show the local cluster's processes and whether the API server is ready."""
    cluster = _cluster(state_dir)
    records = cluster.records()
    if not records:
        console.print("no local cluster")
        raise typer.Exit(1)
    for record in records:
        typer.echo(f"{record.name:26} pid {record.pid:<8} {'running' if is_alive(record) else 'DEAD'}")
    ready = cluster.is_up()
    typer.echo(f"api: {'ready' if ready else 'NOT ready'}")
    if not ready:
        raise typer.Exit(1)


image_app = typer.Typer(no_args_is_help=True, help="Images for real nodes, built here without Docker or a registry.")
build_app = typer.Typer(no_args_is_help=True, help="Build an image from its recipe in images/ and import it.")
image_app.add_typer(build_app, name="build")
app.add_typer(image_app, name="image")


def _import_into_running(state_dir: Path | None, names: list[str]) -> None:
    """Import freshly built images into the running real node, if there is one; else say when they will be."""
    from raykube.local.images import store as image_store

    cluster = _cluster(state_dir)
    plan = cluster.node_plan()
    if plan is None or not cluster.is_up():
        console.print("no real-node cluster is running: `raykube local up --nodes real` imports the image")
        return
    store = image_store.ImageStore()
    wanted = [image for image in store.images() if image.name in names]
    imported = image_store.import_missing(plan.containerd_socket, wanted, console.log)
    console.print(f"imported into {cluster.state_dir}" if imported else "already in the running node's containerd")


def _report(built: object, started: float) -> None:
    from raykube.local.images.recipes import Built
    from raykube.local.images.store import short

    assert isinstance(built, Built)
    console.print(f"[green]built[/green] in {time.monotonic() - started:.1f}s "
                  f"({built.cached_steps}/{built.steps} filesystem steps cached), {built.digest[:19]}")
    for name in built.names:
        typer.echo(short(name))


@build_app.command("ray")
def image_build_ray(
    ray_version: Annotated[str | None, typer.Option(help="Ray release (default: the version raykube pins).")] = None,
    python: Annotated[str | None, typer.Option(help="Python version; Debian bookworm has 3.11 only.")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        help="A rayproject/ray tag to register too, e.g. 2.46.0-py310-aarch64 (mapped to what builds here).")] = None,
    state_dir: StateDir = None,  # type: ignore[assignment]
) -> None:
    """Ray from PyPI on Debian (images/ray/Dockerfile), imported as rayproject/ray:<version> and aliases."""
    from raykube.local.images import recipes
    from raykube.local.images.dockerfile import BuildError

    started = time.monotonic()
    try:
        plan = recipes.plan_ray(ray_version, python, tag or [])
        console.print(f"building Ray {plan.ray_version} on Python {plan.python} for this machine")
        for note in plan.notes:
            console.print(f"[yellow]note:[/yellow] {note}")
        built = recipes.build_ray(plan, console.log)
    except (BuildError, MissingBinaryError) as err:
        console.print(f"[red]image build failed:[/red] {err}")
        raise typer.Exit(1) from None
    _report(built, started)
    _import_into_running(state_dir, built.names)


@build_app.command("operator")
def image_build_operator(state_dir: StateDir = None) -> None:  # type: ignore[assignment]
    """The raykube operator (images/operator/Dockerfile, repository as context)."""
    from raykube.local.images import recipes
    from raykube.local.images.dockerfile import BuildError

    started = time.monotonic()
    try:
        built = recipes.build_operator(console.log)
    except BuildError as err:
        console.print(f"[red]image build failed:[/red] {err}")
        raise typer.Exit(1) from None
    _report(built, started)
    _import_into_running(state_dir, built.names)


@build_app.command("redis")
def image_build_redis(
    tag: Annotated[list[str] | None, typer.Option(help="Another redis tag to register too, e.g. 7.2.4.")] = None,
    state_dir: StateDir = None,  # type: ignore[assignment]
) -> None:
    """Debian's redis-server (images/redis/Dockerfile), imported as redis:7.4.0 (the samples' tag) and aliases."""
    from raykube.local import redisimage
    from raykube.local.images.dockerfile import BuildError

    started = time.monotonic()
    console.print(f"[yellow]note:[/yellow] {redisimage.REDIS_NOTE}")
    try:
        built = redisimage.build_redis(console.log, tag or [])
    except BuildError as err:
        console.print(f"[red]image build failed:[/red] {err}")
        raise typer.Exit(1) from None
    _report(built, started)
    _import_into_running(state_dir, built.names)


@image_app.command("list")
def image_list() -> None:
    """Images built here (imported into every real node at `up`)."""
    from raykube.local.images import store as image_store

    for image in image_store.ImageStore().images():
        size = image.archive.stat().st_size / 2**20
        typer.echo(f"{image_store.short(image.name):45} {image.digest[:19]}  {size:8.1f} MiB")
