"""The RayJob controller against a real API server with fake nodes and a stand-in Ray dashboard.

There is no Ray behind the clusters here: kwok makes every pod Running (and a submitter Job's pod Succeeded),
and the operator is started with its test hook ``--dashboard-url-override`` pointing at a stand-in dashboard
(:mod:`raykube.ray.standin`) that answers the Jobs API with scripted job states per RayJob name. What is
real: the API server, the Job controller, the garbage collector, the operator process and HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raykube.ray.models import RayJobState
from raykube.ray.standin import JobScript, StandInDashboard
from tests.builders import make_raycluster, make_rayjob
from tests.integration.kube import apply, eventually, kubectl, scratch_namespace
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInDashboard]:
    server = StandInDashboard(JobScript(run_for=2.0))
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def operator(
    kubeconfig: Path, ray_crds: None, standin: StandInDashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("rayjob-operator"), lease_namespace="kube-system",
                                extra=(f"--dashboard-url-override={standin.url}",))


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "rj")


_apply = apply


def _get(kubeconfig: Path, ns: str, kind: str, name: str) -> dict[str, Any] | None:
    result = kubectl(kubeconfig, "get", kind, name, "-n", ns, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def _status(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    job = _get(kubeconfig, ns, "rayjob", name)
    return dict((job or {}).get("status") or {})


def _wait(kubeconfig: Path, ns: str, name: str, deployment: str, timeout: float = 60) -> dict[str, Any]:
    return eventually(
        lambda: (s := _status(kubeconfig, ns, name)).get("jobDeploymentStatus") == deployment and s,
        timeout=timeout,
        what=f"RayJob {name} {deployment}",
    )


def _names(kubeconfig: Path, ns: str, kind: str, selector: str = "") -> list[str]:
    args = ["get", kind, "-n", ns, "-o", "json"] + (["-l", selector] if selector else [])
    return sorted(o["metadata"]["name"] for o in json.loads(kubectl(kubeconfig, *args).stdout)["items"]
                  if not o["metadata"].get("deletionTimestamp"))


def _reasons(kubeconfig: Path, ns: str) -> list[str]:
    out = kubectl(kubeconfig, "get", "events", "-n", ns, "-o", "jsonpath={range .items[*]}{.reason}{'\\n'}{end}")
    return out.stdout.split()


def _container(cpu: str = "100m") -> dict[str, Any]:
    return {"name": "ray", "image": "rayproject/ray:2.46.0", "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}}}


def _rayjob(name: str, **spec: Any) -> dict[str, Any]:
    cluster = (
        make_raycluster(name)
        .ray_version("2.46.0")
        .resources(cpu="100m", memory="128Mi")
        .worker_group("small", replicas=1, max_replicas=2)
    )
    return make_rayjob(name).entrypoint("python -c 'print(42)'").cluster(cluster).spec(**spec).json()


def test_the_sample_rayjob_completes_in_k8s_job_mode(
    operator: OperatorProcess, kubeconfig: Path, ns: str, kuberay_reference: Path, standin: StandInDashboard
) -> None:
    _apply(kubeconfig, ns, (kuberay_reference / "v1.7.0" / "samples" / "ray-job.sample.yaml").read_text())
    status = _wait(kubeconfig, ns, "rayjob-sample", "Complete", timeout=90)
    assert status["jobStatus"] == "SUCCEEDED"
    assert (status["succeeded"], status["failed"]) == (1, 0)
    assert status["jobId"].startswith("rayjob-sample-") and status["rayClusterName"].startswith("rayjob-sample-")
    assert status["dashboardURL"] == f"{status['rayClusterName']}-head-svc.{ns}.svc.cluster.local:8265"
    assert status["startTime"] <= status["endTime"]
    assert status["rayJobInfo"]["startTime"] and status["rayJobInfo"]["endTime"]
    submitter = _get(kubeconfig, ns, "job", "rayjob-sample")
    assert submitter is not None
    args = submitter["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f"--submission-id {status['jobId']}" in args and "python /home/ray/samples/sample_code.py" in args
    assert _get(kubeconfig, ns, "service", "rayjob-sample-head-svc") is not None
    table = kubectl(kubeconfig, "get", "rayjobs", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "JOB", "STATUS", "DEPLOYMENT", "STATUS", "RAY", "CLUSTER", "NAME", "START",
                                "TIME", "END", "TIME", "AGE"]
    assert table[1].split()[1:3] == ["SUCCEEDED", "Complete"]
    assert standin.calls_for(status["jobId"])  # the operator asked the dashboard about this very job
    metrics = operator.metrics()
    assert 'raykube_rayjobs{deployment_status="Complete"}' in metrics
    calls = next(line for line in metrics.splitlines() if line.startswith("raykube_rayjob_dashboard_calls_total"))
    assert float(calls.rsplit(" ", 1)[1]) >= 1
    eventually(lambda: {"CreatedRayCluster", "CreatedRayJobSubmitter"} <= set(_reasons(kubeconfig, ns)),
               what="creation events")


def test_a_failing_job_ends_failed_and_is_retried_once_on_a_fresh_cluster(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    standin.script("failing-", JobScript(run_for=1.0, final=RayJobState.FAILED,
                                         message="Job entrypoint command failed with exit code 1"))
    _apply(kubeconfig, ns, _rayjob("failing", backoffLimit=1))
    status = _wait(kubeconfig, ns, "failing", "Failed", timeout=120)
    assert (status["reason"], status["failed"], status["succeeded"]) == ("AppFailed", 2, 0)
    assert status["message"] == "Job entrypoint command failed with exit code 1"
    asked = {job for job in standin.jobs if job.startswith("failing-")}
    assert len(asked) == 2  # two attempts, two submission ids
    assert status["jobId"] in asked
    reasons = _reasons(kubeconfig, ns)
    assert reasons.count("CreatedRayCluster") >= 1 and "DeletedRayCluster" in reasons
    clusters = _names(kubeconfig, ns, "rayclusters")
    assert clusters == [status["rayClusterName"]]  # the first attempt's cluster is gone


def test_a_submitter_pod_that_fails_ends_the_job_with_submission_failed(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    template = {"metadata": {"annotations": {"local.raykube.dev/fake-pod-state": "Failed"}},
                "spec": {"restartPolicy": "Never", "containers": [_container()]}}
    _apply(kubeconfig, ns, _rayjob("subfail", submitterPodTemplate=template, submitterConfig={"backoffLimit": 0}))
    status = _wait(kubeconfig, ns, "subfail", "Failed", timeout=90)
    assert status["reason"] == "SubmissionFailed"
    assert "submitter Job failed" in status["message"]


def test_http_mode_submits_to_the_dashboard(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    standin.script("viahttp-", JobScript(auto_create=False, run_for=1.0))
    _apply(kubeconfig, ns, _rayjob("viahttp", submissionMode="HTTPMode", metadata={"team": "raykube"},
                                   runtimeEnvYAML="env_vars:\n  A: b\n"))
    status = _wait(kubeconfig, ns, "viahttp", "Complete", timeout=90)
    job = standin.jobs[status["jobId"]]
    assert job.submitted
    assert job.request["entrypoint"] == "python -c 'print(42)'"
    assert job.request["metadata"] == {"team": "raykube"}
    assert job.request["runtime_env"] == {"env_vars": {"A": "b"}}
    assert _get(kubeconfig, ns, "job", "viahttp") is None  # no submitter pod in HTTPMode


def test_sidecar_mode_completes(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    _apply(kubeconfig, ns, _rayjob("sidecar", submissionMode="SidecarMode"))
    status = _wait(kubeconfig, ns, "sidecar", "Complete", timeout=90)
    head = _names(kubeconfig, ns, "pods", f"ray.io/cluster={status['rayClusterName']},ray.io/node-type=head")
    pod = _get(kubeconfig, ns, "pod", head[0])
    assert pod is not None
    assert [c["name"] for c in pod["spec"]["containers"]][-1] == "ray-job-submitter"
    assert _get(kubeconfig, ns, "job", "sidecar") is None


def test_interactive_mode_waits_until_the_user_sets_the_job_id(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    _apply(kubeconfig, ns, _rayjob("interactive", submissionMode="InteractiveMode"))
    waiting = _wait(kubeconfig, ns, "interactive", "Waiting", timeout=90)
    assert "jobId" not in waiting and waiting["dashboardURL"]
    assert _get(kubeconfig, ns, "job", "interactive") is None
    kubectl(kubeconfig, "patch", "rayjob", "interactive", "-n", ns, "--type=merge",
            "-p", '{"spec": {"jobId": "interactive-by-hand"}}')
    status = _wait(kubeconfig, ns, "interactive", "Complete", timeout=60)
    assert status["jobId"] == "interactive-by-hand"
    assert standin.calls_for("interactive-by-hand")


def test_shutdown_after_job_finishes_deletes_the_cluster_after_the_ttl(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    _apply(kubeconfig, ns, _rayjob("ttl", shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=20))
    status = _wait(kubeconfig, ns, "ttl", "Complete", timeout=90)
    cluster = status["rayClusterName"]
    assert _get(kubeconfig, ns, "raycluster", cluster) is not None  # not before the TTL
    eventually(lambda: _get(kubeconfig, ns, "raycluster", cluster) is None, timeout=90, what="cluster deleted")
    assert _get(kubeconfig, ns, "job", "ttl") is not None  # the submitter keeps the logs
    eventually(lambda: "DeletedRayCluster" in _reasons(kubeconfig, ns), what="DeletedRayCluster event")


def test_deletion_rules_delete_workers_then_the_cluster_then_the_rayjob(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    rules = [
        {"policy": "DeleteWorkers", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 0}},
        {"policy": "DeleteCluster", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 6}},
        {"policy": "DeleteSelf", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 12}},
        {"policy": "DeleteNone", "condition": {"jobStatus": "FAILED", "ttlSeconds": 0}},
    ]
    _apply(kubeconfig, ns, _rayjob("rules", deletionStrategy={"deletionRules": rules}))
    status = _wait(kubeconfig, ns, "rules", "Complete", timeout=90)
    cluster = status["rayClusterName"]

    def workers() -> list[str]:
        return _names(kubeconfig, ns, "pods", f"ray.io/cluster={cluster},ray.io/node-type=worker")

    eventually(lambda: not workers(), timeout=30, what="workers deleted")
    rc = _get(kubeconfig, ns, "raycluster", cluster)
    assert rc is not None and rc["spec"]["workerGroupSpecs"][0]["suspend"] is True
    assert _names(kubeconfig, ns, "pods", f"ray.io/cluster={cluster},ray.io/node-type=head")  # head stays
    eventually(lambda: _get(kubeconfig, ns, "raycluster", cluster) is None, timeout=90, what="cluster deleted")
    assert _get(kubeconfig, ns, "rayjob", "rules") is not None
    eventually(lambda: _get(kubeconfig, ns, "rayjob", "rules") is None, timeout=30, what="RayJob deleted")


def test_delete_none_keeps_everything(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    strategy = {"onSuccess": {"policy": "DeleteNone"}, "onFailure": {"policy": "DeleteCluster"}}
    _apply(kubeconfig, ns, _rayjob("keep", deletionStrategy=strategy))
    status = _wait(kubeconfig, ns, "keep", "Complete", timeout=90)
    result = kubectl(kubeconfig, "wait", "--for=delete", f"raycluster/{status['rayClusterName']}", "-n", ns,
                     "--timeout=5s", check=False)
    assert result.returncode != 0  # still there after 5 s
    assert _get(kubeconfig, ns, "rayjob", "keep") is not None


def test_active_deadline_fails_a_long_job(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    standin.script("slowjob-", JobScript(run_for=None))
    _apply(kubeconfig, ns, _rayjob("slowjob", activeDeadlineSeconds=12, shutdownAfterJobFinishes=True))
    status = _wait(kubeconfig, ns, "slowjob", "Failed", timeout=60)
    assert status["reason"] == "DeadlineExceeded"
    assert "activeDeadlineSeconds" in status["message"]
    assert status["failed"] == 1


def test_suspend_deletes_the_cluster_and_resume_starts_over(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    standin.script("pausable-", JobScript(run_for=None))
    _apply(kubeconfig, ns, _rayjob("pausable", shutdownAfterJobFinishes=True))
    running = eventually(lambda: (s := _status(kubeconfig, ns, "pausable")).get("jobStatus") == "RUNNING" and s,
                         timeout=90, what="Ray job RUNNING")
    first_cluster = running["rayClusterName"]
    kubectl(kubeconfig, "patch", "rayjob", "pausable", "-n", ns, "--type=merge", "-p", '{"spec": {"suspend": true}}')
    suspended = _wait(kubeconfig, ns, "pausable", "Suspended", timeout=60)
    assert "rayClusterName" not in suspended and "jobId" not in suspended
    assert _get(kubeconfig, ns, "raycluster", first_cluster) is None
    assert _get(kubeconfig, ns, "job", "pausable") is None
    kubectl(kubeconfig, "patch", "rayjob", "pausable", "-n", ns, "--type=merge", "-p", '{"spec": {"suspend": false}}')
    resumed = eventually(lambda: (s := _status(kubeconfig, ns, "pausable")).get("jobStatus") == "RUNNING" and s,
                         timeout=90, what="running again")
    assert resumed["rayClusterName"] != first_cluster
    assert resumed["jobId"] != running["jobId"]


def test_deleting_a_running_rayjob_stops_the_ray_job(
    operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard
) -> None:
    standin.script("doomed-", JobScript(run_for=None))
    _apply(kubeconfig, ns, _rayjob("doomed"))
    running = eventually(lambda: (s := _status(kubeconfig, ns, "doomed")).get("jobStatus") == "RUNNING" and s,
                         timeout=90, what="Ray job RUNNING")
    job = _get(kubeconfig, ns, "rayjob", "doomed")
    assert job is not None and job["metadata"]["finalizers"] == ["ray.io/rayjob-finalizer"]
    kubectl(kubeconfig, "delete", "rayjob", "doomed", "-n", ns, "--timeout=30s")
    assert ("POST", f"/api/jobs/{running['jobId']}/stop") in standin.calls
    assert standin.jobs[running["jobId"]].state(0)[0] is RayJobState.STOPPED


def test_an_invalid_rayjob_is_marked_validation_failed(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    _apply(kubeconfig, ns, _rayjob("invalid", suspend=True))
    status = _wait(kubeconfig, ns, "invalid", "ValidationFailed", timeout=30)
    assert status["reason"] == "ValidationFailed"
    assert "shutdownAfterJobFinishes" in status["message"]
    eventually(lambda: "InvalidRayJobSpec" in _reasons(kubeconfig, ns), what="InvalidRayJobSpec event")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"submitterPodTemplate": {"spec": {"containers": []}}}, "at least one container", id="no-containers"
        ),
        pytest.param({"activeDeadlineSeconds": 2**63 - 1}, "must fit in int32", id="deadline-past-int32"),
    ],
)
def test_manifests_that_looped_silently_are_marked_validation_failed(
    operator: OperatorProcess, kubeconfig: Path, ns: str, spec: dict[str, Any], message: str
) -> None:
    # Found as a hostile user: both were accepted and every pass then raised (IndexError, OverflowError), silently.
    _apply(kubeconfig, ns, _rayjob("hostile", **spec))
    status = _wait(kubeconfig, ns, "hostile", "ValidationFailed", timeout=30)
    assert message in status["message"]
    eventually(lambda: "InvalidRayJobSpec" in _reasons(kubeconfig, ns), what="InvalidRayJobSpec event")
    assert operator.proc.poll() is None


def _event_notes(kubeconfig: Path, ns: str, reason: str) -> str:
    return kubectl(kubeconfig, "get", "events", "-n", ns, "--field-selector", f"reason={reason}", "-o",
                   "jsonpath={.items[*].message}").stdout


def _quota_hard(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    quota = _get(kubeconfig, ns, "resourcequota", name) or {}
    return dict((quota.get("status") or {}).get("hard") or {})


def test_a_refused_cluster_create_is_a_warning_and_the_status_message(
    operator: OperatorProcess, kubeconfig: Path, ns: str
) -> None:
    # Issue 14: a quota of zero RayClusters makes the API server refuse the RayJob's cluster. KubeRay sends the
    # Warning FailedToCreateRayCluster; raykube also says it in status.message while the RayJob waits.
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-rayclusters"},
             "spec": {"hard": {"count/rayclusters.ray.io": "0"}}}
    _apply(kubeconfig, ns, quota)
    eventually(lambda: "count/rayclusters.ray.io" in _quota_hard(kubeconfig, ns, "no-rayclusters"),
               what="the quota taken up by the quota controller")
    _apply(kubeconfig, ns, _rayjob("quota"))
    note = eventually(lambda: _event_notes(kubeconfig, ns, "FailedToCreateRayCluster"), timeout=60,
                      what=f"FailedToCreateRayCluster (operator log:\n{operator.log_tail()})")
    assert "is forbidden" in note and "no-rayclusters" in note, note
    status = eventually(lambda: (s := _status(kubeconfig, ns, "quota")).get("message") and s, timeout=30,
                        what="the failure in status.message")
    assert status["jobDeploymentStatus"] == "Initializing"
    assert status["message"].startswith(f"Failed to create RayCluster {ns}/{status['rayClusterName']}: ")
    assert "no-rayclusters" in status["message"]
    assert _names(kubeconfig, ns, "rayclusters") == []

    kubectl(kubeconfig, "delete", "resourcequota", "no-rayclusters", "-n", ns)
    eventually(lambda: _names(kubeconfig, ns, "rayclusters") == [status["rayClusterName"]], timeout=60,
               what="the cluster created once the quota is gone")
    eventually(lambda: not _status(kubeconfig, ns, "quota").get("message", "").startswith("Failed to create"),
               timeout=30, what="the failure's message cleared (Ray's own message may follow)")
    assert operator.proc.poll() is None


# -- the `raykube job` command line ----------------------------------------------------------------------


def _raykube(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "raykube.cli.main", *args], capture_output=True, text=True,
                          timeout=180, env={**os.environ, "COLUMNS": "200", "KUBECONFIG": str(kubeconfig)})


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "main.py").write_text("print('hello from raykube')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "helpers.py").write_text("ANSWER = 42\n")
    return tmp_path


def test_job_submit_runs_a_working_directory_on_a_new_cluster(
    operator: OperatorProcess, kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    result = _raykube(kubeconfig, "job", "submit", "-n", ns, "--name", "clijob", "--working-dir",
                      str(_workdir(tmp_path)), "--workers", "0", "--head-cpu", "100m", "--memory", "128Mi",
                      "--ttl", "0", "--", "python", "main.py")
    assert result.returncode == 0, result.stderr
    shown = result.stderr
    for expected in ("created RayJob", "Running", "job RUNNING", "Complete", "job SUCCEEDED"):
        assert expected in shown  # every status write is shown (a watch), in order
    assert shown.index("Running") < shown.index("Complete")
    job = _get(kubeconfig, ns, "rayjob", "clijob")
    assert job is not None and job["spec"]["entrypoint"] == "cd /home/ray/workdir && python main.py"
    configmap = _get(kubeconfig, ns, "configmap", "clijob-workdir")
    assert configmap is not None and configmap["data"]["lib_helpers.py"] == "ANSWER = 42\n"
    assert configmap["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    listing = _raykube(kubeconfig, "job", "list", "-n", ns)
    row = next(line for line in listing.stdout.splitlines() if line.startswith("clijob"))
    assert row.split()[1:4] == ["K8sJobMode", "SUCCEEDED", "Complete"]


def test_job_submit_to_an_existing_cluster_uploads_the_working_directory_and_sets_the_job_id(
    operator: OperatorProcess, kubeconfig: Path, ns: str, tmp_path: Path, standin: StandInDashboard
) -> None:
    _apply(kubeconfig, ns, {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "shared"},
                            "spec": _rayjob("x")["spec"]["rayClusterSpec"]})
    result = _raykube(kubeconfig, "job", "submit", "-n", ns, "--name", "attached", "--cluster", "shared",
                      "--working-dir", str(_workdir(tmp_path)), "--dashboard-address", standin.url,
                      "--", "python", "main.py")
    assert result.returncode == 0, result.stderr
    assert "Waiting" in result.stderr and "uploaded" in result.stderr and "Complete" in result.stderr
    status = _status(kubeconfig, ns, "attached")
    job = standin.jobs[status["jobId"]]
    assert job.submitted and job.entrypoint == "python main.py"
    assert job.request["runtime_env"]["working_dir"] in {f"gcs://{p.split('/', 1)[1]}" for p in standin.packages}
    assert _get(kubeconfig, ns, "rayjob", "attached")["spec"]["jobId"] == status["jobId"]  # type: ignore[index]
    assert _get(kubeconfig, ns, "raycluster", "shared") is not None  # an existing cluster is never deleted
    logs = _raykube(kubeconfig, "job", "logs", "attached", "-n", ns, "--dashboard-address", standin.url)
    assert logs.returncode == 0, logs.stderr
    assert "hello from the stand-in dashboard" in logs.stdout
