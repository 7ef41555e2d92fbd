"""`kubectl ray job submit`: a RayJob in InteractiveMode, its Ray job submitted by the CLI (KubeRay's flow).

The RayJob comes from ``-f rayjob.yaml`` or from flags (``--name``, ``--image``, ``--head-cpu``, ...); the
entrypoint comes after ``--``. The CLI creates the RayJob, waits until its cluster is ready (``Waiting``),
uploads ``--working-dir`` as a Ray package, submits with ``--runtime-env``/``--runtime-env-json`` and
``--submission-id`` through the dashboard (the API server's Service proxy, or ``--dashboard-address``), and
follows the job to its end unless ``--no-wait``. The machinery is ``raykube job submit``'s.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from raykube.cli import job as raykube_job
from raykube.cli.jobspec import DEFAULT_IMAGE, rayjob_manifest
from raykube.cli.kubectl_ray.session import Context, Kubeconfig, Namespace, fail, target

app = typer.Typer(no_args_is_help=True, help="Submit Ray jobs to Ray clusters.")


def build(entrypoint: str, *, file: Path | None, name: str | None, namespace: str, runtime_env: dict[str, Any],
          image: str, ray_version: str, head_cpu: str, head_memory: str,
          worker_replicas: int, worker_cpu: str, worker_memory: str, ttl: int | None) -> dict[str, Any]:
    """The InteractiveMode RayJob to create (pure; raises ValueError on a file that is not a RayJob)."""
    if file is not None:
        manifest = yaml.safe_load(file.read_text())
        if not isinstance(manifest, dict) or manifest.get("kind") != "RayJob":
            raise ValueError(f"{file} is not a RayJob manifest")
        meta = manifest.setdefault("metadata", {})
        meta["name"] = name or meta.get("name") or f"rayjob-{_suffix()}"
        meta["namespace"] = namespace
        spec = manifest.setdefault("spec", {})
        if spec.get("submissionMode") not in (None, "InteractiveMode"):
            raise ValueError(f"the RayJob in {file} sets submissionMode {spec['submissionMode']}; "
                             "kubectl ray job submit needs InteractiveMode (or no submissionMode)")
        spec.update(submissionMode="InteractiveMode", entrypoint=entrypoint)
    else:
        manifest = rayjob_manifest(name or f"rayjob-{_suffix()}", namespace, entrypoint, mode="InteractiveMode",
                                   image=image, ray_version=ray_version, workers=worker_replicas,
                                   head_cpu=head_cpu, worker_cpu=worker_cpu, memory=head_memory,
                                   shutdown=ttl is not None, ttl=ttl or 0)
        groups = manifest["spec"]["rayClusterSpec"]["workerGroupSpecs"]
        for group in groups:
            for container in group["template"]["spec"]["containers"]:
                container["resources"] = {"requests": {"cpu": worker_cpu, "memory": worker_memory},
                                          "limits": {"memory": worker_memory}}
    if runtime_env:
        manifest["spec"]["runtimeEnvYAML"] = yaml.safe_dump(runtime_env, sort_keys=True)
    return dict(manifest)


def _suffix() -> str:
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


@app.command("submit")
def submit(
    entrypoint: Annotated[list[str], typer.Argument(help="The entrypoint, after `--`.")],
    file: Annotated[Path | None, typer.Option("--filename", "-f", help="Path and name of the RayJob YAML file")]
    = None,
    name: Annotated[str | None, typer.Option(help="Ray job name")] = None,
    working_dir: Annotated[Path | None, typer.Option(help="Directory containing files that your job will run in")]
    = None,
    runtime_env: Annotated[Path | None, typer.Option(help="Path and name to the runtime env YAML file.")] = None,
    runtime_env_json: Annotated[str | None, typer.Option(help="JSON-serialized runtime_env dictionary.")] = None,
    submission_id: Annotated[str | None, typer.Option(help="ID to specify for the Ray job. Generated if omitted")]
    = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="If present, will not stream logs and wait for job "
                                                            "to finish")] = False,
    image: Annotated[str, typer.Option(help="container image to use")] = DEFAULT_IMAGE,
    ray_version: Annotated[str, typer.Option(help="Ray version to use")] = "2.52.0",
    head_cpu: Annotated[str, typer.Option(help="number of CPUs in the Ray head")] = "2",
    head_memory: Annotated[str, typer.Option(help="amount of memory in the Ray head")] = "4Gi",
    worker_replicas: Annotated[int, typer.Option(help="desired worker group replicas")] = 1,
    worker_cpu: Annotated[str, typer.Option(help="number of CPUs in each worker group replica")] = "2",
    worker_memory: Annotated[str, typer.Option(help="amount of memory in each worker group replica")] = "4Gi",
    ttl_seconds_after_finished: Annotated[int | None, typer.Option(help="delete the cluster this many seconds "
                                                                        "after the job finishes")] = None,
    dry_run: Annotated[bool, typer.Option(help="print the RayJob instead of creating it")] = False,
    dashboard_address: Annotated[str | None, typer.Option(help="Ray dashboard URL (default: the Service proxy)")]
    = None,
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 3600.0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Submit a Ray job to a new Ray cluster described by a RayJob (InteractiveMode)."""
    env: dict[str, Any] = {}
    try:
        if runtime_env is not None:
            env.update(yaml.safe_load(runtime_env.read_text()) or {})
        if runtime_env_json:
            env.update(json.loads(runtime_env_json))
    except (OSError, yaml.YAMLError, json.JSONDecodeError) as err:
        fail(f"cannot read the runtime env: {err}")
    if working_dir is not None and not working_dir.is_dir():
        fail(f"--working-dir {working_dir} is not a directory")
    t = target(kubeconfig, context, namespace)
    try:
        manifest = build(" ".join(entrypoint), file=file, name=name, namespace=t.namespace, runtime_env=env,
                         image=image, ray_version=ray_version, head_cpu=head_cpu,
                         head_memory=head_memory, worker_replicas=worker_replicas, worker_cpu=worker_cpu,
                         worker_memory=worker_memory, ttl=ttl_seconds_after_finished)
    except (OSError, ValueError, yaml.YAMLError) as err:
        fail(f"cannot use -f {file}: {err}")
    if dry_run:
        typer.echo(yaml.safe_dump(manifest, sort_keys=False), nl=False)
        return
    import asyncio

    code = asyncio.run(raykube_job._submit(t.kubeconfig, t.access, manifest, None, working_dir, dashboard_address,
                                           wait=not no_wait, timeout=timeout,
                                           submission_id=submission_id))
    raise typer.Exit(code)
