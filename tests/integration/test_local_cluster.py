"""The local control plane is a real Kubernetes: API, controllers, scheduler, RBAC, fake nodes."""

from __future__ import annotations

import functools
import json
import ssl
import uuid
from pathlib import Path

import httpx
import pytest
from lightkube import ApiError
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta, OwnerReference
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from raykube.local.cluster import LocalCluster
from raykube.local.nodes.fake import POD_STATE_ANNOTATION
from tests.integration.kube import client, eventually, kubectl

pytestmark = pytest.mark.integration


def _namespace(kubeconfig: Path) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    client(kubeconfig).create(Namespace(metadata=ObjectMeta(name=name)))
    return name


def _admin_http(cluster: LocalCluster) -> httpx.Client:
    pki = cluster.state_dir / "pki"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    layout = cluster.layout()
    assert layout is not None
    return httpx.Client(base_url=layout.server, verify=context, timeout=30)


def test_readyz_is_ok(local_cluster: LocalCluster) -> None:
    with _admin_http(local_cluster) as http:
        response = http.get("/readyz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_server_reports_the_pinned_kubernetes_version(local_cluster: LocalCluster) -> None:
    with _admin_http(local_cluster) as http:
        version = http.get("/version").json()
    assert version["gitVersion"] == "v1.34.4"


def test_configmap_create_get_list_delete(kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    kube.create(ConfigMap(metadata=ObjectMeta(name="one", namespace=ns), data={"k": "v"}))
    assert kube.get(ConfigMap, "one", namespace=ns).data == {"k": "v"}
    assert [c.metadata.name for c in kube.list(ConfigMap, namespace=ns) if c.metadata and c.metadata.name == "one"] == [
        "one"
    ]
    kube.delete(ConfigMap, "one", namespace=ns)
    with pytest.raises(ApiError) as err:
        kube.get(ConfigMap, "one", namespace=ns)
    assert err.value.status.code == 404


def test_watch_streams_changes_and_bookmarks(local_cluster: LocalCluster, kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    kube.create(ConfigMap(metadata=ObjectMeta(name="before", namespace=ns)))
    # A streaming list (sendInitialEvents) ends its initial events with a BOOKMARK at once, which
    # proves the server sends bookmarks to watchers that allow them, without waiting a minute.
    params = {
        "watch": "1", "allowWatchBookmarks": "true", "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan", "resourceVersion": "", "timeoutSeconds": "20",
    }
    seen: list[tuple[str, str | None]] = []
    with _admin_http(local_cluster) as http, http.stream(
        "GET", f"/api/v1/namespaces/{ns}/configmaps", params=params
    ) as stream:
        for line in stream.iter_lines():
            event = json.loads(line)
            obj = event["object"]
            seen.append((event["type"], obj["metadata"].get("name")))
            if event["type"] == "BOOKMARK":
                assert obj["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"
                kube.create(ConfigMap(metadata=ObjectMeta(name="after", namespace=ns)))
            if event["type"] == "ADDED" and obj["metadata"]["name"] == "after":
                kube.delete(ConfigMap, "after", namespace=ns)
            if event["type"] == "DELETED":
                break
    names = [(t, n) for t, n in seen if t != "BOOKMARK" and n != "kube-root-ca.crt"]
    assert names == [("ADDED", "before"), ("ADDED", "after"), ("DELETED", "after")]
    assert "BOOKMARK" in [t for t, _ in seen]


def _deployment(ns: str, name: str, replicas: int) -> Deployment:
    labels = {"app": name}
    return Deployment(
        metadata=ObjectMeta(name=name, namespace=ns),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="c", image="busybox")]),
            ),
        ),
    )


def _running_ready(pod: Pod) -> bool:
    status = pod.status
    if status is None or status.phase != "Running" or not status.podIP:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])


