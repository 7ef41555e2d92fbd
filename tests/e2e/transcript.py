"""Reading the output of scripts/walkthrough (and of `make demo`, which runs it): `$ command` lines, each
followed by that command's output; the scripts' own `# ...` notes are dropped."""

from __future__ import annotations

import re


def steps(output: str) -> dict[str, list[str]]:
    """Split the script's output into `$ command` -> its output lines (the script's `#` notes dropped)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in output.splitlines():
        if line.startswith("$ "):
            current = found.setdefault(line[2:], [])
        elif line and not line.startswith("# "):
            current.append(line)
    return found


def step(steps: dict[str, list[str]], prefix: str) -> list[str]:
    found = [command for command in steps if command.startswith(prefix)]
    assert len(found) == 1, f"expected one command starting with {prefix!r}, got {list(steps)}"
    return steps[found[0]]


def table(lines: list[str]) -> list[list[str]]:
    """Rows of a kubectl table, split on runs of 2+ spaces (header cells contain single spaces)."""
    return [re.split(r"\s{2,}", line.strip()) for line in lines]
