"""The RayJob controller's timing knobs and switches, as one frozen value.

KubeRay reads these from its environment inside the reconcile (``RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS``,
``RAYJOB_DEPLOYMENT_STATUS_TRANSITION_GRACE_PERIOD_SECONDS``, ``DELETE_RAYJOB_CR_AFTER_JOB_FINISHES``); here the
operator entry point reads them once (:func:`rayjob_settings_from_environment`) and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

ENV_STATUS_CHECK_TIMEOUT: Final = "RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS"
ENV_TRANSITION_GRACE_PERIOD: Final = "RAYJOB_DEPLOYMENT_STATUS_TRANSITION_GRACE_PERIOD_SECONDS"
ENV_DELETE_RAYJOB_AFTER_FINISH: Final = "DELETE_RAYJOB_CR_AFTER_JOB_FINISHES"


@dataclass(frozen=True, kw_only=True)
class RayJobSettings:
    """How the RayJob controller paces itself (KubeRay's names and defaults in brackets).

    Attributes:
        requeue_seconds: pass again this often in every non-terminal state [``RayJobDefaultRequeueDuration``, 3 s].
        status_check_timeout: fail with JobStatusCheckTimeoutExceeded after the dashboard has failed to
            answer for this long [``RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS``, 300 s].
        transition_grace_period: leave Running this long after Ray reported the job ended, even if the
            submitter has not finished [``RAYJOB_DEPLOYMENT_STATUS_TRANSITION_GRACE_PERIOD_SECONDS``, 300 s].
        submitter_finished_grace: fail when the submitter finished this long ago and Ray still reports the
            job as not ended [30 s].
        delete_rayjob_after_finish: ``shutdownAfterJobFinishes`` deletes the RayJob itself, not only its
            cluster [``DELETE_RAYJOB_CR_AFTER_JOB_FINISHES``, false].
        dashboard_timeout: budget of one dashboard call [``RayHTTPClientDirectTimeoutSeconds``, 2 s].
        dashboard_concurrency: dashboard calls in flight at once, across all RayJobs (KubeRay: 1 per
            reconcile worker, inside the reconcile).
        dashboard_url_override: TEST/DEVELOPMENT HOOK, off by default: send every dashboard call to this base
            URL (a stand-in dashboard) instead of ``http://<status.dashboardURL>``. The status still shows the
            real ``dashboardURL``. Never set it in production.
        use_kubernetes_proxy: reach dashboards through the API server's Service proxy, for an operator that
            runs outside the cluster network [``--use-kubernetes-proxy``, off; its calls get KubeRay's proxy
            timeout, 10 s].
        kubernetes_proxy_base: the API server URL the proxy paths hang off (set by the operator wiring).
    """

    requeue_seconds: float = 3.0
    status_check_timeout: float = 300.0
    transition_grace_period: float = 300.0
    submitter_finished_grace: float = 30.0
    delete_rayjob_after_finish: bool = False
    dashboard_timeout: float = 2.0
    dashboard_concurrency: int = 64
    dashboard_url_override: str | None = None
    use_kubernetes_proxy: bool = False
    kubernetes_proxy_base: str | None = None

    def dashboard_address(self, dashboard_url: str) -> str:
        """Where calls about a job whose ``status.dashboardURL`` is ``dashboard_url`` go.

        ``<svc>.<ns>.svc.<domain>:<port>`` becomes ``http://<svc>.<ns>.svc.<domain>:<port>``, or, through the
        Kubernetes proxy, ``<api server>/api/v1/namespaces/<ns>/services/<svc>:dashboard/proxy``.
        """
        if self.dashboard_url_override:
            return self.dashboard_url_override.rstrip("/")
        if self.use_kubernetes_proxy and self.kubernetes_proxy_base and "://" not in dashboard_url:
            labels = dashboard_url.rpartition(":")[0].split(".")
            if len(labels) >= 2:
                service, namespace = labels[0], labels[1]
                return f"{self.kubernetes_proxy_base}/api/v1/namespaces/{namespace}/services/{service}:dashboard/proxy"
        return dashboard_url if "://" in dashboard_url else f"http://{dashboard_url}"


def rayjob_settings_from_environment(environ: Mapping[str, str], **overrides: object) -> RayJobSettings:
    """KubeRay's three RayJob environment variables, plus explicit ``overrides`` (field names)."""
    values: dict[str, object] = {}
    for env, name in (
        (ENV_STATUS_CHECK_TIMEOUT, "status_check_timeout"),
        (ENV_TRANSITION_GRACE_PERIOD, "transition_grace_period"),
    ):
        raw = environ.get(env)
        if raw:
            try:
                seconds = float(raw)
            except ValueError as exc:
                raise ValueError(f"{env} must be a number of seconds, got {raw!r}") from exc
            if seconds > 0:
                values[name] = seconds
    if environ.get(ENV_DELETE_RAYJOB_AFTER_FINISH, "").lower() == "true":
        values["delete_rayjob_after_finish"] = True
    values.update({k: v for k, v in overrides.items() if v is not None})
    return RayJobSettings(**values)  # type: ignore[arg-type]
