"""KubeRay facts about the pods and Services built for upstream samples and small clusters."""

from __future__ import annotations

from typing import Any

import pytest

from raykube.api.raycluster import RayCluster
from raykube.builders.cluster import DesiredCluster, desired_cluster
from raykube.builders.settings import OperatorSettings, settings_from_mapping
from raykube.cli.render import plan_new_cluster
from tests.unit.builders.conftest import make_cluster, sample_cluster

DEFAULTS = OperatorSettings()
FQDN = "raycluster-kuberay-head-svc.default.svc.cluster.local"


def _desired(rc: RayCluster, settings: OperatorSettings) -> DesiredCluster:
    """What the operator's first pass creates for ``rc``."""
    return desired_cluster(rc, settings, auth_token="token", pods=plan_new_cluster(rc))


def _child(desired: DesiredCluster, kind: str, name_suffix: str = "") -> dict[str, Any] | None:
    found = [o for o in desired.children if o["kind"] == kind and o["metadata"]["name"].endswith(name_suffix)]
    assert len(found) <= 1
    return found[0] if found else None


def _head(desired: DesiredCluster) -> dict[str, Any]:
    """The head pod of a cluster whose first pass creates one."""
    assert desired.head_pod is not None
    return desired.head_pod


def _head_service(desired: DesiredCluster) -> dict[str, Any]:
    svc = _child(desired, "Service", "-head-svc")
    assert svc is not None
    return svc


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_sample_head_ray_start_string_is_exact() -> None:
    head = _head(_desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS))
    ray = head["spec"]["containers"][0]
    expected = (
        "ray start --head  --block  --dashboard-agent-listen-port=52365  --dashboard-host=0.0.0.0  "
        "--memory=5368709120  --metrics-export-port=8080  --num-cpus=1 "
    )
    assert _env(ray)["KUBERAY_GEN_RAY_START_CMD"] == expected
    assert ray["command"] == ["/bin/bash", "-c", "--"]
    assert ray["args"] == [f"ulimit -n ${{RAY_START_ULIMIT_OPEN_FILES:-65536}}; {expected}"]


def test_sample_worker_ray_start_string_is_exact() -> None:
    worker = _desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS).worker_pods[0][1]
    expected = (
        f"ray start  --address={FQDN}:6379  --block  --dashboard-agent-listen-port=52365  "
        "--memory=1073741824  --metrics-export-port=8080  --num-cpus=1 "
    )
    assert _env(worker["spec"]["containers"][0])["KUBERAY_GEN_RAY_START_CMD"] == expected


def test_pod_labels_and_generate_names() -> None:
    children = _desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS)
    head, worker = _head(children)["metadata"], children.worker_pods[0][1]["metadata"]
    assert head["generateName"] == "raycluster-kuberay-head-"
    assert worker["generateName"] == "raycluster-kuberay-workergroup-worker-"
    assert head["labels"] == {
        "ray.io/is-ray-node": "yes",
        "ray.io/cluster": "raycluster-kuberay",
        "ray.io/node-type": "head",
        "ray.io/group": "headgroup",
        "ray.io/identifier": "raycluster-kuberay-head",
        "app.kubernetes.io/name": "kuberay",
        "app.kubernetes.io/created-by": "kuberay-operator",
    }
    assert worker["labels"]["ray.io/group"] == "workergroup"
    assert worker["labels"]["ray.io/identifier"] == "raycluster-kuberay-worker"
    assert len(children.worker_pods) == 1


def test_user_labels_cannot_override_cluster_group_or_node_type() -> None:
    labels = {"ray.io/cluster": "x", "ray.io/group": "x", "ray.io/node-type": "x", "team": "a"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "h", "image": "i"}]}}
    rc = make_cluster(headGroupSpec={"rayStartParams": {}, "template": template})
    got = _head(_desired(rc, DEFAULTS))["metadata"]["labels"]
    assert (got["ray.io/cluster"], got["ray.io/group"], got["ray.io/node-type"], got["team"]) == (
        "rc",
        "headgroup",
        "head",
        "a",
    )


