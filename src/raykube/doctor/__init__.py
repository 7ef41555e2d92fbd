"""`raykube doctor`: why a RayCluster, RayJob or RayService is not ready, in plain words, with the evidence.

The diagnosis is pure: :mod:`.collect` reads a :class:`~.snapshot.Snapshot` from the API (the object, its
pods, Events, ResourceQuotas, the operator's Lease and Deployment), and :func:`.diagnose.diagnose` turns it
into :class:`~.findings.Finding` values, each quoting what the API showed and saying what to do. The rules
live in :mod:`.pods` (scheduling, images, crashes, init containers, head readiness), :mod:`.autoscaler`
(the autoscaler's Role and RoleBinding), :mod:`.operator`
(is an operator running and watching this namespace), :mod:`.kinds` (what each kind's status says:
pod-creation failures, a RayJob stuck initializing, failing Serve applications) and :mod:`.deletion` (a
deletion the GCS FT Redis clean-up finalizer holds).
"""
