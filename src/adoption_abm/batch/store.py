"""The output folder of a batch: a Parquet dataset, the ``runs.parquet`` index, provenance.

Layout::

    OUT/
      experiment.toml          the experiment file as given
      provenance.json          experiment digest, versions (package, Python, Mesa...), sessions
      runs.parquet             index: run_id, point, replicate, seed, parameters, status,
                               seconds, worker, version, finished_at, error
      data/part-A-B.parquet    one row per finished run of the chunk whose run ids span A..B:
                               run_id, the outputs of adoption_abm.run, seconds, worker, version
      monthly/part-A-B.parquet month-level indicators of those runs (if the experiment asks)
      errors/part-A-B.parquet  runs that raised: run_id, error (they are retried on resume)

Every file is written atomically (temporary file + rename). A ``data`` file is written last for
its chunk, so its presence means those runs are finished; on start, files without it are
removed, and finished runs are skipped. Only the driver writes, under an exclusive lock on
``OUT/.lock``, so a run can never be written twice.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from ..outputs.atomic import (
    OutPathError,
    reason,
    remove_temporaries,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from .experiment import Experiment, ExperimentError

TIMING_COLUMNS = ("seconds", "worker", "version", "finished_at")
VERSIONED = (
    "adoption-abm",
    "mesa",
    "numpy",
    "polars",
    "pydantic",
    "SALib",
    "scipy",
    "dask",
    "distributed",
    "Cython",
)


def versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that shape results or files."""
    out: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def part_name(first: int, last: int) -> str:
    return f"part-{first:08d}-{last:08d}.parquet"


class BatchLocked(RuntimeError):
    """Another driver is writing to the same output folder."""


