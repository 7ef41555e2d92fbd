"""The SDK walkthrough of docs/sdk.md, step by step, on the local cluster with fake nodes.

The operator runs for real; its dashboard calls (and the SDK's log reads, via ``dashboard_address``) go to the
stand-in dashboard, since fake nodes run no Ray.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from raykube.ray.standin import JobScript, StandInDashboard
from raykube.sdk import Cluster, ClusterConfig, Connection, Job, SdkError, list_clusters, list_jobs
from tests.integration.kube import eventually, kubectl, no_rights_kubeconfig, scratch_namespace, unreachable_kubeconfig
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInDashboard]:
    server = StandInDashboard(JobScript(run_for=1.0, logs="step 1\nstep 2\n"))
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture(scope="module")
def operator(
    kubeconfig: Path, ray_crds: None, standin: StandInDashboard, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    yield from running_operator(kubeconfig, tmp_path_factory.mktemp("sdk-operator"), lease_namespace="kube-system",
                                extra=(f"--dashboard-url-override={standin.url}",))


@pytest.fixture
def ns(kubeconfig: Path) -> Iterator[str]:
    yield from scratch_namespace(kubeconfig, "sdk")


SMALL: dict[str, Any] = {"head_cpu": "1", "head_memory": "1Gi", "worker_cpu": "1", "worker_memory": "1Gi"}


def test_the_sdk_walkthrough(operator: OperatorProcess, kubeconfig: Path, ns: str, standin: StandInDashboard) -> None:
    conn = Connection(kubeconfig=str(kubeconfig), namespace=ns)

    # 1. A cluster from a config, up, ready (with progress lines).
    cluster = Cluster(ClusterConfig(name="demo", num_workers=1, **SMALL), connection=conn).up()
    seen: list[str] = []
    details = cluster.wait_ready(timeout=120, progress=seen.append)
    assert seen[-1] == "demo: ready, head up, workers 1/1 ready"
    assert (details.state, details.ready_workers, len(details.worker_pods)) == ("ready", 1, 1)
    assert details.head_pod is not None and details.head_pod.startswith("demo-head-")
    assert (details.cpu, details.memory) == ("2", "2Gi")
    assert cluster.status() == "ready" and cluster.is_ready()
    assert cluster.dashboard_url().endswith(f"/api/v1/namespaces/{ns}/services/demo-head-svc:dashboard/proxy/")
    assert [c.name for c in list_clusters(connection=conn)] == ["demo"]
    with pytest.raises(SdkError, match="cannot create RayCluster"):
        Cluster(ClusterConfig(name="demo"), connection=conn).up()

    # 2. Scale it.
    cluster.scale(2)
    eventually(lambda: cluster.details().ready_workers == 2, what="two ready workers")

    # 3. A job on it: runtime env, wait, logs.
    job = Job.submit("python -c 'print(1)'", runtime_env={"env_vars": {"MODE": "sdk"}}, cluster=cluster,
                     dashboard_address=standin.url)
    final = job.wait(timeout=120, progress=lambda line: None)
    assert final.succeeded and final.cluster == "demo"
    rayjob = yaml.safe_load(kubectl(kubeconfig, "get", "rayjob", job.name, "-n", ns, "-o", "yaml").stdout)
    assert rayjob["spec"]["clusterSelector"] == {"ray.io/cluster": "demo"}
    assert yaml.safe_load(rayjob["spec"]["runtimeEnvYAML"]) == {"env_vars": {"MODE": "sdk"}}
    assert job.logs() == "step 1\nstep 2\n"
    followed: list[str] = []
    assert job.logs(follow=True, out=followed.append) == "step 1\nstep 2\n" and "".join(followed) == "step 1\nstep 2\n"

    # 4. A job on a new cluster of its own.
    solo = Job.submit("python train.py", cluster_config=ClusterConfig(name="unused", num_workers=0, **SMALL),
                      connection=conn, dashboard_address=standin.url)
    assert solo.wait(timeout=120, progress=lambda line: None).succeeded
    assert sorted(j.name for j in list_jobs(connection=conn)) == sorted([job.name, solo.name])

    # 5. Notebook-style: the same calls from inside a running event loop.
    async def in_a_notebook() -> str:
        return cluster.status()

    assert asyncio.run(in_a_notebook()) == "ready"

    # 6. Down.
    cluster.down()
    eventually(lambda: not [c for c in list_clusters(connection=conn) if c.name == "demo"], what="cluster gone")
    with pytest.raises(SdkError, match=f"RayCluster {ns}/demo not found"):
        Cluster.attach("demo", connection=conn)


def test_a_job_needs_a_cluster(kubeconfig: Path, ray_crds: None, ns: str) -> None:
    with pytest.raises(SdkError, match="needs cluster="):
        Job.submit("python x.py", connection=Connection(kubeconfig=str(kubeconfig), namespace=ns))


def test_wait_ready_times_out_naming_the_doctor(operator: OperatorProcess, kubeconfig: Path, ns: str) -> None:
    conn = Connection(kubeconfig=str(kubeconfig), namespace=ns)
    cluster = Cluster(ClusterConfig(name="huge", worker_cpu="1000", head_cpu="1", head_memory="1Gi"),
                      connection=conn).up()
    with pytest.raises(SdkError, match="raykube doctor raycluster/huge"):
        cluster.wait_ready(timeout=3, progress=lambda line: None)


def test_sdk_errors_against_the_real_api_server(kubeconfig: Path, ray_crds: None, ns: str, tmp_path: Path) -> None:
    """Real RBAC refusing a token without rights, an API server that does not answer: one-line SdkErrors."""
    limited = Connection(kubeconfig=str(no_rights_kubeconfig(kubeconfig, ns, tmp_path / "limited")))
    for call in (lambda: list_clusters(connection=limited), lambda: list_jobs(connection=limited),
                 lambda: Cluster(ClusterConfig(name="x", **SMALL), connection=limited).up(),
                 lambda: Cluster.attach("x", connection=limited)):
        with pytest.raises(SdkError, match=r"forbidden: .*ask a cluster admin for RBAC permission") as raised:
            call()
        assert "\n" not in str(raised.value) and raised.value.__cause__ is None
    down = Connection(kubeconfig=str(unreachable_kubeconfig(kubeconfig, tmp_path / "unreachable")))
    with pytest.raises(SdkError, match="cannot reach the API server"):
        list_clusters(connection=down)
    with pytest.raises(SdkError, match=f"RayCluster {ns}/ghost not found"):
        Cluster.attach("ghost", connection=Connection(kubeconfig=str(kubeconfig), namespace=ns))
