"""A thin async Kubernetes client over raw JSON objects.

Why not lightkube's ``AsyncClient`` directly: lightkube 1.0.1 (on ``httpx2``) decodes into typed
models and hides the watch loop (it resets the resourceVersion on 410 by itself and has no
bookmark option), while the informer must own list/watch/relist and the controllers want plain
dicts for custom resources. So this module reuses lightkube only where it is good and boring —
kubeconfig / in-cluster config, TLS and auth (``lightkube.config``) — and speaks HTTP itself:

* objects are ``dict`` in and out (lightkube models with ``to_dict()`` are accepted as input);
* kinds are :class:`~raykube.runtime.kinds.ResourceKind` values or lightkube resource classes;
* every request takes a token from a client-side bucket (controller-runtime defaults 20 qps,
  burst 30), and a 429 (or a 5xx with ``Retry-After``) is retried after the delay the server asked
  for, up to ``max_throttle_retries`` times, like client-go's ``rest`` package;
* failures raise :class:`~raykube.runtime.errors.ApiError`; :func:`retry_on_conflict` re-runs a
  read-modify-write on 409 (client-go ``retry.RetryOnConflict``, 5 steps of 10 ms).

WARNING: :meth:`KubeClient.apply` (server-side apply) owns every field it sends. Send only the
fields this controller decides; sending a server-defaulted field back claims it and turns later
defaulting changes into conflicts.
"""

from __future__ import annotations

import enum
import logging
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

import httpx2
import msgspec
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig

from raykube.runtime.apiaccess import load_config
from raykube.runtime.clock import Clock, RealClock
from raykube.runtime.errors import ApiError, NotLeader, is_conflict
from raykube.runtime.kinds import KindLike, ResourceKind
from raykube.runtime.objects import Obj, meta
from raykube.runtime.ratelimit import TokenBucket
from raykube.runtime.transport import Http11Transport

_log = logging.getLogger(__name__)
T = TypeVar("T")


class PatchType(enum.StrEnum):
    """Patch flavours, as HTTP content types.

    Attributes:
        MERGE: JSON merge patch (RFC 7386); ``None`` deletes a key.
        JSON: JSON patch (RFC 6902), a list of operations; ``test`` ops give optimistic locking.
        STRATEGIC: strategic merge patch (built-in kinds only).
        APPLY: server-side apply; needs a field manager.
    """

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class ObjectList(NamedTuple):
    """A full list: every page's items and the list's ``resourceVersion`` to watch from."""

    items: list[Obj]
    resource_version: str


class WatchEvent(NamedTuple):
    """One watch event: ``ADDED``, ``MODIFIED``, ``DELETED`` or ``BOOKMARK`` with its object."""

    type: str
    object: Obj


def _body(obj: Any) -> Any:
    """Objects go out as dicts; lightkube models are converted with ``to_dict()``."""
    to_dict = getattr(obj, "to_dict", None)
    return to_dict() if callable(to_dict) else obj


class WriteFence:
    """Shared by a client and its twins: ``holds`` (set by leader election) must answer True before any
    write is sent. Lease writes pass anyway: they are how leadership is won and kept."""

    def __init__(self) -> None:
        self.holds: Callable[[], bool] | None = None

    def check(self, method: str, path: str) -> None:
        if method == "GET" or self.holds is None or "/apis/coordination.k8s.io/" in path:
            return
        if not self.holds():
            raise NotLeader(f"{method} {path} not sent: this process no longer holds its leader Lease")


