"""The HTTP client: URLs, paging, throttling and error mapping, against httpx's MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Pod

from raykube.runtime.client import KubeClient, PatchType, retry_on_conflict
from raykube.runtime.clock import FakeClock
from raykube.runtime.errors import ApiError, NotLeader, is_conflict, is_gone, is_not_found
from raykube.runtime.kinds import POD, ResourceKind

RAYCLUSTER = ResourceKind("ray.io", "v1", "RayCluster", "rayclusters")


def make_client(handler: Callable[[httpx2.Request], httpx2.Response], clock: FakeClock | None = None) -> KubeClient:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler), base_url="https://api.test")
    return KubeClient(http, clock=clock or FakeClock(), qps=1000, burst=1000)


def status(code: int, reason: str) -> httpx2.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason}
    return httpx2.Response(code, json=body)


def test_kind_paths_for_core_group_custom_resources_and_cluster_scope() -> None:
    assert POD.path("ns", "p") == "/api/v1/namespaces/ns/pods/p"
    assert RAYCLUSTER.path("ns", "rc", "status") == "/apis/ray.io/v1/namespaces/ns/rayclusters/rc/status"
    assert RAYCLUSTER.path(None) == "/apis/ray.io/v1/rayclusters"
    assert ResourceKind.of(Lease).path("kube-system") == ("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases")


async def test_get_accepts_lightkube_classes_and_returns_a_dict() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.path)
        return httpx2.Response(200, json={"kind": "Pod", "metadata": {"name": "p"}})

    obj = await make_client(handler).get(Pod, "p", namespace="ns")
    assert obj["metadata"]["name"] == "p"
    assert seen == ["/api/v1/namespaces/ns/pods/p"]


async def test_list_follows_continue_tokens_and_keeps_the_list_resource_version() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.params["labelSelector"] == "ray.io/node-type in (head,worker)"
        if request.url.params.get("continue") == "t1":
            return httpx2.Response(200, json={"metadata": {"resourceVersion": "7"}, "items": [{"n": 2}]})
        return httpx2.Response(200, json={"metadata": {"resourceVersion": "7", "continue": "t1"}, "items": [{"n": 1}]})

    result = await make_client(handler).list(POD, namespace="ns", label_selector="ray.io/node-type in (head,worker)")
    assert result.items == [{"n": 1}, {"n": 2}]
    assert result.resource_version == "7"


async def test_throttled_request_is_retried_after_the_servers_retry_after() -> None:
    clock = FakeClock()
    calls = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx2.Response(429, headers={"Retry-After": "0"}, json={"kind": "Status", "code": 429})
        return httpx2.Response(200, json={"metadata": {"name": "rc"}})

    obj = await make_client(handler, clock).get(RAYCLUSTER, "rc", namespace="ns")
    assert obj["metadata"]["name"] == "rc" and calls == 2


async def test_throttling_gives_up_after_max_retries() -> None:
    client = make_client(lambda r: status(429, "TooManyRequests"))
    client.max_throttle_retries = 0
    with pytest.raises(ApiError) as info:
        await client.get(POD, "p", namespace="ns")
    assert info.value.code == 429


@pytest.mark.parametrize(
    ("code", "reason", "check"),
    [
        pytest.param(404, "NotFound", is_not_found, id="not-found"),
        pytest.param(409, "Conflict", is_conflict, id="conflict"),
        pytest.param(410, "Expired", is_gone, id="gone"),
    ],
)
async def test_error_statuses_map_to_predicates(code: int, reason: str, check: Callable[[BaseException], bool]) -> None:
    with pytest.raises(ApiError) as info:
        await make_client(lambda r: status(code, reason)).get(POD, "p", namespace="ns")
    assert check(info.value)


async def test_writes_send_the_field_manager_and_patch_content_type() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    client = make_client(handler)
    await client.apply(RAYCLUSTER, {"metadata": {"name": "rc", "namespace": "ns"}, "spec": {}})
    await client.patch(POD, "p", [{"op": "remove", "path": "/x"}], namespace="ns", patch_type=PatchType.JSON)
    apply, patch = seen
    assert apply.headers["Content-Type"] == "application/apply-patch+yaml"
    assert apply.url.params["fieldManager"] == "raykube" and apply.url.params["force"] == "true"
    assert json.loads(apply.content)["kind"] == "RayCluster"
    assert patch.headers["Content-Type"] == "application/json-patch+json"
    assert "force" not in patch.url.params


async def test_replace_status_puts_the_status_subresource() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx2.Response(200, json={})

    await make_client(handler).replace_status(RAYCLUSTER, {"metadata": {"name": "rc", "namespace": "ns"}})
    assert seen == ["PUT /apis/ray.io/v1/namespaces/ns/rayclusters/rc/status"]


async def test_watch_streams_events_and_raises_error_events() -> None:
    lines = [
        {"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": "2"}}},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "3"}}},
        {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}},
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.params["allowWatchBookmarks"] == "true"
        assert request.url.params["resourceVersion"] == "1"
        return httpx2.Response(200, content="\n".join(json.dumps(line) for line in lines).encode())

    seen = []
    with pytest.raises(ApiError) as info:
        async for event in make_client(handler).watch(POD, namespace="ns", resource_version="1"):
            seen.append(event.type)
    assert seen == ["ADDED", "BOOKMARK"] and is_gone(info.value)


async def test_retry_on_conflict_reruns_until_success() -> None:
    attempts = 0

    async def update() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ApiError(409, "Conflict")
        return "ok"

    assert await retry_on_conflict(update, clock=FakeClock(auto_advance=True)) == "ok"
    assert attempts == 3


async def test_retry_on_conflict_does_not_retry_other_errors() -> None:
    async def update() -> None:
        raise ApiError(404, "NotFound")

    with pytest.raises(ApiError):
        await retry_on_conflict(update, clock=FakeClock(auto_advance=True))


async def test_writes_are_fenced_by_the_lease_but_reads_and_lease_writes_pass() -> None:
    sent: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(f"{request.method} {request.url.path}")
        return httpx2.Response(200, json={"metadata": {"name": "p"}})

    client = make_client(handler)
    events = client.with_rate_limit(10, 10)  # a twin shares the fence
    leading = False
    client.fence.holds = lambda: leading
    with pytest.raises(NotLeader):
        await client.create(POD, {"metadata": {"name": "p"}}, namespace="ns")
    with pytest.raises(NotLeader):
        await events.delete(POD, "p", namespace="ns")
    await client.get(POD, "p", namespace="ns")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l", "namespace": "ns"}}
    await client.replace(Lease, lease)
    assert sent == ["GET /api/v1/namespaces/ns/pods/p", "PUT /apis/coordination.k8s.io/v1/namespaces/ns/leases/l"]
    leading = True
    await client.create(POD, {"metadata": {"name": "p"}}, namespace="ns")
    assert sent[-1] == "POST /api/v1/namespaces/ns/pods"


async def test_read_log_asks_for_the_container_tail_and_previous_run() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.params.get("container") == "gone":
            return status(400, "BadRequest")
        return httpx2.Response(200, text="line 1\nline 2\n")

    client = make_client(handler)
    text = await client.read_log("ns", "p", container="autoscaler", tail_lines=50, previous=True)
    assert text == "line 1\nline 2\n"
    assert seen[0].url.path == "/api/v1/namespaces/ns/pods/p/log"
    assert dict(seen[0].url.params) == {"container": "autoscaler", "tailLines": "50", "previous": "true"}
    await client.read_log("ns", "p")
    assert dict(seen[1].url.params) == {}  # the whole log of the only container
    with pytest.raises(ApiError) as raised:
        await client.read_log("ns", "p", container="gone")
    assert raised.value.code == 400
