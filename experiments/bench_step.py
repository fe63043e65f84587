"""Agent-updates per second of the monthly step: compiled kernel, NumPy reference, naive Mesa,
measured side by side in one run; and the full France scale end to end in a child process.

    python experiments/bench_step.py --json [--out results/bench_step.json]
        [--sizes 1e4,1e5,1e6] [--naive-max 1e5] [--full-scales 1,2] [--huge] [--quick]

An **agent-update** is one professional's monthly decision over the technology families (three
in the default scenario), reading its ties (adoption, mastery, training, and its count in the
month's tallies). Rates are agent-updates per second on one core, from the same states for every
engine:

* ``worst``: every family deployed everywhere, nobody has adopted or trained, so every
  professional's decisions read all its ties every month;
* ``realistic``: the France dynamics, the states of the central scenario at the end of 2023,
  2026, 2029 and 2032 (months 24, 60, 96, 132), one month from each.

Two networks: ``france`` (the default scenario's, about 10 ties per professional) and
``twenty`` (``network.team_ties = 16, establishment_ties = 8, professional_ties = 6``: 21 ties
per professional at 1e6 agents, 19 at 1e5, 17 at 1e4: the issue's "about 20").

Engines: ``cython-scan`` (the kernel reading the ties of every professional whose decision
depends on them: the like-for-like figure), ``cython-lazy`` (the kernel as the model runs it:
ties skipped when the month's uniforms already rule out every transition that reads them; same
results), ``reference`` (NumPy) and ``naive-mesa``
(:mod:`adoption_abm.naive`: one Python object per professional, ``AgentSet.do``).

Rates are per core: ``per_s`` from the best of several repetitions of the step's CPU time
(``time.process_time``: what this process ran, so a machine shared with other jobs does not
count the time they held the core), ``per_s_median`` from the median; ``per_s_wall`` and
``per_s_wall_median`` are the same from wall-clock time (equal on an idle machine; compare them
with ``machine.load_average_*``). Naive Mesa is measured up to ``--naive-max`` agents and
extrapolated above at the per-agent cost of the largest measured size (which flatters it: its
cost per agent only grows with size), flagged ``extrapolated_from``. ``ratios`` gives kernel /
naive Mesa for each size, network and case.

``full_scale`` runs first, in a fresh child process per scale: import + build + 228 months +
outputs (timeseries and indicators as Parquet, summary as JSON, as ``adoption-abm run`` writes
them), with the wall time seen by the parent, the child's CPU time, the split inside the child
(import, build, run and the kernel's share of it, outputs), the child's peak resident memory
(``VmHWM`` of ``/proc/self/status``; the ``wait4`` figure, ``maxrss_wait4_mb``, can include
the parent's pages shared at spawn) and the number of Mesa agent objects the model created
(none by default above 50,000 rows). Scale 1 is the eight
professions (~1.04 M professionals); scale 2 is ~2.09 M, the size of the whole French health
workforce the issue speaks of.
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

import numpy as np

from adoption_abm import AdoptionModel, __version__
from adoption_abm.engines.naive.model import NaiveModel
from adoption_abm.engines.registry import get_engine

FRANCE_AGENTS = 1_043_000  # professionals at scale 1 (the eight professions' headcounts)
NETWORKS = {
    "france": {},
    "twenty": {
        "network.team_ties": 16,
        "network.establishment_ties": 8,
        "network.professional_ties": 6,
    },
}
CHECKPOINTS = (24, 60, 96, 132)
ENGINES = ("cython-scan", "cython-lazy", "reference", "naive-mesa")
DEFINITION = (
    "agent-update = one professional's monthly decision over the families, reading its ties"
)
TARGETS = {
    "kernel_1e6_twenty_worst": 30e6,
    "kernel_over_naive": 200.0,
    "full_scale_seconds": 30.0,
    "full_scale_rss_mb": 2048.0,
}


# ---------------------------------------------------------------------------------------------
# Step throughput
# ---------------------------------------------------------------------------------------------
def worst_case(model: AdoptionModel) -> AdoptionModel:
    """Every family deployed everywhere, nobody using or trained: every decision reads ties."""
    model.est.deployed[...] = 1
    model.pop.state[...] = 0
    model.pop.trained[...] = 0
    return model


class Clock:
    """Wall and CPU seconds of a block (CPU time: what this process ran, not the time it
    waited for a core that other processes held)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def time_engine(step, model: AdoptionModel, reps: int) -> list[Clock]:
    """``reps`` one-month steps from ``model``'s state (restored between them)."""
    skill, trained = model.pop.skill.copy(), model.pop.trained.copy()
    par = model.month_params(model.month + 1)
    new_state = np.empty_like(model.pop.state)
    clocks = []
    for r in range(reps):
        model.pop.skill[...] = skill
        model.pop.trained[...] = trained
        with Clock() as clock:
            step(model.pop, model.est, model.network, par, np.uint64(1000 + r), new_state)
        clocks.append(clock)
    model.pop.skill[...] = skill
    model.pop.trained[...] = trained
    return clocks


