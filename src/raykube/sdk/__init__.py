"""raykube's Python SDK: Ray clusters and jobs on Kubernetes from a notebook or a script.

```python
from raykube.sdk import Cluster, ClusterConfig, Job

cluster = Cluster(ClusterConfig(name="demo", num_workers=2)).up()
cluster.wait_ready(timeout=300)
job = Job.submit("python -c 'import ray; ray.init(); print(ray.cluster_resources())'", cluster=cluster)
job.wait()
print(job.logs())
cluster.down()
```

All calls are synchronous (they work inside Jupyter's running event loop too) and read the API afresh; the
objects are raykube's ``ray.io/v1`` models. See docs/sdk.md. This module re-exports the public names.
"""

from raykube.sdk.cluster import Cluster, ClusterConfig, ClusterDetails, list_clusters
from raykube.sdk.connection import Connection, SdkError
from raykube.sdk.job import Job, JobStatus, list_jobs

__all__ = ["Cluster", "ClusterConfig", "ClusterDetails", "Connection", "Job", "JobStatus", "SdkError",
           "list_clusters", "list_jobs"]
