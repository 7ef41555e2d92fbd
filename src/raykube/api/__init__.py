"""The ray.io/v1 API: typed models, their CRD metadata, defaults and controller-side validation.

Import the modules, not names from this package (``from raykube.api import raycluster``):

* ``schema``: the field-metadata convention (``prop``, ``CrdProp``, ``crd_prop``, ``CrdInfo``) and ``RayModel``.
* ``common``: the object envelope (``RayObject``), shared CEL rules, ``unknown_fields``.
* ``raycluster``, ``cluster_options``, ``rayjob``, ``rayservice``, ``raycronjob``: the types of each kind.
* ``defaults``: CRD and operator defaults, ``effective_replicas`` and other effective values.
* ``validation`` (with ``validation_cluster``, ``validation_job``, ``cron``): ``validate_<kind>(obj) -> list[str]``.
"""
