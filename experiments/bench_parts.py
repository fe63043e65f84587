"""Where a batch run's time goes, part by part, and what bounds the runs per core.

    python experiments/bench_parts.py [--runs 30] [--scale 0.01] [--end-year 2030]
                                      [--rev 19fa8b9] [--pairs 3] [--json]

Times ``--runs`` batch runs (``batch.params.build_model`` + ``run`` + ``flat_outputs``, the
``agents="none"`` path a batch worker takes) in this process, after two warm-up runs, with a
``perf_counter`` timer around each part: the build, the professionals' step (the compiled
kernel), each of the engine's month functions (``engines.months.MonthWork``), the rules the
model calls directly (training supply, attitude feedback, the month's key, ...), the record of
the tallies, the DataCollector, and the outputs. What no timer covers is reported as ``rest``.

``--rev REV`` also times the same runs with the code of git revision ``REV`` (built apart by
``revision.py``), without timers, each side in a fresh process, in ``--pairs`` pairs (the order
alternating from one pair to the next), and reports two ratios:

* ``speedup``: the revision's milliseconds a run over today's, the median of the pairs' ratios
  (robust to a machine whose speed drifts; ``speedup_range`` gives the lowest and highest);
* ``bound_kernel_only``: the revision's run against today's kernel alone, the speed-up a run
  would have if everything but the kernel cost nothing. A goal above it needs a faster kernel.

The shares and ratios carry from one machine to another; the milliseconds do not.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

PLAIN = """
import sys, time
from adoption_abm.batch.params import build_model, flat_outputs
params = {{"scale": {scale}, "end_year": {end_year}}}
for seed in (9001, 9002):
    m = build_model(params, seed); m.run(); flat_outputs(m)
out = []
for seed in range({runs}):
    t0 = time.perf_counter()
    m = build_model(params, seed); m.run(); flat_outputs(m)
    out.append(time.perf_counter() - t0)
print(sum(out) / len(out))
"""

MODEL_RULES = (
    "training_supply",
    "supplied_probability",
    "attitude_feedback",
    "release",
    "releases_in",
    "month_key",
)
"""Rules ``adoption_abm.model.model`` calls itself in a month (timed by patching its names)."""


class Timers:
    """Seconds by part, added up by :meth:`wrap`'s wrappers."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn):
        seconds = self.seconds

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - t0

        return timed


def timed_runs(runs: int, scale: float, end_year: int) -> dict[str, float]:
    """Milliseconds a run by part, averaged over ``runs`` runs (two warm-up runs first)."""
    import adoption_abm.model.model as model_module
    from adoption_abm.batch.params import build_model, flat_outputs

    params = {"scale": scale, "end_year": end_year}
    timers = Timers()
    for name in MODEL_RULES:
        setattr(model_module, name, timers.wrap(name, getattr(model_module, name)))

    def one(seed: int) -> None:
        t0 = time.perf_counter()
        m = build_model(params, seed)
        t1 = time.perf_counter()
        m._step_professionals = timers.wrap("kernel", m._step_professionals)
        work = {
            f.name: timers.wrap(f.name, getattr(m._work, f.name))
            for f in dataclasses.fields(m._work)
            if getattr(m._work, f.name) is not None
        }
        m._work = dataclasses.replace(m._work, **work)
        for name in ("month_params", "_record"):
            setattr(m, name, timers.wrap(name, getattr(m, name)))
        m.activity.record = timers.wrap("activity", m.activity.record)
        m.datacollector.collect = timers.wrap("datacollector", m.datacollector.collect)
        m.run()
        t2 = time.perf_counter()
        flat_outputs(m)
        t3 = time.perf_counter()
        timers.seconds["build"] += t1 - t0
        timers.seconds["months"] += t2 - t1
        timers.seconds["outputs"] += t3 - t2
        timers.seconds["run"] += t3 - t0

    for seed in (9001, 9002):
        one(seed)
    timers.seconds.clear()
    for seed in range(runs):
        one(seed)
    ms = {k: 1000.0 * v / runs for k, v in timers.seconds.items()}
    # parts timed inside others: each counted once, in the inner part
    # (the record of the tallies calls the mentoring load and the deployment recorder; the
    # training supply calls the training demand)
    inside_record = ms.get("mentoring_load", 0.0) + ms.get("deployment_recorder", 0.0)
    ms["_record"] = ms.get("_record", 0.0) - inside_record
    ms["training_supply"] = ms.get("training_supply", 0.0) - ms.get("training_demand", 0.0)
    timed = sum(v for k, v in ms.items() if k not in {"build", "months", "outputs", "run"})
    ms["rest"] = ms["months"] - timed
    return ms


def plain_run_ms(runs: int, scale: float, end_year: int, src: Path | None) -> float:
    """Milliseconds a run without timers, in a fresh process (``src``: a revision's code)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    code = PLAIN.format(runs=runs, scale=scale, end_year=end_year)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the plain runs failed:\n{done.stderr[-3000:]}")
    return 1000.0 * float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--end-year", type=int, default=2030)
    ap.add_argument("--rev", default="", help="also time this git revision's runs")
    ap.add_argument("--pairs", type=int, default=3, help="with --rev: today/revision pairs")
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs: at least 1")
    if args.pairs < 1:
        ap.error("--pairs: at least 1")

    ms = timed_runs(args.runs, args.scale, args.end_year)
    result: dict = {
        "runs": args.runs,
        "scale": args.scale,
        "end_year": args.end_year,
        "ms_per_run": {k: round(v, 2) for k, v in sorted(ms.items(), key=lambda kv: -kv[1])},
        "kernel_share": round(ms["kernel"] / ms["run"], 3),
    }
    if args.rev:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import revision

        with tempfile.TemporaryDirectory() as tmp:
            old = revision.build(args.rev, Path(tmp) / "rev")
            # in pairs, the order alternating: the ratio of each pair, then their median
            today, then = [], []
            for k in range(args.pairs):
                for src in (None, old) if k % 2 == 0 else (old, None):
                    ms_run = plain_run_ms(args.runs, args.scale, args.end_year, src)
                    (today if src is None else then).append(ms_run)
        ratios = [b / a for a, b in zip(today, then, strict=True)]
        now, before = statistics.median(today), statistics.median(then)
        result.update(
            {
                "rev": args.rev,
                "plain_ms_per_run": {"today": round(now, 2), "rev": round(before, 2)},
                "speedup": round(statistics.median(ratios), 3),
                "speedup_range": [round(min(ratios), 3), round(max(ratios), 3)],
                "bound_kernel_only": round(before / ms["kernel"], 3),
            }
        )
    result["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    run = ms["run"]
    print(f"{args.runs} runs, scale {args.scale}, to {args.end_year}: ms a run (share)")
    for name, value in result["ms_per_run"].items():
        if name in {"run", "months"}:
            continue
        print(f"  {name:22s} {value:8.2f}  ({value / run:6.1%})")
    print(f"  {'run':22s} {run:8.2f}")
    if args.rev:
        p = result["plain_ms_per_run"]
        print(f"without timers: {p['today']:.1f} ms a run against {p['rev']:.1f} for {args.rev}")
        lo, hi = result["speedup_range"]
        print(
            f"speed-up {result['speedup']:.2f}x (median of {args.pairs} pairs, {lo:.2f}-{hi:.2f});"
            f" if all but the kernel were free, at most {result['bound_kernel_only']:.2f}x"
        )


if __name__ == "__main__":
    main()
