"""Pods on the real node: probes, restarts, logs, exec, memory limits, DNS, Services, and no way off the machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.local.cluster import LocalCluster
from raykube.local.nodes.real import hostnet, nodens
from tests.integration.kube import eventually, kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SERVER = "import http.server as h; h.HTTPServer(('', 8080), h.SimpleHTTPRequestHandler).serve_forever()"


def _apply(kubeconfig: Path, ns: str, *objects: dict[str, Any]) -> None:
    kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(objects))


def _pod(kubeconfig: Path, ns: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(kubectl(kubeconfig, "get", "pod", name, "-n", ns, "-o", "json").stdout)
    return result


def _ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def pod(name: str, image: str, command: list[str], **container: Any) -> dict[str, Any]:
    labels = container.pop("labels", {"app": name})
    restart = container.pop("restartPolicy", "Always")
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
        "spec": {
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": image, "command": command, **container}],
        },
    }


def _terminated(kubeconfig: Path, ns: str, name: str) -> dict[str, Any] | None:
    status = _pod(kubeconfig, ns, name)["status"].get("containerStatuses", [{}])[0]
    terminated: dict[str, Any] | None = status.get("state", {}).get("terminated")
    return terminated


def test_a_pod_with_a_readiness_probe_becomes_ready(real_kubeconfig: Path, ns: str, ray_image: str) -> None:
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1, "initialDelaySeconds": 1}
    _apply(real_kubeconfig, ns, pod("web", ray_image, ["python3", "-c", SERVER], readinessProbe=probe))
    ready = eventually(lambda: _ready(p := _pod(real_kubeconfig, ns, "web")) and p, timeout=120, what="web Ready")
    assert ready["status"]["phase"] == "Running"
    assert ready["status"]["podIP"].startswith("10.244.0.")
    assert ready["spec"]["nodeName"] == "raykube-node"


def test_a_container_that_exits_is_restarted(real_kubeconfig: Path, ns: str, ray_image: str) -> None:
    _apply(real_kubeconfig, ns, pod("crash", ray_image, ["sh", "-c", "echo starting; sleep 1; exit 3"]))

    def restarted() -> dict[str, Any] | None:
        statuses = _pod(real_kubeconfig, ns, "crash")["status"].get("containerStatuses", [])
        return statuses[0] if statuses and statuses[0]["restartCount"] >= 1 else None

    status = eventually(restarted, timeout=120, what="a restart")
    assert status["lastState"]["terminated"]["exitCode"] == 3


def test_logs_and_exec(real_kubeconfig: Path, ns: str, ray_image: str) -> None:
    _apply(real_kubeconfig, ns, pod("talk", ray_image, ["sh", "-c", "echo hello-from-the-node; exec sleep 600"]))
    eventually(lambda: _pod(real_kubeconfig, ns, "talk")["status"].get("phase") == "Running", what="Running")
    logs = eventually(lambda: kubectl(real_kubeconfig, "logs", "-n", ns, "talk", check=False).stdout,
                      what="logs")
    assert logs.strip() == "hello-from-the-node"
    executed = kubectl(real_kubeconfig, "exec", "-n", ns, "talk", "--", "sh", "-c", "id -un; cat /proc/1/cmdline")
    assert executed.stdout.startswith("ray\n")  # the image's user
    assert "sleep" in executed.stdout
    failing = kubectl(real_kubeconfig, "exec", "-n", ns, "talk", "--", "sh", "-c", "exit 7", check=False)
    assert failing.returncode == 7


def test_a_memory_limit_is_enforced(real_kubeconfig: Path, ns: str, ray_image: str) -> None:
    hog = "x = bytearray(512 * 1024 * 1024); import time; time.sleep(60)"
    _apply(real_kubeconfig, ns, pod("hog", ray_image, ["python3", "-c", hog], restartPolicy="Never",
                                    resources={"limits": {"memory": "64Mi"}}))
    terminated = eventually(lambda: _terminated(real_kubeconfig, ns, "hog"), timeout=120, what="termination")
    assert terminated["reason"] == "OOMKilled"
    assert terminated["exitCode"] == 137


def test_pod_to_pod_over_a_headless_service_by_dns_name(real_kubeconfig: Path, ns: str, ray_image: str) -> None:
    server = pod("peer", ray_image, ["python3", "-c", SERVER], labels={"app": "peer"},
                 readinessProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 1})
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "peers"},
               "spec": {"clusterIP": "None", "selector": {"app": "peer"}, "ports": [{"port": 8080}]}}
    _apply(real_kubeconfig, ns, server, service)
    peer = eventually(lambda: _ready(p := _pod(real_kubeconfig, ns, "peer")) and p, timeout=120, what="peer Ready")
    fqdn = f"peers.{ns}.svc.cluster.local"
    client = ("import socket, urllib.request; "
              f"print(socket.gethostbyname('{fqdn}')); "
              f"print(urllib.request.urlopen('http://{fqdn}:8080/', timeout=10).status)")
    _apply(real_kubeconfig, ns, pod("client", ray_image, ["python3", "-c", client], restartPolicy="Never"))
    terminated = eventually(lambda: _terminated(real_kubeconfig, ns, "client"), timeout=120, what="client done")
    logs = kubectl(real_kubeconfig, "logs", "-n", ns, "client").stdout
    assert terminated["exitCode"] == 0, logs
    output = logs.split()
    assert output == [peer["status"]["podIP"], "200"]


def test_a_cluster_ip_service_routes_through_kube_proxy(real_kubeconfig: Path, ns: str, ray_image: str) -> None:
    server = pod("backend", ray_image, ["python3", "-c", SERVER], labels={"app": "backend"},
                 readinessProbe={"tcpSocket": {"port": 8080}, "periodSeconds": 1})
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "frontend"},
               "spec": {"selector": {"app": "backend"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    _apply(real_kubeconfig, ns, server, service)
    backend = eventually(lambda: _ready(p := _pod(real_kubeconfig, ns, "backend")) and p, timeout=120,
                         what="backend Ready")
    ip = json.loads(kubectl(real_kubeconfig, "get", "svc", "frontend", "-n", ns, "-o", "json").stdout)["spec"][
        "clusterIP"]
    # kube-proxy programmed the Service: a DNAT from its cluster IP's chain to the backend pod.
    target = f"--to-destination {backend['status']['podIP']}:8080"
    eventually(lambda: any(target in rule for rule in hostnet.owned_rules()), what="kube-proxy's DNAT rule")
    client = ("import urllib.request; "
              f"print(urllib.request.urlopen('http://{ip}/', timeout=10).status); "
              "print(urllib.request.urlopen('http://frontend/', timeout=10).status)")
    _apply(real_kubeconfig, ns, pod("caller", ray_image, ["python3", "-c", client], restartPolicy="Never"))
    terminated = eventually(lambda: _terminated(real_kubeconfig, ns, "caller"), timeout=120, what="caller done")
    logs = kubectl(real_kubeconfig, "logs", "-n", ns, "caller").stdout
    assert terminated["exitCode"] == 0, logs
    output = logs.split()
    assert output == ["200", "200"]


def test_pods_have_no_route_off_the_machine_and_the_kernel_settings_stay(
    real_cluster: LocalCluster, real_kubeconfig: Path, ns: str, ray_image: str
) -> None:
    probe = ("import errno, socket\n"
             "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=3)\n"
             "except OSError as e:\n    print('connect', errno.errorcode.get(e.errno, e))\n"
             "try:\n    socket.gethostbyname('example.com')\n"
             "except OSError as e:\n    print('resolve', type(e).__name__)\n"
             "print('api', socket.create_connection(('kubernetes.default.svc.cluster.local', 443), timeout=5) "
             "is not None)\n")
    _apply(real_kubeconfig, ns, pod("prober", ray_image, ["python3", "-c", probe], restartPolicy="Never"))
    eventually(lambda: _terminated(real_kubeconfig, ns, "prober"), timeout=120, what="prober done")
    output = kubectl(real_kubeconfig, "logs", "-n", ns, "prober").stdout.splitlines()
    assert output == ["connect ENETUNREACH", "resolve gaierror", "api True"]
    plan = real_cluster.node_plan()
    assert plan is not None
    assert nodens.read_tunables() == plan.tunables_before
