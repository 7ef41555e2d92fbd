"""The typed RayJob status writes exactly the JSON the dict-based version wrote (hypothesis).

Each example is a short run of passes: every pass draws a state function's typed `StatusChanges` (fields left,
cleared, set, set empty), gives the legacy version the same changes as JSON the way the state functions wrote
them before they were typed (`legacy.changes_json`), assembles the status both ways from the same old status,
and checks that the JSON and
the "changed?" answer agree; the JSON then becomes the next pass's old status, as the API server would hand it
back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from raykube import reasons
from raykube.api.raycluster import RayClusterStatus
from raykube.api.rayjob import RayJobInfo
from raykube.controllers.rayjob import status
from raykube.controllers.rayjob.changes import CLEAR, StatusChanges
from raykube.controllers.rayjob.snapshot import Step
from raykube.runtime.clock import stamp
from tests.unit.controllers.rayjob import legacy_status as legacy
from tests.unit.controllers.rayjob.fixtures import NOW, make_job

FAST = settings(max_examples=150, deadline=None)
D = reasons.JobDeploymentStatus
_TIMES = st.sampled_from([stamp(NOW), "2025-12-31T23:59:59Z", None, ""])
_CLUSTER_STATUS = {"state": "ready", "desiredCPU": "2", "head": {"podName": "h"}, "endpoints": {},
                   "conditions": [{"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady",
                                   "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
                   "lastUpdateTime": "2026-01-01T00:00:00Z"}
_JOB_INFOS = [{}, {"startTime": "2026-01-01T11:00:00Z"},
              {"startTime": "2026-01-01T11:00:00Z", "endTime": "2026-01-01T11:30:00Z"}]
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "jobDeploymentStatus": st.sampled_from([*D, None, ""]),
    "jobStatus": st.sampled_from([*reasons.JobStatus, None, ""]),
    "reason": st.sampled_from([*reasons.JobFailedReason, None, ""]),
    "message": st.sampled_from(["m", "", None]),
    "jobId": st.sampled_from(["rj-abcde", None]),
    "dashboardURL": st.sampled_from(["rj-c-head-svc.ns.svc.cluster.local:8265", None]),
    "rayClusterName": st.sampled_from(["rj-c", None]),
    "startTime": _TIMES,
    "endTime": _TIMES,
    "jobStatusCheckFailureStartTime": _TIMES,
    "rayJobInfo": st.sampled_from([None, *_JOB_INFOS]),
    "rayClusterStatus": st.sampled_from([None, {}, _CLUSTER_STATUS]),
    "failed": st.integers(0, 3),
    "succeeded": st.integers(0, 2),
}

# A state function's changes: each field left (None), cleared, or set (empty values and sub-second times too).
_EXACT_TIMES = [NOW, NOW + dt.timedelta(microseconds=500_000), dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=dt.UTC)]


def _change(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, CLEAR, *values])


_changes = st.builds(
    StatusChanges,
    job_deployment_status=_change([*D]),
    job_status=_change([*reasons.JobStatus, ""]),
    reason=_change([*reasons.JobFailedReason, ""]),
    message=_change(["m", ""]),
    job_id=_change(["rj-abcde"]),
    dashboard_url=_change(["rj-c-head-svc.ns.svc.cluster.local:8265"]),
    ray_cluster_name=_change(["rj-c"]),
    start_time=_change(_EXACT_TIMES),
    job_status_check_failure_start_time=_change(_EXACT_TIMES),
    ray_job_info=_change([RayJobInfo.model_validate(info) for info in _JOB_INFOS]),
    ray_cluster_status=_change([RayClusterStatus(), RayClusterStatus.model_validate(_CLUSTER_STATUS)]),
)
_old = st.fixed_dictionaries(
    {}, optional={**_FIELDS, "observedGeneration": st.integers(1, 2), "futureField": st.just("kept")}
)  # empty values too: a hand edit, or another writer


@FAST
@given(
    old=_old,
    passes=st.lists(st.tuples(_changes, st.integers(0, 2), st.sampled_from([0, 1, 5 * 60])), min_size=1, max_size=4),
    generation=st.sampled_from([1, 2, None]),
)
def test_the_typed_rayjob_status_serialises_to_the_json_the_dict_version_wrote(
    old: dict[str, Any], passes: list[tuple[StatusChanges, int, int]], generation: int | None
) -> None:
    now = NOW
    for changes, backoff_limit, seconds in passes:
        job = make_job(backoffLimit=backoff_limit)
        if generation is None:
            del job.metadata["generation"]
        else:
            job.metadata["generation"] = generation
        now += dt.timedelta(seconds=seconds, microseconds=seconds)
        expected = legacy.next_status(old, legacy.changes_json(changes), job=job, now=now)
        typed = status.next_status(status.read_status(old), Step(changes), job=job, now=now)
        assert typed.to_json() == expected
        changed = legacy.status_changed(old, expected)
        assert status.status_changed(status.read_status(old), typed) == changed
        if changed:
            old = expected
