"""`raykube render -f FILE`: print, as YAML, every object the operator would create for the given manifests.

Reads RayCluster / RayJob / RayService / RayCronJob documents (other kinds are skipped with a note on
stderr), validates them like the controllers do, and prints the builders' output: for a RayCluster its
desired state (``builders.cluster.desired_cluster``, the function the controller itself uses: autoscaler RBAC,
Ingress, auth Secret, Services, then the pods of the controller's first plan), in KubeRay's order; for a
RayJob its RayCluster (plus children) and the K8sJobMode submitter Job; for a RayService its RayCluster (plus
children) and the RayService head and serve Services; for a RayCronJob the RayJob of one tick (plus
everything below it).

Everything random in the operator (cluster-name suffixes, submission ids, pod name suffixes, UIDs) is
derived from the object's name here, so the same input always renders the same output. Pods keep their
``generateName``; a comment above each document gives a readable stand-in name.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

import typer
import yaml

from raykube.api.common import RayObject
from raykube.api.defaults import apply_crd_defaults, set_raycluster_defaults
from raykube.api.raycluster import RayCluster
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from raykube.api.validation import (
    ValidationGates,
    validate_raycluster,
    validate_raycronjob,
    validate_rayjob,
    validate_rayservice,
)
from raykube.builders import names, parents, service
from raykube.builders.cluster import PodsToCreate, cluster_context, desired_cluster
from raykube.builders.job import desired_job
from raykube.builders.settings import OperatorSettings, SettingsError, settings_from_mapping
from raykube.controllers import kit
from raykube.controllers.raycluster.plan import MAX_CREATES_PER_PASS, plan_pods

KINDS: Final[dict[str, type[RayObject]]] = {
    "RayCluster": RayCluster,
    "RayJob": RayJob,
    "RayService": RayService,
    "RayCronJob": RayCronJob,
}
#: The RayCronJob tick rendered (fixed so output is reproducible).
CRON_TICK: Final = datetime(2025, 1, 1, tzinfo=UTC)
_UID_NAMESPACE: Final = uuid.UUID("6f1c0c36-0d7c-4a43-9a8e-6a0c8b1f7c11")

Rendered = tuple[str, dict[str, Any]]
#: `render` shows what every field produces, so it validates as an operator with every feature gate on
#: (the operator itself rejects a field whose gate is off: see `raykube operator --feature-gates`).
RENDER_GATES: Final = ValidationGates(
    rayjob_deletion_policy=True, network_policy=True, mtls=True, history_server=True, gcs_embedded_storage=True
)


class RenderError(Exception):
    """Input that cannot be rendered; the message names the file, object and field."""


suffix = names.seeded_suffix


def _with_identity(doc: dict[str, Any], namespace: str) -> dict[str, Any]:
    meta = dict(doc.get("metadata") or {})
    meta.setdefault("namespace", namespace)
    if not meta.get("name") and meta.get("generateName"):
        # What the API server does on create (samples meant for `kubectl create` use generateName).
        meta["name"] = meta["generateName"] + suffix(f"{doc.get('kind')}/{meta['generateName']}")
    key = f"{doc.get('kind')}/{meta['namespace']}/{meta.get('name', '')}"
    meta.setdefault("uid", str(uuid.uuid5(_UID_NAMESPACE, key)))
    return {**doc, "metadata": meta}


def parse(doc: dict[str, Any], where: str, gates: ValidationGates = RENDER_GATES) -> RayObject:
    """Parse, CRD-default and validate one document of our kinds."""
    kind = str(doc.get("kind"))
    label = f"{where}: {kind} {(doc.get('metadata') or {}).get('name', '<unnamed>')!r}"
    try:
        return kit.parse(KINDS[kind], doc, lambda obj: _validate(obj, gates))
    except kit.Invalid as invalid:
        raise RenderError("\n".join(f"{label}: {p}" for p in invalid.problems)) from None


def _validate(obj: RayObject, gates: ValidationGates) -> list[str]:
    if isinstance(obj, RayCluster):
        return validate_raycluster(obj, gates=gates)
    if isinstance(obj, RayJob):
        return validate_rayjob(obj, gates=gates)
    if isinstance(obj, RayService):
        return validate_rayservice(obj, gates=gates)
    if isinstance(obj, RayCronJob):
        return validate_raycronjob(obj, gates=gates)
    return []


def _describe(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']} {meta.get('name') or meta.get('generateName', '')}"


def plan_new_cluster(rc: RayCluster) -> PodsToCreate:
    """The pods the operator's first pass creates for ``rc`` (its plan with no pods yet), suffixes seeded.

    Not paced by the scheduler's queue (``max_awaiting_scheduler``): that only spreads the creates over passes
    as the scheduler takes them, the pods are the same."""

    def group_suffix(group: str) -> Callable[[], str]:
        replicas = itertools.count()
        return lambda: suffix(f"{rc.name}/{group}/{next(replicas)}")

    return plan_pods(
        rc.model_copy(update={"spec": set_raycluster_defaults(rc.spec)}), [], suffix=group_suffix,
        max_awaiting_scheduler=MAX_CREATES_PER_PASS,
    ).pods_to_create


def render_cluster(rc: RayCluster, settings: OperatorSettings) -> Iterator[Rendered]:
    """Everything the operator creates for a RayCluster (``desired_cluster``), one document per object."""
    token = base64.b64encode(hashlib.sha256(f"{rc.namespace}/{rc.name}/auth-token".encode()).digest()).decode()
    desired = desired_cluster(rc, settings, auth_token=token, pods=plan_new_cluster(rc))
    for obj in desired.children:
        note = " (token: random in the operator)" if obj["kind"] == "Secret" else ""
        yield _describe(obj) + note, obj
    if desired.head_pod is not None:
        head = desired.head_pod
        name = head["metadata"].get("name") or head["metadata"]["generateName"] + suffix(f"{rc.name}/head")
        yield f"Pod {name} (head)", head
    for slot, pod in desired.worker_pods:
        stand_in = pod["metadata"]["generateName"] + suffix(
            f"{rc.name}/{slot.group}/{slot.replica_index}/{slot.host_index}"
        )
        yield f"Pod {stand_in} (worker group {slot.group}, replica {slot.replica_index}, host {slot.host_index})", pod


def render_job(job: RayJob, settings: OperatorSettings) -> Iterator[Rendered]:
    """A RayJob's RayCluster, its children and the submitter Job."""
    job_id = job.spec.job_id or names.job_submission_id(job.name, suffix(f"{job.name}/job-id"))
    cluster_name = names.child_cluster_name(job.name, suffix(f"{job.name}/cluster"))
    desired = desired_job(job, settings, cluster_name=cluster_name, job_id=job_id)
    if desired.cluster is not None:
        yield f"RayCluster {cluster_name} (submission id {job_id})", desired.cluster
        yield from render_cluster(apply_crd_defaults(RayCluster.model_validate(desired.cluster)), settings)
    if desired.submitter is not None:
        note = "" if desired.cluster is not None else " (image: the selected cluster's head image)"
        yield f"Job {desired.submitter['metadata']['name']}{note}", desired.submitter


