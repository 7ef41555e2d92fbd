"""The RayJob controller: KubeRay's ``jobDeploymentStatus`` state machine, without its stalls.

Modules, in the order a pass uses them:

* :mod:`~raykube.controllers.rayjob.cache`: what a pass reads (RayJobs, their RayClusters, submitter Jobs,
  ``<rayjob>-head-svc`` Services, head pods), all from informer caches.
* :mod:`~raykube.controllers.rayjob.dashboard`: dashboard calls as background tasks whose answers land in
  memory and wake the RayJob; a reconcile only ever reads the latest answer.
* :mod:`~raykube.controllers.rayjob.snapshot`: the frozen inputs of one decision and its output (`Step`).
* :mod:`~raykube.controllers.rayjob.changes`: `StatusChanges`, the typed status fields a step sets or clears.
* :mod:`~raykube.controllers.rayjob.states`: one pure function per state, returning the next status
  changes and the actions to take, with :mod:`~raykube.controllers.rayjob.deadlines` (time limits),
  :mod:`~raykube.controllers.rayjob.follow` (submitter and dashboard answers while Running) and
  :mod:`~raykube.controllers.rayjob.deletion` (cleanup policies of a finished RayJob).
* :mod:`~raykube.controllers.rayjob.act`: carries the actions out (and records Events).
* :mod:`~raykube.controllers.rayjob.status`: the one place the new status is assembled.
* :mod:`~raykube.controllers.rayjob.reconciler`: observe → decide → act → one status write → Events.
"""
