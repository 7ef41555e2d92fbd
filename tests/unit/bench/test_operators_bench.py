"""The operator benchmark's pieces that need no cluster: metrics, settings, ratios, tables, charts, watches."""

from __future__ import annotations

import asyncio
import os
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from bench.operators import chart, measure, report, scaleup, steady, throughput, writes
from bench.operators.__main__ import chart_path, parser, validate

from raykube.runtime.client import KubeClient, ObjectList, WatchEvent
from raykube.runtime.kinds import POD

CLIENT_GO = """\
# HELP rest_client_requests_total Number of HTTP requests
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="GET"} 7
rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"} 12
rest_client_requests_total{code="200",host="127.0.0.1:6443",method="PUT"} 3
rest_client_requests_total{code="409",host="127.0.0.1:6443",method="PUT"} 1
controller_runtime_reconcile_time_seconds_sum{controller="raycluster-controller"} 2.5
controller_runtime_reconcile_time_seconds_count{controller="raycluster-controller"} 10
controller_runtime_reconcile_errors_total{controller="raycluster-controller"} 0
"""
PROMETHEUS_CLIENT = """\
rest_client_requests_total{method="POST",code="201"} 6.0
rest_client_requests_total{method="PATCH",code="200"} 2.0
rest_client_requests_created{method="POST",code="201"} 1.7e+09
"""


def test_metrics_parse_both_operators_formats_and_subtract() -> None:
    go = measure.Metrics.parse(CLIENT_GO)
    assert go.by_method() == {"GET": 7, "POST": 12, "PUT": 4}
    assert go.requests["PUT 409"] == 1
    assert (go.total, go.writes, go.reconciles, go.reconcile_seconds) == (23, 16, 10, 2.5)
    py = measure.Metrics.parse(PROMETHEUS_CLIENT)
    assert py.by_method() == {"POST": 6, "PATCH": 2} and py.writes == 8
    delta = go.minus(measure.Metrics.parse('rest_client_requests_total{code="201",method="POST"} 2\n'))
    assert delta.by_method()["POST"] == 10 and delta.reconciles == 10


def test_leadership_is_read_from_either_metrics_format() -> None:
    assert measure.leading('leader_election_master_status{name="ray-operator-leader"} 1\n')
    assert measure.leading('leader_election_master_status{name="ray-operator-leader"} 1.0\n')
    assert not measure.leading('leader_election_master_status{name="ray-operator-leader"} 0\n')
    assert not measure.leading(CLIENT_GO)


def test_percentiles_are_nearest_rank_and_ratios_tolerate_missing_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert measure.percentile(values, 0.5) == 50 and measure.percentile(values, 0.99) == 99
    assert measure.percentile([3.0], 0.99) == 3.0
    assert measure.summary([2.0, 1.0])["max"] == 2.0
    assert measure.ratio(1.0, 2.0) == 0.5
    assert measure.ratio(1.0, 0.0) is None and measure.ratio(None, 1.0) is None


def test_the_clusters_cpu_is_read_per_part_and_an_exited_process_counts_nothing() -> None:
    from raykube.local.processes import ProcessRecord

    class Cluster:
        def records(self) -> list[ProcessRecord]:
            return [ProcessRecord("kube-apiserver", os.getpid(), 0, ""),
                    ProcessRecord("etcd", 2**22 + 1, 0, ""),  # above any pid Linux hands out: not there
                    ProcessRecord("coredns", os.getpid(), 0, "")]  # not a part the tables show

    used = measure.cluster_cpu(Cluster())  # type: ignore[arg-type]
    assert set(used) == set(measure.CLUSTER_PARTS.values())
    assert used["API server"] > 0 and used["etcd"] == 0.0
    spent = measure.cpu_since({"API server": 1.0, "etcd": 0.5}, {"API server": 3.0, "etcd": 1.5})
    assert spent == {"API server": 2.0, "etcd": 1.0, "total": 3.0}


def test_settings_are_equal_for_both_operators_and_tuned_changes_only_kuberay() -> None:
    raised = measure.settings("raised", qps=1000, burst=2000)
    for operator in measure.OPERATORS:
        flags = measure.operator_flags(operator, raised, namespace="ns", leader_election=True)
        assert flags == ("--watch-namespace=ns", "--qps=1000", "--burst=2000")
    tuned = measure.settings("tuned", qps=1000, burst=2000)
    assert "--reconcile-concurrency=16" in measure.operator_flags("kuberay", tuned, namespace="ns",
                                                                   leader_election=True)
    assert not tuned.raykube_runs
    assert measure.operator_flags("raykube", measure.settings("defaults", qps=1, burst=1), namespace="ns",
                                  leader_election=False) == ("--watch-namespace=ns", "--no-enable-leader-election")
    assert measure.operator_flags("kuberay", measure.settings("defaults", qps=1, burst=1), namespace="ns",
                                  leader_election=False)[-1] == "--enable-leader-election=false"
    with pytest.raises(ValueError, match="unknown settings"):
        measure.settings("fast", qps=1, burst=1)


