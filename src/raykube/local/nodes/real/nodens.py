"""The real node's private mount namespace, which keeps the kubelet away from the VM's kernel settings.

At start the kubelet sets six kernel tunables (`setupKernelTunables` in Kubernetes 1.34: vm.overcommit_memory=1,
vm.panic_on_oom=0, kernel.panic=10, kernel.panic_on_oops=1, kernel.keys.root_maxkeys/root_maxbytes), and
fails if it cannot. On our VMs `kernel.panic_on_oops=1` would turn any kernel oops into a reboot, so the
kubelet must never reach the real files. `protectKernelDefaults: true` is no way out: the kubelet then refuses
to start because the values differ.

So the node's daemons (containerd, its shims, the kubelet) run in a mount namespace of their own, held open
by a `pause` process. In it /proc is private and each of the six /proc/sys files is covered by a bind mount
of an ordinary file that starts with the machine's value; the kubelet reads and writes those files. The
namespace also keeps every mount the node makes (container root filesystems, volumes, network namespace
files) out of the host's mount table: they disappear with the namespace when its last process exits.
Containers get a fresh /proc of their own and see the real values.
"""

from __future__ import annotations

import shlex
from pathlib import Path

# The files `setupKernelTunables` touches, relative to /proc/sys.
KUBELET_TUNABLES = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)


def read_tunables() -> dict[str, str]:
    """The machine's current values of the kubelet's tunables."""
    return {name: Path("/proc/sys", name).read_text().strip() for name in KUBELET_TUNABLES}


def decoy_path(decoy_dir: Path, name: str) -> Path:
    return decoy_dir / name.replace("/", ".")


def holder_argv(decoy_dir: Path, pause: Path) -> list[str | Path]:
    """The namespace holder: unshare a private mount namespace, cover the tunables, then sleep (pause)."""
    lines = ["set -eu", "mount --make-rprivate /proc"]
    for name in KUBELET_TUNABLES:
        decoy = shlex.quote(str(decoy_path(decoy_dir, name)))
        lines.append(f"cat /proc/sys/{name} > {decoy}")
        lines.append(f"mount --bind {decoy} /proc/sys/{name}")
    lines.append(f"exec {shlex.quote(str(pause))}")
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "; ".join(lines)]


def covered(holder_pid: int) -> list[str]:
    """The tunables that are bind-mounted over inside the holder's namespace."""
    mounted = {
        line.split()[4] for line in Path(f"/proc/{holder_pid}/mountinfo").read_text().splitlines()
    }
    return [name for name in KUBELET_TUNABLES if f"/proc/sys/{name}" in mounted]


def enter(holder_pid: int) -> list[str]:
    """The argv prefix that runs a command inside the holder's mount namespace."""
    return ["nsenter", f"--mount=/proc/{holder_pid}/ns/mnt", "--"]
