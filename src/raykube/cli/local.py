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
from raykube.local.processes import ComponentFailedError, is_alive
from raykube.local.realnode import RealNodeError

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
) -> None:
    """Start etcd, the API server, controller-manager, scheduler and nodes on loopback."""
    if nodes not in ("fake", "real"):
        raise typer.BadParameter("must be 'fake' or 'real'", param_hint="--nodes")
    node_mode: NodeMode = "fake" if nodes == "fake" else "real"
    started = time.monotonic()
    try:
        cluster = _cluster(state_dir, nodes=node_mode, fake_nodes=fake_nodes, node_cpu=node_cpu,
                           node_memory=node_memory)
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