def time_naive(model: AdoptionModel, reps: int) -> list[Clock]:
    """``reps`` naive Mesa months from ``model``'s state (objects built untimed)."""
    clocks = []
    for r in range(reps):
        naive = NaiveModel.from_model(model, seed=r)
        with Clock() as clock:
            naive.step_professionals()
        clocks.append(clock)
        del naive
    return clocks


def reps_for(engine: str, n: int, quick: bool) -> int:
    """Enough repetitions for a stable best-of, a bounded time for the slow engines."""
    if engine.startswith("cython"):
        r = 25 if n <= 2e5 else 7
    elif engine == "reference":
        r = 5 if n <= 2e5 else 2
    else:
        r = 3 if n <= 2e4 else 1
    return max(1, r // 3) if quick else r


def states(size: int, network: str, case: str, overrides: dict | None = None):
    """Yield the model states to time for ``case`` (one for worst, one per checkpoint);
    ``overrides`` are added to the network's (e.g. the core rules, for an older kernel)."""
    model = AdoptionModel(
        seed=1,
        scale=size / FRANCE_AGENTS,
        agents="none",
        overrides=NETWORKS[network] | (overrides or {}),
    )
    if case == "worst":
        yield worst_case(model)
        return
    for month in CHECKPOINTS:
        model.run(month - model.month)
        yield model


def measure_step(size: int, network: str, case: str, naive_max: float, quick: bool) -> list[dict]:
    engines = {
        "cython-scan": get_engine("cython", lazy=False),
        "cython-lazy": get_engine("cython"),
        "reference": get_engine("reference"),
    }
    sums = {e: np.zeros(4) for e in ENGINES}  # best CPU, median CPU, best wall, median wall
    n = degree = 0
    checkpoints = 0
    for model in states(size, network, case):
        n, degree = model.pop.n, float(model.network.degree().mean())
        checkpoints += 1
        for name in ENGINES:
            reps = reps_for(name, n, quick)
            if name == "naive-mesa":
                if n > naive_max:
                    continue
                clocks = time_naive(model, reps)
            else:
                clocks = time_engine(engines[name], model, reps)
            cpu, wall = [c.cpu for c in clocks], [c.wall for c in clocks]
            sums[name] += [min(cpu), np.median(cpu), min(wall), np.median(wall)]
    rows = []
    for name in ENGINES:
        if name == "naive-mesa" and n > naive_max:
            continue
        updates = n * checkpoints
        best_cpu, median_cpu, best_wall, median_wall = (float(x) for x in sums[name])
        rows.append(
            {
                "size": size, "agents": n, "network": network, "mean_ties": round(degree, 2),
                "case": case, "engine": name, "states": checkpoints,
                "per_s": updates / best_cpu, "per_s_median": updates / median_cpu,
                "per_s_wall": updates / best_wall, "per_s_wall_median": updates / median_wall,
                "seconds_per_state": best_cpu / checkpoints, "extrapolated_from": None,
            }
        )  # fmt: skip
    return rows


def extrapolate_naive(rows: list[dict]) -> list[dict]:
    """Naive Mesa above the largest measured size, at that size's per-agent rate."""
    out = []
    for net in NETWORKS:
        for case in ("worst", "realistic"):
            same = [r for r in rows if r["network"] == net and r["case"] == case]
            measured = [r for r in same if r["engine"] == "naive-mesa"]
            if not measured:
                continue
            top = max(measured, key=lambda r: r["agents"])
            for r in same:
                if r["engine"] == "cython-scan" and r["agents"] > top["agents"]:
                    extra = {
                        "size": r["size"],
                        "agents": r["agents"],
                        "mean_ties": r["mean_ties"],
                        "states": r["states"],
                        "seconds_per_state": r["agents"] / top["per_s"],
                        "extrapolated_from": top["agents"],
                    }
                    out.append(top | extra)
    return out


def ratios(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        if r["engine"] != "naive-mesa":
            continue
        key = (r["size"], r["network"], r["case"])
        rate = {
            x["engine"]: x["per_s"] for x in rows if (x["size"], x["network"], x["case"]) == key
        }
        out.append(
            {
                "size": r["size"], "network": r["network"], "case": r["case"],
                "cython_scan_over_naive": rate["cython-scan"] / r["per_s"],
                "cython_lazy_over_naive": rate["cython-lazy"] / r["per_s"],
                "cython_scan_over_reference": rate["cython-scan"] / rate["reference"],
                "naive_extrapolated_from": r["extrapolated_from"],
            }
        )  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# Full scale, end to end, in a child process
# ---------------------------------------------------------------------------------------------
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from adoption_abm import AdoptionModel
from adoption_abm.engines import get_engine
from adoption_abm.outputs.atomic import write_json_atomic, write_parquet_atomic
t_import = time.perf_counter()
scale, out = float(sys.argv[1]), Path(sys.argv[2])
step, kernel = get_engine("cython"), [0.0]
def timed(*args):  # the compiled step, timed: the model takes any step function
    t = time.perf_counter()
    result = step(*args)
    kernel[0] += time.perf_counter() - t
    return result
model = AdoptionModel(seed=1, scale=scale, engine=timed)  # no Mesa objects above 50,000 rows
t_build = time.perf_counter()
model.run()
t_run = time.perf_counter()
summary = model.summary()
write_parquet_atomic(out / "timeseries.parquet", model.timeseries())
write_parquet_atomic(out / "indicators.parquet", model.indicators())
write_json_atomic(out / "summary.json", {"scale": scale, "seed": 1, "years": summary})
t_out = time.perf_counter()
import resource
use = resource.getrusage(resource.RUSAGE_SELF)
hwm = None
try:  # this process's own high-water mark (ru_maxrss may include the parent's pages at spawn)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024.0
except OSError:
    pass
print(json.dumps({
    "cpu_s": use.ru_utime + use.ru_stime,
    "peak_rss_mb": hwm if hwm is not None else use.ru_maxrss / 1024.0,
    "agents": model.pop.n, "ties": model.network.nnz, "months": model.month,
    "mesa_agents": len(model.agents), "realised_2030": summary["2030"]["realised"]["all"],
    "import_s": t_import - t0, "build_s": t_build - t_import, "run_s": t_run - t_build,
    "kernel_s": kernel[0], "outputs_s": t_out - t_run, "in_process_s": t_out - t_import,
}))
"""


def full_scale(scale: float) -> dict:
    """Build + 228 months + outputs at ``scale`` in a fresh child; wall time and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(scale), tmp], stdout=subprocess.PIPE, text=True
        )
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"full-scale child failed at scale {scale} (exit {proc.returncode})")
    row = json.loads(out.strip().splitlines()[-1])
    row.update(scale=scale, wall_s=wall, maxrss_wait4_mb=usage.ru_maxrss / 1024.0)
    row["kernel_share_of_run"] = row["kernel_s"] / row["run_s"]
    return row


