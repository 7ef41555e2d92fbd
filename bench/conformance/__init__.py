"""`make conformance`: KubeRay's own operator and raykube's, in turn, over every KubeRay v1.7.0 sample.

- ``samples``: which documents of a sample are applied (the kinds a plain cluster serves);
- ``normalise``: one namespace's objects and Events -> a snapshot free of names, uids, times and random
  suffixes (pure);
- ``compare``: two snapshots -> differences, each matched against ``classified.yaml`` (pure);
- ``report``: the per-sample tables, the summary and ``docs/conformance.md`` (pure);
- ``phase``: one operator on the local cluster over all samples, until settled (I/O);
- ``run``: the whole run (``python -m bench.conformance.run``); ``--write-golden`` refreshes
  ``tests/golden/kuberay``, which the test suite compares raykube against without Go.
"""
