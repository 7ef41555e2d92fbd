"""The RayCronJob controller (KubeRay's feature gate RayCronJob) against a real API server.

The RayJobs it creates are created suspended (their template says so), so the RayJob controller leaves them
alone and only the RayCronJob's own behaviour is under test: one RayJob per run, named after the run's time,
labelled, annotated and owned; `status.lastScheduleTime`; suspend; a clear Event for an invalid schedule;
garbage collection of the runs with their RayCronJob.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def operator(kubeconfig: Path, ray_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("raycronjob-operator"),
                                lease_namespace="kube-system", extra=("--feature-gates=RayCronJob=true",))


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "rcj")


def _cronjob(name: str, schedule: str, **spec: Any) -> dict[str, Any]:
    template = {"entrypoint": "python -c 'print(1)'", "suspend": True, "shutdownAfterJobFinishes": True,
                "rayClusterSpec": {"headGroupSpec": {"template": {"spec": {"containers": [
                    {"name": "ray-head", "image": "rayproject/ray:2.46.0"}]}}}}}
    return {"apiVersion": "ray.io/v1", "kind": "RayCronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "jobTemplate": template, **spec}}


def _rayjobs(kubeconfig: Path, ns: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(kubectl(kubeconfig, "get", "rayjobs", "-n", ns, "-o", "json").stdout)[
        "items"]
    return items


def _get(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(kubectl(kubeconfig, "get", "raycronjob", name, "-n", ns, "-o", "json").stdout)
    return obj


def test_each_run_creates_one_rayjob_named_after_its_time(kubeconfig: Path, operator: OperatorProcess, ns: str
                                                           ) -> None:
    apply(kubeconfig, ns, _cronjob("tick", "@every 2s"))
    jobs = eventually(lambda: j if len(j := _rayjobs(kubeconfig, ns)) >= 2 else None, timeout=60,
                      what=f"two runs (operator log:\n{operator.log_tail()})")
    cron = _get(kubeconfig, ns, "tick")
    stamps = sorted(j["metadata"]["annotations"]["ray.io/cronjob-scheduled-timestamp"] for j in jobs)
    assert len(set(stamps)) == len(stamps), "one RayJob per run"
    for job in jobs:
        meta = job["metadata"]
        assert meta["labels"]["ray.io/cronjob-name"] == "tick"
        owner = meta["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
            "RayCronJob", "tick", cron["metadata"]["uid"], True)
        assert job["spec"]["entrypoint"] == "python -c 'print(1)'" and job["spec"]["suspend"] is True
        assert meta["name"].startswith("tick-") and meta["name"][5:].isdigit()
    last = eventually(lambda: _get(kubeconfig, ns, "tick").get("status", {}).get("lastScheduleTime"))
    assert last >= stamps[0]
    table = kubectl(kubeconfig, "get", "raycronjob", "tick", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "LAST", "SCHEDULE", "AGE", "SUSPEND"]
    reasons = kubectl(kubeconfig, "get", "events", "-n", ns, "-o", "jsonpath={.items[*].reason}").stdout.split()
    assert "CreatedRayJob" in reasons

    # The runs belong to their RayCronJob: deleting it (foreground) takes them along.
    kubectl(kubeconfig, "delete", "raycronjob", "tick", "-n", ns, "--cascade=foreground")
    eventually(lambda: _rayjobs(kubeconfig, ns) == [], timeout=60, what="runs garbage-collected")


def test_a_suspended_raycronjob_creates_nothing_until_resumed(kubeconfig: Path, operator: OperatorProcess, ns: str
                                                               ) -> None:
    apply(kubeconfig, ns, _cronjob("paused", "@every 2s", suspend=True))
    eventually(lambda: "SuspendedRayCronJob" in kubectl(
        kubeconfig, "get", "events", "-n", ns, "-o", "jsonpath={.items[*].reason}").stdout, what="suspended Event")
    assert _rayjobs(kubeconfig, ns) == []
    assert "lastScheduleTime" not in _get(kubeconfig, ns, "paused").get("status", {})
    kubectl(kubeconfig, "patch", "raycronjob", "paused", "-n", ns, "--type=merge", "-p", '{"spec":{"suspend":false}}')
    eventually(lambda: _rayjobs(kubeconfig, ns), timeout=60, what="a run after resuming")


def test_an_invalid_schedule_gets_a_warning_event_and_no_rayjob(kubeconfig: Path, operator: OperatorProcess, ns: str
                                                                 ) -> None:
    apply(kubeconfig, ns, _cronjob("broken", "0 25 * * *"))
    note = eventually(lambda: kubectl(kubeconfig, "get", "events", "-n", ns, "--field-selector",
                                      "reason=InvalidRayCronJobSpec", "-o", "jsonpath={.items[*].message}").stdout,
                      what="InvalidRayCronJobSpec Event")
    assert "spec.schedule" in note and "hour" in note, note
    assert _rayjobs(kubeconfig, ns) == []
    assert 'controller="raycronjob"' in operator.metrics()


def _event_notes(kubeconfig: Path, ns: str, reason: str) -> str:
    return kubectl(kubeconfig, "get", "events", "-n", ns, "--field-selector", f"reason={reason}", "-o",
                   "jsonpath={.items[*].message}").stdout


def test_an_every_past_gos_duration_range_is_rejected_with_a_warning(kubeconfig: Path, operator: OperatorProcess,
                                                                     ns: str) -> None:
    # Found as a hostile user: accepted, then every pass failed on the date arithmetic without telling anyone.
    apply(kubeconfig, ns, _cronjob("forever", "@every 99999999999h"))
    note = eventually(lambda: _event_notes(kubeconfig, ns, "InvalidRayCronJobSpec"), what="InvalidRayCronJobSpec")
    assert 'invalid duration "99999999999h"' in note, note
    assert operator.proc.poll() is None


def test_a_refused_rayjob_create_is_a_warning_event(kubeconfig: Path, operator: OperatorProcess, ns: str) -> None:
    # Found as a hostile user: a failed create of a run sent no Warning Event. A quota of zero RayJobs makes the
    # API server refuse every run.
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-rayjobs"},
             "spec": {"hard": {"count/rayjobs.ray.io": "0"}}}
    apply(kubeconfig, ns, quota)
    apply(kubeconfig, ns, _cronjob("refused", "@every 2s"))
    note = eventually(lambda: _event_notes(kubeconfig, ns, "FailedToCreateRayJob"), timeout=60,
                      what=f"FailedToCreateRayJob (operator log:\n{operator.log_tail()})")
    assert "is forbidden" in note and "no-rayjobs" in note, note
    assert _rayjobs(kubeconfig, ns) == []
