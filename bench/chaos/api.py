"""The chaos suite's view of the API server: a small synchronous admin client (create, list, patch, delete)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import yaml

PLURALS = {"RayCluster": "rayclusters", "RayJob": "rayjobs", "RayService": "rayservices", "RayCronJob": "raycronjobs"}


class Api:
    """Admin requests through the certificate paths of a local cluster's kubeconfig."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        context.load_cert_chain(user["client-certificate"], user["client-key"])
        self._http = httpx.Client(base_url=cluster["server"], verify=context, timeout=60)

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def ray_path(namespace: str, kind: str, name: str = "") -> str:
        return f"/apis/ray.io/v1/namespaces/{namespace}/{PLURALS[kind]}" + (f"/{name}" if name else "")

    def create(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        """POST; the status code and, for an error, the server's message."""
        response = self._http.post(path, json=body)
        if response.is_error:
            try:
                message = str(response.json().get("message") or response.text)
            except ValueError:
                message = response.text
            return response.status_code, message
        return response.status_code, ""

    def items(self, path: str) -> list[dict[str, Any]]:
        response = self._http.get(path)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json().get("items") or [])

    def get(self, path: str) -> dict[str, Any] | None:
        response = self._http.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def merge_patch(self, path: str, patch: dict[str, Any]) -> None:
        self._http.patch(path, json=patch, headers={"Content-Type": "application/merge-patch+json"}
                         ).raise_for_status()

    def delete(self, path: str) -> None:
        self._http.delete(path)

    def namespace(self, name: str) -> str:
        self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name
