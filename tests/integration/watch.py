"""Every change of a kind of object, as the API server reports it: `kubectl get -w` in the background.

Tests that must account for every change (each pod the operator created or deleted, each spec change an
autoscaler made) record with this instead of polling, which misses what came and went between two polls.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

from raykube.local.binaries import binary


class Recorder:
    """`kubectl get KIND -n NS -w --output-watch-events -o json`: its events, in order, until `stop`."""

    def __init__(self, kubeconfig: Path, namespace: str, kind: str, *args: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [str(binary("kubectl")), f"--kubeconfig={kubeconfig}", "get", kind, "-n", namespace, *args,
             "--watch", "--output-watch-events", "-o", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        lines: list[str] = []
        for line in self._proc.stdout:
            lines.append(line)
            # kubectl prints one compact object a line (older versions pretty-printed over several lines):
            # an event is complete once what was read so far parses.
            try:
                event = json.loads("".join(lines))
            except json.JSONDecodeError:
                continue
            lines.clear()
            with self._lock:
                self.events.append((event["type"], event["object"]))

    def snapshot(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.events)

    def stop(self) -> list[tuple[str, dict[str, Any]]]:
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._thread.join(timeout=10)
        return self.snapshot()

    # -- what happened to pods --------------------------------------------------------------------------

    def created(self) -> list[str]:
        """Names of the objects that appeared, in order (kubectl reports those present at the start, too)."""
        seen: list[str] = []
        for kind, obj in self.snapshot():
            name = obj["metadata"]["name"]
            if kind == "ADDED" and name not in seen:
                seen.append(name)
        return seen

    def deleted(self) -> list[str]:
        """Names of the objects that were deleted (marked for deletion or gone), in order."""
        gone: list[str] = []
        for kind, obj in self.snapshot():
            name = obj["metadata"]["name"]
            if (kind == "DELETED" or obj["metadata"].get("deletionTimestamp")) and name not in gone:
                gone.append(name)
        return gone
