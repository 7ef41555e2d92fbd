"""Pod rules: why a Ray pod does not run or is not ready (pure: a pod and its Events in, findings out).

* Pending and unschedulable: the scheduler's message says whether resources, node selectors/affinity or
  taints are to blame.
* Containers waiting in ErrImagePull/ImagePullBackOff/InvalidImageName.
* Containers OOMKilled (now or last time) or crash-looping.
* Init containers that do not finish (a worker's ``wait-gcs-ready`` waits for the head's GCS).
* A head pod that runs but is not Ready (readiness probe failing, GCS not up).
* A pod that failed.
"""

from __future__ import annotations

import datetime as dt

from raykube.doctor.findings import Finding
from raykube.doctor.snapshot import Obj, event_line, parse_time

INIT_STUCK_AFTER = 10.0  # seconds an init container may run before the doctor calls it stuck
_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}


def _subject(pod: Obj) -> str:
    meta = pod["metadata"]
    role = (meta.get("labels") or {}).get("ray.io/node-type", "")
    return f"{role + ' ' if role else ''}pod {meta.get('namespace', '')}/{meta['name']}"


def _condition(pod: Obj, kind: str) -> Obj:
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def unschedulable(pod: Obj) -> Finding | None:
    """A pod the scheduler could not place, classified by the scheduler's own message."""
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") != "False" or scheduled.get("reason") != "Unschedulable":
        return None
    message = str(scheduled.get("message") or "")
    evidence = (f"PodScheduled=False (Unschedulable): {message}",)
    if "Insufficient" in message or "Too many pods" in message:
        requests = {c["name"]: (c.get("resources") or {}).get("requests") or {}
                    for c in pod["spec"].get("containers") or ()}
        return Finding("pod-unschedulable-resources", _subject(pod),
                       "No node has enough free resources for this pod, so it stays Pending.",
                       (*evidence, f"requests: {requests}"),
                       "Lower the pod's resource requests in the RayCluster spec, or add nodes (or let the cluster "
                       "autoscaler add them) with that much free CPU/memory/GPU.")
    if "node affinity/selector" in message or "node selector" in message.lower():
        selector = pod["spec"].get("nodeSelector") or {}
        return Finding("pod-unschedulable-selector", _subject(pod),
                       "No node matches this pod's nodeSelector or node affinity, so it stays Pending.",
                       (*evidence, f"nodeSelector: {selector}"),
                       "Fix the nodeSelector/affinity in the pod template, or label nodes to match "
                       "(`kubectl label node <node> key=value`).")
    if "taint" in message:
        return Finding("pod-unschedulable-taints", _subject(pod),
                       "The nodes carry taints this pod does not tolerate, so it stays Pending.",
                       (*evidence, f"tolerations: {pod['spec'].get('tolerations') or []}"),
                       "Add matching tolerations to the pod template, or remove the taints from the nodes.")
    return Finding("pod-unschedulable", _subject(pod), "The scheduler cannot place this pod.", evidence,
                   "Read the scheduler's message above; `kubectl describe pod` shows the same.")


def _statuses(pod: Obj, key: str = "containerStatuses") -> list[Obj]:
    return list((pod.get("status") or {}).get(key) or ())


def image_pull(pod: Obj) -> Finding | None:
    for key in ("initContainerStatuses", "containerStatuses"):
        for status in _statuses(pod, key):
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in _PULL_REASONS:
                return Finding("image-pull-failed", _subject(pod),
                               f"The image {status.get('image')!r} of container {status.get('name')!r} cannot be "
                               "pulled, so the container never starts.",
                               (f"container {status.get('name')}: waiting {waiting['reason']}: "
                                f"{waiting.get('message', '')}",),
                               "Check the image name and tag in the pod template, that the registry is reachable "
                               "from the nodes, and imagePullSecrets for a private registry.")
    return None


def crashes(pod: Obj) -> Finding | None:
    """OOMKilled (the current or the last termination) first, then any crash loop."""
    for status in _statuses(pod):
        state, last = status.get("state") or {}, status.get("lastState") or {}
        for terminated in ((state.get("terminated") or {}), (last.get("terminated") or {})):
            if terminated.get("reason") == "OOMKilled":
                limits = {c["name"]: ((c.get("resources") or {}).get("limits") or {}).get("memory")
                          for c in pod["spec"].get("containers") or ()}
                return Finding("container-oomkilled", _subject(pod),
                               f"Container {status.get('name')!r} ran out of memory and was killed (OOMKilled).",
                               (f"container {status.get('name')}: terminated OOMKilled, exit code "
                                f"{terminated.get('exitCode')}, restarts {status.get('restartCount', 0)}",
                                f"memory limits: {limits}"),
                               "Raise the container's memory request and limit, or make the workload use less "
                               "memory (fewer tasks per node, smaller object store: rayStartParams "
                               "object-store-memory).")
    for status in _statuses(pod):
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            last = ((status.get("lastState") or {}).get("terminated")) or {}
            return Finding("container-crashloop", _subject(pod),
                           f"Container {status.get('name')!r} keeps crashing and Kubernetes backs off restarting it.",
                           (f"container {status.get('name')}: waiting CrashLoopBackOff: {waiting.get('message', '')}",
                            f"last termination: {last.get('reason', '?')}, exit code {last.get('exitCode', '?')}, "
                            f"restarts {status.get('restartCount', 0)}"),
                           f"Read its last output: `kubectl logs {pod['metadata']['name']} -c {status.get('name')} "
                           f"-n {pod['metadata'].get('namespace', '')} --previous`.")
    return None


