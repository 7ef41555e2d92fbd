"""`raykube serve status NAME`: a RayService's Serve applications and deployments, its serve endpoints, and
which RayCluster serves.

Everything comes from the RayService's status and ``<svc>-serve-svc`` (whose selector names the cluster traffic
goes to): one GET each, no dashboard call. The table has one row per deployment (an application without
deployments gets one row), for the active cluster and, during an upgrade, the pending one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from raykube import reasons
from raykube.builders import names
from raykube.cli.kubehttp import KubeAccessError, load_access
from raykube.controllers.kinds import RAYSERVICE, SERVICE
from raykube.runtime.client import KubeClient
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.objects import Obj

app = typer.Typer(no_args_is_help=True, help="Ray Serve applications of RayServices.")

Kubeconfig = Annotated[str | None, typer.Option(envvar="KUBECONFIG", help="Kubeconfig file.")]
Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="Namespace (default: the context's).")]
COLUMNS = ("CLUSTER", "ROLE", "APPLICATION", "APP STATUS", "DEPLOYMENT", "DEPLOYMENT STATUS", "MESSAGE")


def serving_cluster(serve_svc: Obj | None) -> str:
    """The cluster the serve Service selects (empty when there is no serve Service yet)."""
    return str((((serve_svc or {}).get("spec") or {}).get("selector") or {}).get(reasons.LABEL_CLUSTER) or "")


def rows(rayservice: Obj) -> list[tuple[str, ...]]:
    """One row per deployment of every application of the active and pending clusters."""
    status = rayservice.get("status") or {}
    result: list[tuple[str, ...]] = []
    for role in ("active", "pending"):
        entry: dict[str, Any] = status.get(f"{role}ServiceStatus") or {}
        cluster = str(entry.get("rayClusterName") or "")
        if not cluster:
            continue
        apps: dict[str, Any] = entry.get("applicationStatuses") or {}
        if not apps:
            result.append((cluster, role, "-", "-", "-", "-", ""))
        for app, app_status in sorted(apps.items()):
            deployments: dict[str, Any] = app_status.get("serveDeploymentStatuses") or {"-": {"status": "-"}}
            for deployment, dep_status in sorted(deployments.items()):
                message = dep_status.get("message") or app_status.get("message") or ""
                result.append((cluster, role, app, str(app_status.get("status", "")), deployment,
                               str(dep_status.get("status", "")), message))
    return result


def summary(rayservice: Obj, serve_svc: Obj | None) -> list[str]:
    """The lines above the table: serving cluster, endpoints, conditions."""
    status = rayservice.get("status") or {}
    serving = serving_cluster(serve_svc)
    lines = [
        f"RayService {rayservice['metadata']['namespace']}/{rayservice['metadata']['name']}",
        f"Serving cluster: {serving or '(none yet)'}"
        + (f" (via Service {serve_svc['metadata']['name']})" if serve_svc and serving else ""),
        f"Serve endpoints: {status.get('numServeEndpoints', 0)}",
    ]
    for role in ("active", "pending"):  # NewClusterWithIncrementalUpgrade: each cluster's share
        entry: dict[str, Any] = status.get(f"{role}ServiceStatus") or {}
        if entry.get("rayClusterName") and ("trafficRoutedPercent" in entry or "targetCapacity" in entry):
            lines.append(
                f"Traffic to {entry['rayClusterName']} ({role}): {entry.get('trafficRoutedPercent', '-')}%"
                f" of the HTTPRoute, target_capacity {entry.get('targetCapacity', '-')}%"
            )
    for condition in status.get("conditions") or []:
        lines.append(f"{condition['type']}: {condition['status']} ({condition.get('reason', '')})")
    return lines


@app.command()
def status(
    name: Annotated[str, typer.Argument(help="The RayService.")],
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
) -> None:
    """Applications, deployments, endpoints and the serving cluster of a RayService, as a table."""
    try:
        ns = namespace or load_access(kubeconfig).namespace
    except KubeAccessError as err:
        raise typer.BadParameter(str(err), param_hint="--kubeconfig") from None
    rayservice, serve_svc = asyncio.run(_read(kubeconfig, ns, name))
    if rayservice is None:
        typer.echo(f"RayService {ns}/{name} not found", err=True)
        raise typer.Exit(1)
    console = Console(width=200)
    for line in summary(rayservice, serve_svc):
        console.print(line, highlight=False)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in COLUMNS:
        table.add_column(column)
    for row in rows(rayservice):
        table.add_row(*row)
    console.print(table)


async def _read(kubeconfig: str | None, ns: str, name: str) -> tuple[Obj | None, Obj | None]:
    client = KubeClient.from_kubeconfig(kubeconfig) if kubeconfig else KubeClient.from_kubeconfig()
    try:
        rayservice = await _get(client, RAYSERVICE, ns, name)
        custom = (((rayservice or {}).get("spec") or {}).get("serveService") or {}).get("metadata") or {}
        serve_svc = await _get(client, SERVICE, ns, str(custom.get("name") or names.serve_service_name(name)))
        return rayservice, serve_svc
    finally:
        await client.close()


async def _get(client: KubeClient, kind: Any, ns: str, name: str) -> Obj | None:
    try:
        return await client.get(kind, name, namespace=ns)
    except ApiError as err:
        if is_not_found(err):
            return None
        raise
