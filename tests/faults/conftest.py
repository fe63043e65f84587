"""Helpers of the fault-injection suite: commands run in real processes (killed for real), the
processes they leave, small file systems (tmpfs where root may mount one)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import psutil
import pytest
from typer.testing import CliRunner

from adoption_abm.cli.main import app

GONE_WITHIN = 5.0  # seconds: no process of a killed command may outlive its driver longer


def command(*args: str, patch: str = "") -> list[str]:
    """``adoption-abm ARGS`` as a fresh Python process; ``patch`` is code run first (to inject
    delays between writes without hooks in the package)."""
    code = textwrap.dedent(patch) + "\nfrom adoption_abm.cli import main\nmain()\n"
    return [sys.executable, "-c", code, *args]


def start(*args: str, patch: str = "", cwd: Path | None = None) -> subprocess.Popen:
    """Start a command in its own session (so a test can always clean up after it)."""
    return subprocess.Popen(
        command(*args, patch=patch),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run(*args: str, patch: str = "", cwd: Path | None = None, timeout: float = 180):
    return subprocess.run(
        command(*args, patch=patch), cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def wait_for(cond: Callable[[], bool], timeout: float = 60.0, proc=None) -> bool:
    """Poll ``cond`` until it holds (True), ``proc`` ends (False) or ``timeout`` (fail)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s")


def tree(pid: int) -> list[psutil.Process]:
    """``pid`` and all its descendants now."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``procs`` still running (a zombie, dead but not yet reaped, is not)."""
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def assert_gone(procs: list[psutil.Process], within: float = GONE_WITHIN) -> None:
    """Every process of ``procs`` ends within ``within`` seconds (polled, not slept)."""
    end = time.monotonic() + within
    left = alive(procs)
    while left and time.monotonic() < end:
        time.sleep(0.05)
        left = alive(left)
    described = []
    for p in left:
        with contextlib.suppress(psutil.Error):
            described.append(f"{p.pid} (ppid {p.ppid()}): {' '.join(p.cmdline())[:120]}")
    for p in left:  # clean up after a failure, by pid: only processes of this test
        with contextlib.suppress(psutil.Error):
            p.kill()
    assert not left, f"alive {within} s after the kill: {described}"


def kill9(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def finish(proc: subprocess.Popen) -> None:
    """Make sure nothing of ``proc`` outlives the test (its session, by process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    if proc.stdout:
        proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str, readonly: bool = False) -> Iterator[Path | None]:
    """A tmpfs of ``size`` at ``where`` (root only); yields None where it cannot be mounted."""
    where.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, f"abm-{uuid.uuid4().hex[:6]}", str(where)],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0:
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def remount(where: Path, size: str) -> bool:
    done = subprocess.run(
        ["mount", "-o", f"remount,size={size}", str(where)], capture_output=True, timeout=30
    )
    return done.returncode == 0


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size, readonly=False)``: a context manager yielding a mounted folder or None."""

    def make(size: str, readonly: bool = False):
        return mounted_tmpfs(tmp_path / f"fs-{uuid.uuid4().hex[:6]}", size, readonly)

    return make


SMALL_RUN = ("--scale", "0.003", "--set", "end_year=2025", "--no-progress")
"""A run of a few seconds, most of them Python's start-up."""

EXPERIMENT = """
name = "faults"
root_seed = 99
replications = 2
chunk_size = 2
[base]
scale = 0.003
end_year = 2025
[design]
kind = "lhs"
samples = 12
[parameters]
adoption_multiplier = { bounds = [0.5, 2.0], log = true }
[outputs]
monthly = true
"""
EXPERIMENT_RUNS = 24
EXPERIMENT_CHUNKS = 12


@pytest.fixture
def experiment_file(tmp_path) -> Path:
    path = tmp_path / "faults.toml"
    path.write_text(EXPERIMENT)
    return path


# ----------------------------------------------------------------------------------------------
# Fault injection in the command's own process: a hook on every write event
# ----------------------------------------------------------------------------------------------
INJECT = """
import os as _os, signal as _signal, time as _time
import adoption_abm.outputs.runfolder as _runfolder

_KILL_AT, _DELAY, _LOG, _ENOSPC_FROM = {kill_at!r}, {delay!r}, {log!r}, {enospc_from!r}
_count = [0]


def _event(name, target):
    _count[0] += 1
    n = _count[0]
    if _LOG:
        with open(_LOG, "a") as fh:
            fh.write(f"{{n}} {{name}} {{target}}\\n")
    if _DELAY:
        _time.sleep(_DELAY)
    if n == _KILL_AT:
        _os.kill(_os.getpid(), _signal.SIGKILL)  # kill -9, between two writes
    if _ENOSPC_FROM and n >= _ENOSPC_FROM and name == "fsync":
        raise OSError(28, "No space left on device")


def _hook(module, name):
    real = getattr(module, name)

    def hooked(*args, **kwargs):
        _event(name, args[0] if args else "")
        return real(*args, **kwargs)

    setattr(module, name, hooked)


for _name in ("fsync", "replace", "rename"):
    _hook(_os, _name)
for _name in ("_exchange", "_remove_tree"):
    _hook(_runfolder, _name)
"""
"""Code run before the command (:func:`command`'s ``patch``): every write event (``os.fsync``
of a file or folder, ``os.replace``, ``os.rename``, the run folder's exchange and removal of
the old folder) is counted, logged, optionally delayed, and at event ``kill_at`` the process
sends itself SIGKILL; from event ``enospc_from`` on, fsync fails as a full disk does. Only the
driver is hooked (worker processes start fresh interpreters)."""


def inject(
    kill_at: int = 0, delay: float = 0.0, log: Path | None = None, enospc_from: int = 0
) -> str:
    return INJECT.format(
        kill_at=kill_at, delay=delay, log=str(log) if log else None, enospc_from=enospc_from
    )


def events(log: Path) -> list[str]:
    """The write events a hooked command logged, in order (``"3 replace /path"``)."""
    return log.read_text().splitlines() if log.exists() else []


LEFTOVER_MARKS = (".partial-", ".replaced-", ".unplaced-", ".tmp")


def leftovers(folder: Path) -> list[str]:
    """Temporary files and folders of interrupted writes under ``folder``."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if any(mark in p.name for mark in LEFTOVER_MARKS)
    )


def error_lines(stderr: str) -> list[str]:
    """stderr without progress bars and warnings: what a user reads as the error."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith("warning: ") and "\r" not in line
    ]


