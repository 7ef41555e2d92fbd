"""`raykube serve status`: the table and summary from a RayService's status and its serve Service."""

from __future__ import annotations

from raykube.cli.serve import rows, serving_cluster, summary

RAYSERVICE = {
    "metadata": {"name": "svc", "namespace": "ns"},
    "status": {
        "numServeEndpoints": 2,
        "conditions": [{"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints"}],
        "activeServiceStatus": {
            "rayClusterName": "svc-aaaaa",
            "applicationStatuses": {
                "fruit": {
                    "status": "DEPLOY_FAILED",
                    "message": "no module",
                    "serveDeploymentStatuses": {"Mango": {"status": "UNHEALTHY"}, "Market": {"status": "HEALTHY"}},
                },
                "math": {"status": "RUNNING"},
            },
        },
        "pendingServiceStatus": {"rayClusterName": "svc-bbbbb"},
    },
}
SERVE_SVC = {"metadata": {"name": "svc-serve-svc"}, "spec": {"selector": {"ray.io/cluster": "svc-aaaaa"}}}


def test_one_row_per_deployment_for_both_clusters() -> None:
    assert rows(RAYSERVICE) == [
        ("svc-aaaaa", "active", "fruit", "DEPLOY_FAILED", "Mango", "UNHEALTHY", "no module"),
        ("svc-aaaaa", "active", "fruit", "DEPLOY_FAILED", "Market", "HEALTHY", "no module"),
        ("svc-aaaaa", "active", "math", "RUNNING", "-", "-", ""),
        ("svc-bbbbb", "pending", "-", "-", "-", "-", ""),
    ]


def test_the_summary_names_the_serving_cluster_and_endpoints() -> None:
    assert serving_cluster(SERVE_SVC) == "svc-aaaaa" and serving_cluster(None) == ""
    lines = summary(RAYSERVICE, SERVE_SVC)
    assert "Serving cluster: svc-aaaaa (via Service svc-serve-svc)" in lines
    assert "Serve endpoints: 2" in lines and "Ready: True (NonZeroServeEndpoints)" in lines
    assert "Serving cluster: (none yet)" in summary(RAYSERVICE, None)


def test_the_summary_shows_each_clusters_share_during_an_incremental_upgrade() -> None:
    status = {
        "activeServiceStatus": {"rayClusterName": "svc-a", "targetCapacity": 50, "trafficRoutedPercent": 75},
        "pendingServiceStatus": {"rayClusterName": "svc-b", "targetCapacity": 50, "trafficRoutedPercent": 25},
    }
    lines = summary({"metadata": {"namespace": "ns", "name": "svc"}, "status": status}, None)
    assert "Traffic to svc-a (active): 75% of the HTTPRoute, target_capacity 50%" in lines
    assert "Traffic to svc-b (pending): 25% of the HTTPRoute, target_capacity 50%" in lines
    assert not [line for line in summary(RAYSERVICE, SERVE_SVC) if line.startswith("Traffic")]
