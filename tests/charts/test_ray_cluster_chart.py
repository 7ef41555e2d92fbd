"""The ray-cluster chart against KubeRay's ray-cluster values files of v1.3.0 and v1.7.0.

* Our published default values are KubeRay's, key for key and value for value (one documented exception).
* KubeRay's values files, unchanged, render the RayCluster `raycluster-kuberay` with the head and worker
  groups, images, resources and rayStartParams they ask for; so does the walkthrough's `--set image.tag`.
* Every key of KubeRay's values files (and the keys its template reads without listing them) lands where
  KubeRay's chart puts it; a key the test does not know fails the test, so a new KubeRay key is noticed.
* Rendered clusters pass `raykube render` (the operator's own validation and builders).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from raykube.cli.main import app
from raykube.local.charts.repo import publications
from tests.charts.helm import (
    CLUSTER_CHART,
    KUBERAY_VERSIONS,
    kuberay_values,
    only,
    template,
    write_values,
)
from tests.unit.api.upstream import requires_reference

pytestmark = requires_reference

RELEASE = "raycluster"
NAMESPACE = "kuberay"
WALKTHROUGH_TAG = "2.46.0-py310-aarch64"


def _published_values(version: str) -> dict[str, Any]:
    """The default values of the ray-cluster chart we publish as `version` (e.g. "1.3.0")."""
    pub = next(p for p in publications() if p.chart == "ray-cluster" and p.version == version)
    return dict(yaml.safe_load((pub.values or CLUSTER_CHART / "values.yaml").read_text()))


def _cluster(docs: list[dict[str, Any]]) -> dict[str, Any]:
    assert [d["kind"] for d in docs] == ["RayCluster"], "the chart renders exactly one RayCluster"
    return docs[0]


def _groups(cluster: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["groupName"]: g for g in cluster["spec"].get("workerGroupSpecs") or []}


def _ray_container(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["spec"]["containers"][0])


@pytest.mark.parametrize("version", KUBERAY_VERSIONS)
def test_published_defaults_are_kuberays(version: str) -> None:
    ours = _published_values(version.lstrip("v"))
    theirs = yaml.safe_load(kuberay_values("ray-cluster", version).read_text())
    # The one difference: KubeRay 1.3.0 wrote `topologySpreadConstraints: {}`; ours is `[]` (both: none),
    # so that Helm does not warn when a 1.7.0-style values file is installed with --version 1.3.0.
    for group in (theirs["head"], theirs["worker"], *theirs["additionalWorkerGroups"].values()):
        if group.get("topologySpreadConstraints") == {}:
            group["topologySpreadConstraints"] = []
    assert ours == theirs


@pytest.mark.parametrize("version", KUBERAY_VERSIONS)
def test_kuberay_values_file_renders_what_it_asks_for(version: str) -> None:
    path = kuberay_values("ray-cluster", version)
    values = yaml.safe_load(path.read_text())
    cluster = _cluster(template(CLUSTER_CHART, RELEASE, namespace=NAMESPACE, values=[path]))
    assert cluster["apiVersion"] == "ray.io/v1"
    assert cluster["metadata"]["name"] == "raycluster-kuberay"
    assert cluster["metadata"]["labels"] == {
        "helm.sh/chart": "ray-cluster-1.7.0",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/managed-by": "Helm",
    }
    spec = cluster["spec"]
    assert "rayVersion" not in spec and "enableInTreeAutoscaling" not in spec
    image = f"{values['image']['repository']}:{values['image']['tag']}"

    head = spec["headGroupSpec"]
    assert head["serviceType"] == "ClusterIP"
    assert head["rayStartParams"] == {}
    container = _ray_container(head["template"])
    assert container["name"] == "ray-head"
    assert container["image"] == image and container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == values["head"]["resources"]
    assert container["volumeMounts"] == values["head"]["volumeMounts"]
    assert head["template"]["spec"]["volumes"] == values["head"]["volumes"]
    assert "serviceAccountName" not in head["template"]["spec"]

    groups = _groups(cluster)
    assert list(groups) == ["workergroup"], "smallGroup is disabled by default"
    worker = groups["workergroup"]
    for key in ("replicas", "minReplicas", "maxReplicas"):
        assert worker[key] == values["worker"][key]
    assert worker["numOfHosts"] == 1
    assert worker["rayStartParams"] == {}
    container = _ray_container(worker["template"])
    assert container["name"] == "ray-worker"
    assert container["image"] == image
    assert container["resources"] == values["worker"]["resources"]


@pytest.mark.parametrize("version", KUBERAY_VERSIONS)
def test_walkthrough_install_sets_every_ray_image(version: str, tmp_path: Path) -> None:
    """`helm install raycluster kuberay/ray-cluster --set image.tag=... -f values.yaml`, memory edited."""
    values = yaml.safe_load(kuberay_values("ray-cluster", version).read_text())
    values["additionalWorkerGroups"]["smallGroup"]["disabled"] = False
    for group in (values["head"], values["worker"], values["additionalWorkerGroups"]["smallGroup"]):
        group["resources"]["limits"]["memory"] = group["resources"]["requests"]["memory"] = "2G"
    path = write_values(tmp_path / "values.yaml", values)
    cluster = _cluster(template(CLUSTER_CHART, RELEASE, namespace=NAMESPACE, values=[path],
                                sets=[f"image.tag={WALKTHROUGH_TAG}"]))
    templates = [cluster["spec"]["headGroupSpec"]["template"], *(g["template"] for g in _groups(cluster).values())]
    assert [_ray_container(t)["image"] for t in templates] == [f"rayproject/ray:{WALKTHROUGH_TAG}"] * 3
    assert {_ray_container(t)["resources"]["limits"]["memory"] for t in templates} == {"2G"}
    # KubeRay's chart order: enabled additional groups (sorted by name) first, then the default group.
    assert list(_groups(cluster)) == ["smallGroup", "workergroup"]


# --- every key -----------------------------------------------------------------------------------------------

#: A distinctive value for every key a group takes (head, worker and additional groups).
GROUP_SAMPLES: dict[str, Any] = {
    "labels": {"team": "ray"},
    "serviceAccountName": "ray-sa",
    "restartPolicy": "Never",
    "runtimeClassName": "gvisor",
    "rayStartParams": {"num-cpus": 3, "block": True, "dashboard-host": "0.0.0.0"},
    "initArgs": {"object-store-memory": 100000000},
    "containerEnv": [{"name": "GROUP_ENV", "value": "1"}],
    "envFrom": [{"secretRef": {"name": "env-secret"}}],
    "ports": [{"name": "client", "containerPort": 10001}],
    "resources": {"limits": {"cpu": "2", "memory": "3G"}, "requests": {"cpu": "2", "memory": "3G"}},
    "resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu-claim"}],
    "annotations": {"note": "sample"},
    "nodeSelector": {"disk": "ssd"},
    "tolerations": [{"key": "ray", "operator": "Exists", "effect": "NoSchedule"}],
    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "podAffinityTerm": {"topologyKey": "zone", "labelSelector": {"matchLabels": {"a": "b"}}}}]}},
    "podSecurityContext": {"runAsUser": 1000, "fsGroup": 100},
    "securityContext": {"allowPrivilegeEscalation": False},
    "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}],
    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    "sidecarContainers": [{"name": "logger", "image": "busybox:1.36"}],
    "command": ["/bin/bash", "-c"],
    "args": ["echo hi"],
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}],
    "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
    "dnsConfig": {"nameservers": ["10.0.0.10"], "options": [{"name": "ndots", "value": "2"}]},
    "lifecycle": {"preStop": {"exec": {"command": ["ray", "stop"]}}},
    "priorityClassName": "high",
    "priority": 10,
    "image": {"repository": "example/ray", "tag": "group-tag", "pullPolicy": "Always"},
}
HEAD_SAMPLES: dict[str, Any] = {
    "headService": {"metadata": {"annotations": {"prometheus.io/scrape": "true"}}},
    "rayVersion": "2.46.0",
    "enableInTreeAutoscaling": True,
    "autoscalerOptions": {"upscalingMode": "Default", "idleTimeoutSeconds": 60},
}
WORKER_SAMPLES: dict[str, Any] = {
    "groupName": "cpu",
    "disabled": False,
    "replicas": 2,
    "minReplicas": 1,
    "maxReplicas": 4,
    "numOfHosts": 1,
}
TOP_SAMPLES: dict[str, Any] = {
    "image": {"repository": "example/top", "tag": "top-tag", "pullPolicy": "Never"},
    "nameOverride": "sample",
    "fullnameOverride": "",
    "imagePullSecrets": [{"name": "pull-secret"}],
    "gcsFaultTolerance": {
        "enabled": True,
        "redisAddress": "redis:6379",
        "externalStorageNamespace": "storage-ns",
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": "redis", "key": "password"}}},
        "redisUsername": "default",
    },
    "common": {"containerEnv": [{"name": "COMMON_ENV", "value": "c"}]},
    "service": {"type": "NodePort"},
    "annotations": {"owner": "team-ray"},
}
#: Where a group key shows up: in the group spec, the pod template's spec or metadata, or the Ray container.
POD_SPEC_KEYS = {"serviceAccountName", "restartPolicy", "runtimeClassName", "resourceClaims", "nodeSelector",
                 "tolerations", "affinity", "volumes", "topologySpreadConstraints", "initContainers", "dnsConfig",
                 "priorityClassName", "priority"}
CONTAINER_KEYS = {"envFrom", "ports", "resources", "securityContext", "volumeMounts", "command", "args", "lifecycle"}


def _all_keys_values(kuberay: dict[str, Any]) -> dict[str, Any]:
    """KubeRay's values with every key set to a sample (the smallGroup enabled)."""
    values = copy.deepcopy(kuberay)
    values.update(copy.deepcopy(TOP_SAMPLES))
    values["head"].update(copy.deepcopy(GROUP_SAMPLES) | copy.deepcopy(HEAD_SAMPLES))
    values["worker"].update(copy.deepcopy(GROUP_SAMPLES) | copy.deepcopy(WORKER_SAMPLES))
    values["worker"].pop("image")  # the default group takes the top-level image
    small = values["additionalWorkerGroups"]["smallGroup"]
    small.update(copy.deepcopy(GROUP_SAMPLES) | {"disabled": False, "replicas": 1, "minReplicas": 0, "maxReplicas": 2})
    return values


