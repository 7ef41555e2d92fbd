"""`kubectl ray job submit`: a RayJob in InteractiveMode, its Ray job submitted by the CLI (KubeRay's flow).

As in KubeRay v1.7.0's plugin: the RayJob comes from ``-f/--filename`` (its ``submissionMode`` must be
InteractiveMode) or is generated from ``--name`` and the cluster flags; the entrypoint comes after ``--``; a
working directory is required (``--working-dir``, or ``working_dir`` of the ``--runtime-env`` file). The CLI
creates the RayJob, waits until its cluster is ready, uploads the working directory as a Ray package, submits
with the runtime env (``--runtime-env-json`` over ``--runtime-env`` over the file's ``runtimeEnvYAML``),
``--submission-id``, ``--entrypoint-*`` and ``--metadata-json``, and follows the job to its end unless
``--no-wait``. Submission goes through the API server's Service proxy (or ``--dashboard-address``) instead of
a local port-forward and the ``ray`` CLI; the machinery is ``raykube job submit``'s.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from raykube.cli import job as raykube_job
from raykube.cli.jobspec import rayjob_manifest
from raykube.cli.kubectl_ray.generate import RAY_VERSION
from raykube.cli.kubectl_ray.session import Context, Kubeconfig, Namespace, fail, target

app = typer.Typer(no_args_is_help=True, help="Submit Ray jobs to Ray clusters.")


def build(entrypoint: str, *, file: Path | None, name: str | None, namespace: str, image: str, ray_version: str,
          head_cpu: str, head_memory: str, worker_replicas: int, worker_cpu: str,
          worker_memory: str) -> dict[str, Any]:
    """The InteractiveMode RayJob to create (pure; ValueError with KubeRay's message when it cannot be built)."""
    if file is not None:
        manifest = yaml.safe_load(file.read_text())
        if not isinstance(manifest, dict) or manifest.get("kind") != "RayJob":
            raise ValueError(f"Failed to decode RayJob Yaml: {file} is not a RayJob manifest")
        spec = manifest.setdefault("spec", {})
        if spec.get("submissionMode") != "InteractiveMode":
            raise ValueError("Submission mode of the Ray Job must be set to 'InteractiveMode'")
        manifest.setdefault("metadata", {})["namespace"] = namespace
        spec["entrypoint"] = entrypoint
        return dict(manifest)
    if not (name or "").strip():
        raise ValueError("Must set either yaml file (--filename) or set Ray job name (--name)")
    manifest = rayjob_manifest(str(name), namespace, entrypoint, mode="InteractiveMode", image=image,
                               ray_version=ray_version, workers=worker_replicas, head_cpu=head_cpu,
                               worker_cpu=worker_cpu, memory=head_memory, shutdown=False)
    for group in manifest["spec"]["rayClusterSpec"]["workerGroupSpecs"]:
        for container in group["template"]["spec"]["containers"]:
            container["resources"] = {"requests": {"cpu": worker_cpu, "memory": worker_memory},
                                      "limits": {"memory": worker_memory}}
    return manifest


def runtime_env(manifest: dict[str, Any], env_file: Path | None, env_json: str | None) -> dict[str, Any]:
    """``--runtime-env-json`` over ``--runtime-env`` over the RayJob's own ``runtimeEnvYAML``."""
    if env_json:
        return dict(json.loads(env_json))
    if env_file is not None:
        return dict(yaml.safe_load(env_file.read_text()) or {})
    return dict(yaml.safe_load(manifest["spec"].get("runtimeEnvYAML") or "") or {})


def _json_map(text: str | None, flag: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        fail(f"{flag} must be JSON: {err}")
    if not isinstance(value, dict):
        fail(f"{flag} must be a JSON object")
    return value


@app.command("submit")
def submit(
    entrypoint: Annotated[list[str], typer.Argument(metavar="-- ENTRYPOINT", help="The entrypoint, after `--`.")],
    filename: Annotated[Path | None, typer.Option("--filename", "-f", help="Path and name of the Ray Job YAML file")]
    = None,
    submission_id: Annotated[str | None, typer.Option(help="ID to specify for the Ray job. If not provided, one "
                                                           "will be generated")] = None,
    runtime_env_file: Annotated[Path | None, typer.Option("--runtime-env", help="Path and name to the runtime env "
                                                                                 "YAML file.")] = None,
    working_dir: Annotated[Path | None, typer.Option(help="Directory containing files that your job will run in")]
    = None,
    headers: Annotated[str | None, typer.Option(help="Headers for the Ray dashboard, as JSON")] = None,
    runtime_env_json: Annotated[str | None, typer.Option(help="JSON-serialized runtime_env dictionary. Precedence "
                                                              "over Ray job CR.")] = None,
    verify: Annotated[str | None, typer.Option(help="(accepted for compatibility; TLS follows the kubeconfig)")]
    = None,
    entrypoint_resources: Annotated[str | None, typer.Option(help="JSON-serialized dictionary mapping resource "
                                                                  "name to resource quantity")] = None,
    metadata_json: Annotated[str | None, typer.Option(help="JSON-serialized dictionary of metadata to attach to "
                                                           "the job.")] = None,
    log_style: Annotated[str | None, typer.Option(help="(accepted for compatibility: 'ray job submit' output)")]
    = None,
    log_color: Annotated[str | None, typer.Option(help="(accepted for compatibility: 'ray job submit' output)")]
    = None,
    entrypoint_num_cpus: Annotated[float | None, typer.Option(help="Number of CPUs reserved for the entrypoint "
                                                                   "command")] = None,
    entrypoint_num_gpus: Annotated[float | None, typer.Option(help="Number of GPUs reserved for the entrypoint "
                                                                   "command")] = None,
    entrypoint_memory: Annotated[int | None, typer.Option(help="Amount of memory reserved for the entrypoint "
                                                               "command")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="If present, will not stream logs and wait for job "
                                                            "to finish")] = False,
    name: Annotated[str | None, typer.Option(help="Ray job name")] = None,
    ray_version: Annotated[str, typer.Option(help="Ray version to use")] = RAY_VERSION,
    image: Annotated[str, typer.Option(help="container image to use")] = f"rayproject/ray:{RAY_VERSION}",
    head_cpu: Annotated[str, typer.Option(help="number of CPUs in the Ray head")] = "2",
    head_memory: Annotated[str, typer.Option(help="amount of memory in the Ray head")] = "4Gi",
    worker_replicas: Annotated[int, typer.Option(help="desired worker group replicas")] = 1,
    worker_cpu: Annotated[str, typer.Option(help="number of CPUs in each worker group replica")] = "2",
    worker_memory: Annotated[str, typer.Option(help="amount of memory in each worker group replica")] = "4Gi",
    dry_run: Annotated[bool, typer.Option(help="print the generated YAML instead of creating the cluster. Only "
                                               "works when filename is not provided")] = False,
    dashboard_address: Annotated[str | None, typer.Option(help="Ray dashboard URL (default: the API server's "
                                                               "Service proxy)")] = None,
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 3600.0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Submit Ray job to Ray cluster."""
    del verify, log_style, log_color  # display and TLS options of the `ray` CLI, which is not used
    for path, what in ((runtime_env_file, "Runtime Env file"), (filename, "Ray Job file")):
        if path is not None and not path.is_file():
            fail(f"{what} does not exist or is not a regular file: {path}")
    t = target(kubeconfig, context, namespace)
    if image == f"rayproject/ray:{RAY_VERSION}" and ray_version != RAY_VERSION:
        image = f"rayproject/ray:{ray_version}"
    try:
        manifest = build(" ".join(entrypoint), file=filename, name=name, namespace=t.namespace, image=image,
                         ray_version=ray_version, head_cpu=head_cpu, head_memory=head_memory,
                         worker_replicas=worker_replicas, worker_cpu=worker_cpu, worker_memory=worker_memory)
        env = runtime_env(manifest, runtime_env_file, runtime_env_json)
    except (OSError, ValueError, yaml.YAMLError) as err:
        fail(str(err))
    if dry_run and filename is None:
        typer.echo(yaml.safe_dump(manifest, sort_keys=False), nl=False)
        return
    local_dir = working_dir or (Path(env["working_dir"]) if isinstance(env.get("working_dir"), str)
                                and Path(env["working_dir"]).is_dir() else None)
    if local_dir is None:
        fail("working directory is required, use --working-dir or set with runtime env")
    if not local_dir.is_dir():
        fail(f"--working-dir {local_dir} is not a directory")
    env.pop("working_dir", None)
    if env:
        manifest["spec"]["runtimeEnvYAML"] = yaml.safe_dump(env, sort_keys=True)
    options = {k: v for k, v in (("entrypoint_num_cpus", entrypoint_num_cpus),
                                 ("entrypoint_num_gpus", entrypoint_num_gpus),
                                 ("entrypoint_memory", entrypoint_memory),
                                 ("entrypoint_resources", _json_map(entrypoint_resources, "--entrypoint-resources")),
                                 ("metadata", _json_map(metadata_json, "--metadata-json"))) if v is not None}
    code = asyncio.run(raykube_job._submit(t.kubeconfig, t.access, manifest, None, local_dir, dashboard_address,
                                           wait=not no_wait, timeout=timeout, submission_id=submission_id,
                                           request_options=options, extra_headers=_json_map(headers, "--headers")))
    raise typer.Exit(code)
