"""The `ray start` command line, byte for byte as KubeRay renders it."""

from __future__ import annotations

import pytest

from raykube.builders import raystart


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"block": "true"}, " --block ", id="true-is-a-bare-flag"),
        pytest.param({"block": "True"}, " --block ", id="true-any-case"),
        pytest.param({"disable-usage-stats": "false"}, "", id="false-is-dropped"),
        pytest.param({"log-color": "false"}, " --log-color=false ", id="log-color-keeps-false"),
        pytest.param({"include-dashboard": "false"}, " --include-dashboard=false ", id="include-dashboard-keeps-false"),
        pytest.param({"num-cpus": "2", "block": "true"}, " --block  --num-cpus=2 ", id="sorted-double-spaced"),
    ],
)
def test_flags_render_like_kuberay(params: dict[str, str], expected: str) -> None:
    assert raystart.render_flags(params) == expected


def test_head_and_worker_prefixes_keep_the_double_space() -> None:
    assert raystart.render("head", {"block": "true"}) == "ray start --head  --block "
    assert raystart.render("worker", {"block": "true"}) == "ray start  --block "


def test_block_is_forced_even_when_the_user_says_false() -> None:
    params = raystart.with_missing_defaults({"block": "false"}, "head", address="")
    assert params["block"] == "true"


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param({"limits": {"cpu": "500m"}}, {"num-cpus": "1"}, id="cpu-rounds-up"),
        pytest.param({"requests": {"cpu": "2"}}, {"num-cpus": "2"}, id="cpu-falls-back-to-request"),
        pytest.param({"requests": {"memory": "1Gi"}}, {}, id="memory-only-from-limit"),
        pytest.param({"limits": {"memory": "1Gi"}}, {"memory": "1073741824"}, id="memory-in-bytes"),
        pytest.param({"limits": {"nvidia.com/gpu": "2"}}, {"num-gpus": "2"}, id="gpu"),
        pytest.param({"limits": {"nvidia.com/mig-1g.5gb": "1"}}, {"num-gpus": "1"}, id="mig-slice"),
        pytest.param({"limits": {"google.com/tpu": "4"}}, {"resources": "'{\"TPU\":4}'"}, id="tpu-resource"),
        pytest.param(
            {"limits": {"aws.amazon.com/neuroncore": "2"}}, {"resources": "'{\"neuron_cores\":2}'"}, id="neuron"
        ),
    ],
)
def test_container_resources_become_params(resources: dict[str, dict[str, str]], expected: dict[str, str]) -> None:
    assert raystart.with_container_resources({}, resources) == expected


def test_user_params_win_over_container_resources() -> None:
    params = raystart.with_container_resources({"num-cpus": "0"}, {"limits": {"cpu": "4"}})
    assert params == {"num-cpus": "0"}


def test_group_resources_override_start_params() -> None:
    params = raystart.with_group_resources({"num-cpus": "8"}, {"cpu": "2", "memory": "1Gi", "custom": "0.5"})
    assert params == {"num-cpus": "2", "memory": "1073741824", "resources": "'{\"custom\":0.5}'"}


def test_group_labels_are_sorted_into_one_flag() -> None:
    assert raystart.with_group_labels({}, {"zone": "a", "accel": "tpu"}) == {"labels": "accel=tpu,zone=a"}


def test_worker_address_defaults_to_the_head_service() -> None:
    params = raystart.with_missing_defaults({}, "worker", address="h.ns.svc.cluster.local:6379")
    assert params["address"] == "h.ns.svc.cluster.local:6379"
    assert "dashboard-host" not in params