@pytest.mark.parametrize("version", KUBERAY_VERSIONS)
def test_the_test_knows_every_kuberay_key(version: str) -> None:
    kuberay = yaml.safe_load(kuberay_values("ray-cluster", version).read_text())
    known_top = set(TOP_SAMPLES) | {"head", "worker", "additionalWorkerGroups"}
    assert set(kuberay) <= known_top, f"unknown top-level keys: {set(kuberay) - known_top}"
    assert set(kuberay["head"]) <= set(GROUP_SAMPLES) | set(HEAD_SAMPLES)
    assert set(kuberay["worker"]) <= set(GROUP_SAMPLES) | set(WORKER_SAMPLES)
    for group in kuberay["additionalWorkerGroups"].values():
        assert set(group) <= set(GROUP_SAMPLES) | set(WORKER_SAMPLES)


def _string_params(*maps: dict[str, Any]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for params in maps:
        merged.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()})
    return merged


def _check_group(group_spec: dict[str, Any], samples: dict[str, Any], image: dict[str, Any], container_name: str,
                 ) -> None:
    template_ = group_spec["template"]
    pod_spec, meta = template_["spec"], template_["metadata"]
    container = _ray_container(template_)
    assert container["name"] == container_name
    for key, value in samples.items():
        if key in POD_SPEC_KEYS:
            assert pod_spec[key] == value, key
        elif key in CONTAINER_KEYS:
            assert container[key] == value, key
    assert pod_spec["securityContext"] == samples["podSecurityContext"]
    assert pod_spec["imagePullSecrets"] == TOP_SAMPLES["imagePullSecrets"]
    assert meta["annotations"] == samples["annotations"]
    assert meta["labels"] == {
        **samples["labels"],
        "helm.sh/chart": "ray-cluster-1.7.0",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/managed-by": "Helm",
    }
    assert container["env"] == TOP_SAMPLES["common"]["containerEnv"] + samples["containerEnv"]
    assert template_["spec"]["containers"][1:] == samples["sidecarContainers"]
    assert group_spec["rayStartParams"] == _string_params(samples["rayStartParams"], samples["initArgs"])
    assert container["image"] == f"{image['repository']}:{image['tag']}"
    assert container["imagePullPolicy"] == image["pullPolicy"]


