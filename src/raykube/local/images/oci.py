"""Write OCI images without Docker: layers are plain tar files, the image is an OCI layout in one tar.

The archive holds `oci-layout`, `index.json` and `blobs/sha256/<digest>` exactly as the OCI image-layout
spec describes, so `ctr images import` (and `docker load`, `skopeo`, `podman load`) read it. Layers stay
uncompressed: they are written and imported on the same machine, where gzip would only cost CPU time.

An image can carry several names: `index.json` lists the same manifest once per name, each with the
`io.containerd.image.name` annotation (the full reference containerd registers) and the standard
`org.opencontainers.image.ref.name` (its tag).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
_CHUNK = 1 << 20

# Kernel-provided trees: an image carries the mount points, never their contents.
_SKIP_CONTENTS = ("proc", "sys", "dev", "run", "tmp")


@dataclass(frozen=True)
class Layer:
    """An uncompressed layer tar on disk; for an uncompressed layer the diff ID is the blob digest."""

    path: Path
    digest: str
    size: int


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an image config (what `docker inspect` shows under Config)."""

    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = ""
    user: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return f"sha256:{h.hexdigest()}"


def _finish_layer(path: Path) -> Layer:
    return Layer(path=path, digest=file_digest(path), size=path.stat().st_size)


def layer_from_files(
    out: Path,
    files: Mapping[str, tuple[bytes, int]],
    dirs: Iterable[str] = (),
    symlinks: Mapping[str, str] | None = None,
) -> Layer:
    """A layer of regular files (`path -> (content, mode)`), directories and symlinks (`path -> target`).

    Everything is owned by root with mtime 0, so the same input always gives the same digest.
    """
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(set(dirs)):
            info = tarfile.TarInfo(d.strip("/"))
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        for name, target in sorted((symlinks or {}).items()):
            info = tarfile.TarInfo(name.strip("/"))
            info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, 0
            tar.addfile(info)
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name.strip("/"))
            info.size, info.mode, info.mtime = len(content), mode, 0
            tar.addfile(info, io.BytesIO(content))
    return _finish_layer(out)


def _walk(root: Path) -> Iterator[Path]:
    """Every path under `root`, depth first in name order (a directory before its contents), links not followed."""
    def visit(directory: Path, top: bool) -> Iterator[Path]:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            path = Path(entry.path)
            yield path
            if entry.is_dir(follow_symlinks=False) and not (top and entry.name in _SKIP_CONTENTS):
                yield from visit(path, False)
    yield from visit(root, True)


def _overlay_opaque(path: Path) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def layer_from_dir(out: Path, root: Path, *, progress: Any = None) -> Layer:
    """A layer holding everything under `root` (owners, modes, hard and symbolic links kept).

    The contents of proc/sys/dev/run/tmp are left out (their directories stay). overlayfs whiteouts
    (character devices 0:0) and opaque directories become OCI whiteouts, so an overlay upper directory is
    a valid layer.
    """
    count = 0
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        # Walk in sorted order ourselves; tarfile's own recursion lists directories unsorted.
        for path in _walk(root):
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                parent, _, name = rel.rpartition("/")
                info = tarfile.TarInfo(f"{parent}/.wh.{name}" if parent else f".wh.{name}")
                tar.addfile(info, io.BytesIO(b""))
                continue
            if stat.S_ISSOCK(st.st_mode):
                continue
            info = tar.gettarinfo(str(path), arcname=rel)
            if info.isdir() and _overlay_opaque(path):
                # A directory that replaced a lower one: OCI's marker hides everything below it.
                tar.addfile(info)
                marker = tarfile.TarInfo(f"{rel}/.wh..wh..opq")
                tar.addfile(marker, io.BytesIO(b""))
                count += 1
                continue
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            count += 1
            if progress is not None and count % 20000 == 0:
                progress(f"  packed {count} files")
    return _finish_layer(out)


def _config_json(config: ImageConfig, layers: Sequence[Layer], arch: str) -> bytes:
    runtime: dict[str, Any] = {}
    if config.entrypoint:
        runtime["Entrypoint"] = list(config.entrypoint)
    if config.cmd:
        runtime["Cmd"] = list(config.cmd)
    if config.env:
        runtime["Env"] = [f"{k}={v}" for k, v in config.env.items()]
    if config.working_dir:
        runtime["WorkingDir"] = config.working_dir
    if config.user:
        runtime["User"] = config.user
    if config.labels:
        runtime["Labels"] = dict(config.labels)
    doc = {
        "architecture": arch,
        "os": "linux",
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
        "history": [{"created_by": "raykube local image build", "comment": layer.path.name} for layer in layers],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _blob(data: bytes) -> tuple[str, bytes]:
    return f"sha256:{hashlib.sha256(data).hexdigest()}", data


def go_arch(machine: str | None = None) -> str:
    """The OCI/Go architecture name of this machine (x86_64 -> amd64, aarch64 -> arm64)."""
    machine = machine or os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def write_image(
    out: Path,
    layers: Sequence[Layer],
    config: ImageConfig,
    names: Sequence[str],
    *,
    arch: str | None = None,
) -> str:
    """Write the OCI archive `out` for the image; return the manifest digest (the image's identity)."""
    arch = arch or go_arch()
    config_digest, config_bytes = _blob(_config_json(config, layers, arch))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": layer.digest, "size": layer.size} for layer in layers],
    }
    manifest_digest, manifest_bytes = _blob(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "platform": {"architecture": arch, "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": name,
                    "org.opencontainers.image.ref.name": name.rpartition(":")[2],
                },
            }
            for name in names
        ],
    }
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:

        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))

        add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_bytes("index.json", json.dumps(index, indent=1).encode())
        add_bytes(f"blobs/sha256/{manifest_digest.removeprefix('sha256:')}", manifest_bytes)
        add_bytes(f"blobs/sha256/{config_digest.removeprefix('sha256:')}", config_bytes)
        seen = set()
        for layer in layers:
            if layer.digest in seen:
                continue
            seen.add(layer.digest)
            info = tarfile.TarInfo(f"blobs/sha256/{layer.digest.removeprefix('sha256:')}")
            info.size, info.mode, info.mtime = layer.size, 0o644, 0
            with open(layer.path, "rb") as f:
                tar.addfile(info, f)
    tmp.replace(out)
    return manifest_digest
