"""No orphans: after ``kill -9`` of a ``batch`` driver (local worker processes, or the Dask
LocalCluster it started) and of ``adoption-abm app``, no process of theirs is alive 5 s later
(polled with psutil, with a deadline)."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from .conftest import (
    alive,
    assert_gone,
    finish,
    kill9,
    start,
    tree,
    wait_for,
)

pytestmark = pytest.mark.slow


def n_parts(out) -> int:
    return len(list((out / "data").glob("part-*.parquet")))


@pytest.mark.parametrize(
    "executor", [["--workers", "2"], ["--dask", "local", "--workers", "2"]], ids=["local", "dask"]
)
def test_kill_9_of_a_batch_driver_leaves_no_process(experiment_file, tmp_path, executor):
    out = tmp_path / "out"
    proc = start("batch", str(experiment_file), "--out", str(out), "--no-progress", *executor)
    try:
        # mid-batch: some chunks written, the workers busy with the next ones
        wait_for(lambda: n_parts(out) >= 1 and len(tree(proc.pid)) >= 4, proc=proc, timeout=120)
        procs = tree(proc.pid)  # driver, workers (and forkserver, resource tracker)
        assert len(alive(procs)) >= 4, [p.cmdline() for p in procs]
        kill9(proc)
        assert_gone(procs)
    finally:
        finish(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_kill_9_of_the_app_leaves_no_server(tmp_path):
    pytest.importorskip("solara", reason="the app extra is not installed")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = start("app", "--port", str(port), "--agents", "500")
    try:
        wait_for(lambda: serving(url), proc=proc, timeout=90)
        procs = tree(proc.pid)
        # the server is this very process (exec), not a child left behind by a kill
        assert "solara" in " ".join(procs[0].cmdline())
        kill9(proc)
        assert_gone(procs)
        deadline = time.monotonic() + 5
        while serving(url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not serving(url)
    finally:
        finish(proc)


def test_sigterm_of_a_batch_driver_stops_its_workers_and_keeps_the_runs(experiment_file, tmp_path):
    import signal

    out = tmp_path / "out"
    proc = start("batch", str(experiment_file), "--out", str(out), "--no-progress", "-w", "2")
    try:
        wait_for(lambda: n_parts(out) >= 1, proc=proc, timeout=120)
        procs = tree(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "re-run the same command to resume" in err and "Traceback" not in err
        assert_gone(procs)
    finally:
        finish(proc)
