"""The machine's one real-node slot: who holds it, and the clean-up of a cluster that died holding it.

Only one real node runs per machine: kube-proxy owns the KUBE-* iptables chains machine-wide.

`/run/raykube/real-node.json` names the state directory of the cluster holding the slot, its NodePlan and
every process it started (pid + start time), kept current as they start. It outlives the state directory:
when that is deleted under a running cluster (a test run killed before its clean-up, whose temporary
directory was then removed), the next `up` still finds the processes and stops them by their records.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from raykube.local import processes
from raykube.local.controlplane.components import etcd_data_dir
from raykube.local.nodes.real.lifecycle import attempt, stop, undo_host
from raykube.local.nodes.real.plan import NodePlan, Progress, RealNodeError
from raykube.local.processes import ProcessRecord

MACHINE_RECORD = Path("/run/raykube/real-node.json")
CLAIM_GRACE = 120.0  # seconds a fresh claim counts as live before its first process is recorded
STOP_GRACE = 300.0  # seconds a cluster in `down` counts as live (its processes are gone before its rules)


def _read_machine() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(MACHINE_RECORD.read_text())
        return data
    except (OSError, ValueError):
        return {}


def _write_machine(data: dict[str, Any]) -> None:
    MACHINE_RECORD.parent.mkdir(parents=True, exist_ok=True)
    tmp = MACHINE_RECORD.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(MACHINE_RECORD)


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    MACHINE_RECORD.parent.mkdir(parents=True, exist_ok=True)
    with open(MACHINE_RECORD.with_suffix(".lock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        yield


def _records(data: dict[str, Any]) -> list[ProcessRecord]:
    return [ProcessRecord.from_json(p) for p in data.get("processes", [])]


def _live(data: dict[str, Any]) -> bool:
    """The recorded cluster still runs, is being stopped, or has just claimed the slot."""
    if time.time() - float(data.get("stopping") or 0) < STOP_GRACE:
        return True  # `down` is undoing its host changes: not ours to reap yet
    if any(processes.is_alive(r) for r in _records(data)):
        return Path(data["state_dir"], "state.json").exists()
    return not data.get("processes") and time.time() - float(data.get("claimed", 0)) < CLAIM_GRACE


# The plain-text slot file of earlier raykube versions: honoured so that runs of both never overlap.
_LEGACY_SLOT = MACHINE_RECORD.with_suffix("")


def _legacy_owner() -> Path | None:
    try:
        owner = Path(_LEGACY_SLOT.read_text().strip())
        state = json.loads((owner / "state.json").read_text())
    except (OSError, ValueError):
        return None
    alive = any(processes.is_alive(ProcessRecord.from_json(p)) for p in state.get("processes", []))
    return owner if alive else None


def lock_owner() -> Path | None:
    """The state directory of the real-node cluster running on this machine, if there is one."""
    data = _read_machine()
    return Path(data["state_dir"]) if data and _live(data) else _legacy_owner()


machine_owner = lock_owner


def acquire_machine(state_dir: Path, *, wait: float = 0.0, progress: Progress = lambda _: None) -> None:
    """Claim the machine's real-node slot for `state_dir`, waiting up to `wait` seconds for a running one.

    A cluster that was abandoned (its state directory is gone, or it is dead but left host changes) is
    stopped and cleaned up from the machine record first. RealNodeError if a live cluster keeps the slot.
    """
    deadline = time.monotonic() + wait
    while True:
        with _machine_lock():
            data = _read_machine()
            owner = Path(data["state_dir"]) if data else _legacy_owner()
            if owner is None or owner == state_dir or (data and not _live(data)):
                if data and owner != state_dir:
                    _reap(data, progress)
                _write_machine({"state_dir": str(state_dir), "claimed": time.time(), "node": None, "processes": []})
                return
        if time.monotonic() > deadline:
            raise RealNodeError(
                f"a real-node cluster is already running on this machine (state dir {owner}); only one can: "
                f"stop it with `raykube local down --state-dir {owner}`"
            )
        time.sleep(2)


def reap_abandoned(progress: Progress = lambda _: None) -> Path | None:
    """Clean up after a real-node cluster that died without `down` (a crash, a killed session).

    Its processes are stopped and its host changes undone from the machine record; returns its state
    directory, or None when there was nothing to reap (no record, or a cluster that is alive). `up` does
    the same before it claims the machine; a test calls this first so that its "before" is the clean machine.
    """
    with _machine_lock():
        data = _read_machine()
        if not data or _live(data):
            return None
        _reap(data, progress)
        MACHINE_RECORD.unlink(missing_ok=True)
        return Path(data["state_dir"])


def record_on_machine(state_dir: Path, node: dict[str, Any] | None, records: list[dict[str, Any]]) -> None:
    """Keep the machine record current: the plan and every process started so far."""
    with _machine_lock():
        data = _read_machine()
        if data.get("state_dir") == str(state_dir):
            data.update(node=node, processes=records)
            _write_machine(data)


def mark_stopping(state_dir: Path) -> None:
    """`down` has begun: the slot stays taken until `release_machine`, even once no process is left."""
    with _machine_lock():
        data = _read_machine()
        if data.get("state_dir") == str(state_dir):
            data["stopping"] = time.time()
            _write_machine(data)


def release_machine(state_dir: Path) -> None:
    with _machine_lock():
        if _read_machine().get("state_dir") == str(state_dir):
            MACHINE_RECORD.unlink(missing_ok=True)


def _reap(data: dict[str, Any], progress: Progress) -> None:
    """Stop an abandoned cluster from its machine record: node, control plane, host changes."""
    records = _records(data)
    alive = [r.name for r in records if processes.is_alive(r)]
    if alive:
        progress(f"stopping an abandoned real-node cluster ({data['state_dir']}): {', '.join(alive)}")
    plan = NodePlan(**data["node"]) if data.get("node") else None
    errors: list[str] = []
    if plan is not None:
        stop(plan, records, progress, errors)
    for record in reversed(records):
        attempt(errors, f"stopping {record.name}", lambda r=record: processes.stop(r))  # type: ignore[misc]
    if plan is not None:
        undo_host(plan, progress, errors)
    shutil.rmtree(etcd_data_dir(Path(data["state_dir"])), ignore_errors=True)  # its tmpfs memory
    if errors:
        raise RealNodeError("could not clean up an abandoned real-node cluster:\n" + "\n".join(errors))


