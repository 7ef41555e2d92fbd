"""Liveness and readiness probes of the Ray container (KubeRay's ``initLivenessAndReadinessProbe``).

Injected only when the user left the probe unset (and ``ENABLE_PROBES_INJECTION`` is not false). Ray >= 2.53
(by ``spec.rayVersion``) serves one health endpoint, ``GET /api/healthz`` on the dashboard agent port, so the
probe is an ``httpGet``; older or unparsable versions get the historic ``wget ... | grep success`` exec
probe (raylet health via the agent, plus GCS health via the dashboard on the head). Worker pods of a
RayService always use the exec form for readiness, with ``failureThreshold: 1`` and an extra check of the
Serve proxy, so a worker leaves the serve Service as soon as its proxy fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from raykube.api.schema import K8sObject
from raykube.builders import kube, raystart
from raykube.builders.kube import find_port
from raykube.builders.names import NodeKind

HEALTH_PATH: Final = "/api/healthz"
RAYLET_HEALTH_PATH: Final = "api/local_raylet_healthz"
GCS_HEALTH_PATH: Final = "api/gcs_healthz"
SERVE_PROXY_HEALTH_PATH: Final = "-/healthz"
MIN_HTTP_PROBE_VERSION: Final = (2, 53, 0)

LIVENESS_INITIAL_DELAY: Final = 30
LIVENESS_FAILURE_THRESHOLD: Final = 120
READINESS_INITIAL_DELAY: Final = 10
READINESS_FAILURE_THRESHOLD: Final = 10
SERVE_READINESS_FAILURE_THRESHOLD: Final = 1
PERIOD_SECONDS: Final = 5
SUCCESS_THRESHOLD: Final = 1
HEAD_TIMEOUT: Final = 5
WORKER_TIMEOUT: Final = 2
_VERSION: Final = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def wget_check(timeout: int, port: int, path: str) -> str:
    """One ``wget`` health check (KubeRay's ``BaseWgetHealthCommand``)."""
    return f"wget --tries 1 -T {timeout} -q -O- http://localhost:{port}/{path} | grep success"


def supports_http_probe(ray_version: str | None) -> bool:
    """Ray >= 2.53.0 has the unified ``/api/healthz`` endpoint; unknown versions are treated as older."""
    match = _VERSION.match((ray_version or "").strip())
    if match is None:
        return False
    version = (int(match[1]), int(match[2]), int(match[3] or 0))
    return version >= MIN_HTTP_PROBE_VERSION


def _port(params: Mapping[str, str], key: str, default: int) -> int:
    text = params.get(key)
    if text is not None and text.lstrip("-").isdigit() and -(2**31) <= int(text) < 2**31:
        return int(text)
    return default


def _checks(node: NodeKind, params: Mapping[str, str]) -> list[str]:
    agent = _port(params, "dashboard-agent-listen-port", raystart.DEFAULT_DASHBOARD_AGENT_PORT)
    checks = [wget_check(WORKER_TIMEOUT, agent, RAYLET_HEALTH_PATH)]
    if node == "head":
        dashboard = _port(params, "dashboard-port", raystart.DEFAULT_DASHBOARD_PORT)
        checks.append(wget_check(READINESS_FAILURE_THRESHOLD, dashboard, GCS_HEALTH_PATH))
    return checks


def _exec(checks: list[str]) -> K8sObject:
    return {"exec": {"command": ["bash", "-c", " && ".join(checks)]}}


def _probe(action: K8sObject, *, delay: int, timeout: int, failures: int) -> K8sObject:
    return {
        **kube.clone(action),
        "initialDelaySeconds": delay,
        "timeoutSeconds": timeout,
        "periodSeconds": PERIOD_SECONDS,
        "successThreshold": SUCCESS_THRESHOLD,
        "failureThreshold": failures,
    }


def add_probes(
    container: K8sObject,
    node: NodeKind,
    params: Mapping[str, str],
    *,
    ray_version: str | None,
    for_rayservice: bool,
) -> None:
    """Set missing liveness/readiness probes on the Ray container (mutates ``container``)."""
    checks = _checks(node, params)
    if supports_http_probe(ray_version):
        agent = _port(params, "dashboard-agent-listen-port", raystart.DEFAULT_DASHBOARD_AGENT_PORT)
        action: K8sObject = {"httpGet": {"path": HEALTH_PATH, "port": agent}}
    else:
        action = _exec(checks)
    timeout = HEAD_TIMEOUT if node == "head" else WORKER_TIMEOUT
    if container.get("livenessProbe") is None:
        container["livenessProbe"] = _probe(
            action, delay=LIVENESS_INITIAL_DELAY, timeout=timeout, failures=LIVENESS_FAILURE_THRESHOLD
        )
    if container.get("readinessProbe") is None:
        if for_rayservice and node == "worker":
            serve_port = find_port(container, "serve", raystart.DEFAULT_SERVE_PORT)
            serve = wget_check(READINESS_INITIAL_DELAY, serve_port, SERVE_PROXY_HEALTH_PATH)
            container["readinessProbe"] = _probe(
                _exec([*checks, serve]),
                delay=READINESS_INITIAL_DELAY,
                timeout=timeout,
                failures=SERVE_READINESS_FAILURE_THRESHOLD,
            )
        else:
            container["readinessProbe"] = _probe(
                action, delay=READINESS_INITIAL_DELAY, timeout=timeout, failures=READINESS_FAILURE_THRESHOLD
            )
