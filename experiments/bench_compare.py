"""A small policy comparison timed end to end, side by side: with fork-at-start, without it, and
with an earlier revision's code; and the 33,000-run design projected from it.

    python experiments/bench_compare.py [--policies 6,7 13 19] [--replications 10]
        [--scale 0.01] [--end-year 2030] [--rounds 3] [--rev 19fa8b9] [--json]
        [--out results/bench_compare.json]

Modes, each timed in a fresh process (imports and a warm-up comparison excluded), in an order
that rotates from one round to the next; the best wall time of the rounds is kept:

* ``fork``: ``compare(...)`` as it runs by default, in one process (one core): the months before
  the first policy are simulated once per seed and every policy continues from a copy;
* ``scratch``: the same with ``fork=False``: every run from scratch, one after the other;
* ``fork_2``: ``fork`` on two local worker processes (its ratio to ``fork`` is the parallel
  efficiency used in the projection);
* ``rev``: the same comparison with the code of git revision ``--rev`` (default ``19fa8b9``,
  main before the throughput work of issue 13), built apart (``revision.py``).

The comparison is baseline + the given policies x ``--replications`` seeds. Checked: ``fork``
and ``scratch`` give identical frames. Reported: runs per second per core of each mode and the
ratios fork/scratch and fork/rev.

The projection: the parts of a run are timed apart in the ``parts`` mode (a prefix: building the
model and simulating the months before the first policy; a continuation: fork, the remaining
months and the run's metrics; a run from scratch with its metrics), and the design of baseline +
20 proposals + all twenty, x 30 replications x 50 assumption draws (31,530 runs) is projected on
2 cores (local processes, at the measured efficiency) and on a 64-core Dask cluster (assumed:
the per-core rate measured here and the same efficiency; the driver's statistics excluded).
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MODES = ("fork", "scratch", "fork_2", "rev")


# ---------------------------------------------------------------------------------------------
# In a worker process
# ---------------------------------------------------------------------------------------------
def worker(mode: str, design: dict) -> dict:
    """Time one comparison of ``design`` in this process (after a small warm-up)."""
    from adoption_abm.analysis.compare import compare
    from adoption_abm.scenario.load import load_scenario, with_overrides

    sc = with_overrides(load_scenario("france-2022"), {"end_year": design["end_year"]})
    kwargs = {"seed": design["seed"], "scale": design["scale"]}
    if mode in ("fork", "scratch", "fork_2"):
        kwargs["fork"] = mode != "scratch"
    workers = 2 if mode == "fork_2" else 1
    compare(sc, design["policies"][:1], replications=1, workers=1, **kwargs)  # warm-up
    try:
        from adoption_abm.model.prefix import PREFIXES  # not in older revisions

        PREFIXES.clear()
    except ImportError:
        pass
    t0 = time.perf_counter()
    result = compare(
        sc, design["policies"], replications=design["replications"], workers=workers, **kwargs
    )
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "runs": result.runs.select("policy", "replication").n_unique()}
    if design.get("frames"):
        folder = Path(design["frames"])
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in result.frames().items():
            frame.write_parquet(folder / f"{name}.parquet")
    return out


def parts(design: dict) -> dict:
    """Seconds of a prefix, of a continuation and of a run from scratch (means over the
    design's policies and seeds, one core)."""
    from adoption_abm.analysis.compare import resolve_policies
    from adoption_abm.analysis.runs import RunSpec, run_one, shared_months
    from adoption_abm.batch.seeds import replication_seeds
    from adoption_abm.model.prefix import PrefixCache
    from adoption_abm.scenario.load import load_scenario, with_overrides

    sc = with_overrides(load_scenario("france-2022"), {"end_year": design["end_year"]})
    resolved = resolve_policies(sc, design["policies"])
    seeds = replication_seeds(design["seed"], max(2, design["replications"] // 2))
    years = (design["end_year"],)
    t_pre, t_cont, t_scratch, n = 0.0, 0.0, 0.0, 0
    months = 0
    for seed in seeds:
        specs = [
            RunSpec(sc, p, 0, seed, tuple(ivs), "central", design["scale"], "cython", years)
            for p, (_, ivs) in enumerate(resolved)
        ]
        months = shared_months(specs)
        t0 = time.perf_counter()
        start = PrefixCache(1).get(sc, seed, months, scale=design["scale"])
        t_pre += time.perf_counter() - t0
        for spec in specs:
            t0 = time.perf_counter()
            run_one(spec, start)
            t_cont += time.perf_counter() - t0
            t0 = time.perf_counter()
            run_one(spec)
            t_scratch += time.perf_counter() - t0
            n += 1
    return {
        "prefix_seconds": t_pre / len(seeds),
        "continuation_seconds": t_cont / n,
        "scratch_seconds": t_scratch / n,
        "shared_months": months,
        "months": sc.n_months,
    }


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------
def spawn(mode: str, design: dict, pythonpath: Path | None) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    args = [sys.executable, __file__, "--worker", mode, "--design", json.dumps(design)]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"mode {mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def project(p: dict, efficiency: float) -> dict:
    """Wall time of the 33,000-run design (31,530 runs) on 2 and on 64 cores."""
    seeds, draws, policies = 30, 50, 21
    runs = seeds * (1 + policies * draws)
    out = {"runs": runs}
    for cores in (2, 64):
        parts_per_seed = max(1, -(-4 * cores // seeds))  # analysis.runs.group_specs
        fork = seeds * parts_per_seed * p["prefix_seconds"] + runs * p["continuation_seconds"]
        scratch = runs * p["scratch_seconds"]
        out[f"cores_{cores}"] = {
            "fork_hours": round(fork / (cores * efficiency) / 3600, 3),
            "scratch_hours": round(scratch / (cores * efficiency) / 3600, 3),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policies", nargs="+", default=["6,7", "13", "19"])
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--end-year", type=int, default=2030)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rev", default="19fa8b9", help="earlier revision to time ('' = none)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--design", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        design = json.loads(args.design)
        print(json.dumps(parts(design) if args.worker == "parts" else worker(args.worker, design)))
        return

    design = {
        "policies": ["baseline", *args.policies],
        "replications": args.replications,
        "scale": args.scale,
        "end_year": args.end_year,
        "seed": args.seed,
    }
    modes = [m for m in MODES if m != "rev" or args.rev]
    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        old = None
        if args.rev:
            import revision

            old = revision.build(args.rev, Path(tmp) / "rev")
        best: dict[str, dict] = {}
        load = [os.getloadavg()[0]]
        for r in range(args.rounds):
            order = modes[r % len(modes) :] + modes[: r % len(modes)]
            for mode in order:
                d = dict(design)
                if r == 0 and mode in ("fork", "scratch"):
                    d["frames"] = str(Path(tmp) / mode)
                got = spawn(mode, d, old if mode == "rev" else None)
                if mode not in best or got["seconds"] < best[mode]["seconds"]:
                    best[mode] = got
            load.append(os.getloadavg()[0])
        identical = all(
            pl.read_parquet(f).equals(pl.read_parquet(Path(tmp) / "scratch" / f.name))
            for f in sorted((Path(tmp) / "fork").glob("*.parquet"))
        )
        p = spawn("parts", design, None)
    runs = best["fork"]["runs"]
    rate = {m: round(runs / b["seconds"], 3) for m, b in best.items()}
    efficiency = (best["fork"]["seconds"] / best["fork_2"]["seconds"]) / 2
    result = {
        "design": design,
        "runs": runs,
        "seconds": {m: round(b["seconds"], 3) for m, b in best.items()},
        "runs_per_s_per_core": {m: (v / 2 if m == "fork_2" else v) for m, v in rate.items()},
        "fork_vs_scratch": round(best["scratch"]["seconds"] / best["fork"]["seconds"], 3),
        "fork_vs_rev": (
            round(best["rev"]["seconds"] / best["fork"]["seconds"], 3) if "rev" in best else None
        ),
        "rev": args.rev or None,
        "parallel_efficiency_2_workers": round(efficiency, 3),
        "identical_results": identical,
        "parts": {k: round(v, 4) if isinstance(v, float) else v for k, v in p.items()},
        "projection_33000": project(p, efficiency),
        "load_average": [round(x, 2) for x in load],
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{runs} runs: {', '.join(design['policies'])} x {args.replications} seeds")
    for m in best:
        per_core = result["runs_per_s_per_core"][m]
        print(f"  {m:8s} {result['seconds'][m]:7.2f} s  {per_core:6.2f} runs/s/core")
    print(f"fork / scratch: {result['fork_vs_scratch']:.2f}x   fork / rev: {result['fork_vs_rev']}")
    print(f"parallel efficiency on 2 workers: {efficiency:.2f}; identical: {identical}")
    print(f"parts: {result['parts']}")
    print(f"projected 31,530-run design: {result['projection_33000']}")


if __name__ == "__main__":
    main()
