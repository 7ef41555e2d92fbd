"""The conformance comparer and its classification rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.conformance.compare import (
    ABSENT,
    Difference,
    OpenMatch,
    Rule,
    classify,
    differences,
    leaves,
    load_open,
    load_rules,
    match_open,
)


def test_lists_of_named_items_are_compared_by_name_not_position() -> None:
    left = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
    right = {"env": [{"name": "B", "value": "3"}, {"name": "A", "value": "1"}, {"name": "C", "value": "4"}]}
    assert leaves(left, right) == [("env[B].value", "2", "3"), ("env[C]", ABSENT, {"name": "C", "value": "4"})]


def test_conditions_are_compared_by_type() -> None:
    left = {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Suspended", "status": "False"}]}
    right = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert leaves(left, right) == [("conditions[Suspended]", {"type": "Suspended", "status": "False"}, ABSENT)]


def test_objects_only_one_side_made_and_event_texts_are_differences() -> None:
    kuberay = {"objects": {"Pod/a": {"x": 1}, "Service/s": {}},
               "events": {"RayCluster/c CreatedRole": ["Normal: Created role"]}}
    raykube = {"objects": {"Pod/a": {"x": 1}},
               "events": {"RayCluster/c CreatedRole": ["Normal: Created Role"]}}
    assert differences("s", kuberay, raykube) == [
        Difference("s", "Service/s", "", "present", ABSENT),
        Difference("s", "events", "RayCluster/c CreatedRole", "Normal: Created role", "Normal: Created Role"),
    ]
    assert differences("s", kuberay, kuberay) == []


def test_a_rule_matches_on_object_path_sample_and_values() -> None:
    rule = Rule(id="r", cls="deliberate", why="w", cite="c", where="Pod/*", path="spec.containers[*].image",
                samples=["ray-cluster.*"], raykube=r"^rayproject/")
    hit = Difference("ray-cluster.sample", "Pod/c-head-<rand>", "spec.containers[ray-head].image", "x", "rayproject/y")
    assert rule.matches(hit)
    assert not rule.matches(Difference("ray-job.sample", hit.where, hit.path, "x", "rayproject/y"))
    assert not rule.matches(Difference(hit.sample, hit.where, hit.path, "x", "other"))
    assert not rule.matches(Difference(hit.sample, "Service/s", hit.path, "x", "rayproject/y"))
    assert classify([hit], [rule]) == [(hit, rule)]
    assert classify([Difference("s", "Job/j", "p", 1, 2)], [rule])[0][1] is None


def test_same_after_allows_one_change_inside_a_value_and_nothing_else() -> None:
    rule = Rule(id="r", cls="version", why="w", cite="c", same_after=r"^ulimit -n [^;]*; ")
    assert rule.matches(Difference("s", "Pod/p", "args[0]", "ulimit -n 1; ray start", "ulimit -n ${X:-1}; ray start"))
    assert not rule.matches(Difference("s", "Pod/p", "args[0]", "ulimit -n 1; ray start", "ulimit -n 2; ray stop"))


def test_brackets_in_a_rule_are_literal() -> None:
    rule = Rule(id="r", cls="version", why="w", cite="c", path="status.conditions[HeadPodReady].message")
    assert rule.matches(Difference("s", "RayCluster/c", "status.conditions[HeadPodReady].message", "a", "b"))
    assert not rule.matches(Difference("s", "RayCluster/c", "status.conditions[H].message", "a", "b"))


def test_a_rule_without_a_class_or_citation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "classified.yaml"
    path.write_text("- {id: x, class: maybe, why: because, cite: nowhere}\n")
    with pytest.raises(ValueError, match="class"):
        load_rules(path)
    path.write_text("- {id: x, class: version, why: because, cite: ' '}\n")
    with pytest.raises(ValueError, match="cite"):
        load_rules(path)


def test_the_project_classification_file_loads() -> None:
    rules = load_rules()
    assert len({r.id for r in rules}) == len(rules)


def test_a_sample_document_with_generate_name_gets_a_fixed_name() -> None:
    from bench.conformance.samples import split

    text = "apiVersion: ray.io/v1\nkind: RayJob\nmetadata:\n  generateName: rayjob-sample-\nspec: {}\n"
    (doc,) = split("s", text).applied
    assert doc["metadata"] == {"name": "rayjob-sample-sample"}
    assert split("s", text).ray_objects == [("RayJob", "rayjob-sample-sample")]


OPEN_YAML = """
- id: zero-endpoints
  where: "RayService/*"
  path: status.numServeEndpoints
  kuberay: '^<absent>$'
  raykube: '^0$'
  behaviour: {kuberay: leaves 0 out, raykube: writes 0}
  why: not fixed yet
- id: gone
  where: "RayJob/*"
  path: status.somethingFixed
  behaviour: {kuberay: a, raykube: b}
  why: fixed since
"""


def test_open_entries_accept_known_differences_flag_new_ones_and_fixed_entries(tmp_path: Path) -> None:
    path = tmp_path / "open.yaml"
    path.write_text(OPEN_YAML)
    rules = load_open(path)
    assert [(r.id, r.cls, r.behaviour["raykube"]) for r in rules] == [("zero-endpoints", "open", "writes 0"),
                                                                     ("gone", "open", "b")]
    known = Difference("ray-service.sample", "RayService/s", "status.numServeEndpoints", ABSENT, 0)
    other_value = Difference("ray-service.sample", "RayService/s", "status.numServeEndpoints", ABSENT, 2)
    regression = Difference("ray-job.sample", "RayJob/j", "status.jobStatus", "RUNNING", "")
    found = match_open([known, other_value, regression], rules)
    assert found.known == [(known, rules[0])]
    assert found.new == [other_value, regression]  # a new value at a known place is a regression too
    assert [r.id for r in found.unused] == ["gone"]  # matches nothing: fixed, so the test asks to remove it
    assert match_open([], []) == OpenMatch([], [], [])


def test_open_entries_need_both_behaviours_and_why(tmp_path: Path) -> None:
    path = tmp_path / "open.yaml"
    path.write_text("- {id: x, behaviour: {kuberay: a}, why: w}\n")
    with pytest.raises(ValueError, match=r"behaviour\.raykube"):
        load_open(path)
    assert load_open(tmp_path / "missing.yaml") == []
    assert load_open() == load_open()  # the repository's own file loads


def test_open_differences_stay_unclassified_but_are_counted_apart() -> None:
    from bench.conformance.report import markdown, results, summary

    class Sample:
        name, skipped = "ray-service.sample", ()

    rule = Rule(id="zero-endpoints", cls="open", why="not fixed yet", cite="", where="RayService/*",
                path="status.numServeEndpoints", behaviour={"kuberay": "leaves 0 out", "raykube": "writes 0"})
    kuberay = {"objects": {"RayService/s": {"status": {"a": 1}}}, "events": {}}
    raykube = {"objects": {"RayService/s": {"status": {"a": 2, "numServeEndpoints": 0}}}, "events": {}}
    done = results([Sample()], {"ray-service.sample": kuberay}, {"ray-service.sample": raykube}, [],
                   open_rules=[rule])
    assert summary(done)["unclassified"] == 2 and summary(done)["open"] == 1
    doc = markdown(done, [], kuberay_version="v1.6.2", header="h")
    assert "## Open (known raykube differences)" in doc and "| zero-endpoints | 1 |" in doc
