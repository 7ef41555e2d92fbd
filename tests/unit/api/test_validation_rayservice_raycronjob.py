"""Controller-side validation of RayService and RayCronJob: one case per rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from raykube.api.raycronjob import RayCronJob
from raykube.api.rayservice import RayService
from raykube.api.validation import validate_raycronjob, validate_rayservice
from tests.unit.api import factories

Doc = dict[str, Any]
CUO = "spec.upgradeStrategy.clusterUpgradeOptions"


def _service(mutate: Callable[[Doc], None]) -> list[str]:
    doc = factories.rayservice()
    mutate(doc)
    return validate_rayservice(RayService.model_validate(doc))


def _incremental(autoscaling: bool = True, **options: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        doc["spec"]["rayClusterConfig"]["enableInTreeAutoscaling"] = autoscaling
        strategy: Doc = {"type": "NewClusterWithIncrementalUpgrade"}
        if options:
            base = {"gatewayClassName": "istio", "intervalSeconds": 30, "stepSizePercent": 10}
            strategy["clusterUpgradeOptions"] = {**base, **options}
        doc["spec"]["upgradeStrategy"] = strategy

    return mutate


def _annotate(value: str) -> Callable[[Doc], None]:
    return lambda doc: doc["metadata"].update(annotations={"ray.io/initializing-timeout": value})


SERVICE_CASES = [
    pytest.param(
        lambda doc: doc["metadata"].update(name="s" * 48),
        "metadata.name: RayService name should be no more than 47 characters (got 48)",
        id="name-too-long",
    ),
    pytest.param(
        lambda doc: doc["spec"]["rayClusterConfig"]["headGroupSpec"].update(headService={"metadata": {"name": "x"}}),
        "spec.rayClusterConfig.headGroupSpec.headService.metadata.name should not be set",
        id="head-service-name",
    ),
    pytest.param(
        lambda doc: doc["spec"]["rayClusterConfig"]["workerGroupSpecs"][0].update(minReplicas=-1),
        "spec.rayClusterConfig.workerGroupSpecs[0].minReplicas (-1) must be >= 0",
        id="nested-cluster-spec",
    ),
    pytest.param(
        lambda doc: doc["spec"]["rayClusterConfig"].update(
            rayVersion="2.55.0", authOptions={"mode": "token", "enableK8sTokenAuth": True}
        ),
        "spec.rayClusterConfig.authOptions.enableK8sTokenAuth: Kubernetes token authentication is not supported "
        "for RayService",
        id="k8s-token-auth",
    ),
    pytest.param(
        lambda doc: doc["spec"].update(rayClusterDeletionDelaySeconds=-1),
        "spec.rayClusterDeletionDelaySeconds should be a non-negative integer, got -1",
        id="negative-deletion-delay",
    ),
    pytest.param(
        lambda doc: doc["spec"].update(upgradeStrategy={"type": "BlueGreen"}),
        "spec.upgradeStrategy.type value BlueGreen is invalid, valid options are NewClusterWithIncrementalUpgrade, "
        "NewCluster, or None",
        id="unknown-upgrade-type",
    ),
    pytest.param(
        _incremental(autoscaling=False, maxSurgePercent=50),
        "spec.rayClusterConfig.enableInTreeAutoscaling: Ray Autoscaler is required for "
        "NewClusterWithIncrementalUpgrade",
        id="incremental-without-autoscaling",
    ),
    pytest.param(
        _incremental(),
        f"{CUO}: ClusterUpgradeOptions are required for NewClusterWithIncrementalUpgrade",
        id="incremental-without-options",
    ),
    pytest.param(
        _incremental(maxSurgePercent=120, stepSizePercent=10),
        f"{CUO}.maxSurgePercent (120) must be between 0 and 100",
        id="surge-above-100",
    ),
    pytest.param(
        _incremental(stepSizePercent=-1), f"{CUO}.stepSizePercent (-1) must be between 0 and 100", id="negative-step"
    ),
    pytest.param(
        _incremental(maxSurgePercent=20, stepSizePercent=30),
        f"{CUO}.stepSizePercent (30) must be <= maxSurgePercent (20)",
        id="step-above-surge",
    ),
    pytest.param(
        _incremental(intervalSeconds=0), f"{CUO}.intervalSeconds (0) must be greater than 0", id="zero-interval"
    ),
    pytest.param(
        _incremental(gatewayClassName=""),
        f"{CUO}.gatewayClassName is required for NewClusterWithIncrementalUpgrade",
        id="empty-gateway-class",
    ),
    pytest.param(
        _annotate("0"),
        "metadata.annotations[ray.io/initializing-timeout]: must be a positive integer (seconds), got: 0",
        id="initializing-timeout-zero",
    ),
    pytest.param(
        _annotate("0s"),
        "metadata.annotations[ray.io/initializing-timeout]: must be a positive duration, got: 0s",
        id="initializing-timeout-zero-duration",
    ),
    pytest.param(
        _annotate("soon"),
        "metadata.annotations[ray.io/initializing-timeout]: invalid format: soon. Expected Go duration format "
        "(e.g., '5m', '1h') or positive integer seconds",
        id="initializing-timeout-garbage",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), SERVICE_CASES)
def test_invalid_rayservice_is_reported_with_the_field_path(mutate: Callable[[Doc], None], message: str) -> None:
    assert _service(mutate) == [message]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda doc: None, id="baseline"),
        pytest.param(_incremental(maxSurgePercent=50), id="incremental"),
        pytest.param(_annotate("10m"), id="duration-timeout"),
        pytest.param(_annotate("300"), id="seconds-timeout"),
        pytest.param(lambda doc: doc["spec"].update(upgradeStrategy={"type": "None"}), id="upgrade-none"),
    ],
)
def test_valid_rayservice_has_no_errors(mutate: Callable[[Doc], None]) -> None:
    assert _service(mutate) == []


def _cron(mutate: Callable[[Doc], None]) -> list[str]:
    doc = factories.raycronjob()
    mutate(doc)
    return validate_raycronjob(RayCronJob.model_validate(doc))


CRON_CASES = [
    pytest.param(
        # Found as a hostile user: accepted, then every pass failed on the date arithmetic, silently.
        lambda doc: doc["spec"].update(schedule="@every 99999999999h"),
        [
            "spec.schedule: invalid cron schedule: failed to parse duration @every 99999999999h: "
            'time: invalid duration "99999999999h"'
        ],
        id="every-past-gos-duration-range",
    ),
    pytest.param(
        lambda doc: doc["metadata"].update(name="c" * 37),
        ["metadata.name: RayCronJob name should be no more than 36 characters (got 37)"],
        id="name-too-long",
    ),
    pytest.param(
        lambda doc: doc["spec"].update(schedule="* * * *"),
        ["spec.schedule: invalid cron schedule: expected exactly 5 fields, found 4: * * * *"],
        id="four-fields",
    ),
    pytest.param(
        lambda doc: doc["spec"].update(schedule="61 * * * MON-FOO"),
        [
            "spec.schedule: invalid cron schedule: minute: '61' is outside 0-59",
            "spec.schedule: invalid cron schedule: day of week: cannot parse 'MON-FOO'",
        ],
        id="bad-values",
    ),
    pytest.param(
        lambda doc: doc["spec"].update(schedule="TZ=UTC 0 * * * *"),
        [
            "spec.schedule: invalid cron schedule: TZ= and CRON_TZ= prefixes are not supported; "
            "use spec.timeZone instead"
        ],
        id="tz-prefix",
    ),
    pytest.param(
        lambda doc: doc["spec"].update(timeZone="Mars/Olympus"),
        ["spec.timeZone: unknown time zone 'Mars/Olympus'"],
        id="unknown-time-zone",
    ),
    pytest.param(
        lambda doc: doc["spec"]["jobTemplate"].update(suspend=True),
        [
            "spec.jobTemplate.suspend: a RayJob with shutdownAfterJobFinishes set to false "
            "is not allowed to be suspended"
        ],
        id="job-template",
    ),
]


@pytest.mark.parametrize(("mutate", "messages"), CRON_CASES)
def test_invalid_raycronjob_is_reported_with_the_field_path(mutate: Callable[[Doc], None], messages: list[str]) -> None:
    assert _cron(mutate) == messages


@pytest.mark.parametrize(
    "schedule",
    ["*/5 * * * *", "0 9-17/2 * JAN-MAR mon,wed,fri", "@daily", "@every 1h30m", "0 0 ? * SUN", "5/15 0 1 * *"],
)
def test_valid_schedules_are_accepted(schedule: str) -> None:
    assert _cron(lambda doc: doc["spec"].update(schedule=schedule, timeZone="Europe/Berlin")) == []