@pytest.mark.parametrize("version", KUBERAY_VERSIONS)
def test_every_key_lands_where_kuberays_chart_puts_it(version: str, tmp_path: Path) -> None:
    kuberay = yaml.safe_load(kuberay_values("ray-cluster", version).read_text())
    values = _all_keys_values(kuberay)
    path = write_values(tmp_path / "all.yaml", values)
    cluster = _cluster(template(CLUSTER_CHART, RELEASE, namespace=NAMESPACE,
                                values=[kuberay_values("ray-cluster", version), path]))
    assert cluster["metadata"]["name"] == "raycluster-sample"  # nameOverride
    assert cluster["metadata"]["annotations"] == TOP_SAMPLES["annotations"]
    spec = cluster["spec"]
    assert spec["rayVersion"] == "2.46.0"
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"] == HEAD_SAMPLES["autoscalerOptions"]
    assert spec["gcsFaultToleranceOptions"] == {
        "redisAddress": "redis:6379",
        "externalStorageNamespace": "storage-ns",
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": "redis", "key": "password"}}},
        "redisUsername": {"value": "default"},
    }
    head = spec["headGroupSpec"]
    assert head["serviceType"] == "NodePort"
    assert head["headService"] == HEAD_SAMPLES["headService"]
    _check_group(head, GROUP_SAMPLES, GROUP_SAMPLES["image"], "ray-head")

    assert [g["groupName"] for g in spec["workerGroupSpecs"]] == ["smallGroup", "cpu"]
    small, worker = spec["workerGroupSpecs"]
    _check_group(worker, GROUP_SAMPLES, TOP_SAMPLES["image"], "ray-worker")
    assert {k: worker[k] for k in ("replicas", "minReplicas", "maxReplicas", "numOfHosts")} == {
        "replicas": 2, "minReplicas": 1, "maxReplicas": 4, "numOfHosts": 1}
    _check_group(small, GROUP_SAMPLES, GROUP_SAMPLES["image"], "ray-worker")
    assert {k: small[k] for k in ("replicas", "minReplicas", "maxReplicas", "numOfHosts")} == {
        "replicas": 1, "minReplicas": 0, "maxReplicas": 2, "numOfHosts": 1}