def test_worker_env_order_and_field_refs() -> None:
    worker = _desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS).worker_pods[0][1]
    env = worker["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == [
        "FQ_RAY_IP",
        "RAY_IP",
        "RAY_CLUSTER_NAME",
        "RAY_CLUSTER_NAMESPACE",
        "RAY_CLOUD_INSTANCE_ID",
        "RAY_NODE_TYPE_NAME",
        "KUBERAY_GEN_RAY_START_CMD",
        "RAY_PORT",
        "RAY_ADDRESS",
        "RAY_USAGE_STATS_KUBERAY_IN_USE",
        "RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE",
    ]
    values = _env(worker["spec"]["containers"][0])
    assert values["RAY_CLUSTER_NAME"] == {"fieldRef": {"fieldPath": "metadata.labels['ray.io/cluster']"}}
    assert values["RAY_NODE_TYPE_NAME"] == {"fieldRef": {"fieldPath": "metadata.labels['ray.io/group']"}}
    assert values["RAY_CLOUD_INSTANCE_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert values["RAY_IP"] == "raycluster-kuberay-head-svc"
    assert values["RAY_ADDRESS"] == f"{FQDN}:6379"


def test_head_env_stamps_the_kuberay_version_and_local_address() -> None:
    head = _head(_desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS))
    values = _env(head["spec"]["containers"][0])
    assert values["RAY_ADDRESS"] == "127.0.0.1:6379"
    assert values["RAY_USAGE_STATS_EXTRA_TAGS"] == "kuberay_version=v1.7.0;kuberay_crd=RayCluster"
    assert "FQ_RAY_IP" not in values
    assert head["metadata"]["annotations"]["ray.io/kuberay-version"] == "v1.7.0"
    assert head["metadata"]["annotations"]["ray.io/ft-enabled"] == "false"


def test_shared_memory_is_sized_from_the_memory_limit() -> None:
    head = _head(_desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS))
    assert head["spec"]["volumes"] == [{"name": "shared-mem", "emptyDir": {"medium": "Memory", "sizeLimit": "5Gi"}}]
    assert {"mountPath": "/dev/shm", "name": "shared-mem"} in head["spec"]["containers"][0]["volumeMounts"]


def test_plasma_directory_skips_shared_memory() -> None:
    rc = make_cluster()
    spec = rc.spec.model_copy(deep=True)
    spec.head_group_spec.ray_start_params = {"plasma-directory": "/tmp"}
    head = _head(_desired(rc.model_copy(update={"spec": spec}), DEFAULTS))
    assert "volumes" not in head["spec"]


def test_metrics_port_is_added_to_the_ray_container() -> None:
    head = _head(_desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS))
    assert {"name": "metrics", "containerPort": 8080} in head["spec"]["containers"][0]["ports"]


def test_worker_waits_for_gcs_with_an_init_container() -> None:
    worker = _desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS).worker_pods[0][1]
    (init,) = worker["spec"]["initContainers"]
    assert init["name"] == "wait-gcs-ready"
    assert init["command"] == ["/bin/bash", "-c", "--"]
    assert f"ray health-check --address {FQDN}:6379 > /dev/null 2>&1" in init["args"][0]
    assert init["resources"] == {
        "limits": {"cpu": "200m", "memory": "256Mi"},
        "requests": {"cpu": "200m", "memory": "256Mi"},
    }
    assert [e["name"] for e in init["env"]] == ["FQ_RAY_IP", "RAY_IP"]


@pytest.mark.parametrize(
    ("switch", "check"),
    [
        pytest.param("ENABLE_INIT_CONTAINER_INJECTION", lambda pod: "initContainers" not in pod["spec"], id="no-init"),
        pytest.param(
            "ENABLE_PROBES_INJECTION",
            lambda pod: "livenessProbe" not in pod["spec"]["containers"][0],
            id="no-probes",
        ),
    ],
)
def test_operator_switches_turn_injection_off(switch: str, check: Any) -> None:
    settings = settings_from_mapping({switch: "false"})
    worker = _desired(sample_cluster("ray-cluster.sample.yaml"), settings).worker_pods[0][1]
    assert check(worker)


def test_login_shell_switch_uses_bash_lc() -> None:
    settings = settings_from_mapping({"ENABLE_LOGIN_SHELL": "true"})
    head = _head(_desired(sample_cluster("ray-cluster.sample.yaml"), settings))
    assert head["spec"]["containers"][0]["command"] == ["/bin/bash", "-lc", "--"]


