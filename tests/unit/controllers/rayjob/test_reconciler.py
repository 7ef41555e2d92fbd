"""The RayJob reconciler end to end against an in-memory API and a stand-in dashboard on loopback.

Time is a FakeClock (the stand-in ages its jobs by it too), so TTLs, deadlines and the 300 s status-check
timeout pass instantly. Dashboard calls are real HTTP, run in the background: the tests wait for their
answers, never for time to pass.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from raykube.builders.settings import OperatorSettings
from raykube.controllers.events import reporting
from raykube.controllers.kinds import JOB, RAYCLUSTER, RAYJOB
from raykube.controllers.rayjob.dashboard import DashboardProbes
from raykube.controllers.rayjob.reconciler import RayJobReconciler
from raykube.controllers.rayjob.settings import RayJobSettings
from raykube.ray.client import DashboardClient
from raykube.ray.models import RayJobState
from raykube.ray.standin import JobScript, StandInDashboard
from raykube.runtime.clock import FakeClock
from raykube.runtime.controller import Result
from raykube.runtime.errors import ApiError
from raykube.runtime.events import EventRecorder
from raykube.runtime.objects import ObjectKey
from tests.unit.api.factories import rayjob
from tests.unit.controllers.rayjob.fakeapi import FakeApi

pytestmark = pytest.mark.timeout(30)
KEY = ObjectKey("ns", "rj")


class Harness:
    def __init__(
        self,
        api: FakeApi,
        reconciler: RayJobReconciler,
        probes: DashboardProbes,
        clock: FakeClock,
        standin: StandInDashboard,
        recorder: EventRecorder,
    ) -> None:
        self.api, self.reconciler, self.probes, self.clock = api, reconciler, probes, clock
        self.standin, self.recorder = standin, recorder
        self.woken: list[ObjectKey] = []
        probes.on_answer = self.woken.append

    def create(self, name: str = "rj", **spec: Any) -> None:
        body = rayjob(name, **spec)
        body["metadata"]["namespace"] = "ns"
        self.api.put(RAYJOB, body)

    def status(self, name: str = "rj") -> dict[str, Any]:
        obj = self.api.obj(RAYJOB, name)
        assert obj is not None
        return dict(obj.get("status") or {})

    async def reconcile(self, key: ObjectKey = KEY) -> Result:
        return await self.reconciler.reconcile(key)

    async def answers(self) -> None:
        """Wait (in real time, briefly) until no dashboard call is in flight."""
        for _ in range(400):
            if self.probes.in_flight == 0:
                return
            await asyncio.sleep(0.005)
        raise AssertionError("dashboard calls still in flight")

    async def until(
        self,
        done: Callable[[dict[str, Any]], bool],
        *,
        step: float = 3.0,
        passes: int = 40,
        key: ObjectKey = KEY,
        between: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Reconcile, let answers land, advance the clock by ``step``; until ``done(status)``."""
        for _ in range(passes):
            await self.reconcile(key)
            await self.answers()
            status = self.status(key.name)
            if done(status):
                return status
            if between is not None:
                between()
            self.clock.advance(step)
        raise AssertionError(f"not reached; status {self.status(key.name)}")

    def ready_cluster(self) -> None:
        """What the RayCluster controller would do: mark the RayJob's cluster ready."""
        for cluster in list(self.api.informers.clusters.store.list()):
            if (cluster.get("status") or {}).get("state") != "ready":
                self.api.put(RAYCLUSTER, {**cluster, "status": {"state": "ready"}})

    def finish_submitter(self, condition: str = "Complete") -> None:
        """What the Job controller would do once the submitter pod exits."""
        for job in list(self.api.informers.submitters.store.list()):
            stamp = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
            status = {"conditions": [{"type": condition, "status": "True", "lastTransitionTime": stamp}]}
            self.api.put(JOB, {**job, "status": status})

    async def event_reasons(self) -> list[str]:
        await self.recorder.flush()
        return [e["reason"] for e in self.api.events]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    clock = FakeClock()
    standin = StandInDashboard(
        JobScript(run_for=10), clock=clock.monotonic, epoch_ms=lambda: int(clock.now().timestamp() * 1000)
    )
    url = await standin.start()
    api = FakeApi()
    client = DashboardClient(timeout=0.1)
    probes = DashboardProbes(client, clock=clock)
    recorder = EventRecorder(api, controller="rayjob-controller", clock=clock)
    suffixes = itertools.chain(["jjjjj", "ccccc"], (f"{n:05d}" for n in itertools.count()))
    reconciler = RayJobReconciler(
        api,  # type: ignore[arg-type]
        cache=api.cache,
        probes=probes,
        recorder=recorder,
        settings=RayJobSettings(dashboard_url_override=url, dashboard_timeout=0.1),
        operator_settings=OperatorSettings(),
        clock=clock,
        suffix=lambda: next(suffixes),
    )
    try:
        yield Harness(api, reconciler, probes, clock, standin, recorder)
    finally:
        await probes.close()
        await client.close()
        await standin.close()


