"""What every builder shares: the object's metadata and its output as JSON or YAML."""

from __future__ import annotations

import copy
from typing import Any, Self

import yaml


class ObjectBuilder:
    """Metadata of one object; a subclass adds ``apiVersion``, ``kind`` and the rest in :meth:`json`."""

    api_version = "ray.io/v1"
    kind = ""

    def __init__(self, name: str) -> None:
        self._metadata: dict[str, Any] = {"name": name}

    def namespace(self, namespace: str) -> Self:
        self._metadata["namespace"] = namespace
        return self

    def uid(self, uid: str) -> Self:
        """As the API server would have set it (a unit test's object "from the cache")."""
        self._metadata["uid"] = uid
        return self

    def generation(self, generation: int) -> Self:
        self._metadata["generation"] = generation
        return self

    def annotate(self, key: str, value: str) -> Self:
        self._metadata.setdefault("annotations", {})[key] = value
        return self

    def label(self, key: str, value: str) -> Self:
        self._metadata.setdefault("labels", {})[key] = value
        return self

    def body(self) -> dict[str, Any]:
        """Everything but ``apiVersion``, ``kind`` and ``metadata`` (``spec``, ``status``)."""
        raise NotImplementedError

    def json(self) -> dict[str, Any]:
        """The manifest, a fresh copy each time."""
        head = {"apiVersion": self.api_version, "kind": self.kind, "metadata": self._metadata}
        return copy.deepcopy({**head, **self.body()})

    def yaml(self) -> str:
        return yaml.safe_dump(self.json())
