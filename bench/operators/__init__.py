"""raykube against KubeRay's Go operator, side by side in one run on one local cluster (issue 16).

Scenarios (each its own module, sharing :mod:`bench.operators.measure`):

- :mod:`~bench.operators.throughput`: N RayClusters at once, both operators at equal settings (defaults,
  raised client limits, KubeRay tuned to 16 workers), against the bare-pod ceiling;
- :mod:`~bench.operators.scaleup`: one cluster 0 -> N workers while small clusters are created one per
  second: the small ones' time to ready, against a quiet operator;
- :mod:`~bench.operators.steady`: M clusters idle (RSS, CPU and requests per minute), then one spec change
  per second (reaction time), against a bare pod;
- :mod:`~bench.operators.writes`: API writes per cluster, against the minimum possible.

Run: ``python -m bench.operators --help``. Every scenario prints a table (raykube/KubeRay and each/baseline
ratios), ``--json`` prints the raw numbers instead, and a PNG chart is written per scenario.
"""
