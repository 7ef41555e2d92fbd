"""Objects created for RayJob, RayService and RayCronJob parents."""

from __future__ import annotations

from datetime import UTC, datetime

from raykube.api.defaults import apply_crd_defaults
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from raykube.builders import parents, submitter
from raykube.builders.settings import OperatorSettings

SETTINGS = OperatorSettings()
CLUSTER_SPEC = {
    "rayVersion": "2.52.0",
    "headGroupSpec": {"rayStartParams": {}, "template": {"spec": {"containers": [{"name": "h", "image": "ray:x"}]}}},
}


def _job(**spec: object) -> RayJob:
    doc = {
        "metadata": {"name": "job", "namespace": "ns", "uid": "u", "labels": {"team": "a"}},
        "spec": {"entrypoint": "  python main.py ", "rayClusterSpec": CLUSTER_SPEC, **spec},
    }
    return apply_crd_defaults(RayJob.model_validate(doc))


def test_job_cluster_carries_parent_labels_and_mode() -> None:
    cluster = submitter.build_job_cluster(_job(), cluster_name="job-abcde", job_id="job-xyz", settings=SETTINGS)
    assert cluster["metadata"]["name"] == "job-abcde"
    assert cluster["metadata"]["labels"] == {
        "team": "a",
        "ray.io/originated-from-cr-name": "job",
        "ray.io/originated-from-crd": "RayJob",
        "ray.io/job-submission-mode": "K8sJobMode",
    }
    assert cluster["metadata"]["ownerReferences"][0]["kind"] == "RayJob"


def test_submitter_command_line_is_kuberays() -> None:
    job = _job(runtimeEnvYAML="pip: [requests]\n", entrypointNumCpus=1.0, metadata={"k": "v"})
    line = submitter.submit_command(job, dashboard_url="h:8265", job_id="id1", sidecar=False)
    assert line.startswith("until python -c ")
    assert (
        ' ; do echo "Waiting for Ray Dashboard GCS to become healthy at http://h:8265 ..." ; sleep 2 ; done ; ' in line
    )
    assert (
        "if ! ray job status --address http://h:8265 id1 >/dev/null 2>&1 ; then ray job submit --address "
        'http://h:8265 --no-wait --runtime-env-json "{\\"pip\\":[\\"requests\\"]}" --metadata-json '
        '"{\\"k\\":\\"v\\"}" --submission-id id1 --entrypoint-num-cpus 1.000000 -- python main.py ; fi ; '
        "ray job logs --address http://h:8265 --follow id1"
    ) in line


def test_submitter_job_defaults() -> None:
    job = submitter.build_submitter_job(
        _job(), head_image="ray:x", dashboard_url="h:8265", job_id="id1", settings=SETTINGS, backoff_limit=2
    )
    assert job["metadata"]["name"] == "job"
    assert job["metadata"]["labels"]["app.kubernetes.io/created-by"] == "kuberay-operator"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["restartPolicy"] == "Never"
    assert container["name"] == "ray-job-submitter" and container["command"] == ["/bin/bash", "-ce", "--"]
    assert [e["name"] for e in container["env"]] == [
        "PYTHONUNBUFFERED",
        "RAY_DASHBOARD_ADDRESS",
        "RAY_JOB_SUBMISSION_ID",
    ]
    assert job["spec"]["backoffLimit"] == 2


def test_service_cluster_annotations() -> None:
    doc = {"metadata": {"name": "svc", "namespace": "ns", "uid": "u"}, "spec": {"rayClusterConfig": CLUSTER_SPEC}}
    svc = apply_crd_defaults(RayService.model_validate(doc))
    cluster = parents.build_service_cluster(svc, cluster_name="svc-abcde", settings=SETTINGS)
    annotations = cluster["metadata"]["annotations"]
    assert annotations["ray.io/num-worker-groups"] == "0"
    assert annotations["ray.io/kuberay-version"] == "v1.7.0"
    assert len(annotations["ray.io/hash-without-replicas-and-workers-to-delete"]) == 32


def test_cron_rayjob_is_named_after_the_tick_minute() -> None:
    doc = {
        "metadata": {"name": "cron", "namespace": "ns", "uid": "u"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"entrypoint": "x", "rayClusterSpec": CLUSTER_SPEC}},
    }
    cron = RayCronJob.model_validate(doc)
    job = parents.build_cron_rayjob(cron, scheduled=datetime(2025, 1, 1, 0, 1, tzinfo=UTC))
    assert job["metadata"]["name"] == "cron-28928161"
    assert job["metadata"]["labels"] == {"ray.io/cronjob-name": "cron"}
    assert job["metadata"]["annotations"] == {"ray.io/cronjob-scheduled-timestamp": "2025-01-01T00:01:00Z"}


def test_desired_job_k8s_job_mode_runs_the_head_image_against_its_own_cluster() -> None:
    from raykube.builders.job import desired_job

    desired = desired_job(_job(), SETTINGS, cluster_name="job-abcde", job_id="job-xyz")
    assert [o["kind"] for o in desired.objects()] == ["RayCluster", "Job"]
    assert desired.submitter is not None
    container = desired.submitter["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ray:x"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["RAY_DASHBOARD_ADDRESS"] == "job-abcde-head-svc.ns.svc.cluster.local:8265"


def test_desired_job_sidecar_mode_has_no_submitter_job_and_selector_mode_no_cluster() -> None:
    from raykube.builders.job import desired_job

    sidecar = desired_job(_job(submissionMode="SidecarMode"), SETTINGS, cluster_name="job-abcde", job_id="j")
    assert sidecar.submitter is None and sidecar.cluster is not None
    head = sidecar.cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in head] == ["h", "ray-job-submitter"]
    selected = desired_job(
        _job(rayClusterSpec=None, clusterSelector={"ray.io/cluster": "shared"}), SETTINGS, cluster_name="", job_id="j"
    )
    assert selected.cluster is None and selected.submitter is not None
