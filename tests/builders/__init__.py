"""Fluent builders of the objects tests hand to raykube: RayClusters, RayJobs, RayServices and pods.

One package for the unit, integration and render tests (JobSet's ``pkg/util/testing/wrappers.go`` is the
model): start from ``make_raycluster(name)``, ``make_rayjob(name)``, ``make_rayservice(name)`` or
``make_pod(name)``, chain what the test cares about, and finish with ``.json()`` (the manifest to apply),
``.yaml()`` or ``.obj()`` (the typed model). A builder writes only what it is told (no server-set fields
unless asked: ``.uid()``, ``.generation()``), so a manifest built here is what a test author would have
written by hand.

The names are re-exported here for ``from tests.builders import make_raycluster``; each lives in its module.
"""

from tests.builders.pod import make_pod
from tests.builders.raycluster import RayClusterBuilder, make_raycluster
from tests.builders.rayjob import RayJobBuilder, RayServiceBuilder, make_rayjob, make_rayservice

__all__ = [
    "RayClusterBuilder",
    "RayJobBuilder",
    "RayServiceBuilder",
    "make_pod",
    "make_raycluster",
    "make_rayjob",
    "make_rayservice",
]
