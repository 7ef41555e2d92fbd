"""Build images from Dockerfiles without Docker: debootstrap for the base, chroot + overlayfs for each step.

The recipes in `images/*/Dockerfile` are ordinary Dockerfiles (`docker build` builds them elsewhere); this
builder follows the subset they use:

  FROM debian:<bookworm|12>[-slim]   a Debian root filesystem made with `debootstrap --variant=minbase`
                                     (from the machine's own apt mirror), with the slim image's doc excludes
  ARG / ENV / LABEL / WORKDIR / USER / ENTRYPOINT / CMD / EXPOSE   as Docker does
  RUN [--mount=type=cache,target=DIR] in a chroot over an overlay of the layers so far; the overlay's
                                     upper directory becomes the step's layer (deletions become whiteouts)
  COPY [--chown=U:G] SRC... DEST     from the build context, honouring `<Dockerfile>.dockerignore`

Every step is cached by a key over its parent's key, its text, its build arguments and (for COPY) the
content of what it copies, so a rebuild with nothing changed reuses every layer and costs seconds.
RUN steps see the host's DNS configuration, its CA bundle (on a tmpfs, never in a layer) and its proxy and
pip index settings (Docker's predefined build arguments); they run in a private mount namespace (every
mount vanishes with it) and are logged to `<cache>/images/logs/`.
"""


from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from raykube.local.images import oci
from raykube.local.images.debian import DEBIAN_BASES, base_key, debian_base
from raykube.local.images.dockerfile import (
    BuildError,
    Instruction,
    ignore_patterns,
    ignored,
    json_or_shell,
    key_values,
    parse,
    substitute,
)
from raykube.local.images.layers import BUILDER_VERSION, Progress, StepLayer, build_root, digest, run_logged

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Docker's predefined build arguments, plus pip's index settings: the build's network access is the host's.
PASS_THROUGH_ENV = (
    "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT",
)


# Where RUN steps find the host's CA bundle (on a tmpfs over /run, so it never lands in a layer).
BUILD_CA_PATH = "/run/raykube-build/ca-certificates.crt"


