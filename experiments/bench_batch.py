"""Batch throughput: the same batch on 1 and 2 local worker processes and on a Dask
LocalCluster of 2 workers, measured side by side in one run.

    python experiments/bench_batch.py [--runs 200] [--scale 0.01] [--end-year 2030]
                                       [--repeat 1] [--rev REV] [--policies] [--json]

Reports runs/s for each executor, the speed-up of 2 local workers over 1 (goal >= 1.8 on a
2-core machine), the Dask cluster's throughput relative to 2 local processes, and for each
executor its overhead share: 1 - (seconds spent inside runs) / (wall seconds x workers), i.e.
scheduling, transfer, writing and the idle tail together (worker start-up is timed apart, before
the batch, as ``startup_seconds``). Also checks that the three executors' results are identical.

``--rev REV`` also times the batch on one local worker with the code of git revision ``REV``
(built apart by ``revision.py``, run in its own process), interleaved with the others: the
ratio ``local_1 / rev_local_1`` is today's runs per second per core against that revision's.
``--policies`` makes the batch vary the policy (baseline, 6,7, 13, 19) with common random
numbers instead of the rhythm and mentoring, so each replicate's policies share their months
before the first policy (``batch`` forks them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from adoption_abm import __version__
from adoption_abm.batch import experiment_from_dict, read_results, run_batch
from adoption_abm.batch.executors import DaskCluster, LocalProcesses, available_cpus


def experiment(runs: int, scale: float, end_year: int, policies: bool = False):
    parameters = (
        {"policy": {"values": ["baseline", "6,7", "13", "19"]}}
        if policies
        else {
            "rhythm": {"values": ["slow", "fast"]},
            "mechanisms.mentoring.enabled": {"values": [False, True]},
        }
    )
    return experiment_from_dict(
        {
            "name": "bench",
            "root_seed": 2022,
            "replications": runs // 4,
            "common_random_numbers": policies,
            "base": {"scale": scale, "end_year": end_year},
            "parameters": parameters,
        }
    )


def measure_rev(src: Path, args: argparse.Namespace, root: Path) -> tuple[dict, pl.DataFrame]:
    """The batch on one local worker with an earlier revision's code, in its own process."""
    out = root / f"rev-{time.perf_counter_ns()}"
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        str(out),
        "--runs",
        str(args.runs),
        "--scale",
        str(args.scale),
        "--end-year",
        str(args.end_year),
        *(["--policies"] if args.policies else []),
    ]
    done = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"--rev: the batch failed:\n{done.stderr.decode()[-3000:]}")
    row = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return row, read_results(out)


def warm_up(_: int) -> str:
    """A no-op task that imports what a run needs: the runner, and the model with Mesa (which
    the runner imports lazily, in a worker's first run), so that no executor or revision
    counts that one-off import in its batch's seconds."""
    import adoption_abm.batch.runner
    import adoption_abm.model  # noqa: F401

    return "ready"