def test_the_table_shows_each_ratio() -> None:
    row = report.Row("pods Running/s", 80.0, 40.0, 100.0)
    assert row.as_dict()["raykube_over_kuberay"] == 2.0
    assert row.as_dict()["kuberay_over_baseline"] == 0.4
    text = report.render("T", [row, report.Row("missing", None, 1.0)])
    assert "2.00" in text and "0.80" in text and "0.40" in text
    assert text.splitlines()[0] == "T"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, size = 8, (0, 0)
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind, body = data[offset + 4:offset + 8], data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        if kind == b"IDAT":
            assert len(zlib.decompress(body)) == size[1] * (1 + 3 * size[0])
        offset += 12 + length
    return size


def test_the_chart_is_a_valid_png(tmp_path: Path) -> None:
    bars = [chart.Bar("raykube", 80.0, "raykube"), chart.Bar("KubeRay", None, "KubeRay"),
            chart.Bar("ceiling", 100.0, "ceiling")]
    path = chart.write(chart.Chart("pods/s", [chart.Panel("100 clusters", bars)]), tmp_path / "c.png")
    width, height = _png_size(path.read_bytes())
    assert width > 500 and height > 100


def _used() -> dict[str, Any]:
    return {"seconds": 10.0, "cpu_seconds": 1.0, "requests": 100.0, "writes": 80.0, "reconciles": 5.0,
            "requests_by_method": {"POST": 60.0, "PUT": 20.0, "GET": 20.0}, "mean_reconcile_ms": 3.0,
            "requests_by_method_code": {"POST 201": 60.0, "PUT 409": 1.0}, "reconcile_errors": 0.0,
            "rss_mib": 90.0, "peak_rss_mib": 100.0}


def _results() -> dict[str, dict[str, Any]]:
    ceiling = {"pods": 10, "create_seconds": 1.0, "running_seconds": 2.0, "create_per_second": 10.0,
               "running_per_second": 5.0, "cluster_cpu_seconds": {"API server": 2.0, "etcd": 1.0, "total": 3.0}}
    run = {"pods_per_second": 4.0, "ready_seconds": 2.5, "requests_per_cluster": 12.0, "ready_p50_seconds": 1.5,
           "cluster_cpu_total": 6.0, "apiserver_cpu": 4.0, **_used()}
    tp = {"workers": 4, "settings": ["defaults", "raised", "tuned"], "sizes": {"2": {
        "ceiling": ceiling, "defaults": {"raykube": run, "kuberay": run}, "raised": {"raykube": run, "kuberay": run},
        "tuned": {"kuberay": run}}}}
    samples = {"n": 2, "p50": 1.0, "p99": 2.0, "max": 2.0}
    su_run = {**{f"{phase}_{stage}_seconds": samples for phase in ("quiet", "loaded")
                 for stage in ("created", "scheduled", "running", "ready")}, "big_running_per_second": 3.0,
              "big_created_per_second": 4.0, "big_running_seconds": 2.0, **_used()}
    su = {"big_workers": 6, "small_clusters": 2, "ceiling": ceiling, "raykube": su_run, "kuberay": su_run}
    st_run = {"idle_rss_mib": 90.0, "idle_rss_kib_per_cluster": 1.0, "idle_cpu_seconds_per_minute": 0.1,
              "idle_requests_per_minute": 2.0, "idle_writes_per_minute": 0.0, "reaction_created": samples,
              "reaction_running": samples}
    st = {"clusters": 2, "changes": 2, "ceiling": {"created": samples, "running": samples}, "raykube": st_run,
          "kuberay": st_run}
    wr_run = {"writes_per_cluster": 9.0, "writes_per_cluster_by_method": {"POST": 7.0, "PUT": 2.0},
              "raycluster_events_per_cluster": 5.0, "conflicts_per_cluster": 0.0, "reads_per_cluster": 0.1,
              "requests_per_cluster": 9.1}
    wr = {"clusters": 2, "workers": 4, "minimum": {"creates": 6, "status_writes": 1, "writes": 7},
          "raykube": wr_run, "kuberay": wr_run}
    return {"throughput": tp, "scaleup": su, "steady": st, "writes": wr}


