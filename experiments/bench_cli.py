"""How long ``adoption-abm --help`` takes, start to exit (target: under 0.5 s).

Each command is started N times as a fresh process (``python -m adoption_abm ...``), in turn
with the yardstick ``python -c pass`` (the interpreter's own start-up), and timed from outside
with ``time.perf_counter``. Prints, per command, the median wall time (min and max beside it)
and the median of the paired ratios to ``python -c pass``: the ratio hardly depends on the
machine, the seconds do.

To compare with another version of the package, extract its ``src`` and point ``--src`` at it,
e.g. ``git archive fbf2035 src | tar -x -C /tmp/old`` then ``--src /tmp/old/src`` (its modules
then come first on ``sys.path``; the compiled kernel is not needed for ``--help``).

Usage: ``python experiments/bench_cli.py [-n 20] [--src DIR] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["run", "--help"], ["compare", "--help"])


def wall(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds from start to exit of one run of ``cmd`` (output discarded; must exit 0)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def bench(args: list[str], runs: int, env: dict[str, str]) -> dict:
    cmd = [sys.executable, "-m", "adoption_abm", *args]
    base = [sys.executable, "-c", "pass"]
    wall(cmd, env), wall(base, env)  # warm-up: file cache, .pyc
    times, bases = [], []
    for _ in range(runs):  # in turn, so that a drift of the machine's speed hits both
        times.append(wall(cmd, env))
        bases.append(wall(base, env))
    return {
        "command": "adoption-abm " + " ".join(args),
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "python_c_pass_median_s": statistics.median(bases),
        "ratio_to_python_c_pass": statistics.median(
            t / b for t, b in zip(times, bases, strict=True)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=20, help="timed runs per command")
    parser.add_argument("--src", help="put this source folder first on PYTHONPATH")
    parser.add_argument("--json", help="also write the results to this file")
    opts = parser.parse_args()
    env = dict(os.environ)
    if opts.src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [opts.src, env.get("PYTHONPATH")]))
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{opts.runs} runs each" + (f"; package from {opts.src}" if opts.src else "")
    )
    results = [bench(args, opts.runs, env) for args in COMMANDS]
    print(f"{'command':<28} {'median s':>9} {'min':>7} {'max':>7} {'x python -c pass':>17}")
    for r in results:
        print(
            f"{r['command']:<28} {r['median_s']:>9.3f} {r['min_s']:>7.3f} {r['max_s']:>7.3f} "
            f"{r['ratio_to_python_c_pass']:>17.1f}"
        )
    yardstick = statistics.median(r["python_c_pass_median_s"] for r in results)
    print(f"python -c pass: median {yardstick:.3f} s")
    if opts.json:
        with open(opts.json, "w", encoding="utf-8") as f:
            json.dump({"runs": opts.runs, "src": opts.src, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
