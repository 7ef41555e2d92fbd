"""RayCronJob controller: RayJobs on a cron schedule (KubeRay feature gate RayCronJob)."""
