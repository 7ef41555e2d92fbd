"""The real node's configuration files and the kubelet's namespace holder, without starting anything."""

from __future__ import annotations

from pathlib import Path

from raykube.local.nodes.real import configs, nodens
from raykube.local.nodes.real.plan import DNS_IP, NODE_IP, NodePlan


def _plan(tmp_path: Path) -> NodePlan:
    return NodePlan.for_state_dir(tmp_path, [20001, 20002, 20003, 20004, 20005, 20006])


def test_names_derive_from_the_state_dir_and_fit_the_kernel_limits(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert plan == _plan(tmp_path)
    assert len(plan.bridge) <= 15  # IFNAMSIZ - 1
    assert len(f"RAYKUBE-FWD-{plan.chain_suffix}") <= 28  # iptables chain names
    assert plan.dir == str(tmp_path / "node")
    assert _plan(tmp_path / "other").bridge != plan.bridge


def test_containerd_is_told_what_our_vms_need(tmp_path: Path) -> None:
    config = configs.containerd_config(_plan(tmp_path))
    assert "restrict_oom_score_adj = true" in config  # root lacks CAP_SYS_RESOURCE
    assert "SystemdCgroup = false" in config
    assert 'sandbox_image = "docker.io/raykube/pause:' in config
    assert 'endpoint = ["http://127.0.0.1:9"]' in config  # no registry is ever reached


def test_pods_get_routes_to_the_cluster_only(tmp_path: Path) -> None:
    bridge = configs.cni_config(_plan(tmp_path))["plugins"][0]
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["routes"] == [{"dst": "10.244.0.0/16"}, {"dst": "10.96.0.0/16"}]  # no 0.0.0.0/0


def test_the_kubelet_is_configured_for_cgroup_v1_without_cap_sys_resource(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    config = configs.kubelet_config(plan, tmp_path / "pki")
    assert config["oomScoreAdj"] == 0 and config["cgroupDriver"] == "cgroupfs"
    assert config["cgroupRoot"] == f"/{plan.cgroup}" and config["failCgroupV1"] is False
    assert config["clusterDNS"] == [DNS_IP] and config["address"] == NODE_IP
    assert config["makeIPTablesUtilChains"] is False


def test_kube_proxy_leaves_machine_sysctls_alone(tmp_path: Path) -> None:
    config = configs.kube_proxy_config(_plan(tmp_path))
    assert config["mode"] == "iptables"
    assert config["iptables"]["localhostNodePorts"] is False  # would set route_localnet=1
    assert config["conntrack"]["maxPerCore"] == 0  # would set nf_conntrack_max


def test_coredns_serves_the_cluster_domain_and_answers_nxdomain_elsewhere(tmp_path: Path) -> None:
    corefile = configs.corefile(_plan(tmp_path))
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in corefile
    assert "rcode NXDOMAIN" in corefile and "forward" not in corefile


def test_the_namespace_holder_covers_every_tunable_before_it_sleeps(tmp_path: Path) -> None:
    argv = [str(a) for a in nodens.holder_argv(tmp_path, Path("/bin/pause"))]
    assert argv[:5] == ["unshare", "--mount", "--propagation", "private", "--"]
    script = argv[-1]
    for name in ("kernel/panic", "kernel/panic_on_oops", "vm/overcommit_memory"):
        assert f"mount --bind {nodens.decoy_path(tmp_path, name)} /proc/sys/{name}" in script
    assert script.index("mount --bind") < script.index("exec /bin/pause")
    assert script.startswith("set -eu")  # a failed bind mount stops the holder: the kubelet never starts


def test_a_cgroup_subtree_is_walked_parents_first_and_vanished_parts_are_skipped(tmp_path: Path) -> None:
    from raykube.local.nodes.real.cgroups import _subtree

    for sub in ("a/b/c", "a/d", "e"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "a" / "cgroup.procs").write_text("1\n")
    walked = [p.relative_to(tmp_path).as_posix() for p in _subtree(tmp_path)]
    assert walked == [".", "a", "e", "a/b", "a/d", "a/b/c"]
    assert list(_subtree(tmp_path / "gone")) == []
