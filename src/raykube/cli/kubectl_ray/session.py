"""What every `kubectl ray` command shares: the connection flags, one-line errors and the async runner.

kubectl hands a plugin its arguments verbatim and its environment (``KUBECONFIG``), so each command takes
``-n/--namespace``, ``--kubeconfig`` and ``--context`` itself, as KubeRay's plugin does. Failures become one
line on stderr (``Error: ...``) and exit code 1: an unreachable API server, a missing object, missing RBAC,
a bad flag. ``--debug`` (or ``RAYKUBE_DEBUG=1``) adds the traceback.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import traceback
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from raykube.runtime.apiaccess import ApiAccess, ApiAccessError, load_access
from raykube.runtime.client import KubeClient
from raykube.runtime.explain import KNOWN, explain

T = TypeVar("T")

Namespace = Annotated[str | None, typer.Option("--namespace", "-n", help="If present, the namespace scope.")]
Kubeconfig = Annotated[str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file.")]
Context = Annotated[str | None, typer.Option("--context", help="The name of the kubeconfig context to use.")]


class PluginError(Exception):
    """A failure the user can act on; printed as one line."""


@dataclass(frozen=True)
class Target:
    """Where a command talks to: the kubeconfig, its context and the namespace to use."""

    kubeconfig: str | None
    context: str | None
    namespace: str
    access: ApiAccess

    def client(self) -> KubeClient:
        path = self.kubeconfig or os.environ.get("KUBECONFIG") or None
        return KubeClient.from_kubeconfig(path.split(os.pathsep)[0] if path else None, context=self.context,
                                          field_manager="ray-kubectl-plugin")


def target(kubeconfig: str | None, context: str | None, namespace: str | None) -> Target:
    """Resolve the connection; ``namespace`` defaults to the context's (``default`` when it sets none)."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or None
    try:
        access = load_access(path.split(os.pathsep)[0] if path else None, context=context)
    except (ApiAccessError, OSError) as err:
        raise PluginError(explain(err)) from err
    return Target(kubeconfig, context, namespace or access.namespace or "default", access)


def describe(err: BaseException) -> str:
    """One line saying what went wrong and, where there is one, what to do."""
    return explain(err)


def debug_enabled() -> bool:
    return os.environ.get("RAYKUBE_DEBUG", "") not in ("", "0")


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run one command's coroutine; any failure becomes ``Error: <one line>`` and exit code 1."""
    try:
        return asyncio.run(work)
    except (PluginError, *KNOWN) as err:
        fail(err)


def fail(err: BaseException | str) -> NoReturn:
    """Print the error on one line (the traceback too with --debug) and exit 1."""
    if debug_enabled() and isinstance(err, BaseException):
        traceback.print_exception(err, file=sys.stderr)
    typer.echo(f"Error: {describe(err) if isinstance(err, BaseException) else err}", err=True)
    raise typer.Exit(1)


def kubectl_binary() -> str:
    """The kubectl that invoked us (``$KUBECTL``, then ``PATH``), else raykube's pinned build."""
    found = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if found:
        return found
    from raykube.local.binaries import MissingBinaryError, binary

    try:
        return str(binary("kubectl"))
    except MissingBinaryError as err:
        raise PluginError("kubectl not found on PATH") from err


def kubectl_args(t: Target) -> list[str]:
    """The connection flags to hand on to a kubectl subprocess."""
    args = [f"--kubeconfig={t.kubeconfig}"] if t.kubeconfig else []
    return args + ([f"--context={t.context}"] if t.context else [])


def resolve_output_dir(out_dir: Path | None, name: str) -> Path:
    return out_dir if out_dir is not None else Path.cwd() / name


@asynccontextmanager
async def closing(client: KubeClient) -> AsyncIterator[KubeClient]:
    """Use a client and close its connections afterwards."""
    try:
        yield client
    finally:
        await client.close()
