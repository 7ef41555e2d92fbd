"""Wiring of the RayCronJob controller (KubeRay's feature gate ``RayCronJob``, off by default there and here).

  RayCronJob  For(RayCronJob)

It reads nothing but RayCronJobs: the runs it creates are RayJobs with their own controller, and the next
pass is due at a time the work queue's clock keeps (requeue after), not on an event.
"""

from __future__ import annotations

from raykube.controllers.kinds import RAYCRONJOB
from raykube.controllers.raycronjob.reconciler import RayCronJobReconciler
from raykube.operator import wiring
from raykube.operator.config import OperatorConfig
from raykube.runtime.client import KubeClient
from raykube.runtime.controller import Controller
from raykube.runtime.manager import Manager
from raykube.runtime.metrics import RuntimeMetrics


def build_raycronjob(config: OperatorConfig, client: KubeClient, manager: Manager, metrics: RuntimeMetrics
                     ) -> Controller:
    informers = {namespace: manager.informer(RAYCRONJOB, namespace=namespace)
                 for namespace in config.watch_namespaces or (None,)}
    recorder = wiring.event_recorder(config, client, "raycronjob")
    reconciler = RayCronJobReconciler(client, informers=informers, recorder=recorder, gates=config.settings.gates)
    controller = wiring.reporting_controller(config, "raycronjob", reconciler.reconcile, lookup=reconciler.get,
                                             recorder=recorder, metrics=metrics)
    for informer in informers.values():
        controller.for_(informer)
    wiring.run(manager, controller, recorder)
    return controller
