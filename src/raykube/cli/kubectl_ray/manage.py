"""`kubectl ray scale cluster`, `kubectl ray delete`, `kubectl ray version` (KubeRay's messages)."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer

from raykube import __version__
from raykube.cli.kubectl_ray.session import Context, Kubeconfig, Namespace, PluginError, closing, fail, run, target
from raykube.controllers.kinds import RAYCLUSTER, RAYJOB, RAYSERVICE
from raykube.runtime.errors import ApiError
from raykube.runtime.explain import KNOWN, explain
from raykube.runtime.kinds import ResourceKind

scale_app = typer.Typer(no_args_is_help=True, help="Scale a Ray resource.")
_KINDS = {"raycluster": RAYCLUSTER, "rayjob": RAYJOB, "rayservice": RAYSERVICE}
DEPLOYMENT = ResourceKind("apps", "v1", "Deployment", "deployments")


def new_replicas(group: dict[str, Any], replicas: int, min_replicas: int, max_replicas: int) -> dict[str, int]:
    """The replica fields a scale sets (``-1``: leave as is), checked against each other."""
    changes = {k: v for k, v in (("replicas", replicas), ("minReplicas", min_replicas),
                                 ("maxReplicas", max_replicas)) if v >= 0}
    merged = {"replicas": group.get("replicas", 1), "minReplicas": group.get("minReplicas", 0),
              "maxReplicas": group.get("maxReplicas", 2147483647), **changes}
    if merged["minReplicas"] > merged["maxReplicas"]:
        raise PluginError(f"--min-replicas ({merged['minReplicas']}) must not be greater than --max-replicas "
                          f"({merged['maxReplicas']})")
    if not merged["minReplicas"] <= merged["replicas"] <= merged["maxReplicas"]:
        raise PluginError(f"--replicas ({merged['replicas']}) must be between --min-replicas ({merged['minReplicas']})"
                          f" and --max-replicas ({merged['maxReplicas']})")
    return changes


@scale_app.command("cluster")
def scale_cluster(
    cluster: Annotated[str, typer.Argument(metavar="RAYCLUSTER")],
    worker_group: Annotated[str, typer.Option("--worker-group", "-w", help="worker group")] = "",
    replicas: Annotated[int, typer.Option("--replicas", "-r", help="Desired number of replicas in worker group")] = -1,
    min_replicas: Annotated[int, typer.Option(help="Minimum number of replicas in worker group")] = -1,
    max_replicas: Annotated[int, typer.Option(help="Maximum number of replicas in worker group")] = -1,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Scale a Ray cluster."""
    if not worker_group:
        fail("must specify -w/--worker-group")
    if replicas < 0 and min_replicas < 0 and max_replicas < 0:
        fail("must specify -r/--replicas, --min-replicas or --max-replicas with a non-negative integer")
    t = target(kubeconfig, context, namespace)
    where = f"worker group {worker_group} in Ray cluster {cluster} in namespace {t.namespace}"

    async def work() -> str:
        async with closing(t.client()) as client:
            try:
                obj = await client.get(RAYCLUSTER, cluster, namespace=t.namespace)
            except ApiError as err:
                raise PluginError(f"failed to scale {where}: {explain(err)}") from err
            groups = obj["spec"].get("workerGroupSpecs") or []
            found = [g for g in groups if g.get("groupName") == worker_group]
            if not found:
                names = ", ".join(g.get("groupName", "") for g in groups)
                raise PluginError(f"worker group {worker_group} not found in Ray cluster {cluster} in namespace "
                                  f"{t.namespace}. Available worker groups: {names}")
            group = found[0]
            changes = new_replicas(group, replicas, min_replicas, max_replicas)
            before = {k: group.get(k) for k in changes}
            if all(before[k] == v for k, v in changes.items()):
                return f"{where} already has {_describe(changes)}. Skipping"
            group.update(changes)
            try:
                await client.replace(RAYCLUSTER, obj)
            except ApiError as err:
                raise PluginError(f"failed to scale {where}: {explain(err)}") from err
            if set(changes) == {"replicas"}:
                return (f"Scaled worker group {worker_group} in Ray cluster {cluster} in namespace {t.namespace} "
                        f"from {before['replicas'] if before['replicas'] is not None else 1} to {replicas} replicas")
            return f"Scaled {where}: {_describe(changes)}"

    typer.echo(run(work()))


