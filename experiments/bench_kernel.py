"""The compiled kernel against an earlier version of itself, side by side in one process.

    python experiments/bench_kernel.py [--rev 8187c25] [--sizes 1e5,1e6] [--rounds 7]
        [--networks france,twenty] [--cases worst,realistic] [--modes scan,lazy]
        [--json] [--out results/bench_kernel.json]

Builds two kernels into a temporary directory, each under its own module name and with the
same compiler directives and flags (those of ``setup.py``'s normal build): ``old``, the
``_kernels.pyx`` of git revision ``--rev`` (default ``8187c25``: main before the mechanisms of
version 2, ABI 3), and ``new``, the working tree's ``_kernels.pyx`` and ``_kernels.pxd``. Both
are called as the model calls them (inputs converted, tallies allocated), each through the
interface of its ``ABI``, on the same states: the ``worst`` and ``realistic`` states of
``experiments/bench_step.py``, on its ``france`` and ``twenty`` networks, in ``scan`` and
``lazy`` modes, with every mechanism of version 2 switched off (the core rules, which an older
kernel implements; ``--mechanisms`` times the new kernel alone on states of the default
scenario instead). Before timing, both must give the same states, skills, training and
headcount tallies, bit for bit (the downgrading tally changed meaning in ABI 4).

Timing: ``--rounds`` rounds; each round times ``old`` and ``new`` (in alternating order from one
round to the next), each the best CPU time (``time.process_time``) of ``--reps`` one-month steps
from the same state. Reported: million agent-updates per second of each (best over the rounds,
summed over the realistic states), the ratio new/old of those, and the median over the rounds of
the ratio within a round (robust to a machine whose speed drifts). Compare ratios, not rates:
the rates depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_step import NETWORKS, states  # noqa: E402

from adoption_abm.engines import registry  # noqa: E402
from adoption_abm.engines.naive.model import CORE_RULES  # noqa: E402
from adoption_abm.rules.states import N_STATES  # noqa: E402

KERNEL_PATHS = ("src/adoption_abm/engines/_kernels", "src/adoption_abm/_kernels")
"""Where ``_kernels.pyx`` lived, newest first (without the extension)."""
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "cdivision": True,
}
"""``setup.py``'s directives for the normal build (ADOPTION_ABM_DEBUG unset)."""
FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fopenmp"]
"""``setup.py``'s compiler flags (POSIX, with OpenMP: also given to the linker)."""


# ---------------------------------------------------------------------------------------------
# Building a kernel under another module name
# ---------------------------------------------------------------------------------------------
def source_at(rev: str) -> tuple[str, str | None]:
    """``_kernels.pyx`` (and ``_kernels.pxd`` if it has one) at git revision ``rev``."""
    for base in KERNEL_PATHS:
        pyx = git_show(rev, f"{base}.pyx")
        if pyx is not None:
            return pyx, git_show(rev, f"{base}.pxd")
    raise SystemExit(f"no _kernels.pyx at revision {rev!r} (looked in {KERNEL_PATHS})")


def git_show(rev: str, path: str) -> str | None:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True
    )
    return proc.stdout if proc.returncode == 0 else None


