"""Golden YAML of `raykube render` for every upstream v1.7.0 sample holding a ray.io kind.

A test fails on any difference from ``tests/snapshots/render/<sample>.yaml``. After an intended change,
regenerate with ``RAYKUBE_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/unit/cli`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from raykube.builders.settings import OperatorSettings
from raykube.cli.render import KINDS, load_objects, render_object, to_yaml
from tests.unit.api.upstream import VERSION, reference_dir, requires_reference

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots" / "render"
UPDATE = os.environ.get("RAYKUBE_UPDATE_SNAPSHOTS") == "1"


def _samples() -> list[Path]:
    base = reference_dir()
    if base is None:
        return []
    found = []
    for path in sorted((base / VERSION / "samples").glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        if any(d.get("kind") in KINDS for d in docs):
            found.append(path)
    return found


SAMPLES = [pytest.param(path, id=path.stem) for path in _samples()]

pytestmark = requires_reference


def render_file(path: Path) -> str:
    skipped: list[str] = []
    settings = OperatorSettings()
    objects = load_objects(path, "default", skipped)  # every gate on: the rocksdb sample too
    return to_yaml([item for obj in objects for item in render_object(obj, settings)])


@pytest.mark.parametrize("path", SAMPLES)
def test_render_matches_snapshot(path: Path) -> None:
    snapshot = SNAPSHOTS / f"{path.stem}.yaml"
    rendered = render_file(path)
    if UPDATE or not snapshot.exists():
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(rendered)
        if not UPDATE:
            pytest.fail(f"snapshot {snapshot.name} was missing and has been written; review and commit it")
    assert rendered == snapshot.read_text(), f"render of {path.name} differs from {snapshot.name}"


def test_every_sample_with_a_ray_kind_is_covered() -> None:
    assert len(SAMPLES) >= 80


def test_rendering_is_deterministic() -> None:
    path = next(p.values[0] for p in SAMPLES if p.id == "ray-job.sample")
    assert isinstance(path, Path)
    assert render_file(path) == render_file(path)