@pytest.mark.parametrize(
    ("ray_version", "kind"),
    [
        pytest.param("2.52.0", "exec", id="before-2.53-exec-wget"),
        pytest.param(None, "exec", id="unknown-version-exec-wget"),
        pytest.param("2.53.0", "httpGet", id="2.53-http"),
        pytest.param("2.55.1", "httpGet", id="newer-http"),
    ],
)
def test_probe_kind_depends_on_ray_version(ray_version: str | None, kind: str) -> None:
    head = _head(_desired(make_cluster(ray_version=ray_version), DEFAULTS))
    ray = head["spec"]["containers"][0]
    assert kind in ray["livenessProbe"] and kind in ray["readinessProbe"]
    if kind == "httpGet":
        assert ray["livenessProbe"]["httpGet"] == {"path": "/api/healthz", "port": 52365}


def test_exec_probes_check_raylet_and_gcs_on_the_head_only() -> None:
    children = _desired(make_cluster(), DEFAULTS)
    head_probe = _head(children)["spec"]["containers"][0]["livenessProbe"]
    worker_probe = children.worker_pods[0][1]["spec"]["containers"][0]["readinessProbe"]
    assert head_probe["exec"]["command"][2] == (
        "wget --tries 1 -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success && "
        "wget --tries 1 -T 10 -q -O- http://localhost:8265/api/gcs_healthz | grep success"
    )
    assert head_probe["timeoutSeconds"] == 5 and head_probe["failureThreshold"] == 120
    assert worker_probe["exec"]["command"][2].count("wget") == 1
    assert worker_probe["timeoutSeconds"] == 2 and worker_probe["failureThreshold"] == 10


def test_head_service_ports_are_sorted_and_headless() -> None:
    svc = _head_service(_desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS))
    assert svc["metadata"]["name"] == "raycluster-kuberay-head-svc"
    assert [p["name"] for p in svc["spec"]["ports"]] == ["client", "dashboard", "gcs-server", "metrics"]
    assert all(p["appProtocol"] == "tcp" for p in svc["spec"]["ports"])
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True
    assert svc["spec"]["selector"] == {
        "ray.io/cluster": "raycluster-kuberay",
        "ray.io/node-type": "head",
        "ray.io/identifier": "raycluster-kuberay-head",
        "app.kubernetes.io/name": "kuberay",
        "app.kubernetes.io/created-by": "kuberay-operator",
    }


def test_cluster_ip_switch_keeps_a_normal_head_service() -> None:
    settings = settings_from_mapping({"ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE": "true"})
    svc = _head_service(_desired(sample_cluster("ray-cluster.sample.yaml"), settings))
    assert "clusterIP" not in svc["spec"]


def test_head_service_without_container_ports_gets_kuberay_defaults() -> None:
    svc = _head_service(_desired(make_cluster(), DEFAULTS))
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {
        "client": 10001,
        "dashboard": 8265,
        "gcs-server": 6379,
        "metrics": 8080,
        "serve": 8000,
    }


def test_autoscaler_sample_gets_sidecar_logs_volume_and_rbac() -> None:
    children = _desired(sample_cluster("ray-cluster.autoscaler.yaml"), DEFAULTS)
    head = _head(children)
    ray, autoscaler = head["spec"]["containers"][0], head["spec"]["containers"][1]
    assert autoscaler["name"] == "autoscaler"
    assert autoscaler["image"] == ray["image"]
    assert autoscaler["command"] == ["/bin/bash", "-c", "--"]
    assert autoscaler["args"] == [
        "ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace $(RAY_CLUSTER_NAMESPACE)"
    ]
    assert [e["name"] for e in autoscaler["env"]][:4] == [
        "RAY_CLUSTER_NAME",
        "RAY_CLUSTER_NAMESPACE",
        "RAY_HEAD_POD_NAME",
        "KUBERAY_CRD_VER",
    ]
    assert {"mountPath": "/tmp/ray", "name": "ray-logs"} in autoscaler["volumeMounts"]
    assert " --no-monitor " in _env(ray)["KUBERAY_GEN_RAY_START_CMD"]
    assert head["spec"]["serviceAccountName"] == "raycluster-autoscaler"
    role = _child(children, "Role")
    assert role is not None and role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
        {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "verbs": ["get", "patch"]},
    ]
    binding = _child(children, "RoleBinding")
    assert binding is not None
    assert binding["subjects"][0]["name"] == "raycluster-autoscaler"


def test_autoscaler_v2_makes_pods_never_restart() -> None:
    children = _desired(sample_cluster("ray-cluster.autoscaler-v2.yaml"), DEFAULTS)
    assert _head(children)["spec"]["restartPolicy"] == "Never"
    assert all(pod["spec"]["restartPolicy"] == "Never" for _, pod in children.worker_pods)
    assert _env(_head(children)["spec"]["containers"][0])["RAY_enable_autoscaler_v2"] in ("true", "1")