def render_service(svc: RayService, settings: OperatorSettings) -> Iterator[Rendered]:
    """A RayService's RayCluster, its children and the RayService's own Services."""
    cluster_name = names.child_cluster_name(svc.name, suffix(f"{svc.name}/cluster"))
    cluster = parents.build_service_cluster(svc, cluster_name=cluster_name, settings=settings)
    yield f"RayCluster {cluster_name}", cluster
    rc = apply_crd_defaults(RayCluster.model_validate(cluster))
    yield from render_cluster(rc, settings)
    ctx = cluster_context(rc, settings)
    head_svc = service.build_rayservice_head_service(svc.metadata, ctx)
    yield _describe(head_svc), head_svc
    serve = service.build_rayservice_serve_service(svc.metadata, svc.spec.serve_service, ctx)
    if serve is not None:
        yield _describe(serve), serve


def render_cronjob(cron: RayCronJob, settings: OperatorSettings) -> Iterator[Rendered]:
    """The RayJob of one tick of a RayCronJob, and everything it creates."""
    job_doc = parents.build_cron_rayjob(cron, scheduled=CRON_TICK)
    yield f"RayJob {job_doc['metadata']['name']} (tick {CRON_TICK:%Y-%m-%dT%H:%M:%SZ})", job_doc
    job = parse(_with_identity(job_doc, cron.namespace), f"RayCronJob {cron.name}")
    assert isinstance(job, RayJob)
    yield from render_job(job, settings)


def render_object(obj: RayObject, settings: OperatorSettings) -> Iterator[Rendered]:
    """Everything the operator creates for one object."""
    if isinstance(obj, RayCluster):
        yield from render_cluster(obj, settings)
    elif isinstance(obj, RayJob):
        yield from render_job(obj, settings)
    elif isinstance(obj, RayService):
        yield from render_service(obj, settings)
    elif isinstance(obj, RayCronJob):
        yield from render_cronjob(obj, settings)


def load_objects(
    path: Path, namespace: str, skipped: list[str], gates: ValidationGates = RENDER_GATES
) -> list[RayObject]:
    """Our kinds from a multi-document YAML file; other documents are listed in ``skipped``."""
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise RenderError(f"{path}: cannot read YAML: {exc}") from None
    objects: list[RayObject] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
            kind = doc.get("kind", "<no kind>") if isinstance(doc, dict) else type(doc).__name__
            skipped.append(f"{path}#{index}: skipped {kind} (not a ray.io kind raykube renders)")
            continue
        objects.append(parse(_with_identity(doc, namespace), f"{path}#{index}", gates))
    return objects


class _NoAliasDumper(yaml.SafeDumper):
    """Never writes ``&id001`` anchors, even if two objects share a sub-dict."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(rendered: list[Rendered]) -> str:
    """``---``-separated YAML documents, each preceded by a comment naming it."""
    parts = []
    for comment, obj in rendered:
        body = yaml.dump(
            obj, Dumper=_NoAliasDumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1000
        )
        parts.append(f"---\n# {comment}\n{body}")
    return "".join(parts)


def load_settings(path: Path | None) -> OperatorSettings:
    """Operator settings from a YAML mapping (KubeRay env names, Configuration keys or field names)."""
    if path is None:
        return OperatorSettings()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise SettingsError("the settings file must hold a mapping")
        return settings_from_mapping(data)
    except (OSError, yaml.YAMLError, SettingsError) as exc:
        raise RenderError(f"{path}: {exc}") from None


def render(
    files: Annotated[list[Path], typer.Option("--filename", "-f", help="Manifest file (repeatable).")],
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="YAML of operator settings (e.g. ENABLE_LOGIN_SHELL: 'true').")
    ] = None,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace of objects without one.")] = "default",
) -> None:
    """Print every object the operator would create for the given manifests."""
    skipped: list[str] = []
    try:
        settings = load_settings(settings_file)
        objects = [obj for path in files for obj in load_objects(path, namespace, skipped)]
        rendered = [item for obj in objects for item in render_object(obj, settings)]
    except RenderError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for note in skipped:
        typer.echo(note, err=True)
    typer.echo(to_yaml(rendered), nl=False)
