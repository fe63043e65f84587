"""Two drivers on one folder (``run``, ``batch``): the second is refused cleanly while the first
holds the folder (exit 2, one error line), or comes after it (a run: refused, the folder
exists; a batch: resumes and finds nothing to do); the folder holds one run, or one batch's
runs each written once, never a mix."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import (
    SMALL_RUN,
    batch_frames,
    error_lines,
    finish,
    inject,
    run,
    run_state,
    start,
    wait_for,
)

pytestmark = pytest.mark.slow


def run_args(out, seed: int) -> tuple[str, ...]:
    return ("run", "--seed", str(seed), *SMALL_RUN, "--out", str(out))


def communicate(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_a_second_run_is_refused_while_the_first_writes(tmp_path, references):
    out = tmp_path / "out"
    first = start(*run_args(out, 1), patch=inject(delay=1.5))  # slow writes hold the folder
    # (1.5 s a write: longer than a second process takes to start on a loaded 2-core machine)
    try:
        wait_for(lambda: (tmp_path / ".out.lock").exists(), proc=first)
        second = run(*run_args(out, 2))
        assert second.returncode == 2, second.stderr
        [line] = error_lines(second.stderr)
        assert "another adoption-abm process is writing this folder now" in line
        code, err = communicate(first)
        assert code == 0, err
    finally:
        finish(first)
    assert run_state(out, references) == "seed 1"
    third = run(*run_args(out, 2))  # after it: the folder exists
    assert third.returncode == 2 and "--overwrite" in third.stderr
    assert run_state(out, references) == "seed 1"


@pytest.mark.parametrize("attempt", range(2))
def test_two_runs_started_together_one_wins(tmp_path, references, attempt):
    out = tmp_path / "out"
    procs = [start(*run_args(out, seed)) for seed in (1, 2)]
    try:
        results = [communicate(p) for p in procs]
    finally:
        for p in procs:
            finish(p)
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    winner = 1 + [code for code, _ in results].index(0)
    loser_err = next(err for code, err in results if code == 2)
    assert len(error_lines(loser_err)) == 1 and "Traceback" not in loser_err
    assert run_state(out, references) == f"seed {winner}"


def test_a_second_batch_is_refused_while_the_first_runs(tmp_path, batch_file, batch_reference):
    from adoption_abm.batch.store import Store

    out = tmp_path / "out"
    args = ("batch", str(batch_file), "--out", str(out), "--no-progress", "-w", "1")
    first = start(*args, patch=inject(delay=0.1))
    try:
        wait_for(lambda: (out / "provenance.json").exists(), proc=first)
        second = run(*args)
        assert second.returncode == 2, second.stderr
        [line] = error_lines(second.stderr)
        assert "another batch is writing to this folder" in line
        code, err = communicate(first)
        assert code == 0, err
    finally:
        finish(first)
    assert batch_frames(out)["data"].equals(batch_reference["data"])
    Store(out).finished()  # raises if a run was written twice


def test_two_batches_started_together_write_each_run_once(tmp_path, batch_file, batch_reference):
    from adoption_abm.batch.store import Store

    out = tmp_path / "out"
    args = ("batch", str(batch_file), "--out", str(out), "--no-progress", "-w", "1")
    procs = [start(*args) for _ in range(2)]
    try:
        results = [communicate(p) for p in procs]
    finally:
        for p in procs:
            finish(p)
    for code, err in results:
        assert "Traceback" not in err, err
        assert code == 0 or (code == 2 and "another batch is writing" in err), err
    assert 0 in [code for code, _ in results]
    frames = batch_frames(out)
    assert frames["data"].equals(batch_reference["data"])
    assert frames["monthly"].equals(batch_reference["monthly"])
    Store(out).finished()