def init_stuck(pod: Obj, now: dt.datetime) -> Finding | None:
    """An init container still running (or waiting) after :data:`INIT_STUCK_AFTER` seconds."""
    if _condition(pod, "Initialized").get("status") != "False":
        return None
    for status in _statuses(pod, "initContainerStatuses"):
        state = status.get("state") or {}
        if "terminated" in state and (state["terminated"] or {}).get("exitCode") == 0:
            continue
        running = state.get("running") or {}
        started = parse_time(running.get("startedAt")) or parse_time(_condition(pod, "Initialized")
                                                                     .get("lastTransitionTime"))
        if started is None or (now - started).total_seconds() < INIT_STUCK_AFTER:
            continue
        name = status.get("name")
        waited = int((now - started).total_seconds())
        if name == "wait-gcs-ready":
            return Finding("worker-waiting-for-gcs", _subject(pod),
                           "This worker is stuck in its init container waiting for the head's GCS, which does not "
                           "answer: the head is not up or not reachable.",
                           (f"init container {name}: running for {waited}s",),
                           "Fix the head first (see the head pod's findings); check that the head Service "
                           "resolves and that no NetworkPolicy blocks port 6379.")
        return Finding("init-container-stuck", _subject(pod),
                       f"Init container {name!r} has not finished, so the pod's containers cannot start.",
                       (f"init container {name}: {next(iter(state), 'unknown')} for {waited}s",),
                       f"Read its output: `kubectl logs {pod['metadata']['name']} -c {name} "
                       f"-n {pod['metadata'].get('namespace', '')}`.")
    return None


def head_not_ready(pod: Obj, events: list[Obj]) -> Finding | None:
    labels = pod["metadata"].get("labels") or {}
    status = pod.get("status") or {}
    if labels.get("ray.io/node-type") != "head" or status.get("phase") != "Running":
        return None
    ready = _condition(pod, "Ready")
    if ready.get("status") != "False":
        return None
    probes = [event_line(e) for e in events if e.get("reason") == "Unhealthy"][-3:]
    evidence = [f"Ready=False ({ready.get('reason', '')}) {ready.get('message', '')}".rstrip()]
    evidence += [f"container {s.get('name')}: ready={s.get('ready')}" for s in _statuses(pod)]
    return Finding("head-not-ready", _subject(pod),
                   "The head pod runs but is not Ready: its readiness probe fails, so Ray's GCS or dashboard is "
                   "not up (workers wait for it, the RayCluster cannot become ready).",
                   (*evidence, *probes),
                   f"Read the head's log: `kubectl logs {pod['metadata']['name']} -n "
                   f"{pod['metadata'].get('namespace', '')}`, and /tmp/ray/session_latest/logs/gcs_server.out "
                   "in the head; check its memory and CPU are enough for Ray.")


def failed(pod: Obj) -> Finding | None:
    status = pod.get("status") or {}
    if status.get("phase") != "Failed":
        return None
    ends = []
    for container in _statuses(pod):
        terminated = (container.get("state") or {}).get("terminated") or {}
        ends.append(f"container {container.get('name')}: terminated {terminated.get('reason', '?')}, exit code "
                    f"{terminated.get('exitCode', '?')}")
    return Finding("pod-failed", _subject(pod), "The pod failed: its containers exited with an error.",
                   (f"phase Failed {status.get('reason', '')} {status.get('message', '')}".rstrip(), *ends),
                   f"Read its log: `kubectl logs {pod['metadata']['name']} -n "
                   f"{pod['metadata'].get('namespace', '')}`; the operator replaces failed Ray pods.")


def diagnose_pod(pod: Obj, events: list[Obj], now: dt.datetime) -> list[Finding]:
    """The findings for one pod, most specific first; a deleting pod is left alone."""
    if pod["metadata"].get("deletionTimestamp"):
        return []
    for rule in (unschedulable, image_pull, crashes, failed):
        found = rule(pod)
        if found:
            return [found]
    stuck = init_stuck(pod, now)
    if stuck:
        return [stuck]
    head = head_not_ready(pod, events)
    return [head] if head else []
