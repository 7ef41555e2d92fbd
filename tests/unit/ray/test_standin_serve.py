"""The stand-in's Ray Serve API over real loopback HTTP, driven through the real Serve client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from raykube.ray.errors import DashboardServerError
from raykube.ray.serve import ServeClient
from raykube.ray.standin import JobScript, StandInDashboard
from raykube.ray.standin_serve import ServeScript, cluster_of_host

pytestmark = pytest.mark.timeout(10)

HOST = "svc-abcde-head-svc.ns.svc.cluster.local:8265"
OTHER = "svc-vwxyz-head-svc.ns.svc.cluster.local:8265"
CONFIG = {"applications": [{"name": "fruit", "import_path": "fruit.app", "route_prefix": "/fruit",
                            "deployments": [{"name": "MangoStand"}, {"name": "FruitMarket"}]}]}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def standin() -> AsyncIterator[tuple[StandInDashboard, Clock]]:
    clock = Clock()
    server = StandInDashboard(JobScript(), clock=clock)
    await server.start()
    try:
        yield server, clock
    finally:
        await server.close()


async def test_applications_deploy_then_run_per_cluster(standin: tuple[StandInDashboard, Clock]) -> None:
    server, clock = standin
    server.serve.script("svc-", ServeScript(deploying_for=5))
    async with ServeClient() as client:
        assert (await client.applications(server.url, host=HOST)).applications == {}
        await client.deploy(server.url, CONFIG, host=HOST)
        deploying = await client.applications(server.url, host=HOST)
        clock.now = 6
        running = await client.applications(server.url, host=HOST)
        other = await client.applications(server.url, host=OTHER)
    assert deploying.applications["fruit"].status == "DEPLOYING"
    assert deploying.applications["fruit"].deployments["MangoStand"].status == "UPDATING"
    assert running.applications["fruit"].status == "RUNNING"
    assert set(running.applications["fruit"].deployments) == {"MangoStand", "FruitMarket"}
    assert other.applications == {}  # another cluster, another Serve instance
    assert server.serve.puts("ns/svc-abcde") == 1
    assert ("GET", "/api/serve/applications/?api_type=declarative", HOST) in server.hosts


async def test_a_scripted_import_failure_is_deploy_failed_with_its_message(
    standin: tuple[StandInDashboard, Clock],
) -> None:
    server, _ = standin
    server.serve.script("svc-", ServeScript(failures={"fruit.app": "ModuleNotFoundError: No module named 'fruit'"}))
    async with ServeClient() as client:
        await client.deploy(server.url, CONFIG, host=HOST)
        app = (await client.applications(server.url, host=HOST)).applications["fruit"]
    assert (app.status, app.message) == ("DEPLOY_FAILED", "ModuleNotFoundError: No module named 'fruit'")
    assert app.deployments["MangoStand"].status == "UNHEALTHY"


async def test_proxy_health_is_per_host_and_errors_are_typed(standin: tuple[StandInDashboard, Clock]) -> None:
    server, _ = standin
    server.serve.set_proxy_health("10.0.0.7", healthy=False)
    server.serve.script("broken-", ServeScript(status_code=500))
    async with ServeClient() as client:
        assert await client.proxy_healthy(server.url, host="10.0.0.6:8000")
        assert not await client.proxy_healthy(server.url, host="10.0.0.7:8000")
        with pytest.raises(DashboardServerError):
            await client.deploy(server.url, CONFIG, host="broken-abcde-head-svc.ns.svc.cluster.local:8265")
        assert not await client.proxy_healthy("http://127.0.0.1:1")  # nothing listens: unhealthy, no exception


def test_the_cluster_is_named_by_the_dashboard_host() -> None:
    assert cluster_of_host(HOST) == "ns/svc-abcde"
    assert cluster_of_host("10.0.0.1:8000") == "10.0.0.1:8000"
