"""Controller-side validation of RayCluster: one case per rule, with the exact message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from raykube.api.raycluster import RayCluster
from raykube.api.validation import ValidationGates, validate_raycluster
from tests.unit.api import factories

Doc = dict[str, Any]
HEAD_ENV = "spec.headGroupSpec.template.spec.containers[0].env"


def _check(mutate: Callable[[Doc], None], gates: ValidationGates | None = None) -> list[str]:
    doc = factories.raycluster(spec=factories.cluster_spec(factories.worker_group("a"), factories.worker_group("b")))
    mutate(doc)
    rc = RayCluster.model_validate(doc)
    return validate_raycluster(rc, gates=gates) if gates else validate_raycluster(rc)


def _spec(**fields: Any) -> Callable[[Doc], None]:
    return lambda doc: doc["spec"].update(fields)


def _group(index: int, **fields: Any) -> Callable[[Doc], None]:
    return lambda doc: doc["spec"]["workerGroupSpecs"][index].update(fields)


def _head(**fields: Any) -> Callable[[Doc], None]:
    return lambda doc: doc["spec"]["headGroupSpec"].update(fields)


def _head_env(name: str, value: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        doc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"] = [{"name": name, "value": value}]

    return mutate


def _meta(**fields: Any) -> Callable[[Doc], None]:
    return lambda doc: doc["metadata"].update(fields)


def _all(*mutations: Callable[[Doc], None]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        for m in mutations:
            m(doc)

    return mutate


def _no_containers(doc: Doc) -> None:
    doc["spec"]["workerGroupSpecs"][1]["template"]["spec"]["containers"] = []


def _restart_policy(doc: Doc) -> None:
    doc["spec"]["headGroupSpec"]["template"]["spec"]["restartPolicy"] = "Always"
    doc["spec"]["workerGroupSpecs"][1]["template"]["spec"]["restartPolicy"] = "OnFailure"


def _suspending_and_suspended(doc: Doc) -> None:
    doc["status"] = {
        "conditions": [
            {"type": "RayClusterSuspending", "status": "True"},
            {"type": "RayClusterSuspended", "status": "True"},
        ]
    }


AUTOSCALING_V2 = _spec(enableInTreeAutoscaling=True, autoscalerOptions={"version": "v2"})
GCS_FT = _spec(gcsFaultToleranceOptions={"redisAddress": "redis:6379"})

CASES = [
    pytest.param(
        _meta(name="r" * 54),
        "metadata.name: RayCluster name should be no more than 53 characters (got 54)",
        id="name-too-long",
    ),
    pytest.param(
        _meta(name="1cluster"),
        "metadata.name: RayCluster name should be a valid DNS1035 label: '1cluster' must consist of lower case "
        "alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        id="name-not-dns1035",
    ),
    pytest.param(
        _head(template={"spec": {"containers": []}}),
        "spec.headGroupSpec.template.spec.containers: headGroupSpec should have at least one container",
        id="head-without-containers",
    ),
    pytest.param(
        _no_containers,
        "spec.workerGroupSpecs[1].template.spec.containers: workerGroupSpec should have at least one container",
        id="worker-without-containers",
    ),
    pytest.param(
        _group(1, groupName="a"),
        "spec.workerGroupSpecs[1].groupName: duplicate worker group name 'a' (already used by workerGroupSpecs[0])",
        id="duplicate-group-name",
    ),
    pytest.param(
        _group(1, groupName="g" * 64),
        f"spec.workerGroupSpecs[1].groupName: worker group name '{'g' * 64}' must be a valid label value: at most 63 "
        "characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric character",
        id="group-name-longer-than-a-label",
    ),
    pytest.param(
        _group(1, groupName="g" * 58, numOfHosts=2),
        f"spec.workerGroupSpecs[1].groupName: worker group name '{'g' * 58}' must be a valid label value: at most 57 "
        "characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric character",
        id="multi-host-group-name-without-room-for-the-replica-suffix",
    ),
    pytest.param(
        _group(1, groupName="gpu/a100"),
        "spec.workerGroupSpecs[1].groupName: worker group name 'gpu/a100' must be a valid label value: at most 63 "
        "characters, alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric character",
        id="group-name-not-a-label-value",
    ),
    pytest.param(
        lambda doc: doc["spec"]["workerGroupSpecs"][1].pop("minReplicas"),
        "spec.workerGroupSpecs[1].minReplicas must be set when enableInTreeAutoscaling is not true",
        id="min-missing-without-autoscaling",
    ),
    pytest.param(
        _group(1, minReplicas=5, maxReplicas=2),
        "spec.workerGroupSpecs[1].minReplicas (5) > maxReplicas (2)",
        id="min-above-max",
    ),
    pytest.param(
        _group(0, minReplicas=-1), "spec.workerGroupSpecs[0].minReplicas (-1) must be >= 0", id="negative-min"
    ),
    pytest.param(
        _all(_group(0, minReplicas=0, maxReplicas=-2)),
        "spec.workerGroupSpecs[0].maxReplicas (-2) must be >= 0",
        id="negative-max",
    ),
    pytest.param(
        _head(rayStartParams={"num-cpus": "2"}, resources={"CPU": "2"}),
        "spec.headGroupSpec.rayStartParams: resource fields should not be set in both rayStartParams and Resources "
        "for Head group; please use only one",
        id="head-resources-conflict",
    ),
    pytest.param(
        _group(0, rayStartParams={"labels": "a=b"}),
        "spec.workerGroupSpecs[0].rayStartParams: rayStartParams['labels'] is not supported for a group; "
        "please use the top-level Labels field instead",
        id="labels-in-ray-start-params",
    ),
    pytest.param(
        _group(0, labels={"bad key!": "v"}),
        "spec.workerGroupSpecs[0].labels: invalid label key for a group: 'bad key!'",
        id="invalid-label-key",
    ),
    pytest.param(
        _group(0, labels={"zone": "not valid"}),
        "spec.workerGroupSpecs[0].labels: invalid label value for key 'zone' in a group: 'not valid'",
        id="invalid-label-value",
    ),
    pytest.param(
        _all(GCS_FT, _meta(annotations={"ray.io/ft-enabled": "true"})),
        "metadata.annotations[ray.io/ft-enabled]: the annotation and spec.gcsFaultToleranceOptions are both set. "
        "Please use only GcsFaultToleranceOptions to configure GCS fault tolerance",
        id="ft-annotation-and-options",
    ),
    pytest.param(
        _head_env("RAY_REDIS_ADDRESS", "redis:6379"),
        f"{HEAD_ENV}: RAY_REDIS_ADDRESS is set which implicitly enables GCS fault tolerance, but "
        "GcsFaultToleranceOptions is not set. Please set spec.gcsFaultToleranceOptions to enable GCS fault tolerance",
        id="redis-address-without-ft",
    ),
    pytest.param(
        _all(GCS_FT, _head(rayStartParams={"redis-password": "x"})),
        "spec.headGroupSpec.rayStartParams: cannot set `redis-password` when GcsFaultToleranceOptions is enabled "
        "- use GcsFaultToleranceOptions.RedisPassword instead",
        id="ft-with-redis-password-param",
    ),
    pytest.param(
        _all(GCS_FT, _head_env("REDIS_PASSWORD", "x")),
        f"{HEAD_ENV}: cannot set `REDIS_PASSWORD` env var in head Pod when GcsFaultToleranceOptions is enabled "
        "- use GcsFaultToleranceOptions.RedisPassword instead",
        id="ft-with-redis-password-env",
    ),
    pytest.param(
        _all(GCS_FT, _head_env("RAY_REDIS_ADDRESS", "redis:6379")),
        f"{HEAD_ENV}: cannot set `RAY_REDIS_ADDRESS` env var in head Pod when GcsFaultToleranceOptions is enabled "
        "- use GcsFaultToleranceOptions.RedisAddress instead",
        id="ft-with-redis-address-env",
    ),
    pytest.param(
        _all(GCS_FT, _meta(annotations={"ray.io/external-storage-namespace": "ns"})),
        "metadata.annotations[ray.io/external-storage-namespace]: cannot be set when GcsFaultToleranceOptions is "
        "enabled - use GcsFaultToleranceOptions.ExternalStorageNamespace instead",
        id="ft-with-storage-namespace-annotation",
    ),
    pytest.param(
        _head(rayStartParams={"redis-username": "u"}),
        "spec.headGroupSpec: cannot set redis username in rayStartParams or environment variables "
        "- use GcsFaultToleranceOptions.RedisUsername instead",
        id="redis-username",
    ),
    pytest.param(
        _all(_spec(enableInTreeAutoscaling=True), _group(1, suspend=True)),
        "spec.workerGroupSpecs[1].suspend: worker group b cannot be suspended with Autoscaler enabled",
        id="suspend-group-with-autoscaling",
    ),
    pytest.param(
        _head_env("RAY_enable_autoscaler_v2", "true"),
        f"{HEAD_ENV}: environment variable RAY_enable_autoscaler_v2 cannot be set to 'true' when "
        "enableInTreeAutoscaling is false. Please set enableInTreeAutoscaling: true to use autoscaler v2",
        id="autoscaler-v2-env-without-autoscaling",
    ),
    pytest.param(
        _all(AUTOSCALING_V2, _head_env("RAY_enable_autoscaler_v2", "true")),
        "spec.autoscalerOptions.version: both spec.autoscalerOptions.version and head Pod env var "
        "RAY_enable_autoscaler_v2 are set, please only use the former",
        id="autoscaler-version-and-env",
    ),
    pytest.param(
        _all(_spec(authOptions={"mode": "token"}), lambda doc: doc["spec"].pop("rayVersion")),
        "spec.rayVersion: authOptions.mode is 'token' but RayVersion was not specified. "
        "Ray version 2.52.0 or later is required",
        id="token-auth-without-version",
    ),
    pytest.param(
        _spec(authOptions={"mode": "token"}, rayVersion="latest"),
        "spec.rayVersion: authOptions.mode is 'token' but RayVersion format is invalid: latest",
        id="token-auth-unparsable-version",
    ),
    pytest.param(
        _spec(authOptions={"mode": "token"}, rayVersion="2.51.1"),
        "spec.rayVersion: authOptions.mode is 'token' but minimum Ray version is 2.52.0, got 2.51.1",
        id="token-auth-old-version",
    ),
    pytest.param(
        _spec(authOptions={"mode": "token", "enableK8sTokenAuth": True}, rayVersion="2.54.0"),
        "spec.authOptions.enableK8sTokenAuth: requires rayVersion 2.55.0 or later, got '2.54.0'",
        id="k8s-token-auth-old-version",
    ),
    pytest.param(
        _spec(authOptions={"mode": "token", "enableK8sTokenAuth": True, "secretName": "s"}, rayVersion="2.55.0"),
        "spec.authOptions.secretName: cannot be set together with authOptions.enableK8sTokenAuth",
        id="k8s-token-auth-with-secret",
    ),
    pytest.param(
        _all(_spec(upgradeStrategy={"type": "Recreate"}), _meta(labels={"ray.io/originated-from-crd": "RayJob"})),
        "spec.upgradeStrategy: cannot be set on a RayCluster created by a RayJob; configure the RayJob instead",
        id="upgrade-strategy-on-child-cluster",
    ),
    pytest.param(
        _suspending_and_suspended,
        "status.conditions: RayClusterSuspending and RayClusterSuspended conditions should not be both true",
        id="suspending-and-suspended",
    ),
    # Issue 14: rules of KubeRay's validation.go that were missing.
    pytest.param(
        _spec(autoscalerOptions={"idleTimeoutSeconds": -1}),
        "spec.autoscalerOptions.idleTimeoutSeconds: autoscalerOptions.idleTimeoutSeconds must be non-negative, "
        "got -1",
        id="negative-autoscaler-idle-timeout",
    ),
    pytest.param(
        _all(AUTOSCALING_V2, _group(0, idleTimeoutSeconds=-1)),
        "spec.workerGroupSpecs[0].idleTimeoutSeconds: worker group a: idleTimeoutSeconds must be non-negative, got -1",
        id="negative-group-idle-timeout",
    ),
    pytest.param(
        _all(_spec(enableInTreeAutoscaling=True), _group(0, idleTimeoutSeconds=30)),
        "spec.workerGroupSpecs[0].idleTimeoutSeconds: worker group a: idleTimeoutSeconds is set, but autoscaler v2 "
        "is not enabled. Please set .spec.autoscalerOptions.version to 'v2' (or set RAY_enable_autoscaler_v2 "
        "environment variable to 'true' in the head pod if using KubeRay < 1.4.0)",
        id="group-idle-timeout-without-autoscaler-v2",
    ),
    pytest.param(
        _spec(authOptions={"mode": "disabled", "enableK8sTokenAuth": True}, rayVersion="2.55.0"),
        "spec.authOptions.enableK8sTokenAuth: authOptions.enableK8sTokenAuth is enabled but authOptions.mode not "
        "set to 'token'",
        id="k8s-token-auth-without-token-mode",
    ),
    # The CRD's enums (the API server's message; checked for `raykube render` and objects stored before the CRD).
    pytest.param(
        _spec(authOptions={"mode": "NotAValue"}),
        'spec.authOptions.mode: Unsupported value: "NotAValue": supported values: "disabled", "token"',
        id="unknown-auth-mode",
    ),
    pytest.param(
        _spec(autoscalerOptions={"upscalingMode": "Fast"}),
        'spec.autoscalerOptions.upscalingMode: Unsupported value: "Fast": supported values: "Default", '
        '"Aggressive", "Conservative"',
        id="unknown-upscaling-mode",
    ),
    pytest.param(
        _spec(autoscalerOptions={"version": "v3"}),
        'spec.autoscalerOptions.version: Unsupported value: "v3": supported values: "v1", "v2"',
        id="unknown-autoscaler-version",
    ),
    pytest.param(
        _spec(gcsFaultToleranceOptions={"redisAddress": "redis:6379", "backend": "etcd"}),
        'spec.gcsFaultToleranceOptions.backend: Unsupported value: "etcd": supported values: "redis", "rocksdb"',
        id="unknown-gcs-backend",
    ),
    pytest.param(
        _spec(upgradeStrategy={"type": "Rolling"}),
        'spec.upgradeStrategy.type: Unsupported value: "Rolling": supported values: "Recreate", "None"',
        id="unknown-cluster-upgrade-type",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), CASES)
def test_invalid_raycluster_is_reported_with_the_field_path(mutate: Callable[[Doc], None], message: str) -> None:
    assert _check(mutate) == [message]


def test_restart_policy_must_be_never_with_autoscaler_v2() -> None:
    assert _check(_all(AUTOSCALING_V2, _restart_policy)) == [
        "spec.headGroupSpec.template.spec.restartPolicy: restartPolicy for head Pod should be Never or unset when "
        "using autoscaler V2",
        "spec.workerGroupSpecs[1].template.spec.restartPolicy: restartPolicy for worker group b should be Never or "
        "unset when using autoscaler V2",
    ]


def test_suspending_a_worker_group_needs_the_deletion_policy_gate() -> None:
    assert _check(_group(0, suspend=True), ValidationGates(rayjob_deletion_policy=False)) == [
        "spec.workerGroupSpecs[0].suspend: worker group a can be suspended only when the RayJobDeletionPolicy "
        "feature gate is enabled"
    ]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda doc: None, id="baseline"),
        pytest.param(_meta(name="r" * 53), id="name-at-limit"),
        pytest.param(_group(1, groupName="g" * 63), id="group-name-at-label-limit"),
        pytest.param(_group(1, groupName="g" * 57, numOfHosts=2), id="multi-host-group-name-at-limit"),
        pytest.param(_spec(enableInTreeAutoscaling=True, upgradeStrategy={"type": "Recreate"}), id="autoscaling"),
        pytest.param(_all(GCS_FT, _meta(annotations={"ray.io/ft-enabled": ""})), id="empty-ft-annotation"),
        pytest.param(_head(resources={"CPU": "1"}, labels={"ray.io/zone": "a"}), id="group-resources-and-labels"),
        pytest.param(_spec(authOptions={"mode": "token"}, rayVersion="2.52.0"), id="token-auth"),
        pytest.param(_spec(authOptions={"mode": "disabled"}, rayVersion=""), id="auth-disabled"),
        pytest.param(_all(AUTOSCALING_V2, _head(template=factories.pod_template(restartPolicy="Never"))), id="v2"),
        pytest.param(_all(AUTOSCALING_V2, _group(0, idleTimeoutSeconds=0)), id="group-idle-timeout-with-v2"),
        pytest.param(
            _all(_spec(enableInTreeAutoscaling=True), _head_env("RAY_enable_autoscaler_v2", "1"),
                 _group(0, idleTimeoutSeconds=60)),
            id="group-idle-timeout-with-the-v2-env-switch",
        ),
        pytest.param(_spec(autoscalerOptions={"idleTimeoutSeconds": 0}), id="autoscaler-idle-timeout-zero"),
        # KubeRay accepts these silently; raykube warns (api/spec_warnings.py) but does not reject.
        pytest.param(_group(0, replicas=-1), id="negative-replicas"),
        pytest.param(_group(0, numOfHosts=0), id="zero-hosts"),
        pytest.param(_group(0, numOfHosts=-1), id="negative-hosts"),
        pytest.param(_group(0, priority=-1), id="negative-priority"),
    ],
)
def test_valid_raycluster_has_no_errors(mutate: Callable[[Doc], None]) -> None:
    assert _check(mutate) == []


def test_all_violations_are_reported_not_only_the_first() -> None:
    errors = _check(_all(_meta(name="Bad"), _group(0, minReplicas=3, maxReplicas=1)))
    assert len(errors) == 2


GATED_FIELDS = [
    pytest.param(
        _spec(networkPolicy={"mode": "DenyAll"}),
        ValidationGates(network_policy=True),
        "spec.networkPolicy: spec.networkPolicy requires the RayClusterNetworkPolicy feature gate to be enabled",
        id="networkPolicy",
    ),
    pytest.param(
        _spec(tlsOptions={"enabled": True}),
        ValidationGates(mtls=True),
        "spec.tlsOptions: spec.tlsOptions requires the RayClusterMTLS feature gate to be enabled",
        id="tlsOptions",
    ),
    pytest.param(
        _spec(historyServerOptions={"collectorOptions": {"image": "collector"}}),
        ValidationGates(history_server=True),
        "spec.historyServerOptions: RayClusterHistoryServer feature gate is not enabled",
        id="historyServerOptions",
    ),
    pytest.param(
        _spec(gcsFaultToleranceOptions={"backend": "rocksdb"}),
        ValidationGates(gcs_embedded_storage=True),
        "spec.gcsFaultToleranceOptions.backend: the embedded RocksDB GCS fault tolerance backend "
        "(GcsFaultToleranceOptions.Backend: 'rocksdb') requires the GCSFaultToleranceEmbeddedStorage feature gate "
        "to be enabled",
        id="rocksdb",
    ),
]


@pytest.mark.parametrize(("mutate", "gate_on", "message"), GATED_FIELDS)
def test_a_field_whose_gate_is_off_is_rejected_and_accepted_with_the_gate_on(
    mutate: Callable[[Doc], None], gate_on: ValidationGates, message: str
) -> None:
    assert _check(mutate) == [message]
    assert _check(mutate, gate_on) == []
