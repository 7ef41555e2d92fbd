"""`raykube operator`: run the controllers (KubeRay's operator flags, same names)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from typing import Annotated

import typer

from raykube.builders.settings import DEFAULT_MAX_PODS_PER_CLUSTER, settings_from_environment
from raykube.controllers.rayjob.settings import rayjob_settings_from_environment
from raykube.operator.config import OperatorConfig, parse_feature_gates, with_gates
from raykube.runtime import logs

_log = logs.get_logger("raykube.operator")


def operator(
    kubeconfig: Annotated[
        str | None, typer.Option(envvar="KUBECONFIG", help="Kubeconfig; in-cluster if unset.")
    ] = None,
    watch_namespace: Annotated[str, typer.Option(help="Comma-separated namespaces to watch; empty: all.")] = "",
    enable_leader_election: Annotated[bool, typer.Option(help="Only the Lease holder reconciles.")] = True,
    leader_election_namespace: Annotated[str | None, typer.Option(help="Namespace of the Lease.")] = None,
    metrics_addr: Annotated[
        str, typer.Option(help="Prometheus /metrics address (host:port; empty host: all interfaces).")
    ] = "127.0.0.1:8080",
    health_probe_bind_address: Annotated[
        str, typer.Option(help="/healthz and /readyz address (host:port; empty host: all interfaces).")
    ] = "127.0.0.1:8082",
    reconcile_concurrency: Annotated[int, typer.Option(help="Concurrent reconciles per controller.")] = 16,
    qps: Annotated[float, typer.Option(help="Client-side API requests per second.")] = 100.0,
    burst: Annotated[int, typer.Option(help="Client-side API request burst.")] = 200,
    max_pods_per_cluster: Annotated[
        int,
        typer.Option(min=0, help="Refuse RayClusters asking for more pods (head and workers); 0: no limit."),
    ] = DEFAULT_MAX_PODS_PER_CLUSTER,
    log_json: Annotated[bool, typer.Option(help="Structured JSON logs.")] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
    use_kubernetes_proxy: Annotated[
        bool, typer.Option(help="Reach Ray dashboards through the API server's Service proxy.")
    ] = False,
    feature_gates: Annotated[
        str, typer.Option(help="KubeRay's feature gates, e.g. RayCronJob=true,RayClusterNetworkPolicy=true.")
    ] = "",
    dashboard_url_override: Annotated[
        str | None,
        typer.Option(
            envvar="RAYKUBE_DASHBOARD_URL_OVERRIDE",
            help="TEST/DEVELOPMENT ONLY: send every Ray dashboard call to this URL (a stand-in dashboard).",
        ),
    ] = None,
) -> None:
    """Run the raykube operator (RayCluster, RayJob, RayService and RayCronJob controllers) against a Kubernetes
    cluster."""
    logs.configure(log_level, json_output=log_json)
    try:
        gates = parse_feature_gates(feature_gates)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--feature-gates") from None
    config = OperatorConfig(
        feature_gates=gates,
        kubeconfig=kubeconfig,
        watch_namespaces=tuple(ns for ns in watch_namespace.split(",") if ns),
        leader_election=enable_leader_election,
        metrics_addr=metrics_addr,
        probe_addr=health_probe_bind_address,
        reconcile_concurrency=reconcile_concurrency,
        qps=qps,
        burst=burst,
        settings=with_gates(
            dataclasses.replace(settings_from_environment(os.environ), max_pods_per_cluster=max_pods_per_cluster),
            gates,
        ),
        rayjob=rayjob_settings_from_environment(
            os.environ, dashboard_url_override=dashboard_url_override, use_kubernetes_proxy=use_kubernetes_proxy
        ),
        **({"leader_election_namespace": leader_election_namespace} if leader_election_namespace else {}),
    )
    # Imported here: the operator's controllers, informers and HTTP stack take most of a second to import, and every
    # other `raykube` command would pay for them.
    from raykube.operator import app as operator_app

    asyncio.run(operator_app.run(config))
