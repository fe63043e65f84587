"""``kill -9`` at every moment of ``run``, ``run --overwrite``, ``compare`` and ``batch``: between
each pair of writes (the command's own write events are hooked, :func:`.conftest.inject`) and at
random, seeded moments from outside. Every outcome is complete or absent: a run folder is
absent, the previous run whole, or the new run whole, never files of two runs side by side; a
killed batch holds only complete chunks, and resuming it gives what an uninterrupted batch
gives. A later command cleans what the killed one left."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import polars as pl
import pytest

from adoption_abm.outputs.runfolder import RunFolder

from .conftest import (
    KILLED,
    SEEDS,
    SMALL_RUN,
    batch_frames,
    cli,
    events,
    finish,
    inject,
    kill9,
    leftovers,
    run,
    run_state,
    start,
)

pytestmark = pytest.mark.slow


def assert_cleaned_by_the_next_writer(out: Path, marker: str = "summary.json") -> None:
    """Opening the folder again (as the next run does) removes every leftover, with a warning
    naming each; the folder itself is untouched (or, if a kill between the two renames of a
    replacement left it absent, the previous folder is put back)."""
    before = sorted(p.name for p in out.iterdir()) if out.exists() else None
    warnings: list[str] = []
    with RunFolder(out, overwrite=True, marker=marker, warn=warnings.append):
        pass
    assert leftovers(out.parent) == []
    after = sorted(p.name for p in out.iterdir()) if out.exists() else None
    assert after == before or (before is None and any("restored" in w for w in warnings))
    assert all("interrupted" in w for w in warnings), warnings


def run_args(out: Path, seed: int, *extra: str) -> tuple[str, ...]:
    return ("run", "--seed", str(seed), *SMALL_RUN, "--out", str(out), *extra)


def write_events(tmp_path: Path, *args: str, patch: str = "") -> list[str]:
    """The write events of an uninterrupted, hooked command (in a scratch folder)."""
    log = tmp_path / "events.log"
    done = run(*args, patch=patch + inject(log=log))
    assert done.returncode == 0, done.stderr
    return events(log)


def previous(out: Path, references: dict[int, Path], seed: int = 1) -> None:
    """``out`` holds the reference run of ``seed`` (a copy)."""
    import shutil

    shutil.copytree(references[seed], out)


NO_EXCHANGE = """
import adoption_abm.outputs.runfolder as _rf
_rf._exchange = lambda a, b: False  # the two-rename path of systems without RENAME_EXCHANGE
"""


@pytest.mark.parametrize("mode", ["fresh", "overwrite", "overwrite-two-renames"], ids=lambda m: m)
def test_kill_between_each_pair_of_writes_of_a_run(tmp_path, references, mode):
    overwrite = mode != "fresh"
    patch = NO_EXCHANGE if mode == "overwrite-two-renames" else ""
    extra = ("--overwrite",) if overwrite else ()
    scratch = tmp_path / "scratch" / "out"
    if overwrite:
        previous(scratch, references)
    n = len(write_events(tmp_path, *run_args(scratch, 2, *extra), patch=patch))
    assert n >= 8  # five files, the rename(s), the folder's fsync
    seen = set()
    # the two-rename path differs from the exchange only from the commit on (the last 5)
    first = n - 4 if mode == "overwrite-two-renames" else 1
    for k in range(first, n + 1):
        out = tmp_path / f"k{k}" / "out"
        if overwrite:
            previous(out, references, seed=1)
        done = run(*run_args(out, 2, *extra), patch=patch + inject(kill_at=k))
        assert done.returncode == KILLED, (k, done.stderr)
        state = run_state(out, references)
        if mode == "overwrite":  # an atomic exchange: never without a run
            assert state in ("seed 1", "seed 2"), (k, state)
        seen.add(state)
        assert_cleaned_by_the_next_writer(out)
        if overwrite:  # absent between the two renames: the previous run is put back
            assert run_state(out, references) in ("seed 1", "seed 2"), k
    # the kills fell before and after the moment the new run appeared
    expected = {"fresh": {"absent", "seed 2"}, "overwrite": {"seed 1", "seed 2"}}
    assert seen >= expected.get(mode, {"seed 1", "absent", "seed 2"}), seen


@pytest.mark.parametrize("overwrite", [False, True], ids=["fresh", "overwrite"])
def test_kill_at_random_moments_of_a_run(tmp_path, references, overwrite):
    rng = random.Random(14)
    extra = ("--overwrite",) if overwrite else ()
    for i in range(3):
        out = tmp_path / f"try{i}" / "out"
        if overwrite:
            previous(out, references, seed=1)
        # slow writes (0.2 s each) so that a good share of the moments fall among them
        proc = start(*run_args(out, 2, *extra), patch=inject(delay=0.2))
        try:
            time.sleep(rng.uniform(0.5, 5.0))
            kill9(proc)
        finally:
            finish(proc)
        state = run_state(out, references)
        assert state in (("seed 1", "seed 2") if overwrite else ("absent", "seed 2")), state
        assert_cleaned_by_the_next_writer(out)


# compare ---------------------------------------------------------------------------------------
COMPARE = ("--replications", "2", "--workers", "1", "--scale", "0.003", "--no-progress")
COMPARE += ("--set", "end_year=2025", "--policy", "6@2023-01")


def compare_state(out: Path, references: dict[int, Path]) -> str:
    """``"absent"`` or ``"seed N"``: a whole report equal to the reference of its seed."""
    if not out.exists():
        return "absent"
    seeds = json.loads((out / "meta.json").read_text())["seeds"]  # spawned from --seed
    [(seed, ref)] = [
        (s, r)
        for s, r in references.items()
        if json.loads((r / "meta.json").read_text())["seeds"] == seeds
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in ref.iterdir())
    for path in ref.glob("*.parquet"):
        got, want = pl.read_parquet(out / path.name), pl.read_parquet(path)
        assert got.equals(want), f"{path.name} is not seed {seed}'s: two reports mixed"
    return f"seed {seed}"


@pytest.fixture(scope="module")
def compare_references(tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("compare-references")
    for seed in SEEDS:
        cli("compare", "--seed", str(seed), *COMPARE, "--out", str(root / f"seed{seed}"))
    return {seed: root / f"seed{seed}" for seed in SEEDS}


def test_kill_between_writes_of_compare_overwrite(tmp_path, compare_references):
    import shutil

    def args(out: Path) -> tuple[str, ...]:
        return ("compare", "--seed", "2", *COMPARE, "--out", str(out), "--overwrite")

    scratch = tmp_path / "scratch" / "out"
    shutil.copytree(compare_references[1], scratch)
    n = len(write_events(tmp_path, *args(scratch)))
    assert n >= 20  # the frames, meta.json, the plots, report.md, report.html, the exchange
    # a seeded sample of the events, the last three (the exchange and after) always
    rng = random.Random(14)
    picks = sorted(set(rng.sample(range(1, n - 3), 2)) | set(range(n - 2, n + 1)))
    seen = set()
    for k in picks:
        out = tmp_path / f"k{k}" / "out"
        shutil.copytree(compare_references[1], out)
        done = run(*args(out), patch=inject(kill_at=k))
        assert done.returncode == KILLED, (k, done.stderr)
        state = compare_state(out, compare_references)
        assert state in ("seed 1", "seed 2"), (k, state)
        seen.add(state)
        assert_cleaned_by_the_next_writer(out, marker="meta.json")
    assert seen == {"seed 1", "seed 2"}


def test_kill_at_random_moments_of_compare(tmp_path, compare_references):
    rng = random.Random(15)
    for i in range(3):
        out = tmp_path / f"try{i}" / "out"
        proc = start(
            "compare", "--seed", "1", *COMPARE, "--out", str(out), patch=inject(delay=0.05)
        )
        try:
            time.sleep(rng.uniform(2.0, 12.0))  # the simulation, the report, after
            kill9(proc)
        finally:
            finish(proc)
        assert compare_state(out, compare_references) in ("absent", "seed 1")
        assert_cleaned_by_the_next_writer(out, marker="meta.json")


# batch -----------------------------------------------------------------------------------------
def assert_only_whole_chunks(out: Path, reference: dict[str, pl.DataFrame]) -> None:
    """What a killed batch left: every data file readable and equal to the reference's rows of
    its runs, and so every monthly file that has its data file."""
    from adoption_abm.batch.store import TIMING_COLUMNS

    want = reference["data"]
    for part in sorted((out / "data").glob("part-*.parquet")) if (out / "data").exists() else []:
        got = pl.read_parquet(part).drop(TIMING_COLUMNS)
        ids = got["run_id"].to_list()
        ref = want.filter(pl.col("run_id").is_in(ids)).select(got.columns).sort("run_id")
        assert got.sort("run_id").equals(ref), part.name
        monthly = out / "monthly" / part.name
        if monthly.exists():
            m = pl.read_parquet(monthly)
            ref_m = reference["monthly"].filter(pl.col("run_id").is_in(ids)).select(m.columns)
            assert m.sort(["run_id", "month"]).equals(ref_m.sort(["run_id", "month"]))
    for name in ("provenance.json",):
        if (out / name).exists():
            json.loads((out / name).read_text())
    if (out / "runs.parquet").exists():
        pl.read_parquet(out / "runs.parquet")


def assert_resumes_to_the_reference(out: Path, batch_file: Path, reference) -> None:
    done = run("batch", str(batch_file), "--out", str(out), "--no-progress", "-w", "1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    got = batch_frames(out)
    assert got["data"].equals(reference["data"])
    assert got["monthly"].equals(reference["monthly"])
    assert leftovers(out) == []


def test_kill_between_writes_of_a_batch_then_resume(tmp_path, batch_file, batch_reference):
    args = ("batch", str(batch_file), "--no-progress", "-w", "1")
    n = len(write_events(tmp_path, *args, "--out", str(tmp_path / "scratch")))
    assert n >= 70  # experiment, provenance, index, 12 chunks of two files, index, provenance
    rng = random.Random(14)
    picks = sorted({2, n - 1, *rng.sample(range(3, n - 1), 2)})
    for k in picks:
        out = tmp_path / f"k{k}"
        done = run(*args, "--out", str(out), patch=inject(kill_at=k))
        # the index is also rewritten every few seconds: a slower or faster run has a few
        # write events more or fewer, so a kill near the end may come after the batch ended
        assert done.returncode == KILLED or (done.returncode == 0 and k > n - 12), (k, done)
        assert_only_whole_chunks(out, batch_reference)
        assert_resumes_to_the_reference(out, batch_file, batch_reference)


def test_kill_at_random_moments_of_a_batch_on_workers_then_resume(
    tmp_path, batch_file, batch_reference
):
    rng = random.Random(16)
    out = tmp_path / "out"
    for _ in range(3):  # three kills of the same folder, each resumed by the next command
        proc = start("batch", str(batch_file), "--out", str(out), "--no-progress", "-w", "2")
        try:
            time.sleep(rng.uniform(2.0, 6.0))
            kill9(proc)
        finally:
            finish(proc)
        assert_only_whole_chunks(out, batch_reference)
    assert_resumes_to_the_reference(out, batch_file, batch_reference)
