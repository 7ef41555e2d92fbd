"""The images raykube builds for its local cluster, from the recipes in `images/` (plain Dockerfiles).

`ray`: Ray from PyPI on Debian; registered under the names users and charts write. Tags of the
rayproject/ray images name a Python, an architecture and an accelerator (`2.46.0-py310-aarch64`,
`2.52.0-py311-cu121`); this machine can only build what Debian's suite ships for its own architecture,
so `plan_ray` maps a requested tag to what can be built here and says what differs. The image is then
registered under the requested tag as well, so manifests that use it run unchanged.

`operator`: the raykube operator, from `images/operator/Dockerfile` with the repository as context.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from raykube.local.binaries import versions
from raykube.local.images import oci
from raykube.local.images import store as image_store
from raykube.local.images.builder import Builder
from raykube.local.images.dockerfile import BuildError
from raykube.local.images.layers import build_lock

Progress = Callable[[str], None]

RAY_REPOSITORY = "rayproject/ray"
OPERATOR_REPOSITORY = "raykube/operator"
# Python of each Debian suite the builder can make (FROM debian:bookworm-slim in images/ray/Dockerfile).
SUITE_PYTHON = {"bookworm": "3.11"}
SUITE = "bookworm"
_RAY_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def images_dir() -> Path:
    """`images/` of the checkout raykube runs from (the recipes are not part of the installed package)."""
    found = Path(__file__).resolve().parents[4] / "images"
    if not found.is_dir():
        raise BuildError(f"image recipes not found at {found}: run raykube from its source checkout")
    return found


def default_ray_version() -> str:
    return versions()["RAY_VERSION"]


@dataclass
class RayPlan:
    """What will be built for a request, under which names, and how it differs from what was asked."""

    ray_version: str
    python: str
    names: list[str]
    notes: list[str] = field(default_factory=list)


def plan_ray(ray_version: str | None = None, python: str | None = None, tags: Sequence[str] = ()) -> RayPlan:
    """Map a request (a Ray version, a Python, rayproject/ray tags) onto what this machine can build."""
    notes: list[str] = []
    here_python = SUITE_PYTHON[SUITE]
    here_arch = oci.go_arch()
    wanted_version = ray_version
    wanted_python = python
    for tag in tags:
        version, *suffixes = tag.split("-")
        if _RAY_VERSION.match(version):
            if wanted_version not in (None, version):
                raise BuildError(f"tag {tag} names Ray {version}, but Ray {wanted_version} was requested")
            wanted_version = version
        else:
            notes.append(f"{tag}: '{version}' is not a Ray release; building Ray {wanted_version or 'default'}")
        notes += [note for suffix in suffixes if (note := _suffix_note(tag, suffix, here_python, here_arch))]
        if any(re.fullmatch(r"py3(\d+)", suffix) for suffix in suffixes):
            wanted_python = wanted_python or here_python
    version = wanted_version or default_ray_version()
    if not _RAY_VERSION.match(version):
        raise BuildError(f"--ray-version must look like 2.52.0, got {version}")
    if wanted_python not in (None, here_python):
        notes.append(f"Python {wanted_python} is not available here (Debian {SUITE} ships {here_python}); "
                     f"building with Python {here_python}")
    py = here_python.replace(".", "")
    names = [f"{RAY_REPOSITORY}:{version}", f"{RAY_REPOSITORY}:{version}-py{py}",
             f"{RAY_REPOSITORY}:{version}-cpu", f"{RAY_REPOSITORY}:{version}-py{py}-cpu"]
    names += [f"{RAY_REPOSITORY}:{tag}" for tag in tags if f"{RAY_REPOSITORY}:{tag}" not in names]
    return RayPlan(version, here_python, names, notes)


def _suffix_note(tag: str, suffix: str, here_python: str, here_arch: str) -> str:
    """How one part of a rayproject/ray tag (`py310`, `aarch64`, `cu121`, ...) differs from what builds here."""
    if m := re.fullmatch(r"py3(\d+)", suffix):
        asked = f"3.{m[1]}"
        if asked != here_python:
            return (f"{tag}: Python {asked} is not available here (Debian {SUITE} ships "
                    f"{here_python}); built with Python {here_python}")
    elif suffix in ("aarch64", "arm64", "x86_64", "amd64"):
        if ("arm64" if suffix in ("aarch64", "arm64") else "amd64") != here_arch:
            return f"{tag}: {suffix} is not this machine's architecture; built for {here_arch}"
    elif suffix == "gpu" or suffix.startswith("cu"):
        return f"{tag}: no GPU support here; built the CPU image"
    elif suffix != "cpu":
        return f"{tag}: unknown tag part '{suffix}' ignored"
    return ""


@dataclass(frozen=True)
class Built:
    names: list[str]
    digest: str
    archive: Path
    cached_steps: int
    steps: int


def _write(store: image_store.ImageStore, stem: str, builder: Builder, names: Sequence[str],
           progress: Progress) -> Built:
    with build_lock(progress):
        return _build_and_write(store, stem, builder, names, progress)


def _build_and_write(store: image_store.ImageStore, stem: str, builder: Builder, names: Sequence[str],
                     progress: Progress) -> Built:
    result = builder.build()
    full = [image_store.normalize(n) for n in names]
    names_key = hashlib.sha256("\n".join(sorted(full)).encode()).hexdigest()[:8]
    archive = store.archives / f"{stem}-{result.key[:16]}-{names_key}.tar"
    store.archives.mkdir(parents=True, exist_ok=True)
    # An archive with this content and these names may exist already; it is named by both.
    digest = next((i.digest for i in store.images() if i.archive == archive), "")
    if not digest:
        progress("writing the OCI archive")
        digest = oci.write_image(archive, result.layers, result.config, full)
    store.add(full, archive, digest)
    return Built(full, digest, archive, result.cached_steps, result.steps)


def build_ray(plan: RayPlan, progress: Progress, store: image_store.ImageStore | None = None) -> Built:
    recipe = images_dir() / "ray"
    builder = Builder(recipe / "Dockerfile", recipe,
                      {"RAY_VERSION": plan.ray_version, "PYTHON_VERSION": plan.python}, progress)
    return _write(store or image_store.ImageStore(), f"ray-{plan.ray_version}", builder, plan.names, progress)


def operator_names() -> list[str]:
    from importlib.metadata import version

    return [f"{OPERATOR_REPOSITORY}:{version('raykube')}", f"{OPERATOR_REPOSITORY}:dev"]


@dataclass(frozen=True)
class Recipe:
    """An image built as it is: `images/<directory>/Dockerfile`, with no build arguments, under fixed names."""

    directory: str
    names: Callable[[], list[str]]
    # The build context: the recipe's own directory, unless the Dockerfile copies from the whole repository.
    repository_context: bool = False

    def build(self, progress: Progress, store: image_store.ImageStore | None = None) -> Built:
        recipe = images_dir() / self.directory
        context = images_dir().parent if self.repository_context else recipe
        builder = Builder(recipe / "Dockerfile", context, {}, progress)
        return _write(store or image_store.ImageStore(), self.directory, builder, self.names(), progress)


# Every recipe without parameters, by name; Ray is built from a `RayPlan` instead (`build_ray`).
RECIPES: dict[str, Recipe] = {
    "operator": Recipe("operator", operator_names, repository_context=True),
}


def build_operator(progress: Progress, store: image_store.ImageStore | None = None) -> Built:
    return RECIPES["operator"].build(progress, store)
