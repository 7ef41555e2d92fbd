"""The operator survives crashes and runs as two replicas: no duplicate pods, one leader at a time."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.builders import make_raycluster
from tests.integration.kube import eventually, kubectl, kubectl_json
from tests.integration.operator import OperatorProcess

pytestmark = pytest.mark.integration
LEASE = "ray-operator-leader"


@pytest.fixture
def ns(kubeconfig: Path, ray_crds: None) -> Iterator[str]:
    name = f"res-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", name)
    yield name
    kubectl(kubeconfig, "delete", "namespace", name, "--wait=false")


def _cluster(name: str, replicas: int) -> str:
    return make_raycluster(name).resources(cpu="10m").worker_group("g", replicas=replicas, max_replicas=100).yaml()


def _pods(kubeconfig: Path, ns: str) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = kubectl_json(kubeconfig, "get", "pods", "-n", ns)["items"]
    return pods


def _live_workers(kubeconfig: Path, ns: str) -> list[dict[str, Any]]:
    return [
        p
        for p in _pods(kubeconfig, ns)
        if p["metadata"]["labels"].get("ray.io/node-type") == "worker" and not p["metadata"].get("deletionTimestamp")
    ]


def _lease(kubeconfig: Path, ns: str) -> dict[str, Any]:
    spec: dict[str, Any] = kubectl_json(kubeconfig, "get", "lease", LEASE, "-n", ns)["spec"]
    return spec


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_killed_in_the_middle_of_a_50_worker_scale_up_then_restarted_leaves_no_duplicates(
    kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    # A slow client (5 requests/s) stretches the scale-up so the crash lands in the middle of it.
    slow = ("--qps=5", "--burst=1")
    first = OperatorProcess(kubeconfig, tmp_path, name="first", lease_namespace=ns, extra=slow)
    try:
        first.wait_ready()
        kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=_cluster("big", 50))
        eventually(lambda: len(_live_workers(kubeconfig, ns)) >= 5, what="scale-up under way")
    finally:
        first.kill()
    at_crash = len(_live_workers(kubeconfig, ns))
    assert 5 <= at_crash < 50, f"the crash should interrupt the scale-up ({at_crash} workers)"

    second = OperatorProcess(kubeconfig, tmp_path, name="second", lease_namespace=ns)
    try:
        second.wait_ready()
        eventually(lambda: len(_live_workers(kubeconfig, ns)) == 50, timeout=120, what="50 workers")
        # Give the operator time to do something wrong (it has no reason to act), then look again.
        state = eventually(
            lambda: (
                kubectl_json(kubeconfig, "get", "raycluster", "big", "-n", ns)
                .get("status", {})
                .get("state")
                == "ready"
            ),
            timeout=120,
            what="cluster ready",
        )
        assert state
        time.sleep(3)
        pods = _pods(kubeconfig, ns)
        workers = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "worker"]
        heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
        assert len(workers) == 50 and len(heads) == 1
        owners = {
            ref["name"] for p in pods for ref in p["metadata"].get("ownerReferences", []) if ref.get("controller")
        }
        assert owners == {"big"}  # no orphans
        assert all(p["metadata"].get("ownerReferences") for p in pods)
        indexes = sorted(int(p["metadata"]["labels"]["ray.io/worker-group-replica-index"]) for p in workers)
        assert indexes == list(range(50))  # every replica index exactly once
    finally:
        second.stop()


def _leader_and_follower(one: OperatorProcess, two: OperatorProcess) -> tuple[OperatorProcess, OperatorProcess]:
    """Wait until one of two operator replicas leads; (leader, follower)."""
    return eventually(
        lambda: (one, two) if one.is_leader() else (two, one) if two.is_leader() else None, what="a leader"
    )


def test_two_replicas_only_the_leader_reconciles_and_a_crash_hands_over_after_the_lease(
    kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    one = OperatorProcess(kubeconfig, tmp_path, name="one", lease_namespace=ns)
    two = OperatorProcess(kubeconfig, tmp_path, name="two", lease_namespace=ns)
    try:
        one.wait_ready()
        two.wait_ready()
        leader, follower = _leader_and_follower(one, two)
        assert not follower.is_leader()
        kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=_cluster("ha", 2))
        eventually(lambda: len(_live_workers(kubeconfig, ns)) == 2, what="2 workers")
        assert 'controller_runtime_reconcile_total{controller="raycluster"' not in follower.metrics()

        held = _lease(kubeconfig, ns)
        leader.kill()  # a crash: the lease is not released
        eventually(follower.is_leader, timeout=60, what="follower takes over")
        taken = _lease(kubeconfig, ns)
        assert taken["holderIdentity"] != held["holderIdentity"]
        # The follower waited for the crashed leader's lease to run out before taking it.
        expired_at = _time(held["renewTime"]) + dt.timedelta(seconds=held["leaseDurationSeconds"])
        assert _time(taken["acquireTime"]) >= expired_at - dt.timedelta(seconds=1)

        kubectl(
            kubeconfig,
            "patch",
            "raycluster",
            "ha",
            "-n",
            ns,
            "--type=json",
            "-p",
            '[{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 4}]',
        )
        eventually(lambda: len(_live_workers(kubeconfig, ns)) == 4, what="new leader scales")
    finally:
        one.stop()
        two.stop()


def test_a_gracefully_stopped_leader_releases_the_lease(kubeconfig: Path, ns: str, tmp_path: Path) -> None:
    one = OperatorProcess(kubeconfig, tmp_path, name="one", lease_namespace=ns)
    try:
        one.wait_ready()
        eventually(one.is_leader, what="leader")
    finally:
        one.stop()
    lease = _lease(kubeconfig, ns)
    assert not lease.get("holderIdentity")  # released: a successor need not wait for expiry


def test_watch_namespace_limits_the_operator_to_the_listed_namespaces(
    kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    other = f"{ns}-other"
    kubectl(kubeconfig, "create", "namespace", other)
    try:
        op = OperatorProcess(
            kubeconfig, tmp_path, name="scoped", lease_namespace=ns, extra=(f"--watch-namespace={ns}",)
        )
        try:
            op.wait_ready()
            kubectl(kubeconfig, "apply", "-n", other, "-f", "-", input=_cluster("ignored", 1))
            kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=_cluster("watched", 1))
            eventually(lambda: len(_live_workers(kubeconfig, ns)) == 1, what="watched cluster scaled")
            time.sleep(2)  # the other namespace had the same time to be (wrongly) reconciled
            assert _pods(kubeconfig, other) == []
        finally:
            op.stop()
    finally:
        kubectl(kubeconfig, "delete", "namespace", other, "--wait=false")


def test_a_frozen_leader_that_resumes_after_a_takeover_writes_nothing_and_stays_up(
    kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    # Found with SIGSTOP/SIGCONT: the resumed ex-leader acted on its stale cache (3-6 extra worker pods).
    one = OperatorProcess(kubeconfig, tmp_path, name="one", lease_namespace=ns)
    two = OperatorProcess(kubeconfig, tmp_path, name="two", lease_namespace=ns)
    try:
        one.wait_ready()
        two.wait_ready()
        leader, follower = _leader_and_follower(one, two)
        kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=_cluster("frozen", 2))
        eventually(lambda: len(_live_workers(kubeconfig, ns)) == 2, what="2 workers")

        os.killpg(leader.proc.pid, signal.SIGSTOP)
        kubectl(
            kubeconfig, "patch", "raycluster", "frozen", "-n", ns, "--type=json",
            "-p", '[{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 6}]',
        )
        eventually(follower.is_leader, timeout=60, what="follower takes over")
        eventually(lambda: len(_live_workers(kubeconfig, ns)) == 6, what="new leader scales to 6")
        os.killpg(leader.proc.pid, signal.SIGCONT)

        eventually(lambda: "Lost leadership" in leader.log_tail(200), timeout=60, what="ex-leader steps down")
        # The ex-leader's watch has caught up by now; it wrote nothing, and the new leader needed nothing more.
        assert len(_live_workers(kubeconfig, ns)) == 6
        assert leader.proc.poll() is None, "the ex-leader stays up as a candidate"
        assert "Traceback" not in leader.log_tail(200)
    finally:
        for proc in (one, two):
            if proc.proc.poll() is None:
                os.killpg(proc.proc.pid, signal.SIGCONT)
        one.stop()
        two.stop()


class _CuttableProxy:
    """A TCP relay to the API server that can be cut (every connection dropped, new ones refused at once)."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.up = True
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if not self.up:
                conn.close()
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._open += [conn, upstream]
            threading.Thread(target=self._pump, args=(conn, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, conn), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()


def test_an_api_server_outage_longer_than_the_lease_is_survived_in_process(
    kubeconfig: Path, ns: str, tmp_path: Path
) -> None:
    # Found with API server outages: past ~10 s the operator exited with a 75-line traceback.
    config = yaml.safe_load(kubeconfig.read_text())
    server = urllib.parse.urlsplit(config["clusters"][0]["cluster"]["server"])
    proxy = _CuttableProxy(server.hostname or "127.0.0.1", server.port or 443)
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    proxied = tmp_path / "kubeconfig"
    proxied.write_text(yaml.safe_dump(config))
    operator = OperatorProcess(proxied, tmp_path, name="outage", lease_namespace=ns)
    try:
        operator.wait_ready()
        eventually(operator.is_leader, what="leader")
        proxy.cut()
        eventually(lambda: "Lost leadership" in operator.log_tail(400), timeout=60, what="lease lost in the outage")
        assert operator.proc.poll() is None, "the operator stays up through the outage"
        proxy.up = True  # the API server is back

        kubectl(kubeconfig, "apply", "-n", ns, "-f", "-", input=_cluster("after", 1))
        eventually(lambda: len(_live_workers(kubeconfig, ns)) == 1, timeout=90, what="reconciles after the outage")
        log = operator.log_path.read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
    finally:
        operator.stop()
        proxy.close()
