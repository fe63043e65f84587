"""A worker killed mid-task (``kill -9`` of a Dask LocalCluster worker, or of a local pool
worker): the batch completes (its executor re-submits the lost task) or stops with a resume
hint, and its results, resumed if need be, equal an uninterrupted batch's."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import polars as pl
import psutil
import pytest

from .conftest import alive, finish, run, start, tree, wait_for

pytestmark = pytest.mark.slow

# runs of about a third of a second each: while chunks remain, both workers are busy with one
EXPERIMENT = """
name = "workers"
root_seed = 7
replications = 2
chunk_size = 2
[base]
scale = 0.01
end_year = 2026
[design]
kind = "lhs"
samples = 6
[parameters]
adoption_multiplier = { bounds = [0.5, 2.0], log = true }
"""
CHUNKS = 6


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    path = tmp_path_factory.mktemp("workers") / "workers.toml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture(scope="module")
def reference(experiment, tmp_path_factory) -> pl.DataFrame:
    from adoption_abm.batch.runner import run_batch
    from adoption_abm.batch.store import read_results

    out = tmp_path_factory.mktemp("workers-reference") / "out"
    assert run_batch(experiment, out, workers=1).complete
    return read_results(out)


def n_parts(out) -> int:
    return len(list((out / "data").glob("part-*.parquet")))


def workers_of(pid: int) -> list[psutil.Process]:
    """The worker processes under a driver: the leaves of its tree, except multiprocessing's
    resource tracker (a Dask worker is a child of the driver, a pool worker a child of the
    forkserver)."""
    out = []
    for p in alive(tree(pid))[1:]:
        with contextlib.suppress(psutil.Error):
            if not p.children() and "resource_tracker" not in " ".join(p.cmdline()):
                out.append(p)
    return out


def busiest(workers: list[psutil.Process]) -> psutil.Process:
    """The worker using the most CPU over 0.3 s: one computing a task (an idle worker uses
    about none), so the kill falls mid-task."""
    for p in workers:
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    time.sleep(0.3)
    usage = []
    for p in workers:
        with contextlib.suppress(psutil.Error):
            usage.append((p.cpu_percent(None), p))
    percent, victim = max(usage, key=lambda u: u[0])
    assert percent > 20, f"no worker is computing: {[u for u, _ in usage]}"
    return victim


@pytest.mark.parametrize(
    "executor", [["--dask", "local", "--workers", "2"], ["--workers", "2"]], ids=["dask", "local"]
)
def test_a_worker_killed_mid_task_loses_no_run(experiment, reference, tmp_path, executor):
    from adoption_abm.batch.store import Store, read_results

    out = tmp_path / "out"
    args = ("batch", str(experiment), "--out", str(out), "--no-progress", *executor)
    proc = start(*args)
    try:
        # one chunk written, chunks left: both workers are computing one now
        wait_for(lambda: n_parts(out) >= 1 and len(workers_of(proc.pid)) >= 2, proc=proc)
        victim = busiest(workers_of(proc.pid))
        assert n_parts(out) < CHUNKS
        os.kill(victim.pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        finish(proc)
    assert "Traceback" not in stderr, stderr
    if proc.returncode != 0:  # the executor gave the task up: a resume hint, then a resume
        assert proc.returncode == 1 and "re-run the same command to resume" in stderr, stderr
        done = run(*args)
        assert done.returncode == 0, done.stderr
    assert read_results(out).equals(reference)
    Store(out).finished()  # raises if a run was written twice