def _describe(changes: dict[str, int]) -> str:
    words = {"replicas": "replicas", "minReplicas": "min replicas", "maxReplicas": "max replicas"}
    return ", ".join(f"{v} {words[k]}" for k, v in changes.items())


def parse_targets(args: list[str]) -> list[tuple[str, str]]:
    """``NAME`` (a RayCluster) or ``TYPE/NAME`` with TYPE raycluster, rayjob or rayservice."""
    found = []
    for arg in args:
        kind, sep, name = arg.partition("/")
        if not sep:
            found.append(("raycluster", kind))
        elif not name or "/" in name:
            raise PluginError(f"invalid resource type/name: {arg}")
        elif kind.lower() not in _KINDS:
            raise PluginError(f"unsupported resource type: {arg}")
        else:
            found.append((kind.lower(), name))
    return found


def delete(
    resources: Annotated[list[str], typer.Argument(metavar="(RAYCLUSTER | TYPE/NAME)...")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="answer 'yes' to all prompts and run non-interactively")]
    = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Delete Ray resources (RayCluster, RayJob, RayService)."""
    try:
        targets = parse_targets(resources)
    except PluginError as err:
        fail(err)
    t = target(kubeconfig, context, namespace)
    if not yes:
        listing = "".join(f"\n- {kind}/{name}" for kind, name in targets)
        typer.echo(f"Are you sure you want to delete the following resources?{listing}\n(y/yes/n/no)", nl=False)
        answer = sys.stdin.readline().strip().lower()
        if answer in ("n", "no"):
            typer.echo("Canceled deletion.")
            return
        if answer not in ("y", "yes"):
            typer.echo(f"Unknown input {answer}")
            return

    async def work() -> None:
        async with closing(t.client()) as client:
            for kind, name in targets:
                try:
                    await client.delete(_KINDS[kind], name, namespace=t.namespace)
                except ApiError as err:
                    raise PluginError(f"failed to delete {kind}/{name}: {explain(err)}") from err
                typer.echo(f"Deleted {kind} {name}")

    run(work())


def version(
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Output the version of the Ray kubectl plugin and KubeRay operator."""
    typer.echo(f"kubectl ray plugin version: {__version__} (raykube)")
    t = target(kubeconfig, context, namespace)  # no usable kubeconfig: an error, as KubeRay's "failed to create client"
    try:
        operator = asyncio.run(_operator_version(t))
        reason = "no Deployment kuberay-operator in any namespace"
    except KNOWN as err:  # as KubeRay's plugin: the lookup failing is a warning, the plugin version still stands
        operator, reason = None, explain(err)
    if operator is None:
        typer.echo(f"warning: KubeRay operator installation cannot be found: {reason}. Did you install it with the "
                   'name "kuberay-operator"?')
        return
    typer.echo(f"KubeRay operator version: {operator}")


async def _operator_version(t: Any) -> str | None:
    """The image tag of the kuberay-operator Deployment (by name or chart label), as KubeRay's plugin reports it."""
    async with closing(t.client()) as client:
        deployments = (await client.list(DEPLOYMENT)).items
    for deployment in deployments:
        labels = deployment["metadata"].get("labels") or {}
        if deployment["metadata"]["name"] != "kuberay-operator" and \
                labels.get("app.kubernetes.io/name") != "kuberay-operator":
            continue
        for container in deployment["spec"]["template"]["spec"].get("containers") or ():
            image = str(container.get("image", ""))
            if ":" in image.rsplit("/", 1)[-1]:
                return image.rsplit(":", 1)[1]
    return None
