"""The real node's configuration files and API objects: pure functions of its `NodePlan`.

containerd, CNI, kubelet, kube-proxy and CoreDNS each get one function returning the file's content; the
objects the node needs in the API (RBAC for kube-proxy, CoreDNS and the volume provisioner, the kube-dns
Service and its EndpointSlice, the default StorageClass) come from `cluster_objects`. Nothing here touches the host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raykube.local.controlplane.components import CLUSTER_DOMAIN, SERVICE_CIDR
from raykube.local.images import store as image_store
from raykube.local.nodes.real import volumes
from raykube.local.nodes.real.plan import (
    CLUSTER_CIDR,
    CNI_BIN_DIR,
    DNS_IP,
    NODE_IP,
    NODE_NAME,
    NODE_POD_CIDR,
    NodePlan,
    containerd_root,
)


def containerd_config(plan: NodePlan) -> str:
    """containerd 1.6 config: CRI with our pause image, cgroupfs, overlayfs, CNI from Debian's plugins.

    `restrict_oom_score_adj`: root on our VMs lacks CAP_SYS_RESOURCE, so no process may lower its
    oom_score_adj; without this every sandbox fails to start.
    """
    d = plan.path
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""\
version = 2
root = "{containerd_root()}"
state = "{d / 'containerd-state'}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{plan.containerd_socket}"

[ttrpc]
  address = "{d / 'containerd-ttrpc.sock'}"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d / 'containerd-opt'}"

[{cri}]
  sandbox_image = "{image_store.pause_image()}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  max_container_log_line_size = 16384

  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d / 'runc'}"

  [{cri}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{d / 'cni'}"
    max_conf_num = 1

  [{cri}.registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:9"]
"""


def cni_config(plan: NodePlan) -> dict[str, Any]:
    """Bridge + host-local IPAM (routes to pod and service ranges, no default route) + portmap."""
    return {
        "cniVersion": "1.0.0",
        "name": "raykube",
        "plugins": [
            {
                "type": "bridge",
                "bridge": plan.bridge,
                # Not a gateway for the plugin: the bridge's address is ours (`hostnet.create_bridge`), and
                # with isGateway the plugin switches on forwarding machine-wide (net.ipv4.ip_forward=1),
                # which outlives a crashed node. The pods' routes still go via the range's gateway.
                "isGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(plan.path / "cni-ipam"),
                    "ranges": [[{"subnet": NODE_POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": CLUSTER_CIDR}, {"dst": SERVICE_CIDR}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(plan: NodePlan, pki: Path) -> dict[str, Any]:
    d = plan.path
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": plan.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": plan.kubelet_healthz_port,
        "tlsCertFile": str(pki / "kubelet-server.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-server.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{plan.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{plan.cgroup}",
        "cgroupsPerQOS": True,
        # No CAP_SYS_RESOURCE: the kubelet may not give itself a negative oom_score_adj.
        "oomScoreAdj": 0,
        "failSwapOn": False,
        "failCgroupV1": False,
        "makeIPTablesUtilChains": False,
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [DNS_IP],
        "resolvConf": str(d / "resolv.conf"),
        "podCIDR": NODE_POD_CIDR,
        "maxPods": 110,
        "serializeImagePulls": False,
        # Images are never pulled here, so image GC would only delete what `raykube local image build` made.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "syncFrequency": "10s",
        "nodeStatusUpdateFrequency": "10s",
        "shutdownGracePeriod": "0s",
        "staticPodPath": "",
        "registerNode": True,
        "logging": {"format": "text"},
    }


def kube_proxy_config(plan: NodePlan) -> dict[str, Any]:
    """iptables mode; leaves the machine's conntrack sysctls and route_localnet alone."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(plan.path / "kube-proxy.kubeconfig")},
        "mode": "iptables",
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "clusterCIDR": CLUSTER_CIDR,
        "healthzBindAddress": f"127.0.0.1:{plan.proxy_healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{plan.proxy_metrics_port}",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False, "syncPeriod": "30s",
                     "minSyncPeriod": "1s"},
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def corefile(plan: NodePlan) -> str:
    """CoreDNS: cluster.local and reverse zones from the API server; every other name is NXDOMAIN.

    There is no `forward`: pods have no route off the machine, so there is nothing to forward to, and an
    immediate NXDOMAIN keeps resolvers from waiting on names that cannot exist here.
    """
    zones = f"{CLUSTER_DOMAIN} in-addr.arpa ip6.arpa"
    return f"""\
{zones.replace(' ', ':53 ')}:53 {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:{plan.dns_health_port}
    ready 127.0.0.1:{plan.dns_ready_port}
    kubernetes {zones} {{
        kubeconfig {plan.path / 'coredns.kubeconfig'} raykube-local
        pods insecure
        ttl 5
    }}
    cache 5
    loadbalance
}}

.:53 {{
    bind {NODE_IP}
    errors
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""


def cluster_objects() -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) of what the node needs in the API: RBAC, the kube-dns Service and endpoints,
    the default StorageClass and its provisioner's RBAC."""
    return [
        ("/apis/storage.k8s.io/v1/storageclasses", volumes.storage_class()),
        *volumes.rbac_objects(),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "raykube:kube-proxy"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node-proxier"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:kube-proxy"}],
        }),
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [
                {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                 "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ],
        }),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:coredns"}],
        }),
        ("/api/v1/namespaces/kube-system/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system",
                         "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
            "spec": {"clusterIP": DNS_IP, "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ]},
        }),
        ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kube-dns-node", "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": "kube-dns",
                                    "endpointslice.kubernetes.io/managed-by": "raykube-local"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}, "nodeName": NODE_NAME}],
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                      {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
        }),
    ]

