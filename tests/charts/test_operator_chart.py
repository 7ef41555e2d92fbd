"""The kuberay-operator chart: the Deployment runs `raykube operator` with flags it accepts, built from KubeRay's
value keys; least-privilege RBAC, cluster-wide or per watched namespace; KubeRay's values files render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from raykube import __version__
from raykube.builders.rbac import ROLE_RULES
from raykube.cli.main import app
from raykube.operator.config import DEFAULT_GATES, parse_feature_gates
from tests.charts.helm import (
    CLUSTER_CHART,
    KUBERAY_VERSIONS,
    OPERATOR_CHART,
    kuberay_values,
    only,
    template,
)
from tests.unit.api.upstream import requires_reference

NAMESPACE = "kuberay"


def _render(*sets: str, values: tuple[Path, ...] = ()) -> list[dict[str, Any]]:
    return template(OPERATOR_CHART, "kuberay-operator", namespace=NAMESPACE, sets=sets, values=values)


def _container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    containers = only(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _parse_operator_args(args: list[str]) -> dict[str, Any]:
    """Parse `args` exactly as `raykube operator` would (unknown or malformed flags raise)."""
    command = typer.main.get_command(app)
    operator = command.commands["operator"]  # type: ignore[attr-defined]
    with operator.make_context("operator", list(args)) as ctx:
        return dict(ctx.params)


def _kinds(docs: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return sorted((d["kind"], d["metadata"]["name"], d["metadata"].get("namespace")) for d in docs)


def test_default_deployment_runs_raykube_operator() -> None:
    container = _container(_render())
    assert container["image"] == f"raykube/operator:{__version__}"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert "command" not in container, "the image's entrypoint is `raykube operator`"
    params = _parse_operator_args(container["args"])
    assert params["metrics_addr"] == ":8080" and params["health_probe_bind_address"] == ":8082"
    assert params["enable_leader_election"] is True and params["leader_election_namespace"] == NAMESPACE
    assert params["watch_namespace"] == ""
    assert (params["reconcile_concurrency"], params["qps"], params["burst"]) == (16, 100.0, 200)
    assert params["log_json"] is True
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080, "health": 8082}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["env"][0]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_charts_app_version_is_raykubes() -> None:
    for chart in (OPERATOR_CHART, CLUSTER_CHART):
        assert yaml.safe_load((chart / "Chart.yaml").read_text())["appVersion"] == __version__


@requires_reference
@pytest.mark.parametrize("version", KUBERAY_VERSIONS)
def test_kuberay_values_file_renders_flags_raykube_accepts(version: str) -> None:
    path = kuberay_values("kuberay-operator", version)
    values = yaml.safe_load(path.read_text())
    docs = _render(values=(path,))
    container = _container(docs)
    params = _parse_operator_args(container["args"])
    # KubeRay's own image stays what the file says (README: override image to run raykube).
    assert container["image"] == f"{values['image']['repository']}:{values['image']['tag']}"
    assert "command" not in container, "KubeRay's /manager means the image's own `raykube operator`"
    assert params["enable_leader_election"] is values["leaderElectionEnabled"]
    if "reconcileConcurrency" in values:
        assert params["reconcile_concurrency"] == values["reconcileConcurrency"]
    assert container["resources"]["limits"] == values["resources"]["limits"]
    assert container["securityContext"] == values["securityContext"]
    assert only(docs, "ServiceAccount")["metadata"]["name"] == values["serviceAccount"]["name"]
    assert only(docs, "ClusterRole")["metadata"]["name"] == values["fullnameOverride"]


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (["leaderElectionEnabled=false"], {"enable_leader_election": False}),
        (["watchNamespace={team-a,team-b}"], {"watch_namespace": "team-a,team-b"}),
        (["watchNamespace=team-a\\,team-b"], {"watch_namespace": "team-a,team-b"}),
        (["singleNamespaceInstall=true"], {"watch_namespace": NAMESPACE}),
        (["singleNamespaceInstall=true", "watchNamespace={x}"], {"watch_namespace": "x"}),
        (["reconcileConcurrency=3", "kubeClient.qps=5.5", "kubeClient.burst=7"],
         {"reconcile_concurrency": 3, "qps": 5.5, "burst": 7}),
        (["logging.stdoutEncoder=console"], {"log_json": False}),
        ([], {"use_kubernetes_proxy": False}),
        (["useKubernetesProxy=true"], {"use_kubernetes_proxy": True}),
    ],
)
def test_values_become_operator_flags(sets: list[str], expected: dict[str, Any]) -> None:
    params = _parse_operator_args(_container(_render(*sets))["args"])
    assert {key: params[key] for key in expected} == expected


def test_env_image_and_scheduling_values() -> None:
    docs = _render(
        "image.repository=example/op", "image.tag=dev", "image.pullPolicy=Never",
        "env[0].name=CLUSTER_DOMAIN", "env[0].value=example.local",
        "nodeSelector.disk=ssd", "tolerations[0].operator=Exists", "priorityClassName=high",
        "labels.team=ray", "annotations.a=b", "podLabels.p=q", "podAnnotations.c=d",
        "imagePullSecrets[0].name=pull", "replicas=2", "operatorCommand=/opt/raykube/bin/raykube",
    )
    deployment = only(docs, "Deployment")
    pod = deployment["spec"]["template"]
    container = _container(docs)
    assert container["image"] == "example/op:dev" and container["imagePullPolicy"] == "Never"
    assert container["command"] == ["/opt/raykube/bin/raykube", "operator"]
    assert {"name": "CLUSTER_DOMAIN", "value": "example.local"} in container["env"]
    assert pod["spec"]["nodeSelector"] == {"disk": "ssd"}
    assert pod["spec"]["tolerations"] == [{"operator": "Exists"}]
    assert pod["spec"]["priorityClassName"] == "high"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "pull"}]
    assert pod["metadata"]["labels"]["team"] == "ray" and pod["metadata"]["labels"]["p"] == "q"
    assert pod["metadata"]["annotations"] == {"a": "b", "c": "d"}
    assert deployment["metadata"]["labels"]["team"] == "ray"
    assert deployment["spec"]["replicas"] == 2
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod["metadata"]["labels"].items()


def test_cluster_wide_rbac() -> None:
    docs = _render()
    assert _kinds(docs) == [
        ("ClusterRole", "kuberay-operator", None),
        ("ClusterRoleBinding", "kuberay-operator", None),
        ("Deployment", "kuberay-operator", NAMESPACE),
        ("Role", "kuberay-operator-leader-election", NAMESPACE),
        ("RoleBinding", "kuberay-operator-leader-election", NAMESPACE),
        ("Service", "kuberay-operator", NAMESPACE),
        ("ServiceAccount", "kuberay-operator", NAMESPACE),
    ]
    binding = only(docs, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kuberay-operator", "namespace": NAMESPACE}]
    assert only(docs, "Role")["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}]


def test_namespaced_rbac_has_nothing_cluster_scoped() -> None:
    docs = _render("watchNamespace={team-a,team-b}")
    assert _kinds(docs) == [
        ("Deployment", "kuberay-operator", NAMESPACE),
        ("Role", "kuberay-operator", "team-a"),
        ("Role", "kuberay-operator", "team-b"),
        ("Role", "kuberay-operator-leader-election", NAMESPACE),
        ("RoleBinding", "kuberay-operator", "team-a"),
        ("RoleBinding", "kuberay-operator", "team-b"),
        ("RoleBinding", "kuberay-operator-leader-election", NAMESPACE),
        ("Service", "kuberay-operator", NAMESPACE),
        ("ServiceAccount", "kuberay-operator", NAMESPACE),
    ]
    cluster_role = only(_render(), "ClusterRole")
    for role in (d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == "kuberay-operator"):
        assert role["rules"] == cluster_role["rules"]


def test_rbac_switches() -> None:
    kinds = {k for k, _, _ in _kinds(_render("singleNamespaceInstall=true", "crNamespacedRbacEnable=false"))}
    assert kinds == {"Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"}  # only leader election
    kinds = {k for k, _, _ in _kinds(_render("rbacEnable=false"))}
    assert kinds == {"Deployment", "Service", "ServiceAccount"}
    kinds = {k for k, _, _ in _kinds(_render("leaderElectionEnabled=false"))}
    assert "Role" not in kinds
    docs = _render("serviceAccount.create=false", "serviceAccount.name=existing")
    assert "ServiceAccount" not in {d["kind"] for d in docs}
    assert only(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "existing"
    assert only(docs, "ClusterRoleBinding")["subjects"][0]["name"] == "existing"


def _allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)


def test_rules_are_least_privilege() -> None:
    rules = only(_render(), "ClusterRole")["rules"]
    flat = {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert not any("*" in item for item in flat), "no wildcards"
    assert not any(r in {"configmaps", "nodes", "namespaces", "clusterroles"} for _, r, _ in flat)
    assert {v for _, r, v in flat if r == "secrets"} == {"create"}, "the token Secret is written, never read"
    # What the RayCluster controller does today.
    for resource, verbs in {"pods": ("get", "list", "watch", "create", "delete"),
                            "services": ("list", "watch", "create")}.items():
        assert all(_allows(rules, "", resource, v) for v in verbs), resource
    assert all(_allows(rules, "ray.io", "rayclusters", v) for v in ("get", "list", "watch"))
    # Created once and never read: no get, list or watch (tests/integration/test_chart_rbac_audit.py).
    for group, resource in (("", "serviceaccounts"), ("rbac.authorization.k8s.io", "roles"),
                            ("networking.k8s.io", "ingresses"), ("", "persistentvolumeclaims")):
        assert [v for v in ("get", "list", "watch", "create") if _allows(rules, group, resource, v)] == ["create"]
    assert not _allows(rules, "", "events", "create"), "Events are written with events.k8s.io only"
    assert _allows(rules, "ray.io", "rayclusters/status", "update")
    assert _allows(rules, "events.k8s.io", "events", "create") and _allows(rules, "events.k8s.io", "events", "patch")
    # Kubernetes only lets the operator create the autoscaler Role if it holds every permission in it.
    for rule in ROLE_RULES:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert _allows(rules, group, resource, verb), (group, resource, verb)


def test_kubernetes_proxy_adds_only_services_proxy() -> None:
    plain = only(_render(), "ClusterRole")["rules"]
    proxied = only(_render("useKubernetesProxy=true"), "ClusterRole")["rules"]
    assert [r for r in proxied if r not in plain] == [
        {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get", "create", "update"]},
        {"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]}]
    assert not _allows(plain, "", "services/proxy", "get")


def test_metrics_service_and_service_monitor() -> None:
    service = only(_render(), "Service")
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert "annotations" not in only(_render("metrics.enabled=false"), "Service")["metadata"]
    monitor = only(_render("metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.namespace=monitoring"),
                   "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"


def _gates(args: list[str]) -> frozenset[str]:
    """The gates that are on for an operator started with `args`."""
    return parse_feature_gates(str(_parse_operator_args(args)["feature_gates"]))


def test_the_default_feature_gates_reach_the_operator_as_kuberays_chart_passes_them() -> None:
    args = _container(_render())["args"]
    assert ("--feature-gates=RayClusterStatusConditions=true,RayJobDeletionPolicy=true,RayMultiHostIndexing=true,"
            "RayServiceIncrementalUpgrade=true,RayCronJob=false") in args
    assert _gates(args) == DEFAULT_GATES


def test_every_gate_in_featuregates_is_switched(tmp_path: Path) -> None:
    values = tmp_path / "gates.yaml"
    values.write_text(yaml.safe_dump({"featureGates": [{"name": "RayJobDeletionPolicy", "enabled": False},
                                                       {"name": "RayClusterNetworkPolicy", "enabled": True}]}))
    gates = _gates(_container(_render(values=(values,)))["args"])
    assert "RayClusterNetworkPolicy" in gates and "RayJobDeletionPolicy" not in gates
    assert "RayClusterStatusConditions" in gates  # not listed: KubeRay's default


def test_the_raycronjob_gate_runs_its_controller_with_its_rbac(tmp_path: Path) -> None:
    values = tmp_path / "gates.yaml"
    values.write_text(yaml.safe_dump({"featureGates": [{"name": "RayClusterStatusConditions", "enabled": True},
                                                       {"name": "RayCronJob", "enabled": True}]}))
    plain, gated = _render(), _render(values=(values,))
    assert "RayCronJob" not in _gates(_container(plain)["args"])
    args = _container(gated)["args"]
    assert "--feature-gates=RayClusterStatusConditions=true,RayCronJob=true" in args
    assert "RayCronJob" in _gates(args)
    plain_rules, rules = only(plain, "ClusterRole")["rules"], only(gated, "ClusterRole")["rules"]
    assert [r for r in rules if r not in plain_rules] == [
        {"apiGroups": ["ray.io"], "resources": ["raycronjobs"], "verbs": ["list", "watch"]},
        {"apiGroups": ["ray.io"], "resources": ["raycronjobs/status"], "verbs": ["update"]}]
    assert _allows(rules, "ray.io", "rayjobs", "create"), "its runs are RayJobs"
    assert not _allows(plain_rules, "ray.io", "raycronjobs", "list")


def test_featuregates_set_by_index_leave_nil_entries_that_the_chart_skips() -> None:
    # helm replaces the list: entries 0-3 become null. Without a name the entry switches nothing on.
    only_enabled = _render("featureGates[4].enabled=true")
    assert "RayCronJob" not in _gates(_container(only_enabled)["args"])
    named = _render("featureGates[4].name=RayCronJob", "featureGates[4].enabled=true")
    assert "--feature-gates=RayCronJob=true" in _container(named)["args"]


def test_rayservice_rules_are_what_its_controller_needs() -> None:
    rules = only(_render(), "ClusterRole")["rules"]
    for resource, verbs in {"rayservices": ("list", "watch", "update"),
                            "rayservices/status": ("update",), "rayservices/finalizers": ("update",)}.items():
        assert all(_allows(rules, "ray.io", resource, v) for v in verbs), resource
    assert not any(_allows(rules, "ray.io", "rayservices", v) for v in ("create", "delete", "patch"))
    assert [v for v in ("get", "list", "watch", "create", "update", "delete")
            if _allows(rules, "discovery.k8s.io", "endpointslices", v)] == ["list", "watch"]
    # The serve Service's selector is switched with a patch; the head pod's ray.io/serve label likewise.
    assert _allows(rules, "", "services", "patch") and _allows(rules, "", "pods", "patch")
    # The incremental upgrade's Gateway and HTTPRoute: read, created, replaced, deleted; never listed or watched.
    for resource in ("gateways", "httproutes"):
        assert [v for v in ("get", "list", "watch", "create", "update", "patch", "delete")
                if _allows(rules, "gateway.networking.k8s.io", resource, v)] == ["get", "create", "update", "delete"]
    assert _allows(rules, "ray.io", "rayclusters", "create") and _allows(rules, "ray.io", "rayclusters", "delete")


#: The container hardening of KubeRay's chart (v1.7.0 values.yaml, `securityContext`), which raykube keeps.
HARDENED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_the_operator_container_is_hardened_by_default() -> None:
    docs = _render()
    pod = only(docs, "Deployment")["spec"]["template"]["spec"]
    assert _container(docs)["securityContext"] == HARDENED_CONTAINER
    # Nothing in the pod undoes it: no host namespaces, no privileged or added capabilities anywhere.
    assert not any(pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC"))
    assert "volumes" not in pod


@requires_reference
def test_the_container_hardening_is_kuberays() -> None:
    upstream = yaml.safe_load(kuberay_values("kuberay-operator", "v1.7.0").read_text())
    assert upstream["securityContext"] == HARDENED_CONTAINER
    assert upstream["podSecurityContext"] == {} == yaml.safe_load((OPERATOR_CHART / "values.yaml").read_text())[
        "podSecurityContext"]


def test_run_as_non_root_can_be_verified_for_the_operator_image() -> None:
    # `runAsNonRoot` without `runAsUser` only starts a container whose image names a numeric, non-zero user:
    # the kubelet cannot resolve a user name, and refuses the pod.
    dockerfile = (OPERATOR_CHART.parents[1] / "images" / "operator" / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users, "the operator image sets its user"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_hardening_values_can_be_overridden_as_in_kuberays_chart() -> None:
    docs = _render("securityContext.runAsUser=1000", "podSecurityContext.fsGroup=2000")
    assert _container(docs)["securityContext"] == {**HARDENED_CONTAINER, "runAsUser": 1000}
    assert only(docs, "Deployment")["spec"]["template"]["spec"]["securityContext"] == {"fsGroup": 2000}
