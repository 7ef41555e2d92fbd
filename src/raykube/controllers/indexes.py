"""Informer index names and functions that several controllers share (the pod informer is one for all).

A controller reads another kind's objects through these shared indexes, never through another controller's
package: controllers do not import each other (an import-linter contract).
"""

from __future__ import annotations

from raykube import reasons
from raykube.runtime.store import label_index

#: Index name of pods and Services by their `ray.io/cluster` label.
BY_CLUSTER = "by-cluster"
by_cluster = label_index(reasons.LABEL_CLUSTER)
