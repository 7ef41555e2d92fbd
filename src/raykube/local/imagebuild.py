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

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from raykube.local import oci
from raykube.local.binaries import cache_dir

Progress = Callable[[str], None]

# Bump when the builder changes what a step produces: every cached layer is rebuilt.
BUILDER_VERSION = "1"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Docker's predefined build arguments, plus pip's index settings: the build's network access is the host's.
PASS_THROUGH_ENV = (
    "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT",
)
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


# Where RUN steps find the host's CA bundle (on a tmpfs over /run, so it never lands in a layer).
BUILD_CA_PATH = "/run/raykube-build/ca-certificates.crt"


def host_ca_bundle() -> Path | None:
    """The CA bundle the host's own TLS clients trust (it may hold a proxy's CA that RUN steps need too)."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


class BuildError(RuntimeError):
    """A Dockerfile instruction is unsupported or a step failed (the message quotes its log tail)."""


# -- Dockerfile parsing -------------------------------------------------------------------------------


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


def _json_or_shell(args: str) -> list[str]:
    """ENTRYPOINT/CMD/RUN arguments: JSON (exec form) or a shell command line (shell form)."""
    if args.startswith("["):
        parsed = json.loads(args)
        if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
            raise BuildError(f"expected a JSON list of strings: {args}")
        return parsed
    return ["/bin/sh", "-c", args]


def _key_values(args: str) -> dict[str, str]:
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


# -- layers and the cache -----------------------------------------------------------------------------


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


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


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


# -- the base: debootstrap ----------------------------------------------------------------------------


def _base_key(suite: str) -> str:
    return _digest(BUILDER_VERSION, "debootstrap", "minbase", suite, oci.go_arch())


def debian_base(suite: str, progress: Progress, logs: Path) -> StepLayer:
    """A minbase root filesystem of `suite` as the bottom layer (cached; the mirror is not part of the key)."""
    layer = StepLayer(_base_key(suite))
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


# -- the builder --------------------------------------------------------------------------------------


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
        state = BuildState(key=_digest(BUILDER_VERSION))
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
        state.key = _digest(state.key, "ARG", name.strip(), value)
        return True

    def _do_from(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        image = substitute(ins.args.split()[0], state.variables())
        suite = DEBIAN_BASES.get(image)
        if suite is None:
            raise BuildError(f"FROM {image}: this builder makes only {', '.join(sorted(DEBIAN_BASES))}")
        done_before = StepLayer(_base_key(suite)).done
        base = debian_base(suite, self.progress, self.logs)
        state.layers = [base]
        state.env = {"PATH": DEFAULT_PATH}
        state.args = {}  # as in Docker, an ARG declared before FROM is visible to FROM only
        state.key = _digest(state.key, "FROM", base.key)
        return done_before

    def _do_env(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        for k, v in _key_values(ins.args).items():
            state.env[k] = substitute(v, state.variables())
        state.key = _digest(state.key, "ENV", json.dumps(state.env, sort_keys=True))
        return True

    def _do_label(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.labels.update({k: substitute(v, state.variables()) for k, v in _key_values(ins.args).items()})
        state.key = _digest(state.key, "LABEL", json.dumps(state.labels, sort_keys=True))
        return True

    def _do_user(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.user = substitute(ins.args, state.variables())
        state.key = _digest(state.key, "USER", state.user)
        return True

    def _do_expose(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        return True  # documentation only; pods declare their ports

    def _do_entrypoint(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.entrypoint = _json_or_shell(ins.args)
        state.cmd = []  # Docker resets CMD when ENTRYPOINT is set
        state.key = _digest(state.key, "ENTRYPOINT", json.dumps(state.entrypoint))
        return True

    def _do_cmd(self, state: BuildState, ins: Instruction, _label: str) -> bool:
        state.cmd = _json_or_shell(ins.args)
        state.key = _digest(state.key, "CMD", json.dumps(state.cmd))
        return True

    def _do_workdir(self, state: BuildState, ins: Instruction, label: str) -> bool:
        path = substitute(ins.args, state.variables())
        if not path.startswith("/"):
            path = f"{state.workdir or '/'}/{path}".replace("//", "/")
        state.workdir = path
        state.key = _digest(state.key, "WORKDIR", path)
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
        state.key = _digest(state.key, "COPY", chown, json.dumps(parts), content.hexdigest())
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
        command = _json_or_shell(ins.args)
        state.key = _digest(state.key, "RUN", json.dumps(command), json.dumps(state.variables(), sort_keys=True))
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
            store = build_root() / "cache-mounts" / _digest(target)[:16]
            store.mkdir(parents=True, exist_ok=True)
            point = merged / target.lstrip("/")
            lines.append(f"mkdir -p {q(str(point))}")
            lines.append(f"mount --bind {q(str(store))} {q(str(point))}")
        exports = " ".join(f"{k}={q(v)}" for k, v in env.items())
        workdir = state.workdir or "/"
        inner = f"cd {q(workdir)} 2>/dev/null || cd /; exec {' '.join(q(c) for c in command)}"
        lines.append(f"exec env -i {exports} chroot {q(str(merged))} /bin/sh -c {q(inner)}")
        return "\n".join(lines)
