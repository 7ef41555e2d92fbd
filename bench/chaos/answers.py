"""How the operator answered each manifest of the corpus.

Each manifest is created in a batch namespace while one operator runs. Its answer is, in order of
preference: ``rejected`` (the API server refused it: schema or API validation), a Warning Event about it
and/or a failure condition (the operator's validation or a failing reconcile, explained), ``accepted``
(reconciled as a valid object: the mutated value is allowed), or ``unanswered`` (nothing within the settle
time). A ``Reconciler error`` log line about an object that has no Warning Event is a silent retry loop.
After each batch a canary RayCluster must become ready: if it does not, the operator hung.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos.api import Api
from bench.chaos.corpus import Case, cluster_spec

FAILED_DEPLOYMENTS = frozenset({"ValidationFailed", "Failed"})
FAILURE_WORDS = ("Invalid", "Validation", "Failed", "OverLimit")
#: The answer a manifest must get, for those whose answer an earlier run found wrong (docs/reliability.md
#: says what each one did then); any other answer fails the run.
EXPECTED: dict[str, str] = {
    # Every dashboard call failed with InvalidURL and a traceback; the RayJob was not failed.
    "RayJob/spec.jobId/huge-string": "warning+condition",  # InvalidRayJobSpec, ValidationFailed
    "RayCronJob/spec.jobTemplate.jobId/huge-string": "warning",  # InvalidRayCronJobSpec (no conditions)
    # Never fires: no Warning, no condition, unanswered.
    "RayCronJob/spec.schedule/cron-feb-30": "warning",  # InvalidRayCronJobSpec
    # The 100 KiB value in the validation message made every condition write fail (422): Warning only.
    "RayService/spec.upgradeStrategy.type/huge-string": "warning+condition",  # Ready=False ValidationFailed
    # Accepted silently (issue 14). KubeRay rejects these in validation.go: InvalidRayClusterSpec + ReplicaFailure.
    "RayCluster/spec.workerGroupSpecs[0].idleTimeoutSeconds/negative": "warning+condition",
    "RayCluster/spec.autoscalerOptions.idleTimeoutSeconds/negative": "warning+condition",
    # ... and the CRD's enums (the API server refuses them, as under KubeRay).
    "RayCluster/spec.authOptions.mode/unknown-value": "rejected",
    "RayCluster/spec.autoscalerOptions.upscalingMode/unknown-value": "rejected",
    "RayCluster/spec.autoscalerOptions.version/unknown-value": "rejected",
    "RayCluster/spec.gcsFaultToleranceOptions.backend/unknown-value": "rejected",
    "RayCluster/spec.upgradeStrategy.type/unknown-value": "rejected",
    "RayService/spec.upgradeStrategy.type/unknown-value": "warning+condition",  # Ready=False ValidationFailed
    # KubeRay accepts these without a word; raykube accepts them too, with a Warning UnexpectedSpecValue
    # (api/spec_warnings.py) and nothing that fails the object.
    "RayCluster/spec.workerGroupSpecs[0].replicas/negative": "warning",  # kept at minReplicas
    "RayCluster/spec.workerGroupSpecs[0].replicas/replicas-negative": "warning",
    "RayCluster/spec.workerGroupSpecs[0].numOfHosts/negative": "warning",  # no pods (was: -1 desired pods)
    "RayCluster/spec.workerGroupSpecs[0].numOfHosts/num-of-hosts-zero": "warning",
    "RayCluster/spec.workerGroupSpecs[0].priority/negative": "warning",  # passed to Ray unchanged
    "RayJob/spec.submissionMode/unknown-value": "warning",  # nothing submitted, as under KubeRay
    "RayJob/spec.submissionMode/submission-mode-unknown": "warning",
    "RayJob/spec.submitterConfig.backoffLimit/negative": "warning",  # the default (2) instead
    "RayCronJob/spec.jobTemplate.submissionMode/unknown-value": "warning",
    "RayCronJob/spec.jobTemplate.submitterConfig.backoffLimit/negative": "warning",
    "RayService/spec.serviceUnhealthySecondThreshold/negative": "warning",  # deprecated, unused
    "RayService/spec.deploymentUnhealthySecondThreshold/negative": "warning",
}


@dataclass
class Answer:
    case: str
    kind: str
    mutation: str
    origin: str
    answer: str  # rejected, warning+condition, warning, condition, accepted, unanswered
    detail: str = ""


@dataclass
class CorpusResult:
    answers: list[Answer] = field(default_factory=list)
    crashes: int = 0
    hangs: int = 0
    tracebacks: int = 0
    silent_loops: list[str] = field(default_factory=list)
    canary_seconds: list[float] = field(default_factory=list)

    def by_class(self) -> dict[str, int]:
        return dict(Counter(a.answer for a in self.answers))

    def unexpected(self, expected: dict[str, str] = EXPECTED) -> list[str]:
        """``case: got <answer>, expected <answer>`` for every case of the run whose answer is not the expected one.

        A case the run did not include (``--limit``) is not checked; the unit tests keep every key a case id.
        """
        return [f"{a.case}: got {a.answer}, expected {expected[a.case]}"
                for a in self.answers if a.case in expected and a.answer != expected[a.case]]

    def by_mutation(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for a in self.answers:
            table.setdefault(a.mutation if a.origin == "schema" else "hand-written", Counter())[a.answer] += 1
        return {k: dict(v) for k, v in sorted(table.items())}


def failure_condition(kind: str, obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    if kind == "RayJob" and status.get("jobDeploymentStatus") in FAILED_DEPLOYMENTS:
        return True
    for condition in status.get("conditions") or []:
        reason = str(condition.get("reason") or "")
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return True
        if any(word in reason for word in FAILURE_WORDS):
            return True
    return False


def reconciled(kind: str, obj: dict[str, Any], owned: set[str]) -> bool:
    """The operator acted on it as a valid object (a status, or children of a RayCronJob)."""
    status = obj.get("status") or {}
    if kind == "RayCronJob":
        return bool(status.get("lastScheduleTime")) or obj["metadata"]["name"] in owned
    if kind == "RayJob":
        return bool(status.get("jobDeploymentStatus"))
    return bool(status)


def canary() -> dict[str, Any]:
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "canary"}, "spec": cluster_spec()}


class CorpusRunner:
    """Runs the corpus in batches against one operator (``alive`` checks it, ``restart`` replaces it)."""

    def __init__(self, api: Api, log: Callable[[], Path], alive: Callable[[], bool], restart: Callable[[], None],
                 *, batch: int = 60, settle: float = 40.0, quiet: float = 12.0) -> None:
        self.api, self._log, self._alive, self._restart = api, log, alive, restart
        self.batch, self.settle, self.quiet = batch, settle, quiet
        self.result = CorpusResult()

    def run(self, cases: list[Case], progress: Callable[[str], None] = print) -> CorpusResult:
        for start in range(0, len(cases), self.batch):
            chunk = cases[start:start + self.batch]
            self._batch(f"chaos-{start // self.batch}", chunk)
            progress(f"corpus: {min(start + self.batch, len(cases))}/{len(cases)} {self.result.by_class()}")
        return self.result

    def _check_alive(self) -> None:
        if not self._alive():
            self.result.crashes += 1
            self._restart()

    def _batch(self, ns: str, chunk: list[Case]) -> None:
        self.api.namespace(ns)
        log_start = self._log().stat().st_size if self._log().exists() else 0
        created: dict[str, tuple[Case, str]] = {}
        for index, case in enumerate(chunk):
            manifest = copy.deepcopy(case.manifest)
            if case.path != "metadata.name":
                manifest["metadata"]["name"] = f"c{index}"
            name = manifest["metadata"]["name"]
            code, message = self.api.create(Api.ray_path(ns, case.kind), manifest)
            if code >= 400:
                self._answer(case, "rejected", f"{code}: {message[:160]}")
            else:
                created[case.id] = (case, name)
        answers = self._settle(ns, created)
        for case_id, (case, _) in created.items():
            self._answer(case, *answers.get(case_id, ("unanswered", "")))
        self._check_alive()
        self._scan_log(ns, created, answers, log_start)
        self._canary(ns)
        self.api.delete(f"/api/v1/namespaces/{ns}")

    def _answer(self, case: Case, answer: str, detail: str = "") -> None:
        self.result.answers.append(Answer(case.id, case.kind, case.mutation, case.origin, answer, detail))

    def _observe(self, ns: str, created: dict[str, tuple[Case, str]]) -> dict[str, tuple[str, str]]:
        events = self.api.items(f"/apis/events.k8s.io/v1/namespaces/{ns}/events")
        warned: dict[tuple[str, str], str] = {}
        for event in events:
            if event.get("type") == "Warning":
                regarding = event.get("regarding") or {}
                warned.setdefault((str(regarding.get("kind")), str(regarding.get("name"))), str(event.get("reason")))
        objects = {kind: {o["metadata"]["name"]: o for o in self.api.items(Api.ray_path(ns, kind))}
                   for kind in {c.kind for c, _ in created.values()}}
        owned = {ref["name"] for job in self.api.items(Api.ray_path(ns, "RayJob"))
                 for ref in job["metadata"].get("ownerReferences") or [] if ref.get("kind") == "RayCronJob"}
        answers: dict[str, tuple[str, str]] = {}
        for case_id, (case, name) in created.items():
            obj = objects.get(case.kind, {}).get(name)
            warning = warned.get((case.kind, name))
            condition = obj is not None and failure_condition(case.kind, obj)
            if warning and condition:
                answers[case_id] = ("warning+condition", warning)
            elif warning:
                answers[case_id] = ("warning", warning)
            elif condition:
                answers[case_id] = ("condition", "")
            elif obj is not None and reconciled(case.kind, obj, owned):
                answers[case_id] = ("accepted", "")
        return answers

    def _settle(self, ns: str, created: dict[str, tuple[Case, str]]) -> dict[str, tuple[str, str]]:
        """Poll until every object has an answer and the quiet time passed (Warnings may follow a status)."""
        started = time.monotonic()
        answers: dict[str, tuple[str, str]] = {}
        while time.monotonic() - started < self.settle:
            self._check_alive()
            answers = self._observe(ns, created)
            if len(answers) == len(created) and time.monotonic() - started >= self.quiet:
                break
            time.sleep(2)
        return answers

    def _scan_log(self, ns: str, created: dict[str, tuple[Case, str]], answers: dict[str, tuple[str, str]],
                  start: int) -> None:
        with self._log().open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode(errors="replace")
        self.result.tracebacks += text.count("Traceback (most recent call last)")
        erroring = [line for line in text.splitlines() if "Reconciler error" in line]
        for case_id, (_, name) in created.items():
            if answers.get(case_id, ("",))[0].startswith("warning"):
                continue
            if any(f"{ns}/{name}\"" in line or f"{ns}/{name} " in line or f"{ns}/{name}," in line
                   for line in erroring):
                self.result.silent_loops.append(case_id)

    def _canary(self, ns: str) -> None:
        started = time.monotonic()
        self.api.create(Api.ray_path(ns, "RayCluster"), canary())
        while time.monotonic() - started < 90:
            obj = self.api.get(Api.ray_path(ns, "RayCluster", "canary")) or {}
            if (obj.get("status") or {}).get("state") == "ready":
                self.result.canary_seconds.append(round(time.monotonic() - started, 1))
                return
            time.sleep(0.5)
        self.result.hangs += 1
