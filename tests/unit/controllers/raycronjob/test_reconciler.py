"""The RayCronJob reconciler's answer to a spec it cannot run: a Warning Event, no retry."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from raykube.controllers.raycronjob.reconciler import RayCronJobReconciler
from raykube.runtime.client import KubeClient
from raykube.runtime.informer import Informer
from raykube.runtime.objects import ObjectKey
from tests.unit.runtime.test_events import make

KEY = ObjectKey("ns", "nightly")


def _cron(schedule: str) -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCronJob",
        "metadata": {"name": KEY.name, "namespace": KEY.namespace, "uid": "u1",
                     "creationTimestamp": "2026-12-01T00:00:00Z"},
        "spec": {"schedule": schedule, "jobTemplate": {"entrypoint": "python main.py",
                                                       "clusterSelector": {"ray.io/cluster": "existing"}}},
    }


async def test_a_schedule_that_never_fires_gets_an_invalid_spec_warning_and_no_retry() -> None:
    sink, clock, recorder = make()
    informer = cast(Informer, SimpleNamespace(store={KEY: _cron("0 0 30 2 *")}))
    # No client call may happen: an invalid spec creates nothing and writes no status.
    reconciler = RayCronJobReconciler(cast(KubeClient, None), informers={None: informer}, recorder=recorder,
                                      clock=clock)
    result = await reconciler.reconcile(KEY)
    await recorder.flush()
    assert result.requeue_after is None
    assert [(e["type"], e["reason"], e["note"]) for e in sink.created] == [(
        "Warning", "InvalidRayCronJobSpec",
        "ns/nightly: spec.schedule: invalid cron schedule: 0 0 30 2 * never fires (no time matches it within 9 years)",
    )]
