"""The one kind of FROM image the builder makes: a Debian root filesystem from `debootstrap`.

The base is made once per machine and suite (the mirror is the machine's own apt mirror, found in
/etc/apt, and is not part of the cache key), with the slim images' documentation excludes.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from raykube.local.images import oci
from raykube.local.images.dockerfile import BuildError
from raykube.local.images.layers import BUILDER_VERSION, Progress, StepLayer, digest, run_logged

# FROM images this builder can make, by name: the Debian suite debootstrap installs.
DEBIAN_BASES = {
    "debian:bookworm": "bookworm", "debian:bookworm-slim": "bookworm",
    "debian:12": "bookworm", "debian:12-slim": "bookworm",
}
# What the slim Debian images leave out (their dpkg path excludes), kept out of our base the same way.
_SLIM_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""



def apt_mirror() -> str:
    """The Debian mirror this machine's apt uses (so the build asks the same registry), or `$RAYKUBE_DEBIAN_MIRROR`."""
    override = os.environ.get("RAYKUBE_DEBIAN_MIRROR")
    if override:
        return override
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.sources")),
               *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for source in sources:
        if not source.exists():
            continue
        text = source.read_text()
        for match in re.finditer(r"^URIs:\s*(\S+)", text, re.M):
            if not match.group(1).rstrip("/").endswith("-security"):
                return match.group(1)
        for match in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", text, re.M):
            if not match.group(1).rstrip("/").endswith("-security"):
                return match.group(1)
    raise BuildError("no Debian mirror found in /etc/apt; set RAYKUBE_DEBIAN_MIRROR")



def base_key(suite: str) -> str:
    return digest(BUILDER_VERSION, "debootstrap", "minbase", suite, oci.go_arch())


def debian_base(suite: str, progress: Progress, logs: Path) -> StepLayer:
    """A minbase root filesystem of `suite` as the bottom layer (cached; the mirror is not part of the key)."""
    layer = StepLayer(base_key(suite))
    if layer.done:
        return layer
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed: run scripts/install-node-deps")
    layer.reset()
    progress(f"  debootstrap --variant=minbase {suite} (about a minute, once per machine)")
    run_logged(["debootstrap", "--variant=minbase", "--arch", oci.go_arch(), suite, str(layer.dir), apt_mirror()],
               logs / f"debootstrap-{suite}.log", progress, label="debootstrap")
    root = layer.dir
    (root / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(_SLIM_EXCLUDES)
    for pattern in ("usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
                    "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"):
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.name != "copyright":
                path.unlink()
    # debootstrap copies the host's resolver and name: not the image's business.
    for name in ("etc/resolv.conf", "etc/hostname"):
        target = root / name
        if target.exists() or target.is_symlink():
            target.unlink()
        target.write_text("")
    progress("  packing the base layer")
    layer.finish()
    return layer