async def test_a_k8s_job_mode_rayjob_runs_to_complete_and_its_cluster_is_deleted_after_the_ttl(
    harness: Harness,
) -> None:
    harness.create(shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=60)
    await harness.reconcile()
    status = harness.status()
    assert status["jobDeploymentStatus"] == "Initializing"
    assert (status["jobId"], status["rayClusterName"]) == ("rj-jjjjj", "rj-ccccc")
    assert harness.api.obj(RAYJOB, "rj")["metadata"]["finalizers"] == ["ray.io/rayjob-finalizer"]  # type: ignore[index]

    await harness.reconcile()
    assert harness.api.obj(RAYCLUSTER, "rj-ccccc") is not None
    harness.ready_cluster()
    await harness.reconcile()
    status = harness.status()
    assert status["jobDeploymentStatus"] == "Running"
    assert status["dashboardURL"] == "rj-ccccc-head-svc.ns.svc.cluster.local:8265"
    assert harness.api.obj(JOB, "rj") is not None

    status = await harness.until(lambda s: s.get("jobStatus") == "RUNNING")
    assert status["jobDeploymentStatus"] == "Running"
    assert KEY in harness.woken  # the answer re-enqueued the RayJob
    status = await harness.until(lambda s: s["jobDeploymentStatus"] == "Complete", between=harness.finish_submitter)
    assert (status["jobStatus"], status["succeeded"], status["failed"]) == ("SUCCEEDED", 1, 0)
    assert "endTime" in status and status["rayJobInfo"]["endTime"]

    result = await harness.reconcile()
    assert result.requeue_after is not None and 50 < result.requeue_after <= 60
    assert harness.api.obj(RAYCLUSTER, "rj-ccccc") is not None
    harness.clock.advance(60)
    await harness.reconcile()
    assert harness.api.obj(RAYCLUSTER, "rj-ccccc") is None
    assert harness.api.obj(JOB, "rj") is not None  # the submitter keeps the driver logs
    reasons = await harness.event_reasons()
    for reason in ("CreatedRayCluster", "CreatedRayJobSubmitter", "CreatedService", "DeletedRayCluster"):
        assert reason in reasons
    notes = {(e["reason"], e.get("note") or e.get("message")) for e in harness.api.events}
    assert {("CreatedRayCluster", "Created RayCluster ns/rj-ccccc"), ("CreatedRayJobSubmitter",
            "Created Kubernetes Job ns/rj"), ("DeletedRayCluster", "Deleted cluster ns/rj-ccccc"),
            ("CreatedService", "Created the service ns/rj-head-svc")} <= notes


async def test_a_failing_job_is_retried_once_on_a_fresh_cluster(harness: Harness) -> None:
    harness.standin.default = JobScript(run_for=1, final=RayJobState.FAILED, message="exit code 1")
    harness.create(backoffLimit=1)
    await harness.reconcile()
    await harness.reconcile()
    harness.ready_cluster()
    first = await harness.until(lambda s: s.get("jobDeploymentStatus") == "Retrying", between=harness.finish_submitter)
    assert first["failed"] == 1
    assert first["jobStatus"] == "FAILED"
    status = await harness.until(lambda s: s.get("jobDeploymentStatus") == "Initializing")
    assert status["rayClusterName"] != "rj-ccccc"
    assert harness.api.obj(RAYCLUSTER, "rj-ccccc") is None
    second_cluster = status["rayClusterName"]

    def progress() -> None:
        harness.ready_cluster()
        harness.finish_submitter()

    final = await harness.until(lambda s: s.get("jobDeploymentStatus") == "Failed", between=progress)
    assert (final["reason"], final["failed"], final["succeeded"]) == ("AppFailed", 2, 0)
    assert final["message"] == "exit code 1"
    assert final["rayClusterName"] == second_cluster


