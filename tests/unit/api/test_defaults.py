"""CRD defaults, operator defaults and the effective values derived from them."""

from __future__ import annotations

from typing import Any

import pytest

from raykube.api import defaults
from raykube.api.raycluster import RayCluster, RayClusterSpec, WorkerGroupSpec
from raykube.api.rayjob import RayJob, RayJobSpec
from raykube.api.rayservice import RayServiceSpec
from tests.unit.api import factories


def _group(**fields: Any) -> WorkerGroupSpec:
    return WorkerGroupSpec.model_validate({"groupName": "g", "template": {}, **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"replicas": 3, "minReplicas": 1, "maxReplicas": 5}, 3, id="within-bounds"),
        pytest.param({"replicas": 0, "minReplicas": 2, "maxReplicas": 5}, 2, id="below-min-uses-min"),
        pytest.param({"minReplicas": 2, "maxReplicas": 5}, 2, id="unset-uses-min"),
        pytest.param({"replicas": 9, "minReplicas": 1, "maxReplicas": 5}, 5, id="above-max-is-capped"),
        pytest.param({"replicas": 3, "minReplicas": 1, "maxReplicas": 5, "numOfHosts": 4}, 12, id="times-hosts"),
        pytest.param({"replicas": 3, "minReplicas": 1, "maxReplicas": 5, "suspend": True}, 0, id="suspended"),
        pytest.param({}, 0, id="nothing-set"),
        pytest.param({"replicas": 7}, 7, id="only-replicas"),
    ],
)
def test_effective_replicas(fields: dict[str, Any], expected: int) -> None:
    assert defaults.effective_replicas(_group(**fields)) == expected


def test_nil_ray_start_params_become_empty_maps() -> None:
    doc = factories.cluster_spec(factories.worker_group("a"), factories.worker_group("b", rayStartParams={"x": "1"}))
    del doc["headGroupSpec"]["rayStartParams"]
    spec = RayClusterSpec.model_validate(doc)
    out = defaults.set_raycluster_defaults(spec)
    assert out.head_group_spec.ray_start_params == {}
    assert [g.ray_start_params for g in out.worker_group_specs or []] == [{}, {"x": "1"}]
    assert spec.head_group_spec.ray_start_params is None, "the input is not mutated"


def test_crd_defaults_fill_unset_fields_at_every_depth() -> None:
    doc = factories.rayjob()
    doc["spec"]["rayClusterSpec"]["workerGroupSpecs"] = [{"groupName": "g", "template": {}}]
    doc["spec"]["rayClusterSpec"]["networkPolicy"] = {}
    doc["spec"]["deletionStrategy"] = {
        "deletionRules": [{"policy": "DeleteCluster", "condition": {"jobStatus": "FAILED"}}]
    }
    job = defaults.apply_crd_defaults(RayJob.model_validate(doc))
    spec = job.spec
    assert (spec.submission_mode, spec.backoff_limit, spec.ttl_seconds_after_finished) == ("K8sJobMode", 0, 0)
    group = (spec.ray_cluster_spec.worker_group_specs or [])[0]  # type: ignore[union-attr]
    assert (group.replicas, group.min_replicas, group.max_replicas, group.num_of_hosts, group.priority) == (
        0,
        0,
        2147483647,
        1,
        0,
    )
    assert spec.ray_cluster_spec.network_policy.mode == "DenyAll"  # type: ignore[union-attr]
    assert spec.deletion_strategy.deletion_rules[0].condition.ttl_seconds == 0  # type: ignore[union-attr,index]


def test_crd_defaults_do_not_create_absent_objects() -> None:
    rc = defaults.apply_crd_defaults(RayCluster.model_validate(factories.raycluster()))
    assert rc.spec.network_policy is None and rc.status is None


