"""controllers.kinds writes the ray.io plurals out (so that the CLI need not import the models): they must equal
what the models' CRDs say, and its Gateway API kinds what the Gateway builder writes."""

from __future__ import annotations

from raykube.api.raycluster import RayCluster
from raykube.api.raycronjob import RayCronJob
from raykube.api.rayjob import RayJob
from raykube.api.rayservice import RayService
from raykube.builders import gateway
from raykube.controllers import kinds


def test_the_written_out_plurals_and_groups_are_the_models_and_builders() -> None:
    for kind, model in ((kinds.RAYCLUSTER, RayCluster), (kinds.RAYJOB, RayJob), (kinds.RAYSERVICE, RayService),
                        (kinds.RAYCRONJOB, RayCronJob)):
        assert kind.plural == model.CRD_INFO.plural, kind.kind
        assert kind.kind == model.__name__
    for kind in (kinds.GATEWAY, kinds.HTTPROUTE):
        assert (kind.group, kind.version) == (gateway.GROUP, gateway.VERSION)
