"""The informer's in-memory cache: objects by key, plus secondary indexes.

A :class:`Store` maps :class:`~raykube.runtime.objects.ObjectKey` to the latest raw object seen
and keeps any number of named indexes up to date (client-go's ``ThreadSafeStore`` + ``Indexers``).
An index function returns the index values of one object; :func:`label_index` ("pods of this
RayCluster": the ``ray.io/cluster`` label) and :func:`controller_uid_index` ("children of this
owner UID") are the two the Ray controllers need. Label index values are prefixed with the
namespace (``"ns/value"``, built by :func:`index_value`) because a label value is only unique
within a namespace.

There is no locking: the store is only touched from the event loop, and every method is
synchronous, so a reader never sees a half-applied event. Objects are shared, not copied — see
:mod:`raykube.runtime.objects`.

``metadata.managedFields`` is dropped from every object stored (controller-runtime's
``TransformStripManagedFields``): no controller reads it, and on a pod that the scheduler, the kubelet
and the operator have all written it is a third of the object (docs/benchmarks.md measures the
saving). A PUT of a cached object without it leaves the server's copy as it was.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import NamedTuple

from raykube.runtime.objects import Obj, ObjectKey, controller_ref, key_of, labels_of

IndexFunc = Callable[[Obj], Iterable[str]]
"""Returns the values under which an object is indexed (none, one or several)."""

Transform = Callable[[Obj], None]
"""Trims an object in place before it is stored (drops fields no reader of the store needs)."""


def index_value(namespace: str, value: str) -> str:
    """The value of a namespaced index entry: ``"namespace/value"``."""
    return f"{namespace}/{value}"


def label_index(label: str) -> IndexFunc:
    """Index objects by the value of ``label``, within their namespace."""

    def by_label(obj: Obj) -> Iterable[str]:
        value = labels_of(obj).get(label)
        return () if value is None else (index_value(key_of(obj).namespace, value),)

    return by_label


def controller_uid_index(obj: Obj) -> Iterable[str]:
    """Index objects by the UID of their controller owner (UIDs are cluster-unique)."""
    ref = controller_ref(obj)
    return (str(ref["uid"]),) if ref and ref.get("uid") else ()


class ReplaceDiff(NamedTuple):
    """What a relist changed: new objects, (old, new) pairs, and objects that disappeared."""

    added: list[Obj]
    updated: list[tuple[Obj, Obj]]
    deleted: list[Obj]


class Store:
    """Objects by key with named secondary indexes.

    Parameters:
        indexers: index name -> index function.
        transform: applied to every object before it is stored (after ``managedFields`` is dropped).
    """

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None, transform: Transform | None = None) -> None:
        self.transform = transform
        self._items: dict[ObjectKey, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[ObjectKey]]] = {}
        for name, fn in (indexers or {}).items():
            self.add_indexer(name, fn)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ObjectKey]:
        return iter(list(self._items))

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: ObjectKey) -> Obj | None:
        """The cached object, or ``None``."""
        return self._items.get(key)

    def keys(self) -> builtins.list[ObjectKey]:
        return list(self._items)

    def list(self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> list[Obj]:
        """Objects, optionally only one namespace's and only those carrying every ``labels`` pair."""
        found = []
        for key, obj in self._items.items():
            if namespace is not None and key.namespace != namespace:
                continue
            if labels and any(labels_of(obj).get(k) != v for k, v in labels.items()):
                continue
            found.append(obj)
        return found

    def by_index(self, index: str, value: str) -> builtins.list[Obj]:
        """Objects whose index function returned ``value`` (raises ``KeyError`` for an unknown index)."""
        keys = self._indices[index].get(value, ())
        return [self._items[key] for key in keys]

    def add_indexer(self, name: str, fn: IndexFunc) -> None:
        """Add an index and build it over the objects already stored."""
        if name in self._indexers:
            raise ValueError(f"index {name!r} already exists")
        self._indexers[name] = fn
        self._indices[name] = {}
        for key, obj in self._items.items():
            self._index(name, key, obj)

    def upsert(self, obj: Obj) -> Obj | None:
        """Store ``obj`` and return the object it replaced, if any."""
        key = key_of(obj)
        metadata = obj.get("metadata")
        if metadata is not None:
            metadata.pop("managedFields", None)
        if self.transform is not None:
            self.transform(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name in self._indexers:
            self._index(name, key, obj)
        return old

    def remove(self, key: ObjectKey) -> Obj | None:
        """Drop the object under ``key`` and return it, if it was there."""
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def replace(self, objs: Iterable[Obj]) -> ReplaceDiff:
        """Make the store hold exactly ``objs`` (after a relist) and report the difference."""
        diff = ReplaceDiff([], [], [])
        seen: set[ObjectKey] = set()
        for obj in objs:
            seen.add(key_of(obj))
            old = self.upsert(obj)
            if old is None:
                diff.added.append(obj)
            else:
                diff.updated.append((old, obj))
        for key in [k for k in self._items if k not in seen]:
            gone = self.remove(key)
            if gone is not None:
                diff.deleted.append(gone)
        return diff

    def _index(self, name: str, key: ObjectKey, obj: Obj) -> None:
        index = self._indices[name]
        for value in self._indexers[name](obj):
            index.setdefault(value, set()).add(key)

    def _unindex(self, key: ObjectKey, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for value in fn(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
