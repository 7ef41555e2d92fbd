"""Two normalised snapshots (KubeRay's, raykube's) of one sample -> differences, each classified or not.

A difference is one leaf: an object only one operator made, a field whose values differ (lists of objects
matched by ``name``, conditions by ``type``), or an Event (``Kind/name reason``) whose messages differ.
``classified.yaml`` says why a difference is expected: class ``version`` (the KubeRay version run differs
from v1.7.0 there: the upstream change is cited) or ``deliberate`` (a raykube choice: the
docs/compatibility.md row is cited). Anything else is unclassified and fails the run. ``open.yaml`` lists the
known raykube differences not fixed yet (same rule format, plus what each operator does and why it is not
fixed): they stay unclassified (the run still fails), but the test suite's ratchet accepts them, and only them
(:func:`match_open`). Pure: no I/O but reading the rule files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ABSENT = "<absent>"
CLASSES = ("version", "deliberate")
CLASSIFIED_FILE = Path(__file__).with_name("classified.yaml")
OPEN_FILE = Path(__file__).with_name("open.yaml")
OPEN = "open"


@dataclass(frozen=True)
class Difference:
    """One leaf that differs: ``where`` is ``Kind/name`` (or ``events``), ``path`` the field or Event."""

    sample: str
    where: str
    path: str
    kuberay: Any
    raykube: Any

    @property
    def kind(self) -> str:
        return self.where.split("/", 1)[0]


def _list_key(items: list[Any]) -> str | None:
    """The field that identifies the items of a list of objects (``name``, ``type``), if one does."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in ("name", "type", "mountPath", "containerPort"):
        values = [i.get(key) for i in items]
        if all(v is not None for v in values) and len(set(map(str, values))) == len(values):
            return key
    return None


def _as_mapping(value: list[Any], key: str) -> dict[str, Any]:
    return {str(item[key]): item for item in value}


def leaves(left: Any, right: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, left, right) for every leaf where the two values differ (``ABSENT`` for a missing side)."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = []
        for key in sorted({*left, *right}, key=str):
            sub = f"{path}.{key}" if path else str(key)
            out += leaves(left.get(key, ABSENT), right.get(key, ABSENT), sub)
        return out
    if isinstance(left, list) and isinstance(right, list):
        lkey, rkey = _list_key(left), _list_key(right)
        key = lkey or rkey
        if key is not None and lkey in (key, None) and rkey in (key, None) and (lkey or not left) \
                and (rkey or not right):
            lmap, rmap = _as_mapping(left, key), _as_mapping(right, key)
            out = []
            for name in sorted({*lmap, *rmap}):
                out += leaves(lmap.get(name, ABSENT), rmap.get(name, ABSENT), f"{path}[{name}]")
            return out
        if len(left) == len(right):
            out = []
            for index, (a, b) in enumerate(zip(left, right, strict=True)):
                out += leaves(a, b, f"{path}[{index}]")
            return out
    return [] if left == right else [(path, left, right)]


def differences(sample: str, kuberay: dict[str, Any], raykube: dict[str, Any]) -> list[Difference]:
    """Every difference between the two snapshots of ``sample``."""
    found: list[Difference] = []
    kobj, robj = kuberay.get("objects", {}), raykube.get("objects", {})
    for where in sorted({*kobj, *robj}):
        if where not in kobj or where not in robj:
            found.append(Difference(sample, where, "", "present" if where in kobj else ABSENT,
                                    "present" if where in robj else ABSENT))
            continue
        found += [Difference(sample, where, path, a, b) for path, a, b in leaves(kobj[where], robj[where])]
    kev, rev = kuberay.get("events", {}), raykube.get("events", {})
    for key in sorted({*kev, *rev}):
        a, b = kev.get(key, []), rev.get(key, [])
        if a == b:
            continue
        if len(a) <= 1 and len(b) <= 1:  # one message each side (or none): one difference
            found.append(Difference(sample, "events", key, a[0] if a else ABSENT, b[0] if b else ABSENT))
            continue
        found += [Difference(sample, "events", key, m, ABSENT) for m in a if m not in b]
        found += [Difference(sample, "events", key, ABSENT, m) for m in b if m not in a]
    return found


