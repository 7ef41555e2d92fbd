"""The SDK's failures are :class:`SdkError` with one line saying what went wrong and what to do.

The faults are those of tests/unit/cli/test_error_paths.py: no kubeconfig, an API server nobody listens on, a
stand-in API server refusing everything (RBAC) or holding nothing (missing objects). The client's internals
stay out of the traceback unless ``RAYKUBE_DEBUG=1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from raykube.runtime.errors import ApiError
from raykube.sdk import Cluster, ClusterConfig, Connection, Job, SdkError, list_clusters, list_jobs
from tests.unit.cli.fakeapi import fake_api, write_kubeconfig

CALLS: dict[str, Callable[[Connection], Any]] = {
    "Cluster.up": lambda c: Cluster(ClusterConfig(name="demo"), connection=c).up(),
    "Cluster.attach": lambda c: Cluster.attach("ghost", connection=c),
    "Cluster.down": lambda c: Cluster(ClusterConfig(name="demo"), connection=c).down(),
    "Cluster.details": lambda c: Cluster(ClusterConfig(name="ghost"), connection=c).details(),
    "Job.submit": lambda c: Job.submit("python -c 1", cluster="demo", name="j", connection=c),
    "Job.status": lambda c: Job("ghost", connection=c).status(),
    "list_clusters": lambda c: list_clusters(connection=c),
    "list_jobs": lambda c: list_jobs(all_namespaces=True, connection=c),
}


def failure(call: str, connection: Connection) -> SdkError:
    with pytest.raises(SdkError) as raised:
        CALLS[call](connection)
    message = str(raised.value)
    assert "\n" not in message and message
    return raised.value


@pytest.fixture(autouse=True)
def no_debug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAYKUBE_DEBUG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def forbidden(tmp_path: Path) -> Iterator[Connection]:
    with fake_api("forbidden") as url:
        yield Connection(kubeconfig=str(write_kubeconfig(tmp_path / "k", url)))


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Connection]:
    with fake_api("empty") as url:
        yield Connection(kubeconfig=str(write_kubeconfig(tmp_path / "k", url)))


@pytest.mark.parametrize("call", CALLS)
def test_no_kubeconfig(call: str, tmp_path: Path) -> None:
    err = failure(call, Connection(kubeconfig=str(tmp_path / "missing")))
    assert f"no kubeconfig at {tmp_path / 'missing'}" in str(err) and "Connection(kubeconfig=...)" in str(err)


@pytest.mark.parametrize("call", CALLS)
def test_an_unreachable_api_server(call: str, tmp_path: Path) -> None:
    err = failure(call, Connection(kubeconfig=str(write_kubeconfig(tmp_path / "k", "http://127.0.0.1:1"))))
    assert "cannot reach the API server" in str(err)


@pytest.mark.parametrize("call", CALLS)
def test_missing_rbac(call: str, forbidden: Connection) -> None:
    err = failure(call, forbidden)
    assert "is forbidden" in str(err) and "ask a cluster admin for RBAC permission" in str(err)
    assert err.__cause__ is None and err.__suppress_context__  # one short traceback in a notebook


@pytest.mark.parametrize(("call", "message"), [
    ("Cluster.attach", "RayCluster ns/ghost not found: list_clusters() lists"),
    ("Cluster.details", "RayCluster ns/ghost not found"),
    ("Job.status", "RayJob ns/ghost not found: list_jobs() lists"),
    ("Job.submit", "RayCluster ns/demo not found"),
])
def test_missing_objects(call: str, message: str, empty: Connection) -> None:
    assert message in str(failure(call, empty))


def test_empty_lists_and_a_missing_cluster_to_delete_are_fine(empty: Connection) -> None:
    assert list_clusters(connection=empty) == [] and list_jobs(connection=empty) == []
    Cluster(ClusterConfig(name="ghost"), connection=empty).down()


def test_debug_keeps_the_cause(forbidden: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYKUBE_DEBUG", "1")
    err = failure("list_clusters", forbidden)
    assert isinstance(err.__cause__, ApiError) and err.__cause__.code == 403
    assert isinstance(err.cause, ApiError)
