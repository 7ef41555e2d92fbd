"""The RayService controller: Ray Serve applications on RayClusters, upgraded blue/green without downtime.

* :mod:`~raykube.controllers.rayservice.cache`: what a pass reads (RayServices, their RayClusters, head pods,
  the two Services, serve EndpointSlices), all from informer caches;
* :mod:`~raykube.controllers.rayservice.serve`: Serve API calls (GET/PUT applications, proxy health) as
  background tasks whose answers re-enqueue the RayService;
* :mod:`~raykube.controllers.rayservice.plan`: the pure decision of one pass (clusters, services, serve
  calls, head pod labels, deletions);
* :mod:`~raykube.controllers.rayservice.status`: the pure status (service statuses, conditions, Events);
* :mod:`~raykube.controllers.rayservice.act`: carries the plan out;
* :mod:`~raykube.controllers.rayservice.reconciler`: observe → plan → act → status → one write → Events.
"""
