"""`raykube job`: the RayJob it builds, the working directory as a ConfigMap or a Ray package."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import typer

from raykube.api.rayjob import RayJob
from raykube.api.validation import validate_rayjob
from raykube.cli import jobspec as job


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "main.py").write_text("print('hello')\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "util.py").write_text("X = 1\n")
    (tmp_path / "data.bin").write_bytes(b"\xff\x00\x01")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: main\n")
    return tmp_path


def test_a_new_cluster_rayjob_is_valid_and_cleans_up_after_itself() -> None:
    manifest = job.rayjob_manifest("hello", "ns", "python main.py", workers=2, head_cpu="500m")
    rayjob = RayJob.model_validate(manifest)
    assert validate_rayjob(rayjob) == []
    spec = manifest["spec"]
    assert (spec["submissionMode"], spec["shutdownAfterJobFinishes"], spec["ttlSecondsAfterFinished"]) == (
        "K8sJobMode", True, 60)
    assert spec["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 2


def test_an_existing_cluster_means_interactive_mode_with_a_cluster_selector() -> None:
    manifest = job.rayjob_manifest("hello", "ns", "python main.py", cluster="shared")
    assert manifest["spec"] == {"entrypoint": "python main.py", "submissionMode": "InteractiveMode",
                                "clusterSelector": {"ray.io/cluster": "shared"}}
    assert validate_rayjob(RayJob.model_validate(manifest)) == []


def test_the_working_directory_becomes_a_configmap_mounted_where_the_entrypoint_runs(workdir: Path) -> None:
    configmap, items = job.workdir_configmap("hello", "ns", workdir)
    assert configmap["metadata"]["name"] == "hello-workdir"
    assert configmap["data"] == {"main.py": "print('hello')\n", "pkg_util.py": "X = 1\n"}
    assert configmap["binaryData"] == {"data.bin": "/wAB"}
    assert {i["path"] for i in items} == {"main.py", "pkg/util.py", "data.bin"}  # .git is left out
    manifest = job.rayjob_manifest("hello", "ns", "python main.py")
    job.mount_workdir(manifest, "hello-workdir", items)
    assert manifest["spec"]["entrypoint"] == "cd /home/ray/workdir && python main.py"
    pod = manifest["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == "hello-workdir"
    assert pod["containers"][0]["volumeMounts"] == [{"name": "workdir", "mountPath": "/home/ray/workdir"}]


def test_a_working_directory_too_big_for_a_configmap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * (job.WORKDIR_LIMIT + 1))
    with pytest.raises(typer.BadParameter):
        job.workdir_configmap("hello", "ns", tmp_path)


def test_the_ray_package_is_a_reproducible_zip(workdir: Path) -> None:
    uri, data = job.workdir_package(workdir)
    assert uri.startswith("gcs://_ray_pkg_") and uri.endswith(".zip")
    assert job.workdir_package(workdir) == (uri, data)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(names) == ["data.bin", "main.py", "pkg/util.py"]