def test_autoscaler_options_shape_the_sidecar_and_the_ray_read_fields_stay_in_the_cr() -> None:
    options = {
        "image": "my/autoscaler:1", "imagePullPolicy": "Always",
        "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "250m"}},
        "env": [{"name": "EXTRA", "value": "1"}], "envFrom": [{"configMapRef": {"name": "cm"}}],
        "volumeMounts": [{"name": "extra", "mountPath": "/extra"}], "securityContext": {"runAsUser": 1000},
        "command": ["/bin/sh", "-c"], "args": ["ray kuberay-autoscaler --custom"],
        "upscalingMode": "Conservative", "idleTimeoutSeconds": 30,
    }
    group = {"groupName": "wg", "replicas": 1, "minReplicas": 0, "maxReplicas": 5, "rayStartParams": {},
             "idleTimeoutSeconds": 10, "template": {"spec": {"containers": [{"name": "ray-worker", "image": "ray:x"}]}}}
    rc = make_cluster(enableInTreeAutoscaling=True, autoscalerOptions=options, workerGroupSpecs=[group])
    children = _desired(rc, DEFAULTS)
    autoscaler = _head(children)["spec"]["containers"][1]
    assert autoscaler["image"] == "my/autoscaler:1" and autoscaler["imagePullPolicy"] == "Always"
    assert autoscaler["resources"] == options["resources"]
    assert [e["name"] for e in autoscaler["env"]][-1] == "EXTRA" and "RAY_HEAD_POD_NAME" in _env(autoscaler)
    assert autoscaler["envFrom"] == options["envFrom"]
    assert {"name": "extra", "mountPath": "/extra"} in autoscaler["volumeMounts"]
    assert autoscaler["securityContext"] == {"runAsUser": 1000}
    assert (autoscaler["command"], autoscaler["args"]) == (options["command"], options["args"])
    # upscalingMode and both idleTimeoutSeconds are read by Ray's autoscaler from the RayCluster, not from pods.
    pods = [_head(children), *(pod for _, pod in children.worker_pods)]
    assert not any(word in repr(pod) for pod in pods for word in ("Conservative", "idleTimeout", "upscaling"))
    assert rc.spec.autoscaler_options is not None and rc.spec.autoscaler_options.upscaling_mode == "Conservative"
    assert (rc.spec.worker_group_specs or [])[0].idle_timeout_seconds == 10


def test_autoscaler_v1_keeps_the_templates_restart_policy() -> None:
    children = _desired(sample_cluster("ray-cluster.autoscaler.yaml"), DEFAULTS)
    assert _head(children)["spec"].get("restartPolicy") != "Never"
    assert all(pod["spec"].get("restartPolicy") != "Never" for _, pod in children.worker_pods)


def test_tpu_multihost_sample_gets_a_headless_worker_service() -> None:
    children = _desired(sample_cluster("ray-cluster.tpu-v4-multihost.yaml"), DEFAULTS)
    svc = _child(children, "Service", "-headless")
    assert svc is not None
    assert svc["metadata"]["name"] == "raycluster-tpu-v4-multihost-headless"
    assert svc["metadata"]["labels"] == {"ray.io/headless-worker-svc": "raycluster-tpu-v4-multihost"}
    assert svc["spec"] == {
        "clusterIP": "None",
        "selector": {"ray.io/cluster": "raycluster-tpu-v4-multihost", "ray.io/node-type": "worker"},
        "type": "ClusterIP",
        "publishNotReadyAddresses": True,
    }
    slots = [slot for slot, _ in children.worker_pods]
    assert [(s.replica_index, s.host_index) for s in slots] == [(0, 0), (0, 1)]  # replicas 1, numOfHosts 2
    assert len({s.replica_name for s in slots}) == 1


def test_single_host_cluster_has_no_headless_service() -> None:
    assert _child(_desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS), "Service", "-headless") is None


def test_overwrite_annotation_preserves_the_user_command() -> None:
    rc = sample_cluster("ray-cluster.overwrite-command.yaml")
    head = _head(_desired(rc, DEFAULTS))
    user = rc.spec.head_group_spec.template["spec"]["containers"][0]
    ray = head["spec"]["containers"][0]
    assert head["metadata"]["annotations"]["ray.io/overwrite-container-cmd"] == "true"
    assert ray.get("command") == user.get("command") and ray.get("args") == user.get("args")
    assert _env(ray)["KUBERAY_GEN_RAY_START_CMD"].startswith("ray start --head ")


