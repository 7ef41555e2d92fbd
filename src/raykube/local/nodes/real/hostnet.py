"""The real node's host networking: its bridge, its iptables guard rules, and their removal.

Pods sit on one Linux bridge created by us (the CNI bridge plugin attaches their veths to it). The
bridge's address is the node's InternalIP and the pods' gateway; pods get routes to the pod and
service ranges only, no default route. Guard rules keep it that way even if a pod adds a route:
nothing is forwarded between the bridge and any other interface, and from the pods the host accepts
only DNS, the API server and replies.

`cleanup_iptables` removes every chain whose name starts with KUBE-, CNI- or RAYKUBE- (kube-proxy's,
the portmap plugin's and ours) together with the rules that jump to them, in IPv4 and IPv6. Only one
real-node cluster runs per machine (see `raykube.local.nodes.real.machine`), so these chains are all ours.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterable
from pathlib import Path

OWNED_CHAIN_PREFIXES = ("KUBE-", "CNI-", "RAYKUBE-")
BRIDGE_PREFIX = "rk-"
_TABLES = ("raw", "mangle", "nat", "filter")
_BUILTIN = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


# -- bridge -------------------------------------------------------------------------------------------


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def create_bridge(name: str, address_cidr: str) -> None:
    """Create the bridge `name` with `address_cidr` (e.g. 10.244.0.1/24) and bring it up (idempotent)."""
    if not link_exists(name):
        _run("ip", "link", "add", "name", name, "type", "bridge")
    addresses = _run("ip", "-o", "-4", "addr", "show", "dev", name).stdout
    if f" {address_cidr} " not in addresses:
        _run("ip", "addr", "add", address_cidr, "dev", name)
    _run("ip", "link", "set", name, "up")
    enable_forwarding(name)


def delete_link(name: str) -> bool:
    """Delete a network device if it exists; True if it did."""
    if not link_exists(name):
        return False
    _run("ip", "link", "del", name)
    return True


def bridge_ports(name: str) -> list[str]:
    brif = Path("/sys/class/net", name, "brif")
    return sorted(p.name for p in brif.iterdir()) if brif.is_dir() else []


# -- sysctl (network only) ----------------------------------------------------------------------------
#
# Service traffic needs IPv4 forwarding: a pod's packet to a cluster IP enters the host on the bridge, is
# DNATed by kube-proxy to another pod and leaves on the bridge again. Linux decides "may this packet be
# forwarded" from the ingress device's own `net.ipv4.conf.<dev>.forwarding`, so forwarding is switched on
# for our bridge alone. The machine-wide `net.ipv4.ip_forward` is never written: it vanishes with nothing
# to restore, and no crash, earlier run or other cluster can leave it changed (the bridge, and its
# setting, go with `delete_link`).

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def read_ip_forward() -> str:
    return IP_FORWARD.read_text().strip()


def write_ip_forward(value: str) -> None:
    IP_FORWARD.write_text(value)


def forwarding_file(device: str) -> Path:
    return Path("/proc/sys/net/ipv4/conf", device, "forwarding")


def enable_forwarding(device: str) -> None:
    """IPv4 forwarding for packets that arrive on `device` only (see above)."""
    forwarding_file(device).write_text("1")


def read_forwarding(device: str) -> str:
    return forwarding_file(device).read_text().strip()


def owned_links() -> list[str]:
    """Network devices named like a real node's bridge (`rk-<digest>`): none once every node is down."""
    return sorted(p.name for p in Path("/sys/class/net").iterdir() if p.name.startswith(BRIDGE_PREFIX))


# -- iptables -----------------------------------------------------------------------------------------


def _iptables_tools() -> list[tuple[str, str]]:
    return [("iptables", "iptables-save"), ("ip6tables", "ip6tables-save")]


def _save(save: str, table: str) -> list[str]:
    result = _run(save, "-t", table, check=False)
    return result.stdout.splitlines() if result.returncode == 0 else []


def _owned(chain: str) -> bool:
    return chain.startswith(OWNED_CHAIN_PREFIXES)


