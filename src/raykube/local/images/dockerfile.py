"""Dockerfiles as data: parsing, variable substitution and `.dockerignore` rules (pure).

The builder (`builder`) follows the subset of instructions documented there; this module only reads
the text. `BuildError` is the one error of the whole image build, raised from here up.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class BuildError(RuntimeError):
    """A Dockerfile instruction is unsupported or a step failed (the message quotes its log tail)."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    flags: tuple[str, ...]
    args: str  # the rest of the line, continuation lines joined
    line: int

    @property
    def text(self) -> str:
        return " ".join([self.keyword, *self.flags, " ".join(self.args.split())])


def parse(text: str) -> list[Instruction]:
    """Instructions of a Dockerfile: comments dropped, `\\` continuations joined, leading --flags split off."""
    result = []
    logical, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if logical and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are skipped, as Docker does
        if not logical:
            start = number
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        keyword, _, rest = logical.strip().partition(" ")
        flags = []
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.strip()
        result.append(Instruction(keyword.upper(), tuple(flags), rest, start))
        logical = ""
    return result


_VAR = re.compile(r"\$(?:\{(\w+)(?::-([^}]*))?\}|(\w+))")


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Docker's variable substitution: $VAR, ${VAR}, ${VAR:-default}."""
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        value = values.get(name, "")
        return value if value or match.group(2) is None else match.group(2)
    return _VAR.sub(one, text)


def json_or_shell(args: str) -> list[str]:
    """ENTRYPOINT/CMD/RUN arguments: JSON (exec form) or a shell command line (shell form)."""
    if args.startswith("["):
        parsed = json.loads(args)
        if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
            raise BuildError(f"expected a JSON list of strings: {args}")
        return parsed
    return ["/bin/sh", "-c", args]


def key_values(args: str) -> dict[str, str]:
    """`ENV a=b c="d e"` / `LABEL ...` / legacy `ENV a b`."""
    parts = shlex.split(args)
    if len(parts) >= 2 and "=" not in parts[0]:
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


# -- .dockerignore ------------------------------------------------------------------------------------


def ignore_patterns(dockerfile: Path, context: Path) -> list[str]:
    """`<Dockerfile>.dockerignore` next to the Dockerfile (BuildKit's rule), else `<context>/.dockerignore`."""
    for candidate in (dockerfile.with_name(dockerfile.name + ".dockerignore"), context / ".dockerignore"):
        if candidate.exists():
            lines = [ln.strip() for ln in candidate.read_text().splitlines()]
            return [ln for ln in lines if ln and not ln.startswith("#")]
    return []


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `**/` any leading directories, `**` anything, `*` and `?` in a name."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def ignored(rel: str, patterns: Sequence[str]) -> bool:
    """Whether a context-relative path is excluded: it or a directory above it matches; `!` re-includes."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            result = not negate
    return result
