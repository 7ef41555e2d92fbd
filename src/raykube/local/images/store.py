"""The local image store: OCI archives we built, by name, and their import into a node's containerd.

Built images live as OCI archives in `$RAYKUBE_CACHE/images/archives/`; `index.json` beside them maps every
image name (`docker.io/rayproject/ray:2.52.0`, ...) to its archive and manifest digest. A real node's
containerd keeps its image store in `$RAYKUBE_CACHE/containerd` across `down`/`up`, so an image is imported
once per machine: `import_missing` compares names and digests with what containerd already has.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from raykube.local.binaries import binary, cache_dir, versions
from raykube.local.images import oci

Progress = Callable[[str], None]
CRI_NAMESPACE = "k8s.io"


def pause_image() -> str:
    """The pod sandbox image (our own pause binary), fully qualified."""
    return f"docker.io/raykube/pause:{versions()['PAUSE_VERSION']}"


def normalize(name: str) -> str:
    """The reference containerd stores for `name` (Docker's rules: docker.io, library/, :latest)."""
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        if "/" not in name:
            name = f"library/{name}"
        name = f"docker.io/{name}"
    return name


def short(name: str) -> str:
    """The reference as users write it (`docker.io/` and `library/` dropped)."""
    return name.removeprefix("docker.io/").removeprefix("library/")


@dataclass(frozen=True)
class StoredImage:
    name: str
    archive: Path
    digest: str


class ImageStore:
    """`$RAYKUBE_CACHE/images`: archives plus the name index."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir() / "images"
        self.archives = self.root / "archives"
        self._index = self.root / "index.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            data: dict[str, dict[str, str]] = json.loads(self._index.read_text())
            return data
        except FileNotFoundError:
            return {}

    def images(self) -> list[StoredImage]:
        return [
            StoredImage(name, Path(entry["archive"]), entry["digest"])
            for name, entry in sorted(self._read().items())
            if Path(entry["archive"]).exists()
        ]

    def get(self, name: str) -> StoredImage | None:
        entry = self._read().get(normalize(name))
        if entry is None or not Path(entry["archive"]).exists():
            return None
        return StoredImage(normalize(name), Path(entry["archive"]), entry["digest"])

    def add(self, names: Sequence[str], archive: Path, digest: str) -> None:
        with self._locked():
            data = self._read()
            for name in names:
                data[normalize(name)] = {"archive": str(archive), "digest": digest}
            tmp = self._index.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            tmp.replace(self._index)


def ensure_pause(store: ImageStore) -> StoredImage:
    """The pause image archive, built from the pause binary if missing (a second or less)."""
    name = pause_image()
    found = store.get(name)
    if found is not None:
        return found
    store.archives.mkdir(parents=True, exist_ok=True)
    pause = binary("pause")
    layer = oci.layer_from_files(store.archives / "pause-layer.tar", {"pause": (pause.read_bytes(), 0o755)})
    archive = store.archives / f"pause-{versions()['PAUSE_VERSION']}.tar"
    digest = oci.write_image(archive, [layer], oci.ImageConfig(entrypoint=["/pause"], user="65535:65535"), [name])
    layer.path.unlink()
    store.add([name], archive, digest)
    found = store.get(name)
    assert found is not None
    return found


# -- containerd ---------------------------------------------------------------------------------------


class CtrError(subprocess.CalledProcessError):
    """A `ctr` command failed; the message carries its output."""

    def __str__(self) -> str:
        return f"{' '.join(map(str, self.cmd))} failed (exit {self.returncode}): {(self.stderr or self.output).strip()}"


def ctr(address: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    argv = ["ctr", "--address", str(address), "--namespace", CRI_NAMESPACE, *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise CtrError(result.returncode, argv, result.stdout, result.stderr)
    return result


def containerd_images(address: Path) -> dict[str, str]:
    """name -> manifest digest of every image in the node's containerd."""
    found = {}
    for line in ctr(address, "images", "ls").stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3 and not parts[0].startswith("sha256:"):
            found[parts[0]] = parts[2]
    return found


def import_archive(address: Path, archive: Path, attempts: int = 2) -> None:
    """`ctr images import` (unpacked for the CRI's snapshotter); one retry: an unpack can lose a race with
    another client of the shared store."""
    for attempt in range(attempts):
        try:
            ctr(address, "images", "import", "--no-unpack=false", str(archive))
            return
        except CtrError:
            if attempt == attempts - 1:
                raise
            time.sleep(2)


def import_missing(address: Path, wanted: Sequence[StoredImage], progress: Progress = lambda _: None) -> list[str]:
    """Import the archives whose names are missing from containerd (or point elsewhere); return those names."""
    present = containerd_images(address)
    stale = [image for image in wanted if present.get(image.name) != image.digest]
    # Oldest archive first: when two archives carry the same name, the newer build wins.
    for archive in sorted({image.archive for image in stale}, key=lambda a: a.stat().st_mtime):
        names = [image.name for image in stale if image.archive == archive]
        started = time.monotonic()
        import_archive(address, archive)
        progress(f"imported {', '.join(short(n) for n in names)} in {time.monotonic() - started:.1f}s")
    return [image.name for image in stale]