def test_every_scenario_renders_its_table_and_chart(tmp_path: Path) -> None:
    modules = {"throughput": throughput, "scaleup": scaleup, "steady": steady, "writes": writes}
    for name, result in _results().items():
        module = modules[name]
        rows = module.rows(result)
        assert rows and all(isinstance(r, report.Row) for r in rows), name
        assert report.render(module.TITLE, rows, module.BASELINE)
        _png_size(chart.render(module.chart(result)))
    tp_rows = throughput.rows(_results()["throughput"])
    tuned = [r for r in tp_rows if "tuned (raykube: raised): pods Running/s" in r.measure]
    assert tuned[0].raykube == 4.0  # KubeRay tuned is compared with raykube at the same (raised) limits
    cpu = [r for r in tp_rows if r.measure.endswith("raised: cluster CPU seconds (control plane + kwok)")]
    assert cpu[0].raykube == 6.0 and cpu[0].baseline == 3.0  # the bare pods' cluster CPU is the baseline


def test_command_line_defaults_are_the_full_sizes() -> None:
    args = parser().parse_args([])
    validate(args)
    assert args.clusters == [10, 100, 1000] and args.big_workers == 1000 and args.steady_clusters == 1000
    assert args.scenario == ["throughput", "scaleup", "steady", "writes"]
    assert chart_path(Path("out/bench.png"), "steady") == Path("out/bench-steady.png")
    with pytest.raises(SystemExit):
        validate(parser().parse_args(["--scenario", "nope"]))


class FakeClient:
    """list + watch of one kind, fed by the test."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.events: asyncio.Queue[WatchEvent] = asyncio.Queue()

    async def list(self, kind: Any, **_: Any) -> ObjectList:
        return ObjectList(list(self.items), "1")

    async def watch(self, kind: Any, **_: Any) -> AsyncIterator[WatchEvent]:
        while True:
            yield await self.events.get()


def _pod(name: str, cluster: str, phase: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"ray.io/cluster": cluster}}, "status": {"phase": phase}}


async def test_the_tracker_records_when_each_object_first_reached_each_state() -> None:
    fake = FakeClient([_pod("a-0", "a", "Running")])
    tracker = measure.Tracker(cast(KubeClient, fake), POD, "ns", measure.pod_states)
    await tracker.start()
    try:
        assert tracker.count("running") == 1
        fake.events.put_nowait(WatchEvent("ADDED", _pod("a-1", "a", "Pending")))
        fake.events.put_nowait(WatchEvent("MODIFIED", _pod("a-1", "a", "Running")))
        await tracker.until(lambda: tracker.count("running", tracker.where("ray.io/cluster", "a")) == 2, 5)
        first, second = tracker.nth("running", 1), tracker.nth("running", 2)
        assert first is not None and second is not None and first <= second
        assert tracker.first["a-1"]["seen"] <= tracker.first["a-1"]["running"]
        assert tracker.nth("running", 3) is None
        with pytest.raises(TimeoutError):
            await tracker.until(lambda: False, 0.05)
    finally:
        await tracker.stop()


async def test_a_small_clusters_time_is_split_into_pods_created_scheduled_and_ready() -> None:
    bound = {**_pod("a-head", "a", "Pending"), "spec": {"nodeName": "n1"}}
    fake = FakeClient([_pod("a-w0", "a", "Pending"), bound])
    tracker = measure.Tracker(cast(KubeClient, fake), POD, "ns", measure.pod_states)
    await tracker.start()
    try:
        start = tracker.first["a-w0"]["seen"] - 1.0
        created = scaleup.seconds_until(tracker, {"a": start}, "seen", pods=2)
        assert len(created) == 1 and created[0] >= 1.0
        assert scaleup.seconds_until(tracker, {"a": start}, "scheduled", pods=2) == []  # a-w0 not bound yet
        fake.events.put_nowait(WatchEvent("MODIFIED", {**_pod("a-w0", "a", "Running"), "spec": {"nodeName": "n2"}}))
        await tracker.until(lambda: tracker.count("scheduled") == 2, 5)
        scheduled = scaleup.seconds_until(tracker, {"a": start}, "scheduled", pods=2)
        assert len(scheduled) == 1 and scheduled[0] >= created[0]
        assert scaleup.seconds_until(tracker, {"b": start}, "seen", pods=1) == []  # no pod of cluster b
    finally:
        await tracker.stop()
