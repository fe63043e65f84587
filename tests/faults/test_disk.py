"""A full and a read-only file system under ``run``, ``compare`` and ``batch``: exit status 2,
one ``error:`` line, no traceback, nothing half-written, the runs a batch finished before kept
(and resumed once there is room).

Where root may mount one, the file system is a real small tmpfs (``mount -t tmpfs -o size=``,
remounted read-only or larger); elsewhere the full disk is mocked (``fsync`` fails with
``ENOSPC`` from some write on, :func:`.conftest.inject`) and a read-only folder is a folder
without write permission. The mocked variant runs everywhere, so both paths are exercised."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from .conftest import (
    EXPERIMENT,
    SMALL_RUN,
    error_lines,
    events,
    inject,
    leftovers,
    remount,
    run,
)

pytestmark = pytest.mark.slow

COMPARE = ("--replications", "2", "--workers", "1", "--scale", "0.003", "--no-progress")
COMPARE += ("--set", "end_year=2025")


def assert_one_error_line(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = error_lines(done.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def small_fs(tmpfs, tmp_path):
    """``small_fs(size, kind)``: ``(folder, patch)`` for a file system of ``size`` that is
    "tmpfs" (real; skipped where it cannot be mounted) or "mocked" (``patch`` makes fsync
    fail with ENOSPC from the ``enospc_from``-th write event on)."""
    stack = []

    def make(size: str, kind: str, enospc_from: int = 3):
        if kind == "mocked":
            folder = tmp_path / f"mocked-{len(stack)}"
            folder.mkdir()
            return folder, inject(enospc_from=enospc_from)
        cm = tmpfs(size)
        folder = cm.__enter__()
        stack.append(cm)
        if folder is None:
            pytest.skip("cannot mount a tmpfs here (not root, or no mount): the mocked variant")
        return folder, ""

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def read_only(tmpfs, tmp_path):
    """A read-only folder: a read-only tmpfs where root may mount one, else no write bit."""
    with tmpfs("64k", readonly=True) as folder:
        if folder is not None:
            yield folder
            return
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        try:
            if os.access(folder, os.W_OK):
                pytest.skip("this user may write anywhere, and no read-only mount is possible")
            yield folder
        finally:
            folder.chmod(0o755)


# full ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tmpfs", "mocked"])
def test_run_on_a_full_disk(small_fs, kind):
    fs, patch = small_fs("48k", kind)  # the run's files take about 92 KiB
    out = fs / "run"
    done = run("run", *SMALL_RUN, "--out", str(out), patch=patch)
    line = assert_one_error_line(done, f"--out {out}", "no space left", "nothing was written")
    assert "the run is lost" in line
    assert not out.exists() and leftovers(fs) == [] and sorted(os.listdir(fs)) == []


@pytest.mark.parametrize("kind", ["tmpfs", "mocked"])
def test_run_overwrite_on_a_full_disk_keeps_the_previous_run(small_fs, kind, tmp_path):
    fs, patch = small_fs("160k", kind, enospc_from=4)  # room for one run, not for two
    out = fs / "run"
    first = run("run", *SMALL_RUN, "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    done = run("run", *SMALL_RUN, "--seed", "2", "--out", str(out), "--overwrite", patch=patch)
    assert_one_error_line(done, "no space left", "nothing was written")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(fs) == []


@pytest.mark.parametrize("kind", ["tmpfs", "mocked"])
def test_compare_on_a_full_disk(small_fs, kind):
    fs, patch = small_fs("150k", kind, enospc_from=6)  # the report takes about 300 KiB
    out = fs / "report"
    done = run("compare", *COMPARE, "--out", str(out), patch=patch)
    assert_one_error_line(done, f"--out {out}", "no space left", "nothing was written")
    assert not out.exists() and leftovers(fs) == []


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("experiment") / "faults.toml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture(scope="module")
def reference(experiment, tmp_path_factory) -> pl.DataFrame:
    from adoption_abm.batch.runner import run_batch
    from adoption_abm.batch.store import read_results

    out = tmp_path_factory.mktemp("reference") / "out"
    assert run_batch(experiment, out, workers=1).complete
    return read_results(out)


def finished_parts(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("part-*.parquet"))}


@pytest.mark.parametrize("kind", ["tmpfs", "mocked"])
def test_batch_on_a_full_disk_keeps_its_finished_runs_and_resumes(
    small_fs, kind, experiment, reference, tmp_path
):
    from adoption_abm.batch.store import read_results

    # the batch takes about 460 KiB: some chunks fit, then the disk is full
    if kind == "mocked":
        log = tmp_path / "events.log"
        done = run(
            "batch", str(experiment), "--out", str(tmp_path / "x"), "-w", "1", "--no-progress",
            patch=inject(log=log),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        fs, patch = small_fs("", kind, enospc_from=len(events(log)) // 2)
    else:
        fs, patch = small_fs("200k", kind)
    out = fs / "batch"
    args = ("batch", str(experiment), "--out", str(out), "-w", "1", "--no-progress")
    done = run(*args, patch=patch)
    assert_one_error_line(done, "no space left", "the runs finished before are kept", "resume")
    kept = finished_parts(out)
    assert 0 < len(kept) < 12, sorted(kept)  # some chunks were written whole before it filled
    assert leftovers(out) == []
    for name in kept:  # each whole, and the reference's runs
        part = pl.read_parquet(out / "data" / name)
        assert part.height == 2
    # room again (a larger file system, or no more injected failure): the batch resumes
    if kind == "tmpfs":
        assert remount(fs, "2m")
    done = run(*args)
    assert done.returncode == 0, done.stderr
    assert f"({24 - 2 * len(kept)} now, {2 * len(kept)} before)" in done.stdout, done.stdout
    assert {k: v for k, v in finished_parts(out).items() if k in kept} == kept
    assert read_results(out).equals(reference)


# read-only -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("run", *SMALL_RUN),
        ("compare", *COMPARE),
        ("batch", "{experiment}", "-w", "1", "--no-progress"),
    ],
    ids=["run", "compare", "batch"],
)
def test_a_read_only_file_system_is_one_error_line_before_any_work(read_only, experiment, args):
    out = read_only / "out"
    argv = [str(experiment) if a == "{experiment}" else a for a in args]
    done = run(*argv, "--out", str(out), patch=inject(kill_at=1))  # no write may even start
    assert_one_error_line(done, f"--out {out}")
    assert "read-only" in done.stderr or "permission denied" in done.stderr
    assert os.listdir(read_only) == []


def test_a_batch_on_a_file_system_turned_read_only_keeps_its_runs(
    tmpfs, experiment, reference, tmp_path
):
    """A batch stopped half-way; its file system is then remounted read-only: resuming it
    is one error line, the finished runs untouched; once writable again it resumes."""
    from adoption_abm.batch.runner import run_batch
    from adoption_abm.batch.store import read_results

    with tmpfs("2m") as fs:
        if fs is None:
            pytest.skip("cannot mount a tmpfs here (not root, or no mount)")
        out = fs / "batch"
        run_batch(experiment, out, workers=1, max_chunks=5)
        kept = finished_parts(out)
        assert len(kept) == 5
        index = (out / "runs.parquet").read_bytes()
        done = subprocess.run(["mount", "-o", "remount,ro", str(fs)], capture_output=True)
        assert done.returncode == 0, done.stderr
        try:
            args = ("batch", str(experiment), "--out", str(out), "-w", "1", "--no-progress")
            done = run(*args)
            assert_one_error_line(done, f"--out {out}", "read-only")
            assert finished_parts(out) == kept and (out / "runs.parquet").read_bytes() == index
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(fs)], capture_output=True)
        done = run(*args)
        assert done.returncode == 0, done.stderr
        assert read_results(out).equals(reference)
        shutil.rmtree(out)
