"""What a RayJob creates: its RayCluster and, in K8sJobMode, the submitter batch/v1 Job.

Follows KubeRay's ``controllers/ray/common/job.go`` (``BuildJobSubmitCommand``, ``GetDefaultSubmitterTemplate``)
and ``rayjob_controller.go`` (``constructRayClusterForRayJob``, ``createNewK8sJob``, ``getSubmitterTemplate``).

The submitter runs one shell line (``/bin/bash -ce --``): wait until the dashboard reports a healthy GCS,
submit unless a job with this submission id already exists (the Job may be retried), then follow the logs::

    until <python health check> >/dev/null 2>&1 ; do echo "Waiting ..." ; sleep 2 ; done ;
    if ! ray job status --address http://<dashboard> <id> >/dev/null 2>&1 ;
    then ray job submit --address http://<dashboard> --no-wait [...] --submission-id <id> -- <entrypoint> ; fi ;
    ray job logs --address http://<dashboard> --follow <id>

In SidecarMode the same submitter runs as a container of the head pod against ``127.0.0.1``, without the
status check and ``--no-wait``.

While the job runs, the RayJob also owns ``<rayjob>-head-svc`` (:func:`build_rayjob_head_service`): the head
Service of its cluster under a stable name, since the cluster's own name carries a random suffix.
"""

from __future__ import annotations

import json
from typing import Any, Final

import yaml

from raykube import reasons
from raykube.api.defaults import set_raycluster_defaults
from raykube.api.rayjob import RayJob, SubmissionMode
from raykube.api.schema import K8sObject
from raykube.builders import kube, names
from raykube.builders.pod import ClusterContext
from raykube.builders.service import build_head_service, dashboard_port
from raykube.builders.settings import OperatorSettings

SUBMITTER_CONTAINER: Final = "ray-job-submitter"
HEALTH_TIMEOUT_SECONDS: Final = 10
SUBMITTER_RESOURCES: Final = {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "200Mi"}}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote``: double quotes, backslash escapes, printable Unicode kept."""
    out = ['"']
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b"}
    escapes.update({"\f": "\\f", "\v": "\\v"})
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def go_json(value: Any) -> str:
    """Compact JSON with sorted keys and Go's HTML escaping of ``<``, ``>`` and ``&``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def runtime_env_json(runtime_env_yaml: str | None) -> str:
    """``runtimeEnvYAML`` converted to JSON (empty when unset)."""
    if not runtime_env_yaml:
        return ""
    return go_json(yaml.safe_load(runtime_env_yaml))


def health_command(url: str) -> str:
    """Python one-liner that exits 0 when ``url`` answers with ``success`` (the image has no curl/wget)."""
    return (
        'python -c "import urllib.request; '
        f"exit(0 if b'success' in urllib.request.urlopen('{url}', timeout={HEALTH_TIMEOUT_SECONDS}).read() "
        'else 1)"'
    )


def submit_command(job: RayJob, *, dashboard_url: str, job_id: str, sidecar: bool) -> str:
    """The submitter's shell line (see the module docstring)."""
    address = dashboard_url if dashboard_url.startswith("http://") else f"http://{dashboard_url}"
    spec = job.spec
    # The sidecar shares the head pod's network namespace and probes localhost directly.
    health_base = address.replace("http://127.0.0.1:", "http://localhost:") if sidecar else address
    cmd = ["until", health_command(f"{health_base}/api/gcs_healthz"), ">/dev/null", "2>&1", ";"]
    cmd += ["do", "echo", go_quote(f"Waiting for Ray Dashboard GCS to become healthy at {address} ..."), ";"]
    cmd += ["sleep", "2", ";", "done", ";"]
    if not sidecar:
        cmd += ["if", "!", "ray", "job", "status", "--address", address, job_id, ">/dev/null", "2>&1", ";", "then"]
    cmd += ["ray", "job", "submit", "--address", address]
    if not sidecar:
        cmd.append("--no-wait")
    runtime_env = runtime_env_json(spec.runtime_env_yaml)
    if runtime_env:
        cmd += ["--runtime-env-json", go_quote(runtime_env)]
    if spec.metadata:
        cmd += ["--metadata-json", go_quote(go_json(spec.metadata))]
    if job_id:
        cmd += ["--submission-id", job_id]
    if spec.entrypoint_num_cpus and spec.entrypoint_num_cpus > 0:
        cmd += ["--entrypoint-num-cpus", f"{spec.entrypoint_num_cpus:f}"]
    if spec.entrypoint_num_gpus and spec.entrypoint_num_gpus > 0:
        cmd += ["--entrypoint-num-gpus", f"{spec.entrypoint_num_gpus:f}"]
    if spec.entrypoint_resources:
        cmd += ["--entrypoint-resources", go_quote(spec.entrypoint_resources)]
    cmd += ["--", (spec.entrypoint or "").strip(), ";"]
    if not sidecar:
        cmd += ["fi", ";", "ray", "job", "logs", "--address", address, "--follow", job_id]
    return " ".join(cmd)


def _submitter_env(container: K8sObject, *, dashboard_url: str, job_id: str) -> None:
    kube.add_env_if_absent(container, "PYTHONUNBUFFERED", "1")
    kube.add_env(container, "RAY_DASHBOARD_ADDRESS", dashboard_url)
    kube.add_env(container, "RAY_JOB_SUBMISSION_ID", job_id)