class Store:
    """Reads and writes one batch's output folder."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.data = self.out / "data"
        self.monthly = self.out / "monthly"
        self.errors = self.out / "errors"
        self._lock_fh: Any = None

    # locking ---------------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the folder's exclusive lock (released when this process ends, even by kill -9),
        then remove the temporary files that writes interrupted by a kill left at its top level
        (``data/``, ``monthly/`` and ``errors/`` are cleaned by :meth:`clean`). Raises
        OutPathError if the folder cannot be created or written, BatchLocked if another
        process holds it."""
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            fh = open(self.out / ".lock", "a+")
        except OSError as exc:
            if exc.errno in (errno.ENOTDIR, errno.EEXIST) and os.path.isfile(self.out):
                raise OutPathError(self.out, "exists and is a file, not a folder") from None
            raise OutPathError(self.out, f"cannot write there: {reason(exc)}") from None
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            pass
        except OSError:
            fh.close()
            raise BatchLocked(f"{self.out}: another batch is writing to this folder") from None
        self._lock_fh = fh
        remove_temporaries(self.out)

    def unlock(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    # provenance ------------------------------------------------------------------------------
    def provenance(self) -> dict[str, Any] | None:
        path = self.out / "provenance.json"
        return json.loads(path.read_text()) if path.exists() else None

    def start(
        self, exp: Experiment, text: str | None, scenario_digest: str, n_runs: int, session: dict
    ) -> dict:
        """Check that OUT holds nothing or the same experiment; record a new session."""
        prov = self.provenance()
        current = versions()
        if prov is None:
            if any(self.data.glob("*.parquet")):
                raise ExperimentError(
                    self.out, [("", "holds results but no provenance.json; use another --out")]
                )
            prov = {
                "experiment": {
                    "name": exp.name,
                    "digest": exp.digest(),
                    "content": exp.model_dump(mode="json"),
                },
                "scenario_digest": scenario_digest,
                "root_seed": exp.root_seed,
                "runs": n_runs,
                "design": exp.design.kind,
                "versions": current,
                "created": now(),
                "sessions": [],
            }
            if text is not None:
                write_text_atomic(self.out / "experiment.toml", text)
        else:
            problems = []
            if prov["experiment"]["digest"] != exp.digest():
                problems.append(
                    ("experiment", "differs from the one this folder holds results for")
                )
            if prov["scenario_digest"] != scenario_digest:
                problems.append(
                    ("scenario", "the scenario file changed since this folder's batch started")
                )
            if prov["versions"].get("adoption-abm") != current["adoption-abm"]:
                problems.append(
                    (
                        "version",
                        "results were made by adoption-abm "
                        f"{prov['versions'].get('adoption-abm')}, "
                        f"this is {current['adoption-abm']}",
                    )
                )
            if problems:
                raise ExperimentError(
                    self.out, [(f, f"{m}: cannot resume; use another --out") for f, m in problems]
                )
        prov["sessions"].append({**session, "started": now(), "versions": current})
        write_json_atomic(self.out / "provenance.json", prov)
        return prov

    BATCH_ENTRIES = frozenset(
        {".lock", "data", "monthly", "errors", "experiment.toml", "runs.parquet", "provenance.json"}
    )
    """What a batch folder holds (a batch killed before its provenance.json may hold some)."""

    def check_not_foreign(self) -> None:
        """Refuse (OutPathError) an existing folder without ``provenance.json`` that holds
        files a batch does not write (a run folder, the user's own files): a batch never
        writes its files among them. Temporary files are not counted."""
        try:
            if not self.out.is_dir() or (self.out / "provenance.json").exists():
                return
            names = sorted(
                e.name
                for e in os.scandir(self.out)
                if e.name not in self.BATCH_ENTRIES and not e.name.endswith(".tmp")
            )
        except OSError:
            return  # reported by the lock, which names the reason
        if names:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise OutPathError(
                self.out,
                f"holds files that are not a batch's ({shown}): not a batch folder; "
                "choose another --out",
            )

    def finish_session(self, prov: dict, **fields: Any) -> None:
        prov["sessions"][-1].update(fields, finished=now())
        write_json_atomic(self.out / "provenance.json", prov)

    # results ---------------------------------------------------------------------------------
    def clean(self) -> None:
        """Remove temporary files of an interrupted write and chunk files whose data file is
        missing (the chunk did not finish)."""
        for folder in (self.out, self.data, self.monthly, self.errors):
            remove_temporaries(folder)
        done = {p.name for p in self.data.glob("part-*.parquet")}
        for orphan in self.monthly.glob("part-*.parquet"):
            if orphan.name not in done:
                orphan.unlink(missing_ok=True)

    def data_files(self) -> list[Path]:
        return sorted(self.data.glob("part-*.parquet"))

    def finished(self) -> pl.DataFrame:
        """run_id and timing of every finished run (raises if a run appears twice)."""
        files = self.data_files()
        cols = ["run_id", *TIMING_COLUMNS]
        if not files:
            return pl.DataFrame(
                schema={
                    "run_id": pl.Int64,
                    "seconds": pl.Float64,
                    "worker": pl.String,
                    "version": pl.String,
                    "finished_at": pl.String,
                }
            )
        frame = pl.concat([pl.read_parquet(f, columns=cols) for f in files])
        dup = frame.filter(pl.col("run_id").is_duplicated())["run_id"].unique().to_list()
        if dup:
            raise RuntimeError(f"{self.data}: runs {dup[:10]} appear more than once")
        return frame

    def failures(self) -> pl.DataFrame:
        files = sorted(self.errors.glob("part-*.parquet"))
        if not files:
            return pl.DataFrame(schema={"run_id": pl.Int64, "error": pl.String})
        frame = pl.concat([pl.read_parquet(f, columns=["run_id", "error"]) for f in files])
        return frame.unique("run_id", keep="last", maintain_order=True)

    def write_chunk(
        self, name: str, rows: list[dict], errors: list[dict], monthly: pl.DataFrame | None
    ) -> None:
        """Write one finished chunk: monthly rows, then the data file (the completion mark),
        then its failures."""
        if rows:
            if monthly is not None and monthly.height:
                write_parquet_atomic(self.monthly / name, monthly)
            write_parquet_atomic(self.data / name, pl.DataFrame(rows).sort("run_id"))
        if errors:
            write_parquet_atomic(
                self.errors / name,
                pl.DataFrame(
                    errors,
                    schema={
                        "run_id": pl.Int64,
                        "error": pl.String,
                        "worker": pl.String,
                        "version": pl.String,
                    },
                ),
            )

    def write_index(
        self, runs: pl.DataFrame, finished: pl.DataFrame, failures: pl.DataFrame
    ) -> pl.DataFrame:
        """Write ``runs.parquet``: the run table with each run's status and timing."""
        index = runs.join(finished, on="run_id", how="left").join(failures, on="run_id", how="left")
        status = (
            pl.when(pl.col("finished_at").is_not_null())
            .then(pl.lit("done"))
            .when(pl.col("error").is_not_null())
            .then(pl.lit("failed"))
            .otherwise(pl.lit("pending"))
        )
        index = index.with_columns(status.alias("status")).with_columns(
            pl.when(pl.col("status") == "done").then(None).otherwise(pl.col("error")).alias("error")
        )
        write_parquet_atomic(self.out / "runs.parquet", index)
        return index


def read_results(out: str | Path, monthly: bool = False) -> pl.DataFrame:
    """A finished (or partial) batch's results: one row per finished run with its parameters
    and outputs, sorted by run id. With ``monthly``, the month-level indicators instead."""
    out = Path(out)
    store = Store(out)
    folder = store.monthly if monthly else store.data
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        raise FileNotFoundError(f"{folder}: no results")
    frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    if not monthly:
        frame = frame.drop([c for c in TIMING_COLUMNS if c in frame.columns])
    index = pl.read_parquet(out / "runs.parquet")
    keep = [c for c in index.columns if c not in (*TIMING_COLUMNS, "status", "error")]
    sort = ["run_id", "month"] if monthly else ["run_id"]
    return index.select(keep).join(frame, on="run_id", how="inner").sort(sort)


def worker_label() -> str:
    return f"{platform.node()}:{os.getpid()}"