def owned_rules() -> list[str]:
    """Every rule and chain we own (or that jumps into one we own), as `<tool> <table> <line>` strings.

    Empty once the node is fully cleaned up: the check `raykube local down` and the tests rely on.
    """
    found = []
    for tool, save in _iptables_tools():
        for table in _TABLES:
            for line in _save(save, table):
                if line.startswith(":") and _owned(line[1:].split()[0]):
                    found.append(f"{tool} {table} {line}")
                elif line.startswith("-A "):
                    parts = line.split()
                    target = parts[parts.index("-j") + 1] if "-j" in parts else ""
                    if _owned(parts[1]) or _owned(target):
                        found.append(f"{tool} {table} {line}")
    return found


def cleanup_iptables(attempts: int = 5) -> int:
    """Remove our chains and every rule jumping to them (IPv4 and IPv6); return how many rules went.

    Repeated until `owned_rules` is empty: a single iptables call can lose a race with another writer.
    """
    removed = 0
    for attempt in range(attempts):
        removed += _cleanup_once()
        left = owned_rules()
        if not left:
            return removed
        if attempt == attempts - 1:
            raise RuntimeError("iptables rules survived the clean-up:\n" + "\n".join(left))
    return removed


def _cleanup_once() -> int:
    removed = 0
    for tool, save in _iptables_tools():
        for table in _TABLES:
            lines = _save(save, table)
            chains = [ln[1:].split()[0] for ln in lines if ln.startswith(":")]
            for line in lines:
                if not line.startswith("-A "):
                    continue
                args = shlex.split(line)
                chain = args[1]
                target = args[args.index("-j") + 1] if "-j" in args else ""
                deleted = chain in _BUILTIN and _owned(target) and _run(tool, "-w", "5", "-t", table, "-D",
                                                                       *args[1:], check=False).returncode == 0
                removed += int(deleted)
            owned = [c for c in chains if _owned(c)]
            for chain in owned:  # flush all first: owned chains jump to each other
                _run(tool, "-w", "5", "-t", table, "-F", chain, check=False)
            for chain in owned:
                _run(tool, "-w", "5", "-t", table, "-X", chain, check=False)
                removed += 1
    return removed


def install_guard(chain_suffix: str, bridge: str, node_ip: str, tcp_ports: Iterable[int]) -> None:
    """Our own rules: no forwarding off the bridge; from pods the host takes only DNS, API and replies."""
    fwd, inp = f"RAYKUBE-FWD-{chain_suffix}", f"RAYKUBE-IN-{chain_suffix}"
    ipt = ("iptables", "-w", "5", "-t", "filter")
    for chain, hook in ((fwd, "FORWARD"), (inp, "INPUT")):
        if _run(*ipt, "-N", chain, check=False).returncode != 0:
            _run(*ipt, "-F", chain)
        if _run(*ipt, "-C", hook, "-j", chain, check=False).returncode != 0:
            _run(*ipt, "-I", hook, "1", "-j", chain)
    comment = ("-m", "comment", "--comment", "raykube: pods get no route off the machine")
    _run(*ipt, "-A", fwd, "-i", bridge, "!", "-o", bridge, *comment, "-j", "DROP")
    _run(*ipt, "-A", fwd, "-o", bridge, "!", "-i", bridge, *comment, "-j", "DROP")
    _run(*ipt, "-A", inp, "!", "-i", bridge, "-j", "RETURN")
    _run(*ipt, "-A", inp, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN")
    _run(*ipt, "-A", inp, "-d", node_ip, "-p", "udp", "--dport", "53", "-j", "RETURN")
    for port in (53, *tcp_ports):
        _run(*ipt, "-A", inp, "-d", node_ip, "-p", "tcp", "--dport", str(port), "-j", "RETURN")
    _run(*ipt, "-A", inp, "-m", "comment", "--comment", "raykube: pods reach only DNS and the API", "-j", "DROP")
    # IPv6: pods get no IPv6 address; drop anything that tries to leave the bridge anyway.
    ip6 = ("ip6tables", "-w", "5", "-t", "filter")
    if _run(*ip6, "-N", fwd, check=False).returncode != 0:
        _run(*ip6, "-F", fwd)
    if _run(*ip6, "-C", "FORWARD", "-j", fwd, check=False).returncode != 0:
        _run(*ip6, "-I", "FORWARD", "1", "-j", fwd)
    _run(*ip6, "-A", fwd, "-i", bridge, "-j", "DROP")
    _run(*ip6, "-A", fwd, "-o", bridge, "-j", "DROP")
