"""The compiled kernel on 1 and 2 (or more) OpenMP threads, side by side in one run.

    python experiments/bench_threads.py [--sizes 1e5,1e6] [--threads 1,2]
        [--networks twenty,france] [--cases worst,realistic] [--modes lazy,scan]
        [--rounds 3] [--reps 0] [--json] [--out results/bench_threads.json]

The states are those of ``experiments/bench_step.py`` (``worst``: every family deployed, nobody
using; ``realistic``: the central scenario at months 24, 60, 96 and 132), with the built-in
scenario's mechanisms on. Before timing, every thread count must give the same new states,
skills, training and tallies as one thread, bit for bit.

Timing: **wall-clock** time (``time.perf_counter``; the process CPU time would add the threads
up). ``--rounds`` rounds; each round times every thread count (in an order rotated from one
round to the next), each the best of ``--reps`` one-month steps from the same state. Reported:
million agent-updates per second (best over the rounds, summed over the realistic states), the
speed-up of each thread count over one thread (best rates, and the median of the ratios within
a round: robust to a machine whose load drifts), and the rate at the largest size over the rate
at the smallest (``size_ratio``: the locality loss). Other processes on the machine take cores
from the threads: the load averages at the start and end are in the JSON; compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_step import NETWORKS, states  # noqa: E402

from adoption_abm.batch.executors import available_cpus  # noqa: E402
from adoption_abm.engines import _kernels, registry  # noqa: E402


def step_for(threads: int, lazy: bool):
    def step(*args):
        return registry.cython_step(*args, lazy=lazy, threads=threads)

    return step


def one_step(step, model, par, saved):
    """New states, skill, training and tallies of one step from the saved state."""
    model.pop.skill[...], model.pop.trained[...] = saved
    new_state = np.empty_like(model.pop.state)
    tally = step(model.pop, model.est, model.network, par, np.uint64(7), new_state)
    return [new_state, model.pop.skill.copy(), model.pop.trained.copy(), *tally]


def best_wall(step, model, par, reps: int, saved) -> float:
    new_state = np.empty_like(model.pop.state)
    best = np.inf
    for r in range(reps):
        model.pop.skill[...], model.pop.trained[...] = saved
        t = time.perf_counter()
        step(model.pop, model.est, model.network, par, np.uint64(1000 + r), new_state)
        best = min(best, time.perf_counter() - t)
    return best


def measure(size: int, network: str, case: str, modes, counts, rounds: int, reps: int):
    """Rows of one (size, network, case): per mode and thread count, the rate and ratios."""
    seconds = {(m, k): np.zeros(rounds) for m in modes for k in counts}
    n = checkpoints = 0
    degree = 0.0
    for model in states(size, network, case):
        n, degree = model.pop.n, float(model.network.degree().mean())
        checkpoints += 1
        par = model.month_params(model.month + 1)
        saved = (model.pop.skill.copy(), model.pop.trained.copy())
        for mode in modes:
            steps = {k: step_for(k, mode == "lazy") for k in counts}
            first = one_step(steps[counts[0]], model, par, saved)
            for k in counts[1:]:
                for a, b in zip(first, one_step(steps[k], model, par, saved), strict=True):
                    if not np.array_equal(a, b):
                        raise SystemExit(f"{k} threads differ from {counts[0]} ({size}, {case})")
            for r in range(rounds):
                order = counts[r % len(counts) :] + counts[: r % len(counts)]
                for k in order:
                    seconds[mode, k][r] += best_wall(steps[k], model, par, reps, saved)
        model.pop.skill[...], model.pop.trained[...] = saved
    rows = []
    for mode in modes:
        one = seconds[mode, counts[0]]
        for k in counts:
            s = seconds[mode, k]
            rows.append(
                {
                    "size": size, "agents": n, "network": network,
                    "mean_ties": round(degree, 2), "case": case, "mode": mode, "threads": k,
                    "states": checkpoints, "rounds": rounds, "reps": reps,
                    "per_s": n * checkpoints / s.min(),
                    "speedup": one.min() / s.min(),
                    "speedup_median_round": float(np.median(one / s)),
                    "speedup_range": [float((one / s).min()), float((one / s).max())],
                }
            )  # fmt: skip
    return rows


def size_ratios(rows: list[dict]) -> list[dict]:
    """Rate at the largest size over the rate at the smallest, per network, case, mode and
    thread count."""
    out = []
    keys = {(r["network"], r["case"], r["mode"], r["threads"]) for r in rows}
    for key in sorted(keys):
        same = sorted(
            (r for r in rows if (r["network"], r["case"], r["mode"], r["threads"]) == key),
            key=lambda r: r["size"],
        )
        if len(same) > 1:
            small, big = same[0], same[-1]
            out.append(
                dict(zip(("network", "case", "mode", "threads"), key, strict=True))
                | {
                    "sizes": [small["size"], big["size"]],
                    "ratio": big["per_s"] / small["per_s"],
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1e5,1e6", help="agent counts (comma-separated)")
    ap.add_argument("--threads", default="1,2", help="thread counts, the first is the base")
    ap.add_argument("--networks", default="twenty,france", help=f"of {list(NETWORKS)}")
    ap.add_argument("--cases", default="worst,realistic", help="worst, realistic")
    ap.add_argument("--modes", default="lazy,scan", help="lazy, scan")
    ap.add_argument("--rounds", type=int, default=3, help="rotations of the thread counts")
    ap.add_argument("--reps", type=int, default=0, help="steps per timing (0: by size)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--out", type=Path, help="also write the JSON to this file")
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    started = time.perf_counter()
    load = os.getloadavg()
    rows = []
    for size in [int(float(s)) for s in args.sizes.split(",") if s]:
        reps = args.reps or (9 if size <= 2e5 else 3)
        for net in args.networks.split(","):
            for case in args.cases.split(","):
                modes = args.modes.split(",")
                rows += measure(size, net, case, modes, counts, args.rounds, reps)
                print(f"  {size:>9,} {net:<7} {case:<9} done", file=sys.stderr)
    result = {
        "benchmark": "bench_threads",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "openmp": bool(getattr(_kernels, "OPENMP", False)),
        "machine": {
            "cores": os.cpu_count(),
            "available_cpus": available_cpus(),
            "load_average_at_start": load,
            "load_average_at_end": os.getloadavg(),
        },
        "rows": rows,
        "size_ratios": size_ratios(rows),
        "seconds": time.perf_counter() - started,
    }
    if args.out:
        from adoption_abm.outputs.atomic import write_json_atomic

        write_json_atomic(args.out, result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


def print_table(result: dict) -> None:
    m = result["machine"]
    print(
        f"OpenMP: {result['openmp']}; load average {m['load_average_at_start'][0]:.2f} at the "
        f"start, {m['load_average_at_end'][0]:.2f} at the end"
    )
    print(f"{'agents':>9} {'net':<7} {'case':<9} {'mode':<5} {'thr':>3} {'M/s':>6} "
          f"{'x 1 thr':>8} {'median':>7}  range")  # fmt: skip
    for r in result["rows"]:
        lo, hi = r["speedup_range"]
        print(
            f"{r['agents']:>9,} {r['network']:<7} {r['case']:<9} {r['mode']:<5} "
            f"{r['threads']:>3} {r['per_s'] / 1e6:>6.1f} {r['speedup']:>8.2f} "
            f"{r['speedup_median_round']:>7.2f}  {lo:.2f}-{hi:.2f}"
        )
    for s in result["size_ratios"]:
        print(
            f"rate {s['sizes'][1]:.0e} / {s['sizes'][0]:.0e}: {s['network']:<7} {s['case']:<9} "
            f"{s['mode']:<5} {s['threads']} thread(s): {s['ratio']:.2f}"
        )


if __name__ == "__main__":
    main()
