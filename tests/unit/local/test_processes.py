"""Process supervision: failures name the component and quote its log; stop kills by pid only."""

from __future__ import annotations

from pathlib import Path

import pytest

from raykube.local import processes
from raykube.local.processes import ComponentFailedError


def test_a_component_that_exits_fails_with_its_name_and_log_tail(tmp_path: Path) -> None:
    record = processes.start("flaky", ["sh", "-c", "echo 'listen tcp: address already in use'; exit 3"],
                             log_dir=tmp_path)
    with pytest.raises(ComponentFailedError) as err:
        processes.wait_until(record, lambda: False, timeout=30)
    assert "flaky exited before it was healthy" in str(err.value)
    assert "address already in use" in str(err.value)


def test_a_component_that_never_gets_healthy_times_out_with_its_log(tmp_path: Path) -> None:
    record = processes.start("slow", ["sh", "-c", "echo 'still warming up'; sleep 30"], log_dir=tmp_path)
    try:
        with pytest.raises(ComponentFailedError) as err:
            processes.wait_until(record, lambda: False, timeout=0.5)
        assert "slow did not become healthy within 0s" in str(err.value) or "within 1s" in str(err.value)
        assert "still warming up" in str(err.value)
    finally:
        processes.stop(record)
    assert not processes.is_alive(record)


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    record = processes.start("parent", ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], log_dir=tmp_path)
    processes.wait_until(record, pid_file.exists, timeout=10)
    processes.wait_until(record, lambda: bool(pid_file.read_text().strip()), timeout=10)
    child_pid = int(pid_file.read_text())
    assert processes.pid_running(child_pid)
    processes.stop(record)
    assert not processes.is_alive(record)
    assert not processes.pid_running(child_pid)


def test_a_recycled_pid_is_not_treated_as_ours(tmp_path: Path) -> None:
    record = processes.start("short", ["sleep", "30"], log_dir=tmp_path)
    impostor = processes.ProcessRecord(name="short", pid=record.pid, start_ticks=record.start_ticks + 1,
                                       log=record.log)
    assert processes.is_alive(record)
    assert not processes.is_alive(impostor)
    processes.stop(impostor)  # must not kill the real process
    assert processes.is_alive(record)
    processes.stop(record)
