"""Start, watch and stop the local cluster's processes, each by its recorded pid.

Every component runs in its own session (process group), logs to `<state>/logs/<name>.log`, and is
recorded with its pid and start time in the cluster's state file. Stopping checks that the pid still
belongs to the process we started (same start time in /proc), so a recycled pid is never killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class ComponentFailedError(RuntimeError):
    """A component exited or did not become healthy; the message names it and ends with its log tail."""


@dataclass(frozen=True)
class ProcessRecord:
    """What we need to find a started process again: name, pid, /proc start time, log path."""

    name: str
    pid: int
    start_ticks: int
    log: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessRecord:
        return cls(name=data["name"], pid=int(data["pid"]), start_ticks=int(data["start_ticks"]), log=data["log"])


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on, or None if the pid is gone.

    The command name (field 2) may contain spaces; it is enclosed in parentheses.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _start_ticks(pid: int, *, zombie_ok: bool = False) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if the pid is gone.

    A zombie counts as gone unless `zombie_ok` (a child that exited at once is still ours to report).
    """
    fields = _stat_fields(pid)
    if fields is None or (fields[0] == "Z" and not zombie_ok):
        return None
    return int(fields[19])


def pid_running(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    return _start_ticks(pid) is not None


def is_alive(record: ProcessRecord) -> bool:
    """True if the recorded process still runs (and its pid was not recycled)."""
    return _start_ticks(record.pid) == record.start_ticks


def record_of(pid: int, name: str, log: str = "") -> ProcessRecord | None:
    """A record of a running process (this one, or one we did not start), or None if `pid` is gone."""
    ticks = _start_ticks(pid)
    return None if ticks is None else ProcessRecord(name, pid, ticks, log)


def log_tail(path: str | Path, lines: int = 25) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _join_cgroup(procs_files: Sequence[Path]) -> Callable[[], None]:
    def join() -> None:  # runs in the child between fork and exec
        pid = str(os.getpid())
        for procs in procs_files:
            with open(procs, "w") as f:
                f.write(pid)
    return join


def start(
    name: str,
    argv: Sequence[str | Path],
    *,
    log_dir: Path,
    env: dict[str, str] | None = None,
    cgroup: Sequence[Path] = (),
) -> ProcessRecord:
    """Start `argv` in a new session with output appended to `<log_dir>/<name>.log`.

    `cgroup`: `cgroup.procs` files the child joins before it executes `argv` (so that nothing it
    forks can escape them).
    """
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            preexec_fn=_join_cgroup(cgroup) if cgroup else None,
        )
    ticks = _start_ticks(proc.pid, zombie_ok=True)
    if ticks is None:  # cannot happen while we have not reaped it; kept as a guard
        raise ComponentFailedError(f"{name} exited at once:\n{log_tail(log_path)}")
    # Popen objects reap their child in __del__; we track by pid instead, so detach it.
    proc.returncode = 0
    return ProcessRecord(name=name, pid=proc.pid, start_ticks=ticks, log=str(log_path))


def wait_until(
    record: ProcessRecord,
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str = "healthy",
    interval: float = 0.1,
) -> float:
    """Poll `check` until it is true; return the seconds it took.

    Fails fast, with the log tail, if the process exits, and after `timeout` seconds otherwise.
    """
    start_time = time.monotonic()
    deadline = start_time + timeout
    while True:
        try:
            if check():
                return time.monotonic() - start_time
        except Exception:
            pass
        if not is_alive(record):
            _reap(record.pid)
            raise ComponentFailedError(f"{record.name} exited before it was {what}; log tail:\n{log_tail(record.log)}")
        if time.monotonic() > deadline:
            raise ComponentFailedError(
                f"{record.name} did not become {what} within {timeout:.0f}s; log tail:\n{log_tail(record.log)}"
            )
        time.sleep(interval)


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie (not our child: no-op)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def group_members(pgid: int) -> list[int]:
    """Running (non-zombie) processes of the process group `pgid`."""
    members = []
    for proc in Path("/proc").iterdir():
        fields = _stat_fields(int(proc.name)) if proc.name.isdigit() else None
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(proc.name))
    return members


def stop(record: ProcessRecord, *, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL after `grace` seconds; no-op if already gone.

    Returns once the leader and every other member of its group are gone: a leader often exits before the
    children it forked have handled the same signal, and `down` must not return while they still run.
    """
    if not is_alive(record):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(record.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(record.pid)
            if not is_alive(record) and not group_members(record.pid):
                return
            time.sleep(0.05)
    if not is_alive(record):
        return  # only members that even SIGKILL has not ended yet (uninterruptible sleep): they will go
    raise ComponentFailedError(f"{record.name} (pid {record.pid}) did not stop after SIGKILL")
