"""raykube's Helm chart repository: the charts in ``charts/`` packaged with the pinned helm and served on loopback.

``helm repo add kuberay http://127.0.0.1:<port>/`` then works as it does against KubeRay's published repository.
Which chart versions exist, and with which default values, is listed in ``charts/published.yaml``: chart
versions follow KubeRay's (1.3.0, 1.7.0) so the version numbers in KubeRay guides resolve, and every one of
them carries raykube's own version as ``appVersion``.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from raykube import __version__
from raykube.local.binaries import binary

CHARTS_ENV = "RAYKUBE_CHARTS_DIR"
PUBLISHED_FILE = "published.yaml"
LOOPBACK = "127.0.0.1"


class ChartRepoError(RuntimeError):
    """The charts cannot be found, packaged or indexed; the message says which and why."""


@dataclass(frozen=True)
class Publication:
    """One chart version the repository carries."""

    chart: str
    version: str
    #: Default values replacing the chart's own ``values.yaml`` in this version (None: the chart's own).
    values: Path | None = None


def charts_dir() -> Path:
    """The chart sources: ``$RAYKUBE_CHARTS_DIR``, else ``charts/`` of the raykube checkout."""
    configured = os.environ.get(CHARTS_ENV)
    path = Path(configured) if configured else Path(__file__).resolve().parents[4] / "charts"
    if not (path / PUBLISHED_FILE).is_file():
        raise ChartRepoError(f"no chart sources at {path} ({PUBLISHED_FILE} missing); set {CHARTS_ENV}")
    return path


def publications(source: Path | None = None) -> list[Publication]:
    """Every (chart, version) listed in ``published.yaml``, in file order."""
    source = source or charts_dir()
    listed: dict[str, Any] = yaml.safe_load((source / PUBLISHED_FILE).read_text()) or {}
    found = []
    for chart, versions in listed.items():
        if not (source / chart / "Chart.yaml").is_file():
            raise ChartRepoError(f"{PUBLISHED_FILE} lists {chart!r} but {source / chart} is not a chart")
        for entry in versions:
            values = source / entry["values"] if entry.get("values") else None
            if values is not None and not values.is_file():
                raise ChartRepoError(f"{PUBLISHED_FILE}: values file {values} of {chart} {entry['version']} missing")
            found.append(Publication(chart, str(entry["version"]), values))
    return found


def _helm(*args: str) -> str:
    result = subprocess.run([str(binary("helm")), *args], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise ChartRepoError(f"helm {' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def build_repository(out: Path, source: Path | None = None) -> list[Path]:
    """Package every published chart version into ``out`` and write its ``index.yaml``; returns the packages.

    Packages of earlier builds in ``out`` are replaced. The index holds relative URLs, so the directory can be
    served on any port.
    """
    source = source or charts_dir()
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("*.tgz"), out / "index.yaml"]:
        stale.unlink(missing_ok=True)
    packages = []
    with tempfile.TemporaryDirectory(prefix="raykube-charts-") as tmp:
        for pub in publications(source):
            work = Path(tmp) / f"{pub.chart}-{pub.version}" / pub.chart
            shutil.copytree(source / pub.chart, work)
            if pub.values is not None:
                shutil.copyfile(pub.values, work / "values.yaml")
            _helm("package", str(work), "--version", pub.version, "--app-version", __version__,
                  "--destination", str(out))
            packages.append(out / f"{pub.chart}-{pub.version}.tgz")
    _helm("repo", "index", str(out))
    return packages


def _handler(directory: Path, log: Callable[[str], None] | None) -> type[http.server.BaseHTTPRequestHandler]:
    """Static files of `directory`; request lines go to `log` (or nowhere) instead of stderr."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            if log is not None:
                log(format % args)

    return Handler


class ChartServer:
    """A static HTTP server for a chart repository directory, on 127.0.0.1 only.

    ``port=0`` lets the kernel choose; :attr:`url` is the address to ``helm repo add``.
    """

    def __init__(self, directory: Path, port: int = 0, *, log: Callable[[str], None] | None = None) -> None:
        self._server = http.server.ThreadingHTTPServer((LOOPBACK, port), _handler(directory, log))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> ChartServer:
        """Serve from a background thread (tests, scripts embedding the server)."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="chart-repo", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ChartServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