def test_names_follow_helms_fullname_rule() -> None:
    def name(release: str, *sets: str) -> str:
        return str(_cluster(template(CLUSTER_CHART, release, sets=sets))["metadata"]["name"])

    assert name("raycluster") == "raycluster-kuberay"
    assert name("my-kuberay") == "my-kuberay"  # the release already contains the name
    assert name("raycluster", "fullnameOverride=exact") == "exact"
    assert name("rc", "nameOverride=") == "rc-ray-cluster"


def test_defaults_for_optional_group_keys(tmp_path: Path) -> None:
    """A group with only replicas: bounds default like KubeRay's (0 .. 2^31-1), resources 1 CPU / 1G."""
    path = write_values(tmp_path / "v.yaml", {"additionalWorkerGroups": {"gpu": {"replicas": 1}}})
    groups = _groups(_cluster(template(CLUSTER_CHART, RELEASE, values=[path])))
    gpu = groups["gpu"]
    assert (gpu["minReplicas"], gpu["maxReplicas"], gpu["numOfHosts"]) == (0, 2147483647, 1)
    assert _ray_container(gpu["template"])["resources"] == {
        "limits": {"cpu": "1", "memory": "1G"}, "requests": {"cpu": "1", "memory": "1G"}}
    assert list(groups) == ["gpu", "workergroup"]


def test_disabled_default_group_and_string_disabled(tmp_path: Path) -> None:
    path = write_values(tmp_path / "v.yaml", {"worker": {"disabled": "true"},
                                              "additionalWorkerGroups": {"smallGroup": {"disabled": "false"}}})
    assert list(_groups(_cluster(template(CLUSTER_CHART, RELEASE, values=[path])))) == ["smallGroup"]


@pytest.mark.parametrize("version", KUBERAY_VERSIONS)
@pytest.mark.parametrize("variant", ["defaults", "all-keys"])
def test_rendered_cluster_passes_raykube_render(version: str, variant: str, tmp_path: Path) -> None:
    values = [kuberay_values("ray-cluster", version)]
    if variant == "all-keys":
        kuberay = yaml.safe_load(values[0].read_text())
        values.append(write_values(tmp_path / "all.yaml", _all_keys_values(kuberay)))
    cluster = only(template(CLUSTER_CHART, RELEASE, namespace=NAMESPACE, values=values), "RayCluster")
    manifest = tmp_path / "raycluster.yaml"
    manifest.write_text(yaml.safe_dump(cluster))
    result = CliRunner().invoke(app, ["render", "-f", str(manifest), "-n", NAMESPACE])
    assert result.exit_code == 0, result.output
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout) if d]
    assert kinds.count("Pod") == 1 + sum(g["replicas"] for g in cluster["spec"]["workerGroupSpecs"])
    assert "Service" in kinds