# ----------------------------------------------------------------------------------------------
# Reference outputs: what an uninterrupted command writes
# ----------------------------------------------------------------------------------------------
RUN_FILES = sorted(
    [
        "breakdown.parquet",
        "indicators.parquet",
        "scenario.toml",
        "summary.json",
        "timeseries.parquet",
    ]
)
SEEDS = (1, 2)
KILLED = -9  # the return code of a process killed by SIGKILL


def cli(*args: str) -> None:
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[int, Path]:
    """Uninterrupted runs of each seed (in this process: the same results as a command)."""
    root = tmp_path_factory.mktemp("references")
    for seed in SEEDS:
        cli("run", "--seed", str(seed), *SMALL_RUN, "--out", str(root / f"seed{seed}"))
    return {seed: root / f"seed{seed}" for seed in SEEDS}


def run_state(out: Path, references: dict[int, Path]) -> str:
    """``"absent"`` or ``"seed N"``: the folder is one whole run, equal to the reference run of
    its seed file by file (fails otherwise: a partial folder, or files of two runs)."""
    if not out.exists():
        return "absent"
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES, "a partial run folder"
    summary = json.loads((out / "summary.json").read_text())
    ref = references[summary["seed"]]
    expected = json.loads((ref / "summary.json").read_text())
    assert summary["years"] == expected["years"]
    for name in RUN_FILES:
        if name.endswith(".parquet"):
            got, want = pl.read_parquet(out / name), pl.read_parquet(ref / name)
            assert got.equals(want), f"{name} is not seed {summary['seed']}'s: two runs mixed"
    assert (out / "scenario.toml").read_text() == (ref / "scenario.toml").read_text()
    return f"seed {summary['seed']}"


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("experiment") / "faults.toml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture(scope="module")
def batch_reference(batch_file, tmp_path_factory) -> dict[str, pl.DataFrame]:
    from adoption_abm.batch.runner import run_batch

    out = tmp_path_factory.mktemp("batch-reference") / "out"
    report = run_batch(batch_file, out, workers=1)
    assert report.complete
    return batch_frames(out)


def batch_frames(out: Path) -> dict[str, pl.DataFrame]:
    from adoption_abm.batch.store import read_results

    return {"data": read_results(out), "monthly": read_results(out, monthly=True)}