# ---------------------------------------------------------------------------------------------
def machine() -> dict:
    import Cython
    import mesa

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "mesa": mesa.__version__, "cython": Cython.__version__,
        "adoption_abm": __version__,
    }  # fmt: skip


def targets(rows: list[dict], rats: list[dict], full: list[dict]) -> dict:
    """The issue's figures against what was measured."""
    rate = {(r["size"], r["network"], r["case"], r["engine"]): r["per_s"] for r in rows}
    goal = TARGETS["kernel_1e6_twenty_worst"]
    out = {}
    for engine in ("cython-scan", "cython-lazy"):
        k = rate.get((1_000_000, "twenty", "worst", engine))
        if k is not None:
            out[f"kernel_1e6_twenty_worst_{engine}"] = {
                "per_s": k,
                "target": goal,
                "met": k >= goal,
            }
    measured = [r for r in rats if r["naive_extrapolated_from"] is None]
    if measured:
        low = min(measured, key=lambda r: r["cython_scan_over_naive"])
        value = low["cython_scan_over_naive"]
        out["kernel_scan_over_naive_lowest_measured"] = {
            "ratio": value,
            "at": [low["size"], low["network"], low["case"]],
            "target": TARGETS["kernel_over_naive"],
            "met": value >= TARGETS["kernel_over_naive"],
        }
    for f in full:
        memory_ok = f["peak_rss_mb"] <= TARGETS["full_scale_rss_mb"]
        out[f"full_scale_{f['scale']:g}"] = {
            "wall_s": f["wall_s"],
            "cpu_s": f["cpu_s"],
            "peak_rss_mb": f["peak_rss_mb"],
            "target": [TARGETS["full_scale_seconds"], TARGETS["full_scale_rss_mb"]],
            "met_wall": f["wall_s"] <= TARGETS["full_scale_seconds"] and memory_ok,
            "met_cpu": f["cpu_s"] <= TARGETS["full_scale_seconds"] and memory_ok,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--out", type=Path, help="also write the JSON to this file (atomically)")
    ap.add_argument("--sizes", default="1e4,1e5,1e6", help="agent counts (comma-separated)")
    ap.add_argument(
        "--naive-max", type=float, default=1e5, help="largest size naive Mesa is run at"
    )
    ap.add_argument(
        "--full-scales", default="1,2", help="scales of the end-to-end runs ('' for none)"
    )
    ap.add_argument(
        "--huge", action="store_true", help="also time the kernel at 1e7 agents (worst case)"
    )
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, noisier)")
    args = ap.parse_args()

    started = time.perf_counter()
    load = os.getloadavg()
    # end-to-end runs first, while this process is still small
    full = [full_scale(float(s)) for s in args.full_scales.split(",") if s]
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    rows: list[dict] = []
    for size in sizes:
        for net in NETWORKS:
            for case in ("worst", "realistic"):
                rows += measure_step(size, net, case, args.naive_max, args.quick)
                print(f"  {size:>9,} {net:<7} {case:<9} done", file=sys.stderr)
    if args.huge:
        rows += measure_step(10_000_000, "twenty", "worst", 0, quick=True)
    rows += extrapolate_naive(rows)
    rats = ratios(rows)
    result = {
        "benchmark": "bench_step",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine()
        | {"load_average_at_start": load, "load_average_at_end": os.getloadavg()},
        "definition": DEFINITION,
        "networks": NETWORKS,
        "realistic_checkpoints": CHECKPOINTS,
        "step": rows,
        "ratios": rats,
        "full_scale": full,
        "targets": targets(rows, rats, full),
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
    print(f"{'agents':>10} {'net':<7} {'case':<9} {'engine':<12} {'M updates/s':>12}")
    for r in result["step"]:
        frm = r["extrapolated_from"]
        extra = f"  (extrapolated from {frm:,})" if frm else ""
        rate = r["per_s"] / 1e6
        what = f"{r['agents']:>10,} {r['network']:<7} {r['case']:<9} {r['engine']:<12}"
        print(f"{what} {rate:>12.3f}{extra}")
    for r in result["ratios"]:
        where = f"{r['size']:,} ({r['network']}, {r['case']})"
        print(f"kernel / naive Mesa at {where}: {r['cython_scan_over_naive']:.0f}x")
    for f in result["full_scale"]:
        print(f"scale {f['scale']:g}: {f['agents']:,} professionals, {f['wall_s']:.1f} s, ", end="")
        print(f"{f['peak_rss_mb']:.0f} MB peak")


if __name__ == "__main__":
    main()
