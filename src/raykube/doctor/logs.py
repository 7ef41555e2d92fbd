"""Log rules: what a failed RayJob submitter and the head's autoscaler sidecar wrote.

Which logs to read is decided here (:func:`wanted_logs`, pure) and read by :mod:`.collect`, so the doctor
reads only the few logs that can explain something: a submitter container that exited non-zero (its last
lines say why ``ray job submit`` failed: the dashboard unreachable, the entrypoint's error), and the
``autoscaler`` container of an autoscaling cluster's head (403s when its RBAC is gone, errors talking to GCS).
A log that cannot be read (no kubelet behind a fake node, no RBAC on ``pods/log``) is named as such.
"""

from __future__ import annotations

import re

from raykube.doctor.findings import Finding
from raykube.doctor.snapshot import LogTail, Obj, Snapshot

AUTOSCALER_CONTAINER = "autoscaler"
TAIL_LINES = 50
QUOTED = 3  # log lines quoted per finding
_ERROR = re.compile(r"\b(error|exception|traceback|forbidden|fatal|failed|unauthorized)\b|\b403\b", re.IGNORECASE)


def _labels(pod: Obj) -> dict[str, str]:
    return dict(pod["metadata"].get("labels") or {})


def is_submitter(pod: Obj, rayjob: str) -> bool:
    return _labels(pod).get("batch.kubernetes.io/job-name") == rayjob and "ray.io/cluster" not in _labels(pod)


def failed_run(status: Obj) -> tuple[Obj, bool] | None:
    """The non-zero termination of a container (current, or previous while it waits to restart), with
    whether it is the previous run."""
    state, last = status.get("state") or {}, status.get("lastState") or {}
    terminated = state.get("terminated") or {}
    if terminated and terminated.get("exitCode") not in (0, None):
        return terminated, False
    previous = last.get("terminated") or {}
    if state.get("waiting") and previous and previous.get("exitCode") not in (0, None):
        return previous, True
    return None


def wanted_logs(kind: str, obj: Obj, clusters: list[Obj], pods: list[Obj]) -> list[tuple[str, str, bool]]:
    """(pod, container, previous) of every log the rules want: failed submitter containers, autoscaler
    sidecars of autoscaling clusters' heads."""
    wanted = []
    if kind == "RayJob":
        for pod in pods:
            if not is_submitter(pod, obj["metadata"]["name"]):
                continue
            for status in (pod.get("status") or {}).get("containerStatuses") or ():
                run = failed_run(status)
                if run is not None:
                    wanted.append((pod["metadata"]["name"], str(status.get("name")), run[1]))
    autoscaling = {c["metadata"]["name"] for c in clusters if (c.get("spec") or {}).get("enableInTreeAutoscaling")}
    for pod in pods:
        labels = _labels(pod)
        if labels.get("ray.io/node-type") != "head" or labels.get("ray.io/cluster") not in autoscaling:
            continue
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            if status.get("name") == AUTOSCALER_CONTAINER:
                wanted.append((pod["metadata"]["name"], AUTOSCALER_CONTAINER, failed_run(status) is not None
                               and bool((status.get("state") or {}).get("waiting"))))
    return wanted


def error_lines(tail: LogTail) -> list[str]:
    return [line for line in tail.lines if _ERROR.search(line)]


def quote(tail: LogTail, *, errors_only: bool = False) -> list[str]:
    """Evidence lines from a log tail: its error lines (else its last lines), or why it could not be read."""
    where = f"log of {tail.pod}/{tail.container}{' (previous run)' if tail.previous else ''}"
    if tail.error:
        return [] if errors_only else [f"{where}: not available ({tail.error})"]
    chosen = error_lines(tail) or ([] if errors_only else list(tail.lines))
    return [f"{where}: {line.strip()[:300]}" for line in chosen[-QUOTED:]]


def _tail(snapshot: Snapshot, pod: str, container: str) -> LogTail | None:
    return next((t for t in snapshot.logs if t.pod == pod and t.container == container), None)


def submitter_failed(snapshot: Snapshot, pod: Obj) -> Finding | None:
    """A RayJob's submitter container that exited non-zero, with its last words."""
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        run = failed_run(status)
        if run is None:
            continue
        terminated, _ = run
        name, meta = str(status.get("name")), pod["metadata"]
        tail = _tail(snapshot, meta["name"], name)
        evidence = [f"container {name}: terminated {terminated.get('reason', '?')}, exit code "
                    f"{terminated.get('exitCode')}, restarts {status.get('restartCount', 0)}"]
        evidence += quote(tail) if tail else []
        return Finding("rayjob-submitter-failed", f"submitter pod {meta.get('namespace', '')}/{meta['name']}",
                       f"The RayJob's submitter (`ray job submit`) exited with code {terminated.get('exitCode')}: "
                       "the job could not be submitted, or it failed and the submitter reported it.",
                       tuple(evidence),
                       "Read the log lines above (all of it: `kubectl logs "
                       f"{meta['name']} -c {name} -n {meta.get('namespace', '')}`): a connection error means the "
                       "head's dashboard is not up; a Python error comes from the entrypoint.")
    return None


def autoscaler_errors(snapshot: Snapshot, cluster: Obj) -> list[Finding]:
    """Error lines in the autoscaler sidecar's log of an autoscaling cluster's head."""
    name = cluster["metadata"]["name"]
    heads = {p["metadata"]["name"] for p in snapshot.pods
             if _labels(p).get("ray.io/cluster") == name and _labels(p).get("ray.io/node-type") == "head"}
    found = []
    for tail in snapshot.logs:
        if tail.container != AUTOSCALER_CONTAINER or tail.pod not in heads:
            continue
        lines = quote(tail, errors_only=True)
        if not lines:
            continue
        denied = any(re.search(r"forbidden|\b403\b|unauthorized", line, re.IGNORECASE) for line in lines)
        fix = ("The autoscaler is refused by the API server: restore its Role and RoleBinding (see "
               "autoscaler-rbac-missing) or restart the operator, which re-creates them." if denied else
               f"Read the whole log: `kubectl logs {tail.pod} -c {AUTOSCALER_CONTAINER} -n {snapshot.namespace}`.")
        found.append(Finding("autoscaler-errors", f"head pod {snapshot.namespace}/{tail.pod}",
                             "The autoscaler sidecar logs errors, so the cluster may not scale as asked.",
                             tuple(lines), fix))
    return found
