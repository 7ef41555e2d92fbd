"""The chaos suite's bad-manifest corpus: generated from our CRDs, one mutation per case, nothing missed."""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from bench.chaos.answers import EXPECTED
from bench.chaos.corpus import HUGE_STRING, INT32_OVERFLOW, base_manifests, corpus, hand_written_cases, schema_cases

CRD_DIR = Path(__file__).resolve().parents[3] / "config" / "crd" / "bases"


@functools.cache
def _crds() -> dict[str, dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = [yaml.load(p.read_text(), Loader=loader) for p in sorted(CRD_DIR.glob("ray.io_*.yaml"))]
    return {d["spec"]["names"]["kind"]: d for d in docs}


def _get(doc: Any, field: str) -> Any:
    for part in field.replace("[", ".[").split("."):
        doc = doc[int(part[1:-1])] if part.startswith("[") else doc[part]
    return doc


def test_every_kind_and_mutation_class_is_generated() -> None:
    cases = schema_cases(_crds())
    assert {c.kind for c in cases} == {"RayCluster", "RayJob", "RayService", "RayCronJob"}
    mutations = Counter(c.mutation for c in cases)
    assert set(mutations) == {"wrong-type", "missing-required", "negative", "int32-overflow", "int64-max",
                              "huge-string", "unknown-value", "empty-array"}
    everything = corpus(_crds())
    assert len({c.id for c in everything}) == len(everything), "ids are unique"


def test_each_case_changes_its_field_only() -> None:
    bases = base_manifests()
    for case in schema_cases(_crds()):
        if case.mutation == "missing-required":
            continue
        value = _get(case.manifest, case.path)
        expected = {"huge-string": HUGE_STRING, "int32-overflow": INT32_OVERFLOW, "negative": -1,
                    "empty-array": []}.get(case.mutation)
        if expected is not None:
            assert value == expected, case.id
        assert case.manifest["metadata"] == bases[case.kind]["metadata"], case.id


def test_known_fields_get_their_mutations() -> None:
    ids = {c.id for c in schema_cases(_crds())}
    assert "RayCluster/spec.workerGroupSpecs[0].replicas/int32-overflow" in ids
    assert "RayJob/spec.activeDeadlineSeconds/int64-max" in ids
    assert "RayJob/spec.submissionMode/unknown-value" in ids
    assert "RayCronJob/spec.schedule/huge-string" in ids
    assert "RayCluster/spec.headGroupSpec/missing-required" in ids
    # Pod templates are Kubernetes' own type: a wrong type only, nothing generated inside.
    assert "RayCluster/spec.headGroupSpec.template/wrong-type" in ids
    assert not any(".template." in i for i in ids)


def test_the_generator_does_not_touch_the_base_manifests() -> None:
    before = base_manifests()
    corpus(_crds())
    assert base_manifests() == before
    assert all(c.origin == "hand-written" for c in hand_written_cases())


def test_every_expected_answer_names_a_case_of_the_corpus() -> None:
    ids = {case.id for case in corpus(_crds())}
    assert set(EXPECTED) <= ids, set(EXPECTED) - ids
