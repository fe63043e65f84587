"""Resumable batches, tested by killing for real: the driver (SIGKILL, SIGINT), a local worker
process and a Dask worker. Every run must end up present exactly once, with the results of an
uninterrupted batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import psutil
import pytest

from adoption_abm.batch import experiment_from_dict, read_results, run_batch
from adoption_abm.batch.store import Store

pytestmark = pytest.mark.slow  # minutes of real processes or many replications

EXPERIMENT = """
name = "killme"
root_seed = 4242
replications = 2
chunk_size = 2

[base]
scale = 0.003
end_year = 2024

[design]
kind = "lhs"
samples = 30

[parameters]
"behaviour.attitude_effect" = { bounds = [0.4, 2.0] }
adoption_multiplier = { bounds = [0.5, 2.0], log = true }

[outputs]
monthly = true
"""
N_RUNS = 60
N_CHUNKS = 30


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exp") / "killme.toml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture(scope="module")
def reference(experiment_file, tmp_path_factory):
    """The uninterrupted batch (in this process)."""
    out = tmp_path_factory.mktemp("reference")
    report = run_batch(experiment_file, out, workers=1)
    assert report.computed == N_RUNS
    return read_results(out), read_results(out, monthly=True)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "adoption_abm", *args]


def start(experiment_file: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        cli("batch", str(experiment_file), "--out", str(out), "--no-progress", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: we can clean up its workers
        text=True,
    )


def n_parts(out: Path) -> int:
    return len(list((out / "data").glob("part-*.parquet")))


def wait_for(cond, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("timed out")


def kill_group(proc: subprocess.Popen) -> None:
    """Kill what is left of a driver we started (its forkserver and pool workers)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def assert_complete_and_identical(out: Path, reference) -> None:
    results, monthly = reference
    finished = Store(out).finished()  # raises if a run appears twice
    assert sorted(finished["run_id"].to_list()) == list(range(N_RUNS))
    assert read_results(out).equals(results)
    assert read_results(out, monthly=True).equals(monthly)
    index = pl.read_parquet(out / "runs.parquet")
    assert index["status"].to_list() == ["done"] * N_RUNS
    assert not list(out.rglob("*.tmp"))


def test_kill_9_the_driver_at_any_moment_then_resume(experiment_file, reference, tmp_path):
    rng = np.random.default_rng(7)
    out = tmp_path / "out"
    kills = 0
    # kill points: before the first chunk, and after a random number of finished chunks
    for target in (0, *sorted(rng.integers(1, N_CHUNKS - 4, size=2))):
        proc = start(experiment_file, out, "--workers", "2")
        try:
            if target == 0:
                time.sleep(rng.uniform(0.2, 1.0))  # during start-up
            else:
                wait_for(lambda t=target: n_parts(out) >= t, proc)
                time.sleep(rng.uniform(0, 0.05))  # at any moment after it, maybe mid-write
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
        finally:
            kill_group(proc)
    assert kills >= 2
    assert n_parts(out) < N_CHUNKS
    done = subprocess.run(
        cli("batch", str(experiment_file), "--out", str(out), "--workers", "2", "--no-progress"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{N_RUNS} of {N_RUNS} runs done" in done.stdout
    assert_complete_and_identical(out, reference)
    # and again: nothing left to do, nothing rewritten
    before = {p: p.stat().st_mtime_ns for p in (out / "data").iterdir()}
    again = subprocess.run(
        cli("batch", str(experiment_file), "--out", str(out), "--workers", "1", "--no-progress"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and f"(0 now, {N_RUNS} before)" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in (out / "data").iterdir()} == before


def test_ctrl_c_keeps_finished_runs_and_resumes(experiment_file, reference, tmp_path):
    out = tmp_path / "out"
    proc = start(experiment_file, out, "--workers", "2")
    try:
        wait_for(lambda: n_parts(out) >= 3, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 130
    assert "re-run the same command to resume" in err and "Traceback" not in err
    assert 3 <= n_parts(out) < N_CHUNKS
    index = pl.read_parquet(out / "runs.parquet")
    assert (index["status"] == "done").sum() == 2 * n_parts(out)
    report = run_batch(experiment_file, out, workers=1)
    assert report.skipped > 0 and report.skipped + report.computed == N_RUNS
    assert_complete_and_identical(out, reference)


def worker_processes(driver_pid: int) -> list[psutil.Process]:
    """The pool's workers: children of the driver's forkserver."""
    out = []
    for child in psutil.Process(driver_pid).children(recursive=True):
        try:
            parent = child.parent()
            if (
                parent is not None
                and parent.pid != driver_pid
                and "forkserver" in " ".join(parent.cmdline())
            ):
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


def test_kill_9_a_local_worker(experiment_file, reference, tmp_path):
    out = tmp_path / "out"
    proc = start(experiment_file, out, "--workers", "2")
    try:
        wait_for(lambda: n_parts(out) >= 2 and len(worker_processes(proc.pid)) == 2, proc)
        victim = worker_processes(proc.pid)[0]
        victim.kill()
        killed_at = n_parts(out)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        kill_group(proc)
    assert killed_at < N_CHUNKS  # the kill happened mid-batch
    assert proc.returncode == 0, stderr
    assert f"{N_RUNS} of {N_RUNS} runs done ({N_RUNS} now" in stdout
    assert_complete_and_identical(out, reference)


def test_kill_9_a_dask_worker(experiment_file, reference, tmp_path):
    from adoption_abm.batch.executors import DaskCluster

    out = tmp_path / "out"
    ex = DaskCluster(workers=2)
    try:
        pids = ex.client.run(os.getpid)
        assert len(pids) == 2
        victim = sorted(pids.values())[0]
        state = {}

        def killer():
            wait_for(lambda: n_parts(out) >= 2)
            state["parts_at_kill"] = n_parts(out)
            os.kill(victim, signal.SIGKILL)

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        report = run_batch(experiment_file, out, executor=ex)
        thread.join(timeout=30)
    finally:
        ex.close()
    assert state["parts_at_kill"] < N_CHUNKS
    assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == psutil.STATUS_ZOMBIE
    assert report.computed == N_RUNS and report.failed == 0
    assert_complete_and_identical(out, reference)


def test_resume_refuses_another_experiment_and_a_locked_folder(experiment_file, tmp_path):
    out = tmp_path / "out"
    exp = experiment_from_dict(
        {"name": "a", "root_seed": 1, "base": {"scale": 0.002, "end_year": 2023}}
    )
    run_batch(exp, out, workers=1)
    other = tmp_path / "other.toml"
    other.write_text(EXPERIMENT.replace("root_seed = 4242", "root_seed = 1"))
    res = subprocess.run(
        cli("batch", str(other), "--out", str(out), "--workers", "1"),
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert f"{out}: experiment: differs" in res.stderr and "Traceback" not in res.stderr
    store = Store(out)
    store.lock()
    try:
        res = subprocess.run(
            cli("batch", str(experiment_file), "--out", str(out)), capture_output=True, text=True
        )
    finally:
        store.unlock()
    assert res.returncode == 2 and "another batch is writing" in res.stderr
