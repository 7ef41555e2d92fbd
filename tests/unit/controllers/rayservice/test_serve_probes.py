"""Background Serve calls: answers re-enqueue the RayService; a stale answer never describes a new config."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from raykube.controllers.rayservice.serve import Applied, Endpoint, ServeProbes
from raykube.ray.serve import ServeClient
from raykube.runtime.objects import ObjectKey

pytestmark = pytest.mark.timeout(10)

KEY = ObjectKey("ns", "svc")
HERE = Endpoint("http://dashboard")
CONFIG = {"applications": [{"name": "fruit", "import_path": "fruit.app"}]}


class FakeServe:
    """A Serve API whose GETs can be held back, answering what was last PUT."""

    def __init__(self) -> None:
        self.deployed: dict[str, object] | None = None
        self.release = asyncio.Event()
        self.release.set()
        self.puts = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.puts += 1
            self.deployed = json.loads(request.content)
            return httpx.Response(200, text="")
        seen = self.deployed  # what Serve runs when the GET arrives
        await self.release.wait()
        apps = {a["name"]: {"status": "RUNNING"} for a in (seen or {}).get("applications", [])}  # type: ignore[attr-defined]
        return httpx.Response(200, json={"applications": apps})


async def settle(probes: ServeProbes) -> None:
    for _ in range(50):
        if not probes.in_flight:
            return
        await asyncio.sleep(0.01)


async def test_a_get_started_before_a_put_does_not_describe_the_put_config() -> None:
    fake = FakeServe()
    woken: list[ObjectKey] = []
    async with ServeClient(transport=httpx.MockTransport(fake)) as client:
        probes = ServeProbes(client, on_answer=woken.append)
        fake.release.clear()
        probes.poll(KEY, "c", HERE, max_age=2)  # sees no applications, answers late
        await asyncio.sleep(0.05)
        probes.deploy(KEY, "c", HERE, CONFIG, Applied("cfg", "head"))
        await asyncio.sleep(0.05)
        fake.release.set()
        await settle(probes)
        view = probes.view(KEY, "c")
        assert view.applied == Applied("cfg", "head") and view.apps is None  # the stale empty answer was dropped
        assert probes.take_outcomes(KEY) == [("c", "", False)] and KEY in woken
        probes.poll(KEY, "c", HERE, max_age=2)
        await settle(probes)
        apps = probes.view(KEY, "c").apps
        assert apps is not None and apps.applications["fruit"].status == "RUNNING"
        await probes.close()


async def test_a_config_already_applied_is_not_put_again() -> None:
    fake = FakeServe()
    async with ServeClient(transport=httpx.MockTransport(fake)) as client:
        probes = ServeProbes(client)
        probes.deploy(KEY, "c", HERE, CONFIG, Applied("cfg", "head"))
        await settle(probes)
        probes.deploy(KEY, "c", HERE, CONFIG, Applied("cfg", "head"))  # decided from a view taken before
        await settle(probes)
        assert fake.puts == 1
        probes.deploy(KEY, "c", HERE, CONFIG, Applied("cfg", "new-head"))  # the head restarted
        await settle(probes)
        assert fake.puts == 2
        probes.forget_cluster(KEY, "c")
        assert probes.view(KEY, "c").applied is None
        await probes.close()
