"""`kubectl ray get cluster|nodes|workergroups|token`: KubeRay's tables (see :mod:`.tables`), or ``-o json|yaml``.

Messages are KubeRay's: "Ray cluster X not found in namespace N", "Ray node X not found in namespace N in any
Ray cluster", "RayCluster N/X was not configured to use authentication tokens".
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from typing import Annotated

import typer
import yaml

from raykube.cli.kubectl_ray import tables
from raykube.cli.kubectl_ray.session import Context, Kubeconfig, Namespace, PluginError, fail, run, target
from raykube.cli.kubectl_ray.session import closing as _closing
from raykube.controllers.kinds import POD, RAYCLUSTER, SECRET
from raykube.runtime.errors import ApiError
from raykube.runtime.explain import explain
from raykube.runtime.objects import Obj

app = typer.Typer(no_args_is_help=True, help="Display one or many Ray resources.")

AllNamespaces = Annotated[bool, typer.Option("--all-namespaces", "-A", help="List across all namespaces.")]
Output = Annotated[str, typer.Option("--output", "-o", help="Output format: table (default), json or yaml.")]
RayCluster = Annotated[str | None, typer.Option("--ray-cluster", "-c", help="Ray cluster")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _print(output: str, items: Sequence[Obj], table: str) -> None:
    if output in ("", "table", "wide"):
        typer.echo(table, nl=False)
    elif output == "json":
        typer.echo(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}, indent=4))
    elif output == "yaml":
        typer.echo(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": list(items)}, sort_keys=False),
                   nl=False)
    else:
        fail(f'unable to match a printer suitable for the output format "{output}", allowed formats are: '
             "json,yaml")


def _where(namespace: str, all_namespaces: bool) -> str:
    return " in any namespace" if all_namespaces else f" in namespace {namespace}"


def _in_cluster(cluster: str | None) -> str:
    return f" in Ray cluster {cluster}" if cluster else " in any Ray cluster"


@app.command("cluster")
def get_cluster(
    name: Annotated[str | None, typer.Argument(help="Ray cluster name.")] = None,
    all_namespaces: AllNamespaces = False,
    output: Output = "",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Get cluster information."""
    t = target(kubeconfig, context, namespace)

    async def work() -> list[Obj]:
        async with _closing(t.client()) as client:
            selector = f"metadata.name={name}" if name else None
            return (await client.list(RAYCLUSTER, namespace=None if all_namespaces else t.namespace,
                                      field_selector=selector)).items

    items = run(work())
    if name and not items:
        fail(f"Ray cluster {name} not found{_where(t.namespace, all_namespaces)}")
    items.sort(key=lambda c: (c["metadata"].get("namespace", ""), c["metadata"]["name"]))
    rows = tables.cluster_rows(items, _now())
    _print(output, items, tables.render(tables.CLUSTER_COLUMNS, rows))


app.command("clusters", hidden=True)(get_cluster)


@app.command("node")
def get_nodes(
    node: Annotated[str | None, typer.Argument(help="Ray node (pod) name.")] = None,
    ray_cluster: RayCluster = None,
    all_namespaces: AllNamespaces = False,
    output: Output = "",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Get Ray nodes."""
    t = target(kubeconfig, context, namespace)
    selector = "ray.io/is-ray-node=yes" + (f",ray.io/cluster={ray_cluster}" if ray_cluster else "")

    async def work() -> list[Obj]:
        async with _closing(t.client()) as client:
            return (await client.list(POD, namespace=None if all_namespaces else t.namespace,
                                      label_selector=selector,
                                      field_selector=f"metadata.name={node}" if node else None)).items

    pods = run(work())
    if node and not pods:
        fail(f"Ray node {node} not found{_where(t.namespace, all_namespaces)}{_in_cluster(ray_cluster)}")
    pods.sort(key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"]))
    columns = (("Namespace",) if all_namespaces else ()) + tables.NODE_COLUMNS
    _print(output, pods, tables.render(columns, tables.node_rows(pods, _now(), all_namespaces=all_namespaces)))


app.command("nodes", hidden=True)(get_nodes)


@app.command("workergroup")
def get_workergroups(
    group: Annotated[str | None, typer.Argument(help="Worker group name.")] = None,
    ray_cluster: RayCluster = None,
    all_namespaces: AllNamespaces = False,
    output: Output = "",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Get Ray worker groups."""
    t = target(kubeconfig, context, namespace)

    async def work() -> list[list[str]]:
        async with _closing(t.client()) as client:
            clusters = (await client.list(RAYCLUSTER, namespace=None if all_namespaces else t.namespace,
                                          field_selector=f"metadata.name={ray_cluster}" if ray_cluster else None)).items
            rows = []
            for cluster in sorted(clusters, key=lambda c: (c["metadata"].get("namespace", ""), c["metadata"]["name"])):
                for spec in (cluster.get("spec") or {}).get("workerGroupSpecs") or ():
                    if group and spec.get("groupName") != group:
                        continue
                    selector = (f"ray.io/node-type=worker,ray.io/group={spec['groupName']},"
                                f"ray.io/cluster={cluster['metadata']['name']}")
                    pods = (await client.list(POD, namespace=cluster["metadata"]["namespace"],
                                              label_selector=selector)).items
                    rows.append(tables.workergroup_row(cluster, spec, pods, all_namespaces=all_namespaces))
            return rows

    rows = run(work())
    if group and not rows:
        fail(f"Ray worker group {group} not found{_where(t.namespace, all_namespaces)}{_in_cluster(ray_cluster)}")
    columns = (("Namespace",) if all_namespaces else ()) + tables.WORKERGROUP_COLUMNS
    items = [dict(zip([c.lower() for c in columns], row, strict=True)) for row in rows]
    _print(output, items, tables.render(columns, rows))


app.command("workergroups", hidden=True)(get_workergroups)


@app.command("token")
def get_token(
    cluster: Annotated[str, typer.Argument(help="Ray cluster name.")],
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Get the auth token from the ray cluster."""
    t = target(kubeconfig, context, namespace)

    async def work() -> str:
        async with _closing(t.client()) as client:
            try:
                obj = await client.get(RAYCLUSTER, cluster, namespace=t.namespace)
            except ApiError as err:
                raise PluginError(f"failed to get RayCluster {t.namespace}/{cluster}: {explain(err)}") from err
            auth = (obj.get("spec") or {}).get("authOptions") or {}
            if auth.get("mode") != "token":
                raise PluginError(f"RayCluster {t.namespace}/{cluster} was not configured to use authentication "
                                  "tokens")
            try:
                secret = await client.get(SECRET, cluster, namespace=t.namespace)
            except ApiError as err:
                raise PluginError(f"failed to get secret {t.namespace}/{cluster}: {explain(err)}") from err
            token = (secret.get("data") or {}).get("auth_token")
            if token is None:
                raise PluginError(f"secret {t.namespace}/{cluster} does not have an auth_token")
            return base64.b64decode(token).decode()

    typer.echo(run(work()), nl=False)

