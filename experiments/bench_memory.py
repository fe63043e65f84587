"""Many runs in one process: memory and time per run, today's code against an earlier revision.

    python experiments/bench_memory.py [--runs 40] [--scale 0.01] [--months 108]
        [--agents auto] [--rev cba6adb] [--json out.json]

A script, a notebook or a batch worker makes many models in one process. Each of ``--runs``
models (seeds 1, 2, ...) is built through the API (``AdoptionModel(scale=S, seed=k,
agents=A).run(months=M)``) and dropped; after each, the process's resident memory and the
objects Python's garbage collector tracks are read, and the run is timed. ``--agents auto``
(the API's default: a Mesa agent per row up to 50,000 rows) is where Mesa 3.3 kept every model
alive (``Agent._ids``, mesa#3179); ``none`` is what the batch, CLI and comparisons use.

Both revisions run in their own fresh process, one after the other, on the same machine (the
earlier one built apart by ``revision.py``). Reported for each: resident memory after the first
run and after the last, the growth per run between them, tracked objects after the last run,
and the median seconds of the first and the last ten runs. Compare the growth and the ratios,
not the seconds: those depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

WORKER = """
import gc, json, sys, time
import psutil
from adoption_abm.model.model import AdoptionModel
runs, scale, months, agents = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
agents = int(agents) if agents.isdigit() else agents
proc = psutil.Process()
rss, objects, seconds = [], [], []
for k in range(runs):
    t0 = time.perf_counter()
    AdoptionModel(scale=scale, seed=k + 1, agents=agents).run(months=months)
    seconds.append(time.perf_counter() - t0)
    rss.append(proc.memory_info().rss / 2**20)
    objects.append(len(gc.get_objects()))
print(json.dumps({"rss_mb": rss, "objects": objects, "seconds": seconds}))
"""


def measure(src: Path | None, args: argparse.Namespace) -> dict:
    """One revision's runs in a fresh process (``src`` on ``PYTHONPATH``, or this tree)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-c", WORKER, str(args.runs), str(args.scale), str(args.months)]
    done = subprocess.run([*cmd, str(args.agents)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the runs failed:\n{done.stderr[-3000:]}")
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    rss, sec = raw["rss_mb"], raw["seconds"]
    ten = min(10, len(sec))
    return {
        "rss_first_mb": round(rss[0], 1),
        "rss_last_mb": round(rss[-1], 1),
        "rss_growth_mb_per_run": round((rss[-1] - rss[0]) / max(len(rss) - 1, 1), 2),
        "objects_last": raw["objects"][-1],
        "seconds_first_ten": round(statistics.median(sec[:ten]), 4),
        "seconds_last_ten": round(statistics.median(sec[-ten:]), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--scale", type=float, default=0.01)
    ap.add_argument("--months", type=int, default=108, help="to 2030 from 2022")
    ap.add_argument("--agents", default="auto", help="auto, all, none or a count")
    ap.add_argument("--rev", default="cba6adb", help="the earlier revision ('' for none)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.runs < 2:
        ap.error("--runs: at least 2")
    result: dict = {
        "runs": args.runs,
        "scale": args.scale,
        "months": args.months,
        "agents": args.agents,
        "load_average": [round(os.getloadavg()[0], 2)],
        "new": measure(None, args),
    }
    if args.rev:
        from revision import build

        with tempfile.TemporaryDirectory() as tmp:
            result[args.rev] = measure(build(args.rev, Path(tmp)), args)
        old, new = result[args.rev], result["new"]
        result["last_ten_old_over_new"] = round(
            old["seconds_last_ten"] / new["seconds_last_ten"], 2
        )
    result["load_average"].append(round(os.getloadavg()[0], 2))
    result["machine"] = {"python": sys.version.split()[0], "platform": platform.platform()}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