async def test_http_mode_submits_through_the_dashboard(harness: Harness) -> None:
    harness.standin.script("rj-", JobScript(auto_create=False, run_for=5))
    harness.create(submissionMode="HTTPMode")
    await harness.reconcile()
    await harness.reconcile()
    harness.ready_cluster()
    status = await harness.until(lambda s: s.get("jobDeploymentStatus") == "Complete")
    assert status["jobStatus"] == "SUCCEEDED"
    submitted = harness.standin.jobs["rj-jjjjj"]
    assert submitted.submitted and submitted.entrypoint == "python main.py"
    assert harness.api.obj(JOB, "rj") is None


async def test_a_dashboard_that_never_answers_fails_the_job_after_the_status_check_timeout(
    harness: Harness,
) -> None:
    harness.standin.script("rj-", JobScript(hang=True))
    harness.create()
    await harness.reconcile()
    await harness.reconcile()
    harness.ready_cluster()
    await harness.reconcile()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await harness.reconcile()  # starts the call, does not wait for it
    assert loop.time() - started < 0.1
    assert harness.probes.in_flight == 1
    status = await harness.until(lambda s: "jobStatusCheckFailureStartTime" in s, step=0)
    assert status["jobDeploymentStatus"] == "Running"
    status = await harness.until(lambda s: s["jobDeploymentStatus"] == "Failed", step=30)
    assert status["reason"] == "JobStatusCheckTimeoutExceeded"
    assert "no answer within" in status["message"]
    assert status["failed"] == 1


async def test_a_silent_dashboard_does_not_slow_another_rayjob(harness: Harness) -> None:
    harness.standin.script("slow-", JobScript(hang=True))
    other = ObjectKey("ns", "slow")
    harness.create("slow")
    harness.create()
    for key in (other, KEY, other, KEY):
        await harness.reconcile(key)
    harness.ready_cluster()
    for key in (other, KEY):
        await harness.reconcile(key)
    loop = asyncio.get_running_loop()
    for _ in range(3):
        started = loop.time()
        await harness.reconcile(other)
        await harness.reconcile(KEY)
        assert loop.time() - started < 0.1
        await asyncio.sleep(0.05)
    status = await harness.until(lambda s: s.get("jobStatus") == "RUNNING")
    assert status["jobDeploymentStatus"] == "Running"


async def test_deleting_a_running_rayjob_stops_its_ray_job(harness: Harness) -> None:
    harness.standin.default = JobScript(run_for=None)
    harness.create()
    await harness.reconcile()
    await harness.reconcile()
    harness.ready_cluster()
    await harness.until(lambda s: s.get("jobStatus") == "RUNNING")
    await harness.api.delete(RAYJOB, "rj", namespace="ns")
    await harness.reconcile()
    await harness.answers()
    assert ("POST", "/api/jobs/rj-jjjjj/stop") in harness.standin.calls
    await harness.reconcile()
    assert harness.api.obj(RAYJOB, "rj") is None
    assert harness.standin.jobs["rj-jjjjj"].forced is not None


async def test_suspend_deletes_the_cluster_and_resume_starts_over(harness: Harness) -> None:
    harness.standin.default = JobScript(run_for=None)
    harness.create(shutdownAfterJobFinishes=True)
    await harness.reconcile()
    await harness.reconcile()
    harness.ready_cluster()
    await harness.until(lambda s: s.get("jobStatus") == "RUNNING")
    obj = harness.api.obj(RAYJOB, "rj")
    assert obj is not None
    harness.api.put(RAYJOB, {**obj, "spec": {**obj["spec"], "suspend": True}})
    status = await harness.until(lambda s: s.get("jobDeploymentStatus") == "Suspended", step=0)
    assert "rayClusterName" not in status and "jobId" not in status
    assert harness.api.obj(RAYCLUSTER, "rj-ccccc") is None and harness.api.obj(JOB, "rj") is None
    obj = harness.api.obj(RAYJOB, "rj")
    assert obj is not None
    harness.api.put(RAYJOB, {**obj, "spec": {**obj["spec"], "suspend": False}})
    status = await harness.until(lambda s: s.get("jobDeploymentStatus") == "Initializing", step=0)
    assert status["rayClusterName"] not in ("rj-ccccc", "")


