"""`kubectl ray create cluster|workergroup`: KubeRay's flags and defaults, ``--file``, ``--dry-run``, ``--wait``."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from raykube.cli.kubectl_ray import generate
from raykube.cli.kubectl_ray.session import (
    Context,
    Kubeconfig,
    Namespace,
    PluginError,
    Target,
    closing,
    fail,
    run,
    target,
)
from raykube.controllers.kinds import RAYCLUSTER
from raykube.runtime.errors import ApiError, is_not_found
from raykube.runtime.explain import explain

app = typer.Typer(no_args_is_help=True, help="Create Ray resources.")

_FILE_COMPATIBLE = {"file", "dry_run", "wait", "timeout", "namespace", "kubeconfig", "context", "name"}


def parse_map(text: str | None, flag: str) -> dict[str, str]:
    """pflag's StringToString: ``k1=v1,k2=v2``."""
    if not text:
        return {}
    pairs = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} must be formatted as key=value", param_hint=flag)
        pairs[key.strip()] = value.strip()
    return pairs


def parse_duration(text: str) -> float:
    """A Go duration (``5m``, ``90s``, ``1h30m``) in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise typer.BadParameter(f'invalid duration "{text}"', param_hint="--timeout")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


Map = Annotated[str | None, typer.Option(metavar="KEY=VALUE,...")]


@app.command("cluster")
def create_cluster(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(metavar="CLUSTERNAME", help="Ray cluster name.")] = None,
    labels: Annotated[str | None, typer.Option(help="K8s labels (e.g. --labels app=ray,env=dev)")] = None,
    annotations: Annotated[str | None, typer.Option(help="K8s annotations (e.g. --annotations owner=me)")] = None,
    ray_version: Annotated[str, typer.Option(help="Ray version to use")] = generate.RAY_VERSION,
    image: Annotated[str, typer.Option(help="container image to use")] = generate.DEFAULT_IMAGE,
    head_cpu: Annotated[str, typer.Option(help="number of CPUs in the Ray head")] = "2",
    head_memory: Annotated[str, typer.Option(help="amount of memory in the Ray head")] = "4Gi",
    head_gpu: Annotated[str, typer.Option(help="number of GPUs in the Ray head")] = "0",
    head_ephemeral_storage: Annotated[str, typer.Option(help="amount of ephemeral storage in the Ray head")] = "",
    head_ray_start_params: Map = None,
    head_node_selectors: Map = None,
    worker_replicas: Annotated[int, typer.Option(help="desired worker group replicas")] = 1,
    worker_cpu: Annotated[str, typer.Option(help="number of CPUs in each worker group replica")] = "2",
    worker_memory: Annotated[str, typer.Option(help="amount of memory in each worker group replica")] = "4Gi",
    worker_gpu: Annotated[str, typer.Option(help="number of GPUs in each worker group replica")] = "0",
    worker_tpu: Annotated[str, typer.Option(help="number of TPUs in each worker group replica")] = "0",
    worker_ephemeral_storage: Annotated[str, typer.Option(help="ephemeral storage in each worker replica")] = "",
    worker_ray_start_params: Map = None,
    worker_node_selectors: Map = None,
    num_of_hosts: Annotated[int, typer.Option(help="number of hosts in default worker group per replica")] = 1,
    autoscaler: Annotated[str, typer.Option(help='autoscaler to use, supports: "v1", "v2"')] = "",
    file: Annotated[Path | None, typer.Option(help="path to a YAML file containing Ray cluster configuration")] = None,
    dry_run: Annotated[bool, typer.Option(help="print the generated YAML instead of creating the cluster")] = False,
    wait: Annotated[bool, typer.Option(help="wait for the cluster to be provisioned before returning")] = False,
    timeout: Annotated[str, typer.Option(help="the timeout for --wait")] = "5m0s",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Create Ray cluster."""
    seconds = parse_duration(timeout)
    t = target(kubeconfig, context, namespace)
    try:
        if file is not None:
            given = [p for p, src in _sources(ctx).items() if src and p not in _FILE_COMPATIBLE]
            if given:
                fail(f"the following flags are incompatible with --file: {', '.join(sorted(given))}")
            manifest = _from_file(file, name=name, namespace=namespace)
        else:
            if not name:
                fail("accepts 1 arg(s), received 0: create cluster [CLUSTERNAME]")
            if image == generate.DEFAULT_IMAGE and ray_version != generate.RAY_VERSION:
                image = f"rayproject/ray:{ray_version}"
            config = generate.ClusterConfig(
                name=name, namespace=t.namespace, ray_version=ray_version, image=image,
                labels=parse_map(labels, "--labels"), annotations=parse_map(annotations, "--annotations"),
                head=generate.NodeShape(cpu=head_cpu, memory=head_memory, gpu=head_gpu,
                                        ephemeral_storage=head_ephemeral_storage,
                                        ray_start_params=parse_map(head_ray_start_params, "--head-ray-start-params"),
                                        node_selectors=parse_map(head_node_selectors, "--head-node-selectors")),
                groups=[generate.GroupShape(
                    replicas=worker_replicas, num_of_hosts=num_of_hosts, cpu=worker_cpu, memory=worker_memory,
                    gpu=worker_gpu, tpu=worker_tpu, ephemeral_storage=worker_ephemeral_storage,
                    ray_start_params=parse_map(worker_ray_start_params, "--worker-ray-start-params"),
                    node_selectors=parse_map(worker_node_selectors, "--worker-node-selectors"))],
                autoscaler=autoscaler)
            generate.validate(config)
            manifest = generate.raycluster(config)
    except generate.ConfigError as err:
        fail(str(err))
    if dry_run:
        typer.echo(yaml.safe_dump(manifest, sort_keys=False))
        return
    run(_create(t, manifest, wait=wait, timeout=seconds))


