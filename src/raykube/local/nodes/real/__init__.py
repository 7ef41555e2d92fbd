"""A real node on this machine: containerd + runc + CNI, kubelet, kube-proxy and CoreDNS.

Start order (after the control plane):
  namespace holder (private mount namespace, kernel tunables covered; see `nodens`) → containerd (in that
  namespace) → images imported → RBAC, kube-dns Service, guard rules → kubelet (in that namespace) → Node
  Ready → kube-proxy (iptables mode) → CoreDNS.

Everything runs in one cgroup subtree (`cgroups.NodeCgroup`), is recorded by pid in the cluster's state, and
keeps its files under `<state>/node`. Only the image store (`$RAYKUBE_CACHE/containerd`) outlives the
cluster, so images are imported once per machine.

Networking: a bridge of ours whose address (`NODE_IP`) is the node's InternalIP, the pods' gateway and the
address the API server listens on for pods; pods get routes to the pod and service ranges only. The
cluster DNS Service `kube-system/kube-dns` (10.96.0.10) has a hand-made EndpointSlice pointing at CoreDNS
on `NODE_IP:53`, so kube-proxy carries DNS like any other Service.

Only one real node runs per machine: kube-proxy owns the KUBE-* iptables chains machine-wide. A lock file in
/run names the state directory of the running one.

`stop` undoes all of it: daemons by pid, pods and shims by cgroup, containers from containerd, then the
iptables chains, the bridge (veths vanish with their pods' network namespaces), the cgroups, the namespace
(with every mount in it). The machine-wide `net.ipv4.ip_forward` is never touched: forwarding is on for our
bridge alone (`hostnet`), so it goes with the bridge. (`ip_forward_before` in a plan is only found in records
of earlier versions, which switched it on machine-wide; their clean-up still restores it.)

The modules, by job: `plan` (fixed addresses, the per-cluster `NodePlan`), `configs` (the daemons' files
and the node's API objects, pure), `lifecycle` (prepare the host, start, stop, undo), `machine` (the
machine's one real-node slot and the reaper of abandoned clusters), and the host mechanisms they use:
`cgroups`, `hostnet`, `nodens`.
"""