def test_crd_defaults_keep_values_that_are_set() -> None:
    job = RayJob.model_validate(factories.rayjob(submissionMode="HTTPMode", backoffLimit=3))
    out = defaults.apply_crd_defaults(job)
    assert (out.spec.submission_mode, out.spec.backoff_limit) == ("HTTPMode", 3)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param({}, 2, id="unset"),
        pytest.param({"submitterConfig": {}}, 2, id="empty-config"),
        pytest.param({"submitterConfig": {"backoffLimit": 5}}, 5, id="set"),
    ],
)
def test_submitter_backoff_limit(spec: dict[str, Any], expected: int) -> None:
    assert defaults.effective_submitter_backoff_limit(RayJobSpec.model_validate(spec)) == expected


def test_submission_mode_defaults_to_k8s_job_mode() -> None:
    assert defaults.effective_submission_mode(RayJobSpec()) == "K8sJobMode"


def _service(**fields: Any) -> RayServiceSpec:
    return RayServiceSpec.model_validate({"rayClusterConfig": factories.cluster_spec(), **fields})


def test_rayservice_deletion_delay_defaults_to_60_seconds() -> None:
    assert defaults.effective_deletion_delay_seconds(_service()) == 60
    assert defaults.effective_deletion_delay_seconds(_service(rayClusterDeletionDelaySeconds=0)) == 0


@pytest.mark.parametrize(
    ("strategy", "zero_downtime", "expected"),
    [
        pytest.param(None, True, "NewCluster", id="unset"),
        pytest.param(None, False, "None", id="unset-zero-downtime-disabled"),
        pytest.param({"type": "NewClusterWithIncrementalUpgrade"}, False, "NewClusterWithIncrementalUpgrade", id="set"),
    ],
)
def test_rayservice_upgrade_type(strategy: dict[str, Any] | None, zero_downtime: bool, expected: str) -> None:
    spec = _service(**({"upgradeStrategy": strategy} if strategy else {}))
    assert defaults.effective_upgrade_type(spec, zero_downtime_enabled=zero_downtime) == expected


def test_ingress_path_defaults_to_prefix_slash() -> None:
    spec = RayClusterSpec.model_validate(factories.cluster_spec())
    assert defaults.effective_ingress_path(spec.head_group_spec) == ("/", "Prefix")


@pytest.mark.parametrize(
    ("fields", "head_env", "expected"),
    [
        pytest.param({}, None, False, id="no-autoscaling"),
        pytest.param({"enableInTreeAutoscaling": True}, None, False, id="autoscaling-default-version"),
        pytest.param({"enableInTreeAutoscaling": True, "autoscalerOptions": {"version": "v2"}}, None, True, id="v2"),
        pytest.param({"enableInTreeAutoscaling": True}, "true", True, id="env-switch"),
        pytest.param(
            {"enableInTreeAutoscaling": True, "autoscalerOptions": {"version": "v1"}}, "1", False, id="version-wins"
        ),
        pytest.param({"autoscalerOptions": {"version": "v2"}}, None, False, id="v2-without-autoscaling"),
    ],
)
def test_autoscaler_v2_detection(fields: dict[str, Any], head_env: str | None, expected: bool) -> None:
    doc = factories.cluster_spec(**fields)
    if head_env is not None:
        doc["headGroupSpec"]["template"]["spec"]["containers"][0]["env"] = [
            {"name": "RAY_enable_autoscaler_v2", "value": head_env}
        ]
    assert defaults.is_autoscaler_v2(RayClusterSpec.model_validate(doc)) is expected


@pytest.mark.parametrize(
    ("fields", "annotations", "expected"),
    [
        pytest.param({}, {}, False, id="off"),
        pytest.param({"gcsFaultToleranceOptions": {"redisAddress": "redis:6379"}}, {}, True, id="options"),
        pytest.param({}, {"ray.io/ft-enabled": "True"}, True, id="legacy-annotation"),
        pytest.param({}, {"ray.io/ft-enabled": "false"}, False, id="annotation-false"),
    ],
)
def test_gcs_fault_tolerance_detection(fields: dict[str, Any], annotations: dict[str, str], expected: bool) -> None:
    spec = RayClusterSpec.model_validate(factories.cluster_spec(**fields))
    assert defaults.is_gcs_fault_tolerance_enabled(spec, annotations) is expected
