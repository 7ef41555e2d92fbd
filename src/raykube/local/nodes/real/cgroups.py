"""One cgroup subtree per real node, so that everything the node runs can be found and stopped.

`/<name>/node` holds the node's daemons (containerd and, by inheritance, its shims; kubelet; kube-proxy;
CoreDNS; the mount-namespace holder). The kubelet gets `cgroupRoot: /<name>` and puts pods under
`/<name>/kubepods`. Stopping the node therefore never depends on names: whatever is left in the subtree
after the daemons were stopped by pid is frozen, killed and the cgroups removed.

Works with cgroup v1 (every mounted hierarchy, including the hybrid `unified` v2 mount that runc also
uses) and with a pure cgroup v2 machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

CGROUP_FS = Path("/sys/fs/cgroup")


def _mounts() -> list[tuple[str, Path]]:
    """(fstype, mount point) of every cgroup/cgroup2 mount."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fstype = post.split()[0] if post else ""
        if fstype in ("cgroup", "cgroup2"):
            found.append((fstype, Path(pre.split()[4])))
    return found


def is_v2() -> bool:
    """True on a pure cgroup v2 machine (/sys/fs/cgroup itself is cgroup2)."""
    return any(fstype == "cgroup2" and path == CGROUP_FS for fstype, path in _mounts())


def hierarchies() -> list[Path]:
    """Every cgroup hierarchy root of this machine."""
    return [path for _, path in _mounts()]


class NodeCgroup:
    """The cgroup subtree `/<name>` in every hierarchy."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def root(self) -> str:
        """The path the kubelet takes as `cgroupRoot`."""
        return f"/{self.name}"

    def dirs(self, sub: str = "") -> list[Path]:
        rel = f"{self.name}/{sub}".rstrip("/")
        return [h / rel for h in hierarchies()]

    def create(self) -> None:
        """Create `/<name>` and `/<name>/node` everywhere (idempotent)."""
        if is_v2():
            top = CGROUP_FS / self.name
            top.mkdir(exist_ok=True)
            available = (CGROUP_FS / "cgroup.subtree_control").read_text().split()
            wanted = [c for c in ("cpuset", "cpu", "io", "memory", "hugetlb", "pids") if c in available]
            (top / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
            (top / "node").mkdir(exist_ok=True)
            return
        for d in self.dirs():
            for path in (d, d / "node"):
                path.mkdir(exist_ok=True)
                if (path.parent / "cpuset.cpus").exists() and not (path / "cpuset.cpus").read_text().strip():
                    # A v1 cpuset cgroup takes no task until it has CPUs and memory nodes.
                    (path / "cpuset.cpus").write_text((path.parent / "cpuset.cpus").read_text())
                    (path / "cpuset.mems").write_text((path.parent / "cpuset.mems").read_text())

    def exists(self) -> bool:
        return any(d.is_dir() for d in self.dirs())

    def procs_files(self, sub: str = "node") -> list[Path]:
        """The `cgroup.procs` files a process writes its pid into to join `/<name>/<sub>`."""
        return [d / "cgroup.procs" for d in self.dirs(sub) if (d / "cgroup.procs").exists()]

    def pids(self) -> set[int]:
        """Every process anywhere in the subtree (cgroups may vanish meanwhile: the kubelet removes pods')."""
        found: set[int] = set()
        for d in self.dirs():
            for cgroup in _subtree(d):
                with contextlib.suppress(OSError):
                    found.update(int(p) for p in (cgroup / "cgroup.procs").read_text().split())
        return found

    def _freezer(self) -> Path | None:
        for d in self.dirs():
            if (d / "freezer.state").exists():
                return d / "freezer.state"
            if (d / "cgroup.freeze").exists():
                return d / "cgroup.freeze"
        return None

    def _freeze(self, frozen: bool) -> None:
        control = self._freezer()
        if control is None:
            return
        with contextlib.suppress(OSError):
            if control.name == "freezer.state":
                control.write_text("FROZEN" if frozen else "THAWED")
            else:
                control.write_text("1" if frozen else "0")

    def kill_all(self, timeout: float = 15.0) -> int:
        """SIGKILL every process in the subtree (frozen first, so none can fork away); return how many."""
        killed = 0
        deadline = time.monotonic() + timeout
        while pids := self.pids():
            self._freeze(True)
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
            self._freeze(False)  # SIGKILL is delivered only once the tasks are thawed
            for pid in pids:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes in cgroup {self.root} survived SIGKILL: {sorted(self.pids())}")
            time.sleep(0.1)
        return killed

    def remove(self) -> None:
        """Remove the (empty) subtree everywhere, deepest first."""
        for d in self.dirs():
            if not d.is_dir():
                continue
            for sub in reversed(list(_subtree(d))):  # children before their parents
                _rmdir_retry(sub)


def _subtree(top: Path) -> Iterator[Path]:
    """`top` and every cgroup below it, parents first; directories that vanish while walking are skipped."""
    pending = [top]
    while pending:
        current = pending.pop(0)
        try:
            children = [Path(e.path) for e in os.scandir(current) if e.is_dir(follow_symlinks=False)]
        except OSError:  # removed meanwhile, or never existed in this hierarchy
            continue
        yield current
        pending.extend(sorted(children))


def _rmdir_retry(path: Path, attempts: int = 50) -> None:
    """rmdir a cgroup; the kernel may call it busy for a moment after its last task exited."""
    for attempt in range(attempts):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.1)