async def test_an_invalid_rayjob_fails_validation_once(harness: Harness) -> None:
    harness.create(suspend=True)  # suspend needs shutdownAfterJobFinishes
    result = await harness.reconcile()
    status = harness.status()
    assert status["jobDeploymentStatus"] == "ValidationFailed"
    assert "shutdownAfterJobFinishes" in status["message"]
    assert result.requeue_after is None
    writes = len(harness.api.writes)
    await harness.reconcile()
    assert len(harness.api.writes) == writes
    assert (await harness.event_reasons()).count("InvalidRayJobSpec") == 1


async def test_a_job_id_too_long_for_a_dashboard_url_fails_validation_before_any_call(harness: Harness) -> None:
    # Found by the chaos run: a 100 KiB jobId was accepted, then every dashboard call raised InvalidURL.
    harness.create(jobId="j" * 100 * 1024)
    result = await harness.reconcile()
    status = harness.status()
    assert (status["jobDeploymentStatus"], status["reason"]) == ("ValidationFailed", "ValidationFailed")
    assert status["message"] == "spec.jobId: must be no more than 253 characters, got 102400"
    assert result.requeue_after is None and harness.probes.in_flight == 0
    assert (await harness.event_reasons()).count("InvalidRayJobSpec") == 1


async def test_a_rayjob_managed_elsewhere_is_left_alone(harness: Harness) -> None:
    harness.create(managedBy="kueue.x-k8s.io/multikueue")
    await harness.reconcile()
    assert harness.status() == {} and harness.api.writes == []


async def test_the_dashboard_client_is_shared_and_bounded() -> None:
    """Many RayJobs, one pool: calls beyond the concurrency limit wait for a slot."""
    in_flight = 0
    peak = 0
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(200, json={"status": "RUNNING", "submission_id": "x"})

    from raykube.controllers.rayjob.dashboard import Target

    clock = FakeClock()
    async with DashboardClient(transport=httpx.MockTransport(handler), timeout=5) as client:
        probes = DashboardProbes(client, clock=clock, concurrency=3)
        woken: list[ObjectKey] = []
        probes.on_answer = woken.append
        for i in range(10):
            probes.poll(ObjectKey("ns", f"j{i}"), Target("http://x:8265", f"j{i}", "c"), max_age=3)
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert peak == 3 and probes.in_flight == 10
        release.set()
        for _ in range(100):
            if probes.in_flight == 0:
                break
            await asyncio.sleep(0.005)
        assert sorted(k.name for k in woken) == sorted(f"j{i}" for i in range(10))
        assert peak == 3
        await probes.close()


async def test_an_unknown_submission_mode_is_warned_about_once_per_generation(harness: Harness) -> None:
    # KubeRay accepts it without a word (no CRD enum, no rule) and never submits: raykube does the same, and says so.
    harness.create(submissionMode="Teleport")
    for _ in range(3):
        await harness.reconcile()
    assert harness.status()["jobDeploymentStatus"] == "Initializing"
    assert (await harness.event_reasons()).count("UnexpectedSpecValue") == 1
    notes = [e["note"] for e in harness.api.events if e["reason"] == "UnexpectedSpecValue"]
    assert notes[0].startswith("spec.submissionMode: 'Teleport' is not a submission mode")


async def test_a_refused_cluster_create_is_a_warning_and_the_status_message_until_it_succeeds(
    harness: Harness,
) -> None:
    create = harness.api.create
    quota = 'rayclusters.ray.io "rj-ccccc" is forbidden: exceeded quota: q, requested: count/rayclusters.ray.io=1'

    async def refusing(kind: Any, obj: Any, *, namespace: str | None = None) -> Any:
        if kind == RAYCLUSTER:
            raise ApiError(403, "Forbidden", quota)
        return await create(kind, obj, namespace=namespace)

    harness.api.create = refusing  # type: ignore[method-assign]
    harness.create()
    await harness.reconcile()  # New -> Initializing
    reconcile = reporting(harness.reconciler.reconcile, lookup=harness.reconciler.get, recorder=harness.recorder)
    with pytest.raises(ApiError):
        await reconcile(KEY)  # as the controller runs it: the pass's Warnings go out although it failed
    status = harness.status()
    assert status["jobDeploymentStatus"] == "Initializing"
    assert status["message"] == f"Failed to create RayCluster ns/{status['rayClusterName']}: {quota}"
    assert "FailedToCreateRayCluster" in await harness.event_reasons()

    harness.api.create = create  # type: ignore[method-assign]
    await harness.reconcile()  # created
    await harness.reconcile()  # seen in the cache: the failure is over
    assert "message" not in harness.status()
