"""How the chaos suite classifies answers and decides the run failed."""

from __future__ import annotations

from bench.chaos.answers import EXPECTED, Answer, CorpusResult, failure_condition, reconciled
from bench.chaos.faults import FaultResult, Round
from bench.chaos.run import failed, render


def _obj(status: dict[str, object], name: str = "x") -> dict[str, object]:
    return {"metadata": {"name": name}, "status": status}


def test_failure_conditions_per_kind() -> None:
    assert failure_condition("RayJob", _obj({"jobDeploymentStatus": "ValidationFailed"}))
    assert not failure_condition("RayJob", _obj({"jobDeploymentStatus": "Running"}))
    replica_failure = {"type": "ReplicaFailure", "status": "True", "reason": "InvalidRayClusterSpec"}
    assert failure_condition("RayCluster", _obj({"conditions": [replica_failure]}))
    assert not failure_condition("RayCluster", _obj({"conditions": [
        {"type": "HeadPodReady", "status": "True", "reason": "HeadPodRunningAndReady"}]}))


def test_reconciled_means_the_operator_acted_on_a_valid_object() -> None:
    assert reconciled("RayCluster", _obj({"state": "ready"}), set())
    assert not reconciled("RayCluster", _obj({}), set())
    assert reconciled("RayCronJob", _obj({}, name="cron"), {"cron"})
    assert not reconciled("RayJob", _obj({"jobStatus": ""}), set())


def test_a_clean_run_passes_and_every_forbidden_outcome_fails_it() -> None:
    clean = CorpusResult(answers=[Answer("a", "RayCluster", "negative", "schema", "rejected"),
                                  Answer("b", "RayJob", "huge-string", "schema", "warning+condition")])
    faults = FaultResult([Round("kill -9 during scale-up", converge_seconds=3.5)])
    assert failed(clean, faults) == []
    assert "| negative | 1 | 1 |" in render(clean, faults, 60)
    silent = CorpusResult(answers=[Answer("c", "RayJob", "negative", "schema", "unanswered")], silent_loops=["c"])
    assert len(failed(silent, faults)) == 2
    lost = FaultResult([Round("kill -9 during scale-up", converge_seconds=None, lost=1)])
    assert failed(clean, lost)


def test_a_manifest_with_an_expected_answer_fails_the_run_when_it_gets_another() -> None:
    faults = FaultResult([Round("kill -9 during scale-up", converge_seconds=3.5)])
    feb_30 = "RayCronJob/spec.schedule/cron-feb-30"
    assert EXPECTED[feb_30] == "warning"
    answered = CorpusResult(answers=[Answer(feb_30, "RayCronJob", "cron-feb-30", "hand-written", "warning")])
    assert failed(answered, faults) == []
    accepted = CorpusResult(answers=[Answer(feb_30, "RayCronJob", "cron-feb-30", "hand-written", "accepted")])
    assert failed(accepted, faults) == [f"answers other than expected: ['{feb_30}: got accepted, expected warning']"]
