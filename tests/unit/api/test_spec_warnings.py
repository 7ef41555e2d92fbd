"""Values KubeRay accepts silently: raykube accepts them too (no validation error) and warns, with what it does."""

from __future__ import annotations

from typing import Any

import pytest

from raykube.api.defaults import desired_pod_count, effective_replicas, effective_submitter_backoff_limit
from raykube.api.raycluster import RayCluster, WorkerGroupSpec
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from raykube.api.spec_warnings import raycluster_warnings, raycronjob_warnings, rayjob_warnings, rayservice_warnings
from raykube.api.validation import validate_raycluster, validate_raycronjob, validate_rayjob, validate_rayservice
from raykube.builders.replicas import choose_worker_slots
from tests.unit.api import factories

SILENT = "KubeRay accepts it without a word"


def _cluster(**group: Any) -> RayCluster:
    spec = factories.cluster_spec(factories.worker_group("w", **group))
    return RayCluster.model_validate(factories.raycluster(spec=spec))


def _job(**spec: Any) -> RayJob:
    return RayJob.model_validate(factories.rayjob(**spec))


@pytest.mark.parametrize(
    ("group", "message"),
    [
        pytest.param(
            {"replicas": -1, "minReplicas": 2},
            f"spec.workerGroupSpecs[0].replicas: -1 is negative; the group is kept at minReplicas (2) instead, as "
            f"KubeRay does ({SILENT})",
            id="negative-replicas",
        ),
        pytest.param(
            {"numOfHosts": 0},
            "spec.workerGroupSpecs[0].numOfHosts: 0 is less than 1; the group gets no worker pods (KubeRay keeps "
            f"replicas x numOfHosts pods, so none either; {SILENT}). Pods per replica must be at least 1",
            id="zero-hosts",
        ),
        pytest.param(
            {"numOfHosts": -1},
            "spec.workerGroupSpecs[0].numOfHosts: -1 is less than 1; the group gets no worker pods (KubeRay keeps "
            f"replicas x numOfHosts pods, so none either; {SILENT}). Pods per replica must be at least 1",
            id="negative-hosts",
        ),
        pytest.param(
            {"priority": -1},
            "spec.workerGroupSpecs[0].priority: -1 is negative; it is passed to Ray's autoscaler v2 unchanged (the "
            f"operator does not read it; higher priorities are scaled up first), as KubeRay does ({SILENT})",
            id="negative-priority",
        ),
    ],
)
def test_a_cluster_value_kuberay_accepts_silently_is_accepted_with_a_warning(
    group: dict[str, Any], message: str
) -> None:
    rc = _cluster(**group)
    assert validate_raycluster(rc) == []
    assert raycluster_warnings(rc) == [message]


def test_ordinary_values_get_no_warning() -> None:
    assert raycluster_warnings(_cluster(replicas=0, numOfHosts=1, priority=0)) == []
    assert rayjob_warnings(_job(submissionMode="HTTPMode", submitterConfig={"backoffLimit": 0})) == []


@pytest.mark.parametrize("hosts", [0, -1, -(2**31)])
def test_a_group_with_fewer_than_one_host_plans_no_pods_never_a_negative_count(hosts: int) -> None:
    """KubeRay keeps replicas x numOfHosts pods: none for 0, and -1 asked the planner for -3 pods."""
    group = WorkerGroupSpec.model_validate(factories.worker_group("w", replicas=3, minReplicas=1, numOfHosts=hosts))
    assert effective_replicas(group) == 0
    assert choose_worker_slots(group, [], 3) == ()
    assert desired_pod_count(_cluster(replicas=3, minReplicas=1, numOfHosts=hosts).spec) == 1  # the head


def test_negative_replicas_keep_the_group_at_min_replicas() -> None:
    group = WorkerGroupSpec.model_validate(factories.worker_group("w", replicas=-5, minReplicas=2, numOfHosts=2))
    assert effective_replicas(group) == 4


def test_an_unknown_submission_mode_is_accepted_with_a_warning() -> None:
    job = _job(submissionMode="Teleport")
    assert validate_rayjob(job) == []
    assert rayjob_warnings(job) == [
        "spec.submissionMode: 'Teleport' is not a submission mode (K8sJobMode, HTTPMode, InteractiveMode, "
        f"SidecarMode); as under KubeRay ({SILENT}), the RayCluster is created but no job is submitted: the RayJob "
        "stays Running with no job until activeDeadlineSeconds, if set"
    ]


def test_a_negative_submitter_backoff_limit_is_replaced_by_the_default_with_a_warning() -> None:
    job = _job(submitterConfig={"backoffLimit": -1})
    assert validate_rayjob(job) == []
    assert effective_submitter_backoff_limit(job.spec) == 2  # the API server would refuse a Job with -1
    assert rayjob_warnings(job) == [
        "spec.submitterConfig.backoffLimit: -1 is negative; the submitter Job gets the default backoffLimit (2) "
        "instead (KubeRay accepts it without a word and passes it on, and the API server refuses that Job)"
    ]


def test_a_rayjob_also_warns_about_its_cluster_spec() -> None:
    spec = factories.cluster_spec(factories.worker_group("w", numOfHosts=0))
    warnings = rayjob_warnings(_job(rayClusterSpec=spec))
    assert [w.split(":")[0] for w in warnings] == ["spec.rayClusterSpec.workerGroupSpecs[0].numOfHosts"]


@pytest.mark.parametrize("field", ["serviceUnhealthySecondThreshold", "deploymentUnhealthySecondThreshold"])
def test_a_negative_deprecated_rayservice_threshold_is_ignored_with_a_warning(field: str) -> None:
    doc = factories.rayservice()
    doc["spec"][field] = -1
    svc = RayService.model_validate(doc)
    assert validate_rayservice(svc) == []
    assert rayservice_warnings(svc) == [
        f"spec.{field}: -1 is negative; the field is deprecated and unused: raykube ignores it, as KubeRay does "
        f"({SILENT})"
    ]


def test_a_raycronjob_warns_about_its_job_template() -> None:
    doc = factories.raycronjob()
    doc["spec"]["jobTemplate"].update(submissionMode="NotAValue", submitterConfig={"backoffLimit": -1})
    cron = RayCronJob.model_validate(doc)
    assert validate_raycronjob(cron) == []
    assert [w.split(":")[0] for w in raycronjob_warnings(cron)] == [
        "spec.jobTemplate.submissionMode",
        "spec.jobTemplate.submitterConfig.backoffLimit",
    ]
