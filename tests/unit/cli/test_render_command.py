"""`raykube render` as a command: errors name the field and exit 1, other kinds are skipped with a note."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from raykube.cli.main import app
from tests.builders import RayClusterBuilder, make_raycluster

RUNNER = CliRunner()


def _cluster(name: str = "rc", *, min_replicas: int = 0) -> RayClusterBuilder:
    return (
        make_raycluster(name)
        .ray_version("2.52.0")
        .image("ray:x")
        .head(container="ray-head")
        .worker_group("wg", replicas=2, min_replicas=min_replicas, max_replicas=3, container="ray-worker")
    )


CLUSTER = _cluster().yaml()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.yaml"
    path.write_text(text)
    return path


def _docs(output: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(output) if d]


def test_cluster_renders_head_replicas_and_service(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["render", "-f", str(_write(tmp_path, CLUSTER))])
    assert result.exit_code == 0, result.output
    kinds = [d["kind"] for d in _docs(result.stdout)]
    assert kinds == ["Service", "Pod", "Pod", "Pod"]  # KubeRay's order: Services before pods


def test_other_kinds_are_skipped_with_a_note(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\n" + CLUSTER
    result = RUNNER.invoke(app, ["render", "-f", str(_write(tmp_path, text))])
    assert result.exit_code == 0
    assert "skipped ConfigMap" in result.stderr
    assert "ConfigMap" not in result.stdout


def test_invalid_spec_names_the_field_and_exits_1(tmp_path: Path) -> None:
    bad = _cluster(min_replicas=5).yaml()
    result = RUNNER.invoke(app, ["render", "-f", str(_write(tmp_path, bad))])
    assert result.exit_code == 1
    assert "spec.workerGroupSpecs[0]" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_schema_error_names_the_field(tmp_path: Path) -> None:
    manifest = _cluster().json()
    manifest["spec"]["workerGroupSpecs"][0]["replicas"] = "two"
    result = RUNNER.invoke(app, ["render", "-f", str(_write(tmp_path, yaml.safe_dump(manifest)))])
    assert result.exit_code == 1
    assert "spec.workerGroupSpecs.0.replicas" in result.stderr


def test_settings_file_switches_are_applied(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("ENABLE_DETERMINISTIC_HEAD_POD_NAME: 'true'\nCLUSTER_DOMAIN: example.org\n")
    result = RUNNER.invoke(app, ["render", "-f", str(_write(tmp_path, CLUSTER)), "--settings", str(settings)])
    head = next(d for d in _docs(result.stdout) if d["kind"] == "Pod")
    assert head["metadata"]["name"] == "rc-head"  # type: ignore[index]
    assert "rc-head-svc.default.svc.example.org" in result.stdout


def test_unknown_setting_is_an_error(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("ENABLE_EVERYTHING: 'true'\n")
    result = RUNNER.invoke(app, ["render", "-f", str(_write(tmp_path, CLUSTER)), "--settings", str(settings)])
    assert result.exit_code == 1
    assert "ENABLE_EVERYTHING" in result.stderr


def test_long_cluster_name_truncates_pod_prefixes(tmp_path: Path) -> None:
    name = "a" * 53
    result = RUNNER.invoke(app, ["render", "-f", str(_write(tmp_path, _cluster(name).yaml()))])
    assert result.exit_code == 0, result.stderr
    pods = [d for d in _docs(result.stdout) if d["kind"] == "Pod"]
    assert pods[0]["metadata"]["generateName"] == "a" * 50 + "-head-"  # type: ignore[index]
    assert pods[1]["metadata"]["generateName"] == "a" * 50 + "-worker-"  # type: ignore[index]