def _sources(ctx: typer.Context) -> dict[str, bool]:
    """Which parameters the user gave on the command line."""
    return {name: getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE" for name in ctx.params}


def _from_file(path: Path, *, name: str | None, namespace: str | None) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise generate.ConfigError(f"failed to parse config file: {err}") from err
    if not isinstance(data, dict):
        raise generate.ConfigError(f"failed to parse config file: {path} does not hold a mapping")
    if data.get("kind") == "RayCluster":
        meta = data.setdefault("metadata", {})
        meta["name"] = name or meta.get("name")
        meta["namespace"] = namespace or meta.get("namespace") or "default"
        if not meta["name"]:
            raise generate.ConfigError("the cluster name is required")
        return data
    config = generate.from_file(data, name=name, namespace=namespace)
    generate.validate(config)
    return generate.raycluster(config)


async def _create(t: Target, manifest: dict[str, Any], *, wait: bool, timeout: float) -> None:
    meta = manifest["metadata"]
    async with closing(t.client()) as client:
        try:
            await client.get(RAYCLUSTER, meta["name"], namespace=meta["namespace"])
            raise PluginError(f"the Ray cluster {meta['name']} in namespace {meta['namespace']} already exists")
        except ApiError as err:
            if not is_not_found(err):
                raise
        try:
            created = await client.apply(RAYCLUSTER, manifest)
        except ApiError as err:
            raise PluginError(f"failed to create Ray cluster: {explain(err)}") from err
        typer.echo(f"Created Ray cluster: {created['metadata']['name']}")
        if wait:
            await wait_provisioned(client, meta["namespace"], meta["name"], timeout)
            typer.echo(f"Ray cluster {meta['name']} is provisioned")


async def wait_provisioned(client: Any, namespace: str, name: str, timeout: float) -> None:
    """Poll until the RayClusterProvisioned condition is True (KubeRay's ``--wait``)."""
    deadline = time.monotonic() + timeout
    while True:
        obj = await client.get(RAYCLUSTER, name, namespace=namespace)
        conditions = (obj.get("status") or {}).get("conditions") or ()
        if any(c.get("type") == "RayClusterProvisioned" and c.get("status") == "True" for c in conditions):
            return
        if time.monotonic() >= deadline:
            raise PluginError(f"timed out waiting for Ray cluster {name} to be provisioned after {timeout:g}s "
                              f"(try `raykube doctor raycluster/{name} -n {namespace}`)")
        await asyncio.sleep(1.0)


@app.command("workergroup")
def create_workergroup(
    group: Annotated[str, typer.Argument(metavar="WORKERGROUP", help="Worker group name.")],
    ray_cluster: Annotated[str, typer.Option("--ray-cluster", "-c", help="Ray cluster to add a worker group to")],
    ray_version: Annotated[str, typer.Option(help="Ray version to use")] = generate.RAY_VERSION,
    image: Annotated[str, typer.Option(help="container image to use")] = generate.DEFAULT_IMAGE,
    worker_replicas: Annotated[int, typer.Option(help="desired replicas")] = 1,
    num_of_hosts: Annotated[int, typer.Option(help="number of hosts in the worker group per replica")] = 1,
    worker_min_replicas: Annotated[int, typer.Option(help="minimum number of replicas")] = 1,
    worker_max_replicas: Annotated[int, typer.Option(help="maximum number of replicas")] = 10,
    worker_cpu: Annotated[str, typer.Option(help="number of CPUs in each replica")] = "2",
    worker_gpu: Annotated[str, typer.Option(help="number of GPUs in each replica")] = "0",
    worker_tpu: Annotated[str, typer.Option(help="number of TPUs in each replica")] = "0",
    worker_memory: Annotated[str, typer.Option(help="amount of memory in each replica")] = "4Gi",
    worker_ray_start_params: Map = None,
    worker_node_selectors: Map = None,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Create worker group in an existing Ray cluster."""
    if image == generate.DEFAULT_IMAGE and ray_version != generate.RAY_VERSION:
        image = f"rayproject/ray:{ray_version}"
    shape = generate.GroupShape(name=group, replicas=worker_replicas, num_of_hosts=num_of_hosts,
                                min_replicas=worker_min_replicas, max_replicas=worker_max_replicas, cpu=worker_cpu,
                                gpu=worker_gpu, tpu=worker_tpu, memory=worker_memory,
                                ray_start_params=parse_map(worker_ray_start_params, "--worker-ray-start-params"),
                                node_selectors=parse_map(worker_node_selectors, "--worker-node-selectors"))
    try:
        generate.validate(generate.ClusterConfig(name="-", namespace="-", groups=[shape]))
    except generate.ConfigError as err:
        fail(str(err))
    t = target(kubeconfig, context, namespace)

    async def work() -> None:
        async with closing(t.client()) as client:
            try:
                cluster = await client.get(RAYCLUSTER, ray_cluster, namespace=t.namespace)
            except ApiError as err:
                raise PluginError(f"error getting Ray cluster: {explain(err)}") from err
            groups = cluster["spec"].setdefault("workerGroupSpecs", [])
            if any(g.get("groupName") == group for g in groups):
                raise PluginError(f"worker group {group} already exists in Ray cluster {ray_cluster}")
            groups.append(generate.worker_group(shape, image))
            try:
                updated = await client.replace(RAYCLUSTER, cluster)
            except ApiError as err:
                raise PluginError(f"error updating Ray cluster with new worker group: {explain(err)}") from err
            typer.echo(f"Updated Ray cluster {updated['metadata']['namespace']}/{updated['metadata']['name']} "
                       "with new worker group")

    run(work())