def host_ca_bundle() -> Path | None:
    """The CA bundle the host's own TLS clients trust (it may hold a proxy's CA that RUN steps need too)."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass
class BuildState:
    """What the steps so far produced: layers (bottom first), the image config, the variables."""

    key: str
    layers: list[StepLayer] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    user: str = ""
    workdir: str = ""

    def variables(self) -> dict[str, str]:
        return {**self.args, **self.env}

    def config(self) -> oci.ImageConfig:
        return oci.ImageConfig(entrypoint=self.entrypoint, cmd=self.cmd, env=self.env, working_dir=self.workdir,
                               user=self.user, labels=self.labels)



_FILESYSTEM_STEPS = frozenset({"FROM", "RUN", "COPY", "WORKDIR"})


@dataclass
class BuildResult:
    config: oci.ImageConfig
    layers: list[oci.Layer]
    key: str
    cached_steps: int
    steps: int


class Builder:
    """Follow one Dockerfile; see the module docstring."""

    def __init__(self, dockerfile: Path, context: Path, build_args: Mapping[str, str], progress: Progress) -> None:
        self.dockerfile = dockerfile
        self.context = context
        self.build_args = dict(build_args)
        self.progress = progress
        self.logs = build_root() / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.ignore = ignore_patterns(dockerfile, context)

    def build(self) -> BuildResult:
        """Run the steps (hold `build_lock` around this and whatever writes the result)."""
        instructions = parse(self.dockerfile.read_text())
        if not instructions or instructions[0].keyword not in ("FROM", "ARG"):
            raise BuildError(f"{self.dockerfile}: must start with FROM")
        state = BuildState(key=digest(BUILDER_VERSION))
        cached = steps = 0
        for number, ins in enumerate(instructions, start=1):
            started = time.monotonic()
            label = f"[{number}/{len(instructions)}] {ins.text[:90]}"
            hit = self._step(state, ins, label)
            if ins.keyword in _FILESYSTEM_STEPS:  # the others only change the config
                steps += 1
                cached += int(hit)
            took = time.monotonic() - started
            self.progress(f"{label}  {'cached' if hit else f'{took:.1f}s'}")
        layers = [layer.oci_layer() for layer in state.layers]
        return BuildResult(state.config(), layers, state.key, cached, steps)

    # Each handler returns True when the step was served from the cache.
    def _step(self, state: BuildState, ins: Instruction, label: str) -> bool:
        handler = getattr(self, f"_do_{ins.keyword.lower()}", None)
        if handler is None:
            raise BuildError(f"{self.dockerfile}:{ins.line}: {ins.keyword} is not supported by this builder")
        result: bool = handler(state, ins, label)
        return result

    def _do_arg(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        name, _, default = ins.args.partition("=")
        value = self.build_args.get(name.strip(), substitute(default.strip().strip('"'), state.variables()))
        state.args[name.strip()] = value
        state.key = digest(state.key, "ARG", name.strip(), value)
        return True

    def _do_from(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        image = substitute(ins.args.split()[0], state.variables())
        suite = DEBIAN_BASES.get(image)
        if suite is None:
            raise BuildError(f"FROM {image}: this builder makes only {', '.join(sorted(DEBIAN_BASES))}")
        done_before = StepLayer(base_key(suite)).done
        base = debian_base(suite, self.progress, self.logs)
        state.layers = [base]
        state.env = {"PATH": DEFAULT_PATH}
        state.args = {}  # as in Docker, an ARG declared before FROM is visible to FROM only
        state.key = digest(state.key, "FROM", base.key)
        return done_before

    def _do_env(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        for k, v in key_values(ins.args).items():
            state.env[k] = substitute(v, state.variables())
        state.key = digest(state.key, "ENV", json.dumps(state.env, sort_keys=True))
        return True

    def _do_label(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.labels.update({k: substitute(v, state.variables()) for k, v in key_values(ins.args).items()})
        state.key = digest(state.key, "LABEL", json.dumps(state.labels, sort_keys=True))
        return True

    def _do_user(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.user = substitute(ins.args, state.variables())
        state.key = digest(state.key, "USER", state.user)
        return True

    def _do_expose(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        return True  # documentation only; pods declare their ports

    def _do_entrypoint(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.entrypoint = json_or_shell(ins.args)
        state.cmd = []  # Docker resets CMD when ENTRYPOINT is set
        state.key = digest(state.key, "ENTRYPOINT", json.dumps(state.entrypoint))
        return True

    def _do_cmd(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.cmd = json_or_shell(ins.args)
        state.key = digest(state.key, "CMD", json.dumps(state.cmd))
        return True

    def _do_workdir(self, state: BuildState, ins: Instruction, label: str) -> bool:
        path = substitute(ins.args, state.variables())
        if not path.startswith("/"):
            path = f"{state.workdir or '/'}/{path}".replace("//", "/")
        state.workdir = path
        state.key = digest(state.key, "WORKDIR", path)
        if any((layer.dir / path.lstrip("/")).is_dir() for layer in state.layers):
            return True
        layer = StepLayer(state.key)
        if not layer.done:
            layer.reset()
            (layer.dir / path.lstrip("/")).mkdir(parents=True)
            layer.finish()
        state.layers.append(layer)
        return True

    def _do_copy(self, state: BuildState, ins: Instruction, label: str) -> bool:
        chown = next((f.split("=", 1)[1] for f in ins.flags if f.startswith("--chown=")), "")
        unknown = [f for f in ins.flags if not f.startswith("--chown=")]
        if unknown:
            raise BuildError(f"{self.dockerfile}:{ins.line}: COPY {' '.join(unknown)} is not supported")
        parts = [substitute(p, state.variables()) for p in shlex.split(ins.args)]
        sources, dest = parts[:-1], parts[-1]
        files = list(self._context_files(sources))
        content = hashlib.sha256()
        for src, rel in files:
            content.update(f"{rel}\0{src.stat().st_mode & 0o7777:o}\0".encode())
            if src.is_file():
                content.update(oci.file_digest(src).encode())
        state.key = digest(state.key, "COPY", chown, json.dumps(parts), content.hexdigest())
        layer = StepLayer(state.key)
        hit = layer.done
        if not hit:
            layer.reset()
            uid, gid = self._owner(state, chown)
            base = dest if dest.startswith("/") else f"{state.workdir or '/'}/{dest}"
            directory_dest = dest.endswith("/") or len(sources) > 1 or any(
                (self.context / s).is_dir() for s in sources)
            for src, rel in files:
                target = layer.dir / base.lstrip("/") / rel if directory_dest else layer.dir / base.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target, follow_symlinks=False)
                os.lchown(target, uid, gid)
            layer.finish()
        state.layers.append(layer)
        return hit

    def _context_files(self, sources: Sequence[str]) -> Iterator[tuple[Path, str]]:
        """(path, path relative to the destination) of every file COPY takes, ignore rules applied."""
        for source in sources:
            root = (self.context / source).resolve()
            if not root.is_relative_to(self.context.resolve()):
                raise BuildError(f"COPY {source}: outside the build context")
            if root.is_file():
                yield root, root.name
                continue
            if not root.is_dir():
                raise BuildError(f"COPY {source}: no such file in the build context {self.context}")
            for path in sorted(root.rglob("*")):
                rel_context = path.relative_to(self.context.resolve()).as_posix()
                if path.is_dir() or ignored(rel_context, self.ignore):
                    continue
                yield path, path.relative_to(root).as_posix()

    def _owner(self, state: BuildState, chown: str) -> tuple[int, int]:
        if not chown:
            return 0, 0
        user, _, group = chown.partition(":")
        return self._lookup(state, "etc/passwd", user), self._lookup(state, "etc/group", group or user)

    @staticmethod
    def _lookup(state: BuildState, table: str, name: str) -> int:
        if name.isdigit():
            return int(name)
        for layer in reversed(state.layers):
            path = layer.dir / table
            if path.exists():
                for line in path.read_text().splitlines():
                    fields = line.split(":")
                    if fields[0] == name:
                        return int(fields[2])
        raise BuildError(f"COPY --chown: {name} not found in /{table}")

    def _do_run(self, state: BuildState, ins: Instruction, label: str) -> bool:
        caches = []
        for flag in ins.flags:
            if not flag.startswith("--mount="):
                raise BuildError(f"{self.dockerfile}:{ins.line}: RUN {flag} is not supported")
            options = dict(o.split("=", 1) for o in flag.removeprefix("--mount=").split(","))
            if options.get("type") != "cache" or "target" not in options:
                raise BuildError(f"{self.dockerfile}:{ins.line}: only RUN --mount=type=cache,target=DIR is supported")
            caches.append(options["target"])
        command = json_or_shell(ins.args)
        state.key = digest(state.key, "RUN", json.dumps(command), json.dumps(state.variables(), sort_keys=True))
        layer = StepLayer(state.key)
        if layer.done:
            state.layers.append(layer)
            return True
        layer.reset()
        work = layer.path / "work"
        merged = layer.path / "merged"
        work.mkdir()
        merged.mkdir()
        env = {"HOME": "/root", **state.variables()}
        env.update({k: v for k, v in os.environ.items() if k in PASS_THROUGH_ENV})
        if host_ca_bundle() is not None:
            env.update(dict.fromkeys(("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"),
                                     BUILD_CA_PATH))
        script = self._run_script(state, layer, work, merged, caches, command, env)
        log = self.logs / f"step-{layer.key[:12]}.log"
        log.write_text(f"# {ins.text}\n")
        run_logged(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script], log,
                   self.progress, label=label.split("]")[0] + "]")
        shutil.rmtree(work, ignore_errors=True)
        merged.rmdir()
        for target in caches:  # the mount points we had to create are not part of the image
            made = layer.dir / target.lstrip("/")
            while made != layer.dir and made.is_dir() and not any(made.iterdir()):
                made.rmdir()
                made = made.parent
        layer.finish()
        state.layers.append(layer)
        return False

    def _run_script(self, state: BuildState, layer: StepLayer, work: Path, merged: Path, caches: Sequence[str],
                    command: Sequence[str], env: Mapping[str, str]) -> str:
        """The shell script that mounts the step's overlay and runs `command` chrooted into it."""
        q = shlex.quote
        lowers = ":".join(str(lower.dir) for lower in reversed(state.layers))
        lines = [
            "set -eu",
            f"mount -t overlay overlay -o lowerdir={q(lowers)},upperdir={q(str(layer.dir))},workdir={q(str(work))}"
            f" {q(str(merged))}",
            f"mount -t proc proc {q(str(merged / 'proc'))}",
            f"mount --rbind /dev {q(str(merged / 'dev'))}",
            f"mount --bind /etc/resolv.conf {q(str(merged / 'etc/resolv.conf'))}",
        ]
        ca = host_ca_bundle()
        if ca is not None:
            point = merged / BUILD_CA_PATH.lstrip("/")
            lines.append(f"mount -t tmpfs -o size=16m tmpfs {q(str(merged / 'run'))}")
            lines.append(f"mkdir -p {q(str(point.parent))}")
            lines.append(f": > {q(str(point))}")
            lines.append(f"mount --bind {q(str(ca))} {q(str(point))}")
        for target in caches:
            store = build_root() / "cache-mounts" / digest(target)[:16]
            store.mkdir(parents=True, exist_ok=True)
            point = merged / target.lstrip("/")
            lines.append(f"mkdir -p {q(str(point))}")
            lines.append(f"mount --bind {q(str(store))} {q(str(point))}")
        exports = " ".join(f"{k}={q(v)}" for k, v in env.items())
        workdir = state.workdir or "/"
        inner = f"cd {q(workdir)} 2>/dev/null || cd /; exec {' '.join(q(c) for c in command)}"
        lines.append(f"exec env -i {exports} chroot {q(str(merged))} /bin/sh -c {q(inner)}")
        return "\n".join(lines)
