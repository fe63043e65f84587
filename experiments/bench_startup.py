"""The default run's wall time against its simulation time, and what the imports cost.

    python experiments/bench_startup.py [-n 5] [--scales 0.01,0.1] [--json out.json]

For each scale, ``-n`` times in turn (fresh processes each time):

* ``wall``: ``python -m adoption_abm run --scale S --seed 1 --out TMP`` timed from outside, start
  to exit (imports, build, 228 months to 2040, outputs written);
* ``simulation``: in a fresh process, the same run's build and months through the API
  (``AdoptionModel(scale=S, seed=1).run()``), timed inside;
* ``imports``: in a fresh process, the seconds to import ``mesa`` alone, then the model module
  (``adoption_abm.model.model``: Polars, Pydantic, the scenario, the kernel), then the CLI.

Reports the medians and the ratio wall / simulation (the issue's goal: at most 1.5). Compare
the ratio and the shares, not the seconds: they depend on the machine and its load.
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
import time

IMPORTS = """
import time
t0 = time.perf_counter()
import mesa
t1 = time.perf_counter()
import adoption_abm.model.model
t2 = time.perf_counter()
import adoption_abm.cli.main
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""

SIMULATION = """
import sys, time
from adoption_abm.model.model import AdoptionModel
t0 = time.perf_counter()
AdoptionModel(scale=float(sys.argv[1]), seed=1).run()
print(time.perf_counter() - t0)
"""


def child(code: str, *args: str) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return [float(x) for x in out.stdout.split()]


def wall(scale: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "adoption_abm", "run", "--scale", str(scale), "--seed", "1"]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--out", os.path.join(tmp, "run")], capture_output=True, check=True)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--scales", default="0.01,0.1")
    ap.add_argument("--json")
    args = ap.parse_args()
    wall(0.002)  # warm-up: file cache, .pyc
    result: dict = {"scales": {}, "load_average": [round(os.getloadavg()[0], 2)]}
    imports = [child(IMPORTS) for _ in range(args.n)]
    result["imports_seconds"] = {
        name: round(statistics.median(x[i] for x in imports), 3)
        for i, name in enumerate(("mesa", "model_module", "cli"))
    }
    for scale in (float(s) for s in args.scales.split(",")):
        walls, sims = [], []
        for _ in range(args.n):
            walls.append(wall(scale))
            sims.append(child(SIMULATION, str(scale))[0])
        w, s = statistics.median(walls), statistics.median(sims)
        result["scales"][str(scale)] = {
            "wall_seconds": round(w, 3),
            "simulation_seconds": round(s, 3),
            "wall_over_simulation": round(w / s, 2),
        }
    result["load_average"].append(round(os.getloadavg()[0], 2))
    result["machine"] = {"python": sys.version.split()[0], "platform": platform.platform()}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
