"""Sidecar builders read the pod they are given and return what to add; only `sidecars.apply` writes it."""

from __future__ import annotations

import copy
from typing import Any

from raykube import reasons
from raykube.api.cluster_options import AuthOptions
from raykube.builders import sidecars
from tests.unit.builders.conftest import make_cluster


def _pod(ray_env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ray: dict[str, Any] = {"name": "ray-head", "image": "ray:x"}
    if ray_env is not None:
        ray["env"] = ray_env
    init = {"name": sidecars.WAIT_GCS_READY, "image": "ray:x"}
    return {"metadata": {}, "spec": {"containers": [ray], "initContainers": [init]}}


def _names(container: dict[str, Any]) -> list[str]:
    return [e["name"] for e in container.get("env", [])]


def test_auth_additions_leave_the_pod_unchanged_until_applied() -> None:
    pod = _pod()
    before = copy.deepcopy(pod)
    additions = sidecars.auth_additions(pod, "rc", AuthOptions(mode="token"))
    assert pod == before
    sidecars.apply(pod, additions)
    assert _names(pod["spec"]["containers"][0]) == ["RAY_AUTH_MODE", "RAY_AUTH_TOKEN"]
    assert _names(pod["spec"]["initContainers"][0]) == ["RAY_AUTH_MODE", "RAY_AUTH_TOKEN"]


def test_auth_additions_skip_env_the_container_declares() -> None:
    pod = _pod([{"name": "RAY_AUTH_MODE", "value": "token"}, {"name": "RAY_AUTH_TOKEN", "value": "mine"}])
    additions = sidecars.auth_additions(pod, "rc", AuthOptions(mode="token"))
    assert sidecars.RAY not in additions.env
    sidecars.apply(pod, additions)
    assert _env_value(pod["spec"]["containers"][0], "RAY_AUTH_TOKEN") == "mine"


def test_k8s_token_auth_adds_the_projected_volume_and_its_mount_once() -> None:
    pod = _pod()
    options = AuthOptions(mode="token", enable_k8s_token_auth=True)
    sidecars.apply(pod, sidecars.auth_additions(pod, "rc", options))
    sidecars.apply(pod, sidecars.auth_additions(pod, "rc", options))  # a second pass adds nothing
    assert [v["name"] for v in pod["spec"]["volumes"]] == [sidecars.RAY_TOKEN_VOLUME]
    assert [m["name"] for m in pod["spec"]["containers"][0]["volumeMounts"]] == [sidecars.RAY_TOKEN_VOLUME]
    assert _names(pod["spec"]["containers"][0]) == ["RAY_AUTH_MODE", "RAY_ENABLE_K8S_TOKEN_AUTH"]


def test_gcs_ft_additions_on_the_head_leave_the_pod_unchanged() -> None:
    spec = make_cluster(gcsFaultToleranceOptions={"redisAddress": "redis:6379"}).spec
    pod = _pod()
    before = copy.deepcopy(pod)
    additions = sidecars.gcs_ft_additions(pod, spec, {}, node="head", cluster_meta={"uid": "u1"}, ft_enabled=True)
    assert pod == before
    assert additions.annotations == {
        reasons.ANNOTATION_FT_ENABLED: "true",
        reasons.ANNOTATION_EXTERNAL_STORAGE_NAMESPACE: "u1",
    }
    sidecars.apply(pod, additions)
    assert _env_value(pod["spec"]["containers"][0], reasons.ENV_RAY_REDIS_ADDRESS) == "redis:6379"
    assert pod["metadata"]["annotations"] == additions.annotations


def test_gcs_ft_off_only_annotates_the_head() -> None:
    spec = make_cluster().spec
    additions = sidecars.gcs_ft_additions(_pod(), spec, {}, node="head", cluster_meta={}, ft_enabled=False)
    assert additions == sidecars.PodAdditions(annotations={reasons.ANNOTATION_FT_ENABLED: "false"})


def _env_value(container: dict[str, Any], name: str) -> Any:
    return next(e.get("value") for e in container["env"] if e["name"] == name)
