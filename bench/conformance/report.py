"""The per-sample tables, the summary, and docs/conformance.md. Pure: strings in, strings out."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.conformance.compare import Difference, Rule, classify, differences

CELL = 60


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\n", "\\n").replace("|", "\\|")
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


@dataclass
class SampleResult:
    """One sample's comparison."""

    sample: str
    objects: int  # objects in KubeRay's snapshot
    events: int  # Event keys in KubeRay's snapshot
    classified: list[tuple[Difference, Rule | None]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # apply errors, ...

    def count(self, cls: str | None) -> int:
        return sum(1 for _, rule in self.classified if (rule.cls if rule else None) == cls)


def sample_table(result: SampleResult) -> str:
    """A plain-text table of one sample's differences (empty line when there are none)."""
    head = (f"== {result.sample}: {result.objects} objects, {result.events} Event kinds, "
            f"{len(result.classified)} differences ({result.count(None)} unclassified)")
    rows = [head]
    for diff, rule in result.classified:
        label = f"{rule.cls}:{rule.id}" if rule else "UNCLASSIFIED"
        rows.append(f"  {label:38} {diff.where} {diff.path}\n"
                    f"  {'':38}   KubeRay: {_cell(diff.kuberay)}\n  {'':38}   raykube: {_cell(diff.raykube)}")
    return "\n".join(rows)


def summary(results: list[SampleResult]) -> dict[str, int]:
    return {
        "samples": len(results),
        "objects": sum(r.objects for r in results),
        "differences": sum(len(r.classified) for r in results),
        "version": sum(r.count("version") for r in results),
        "deliberate": sum(r.count("deliberate") for r in results),
        "unclassified": sum(r.count(None) for r in results),
    }


def summary_text(results: list[SampleResult]) -> str:
    s = summary(results)
    return (f"conformance: {s['samples']} samples, {s['objects']} objects compared, {s['differences']} differences: "
            f"{s['version']} version, {s['deliberate']} deliberate, {s['unclassified']} unclassified")


def markdown(results: list[SampleResult], rules: list[Rule], *, kuberay_version: str, header: str) -> str:
    """docs/conformance.md: how the run works, the summary, every rule used and one row per sample."""
    s = summary(results)
    used = Counter(rule.id for r in results for _, rule in r.classified if rule)
    lines = [
        "# Conformance with KubeRay",
        "",
        header.strip(),
        "",
        f"KubeRay operator run: **{kuberay_version}** (compared against raykube, which follows v1.7.0).",
        "",
        "| samples | objects compared | differences | version | deliberate | unclassified |",
        "|---|---|---|---|---|---|",
        f"| {s['samples']} | {s['objects']} | {s['differences']} | {s['version']} | {s['deliberate']} "
        f"| {s['unclassified']} |",
        "",
        "## Classified differences",
        "",
        "| rule | class | count | what | why | source |",
        "|---|---|---|---|---|---|",
    ]
    for rule in rules:
        if used[rule.id]:
            what = f"`{rule.where}` `{rule.path}`".replace("|", "\\|")
            lines.append(f"| {rule.id} | {rule.cls} | {used[rule.id]} | {what} | {rule.why.strip()} "
                         f"| {rule.cite.strip()} |")
    lines += ["", "## Per sample", "", "| sample | objects | differences | version | deliberate | unclassified "
              "| left out (kinds the local cluster does not serve) |", "|---|---|---|---|---|---|---|"]
    for r in results:
        skipped = ", ".join(r.skipped) or "—"
        lines.append(f"| {r.sample} | {r.objects} | {len(r.classified)} | {r.count('version')} "
                     f"| {r.count('deliberate')} | {r.count(None)} | {skipped} |")
    unclassified = [(r.sample, d) for r in results for d, rule in r.classified if rule is None]
    if unclassified:
        lines += ["", "## Unclassified", "", "| sample | object | path | KubeRay | raykube |", "|---|---|---|---|---|"]
        lines += [f"| {sample} | {_cell(d.where)} | {_cell(d.path)} | {_cell(d.kuberay)} | {_cell(d.raykube)} |"
                  for sample, d in unclassified]
    return "\n".join(lines) + "\n"


def results(samples: list[Any], kuberay: dict[str, dict[str, Any]], raykube: dict[str, dict[str, Any]],
            rules: list[Rule], notes: dict[str, list[str]] | None = None) -> list[SampleResult]:
    """One SampleResult per sample (``samples.Sample`` values) from both operators' snapshots."""
    out = []
    for sample in samples:
        k, r = kuberay.get(sample.name, {}), raykube.get(sample.name, {})
        out.append(SampleResult(sample.name, len(k.get("objects", {})), len(k.get("events", {})),
                                classify(differences(sample.name, k, r), rules), list(sample.skipped),
                                (notes or {}).get(sample.name, [])))
    return out