class KubeClient:
    """Async access to the Kubernetes API for controllers, informers, leases and events.

    Parameters:
        http: a configured ``httpx2.AsyncClient`` (base URL, TLS, auth); see the ``from_*`` builders.
        qps: client-side request rate.
        burst: client-side burst.
        clock: time source for the bucket and throttling delays.
        field_manager: ``fieldManager`` sent with every write.
        max_throttle_retries: how often a 429 is retried before it is raised.
        on_response: called with (HTTP method, status code) after every response, e.g. to count
            requests as client-go's ``rest_client_requests_total``.
    """

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        qps: float = 20.0,
        burst: int = 30,
        clock: Clock | None = None,
        field_manager: str = "raykube",
        max_throttle_retries: int = 10,
        on_response: Callable[[str, int], None] | None = None,
        fence: WriteFence | None = None,
    ) -> None:
        self._http = http
        self.fence = fence or WriteFence()
        self.on_response = on_response
        self._clock = clock or RealClock()
        self._bucket = TokenBucket(qps, burst, clock=self._clock)
        self.field_manager = field_manager
        self.max_throttle_retries = max_throttle_retries

    @classmethod
    def from_config(cls, config: SingleConfig, *, timeout: float = 30.0, **kwargs: Any) -> KubeClient:
        """Build from one resolved lightkube config (cluster, user, context).

        The connections are :class:`~raykube.runtime.transport.Http11Transport`'s (a quarter less operator CPU
        than httpx's default transport, docs/benchmarks.md); ``RAYKUBE_HTTP_TRANSPORT=httpx`` selects httpx's
        own, to compare or to rule the transport out when debugging.
        """
        transport = None
        if os.environ.get("RAYKUBE_HTTP_TRANSPORT", "raykube") != "httpx":
            assert config.user is not None, "Missing user"
            verify = client_adapter.verify_cluster(config.cluster, config.user, config.abs_file)
            transport = Http11Transport(verify)
        # lightkube annotates the field with the sync base class; httpx2.AsyncClient takes the async one
        params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(timeout), transport=transport)  # type: ignore[arg-type]
        return cls(client_adapter.AsyncClient(config, params), **kwargs)

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, *, context: str | None = None, **kwargs: Any) -> KubeClient:
        """Build from a kubeconfig file (``None``: ``$KUBECONFIG`` or the default location)."""
        return cls.from_config(load_config(path, context=context), **kwargs)

    @classmethod
    def from_in_cluster(cls, **kwargs: Any) -> KubeClient:
        """Build from the pod's service account (token, CA and ``KUBERNETES_SERVICE_*``)."""
        config = KubeConfig.from_service_account().get()
        assert config is not None
        return cls.from_config(config, **kwargs)

    def with_rate_limit(self, qps: float, burst: int) -> KubeClient:
        """A client sharing this one's connections but with its own token bucket.

        client-go gives the event broadcaster its own limiter for the same reason: Events must neither
        starve nor be starved by the controller's own requests.
        """
        twin = KubeClient(self._http, qps=qps, burst=burst, clock=self._clock, field_manager=self.field_manager,
                          max_throttle_retries=self.max_throttle_retries, on_response=self.on_response,
                          fence=self.fence)
        return twin

    async def close(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    # -- reads -----------------------------------------------------------------------------------

    async def get(self, kind: KindLike, name: str, *, namespace: str | None = None) -> Obj:
        """Read one object (raises ``ApiError`` 404 when it does not exist)."""
        return await self._json("GET", ResourceKind.of(kind).path(namespace, name))

    async def list(
        self,
        kind: KindLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
    ) -> ObjectList:
        """List every object (following ``continue`` tokens); ``namespace=None`` lists all namespaces."""
        path = ResourceKind.of(kind).path(namespace)
        params = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": str(page_size)}
        items: list[Obj] = []
        while True:
            page = await self._json("GET", path, params=params)
            items.extend(page.get("items") or ())
            list_meta = page.get("metadata") or {}
            token = list_meta.get("continue")
            if not token:
                return ObjectList(items, str(list_meta.get("resourceVersion") or ""))
            params["continue"] = token

    async def watch(
        self,
        kind: KindLike,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        allow_bookmarks: bool = True,
        timeout_seconds: int | None = None,
    ) -> AsyncIterator[WatchEvent]:
        """Stream changes after ``resource_version`` until the server closes the stream.

        An ``ERROR`` event is raised as ``ApiError`` (410 means: relist).
        """
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
            "resourceVersion": resource_version or None,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "timeoutSeconds": str(timeout_seconds) if timeout_seconds else None,
        }
        path = ResourceKind.of(kind).path(namespace)
        response = await self._send("GET", path, params=params, stream=True)
        try:
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = msgspec.json.decode(line)
                if event.get("type") == "ERROR":
                    raise ApiError.from_status(event.get("object") or {})
                yield WatchEvent(str(event.get("type")), event.get("object") or {})
        finally:
            await response.aclose()

    # -- writes ----------------------------------------------------------------------------------

    async def create(self, kind: KindLike, obj: Any, *, namespace: str | None = None) -> Obj:
        """Create ``obj`` (its ``metadata.namespace`` is used when ``namespace`` is not given)."""
        body = _body(obj)
        rk = ResourceKind.of(kind)
        return await self._json("POST", rk.path(self._namespace(rk, body, namespace)), body=body, write=True)

    async def replace(self, kind: KindLike, obj: Any, *, subresource: str | None = None) -> Obj:
        """PUT the whole object; its ``resourceVersion`` makes this a compare-and-swap (409 if stale)."""
        body = _body(obj)
        rk = ResourceKind.of(kind)
        path = rk.path(self._namespace(rk, body, None), meta(body).get("name"), subresource)
        return await self._json("PUT", path, body=body, write=True)

    async def replace_status(self, kind: KindLike, obj: Any) -> Obj:
        """PUT the ``status`` subresource (spec changes in ``obj`` are ignored by the server)."""
        return await self.replace(kind, obj, subresource="status")

    async def patch(
        self,
        kind: KindLike,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str | None = None,
        force: bool = False,
    ) -> Obj:
        """Patch one object; ``force`` only applies to :attr:`PatchType.APPLY`."""
        path = ResourceKind.of(kind).path(namespace, name, subresource)
        params: dict[str, str | None] = {"force": "true" if force and patch_type is PatchType.APPLY else None}
        return await self._json(
            "PATCH", path, body=_body(patch), content_type=patch_type.value, params=params, write=True
        )

    async def apply(self, kind: KindLike, obj: Any, *, subresource: str | None = None, force: bool = True) -> Obj:
        """Server-side apply ``obj`` as this client's field manager (see the module WARNING)."""
        body = _body(obj)
        rk = ResourceKind.of(kind)
        body.setdefault("apiVersion", rk.api_version)
        body.setdefault("kind", rk.kind)
        namespace = self._namespace(rk, body, None)
        return await self.patch(
            rk,
            meta(body)["name"],
            body,
            namespace=namespace,
            patch_type=PatchType.APPLY,
            subresource=subresource,
            force=force,
        )

    async def delete(
        self,
        kind: KindLike,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = "Background",
        uid: str | None = None,
        resource_version: str | None = None,
    ) -> None:
        """Delete one object; ``uid``/``resource_version`` are preconditions (409 when they differ)."""
        preconditions = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if preconditions:
            body["preconditions"] = preconditions
        await self._send("DELETE", ResourceKind.of(kind).path(namespace, name), body=body)

    async def read_log(self, namespace: str, pod: str, *, container: str | None = None,
                       tail_lines: int | None = None, previous: bool = False) -> str:
        """A container's log as text (``GET .../pods/NAME/log``): its last ``tail_lines`` lines, of the
        previous run with ``previous`` (what a crashed container printed before it was restarted)."""
        params = {"container": container, "tailLines": str(tail_lines) if tail_lines else None,
                  "previous": "true" if previous else None}
        response = await self._send("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params=params)
        return response.text

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _namespace(kind: ResourceKind, body: Any, namespace: str | None) -> str | None:
        if not kind.namespaced:
            return None
        found = namespace or meta(body).get("namespace")
        if not found:
            raise ValueError(f"a namespace is required for {kind.kind}")
        return str(found)

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | None] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        write: bool = False,
    ) -> Obj:
        if write:
            params = {**(params or {}), "fieldManager": self.field_manager}
        response = await self._send(method, path, params=params, body=body, content_type=content_type)
        decoded: Obj = msgspec.json.decode(response.content)
        return decoded

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | None] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        stream: bool = False,
    ) -> httpx2.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        content = msgspec.json.encode(body) if body is not None else None
        headers = {"Content-Type": content_type} if content is not None else {}
        timeout = httpx2.Timeout(30.0, read=None) if stream else httpx2.USE_CLIENT_DEFAULT
        for attempt in range(self.max_throttle_retries + 1):
            await self._bucket.acquire()
            self.fence.check(method, path)  # after the wait: the lease may have been lost meanwhile
            request = self._http.build_request(
                method, path, params=query, content=content, headers=headers, timeout=timeout
            )
            response = await self._http.send(request, stream=stream)
            if self.on_response is not None:
                self.on_response(method, response.status_code)
            if response.status_code < 400:
                return response
            if stream:
                await response.aread()
                await response.aclose()
            error = _api_error(response)
            if error.retry_after is None or attempt == self.max_throttle_retries:
                raise error
            _log.info(
                "throttled by the API server path=%s code=%d retry_after=%.3f",
                path,
                error.code,
                error.retry_after,
            )
            await self._clock.sleep(error.retry_after)
        raise AssertionError("unreachable")


