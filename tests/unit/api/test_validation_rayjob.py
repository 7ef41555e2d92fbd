"""Controller-side validation of RayJob (and of a RayCronJob's jobTemplate): one case per rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from raykube.api.rayjob import RayJob
from raykube.api.validation import ValidationGates, validate_rayjob
from tests.unit.api import factories

Doc = dict[str, Any]
SELECTOR = {"ray.io/cluster": "existing"}


def _check(mutate: Callable[[Doc], None], gates: ValidationGates | None = None) -> list[str]:
    doc = factories.rayjob()
    mutate(doc)
    job = RayJob.model_validate(doc)
    return validate_rayjob(job, gates=gates) if gates else validate_rayjob(job)


def _spec(**fields: Any) -> Callable[[Doc], None]:
    return lambda doc: doc["spec"].update(fields)


def _selector(**fields: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        del doc["spec"]["rayClusterSpec"]
        doc["spec"].update(clusterSelector=SELECTOR, **fields)

    return mutate


def _rules(*rules: tuple[str, dict[str, Any]], **fields: Any) -> Callable[[Doc], None]:
    body = [{"policy": policy, "condition": condition} for policy, condition in rules]
    return _spec(deletionStrategy={"deletionRules": body}, **fields)


def _legacy(on_success: str | None, on_failure: str | None, **fields: Any) -> Callable[[Doc], None]:
    strategy: dict[str, Any] = {}
    if on_success is not None:
        strategy["onSuccess"] = {"policy": on_success}
    if on_failure is not None:
        strategy["onFailure"] = {"policy": on_failure}
    return _spec(deletionStrategy=strategy, **fields)


def _autoscaling(doc: Doc) -> None:
    doc["spec"]["rayClusterSpec"]["enableInTreeAutoscaling"] = True


def _head_restart_always(doc: Doc) -> None:
    doc["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["restartPolicy"] = "Always"


def _both(*mutations: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        for m in mutations:
            m(doc)

    return mutate


FAILED = {"jobStatus": "FAILED"}
DS = "spec.deletionStrategy"

CASES = [
    pytest.param(
        lambda doc: doc["metadata"].update(name="j" * 48),
        "metadata.name: RayJob name should be no more than 47 characters (got 48)",
        id="name-too-long",
    ),
    pytest.param(
        _spec(suspend=True),
        "spec.suspend: a RayJob with shutdownAfterJobFinishes set to false is not allowed to be suspended",
        id="suspend-without-shutdown",
    ),
    pytest.param(
        _spec(ttlSecondsAfterFinished=10),
        "spec.ttlSecondsAfterFinished: a RayJob with shutdownAfterJobFinishes set to false cannot have "
        "TTLSecondsAfterFinished",
        id="ttl-without-shutdown",
    ),
    pytest.param(
        _spec(ttlSecondsAfterFinished=-1),
        "spec.ttlSecondsAfterFinished (-1) must be a non-negative integer",
        id="negative-ttl",
    ),
    pytest.param(
        _spec(activeDeadlineSeconds=0),
        "spec.activeDeadlineSeconds (0) must be a positive integer",
        id="active-deadline",
    ),
    pytest.param(
        _spec(preRunningDeadlineSeconds=-5),
        "spec.preRunningDeadlineSeconds (-5) must be a positive integer",
        id="pre-running-deadline",
    ),
    pytest.param(
        _spec(backoffLimit=-1), "spec.backoffLimit (-1) must be a non-negative integer", id="negative-backoff"
    ),
    pytest.param(
        lambda doc: doc["spec"].pop("rayClusterSpec"),
        "spec: one of RayClusterSpec or ClusterSelector must be set",
        id="no-cluster",
    ),
    pytest.param(
        _both(_selector(), _spec(clusterSelector={"other": "x"})),
        "spec.clusterSelector: cluster name in ClusterSelector should not be empty (key ray.io/cluster)",
        id="selector-without-cluster-name",
    ),
    pytest.param(
        _selector(suspend=True, shutdownAfterJobFinishes=True),
        "spec.suspend: the ClusterSelector mode doesn't support the suspend operation",
        id="selector-and-suspend",
    ),
    pytest.param(
        _selector(submissionMode="SidecarMode"),
        "spec.clusterSelector: ClusterSelector is not supported in SidecarMode",
        id="selector-and-sidecar",
    ),
    pytest.param(
        _selector(backoffLimit=2),
        "spec.backoffLimit: BackoffLimit is incompatible with the ClusterSelector mode",
        id="selector-and-retries",
    ),
    pytest.param(
        _spec(submissionMode="InteractiveMode", backoffLimit=1),
        "spec.backoffLimit: BackoffLimit is incompatible with InteractiveMode",
        id="interactive-and-retries",
    ),
    pytest.param(
        _spec(submissionMode="SidecarMode", submitterPodTemplate=factories.pod_template()),
        "spec.submitterPodTemplate: Currently, SidecarMode doesn't support SubmitterPodTemplate",
        id="sidecar-and-submitter-template",
    ),
    pytest.param(
        _spec(submissionMode="SidecarMode", submitterConfig={"backoffLimit": 1}),
        "spec.submitterConfig: Currently, SidecarMode doesn't support SubmitterConfig",
        id="sidecar-and-submitter-config",
    ),
    pytest.param(
        _both(_spec(submissionMode="SidecarMode"), _head_restart_always),
        "spec.rayClusterSpec.headGroupSpec.template.spec.restartPolicy: restartPolicy for head Pod should be Never "
        "or unset when using SidecarMode",
        id="sidecar-and-head-restart",
    ),
    pytest.param(
        lambda doc: doc["spec"]["rayClusterSpec"]["workerGroupSpecs"][0].update(minReplicas=9),
        "spec.rayClusterSpec.workerGroupSpecs[0].minReplicas (9) > maxReplicas (5)",
        id="nested-cluster-spec",
    ),
    pytest.param(
        lambda doc: doc["spec"]["rayClusterSpec"].update(
            rayVersion="2.55.0", authOptions={"mode": "token", "enableK8sTokenAuth": True}
        ),
        "spec.rayClusterSpec.authOptions.enableK8sTokenAuth: Kubernetes token authentication is not supported "
        "for RayJob",
        id="k8s-token-auth",
    ),
    pytest.param(
        _spec(runtimeEnvYAML="pip: [a"),
        "spec.runtimeEnvYAML: not valid YAML: while parsing a flow sequence",
        id="runtime-env-not-yaml",
    ),
    pytest.param(
        _spec(runtimeEnvYAML="- a\n- b"),
        "spec.runtimeEnvYAML: must be a YAML mapping, got list",
        id="runtime-env-not-mapping",
    ),
    pytest.param(
        _rules(("DeleteCluster", FAILED), shutdownAfterJobFinishes=True),
        f"{DS}.deletionRules: spec.shutdownAfterJobFinishes and spec.deletionStrategy.deletionRules are mutually "
        "exclusive",
        id="rules-and-shutdown",
    ),
    pytest.param(
        _spec(
            deletionStrategy={
                "onSuccess": {"policy": "DeleteCluster"},
                "deletionRules": [{"policy": "DeleteCluster", "condition": FAILED}],
            }
        ),
        f"{DS}: Cannot use both legacy onSuccess/onFailure fields and deletionRules simultaneously",
        id="rules-and-legacy",
    ),
    pytest.param(
        _spec(deletionStrategy={}),
        f"{DS}: DeletionStrategy requires either BOTH onSuccess and onFailure, OR the deletionRules field "
        "(cannot be empty)",
        id="empty-strategy",
    ),
    pytest.param(
        _legacy("DeleteCluster", None),
        f"{DS}: both DeletionStrategy.OnSuccess and DeletionStrategy.OnFailure must be set when using the legacy "
        "deletion policy fields of DeletionStrategy",
        id="legacy-half-set",
    ),
    pytest.param(
        _spec(deletionStrategy={"onSuccess": {}, "onFailure": {"policy": "DeleteNone"}}),
        f"{DS}.onSuccess.policy: must be set when DeletionStrategy is enabled",
        id="legacy-policy-unset",
    ),
    pytest.param(
        _both(_selector(), _legacy("DeleteSelf", "DeleteCluster")),
        f"{DS}.onFailure.policy: the ClusterSelector mode doesn't support DeletionStrategy=DeleteCluster",
        id="legacy-cluster-policy-with-selector",
    ),
    pytest.param(
        _both(_autoscaling, _legacy("DeleteWorkers", "DeleteNone")),
        f"{DS}: DeletionStrategy=DeleteWorkers currently does not support RayCluster with autoscaling enabled",
        id="legacy-delete-workers-with-autoscaling",
    ),
    pytest.param(
        _legacy("DeleteCluster", "DeleteNone", shutdownAfterJobFinishes=True),
        f"{DS}: shutdownAfterJobFinishes is set to 'true' while deletion policy is 'DeleteNone'",
        id="legacy-delete-none-with-shutdown",
    ),
    pytest.param(
        _both(_selector(), _rules(("DeleteWorkers", FAILED))),
        f"{DS}.deletionRules[0].policy: 'DeleteWorkers' not supported when ClusterSelector is set",
        id="rule-cluster-policy-with-selector",
    ),
    pytest.param(
        _both(_autoscaling, _rules(("DeleteWorkers", FAILED))),
        f"{DS}.deletionRules[0].policy: 'DeleteWorkers' not supported with autoscaling enabled",
        id="rule-delete-workers-with-autoscaling",
    ),
    pytest.param(
        _rules(("DeleteCluster", FAILED), ("DeleteCluster", {"jobStatus": "FAILED", "ttlSeconds": 5})),
        f"{DS}.deletionRules[1]: duplicate rule for policy 'DeleteCluster' and jobStatus 'FAILED'",
        id="duplicate-rule",
    ),
    pytest.param(
        _rules(
            ("DeleteSelf", {"jobStatus": "SUCCEEDED", "ttlSeconds": 10}),
            ("DeleteCluster", {"jobStatus": "SUCCEEDED", "ttlSeconds": 60}),
        ),
        f"{DS}.deletionRules: for jobStatus 'SUCCEEDED': DeleteSelf TTL (10) must be >= DeleteCluster TTL (60)",
        id="ttl-order",
    ),
    pytest.param(
        _rules(("DeleteCluster", {"jobDeploymentStatus": "Failed", "ttlSeconds": -1})),
        f"{DS}.deletionRules[0].condition.ttlSeconds (-1) must be non-negative",
        id="negative-rule-ttl",
    ),
    pytest.param(
        lambda doc: doc.update(status={"jobDeploymentStatus": "Waiting"}),
        "status.jobDeploymentStatus: JobDeploymentStatus cannot be `Waiting` when SubmissionMode is not "
        "InteractiveMode",
        id="waiting-outside-interactive-mode",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), CASES)
def test_invalid_rayjob_is_reported_with_the_field_path(mutate: Callable[[Doc], None], message: str) -> None:
    assert _check(mutate) == [message]


def test_deletion_strategy_needs_the_deletion_policy_gate() -> None:
    gates = ValidationGates(rayjob_deletion_policy=False)
    assert _check(_rules(("DeleteCluster", FAILED)), gates) == [
        f"{DS}: RayJobDeletionPolicy feature gate must be enabled to use DeletionStrategy"
    ]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda doc: None, id="baseline"),
        pytest.param(_spec(suspend=True, shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=60), id="suspend"),
        pytest.param(_selector(), id="cluster-selector"),
        pytest.param(_spec(submissionMode="InteractiveMode", backoffLimit=0), id="interactive"),
        pytest.param(_spec(runtimeEnvYAML="pip:\n  - requests\n"), id="runtime-env"),
        pytest.param(_legacy("DeleteCluster", "DeleteWorkers"), id="legacy-policies"),
        pytest.param(
            _rules(
                ("DeleteWorkers", {"jobStatus": "FAILED", "ttlSeconds": 0}),
                ("DeleteCluster", {"jobStatus": "FAILED", "ttlSeconds": 60}),
                ("DeleteSelf", {"jobStatus": "FAILED", "ttlSeconds": 600}),
                ("DeleteCluster", {"jobDeploymentStatus": "Failed"}),
            ),
            id="ordered-rules",
        ),
    ],
)
def test_valid_rayjob_has_no_errors(mutate: Callable[[Doc], None]) -> None:
    assert _check(mutate) == []


def test_a_submitter_template_without_containers_is_rejected() -> None:
    # Found as a hostile user: accepted, then every pass raised IndexError in the submitter builder, silently.
    errors = _check(_spec(submitterPodTemplate={"spec": {"containers": []}}))
    assert errors == [
        "spec.submitterPodTemplate.spec.containers: submitterPodTemplate should have at least one container"
    ]


@pytest.mark.parametrize("field", ["activeDeadlineSeconds", "preRunningDeadlineSeconds", "ttlSecondsAfterFinished"])
def test_integers_past_their_int32_format_are_rejected_before_any_arithmetic(field: str) -> None:
    # Found as a hostile user: activeDeadlineSeconds 2^63-1 passed the schema and overflowed the timer.
    errors = _check(_spec(**{field: 2**63 - 1, "shutdownAfterJobFinishes": True}))
    assert f"spec.{field} (9223372036854775807) is out of range: it must fit in int32" in " ".join(errors)


def test_a_job_id_longer_than_a_url_segment_allows_is_rejected_without_echoing_it() -> None:
    # Found by the chaos run: a 100 KiB jobId passed, then every dashboard call failed with InvalidURL.
    errors = _check(_spec(jobId="j" * 100 * 1024))
    assert errors == ["spec.jobId: must be no more than 253 characters, got 102400"]


@pytest.mark.parametrize("job_id", ["a/stop", "a b", "a;rm", "a?x", ".", ".."])
def test_a_job_id_that_is_no_single_path_segment_is_rejected(job_id: str) -> None:
    assert _check(_spec(jobId=job_id)) == [
        f"spec.jobId: '{job_id}' is not a valid submission id: use letters, digits, '-', '_' and '.' "
        "(not '.' or '..' alone); it is a path segment of the Ray dashboard's Jobs API"
    ]


@pytest.mark.parametrize("job_id", ["", "raysubmit_AbC123xyz0987654", "my-job.v2_1", "j" * 253])
def test_real_submission_ids_are_accepted(job_id: str) -> None:
    assert _check(_spec(jobId=job_id)) == []