def submitter_pod_template(
    job: RayJob, *, head_image: str, dashboard_url: str, job_id: str, settings: OperatorSettings
) -> K8sObject:
    """``submitterPodTemplate`` (or the default one) with the command, env and restartPolicy filled in."""
    if job.spec.submitter_pod_template is not None:
        template: K8sObject = kube.clone(job.spec.submitter_pod_template)
    else:
        container = {"name": SUBMITTER_CONTAINER, "image": head_image, "resources": kube.clone(SUBMITTER_RESOURCES)}
        template = {"spec": {"containers": [container], "restartPolicy": "Never"}}
    submitter = kube.ray_container(template)
    if not submitter.get("command"):
        submitter["command"] = ["/bin/bash", "-cel" if settings.enable_login_shell else "-ce", "--"]
        submitter["args"] = [submit_command(job, dashboard_url=dashboard_url, job_id=job_id, sidecar=False)]
    _submitter_env(submitter, dashboard_url=dashboard_url, job_id=job_id)
    template["spec"].setdefault("restartPolicy", "Never")
    return template


def build_submitter_job(
    job: RayJob, *, head_image: str, dashboard_url: str, job_id: str, settings: OperatorSettings, backoff_limit: int
) -> K8sObject:
    """The K8sJobMode submitter Job ``<rayjob>``, owned by the RayJob."""
    labels = {**names.originated_from(job.name, "RayJob"), reasons.LABEL_APP_CREATED_BY: reasons.CREATED_BY_KUBERAY}
    template = submitter_pod_template(
        job, head_image=head_image, dashboard_url=dashboard_url, job_id=job_id, settings=settings
    )
    meta: K8sObject = {
        "name": names.submitter_job_name(job.name),
        "namespace": job.namespace,
        "labels": labels,
        "ownerReferences": [kube.ray_owner_reference("RayJob", job.metadata)],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {"backoffLimit": backoff_limit, "template": template},
    }


def head_image(ctx: ClusterContext) -> str:
    """Image of the cluster's head Ray container (the default submitter image)."""
    return str(kube.ray_container(kube.clone(ctx.spec.head_group_spec.template)).get("image", ""))


def dashboard_url(ctx: ClusterContext) -> str:
    """``status.dashboardURL`` of a RayJob: ``<head svc fqdn>:<dashboard port>``, no scheme."""
    return f"{ctx.fqdn}:{dashboard_port(ctx)}"


def sidecar_submitter(job: RayJob, ctx: ClusterContext, *, job_id: str, settings: OperatorSettings) -> K8sObject:
    """SidecarMode: the submitter container appended to the head pod template."""
    local = f"127.0.0.1:{dashboard_port(ctx)}"
    container: K8sObject = {
        "name": SUBMITTER_CONTAINER,
        "image": head_image(ctx),
        "command": ["/bin/bash", "-cel" if settings.enable_login_shell else "-ce", "--"],
        "args": [submit_command(job, dashboard_url=local, job_id=job_id, sidecar=True)],
        "resources": kube.clone(SUBMITTER_RESOURCES),
    }
    _submitter_env(container, dashboard_url=local, job_id=job_id)
    return container


def build_job_cluster(job: RayJob, *, cluster_name: str, job_id: str, settings: OperatorSettings) -> K8sObject:
    """The RayCluster ``<rayjob>-<suffix>`` a RayJob creates (spec copied once, at creation)."""
    if job.spec.ray_cluster_spec is None:
        raise ValueError("spec.rayClusterSpec: a RayJob without clusterSelector needs a rayClusterSpec")
    mode = job.spec.submission_mode or SubmissionMode.K8S_JOB
    labels = {**job.labels, **names.originated_from(job.name, "RayJob"), reasons.LABEL_JOB_SUBMISSION_MODE: mode}
    annotations = dict(job.annotations)
    spec = job.spec.ray_cluster_spec.to_json()
    if mode == SubmissionMode.SIDECAR:
        annotations[reasons.ANNOTATION_DISABLE_PROVISIONED_HEAD_RESTART] = "true"
        meta_for_ctx = {"name": cluster_name, "namespace": job.namespace}
        defaulted = set_raycluster_defaults(job.spec.ray_cluster_spec)
        ctx = ClusterContext(meta=meta_for_ctx, spec=defaulted, settings=settings)
        template = spec["headGroupSpec"]["template"]
        template.setdefault("spec", {}).setdefault("containers", []).append(
            sidecar_submitter(job, ctx, job_id=job_id, settings=settings)
        )
        template["spec"]["restartPolicy"] = "Never"
    meta: K8sObject = {"name": cluster_name, "namespace": job.namespace, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    meta["ownerReferences"] = [kube.ray_owner_reference("RayJob", job.metadata)]
    return {"apiVersion": reasons.API_VERSION, "kind": "RayCluster", "metadata": meta, "spec": spec}


def build_rayjob_head_service(job: RayJob, ctx: ClusterContext) -> K8sObject:
    """``<rayjob>-head-svc``: the cluster's head Service, renamed, relabelled and owned by the RayJob."""
    service = build_head_service(ctx)
    meta = service["metadata"]
    meta["name"] = names.head_service_name(job.name)
    meta["namespace"] = job.namespace
    meta["labels"] = {
        **names.originated_from(job.name, "RayJob"),
        reasons.LABEL_NODE_TYPE: reasons.NodeType.HEAD.value,
        reasons.LABEL_IDENTIFIER: names.identifier(job.name, "head"),
    }
    meta["ownerReferences"] = [kube.ray_owner_reference("RayJob", job.metadata)]
    return service
