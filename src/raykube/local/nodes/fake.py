"""Fake nodes: kwok keeps Node objects alive and walks their pods through a life cycle we define.

kwok manages only nodes annotated `kwok.x-k8s.io/node=fake`. The kube-scheduler binds pods to them as
to any node; kwok then gives each bound pod an IP from a private range and makes it Running and Ready,
so controllers see exactly what a kubelet would report, with no process behind the pod.

Tests steer a pod with one annotation, `local.raykube.dev/fake-pod-state`:
  Failed     the pod's containers terminate with exit code 1 and the pod phase becomes Failed;
  Succeeded  the containers exit 0 and the phase becomes Succeeded;
  Unready    the pod stays Running but its Ready condition turns False;
  Ready      an Unready pod becomes Ready again.
  OOMKilled  the containers crash-loop (waiting in CrashLoopBackOff), last terminated OOMKilled, exit 137;
  CrashLoopBackOff  the same with a last exit code of 1 (reason Error);
  ImagePullBackOff  the pod goes back to Pending, its containers waiting in ImagePullBackOff;
  InitStuck  the pod goes back to Pending with its init containers running and never finishing.
A pod whose first container's image is :data:`MISSING_IMAGE` fails to pull it, as with ImagePullBackOff.
Pods owned by a batch Job succeed by themselves (so the Job controller can finish), unless steered.
"""

from __future__ import annotations

from typing import Any

import yaml

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
POD_STATE_ANNOTATION = "local.raykube.dev/fake-pod-state"
POD_CIDR = "10.244.0.0/16"
MISSING_IMAGE = "registry.invalid/raykube/does-not-exist:0"

_STATE = f'.metadata.annotations["{POD_STATE_ANNOTATION}"]'
_NOT_DELETING = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}
_RUNNING = {"key": ".status.phase", "operator": "In", "values": ["Running"]}

# Go templates evaluated by kwok against the pod; `$now` is the transition time.
_READY_CONDITIONS = """\
{{ $now := Now }}
conditions:
- {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ range .spec.readinessGates }}
- {type: {{ .conditionType | Quote }}, status: "True", lastTransitionTime: {{ $now | Quote }}}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: {{ .image | Quote }}, ready: true, started: true,
   restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}
{{ end }}
message: ""
"""

# The pod's start (Ready, or Running but unready when it is steered "Unready" from its creation) also assigns
# the pod its IP (once: a second assignment would be rejected).
_STARTED = """\
initContainerStatuses:
{{ range .spec.initContainers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: {{ .image | Quote }}, ready: true, restartCount: 0,
   state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}}
{{ end }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
{{ $ip := PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" )
   ( or .metadata.namespace "" ) }}
podIP: {{ $ip | Quote }}
podIPs: [{ip: {{ $ip | Quote }}}]
phase: Running
startTime: {{ $now | Quote }}
"""
_READY_STATUS = _READY_CONDITIONS + _STARTED


def _unready_conditions(*, initialized: bool) -> str:
    """``$now`` and the conditions of a scheduled pod whose containers are not ready (the start of every failure
    template); ``initialized``: whether its init containers have finished."""
    done = 'status: "True"' if initialized else 'status: "False", reason: ContainersNotInitialized'
    return """\
{{ $now := Now }}
conditions:
- {type: Initialized, DONE, lastTransitionTime: {{ $now | Quote }}}
- {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
- {type: ContainersReady, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
""".replace("DONE", done)


def _terminated_status(phase: str, exit_code: int, reason: str) -> str:
    return (
        """\
{{ $now := Now }}
conditions:
- {type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
- {type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: {{ .image | Quote }}, ready: false,
   started: false, restartCount: 0,
   state: {terminated: {exitCode: EXIT, reason: REASON, finishedAt: {{ $now | Quote }}}}}
{{ end }}
phase: PHASE
"""
        .replace("EXIT", str(exit_code))
        .replace("REASON", reason)
        .replace("PHASE", phase)
    )


_UNREADY_STATUS = _unready_conditions(initialized=True) + """\
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: {{ .image | Quote }}, ready: false, started: true,
   restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}
{{ end }}
message: "fake: unready"
"""
#: A pod created steered "Unready" starts that way: never Ready, not even for the moment between two stages (a
#: controller quick enough would see it Ready once, and a RayCluster once `ready` stays `ready`).
_STARTED_UNREADY_STATUS = _UNREADY_STATUS + _STARTED


def _crashloop_status(exit_code: int, reason: str, marker: str) -> str:
    return (
        _unready_conditions(initialized=True)
        + """\
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: {{ .image | Quote }}, ready: false,
   started: false, restartCount: 4,
   state: {waiting: {reason: CrashLoopBackOff,
                     message: {{ printf "back-off 1m20s restarting failed container=%s" .name | Quote }}}},
   lastState: {terminated: {exitCode: EXIT, reason: REASON, startedAt: {{ $now | Quote }},
                            finishedAt: {{ $now | Quote }}}}}
{{ end }}
message: MARKER
"""
        .replace("EXIT", str(exit_code))
        .replace("REASON", reason)
        .replace("MARKER", f'"{marker}"')
    )


_PULL_FAILURE_STATUS = _unready_conditions(initialized=True) + """\
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: "", ready: false, started: false,
   restartCount: 0,
   state: {waiting: {reason: ImagePullBackOff,
                     message: {{ printf "Back-off pulling image %q: ErrImagePull: %s not found" .image .image
                                 | Quote }}}}}
{{ end }}
phase: Pending
"""

