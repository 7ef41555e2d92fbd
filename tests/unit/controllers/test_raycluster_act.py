"""Carrying out a pod plan: creates stop as soon as the cluster is deleted."""

from __future__ import annotations

from typing import Any

from raykube.builders.cluster import desired_cluster
from raykube.builders.settings import OperatorSettings
from raykube.controllers.events import ObjectEvents
from raykube.controllers.raycluster.act import PodActor
from raykube.controllers.raycluster.plan import plan_pods
from raykube.runtime.expectations import ScaleExpectations
from raykube.runtime.objects import ObjectKey
from raykube.runtime.store import Store
from tests.unit.controllers.fixtures import make_cluster
from tests.unit.runtime.test_events import make

KEY = ObjectKey("default", "rc")


class Pods:
    """Counts pod creates; the cluster is deleted after ``delete_after`` of them."""

    def __init__(self, delete_after: int) -> None:
        self.created = 0
        self.delete_after = delete_after

    async def create(self, kind: Any, obj: Any, *, namespace: str | None = None) -> dict[str, Any]:
        self.created += 1
        return {"metadata": {"name": f"p{self.created}"}}


async def test_a_cluster_deleted_during_a_pass_gets_no_further_pods() -> None:
    # Found as a flaky cluster would: pods were created up to 12 s after their RayCluster was deleted.
    cluster = make_cluster().worker_group("g", replicas=30, max_replicas=30).obj()
    plan = plan_pods(cluster, [])
    desired = desired_cluster(cluster, OperatorSettings(), auth_token="t", pods=plan.pods_to_create)
    pods = Pods(delete_after=3)
    _, _, recorder = make()
    events = ObjectEvents.start(recorder, cluster.model_dump(by_alias=True, exclude_none=True))
    expectations = ScaleExpectations(Store())
    actor = PodActor(
        pods, cluster, expectations, events, still_wanted=lambda: pods.created < pods.delete_after  # type: ignore[arg-type]
    )
    assert await actor.carry_out(KEY, plan, desired) is None
    # The head and the worker batches of 1 and 2 went out (4 pods, the deletion was seen after the third),
    # then nothing more of the 31 planned.
    assert pods.created == 4
