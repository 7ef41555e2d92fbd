"""An in-memory API server for reconciler tests: writes land in the informer stores, as a watch would deliver them.

Enough of the API's semantics to catch real mistakes: resourceVersion compare-and-swap (409 Conflict),
AlreadyExists on create, NotFound, finalizers holding a deletion, the status subresource ignoring spec.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from raykube.controllers.kinds import EVENT, JOB, POD, RAYCLUSTER, RAYJOB, SERVICE
from raykube.controllers.raycluster.cache import BY_CLUSTER, by_cluster
from raykube.controllers.rayjob.cache import JobCache, JobInformers
from raykube.runtime.errors import ApiError
from raykube.runtime.informer import Informer
from raykube.runtime.kinds import KindLike, ResourceKind
from raykube.runtime.objects import Obj, ObjectKey

NOW_STAMP = "2026-01-01T12:00:00Z"


class FakeApi:
    """Objects by kind, stored in the informers a :class:`JobCache` reads."""

    def __init__(self) -> None:
        self.informers = JobInformers(
            rayjobs=Informer(self, RAYJOB),  # type: ignore[arg-type]
            clusters=Informer(self, RAYCLUSTER),  # type: ignore[arg-type]
            submitters=Informer(self, JOB),  # type: ignore[arg-type]
            services=Informer(self, SERVICE),  # type: ignore[arg-type]
            pods=Informer(self, POD, indexers={BY_CLUSTER: by_cluster}),  # type: ignore[arg-type]
        )
        self.cache = JobCache({None: self.informers})
        self._stores = {
            RAYJOB.plural: self.informers.rayjobs.store,
            RAYCLUSTER.plural: self.informers.clusters.store,
            JOB.plural: self.informers.submitters.store,
            SERVICE.plural: self.informers.services.store,
            POD.plural: self.informers.pods.store,
        }
        self._rv = itertools.count(1)
        self._uid = itertools.count(1)
        self.events: list[Obj] = []
        self.writes: list[tuple[str, str, str]] = []

    def _store(self, kind: KindLike) -> Any:
        return self._stores[ResourceKind.of(kind).plural]

    def _stamp(self, obj: Obj) -> Obj:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        stored = copy.deepcopy(obj)
        return stored

    def obj(self, kind: KindLike, name: str, namespace: str = "ns") -> Obj | None:
        found: Obj | None = self._store(kind).get(ObjectKey(namespace, name))
        return found

    def put(self, kind: KindLike, obj: Obj) -> Obj:
        """Store an object as if someone else had written it."""
        obj = copy.deepcopy(obj)
        obj["metadata"].setdefault("uid", f"uid-{next(self._uid)}")
        obj["metadata"].setdefault("generation", 1)
        stored = self._stamp(obj)
        self._store(kind).upsert(stored)
        return stored

    async def create(self, kind: KindLike, obj: Any, *, namespace: str | None = None) -> Obj:
        rk = ResourceKind.of(kind)
        if rk == EVENT:
            self.events.append(obj)
            event: Obj = obj
            return event
        if "name" not in obj["metadata"]:  # generateName, as the API server does it
            generated = f"{obj['metadata']['generateName']}{next(self._uid)}"
            obj = {**obj, "metadata": {**obj["metadata"], "name": generated}}
        name = obj["metadata"]["name"]
        if self.obj(kind, name, namespace or obj["metadata"]["namespace"]) is not None:
            raise ApiError(409, "AlreadyExists", f"{name} exists")
        self.writes.append(("create", rk.kind, name))
        body = copy.deepcopy(obj)
        body["metadata"]["namespace"] = namespace or body["metadata"]["namespace"]
        body["metadata"]["creationTimestamp"] = NOW_STAMP
        return self.put(kind, body)

    async def get(self, kind: KindLike, name: str, *, namespace: str | None = None) -> Obj:
        found = self.obj(kind, name, namespace or "ns")
        if found is None:
            raise ApiError(404, "NotFound", name)
        return copy.deepcopy(found)

    async def replace(self, kind: KindLike, obj: Any, *, subresource: str | None = None) -> Obj:
        rk = ResourceKind.of(kind)
        meta = obj["metadata"]
        current = self.obj(kind, meta["name"], meta["namespace"])
        if current is None:
            raise ApiError(404, "NotFound", meta["name"])
        if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified")
        self.writes.append(("replace" + (f"/{subresource}" if subresource else ""), rk.kind, meta["name"]))
        body = copy.deepcopy(current)
        if subresource == "status":
            body["status"] = copy.deepcopy(obj.get("status"))
        else:
            body["metadata"]["finalizers"] = list(meta.get("finalizers") or [])
            body["spec"] = copy.deepcopy(obj.get("spec"))
        if body["metadata"].get("deletionTimestamp") and not body["metadata"].get("finalizers"):
            self._store(kind).remove(ObjectKey(meta["namespace"], meta["name"]))
            return body
        stored = self._stamp(body)
        self._store(kind).upsert(stored)
        return copy.deepcopy(stored)

    async def replace_status(self, kind: KindLike, obj: Any) -> Obj:
        return await self.replace(kind, obj, subresource="status")

    async def patch(
        self, kind: KindLike, name: str, patch: Any, *, namespace: str | None = None, patch_type: Any = None, **_: Any
    ) -> Obj:
        current = self.obj(kind, name, namespace or "ns")
        if current is None:
            raise ApiError(404, "NotFound", name)
        self.writes.append(("patch", ResourceKind.of(kind).kind, name))
        body = copy.deepcopy(current)
        if isinstance(patch, list):  # JSON patch: test and add are all the controller sends
            for op in patch:
                parts = [int(p) if p.isdigit() else p for p in op["path"].strip("/").split("/")]
                target: Any = body
                for part in parts[:-1]:
                    target = target[part]
                if op["op"] == "test" and target.get(parts[-1]) != op["value"]:
                    raise ApiError(422, "Invalid", "test failed")
                if op["op"] == "add":
                    target[parts[-1]] = op["value"]
        else:
            _merge(body, patch)
        stored = self._stamp(body)
        self._store(kind).upsert(stored)
        return stored

    async def delete(self, kind: KindLike, name: str, *, namespace: str | None = None, **_: Any) -> None:
        namespace = namespace or "ns"
        current = self.obj(kind, name, namespace)
        if current is None:
            raise ApiError(404, "NotFound", name)
        self.writes.append(("delete", ResourceKind.of(kind).kind, name))
        if current["metadata"].get("finalizers"):
            body = copy.deepcopy(current)
            body["metadata"]["deletionTimestamp"] = NOW_STAMP
            self._store(kind).upsert(self._stamp(body))
            return
        self._store(kind).remove(ObjectKey(namespace, name))


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = value