def measure(name: str, make, exp, root: Path) -> tuple[dict, pl.DataFrame]:
    out = root / name
    t0 = time.perf_counter()
    ex = make()
    list(ex.map_unordered(warm_up, range(2 * ex.workers)))  # workers up, modules imported
    t_start = time.perf_counter() - t0
    try:
        report = run_batch(exp, out, executor=ex)
    finally:
        ex.close()
    index = pl.read_parquet(out / "runs.parquet")
    busy = float(index["seconds"].sum())
    row = {
        "executor": ex.label,
        "workers": ex.workers,
        "runs": report.computed,
        "chunk_size": report.chunk_size,
        "tasks": -(-report.computed // report.chunk_size),
        "seconds": round(report.seconds, 3),
        "startup_seconds": round(t_start, 3),
        "runs_per_s": round(report.computed / report.seconds, 3),
        "seconds_in_runs": round(busy, 3),
        "overhead_share": round(1 - busy / (report.seconds * ex.workers), 4),
    }
    return row, read_results(out)


def _figures(frame: pl.DataFrame) -> pl.DataFrame:
    """A batch's figures without its bookkeeping (timings, worker, version)."""
    drop = {"seconds", "worker", "version", "finished_at"}
    return frame.select([c for c in frame.columns if c not in drop]).sort("run_id")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--end-year", type=int, default=2030)
    ap.add_argument(
        "--repeat", type=int, default=1, help="measure each executor N times, interleaved"
    )
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--rev", default="", help="also time this git revision on one worker")
    ap.add_argument("--policies", action="store_true", help="vary the policy (see above)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    exp = experiment(args.runs, args.scale, args.end_year, args.policies)
    if args.worker:  # one measure, in this process's code (an earlier revision's)
        out = Path(args.worker)
        row, _ = measure(out.name, lambda: LocalProcesses(1), exp, out.parent)
        print(json.dumps(row))
        return
    makers = {
        "local_1": lambda: LocalProcesses(1),
        "local_2": lambda: LocalProcesses(2),
        "dask_2": lambda: DaskCluster(workers=2),
    }
    rows: dict[str, dict] = {}
    frames: dict[str, pl.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = None
        if args.rev:
            import revision

            old = revision.build(args.rev, Path(tmp) / "src")
        for rep in range(args.repeat):  # interleaved; the fastest of the repeats is kept
            for key, make in makers.items():
                row, frames[key] = measure(f"{key}-{rep}", make, exp, Path(tmp))
                if key not in rows or row["runs_per_s"] > rows[key]["runs_per_s"]:
                    rows[key] = row
            if old is not None:
                row, frames["rev_local_1"] = measure_rev(old, args, Path(tmp))
                if (
                    "rev_local_1" not in rows
                    or row["runs_per_s"] > rows["rev_local_1"]["runs_per_s"]
                ):
                    rows["rev_local_1"] = row
    a, b, c = frames["local_1"], frames["local_2"], frames["dask_2"]
    from adoption_abm.batch.params import resolve

    sc, _ = resolve(exp.base)
    agents = round(args.scale * sum(p.headcount for p in sc.professions.values()))
    result = {
        "batch": {
            "runs": args.runs,
            "scale": args.scale,
            "agents": agents,
            "end_year": args.end_year,
        },
        "executors": rows,
        "speedup_2_local_workers": round(
            rows["local_2"]["runs_per_s"] / rows["local_1"]["runs_per_s"], 3
        ),
        "dask_vs_local_2": round(rows["dask_2"]["runs_per_s"] / rows["local_2"]["runs_per_s"], 3),
        "identical_results": a.equals(b) and a.equals(c),
        "rev": args.rev or None,
        "local_1_vs_rev": (
            round(rows["local_1"]["runs_per_s"] / rows["rev_local_1"]["runs_per_s"], 3)
            if "rev_local_1" in rows
            else None
        ),
        "same_results_as_rev": (
            _figures(frames["rev_local_1"]).equals(_figures(a)) if "rev_local_1" in frames else None
        ),
        "machine": {
            "cpus": available_cpus(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "version": __version__,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.runs} runs, {agents} agents each, to {args.end_year}")
    for key, r in rows.items():
        print(
            f"{key:8s} {r['runs_per_s']:7.2f} runs/s  {r['seconds']:7.1f} s"
            f"  chunk {r['chunk_size']}  overhead {r['overhead_share']:.1%}"
        )
    print(f"speed-up on 2 local workers: {result['speedup_2_local_workers']:.2f}x")
    print(f"Dask LocalCluster / 2 local processes: {result['dask_vs_local_2']:.2f}")
    print(f"identical results: {result['identical_results']}")
    if args.rev:
        print(
            f"local_1 / rev {args.rev} local_1: {result['local_1_vs_rev']:.2f}x "
            f"(same figures: {result['same_results_as_rev']})"
        )


if __name__ == "__main__":
    main()