def test_deployment_pods_are_scheduled_and_become_running_and_ready(kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    kube.create(_deployment(ns, "web", 3))

    def ready_pods() -> list[Pod] | None:
        pods = [p for p in kube.list(Pod, namespace=ns, labels={"app": "web"}) if _running_ready(p)]
        return pods if len(pods) == 3 else None

    pods = eventually(ready_pods, what="3 running, ready pods")
    assert all(p.spec is not None and p.spec.nodeName and p.spec.nodeName.startswith("raykube-fake-") for p in pods)
    assert len({p.status.podIP for p in pods if p.status}) == 3  # unique pod IPs

    def deployment_ready() -> Deployment | None:
        d = kube.get(Deployment, "web", namespace=ns)
        return d if d.status is not None and d.status.readyReplicas == 3 else None

    deployment = eventually(deployment_ready, what="deployment ready")
    assert deployment.status is not None and deployment.status.availableReplicas == 3


def test_a_test_can_make_a_fake_pod_fail_or_unready(kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    for name in ("will-fail", "will-wobble"):
        kube.create(Pod(metadata=ObjectMeta(name=name, namespace=ns),
                        spec=PodSpec(containers=[Container(name="c", image="busybox")])))
    for name in ("will-fail", "will-wobble"):
        eventually(functools.partial(lambda n: _running_ready(kube.get(Pod, n, namespace=ns)), name),
                   what=f"{name} ready")

    kube.patch(Pod, "will-fail", namespace=ns, obj={"metadata": {"annotations": {POD_STATE_ANNOTATION: "Failed"}}})

    def pod_failed() -> Pod | None:
        p = kube.get(Pod, "will-fail", namespace=ns)
        return p if p.status is not None and p.status.phase == "Failed" else None

    failed = eventually(pod_failed, what="pod Failed")
    assert failed.status is not None and failed.status.containerStatuses is not None
    state = failed.status.containerStatuses[0].state
    terminated = state.terminated if state is not None else None
    assert terminated is not None and terminated.exitCode == 1

    kube.patch(Pod, "will-wobble", namespace=ns, obj={"metadata": {"annotations": {POD_STATE_ANNOTATION: "Unready"}}})
    eventually(lambda: not _running_ready(kube.get(Pod, "will-wobble", namespace=ns)), what="pod unready")
    assert kube.get(Pod, "will-wobble", namespace=ns).status.phase == "Running"  # type: ignore[union-attr]
    kube.patch(Pod, "will-wobble", namespace=ns, obj={"metadata": {"annotations": {POD_STATE_ANNOTATION: "Ready"}}})
    eventually(lambda: _running_ready(kube.get(Pod, "will-wobble", namespace=ns)), what="pod ready again")


def test_a_pod_created_unready_is_never_seen_ready_until_steered_ready(kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    created = kube.create(Pod(metadata=ObjectMeta(name="born-unready", namespace=ns,
                                                  annotations={POD_STATE_ANNOTATION: "Unready"}),
                              spec=PodSpec(containers=[Container(name="c", image="busybox")])))
    assert created.metadata is not None
    versions: list[Pod] = []
    for _, pod in kube.watch(Pod, namespace=ns, fields={"metadata.name": "born-unready"}, server_timeout=30,
                             resource_version=created.metadata.resourceVersion):
        versions.append(pod)  # every version the API server stored, in order
        if pod.status is not None and pod.status.phase == "Running":
            break
    started = versions[-1]
    assert started.status is not None and started.status.phase == "Running" and started.status.podIP
    assert not any(_running_ready(v) for v in versions)  # not even between two kwok stages
    kube.patch(Pod, "born-unready", namespace=ns, obj={"metadata": {"annotations": {POD_STATE_ANNOTATION: "Ready"}}})
    eventually(lambda: _running_ready(kube.get(Pod, "born-unready", namespace=ns)), what="pod ready when steered")


def test_deleting_an_owner_garbage_collects_its_children(kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    owner = kube.create(ConfigMap(metadata=ObjectMeta(name="owner", namespace=ns)))
    assert owner.metadata is not None and owner.metadata.uid
    ref = OwnerReference(apiVersion="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)
    for i in range(3):
        kube.create(ConfigMap(metadata=ObjectMeta(name=f"child-{i}", namespace=ns, ownerReferences=[ref])))
    kube.delete(ConfigMap, "owner", namespace=ns)

    def children_gone() -> bool:
        names = [c.metadata.name or "" for c in kube.list(ConfigMap, namespace=ns) if c.metadata]
        return not [n for n in names if n.startswith("child-")]

    eventually(children_gone, what="children garbage-collected")


def test_deleting_a_namespace_removes_its_objects(kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    kube.create(ConfigMap(metadata=ObjectMeta(name="doomed", namespace=ns)))
    kube.create(_deployment(ns, "doomed", 1))
    kube.delete(Namespace, ns)

    def namespace_gone() -> bool:
        try:
            kube.get(Namespace, ns)
        except ApiError as err:
            return err.status.code == 404
        return False

    eventually(namespace_gone, timeout=120, what="namespace deleted")
    assert not list(kube.list(ConfigMap, namespace=ns))


def test_rbac_denies_pods_without_a_role_and_allows_with_one(local_cluster: LocalCluster, kubeconfig: Path) -> None:
    kube = client(kubeconfig)
    ns = _namespace(kubeconfig)
    kube.create(ServiceAccount(metadata=ObjectMeta(name="bot", namespace=ns)))
    token_request = kube.create(
        ServiceAccount.Token(metadata=ObjectMeta(), spec=TokenRequestSpec(audiences=[], expirationSeconds=600)),
        "bot", namespace=ns,
    )
    token = token_request.status.token  # type: ignore[union-attr]
    assert token

    pki = local_cluster.state_dir / "pki"
    layout = local_cluster.layout()
    assert layout is not None
    with httpx.Client(base_url=layout.server, verify=ssl.create_default_context(cafile=str(pki / "ca.crt")),
                      headers={"Authorization": f"Bearer {token}"}, timeout=30) as as_bot:
        # The token authenticates (TokenRequest works): the server knows who we are ...
        review = as_bot.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                             json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert review.status_code == 201
        assert review.json()["status"]["userInfo"]["username"] == f"system:serviceaccount:{ns}:bot"
        # ... but without a Role it may not list pods.
        assert as_bot.get(f"/api/v1/namespaces/{ns}/pods").status_code == 403

        kube.create(Role(metadata=ObjectMeta(name="pod-reader", namespace=ns),
                         rules=[PolicyRule(apiGroups=[""], resources=["pods"], verbs=["get", "list"])]))
        kube.create(RoleBinding(
            metadata=ObjectMeta(name="bot-reads-pods", namespace=ns),
            roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="Role", name="pod-reader"),
            subjects=[Subject(kind="ServiceAccount", name="bot", namespace=ns)],
        ))
        eventually(lambda: as_bot.get(f"/api/v1/namespaces/{ns}/pods").status_code == 200, what="RBAC allows")
        assert as_bot.get(f"/api/v1/namespaces/{ns}/secrets").status_code == 403


def test_kubectl_talks_to_the_cluster(kubeconfig: Path) -> None:
    nodes = kubectl(kubeconfig, "get", "nodes", "-o", "name").stdout.split()
    assert nodes == ["node/raykube-fake-0", "node/raykube-fake-1"]