_INIT_STUCK_STATUS = _unready_conditions(initialized=False) + """\
initContainerStatuses:
{{ range .spec.initContainers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: {{ .image | Quote }}, ready: false,
   started: true, restartCount: 0, state: {running: {startedAt: {{ $now | Quote }}}}}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- {name: {{ .name | Quote }}, image: {{ .image | Quote }}, imageID: "", ready: false, started: false,
   restartCount: 0, state: {waiting: {reason: PodInitializing}}}
{{ end }}
phase: Pending
"""


def _stage(name: str, selector: list[dict[str, Any]], nxt: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {"matchExpressions": selector},
            "next": nxt,
        },
    }


def pod_stages() -> list[dict[str, Any]]:
    """The pod life cycle kwok applies on our fake nodes (see the module docstring)."""
    unsteered = {"key": _STATE, "operator": "DoesNotExist"}

    def steered(value: str) -> dict[str, Any]:
        return {"key": _STATE, "operator": "In", "values": [value]}
    return [
        _stage(
            "raykube-pod-ready",
            [_NOT_DELETING, {"key": ".status.podIP", "operator": "DoesNotExist"},
             {"key": _STATE, "operator": "NotIn", "values": ["Unready"]}],
            {"statusTemplate": _READY_STATUS},
        ),
        _stage(
            "raykube-pod-started-unready",
            [_NOT_DELETING, {"key": ".status.podIP", "operator": "DoesNotExist"}, steered("Unready")],
            {"statusTemplate": _STARTED_UNREADY_STATUS},
        ),
        _stage(
            "raykube-pod-job-complete",
            [_NOT_DELETING, _RUNNING, unsteered,
             {"key": ".metadata.ownerReferences.[].kind", "operator": "In", "values": ["Job"]}],
            {"statusTemplate": _terminated_status("Succeeded", 0, "Completed")},
        ),
        _stage(
            "raykube-pod-failed",
            [_NOT_DELETING, _RUNNING, steered("Failed")],
            {"statusTemplate": _terminated_status("Failed", 1, "Error")},
        ),
        _stage(
            "raykube-pod-succeeded",
            [_NOT_DELETING, _RUNNING, steered("Succeeded")],
            {"statusTemplate": _terminated_status("Succeeded", 0, "Completed")},
        ),
        _stage(
            "raykube-pod-unready",
            [_NOT_DELETING, _RUNNING, steered("Unready"),
             {"key": ".status.message", "operator": "NotIn", "values": ["fake: unready"]}],
            {"statusTemplate": _UNREADY_STATUS},
        ),
        _stage(
            "raykube-pod-ready-again",
            [_NOT_DELETING, _RUNNING, steered("Ready"),
             {"key": ".status.message", "operator": "In", "values": ["fake: unready"]}],
            {"statusTemplate": _READY_CONDITIONS},
        ),
        *[_stage(
            f"raykube-pod-{state.lower()}",
            [_NOT_DELETING, _RUNNING, steered(state),
             {"key": ".status.message", "operator": "NotIn", "values": [f"fake: {state}"]}],
            {"statusTemplate": _crashloop_status(code, reason, f"fake: {state}")},
        ) for state, code, reason in (("OOMKilled", 137, "OOMKilled"), ("CrashLoopBackOff", 1, "Error"))],
        _stage("raykube-pod-imagepullbackoff", [_NOT_DELETING, _RUNNING, steered("ImagePullBackOff")],
               {"statusTemplate": _PULL_FAILURE_STATUS}),
        _stage("raykube-pod-missing-image",
               [_NOT_DELETING, _RUNNING, {"key": ".spec.containers.[0].image", "operator": "In",
                                          "values": [MISSING_IMAGE]}],
               {"statusTemplate": _PULL_FAILURE_STATUS}),
        _stage("raykube-pod-initstuck", [_NOT_DELETING, _RUNNING, steered("InitStuck")],
               {"statusTemplate": _INIT_STUCK_STATUS}),
        _stage(
            "raykube-pod-delete",
            [{"key": ".metadata.deletionTimestamp", "operator": "Exists"}],
            {"finalizers": {"empty": True}, "delete": True},
        ),
    ]


#: kwok's default number of pods it walks through a stage at a time (its `podPlayStageParallelism`).
KWOK_DEFAULT_WORKERS = 4


def kwok_config(workers: int = 0) -> str:
    """kwok's --config file: our pod stages (kwok keeps its built-in node stages) and, when ``workers`` is set,
    how many pods kwok moves through a stage at a time (0: kwok's default, `KWOK_DEFAULT_WORKERS`).

    One kwok stands in for every fake node's kubelet, so its few workers serialise what real nodes do side
    by side: a 1,000-pod scale-up queues every other pod's "Running" behind it. Benchmarks raise it."""
    documents: list[dict[str, Any]] = []
    if workers:
        documents.append({
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokConfiguration",
            "options": {"podPlayStageParallelism": workers},
        })
    return yaml.safe_dump_all([*documents, *pod_stages()], sort_keys=False)


def node_manifest(name: str, *, cpu: str, memory: str, pods: int) -> dict[str, Any]:
    """A Node that kwok will manage, with the given capacity and no taints (plain pods land on it)."""
    capacity = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                "node.raykube.dev/fake": "true",
            },
        },
        "spec": {},
        "status": {"capacity": capacity, "allocatable": capacity},
    }
