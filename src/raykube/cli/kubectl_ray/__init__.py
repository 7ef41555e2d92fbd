"""`kubectl ray ...`: KubeRay v1.7.0's kubectl plugin, rebuilt on raykube.

The console script ``kubectl-ray`` (``raykube.cli.kubectl_ray.app:main``) is found by kubectl on ``PATH``, so
``kubectl ray get cluster`` works as with KubeRay's Go plugin: same commands, flags, defaults, output columns
and messages. The same command groups are also mounted on ``raykube`` (``raykube get cluster``), except
``version`` and ``job``, which ``raykube`` already has.

* :mod:`.tables` (pure): KubeRay's table layouts, kubectl's column padding and age format.
* :mod:`.generate` (pure): the RayCluster and worker group that ``create`` builds from flags.
* :mod:`.session`: the ``kubectl`` handle (``connect``), one-line errors, the async runner.
* :mod:`.get`, :mod:`.create`, :mod:`.manage` (scale, delete, version), :mod:`.access` (session, log),
  :mod:`.jobs` (job submit): the commands.
"""