def test_user_command_runs_before_ray_start() -> None:
    template = {"spec": {"containers": [{"name": "h", "image": "i", "command": ["echo"], "args": ["hi"]}]}}
    rc = make_cluster(headGroupSpec={"rayStartParams": {}, "template": template})
    args = _head(_desired(rc, DEFAULTS))["spec"]["containers"][0]["args"][0]
    assert args.startswith(" echo  hi  && ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; ray start --head ")


def test_every_child_is_owned_by_the_cluster() -> None:
    children = _desired(sample_cluster("ray-cluster.autoscaler.yaml"), DEFAULTS)
    objects = children.objects()  # replicas: 0, so the head is the only pod
    assert [o["kind"] for o in objects] == ["ServiceAccount", "Role", "RoleBinding", "Service", "Pod"]
    worker = _desired(sample_cluster("ray-cluster.sample.yaml"), DEFAULTS).worker_pods[0][1]
    assert worker["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    for obj in objects:
        (ref,) = obj["metadata"]["ownerReferences"]
        assert ref == {
            "apiVersion": "ray.io/v1",
            "kind": "RayCluster",
            "name": "raycluster-autoscaler",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }


def test_builders_do_not_mutate_their_input() -> None:
    rc = sample_cluster("ray-cluster.autoscaler.yaml")
    before = rc.model_dump()
    _desired(rc, DEFAULTS)
    assert rc.model_dump() == before


def test_children_come_in_kuberays_creation_order_with_ingress_and_auth_secret() -> None:
    rc = make_cluster(
        enableInTreeAutoscaling=True,
        authOptions={"mode": "token"},
        headGroupSpec={
            "enableIngress": True,
            "rayStartParams": {},
            "template": {"spec": {"containers": [{"name": "ray-head", "image": "ray:x"}]}},
        },
    )
    desired = _desired(rc, DEFAULTS)
    assert [(o["kind"], o["metadata"].get("name", "")) for o in desired.children] == [
        ("ServiceAccount", "rc"),
        ("Role", "rc"),
        ("RoleBinding", "rc"),
        ("Ingress", "rc-head-ingress"),
        ("Secret", "rc"),
        ("Service", "rc-head-svc"),
    ]
    assert [o["kind"] for o in desired.objects()[len(desired.children) :]] == ["Pod", "Pod"]


def test_head_start_params_are_computed_once_and_are_what_ray_start_gets() -> None:
    from raykube.builders.cluster import cluster_context
    from raykube.builders.pod import start_params

    rc = sample_cluster("ray-cluster.external-redis.yaml")
    params = start_params(cluster_context(rc, DEFAULTS))
    assert params["redis-password"] == "$REDIS_PASSWORD"
    command = _env(_head(_desired(rc, DEFAULTS))["spec"]["containers"][0])["KUBERAY_GEN_RAY_START_CMD"]
    assert all(f"--{key}={value}" in command for key, value in params.items() if value != "true")
    autoscaled = start_params(cluster_context(sample_cluster("ray-cluster.autoscaler.yaml"), DEFAULTS))
    assert autoscaled["no-monitor"] == "true"


@pytest.mark.parametrize(
    ("options", "head_env", "expected"),
    [
        pytest.param({"version": "v2"}, None, ["true"], id="v2"),
        pytest.param({"version": "v1"}, None, ["false"], id="v1"),
        pytest.param(None, None, [], id="unset"),
        pytest.param(None, "true", ["true"], id="user-env-not-duplicated"),
    ],
)
def test_autoscaler_version_sets_the_heads_v2_switch_once(
    options: dict[str, Any] | None, head_env: str | None, expected: list[str]
) -> None:
    head_container: dict[str, Any] = {"name": "ray-head", "image": "ray:x"}
    if head_env is not None:
        head_container["env"] = [{"name": "RAY_enable_autoscaler_v2", "value": head_env}]
    head = {"rayStartParams": {}, "template": {"spec": {"containers": [head_container]}}}
    extra: dict[str, Any] = {"autoscalerOptions": options} if options is not None else {}
    rc = make_cluster(enableInTreeAutoscaling=True, headGroupSpec=head, **extra)
    ray = _head(_desired(rc, DEFAULTS))["spec"]["containers"][0]
    assert [e.get("value") for e in ray.get("env", []) if e["name"] == "RAY_enable_autoscaler_v2"] == expected
