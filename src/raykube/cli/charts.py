"""`raykube local charts ...`: raykube's Helm chart repository on loopback, and the chart's operator as a process.

    raykube local charts serve --port 8879      # then: helm repo add kuberay http://127.0.0.1:8879/
    raykube local charts build --dir ./repo     # only package and index
    raykube local charts run-operator -n kuberay
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from raykube.local.binaries import MissingBinaryError
from raykube.local.charts.operator import (
    ChartOperatorError,
    local_args,
    operator_command,
    read_deployment,
    service_account_kubeconfig,
)
from raykube.local.charts.repo import ChartRepoError, ChartServer, build_repository, publications
from raykube.local.cluster import default_state_dir
from raykube.local.ports import free_ports

app = typer.Typer(no_args_is_help=True, help="raykube's Helm chart repository, served on loopback.")
console = Console(stderr=True)

RepoDir = Annotated[
    Path | None,
    typer.Option("--dir", help="Where the packaged charts and index.yaml go [default: a temporary directory]."),
]
#: helm's own `helm serve` used this port once; any free port works (`--port 0` lets the kernel pick).
DEFAULT_PORT = 8879


def _build(directory: Path) -> None:
    try:
        packages = build_repository(directory)
    except (ChartRepoError, MissingBinaryError) as err:
        console.print(f"[red]chart repository build failed:[/red] {err}")
        raise typer.Exit(1) from None
    for package in packages:
        console.log(f"packaged {package.name}")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@app.command()
def build(directory: RepoDir = None) -> None:
    """Package every published chart version (charts/published.yaml) and write the repository index."""
    target = directory or Path(tempfile.mkdtemp(prefix="raykube-charts-"))
    _build(target)
    typer.echo(str(target))


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 lets the kernel choose.")] = DEFAULT_PORT,
    directory: RepoDir = None,
    rebuild: Annotated[bool, typer.Option(help="Package the charts before serving.")] = True,
) -> None:
    """Serve the chart repository on 127.0.0.1 until interrupted; prints its URL on stdout first."""
    with tempfile.TemporaryDirectory(prefix="raykube-charts-") as tmp:
        target = directory or Path(tmp)
        if rebuild or not (target / "index.yaml").exists():
            _build(target)
        try:
            server = ChartServer(target, port, log=lambda line: console.log(line))
        except OSError as err:
            console.print(f"[red]cannot listen on 127.0.0.1:{port}:[/red] {err.strerror}")
            raise typer.Exit(1) from None
        charts = sorted({f"{p.chart} {p.version}" for p in publications()})
        console.log(f"serving {', '.join(charts)}")
        typer.echo(server.url)
        sys.stdout.flush()
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


@app.command("run-operator")
def run_operator(
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of the chart's release.")],
    deployment: Annotated[str, typer.Option(help="The operator Deployment's name.")] = "kuberay-operator",
    kubeconfig: Annotated[
        Path | None,
        typer.Option(envvar="KUBECONFIG", help="Admin kubeconfig, used only to read the Deployment and get a token "
                     "[default: the local cluster's]."),
    ] = None,
    metrics_port: Annotated[int, typer.Option(help="Local /metrics port; 0: any free port.")] = 0,
    probe_port: Annotated[int, typer.Option(help="Local /healthz and /readyz port; 0: any free port.")] = 0,
) -> None:
    """Run the operator the chart deployed as a local process (for fake nodes, which run no containers).

    Uses the Deployment's args and environment and authenticates as its ServiceAccount (a TokenRequest
    token), so it can do exactly what the chart's RBAC allows. Runs until interrupted.
    """
    admin = (kubeconfig or default_state_dir() / "admin.kubeconfig").expanduser()
    try:
        deployed = read_deployment(admin, namespace, deployment)
        with tempfile.TemporaryDirectory(prefix="raykube-operator-") as tmp:
            token_config = service_account_kubeconfig(
                admin, namespace, deployed.service_account, Path(tmp) / "kubeconfig"
            )
            ports = iter(free_ports(2))
            args = local_args(
                deployed.args,
                kubeconfig=token_config,
                metrics_port=metrics_port or next(ports),
                probe_port=probe_port or next(ports),
            )
            console.log(f"raykube operator as {namespace}/{deployed.service_account}: {' '.join(args[1:])}")
            env = {**os.environ, **deployed.env, "PYTHONUNBUFFERED": "1"}
            env.pop("KUBECONFIG", None)
            child = subprocess.Popen(operator_command(args), env=env)
            signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
            try:
                code = child.wait()
            except KeyboardInterrupt:
                child.send_signal(signal.SIGTERM)
                code = child.wait()
    except (ChartOperatorError, MissingBinaryError) as err:
        console.print(f"[red]cannot run the chart's operator:[/red] {err}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)
