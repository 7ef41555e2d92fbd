"""The per-sample tables, the summary, and docs/conformance.md. Pure: strings in, strings out."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.conformance.compare import Difference, OpenMatch, Rule, classify, differences, match_open

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
    open_rules: list[Rule] = field(default_factory=list)  # open.yaml

    def count(self, cls: str | None) -> int:
        return sum(1 for _, rule in self.classified if (rule.cls if rule else None) == cls)

    def unclassified(self) -> list[Difference]:
        return [d for d, rule in self.classified if rule is None]

    def open(self) -> OpenMatch:
        """This sample's unclassified differences against open.yaml (``unused``: entries no difference of this
        sample matched)."""
        return match_open(self.unclassified(), self.open_rules)


def sample_table(result: SampleResult) -> str:
    """A plain-text table of one sample's differences (empty line when there are none)."""
    head = (f"== {result.sample}: {result.objects} objects, {result.events} Event kinds, "
            f"{len(result.classified)} differences ({result.count(None)} unclassified)")
    rows = [head]
    known = {id(d): rule for d, rule in result.open().known}
    for diff, rule in result.classified:
        label = f"{rule.cls}:{rule.id}" if rule else (f"OPEN:{known[id(diff)].id}" if id(diff) in known
                                                       else "UNCLASSIFIED")
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
        "open": sum(len(r.open().known) for r in results),
    }


def summary_text(results: list[SampleResult]) -> str:
    s = summary(results)
    return (f"conformance: {s['samples']} samples, {s['objects']} objects compared, {s['differences']} differences: "
            f"{s['version']} version, {s['deliberate']} deliberate, {s['unclassified']} unclassified "
            f"({s['open']} open: known raykube differences)")


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
        "| samples | objects compared | differences | version | deliberate | unclassified | of which open "
        "(known raykube differences) |",
        "|---|---|---|---|---|---|---|",
        f"| {s['samples']} | {s['objects']} | {s['differences']} | {s['version']} | {s['deliberate']} "
        f"| {s['unclassified']} | {s['open']} |",
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
    open_used: Counter[str] = Counter()
    open_rules: dict[str, Rule] = {}
    for r in results:
        for _, rule in r.open().known:
            open_used[rule.id] += 1
            open_rules[rule.id] = rule
    if open_used:
        lines += ["", "## Open (known raykube differences)", "",
                  "Not fixed yet (bench/conformance/open.yaml); still unclassified, so the run fails on them.", "",
                  "| entry | count | what | KubeRay | raykube | why not fixed yet |", "|---|---|---|---|---|---|"]
        for rule_id, count in sorted(open_used.items()):
            rule = open_rules[rule_id]
            what = f"`{rule.where}` `{rule.path}`".replace("|", "\\|")
            lines.append(f"| {rule.id} | {count} | {what} | {rule.behaviour.get('kuberay', '').strip()} "
                         f"| {rule.behaviour.get('raykube', '').strip()} | {rule.why.strip()} |")
    unclassified = [(r.sample, d, {id(k): rule.id for k, rule in r.open().known}.get(id(d), ""))
                    for r in results for d in r.unclassified()]
    if unclassified:
        lines += ["", "## Unclassified", "", "| sample | object | path | KubeRay | raykube | open entry |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {sample} | {_cell(d.where)} | {_cell(d.path)} | {_cell(d.kuberay)} | {_cell(d.raykube)} "
                  f"| {entry or '—'} |" for sample, d, entry in unclassified]
    return "\n".join(lines) + "\n"


def results(samples: list[Any], kuberay: dict[str, dict[str, Any]], raykube: dict[str, dict[str, Any]],
            rules: list[Rule], notes: dict[str, list[str]] | None = None,
            open_rules: list[Rule] | None = None) -> list[SampleResult]:
    """One SampleResult per sample (``samples.Sample`` values) from both operators' snapshots."""
    out = []
    for sample in samples:
        k, r = kuberay.get(sample.name, {}), raykube.get(sample.name, {})
        out.append(SampleResult(sample.name, len(k.get("objects", {})), len(k.get("events", {})),
                                classify(differences(sample.name, k, r), rules), list(sample.skipped),
                                (notes or {}).get(sample.name, []), list(open_rules or [])))
    return out