def build_kernel(name: str, pyx: str, pxd: str | None, directory: Path) -> ModuleType:
    """Compile ``pyx`` (with its ``pxd``) as top-level module ``name`` in ``directory``."""
    import Cython
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    src = directory / name
    src.mkdir(parents=True)
    (src / f"{name}.pyx").write_text(pyx, encoding="utf-8")
    if pxd is not None:
        (src / f"{name}.pxd").write_text(pxd, encoding="utf-8")
    ext = Extension(
        name,
        [str(src / f"{name}.pyx")],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=FLAGS,
        extra_link_args=[f for f in FLAGS if f == "-fopenmp"],
    )
    modules = cythonize([ext], compiler_directives=DIRECTIVES, quiet=True, force=True)
    dist = Distribution({"ext_modules": modules})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(src / "lib")
    cmd.build_temp = str(src / "tmp")
    cmd.ensure_finalized()
    cmd.run()
    (so,) = Path(cmd.build_lib).glob(f"{name}*.so")
    spec = importlib.util.spec_from_file_location(name, so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.BUILT_WITH = {"cython": Cython.__version__, "directives": DIRECTIVES, "flags": FLAGS}
    return module


# ---------------------------------------------------------------------------------------------
# Calling a kernel through the interface of its ABI
# ---------------------------------------------------------------------------------------------
def abi2_step(kernels, pop, est, net, par, key, new_state, *, lazy=True):
    """ABI 2 (up to fbf2035): 35 positional arguments, three families."""
    n_prof, n_fam = par.adopt_mult.shape
    cube = np.zeros((n_prof, len(par.age_edges) + 1, par.n_types, n_fam, N_STATES), dtype=np.int64)
    risk = np.zeros((n_prof, n_fam), dtype=np.int64)
    f64 = np.ascontiguousarray
    kernels.professionals_step(
        net.indptr, net.indices, net.complete,
        pop.profession, pop.establishment, pop.birth, pop.propensity, pop.train_prob,
        pop.skill0, pop.state, pop.skill, pop.trained, new_state,
        est.deployed, est.type,
        f64(par.p, dtype=np.float64), f64(par.q, dtype=np.float64),
        f64(par.adopt_mult, dtype=np.float64), f64(par.master_mult, dtype=np.float64),
        par.skill_effect, par.skill_mastery_effect, par.train_adopt_boost,
        par.train_master_boost, par.train_skill_gain, par.mentoring,
        par.mentoring_adoption, par.mentoring_learning, par.mentoring_gap, par.risk_gain,
        par.t_end, f64(par.age_edges, dtype=np.float64), np.uint64(key),
        cube, risk, lazy,
    )  # fmt: skip
    return cube, risk


def abi3_step(kernels, pop, est, net, par, key, new_state, *, lazy=True):
    """ABI 3 (up to 8187c25): typed input objects, the tie-based mentoring term (off here)."""
    n_prof, n_fam = par.adopt_mult.shape
    cube = np.zeros((n_prof, len(par.age_edges) + 1, par.n_types, n_fam, N_STATES), dtype=np.int64)
    risk = np.zeros((n_prof, n_fam), dtype=np.int64)

    def f64(a):
        return np.ascontiguousarray(a, dtype=np.float64)

    month = kernels.Month(
        f64(par.p), f64(par.q), f64(par.adopt_mult), f64(par.master_mult), f64(par.age_edges),
        skill_effect=par.skill_effect, skill_mastery_effect=par.skill_mastery_effect,
        train_adopt_boost=par.train_adopt_boost, train_master_boost=par.train_master_boost,
        train_skill_gain=par.train_skill_gain, mentoring=False, mentoring_adoption=0.0,
        mentoring_learning=0.0, mentoring_gap=0.0, risk_gain=par.risk_gain, t_end=par.t_end,
        key=np.uint64(key),
    )  # fmt: skip
    kernels.professionals_step(
        kernels.Network(net.indptr, net.indices, net.complete),
        kernels.Professionals(
            pop.profession, pop.establishment, pop.birth, pop.propensity, pop.train_prob,
            pop.skill0, pop.state, pop.skill, pop.trained, new_state,
        ),
        kernels.Establishments(est.deployed, est.type),
        month, cube, risk, lazy,
    )  # fmt: skip
    return cube, risk


class WithoutThreads:
    """An ABI 4 kernel (up to main at 19fa8b9) seen through ABI 5's call: the same arguments
    without the trailing thread count (ABI 4 runs on one thread)."""

    def __init__(self, kernels: ModuleType) -> None:
        self.kernels = kernels

    def __getattr__(self, name: str):
        return getattr(self.kernels, name)

    def professionals_step(self, *args):
        return self.kernels.professionals_step(*args[:-1])


def stepper(kernels: ModuleType, lazy: bool):
    """The step function of a built kernel, with the reference's signature."""
    abi = getattr(kernels, "ABI", 1)
    if abi == 2:
        return lambda *args: abi2_step(kernels, *args, lazy=lazy)
    if abi == 3:
        return lambda *args: abi3_step(kernels, *args, lazy=lazy)
    if abi == 4:
        old = WithoutThreads(kernels)
        return lambda *args: registry.cython_step(*args, lazy=lazy, kernels=old)
    if abi in (5, registry.KERNEL_ABI):  # ABI 6 added the month's other work, same step
        return lambda *args: registry.cython_step(*args, lazy=lazy, kernels=kernels)
    raise SystemExit(f"no caller for a kernel of ABI {abi}")


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------
def one_step(step, model, par, key: int, saved):
    skill, trained = saved
    model.pop.skill[...] = skill
    model.pop.trained[...] = trained
    new_state = np.empty_like(model.pop.state)
    cube = step(model.pop, model.est, model.network, par, np.uint64(key), new_state)[0]
    return new_state, model.pop.skill.copy(), model.pop.trained.copy(), cube


def best_cpu(step, model, par, reps: int, saved) -> float:
    skill, trained = saved
    new_state = np.empty_like(model.pop.state)
    best = np.inf
    for r in range(reps):
        model.pop.skill[...] = skill
        model.pop.trained[...] = trained
        t = time.process_time()
        step(model.pop, model.est, model.network, par, np.uint64(1000 + r), new_state)
        best = min(best, time.process_time() - t)
    return best


def measure(
    kernels: dict,
    size: int,
    network: str,
    case: str,
    modes,
    rounds: int,
    reps: int,
    overrides: dict | None = None,
):
    """Rows of one (size, network, case): per mode, old and new rates and the ratios."""
    seconds = {(m, k): np.zeros(rounds) for m in modes for k in kernels}
    n = checkpoints = 0
    degree = 0.0
    for model in states(size, network, case, overrides):
        n, degree = model.pop.n, float(model.network.degree().mean())
        checkpoints += 1
        par = model.month_params(model.month + 1)
        saved = (model.pop.skill.copy(), model.pop.trained.copy())
        for mode in modes:
            steps = {k: stepper(mod, lazy=mode == "lazy") for k, mod in kernels.items()}
            results = {k: one_step(s, model, par, 7, saved) for k, s in steps.items()}
            for a, b in zip(*results.values(), strict=True):
                if not np.array_equal(a, b):
                    raise SystemExit(f"old and new kernels differ ({size}, {network}, {case})")
            for r in range(rounds):
                order = list(steps) if r % 2 == 0 else list(steps)[::-1]
                for k in order:
                    seconds[mode, k][r] += best_cpu(steps[k], model, par, reps, saved)
        model.pop.skill[...], model.pop.trained[...] = saved
    rows = []
    for mode in modes:
        old, new = seconds[mode, "old"], seconds[mode, list(kernels)[-1]]
        updates = n * checkpoints
        rows.append(
            {
                "size": size, "agents": n, "network": network, "mean_ties": round(degree, 2),
                "case": case, "mode": mode, "states": checkpoints, "rounds": rounds,
                "reps": reps,
                "old_per_s": updates / old.min(), "new_per_s": updates / new.min(),
                "new_over_old": old.min() / new.min(),
                "new_over_old_median_round": float(np.median(old / new)),
                "new_over_old_range": [float((old / new).min()), float((old / new).max())],
            }
        )  # fmt: skip
    return rows


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rev", default="8187c25", help="git revision of the old kernel")
    ap.add_argument(
        "--mechanisms",
        action="store_true",
        help="also time the new kernel on states with the mechanisms of version 2 on",
    )
    ap.add_argument("--sizes", default="1e5,1e6", help="agent counts (comma-separated)")
    ap.add_argument("--networks", default="france,twenty", help=f"of {list(NETWORKS)}")
    ap.add_argument("--cases", default="worst,realistic", help="worst, realistic")
    ap.add_argument("--modes", default="scan,lazy", help="scan, lazy")
    ap.add_argument("--rounds", type=int, default=7, help="alternations of old and new")
    ap.add_argument("--reps", type=int, default=0, help="steps per timing (0: by size)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--out", type=Path, help="also write the JSON to this file")
    args = ap.parse_args()

    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-kernel-"))
    try:
        old_pyx, old_pxd = source_at(args.rev)
        new_base = ROOT / KERNEL_PATHS[0]
        new_pxd = new_base.with_suffix(".pxd")
        new_pxd_text = new_pxd.read_text(encoding="utf-8") if new_pxd.exists() else None
        tag = "".join(c if c.isalnum() else "_" for c in args.rev)
        kernels = {
            "old": build_kernel(f"_kernels_old_{tag}", old_pyx, old_pxd, tmp),
            "new": build_kernel(
                "_kernels_new", new_base.with_suffix(".pyx").read_text("utf-8"), new_pxd_text, tmp
            ),
        }
        load = os.getloadavg()
        rows = []
        for size in [int(float(s)) for s in args.sizes.split(",") if s]:
            reps = args.reps or (9 if size <= 2e5 else 3)
            for net in args.networks.split(","):
                for case in args.cases.split(","):
                    modes = args.modes.split(",")
                    rows += measure(kernels, size, net, case, modes, args.rounds, reps, CORE_RULES)
                    if args.mechanisms:  # the new kernel on the core rules and with mechanisms
                        pair = {"old": kernels["new"], "new": kernels["new"]}
                        core = measure(pair, size, net, case, modes, args.rounds, reps, CORE_RULES)
                        mech = measure(pair, size, net, case, modes, args.rounds, reps)
                        for c, m in zip(core, mech, strict=True):
                            m["rules"], m["core_per_s"] = "mechanisms", c["new_per_s"]
                            m["mechanisms_over_core"] = m["new_per_s"] / c["new_per_s"]
                            rows.append(m)
                    print(f"  {size:>9,} {net:<7} {case:<9} done", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "benchmark": "bench_kernel",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "old": {"rev": args.rev, "abi": kernels["old"].ABI},
        "new": {"rev": "working tree", "abi": kernels["new"].ABI},
        "built_with": kernels["new"].BUILT_WITH,
        "machine": machine()
        | {"load_average_at_start": load, "load_average_at_end": os.getloadavg()},
        "rows": rows,
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
    print(f"old: {result['old']['rev']} (ABI {result['old']['abi']}), new: working tree")
    head = f"{'agents':>9} {'net':<7} {'case':<9} {'mode':<5} {'old M/s':>8} {'new M/s':>8}"
    print(f"{head} {'new/old':>8} {'median':>7}  range")
    for r in result["rows"]:
        if r.get("rules") == "mechanisms":  # the new kernel: core-rules states, then mechanisms
            print(
                f"{r['agents']:>9,} {r['network']:<7} {r['case']:<9} {r['mode']:<5} "
                f"{r['core_per_s'] / 1e6:>8.1f} {r['new_per_s'] / 1e6:>8.1f} "
                f"{r['mechanisms_over_core']:>8.3f}  (new kernel: core rules -> mechanisms on)"
            )
            continue
        lo, hi = r["new_over_old_range"]
        print(
            f"{r['agents']:>9,} {r['network']:<7} {r['case']:<9} {r['mode']:<5} "
            f"{r['old_per_s'] / 1e6:>8.1f} {r['new_per_s'] / 1e6:>8.1f} "
            f"{r['new_over_old']:>8.3f} {r['new_over_old_median_round']:>7.3f}  {lo:.3f}-{hi:.3f}"
        )


if __name__ == "__main__":
    main()
