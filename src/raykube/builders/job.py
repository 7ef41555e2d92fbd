"""``desired_job``: what the operator creates for a RayJob, computed from the RayJob (and its cluster) alone.

The one desired-state function of the kind, used by the RayJob state functions (which decide *when* each
object is created) and by ``raykube render``. Pure: the random parts (the cluster-name suffix, the
submission id) are inputs.

* ``cluster``: the RayCluster ``<rayjob>-<suffix>`` (``None`` when ``clusterSelector`` picks an existing
  one); SidecarMode's submitter container is in its head pod template;
* ``submitter``: the K8sJobMode submitter Job ``<rayjob>`` (``None`` in the other modes). It runs the head
  image and talks to the dashboard of the cluster the job runs on: pass that cluster (as stored) when it
  exists; without it, the cluster this job creates is used, or (``clusterSelector``) the selected cluster's
  head Service is named and the image left empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from raykube.api.defaults import apply_crd_defaults, effective_submitter_backoff_limit
from raykube.api.raycluster import RayCluster
from raykube.api.rayjob import RayJob, SubmissionMode
from raykube.api.schema import K8sObject
from raykube.builders import names, raystart, submitter
from raykube.builders.cluster import cluster_context
from raykube.builders.settings import OperatorSettings


@dataclass(frozen=True)
class DesiredJob:
    """The objects a RayJob creates, in the order it creates them."""

    cluster: K8sObject | None
    submitter: K8sObject | None

    def objects(self) -> list[K8sObject]:
        return [o for o in (self.cluster, self.submitter) if o is not None]


def _selected_cluster(job: RayJob) -> str | None:
    return (job.spec.cluster_selector or {}).get("ray.io/cluster")


def desired_job(
    job: RayJob,
    settings: OperatorSettings,
    *,
    cluster_name: str,
    job_id: str,
    cluster: K8sObject | None = None,
) -> DesiredJob:
    """Every object the operator creates for ``job`` (``cluster``: the RayCluster it runs on, if known)."""
    selected = _selected_cluster(job)
    body = None
    if selected is None:
        body = submitter.build_job_cluster(job, cluster_name=cluster_name, job_id=job_id, settings=settings)
    mode = job.spec.submission_mode or SubmissionMode.K8S_JOB
    if mode != SubmissionMode.K8S_JOB:
        return DesiredJob(cluster=body, submitter=None)
    runs_on = cluster if cluster is not None else body
    if runs_on is not None:
        ctx = cluster_context(apply_crd_defaults(RayCluster.model_validate(runs_on)), settings)
        url, image = submitter.dashboard_url(ctx), submitter.head_image(ctx)
    else:
        head_svc = names.head_service_name(str(selected))
        url = f"{names.fqdn(head_svc, job.namespace, settings.cluster_domain)}:{raystart.DEFAULT_DASHBOARD_PORT}"
        image = ""
    job_obj = submitter.build_submitter_job(
        job,
        head_image=image,
        dashboard_url=url,
        job_id=job_id,
        settings=settings,
        backoff_limit=effective_submitter_backoff_limit(job.spec),
    )
    return DesiredJob(cluster=body, submitter=job_obj)