def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches anything (dots and brackets included); every other character is literal."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass
class Rule:
    """One entry of classified.yaml."""

    id: str
    cls: str
    why: str
    cite: str
    where: str = "*"
    path: str = "*"
    samples: list[str] = field(default_factory=lambda: ["*"])
    kuberay: str | None = None  # regular expressions searched in the values (JSON for non-strings)
    raykube: str | None = None
    #: A regular expression: the two values must be equal once every match of it is deleted from both (so a
    #: rule can allow one known change inside a long value, e.g. a command line, and nothing else).
    same_after: str | None = None
    #: open.yaml only: what each operator does ({"kuberay": ..., "raykube": ...}).
    behaviour: dict[str, str] = field(default_factory=dict)

    def matches(self, diff: Difference) -> bool:
        if not _glob(self.where).match(diff.where) or not _glob(self.path).match(diff.path):
            return False
        if not any(_glob(s).match(diff.sample) for s in self.samples):
            return False
        if self.kuberay is not None and not re.search(self.kuberay, _text(diff.kuberay), re.DOTALL):
            return False
        if self.raykube is not None and not re.search(self.raykube, _text(diff.raykube), re.DOTALL):
            return False
        if self.same_after is not None:
            strip = re.compile(self.same_after, re.DOTALL)
            return strip.sub("", _text(diff.kuberay)) == strip.sub("", _text(diff.raykube))
        return True


def load_rules(path: Path = CLASSIFIED_FILE) -> list[Rule]:
    """The classification rules; a rule without a known class, a reason or a citation is an error."""
    rules = []
    for entry in yaml.safe_load(path.read_text()) or []:
        rule = Rule(id=entry["id"], cls=entry["class"], why=entry["why"], cite=entry["cite"],
                    where=entry.get("where", "*"), path=entry.get("path", "*"),
                    samples=entry.get("samples", ["*"]), kuberay=entry.get("kuberay"),
                    raykube=entry.get("raykube"), same_after=entry.get("same_after"))
        if rule.cls not in CLASSES or not rule.why.strip() or not rule.cite.strip():
            raise ValueError(f"classified.yaml: rule {rule.id!r} needs a class ({', '.join(CLASSES)}), why and cite")
        rules.append(rule)
    return rules


def classify(diffs: list[Difference], rules: list[Rule]) -> list[tuple[Difference, Rule | None]]:
    """Each difference with the first rule that explains it (None: unclassified)."""
    return [(d, next((r for r in rules if r.matches(d)), None)) for d in diffs]


def load_open(path: Path = OPEN_FILE) -> list[Rule]:
    """The known raykube differences (class ``open``); an entry needs what KubeRay and raykube do and why it is
    not fixed yet. A missing file is an empty list."""
    if not path.exists():
        return []
    rules = []
    for entry in yaml.safe_load(path.read_text()) or []:
        behaviour = entry.get("behaviour") or {}
        rule = Rule(id=entry["id"], cls=OPEN, why=entry.get("why") or "", cite=entry.get("cite") or "",
                    where=entry.get("where", "*"), path=entry.get("path", "*"),
                    samples=entry.get("samples", ["*"]), kuberay=entry.get("kuberay"),
                    raykube=entry.get("raykube"), same_after=entry.get("same_after"),
                    behaviour={k: str(v) for k, v in behaviour.items()})
        if not rule.why.strip() or not all(str(behaviour.get(k) or "").strip() for k in ("kuberay", "raykube")):
            raise ValueError(f"open.yaml: entry {rule.id!r} needs behaviour.kuberay, behaviour.raykube and why "
                             "(why it is not fixed yet)")
        rules.append(rule)
    return rules


@dataclass
class OpenMatch:
    """Unclassified differences against open.yaml: the known ones, the new ones, and entries nothing matched."""

    known: list[tuple[Difference, Rule]]
    new: list[Difference]
    unused: list[Rule]


def match_open(unclassified: list[Difference], open_rules: list[Rule]) -> OpenMatch:
    """Each unclassified difference with the first open rule that matches it; the rest are new (a regression),
    and an open rule that matches nothing is unused (fixed: remove it)."""
    known: list[tuple[Difference, Rule]] = []
    new: list[Difference] = []
    for diff in unclassified:
        rule = next((r for r in open_rules if r.matches(diff)), None)
        if rule is None:
            new.append(diff)
        else:
            known.append((diff, rule))
    used = {rule.id for _, rule in known}
    return OpenMatch(known, new, [r for r in open_rules if r.id not in used])
