"""The controller runtime against the real local kube-apiserver: client, informer, leases, events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from raykube.runtime.client import KubeClient, PatchType, retry_on_conflict
from raykube.runtime.errors import ApiError, is_conflict, is_not_found
from raykube.runtime.events import WARNING, EventRecorder
from raykube.runtime.informer import EventHandler, Informer
from raykube.runtime.kinds import EVENT, NAMESPACE, ResourceKind
from raykube.runtime.leader import LeaderElectionConfig, LeaderElector
from raykube.runtime.objects import Obj, ObjectKey

pytestmark = pytest.mark.integration

CONFIGMAP = ResourceKind("", "v1", "ConfigMap", "configmaps")


@pytest.fixture
async def kube(kubeconfig: Path) -> AsyncIterator[KubeClient]:
    client = KubeClient.from_kubeconfig(str(kubeconfig), field_manager="raykube-runtime-tests")
    yield client
    await client.close()


@pytest.fixture
async def namespace(kube: KubeClient) -> AsyncIterator[str]:
    name = f"rt-{uuid.uuid4().hex[:8]}"
    await kube.create(NAMESPACE, {"metadata": {"name": name}})
    yield name
    await kube.delete(NAMESPACE, name)


def configmap(name: str, namespace: str, **data: str) -> Obj:
    labels = {"raykube-test": "runtime"}  # keeps the namespace's own kube-root-ca.crt out of lists
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": data,
    }


async def eventually(probe: object, timeout: float = 30.0) -> None:
    async def poll() -> None:
        while not probe():  # type: ignore[operator]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_client_reads_writes_and_patches_in_every_flavour(kube: KubeClient, namespace: str) -> None:
    created = await kube.create(CONFIGMAP, configmap("cm", namespace, a="1"))
    assert created["metadata"]["uid"]
    await kube.patch(CONFIGMAP, "cm", {"data": {"b": "2"}}, namespace=namespace)
    await kube.patch(
        CONFIGMAP,
        "cm",
        [{"op": "add", "path": "/data/c", "value": "3"}],
        namespace=namespace,
        patch_type=PatchType.JSON,
    )
    await kube.apply(CONFIGMAP, configmap("cm", namespace, d="4"))
    got = await kube.get(CONFIGMAP, "cm", namespace=namespace)
    assert got["data"] == {"a": "1", "b": "2", "c": "3", "d": "4"}
    listed = await kube.list(CONFIGMAP, namespace=namespace, label_selector="raykube-test", page_size=1)
    assert [o["metadata"]["name"] for o in listed.items] == ["cm"] and listed.resource_version
    await kube.delete(CONFIGMAP, "cm", namespace=namespace)
    with pytest.raises(ApiError) as info:
        await kube.get(CONFIGMAP, "cm", namespace=namespace)
    assert is_not_found(info.value)


async def test_stale_replace_conflicts_and_retry_on_conflict_recovers(kube: KubeClient, namespace: str) -> None:
    stale = await kube.create(CONFIGMAP, configmap("cm", namespace, n="0"))
    await kube.patch(CONFIGMAP, "cm", {"data": {"n": "1"}}, namespace=namespace)
    with pytest.raises(ApiError) as info:
        await kube.replace(CONFIGMAP, stale)
    assert is_conflict(info.value)

    async def bump() -> Obj:
        current = await kube.get(CONFIGMAP, "cm", namespace=namespace)
        current["data"]["n"] = str(int(current["data"]["n"]) + 1)
        return await kube.replace(CONFIGMAP, current)

    assert (await retry_on_conflict(bump))["data"]["n"] == "2"


async def test_informer_lists_then_follows_changes_across_watch_restarts(kube: KubeClient, namespace: str) -> None:
    await kube.create(CONFIGMAP, configmap("before", namespace))
    seen: list[str] = []
    informer = Informer(
        kube, CONFIGMAP, namespace=namespace, label_selector="raykube-test", min_watch_timeout=1
    )  # 1-2 s watches: several restarts within the test
    informer.add_handler(
        EventHandler(
            on_add=lambda o: seen.append(f"add {o['metadata']['name']}"),
            on_delete=lambda o: seen.append(f"delete {o['metadata']['name']}"),
        )
    )
    task = asyncio.create_task(informer.run())
    try:
        assert await informer.wait_for_sync(30)
        assert seen == ["add before"]
        await kube.create(CONFIGMAP, configmap("during", namespace))
        await eventually(lambda: "add during" in seen)
        await asyncio.sleep(2.5)  # let at least one watch time out and resume
        await kube.delete(CONFIGMAP, "before", namespace=namespace)
        await kube.create(CONFIGMAP, configmap("after", namespace))
        await eventually(lambda: "add after" in seen and "delete before" in seen)
        assert informer.relists == 0
        assert informer.store.get(ObjectKey(namespace, "during")) is not None
        assert informer.store.get(ObjectKey(namespace, "before")) is None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_label_selector_is_applied_by_the_server(kube: KubeClient, namespace: str) -> None:
    head = configmap("head", namespace)
    head["metadata"]["labels"]["ray.io/node-type"] = "head"
    await kube.create(CONFIGMAP, head)
    await kube.create(CONFIGMAP, configmap("other", namespace))
    informer = Informer(kube, CONFIGMAP, namespace=namespace, label_selector="ray.io/node-type in (head,worker)")
    task = asyncio.create_task(informer.run())
    try:
        assert await informer.wait_for_sync(30)
        assert [k.name for k in informer.store] == ["head"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_watch_from_a_list_version_replays_later_changes_and_ends_at_its_timeout(
    kube: KubeClient, namespace: str
) -> None:
    listed = await kube.list(CONFIGMAP, namespace=namespace)
    await kube.create(CONFIGMAP, configmap("x", namespace))
    events = []
    async for event in kube.watch(
        CONFIGMAP, namespace=namespace, resource_version=listed.resource_version, timeout_seconds=2
    ):
        events.append(event.type)
    assert events[0] == "ADDED"
    assert set(events) <= {"ADDED", "BOOKMARK"}


async def test_leader_election_hands_over_on_release(kube: KubeClient, namespace: str) -> None:
    timing = {"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.2}
    a = LeaderElector(kube, LeaderElectionConfig("raykube", namespace, identity="a", **timing))
    b = LeaderElector(kube, LeaderElectionConfig("raykube", namespace, identity="b", **timing))
    a_leading, a_done, b_leading = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def lead_a() -> None:
        a_leading.set()
        await a_done.wait()

    async def lead_b() -> None:
        b_leading.set()
        await asyncio.Event().wait()

    task_a = asyncio.create_task(a.run(lead_a))
    await asyncio.wait_for(a_leading.wait(), 10)
    task_b = asyncio.create_task(b.run(lead_b))
    await asyncio.sleep(1.0)
    assert not b_leading.is_set()  # renewed by a every 0.2 s
    a_done.set()
    await asyncio.wait_for(task_a, 5)
    await asyncio.wait_for(b_leading.wait(), 2)  # released: no need to wait out the 3 s lease
    lease = await kube.get(ResourceKind("coordination.k8s.io", "v1", "Lease", "leases"), "raykube", namespace=namespace)
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] >= 1
    task_b.cancel()
    await asyncio.gather(task_b, return_exceptions=True)


async def test_repeated_events_become_one_event_with_a_series(kube: KubeClient, namespace: str) -> None:
    cm = await kube.create(CONFIGMAP, configmap("cm", namespace))
    recorder = EventRecorder(kube, controller="raycluster-controller", series_interval=0)
    for _ in range(5):
        recorder.event(cm, WARNING, "Failed", "same")
    await recorder.flush()
    recorder.event(cm, WARNING, "Failed", "same")
    await recorder.flush()
    events = (await kube.list(EVENT, namespace=namespace)).items
    assert len(events) == 1
    assert events[0]["reportingController"] == "raycluster-controller"
    assert events[0]["series"]["count"] == 6