def _api_error(response: httpx2.Response) -> ApiError:
    """Turn an error response into ``ApiError``; ``retry_after`` is set when a retry is allowed."""
    try:
        status = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        error = ApiError.from_status(status, default_code=response.status_code)
        error.code = response.status_code
    else:
        error = ApiError(response.status_code, message=response.text[:200])
    header = response.headers.get("Retry-After")
    if response.status_code == 429 or (response.status_code >= 500 and header):
        try:
            error.retry_after = max(float(header), 0.0) if header else 1.0
        except ValueError:
            error.retry_after = 1.0
    return error


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]],
    *,
    steps: int = 5,
    delay: float = 0.01,
    jitter: float = 0.1,
    clock: Clock | None = None,
) -> T:
    """Run ``fn`` (a fresh read-modify-write each time) again while it fails with a 409 Conflict.

    Parameters:
        fn: the whole read-modify-write; it must re-read the object on every call.
        steps: attempts in total (client-go ``DefaultRetry``: 5).
        delay: pause between attempts, seconds (10 ms), plus up to ``jitter`` of it.
        jitter: fraction of random extra delay.
        clock: time source.
    """
    clock = clock or RealClock()
    for attempt in range(steps):
        try:
            return await fn()
        except ApiError as exc:
            if not is_conflict(exc) or attempt == steps - 1:
                raise
        await clock.sleep(delay * (1 + jitter * random.random()))
    raise AssertionError("unreachable")
