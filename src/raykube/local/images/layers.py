"""The build cache: one directory per step layer, keyed by everything that made it; the machine's build lock.

Also `run_logged`, which every long step (debootstrap, RUN) goes through: output to a log file, a heartbeat
line to the progress callback, the log's tail in the `BuildError` when it fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from raykube.local.binaries import cache_dir
from raykube.local.images import oci
from raykube.local.images.dockerfile import BuildError

Progress = Callable[[str], None]

# Bump when the builder changes what a step produces: every cached layer is rebuilt.
BUILDER_VERSION = "1"


def build_root() -> Path:
    return cache_dir() / "images"


@dataclass
class StepLayer:
    """One cached layer: `dir/` (overlay-ready tree) and `layer.tar`, both final once `done` exists."""

    key: str

    @property
    def path(self) -> Path:
        return build_root() / "layers" / self.key[:32]

    @property
    def dir(self) -> Path:
        return self.path / "dir"

    @property
    def tar(self) -> Path:
        return self.path / "layer.tar"

    @property
    def done(self) -> bool:
        return (self.path / "done").exists()

    def finish(self) -> oci.Layer:
        layer = oci.layer_from_dir(self.tar, self.dir)
        (self.path / "done").write_text(json.dumps({"digest": layer.digest, "size": layer.size}))
        return layer

    def oci_layer(self) -> oci.Layer:
        info = json.loads((self.path / "done").read_text())
        return oci.Layer(self.tar, info["digest"], int(info["size"]))

    def reset(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.dir.mkdir(parents=True)



def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()



# -- running commands with a heartbeat ----------------------------------------------------------------


def run_logged(argv: Sequence[str], log: Path, progress: Progress, *, label: str, env: Mapping[str, str] | None = None,
               heartbeat: float = 10.0) -> None:
    """Run `argv`, appending its output to `log`; every `heartbeat` seconds report the last line."""
    started = time.monotonic()
    last = [""]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=dict(env) if env is not None else None)
        assert proc.stdout is not None

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                out.write(raw)
                text = raw.decode(errors="replace").strip()
                if text:
                    last[0] = text
        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        while reader.is_alive():
            reader.join(heartbeat)
            if reader.is_alive():
                progress(f"    {label}: {time.monotonic() - started:.0f}s … {last[0][:100]}")
        code = proc.wait()
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise BuildError(f"{label} failed (exit {code}); log {log}:\n{tail}")



@contextlib.contextmanager
def build_lock(progress: Progress) -> Iterator[None]:
    """Image builds on this machine take turns: two builds may share cache entries and archives."""
    build_root().mkdir(parents=True, exist_ok=True)
    with open(build_root() / ".build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("waiting for another image build on this machine")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield

