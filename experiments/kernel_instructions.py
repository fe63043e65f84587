"""The kernel's instructions per professional-month, counted rather than timed.

    python experiments/kernel_instructions.py save [--out /tmp/kernel_month.npz] [--months 60]
    valgrind --tool=cachegrind --cache-sim=no --branch-sim=yes \\
        --cachegrind-out-file=/tmp/kernel.cg \\
        python experiments/kernel_instructions.py step [--state /tmp/kernel_month.npz] [--months 50]
    cg_annotate /tmp/kernel.cg | grep month_rows

``save`` runs the default scenario at scale 0.01 (seed 1) for ``--months`` months, then keeps the
inputs of the next month's professionals' step: the columns, the network, the establishments,
the month's parameters and its key. ``step`` calls the compiled step on that state
``--months`` times, one month key after another (fresh outputs each time), and prints a hash
of every output: the same hash before and after a change of the kernel means the same results
on this state, through ``engines.registry.cython_step`` as the model calls it. It imports
neither Mesa nor Polars, so under valgrind the count of the kernel's functions is not drowned
in imports.

Under ``cachegrind`` the instructions (``Ir``), branches (``Bc``) and mispredicted branches
(``Bcm``) of ``month_rows`` divided by ``--months`` times the professionals are the figures per
professional-month. Counts depend on the compiler and its flags, not on the machine's load:
compare two builds with the same compiler.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

SCALARS = (
    "skill_effect",
    "skill_mastery_effect",
    "train_adopt_boost",
    "train_master_boost",
    "train_skill_gain",
    "mentor_adopt_boost",
    "mentor_master_boost",
    "relearn_boost",
    "resist_threshold",
    "resist_factor",
    "quit_trained_keep",
    "quit_mentored_keep",
    "risk_gain",
    "t_end",
)
POPULATION = (
    "profession",
    "establishment",
    "birth",
    "propensity",
    "train_prob",
    "skill0",
    "resist",
    "support",
    "state",
    "skill",
    "trained",
)
MONTH = ("p", "q", "adopt_mult", "master_mult", "quit_mult", "risk_keep", "age_edges")


def save(out: Path, months: int) -> None:
    """The inputs of month ``months + 1``'s step of the default run, in ``out``."""
    from adoption_abm.batch.params import build_model

    model = build_model({"scale": 0.01, "end_year": 2030}, 1)
    model.run(months=months)
    seen = {}
    step = model._step_professionals

    def keep(pop, est, net, par, key, new_state):
        seen.update(pop=pop, est=est, net=net, par=par, key=key)
        return step(pop, est, net, par, key, new_state)

    model._step_professionals = keep
    model.run(months=1)
    pop, est, net, par = seen["pop"], seen["est"], seen["net"], seen["par"]
    arrays = {name: getattr(pop, name) for name in POPULATION}
    arrays |= {name: getattr(par, name) for name in MONTH}
    arrays |= {"indptr": net.indptr, "indices": net.indices}
    arrays |= {"deployed": est.deployed, "type": est.type}
    meta = {name: float(getattr(par, name)) for name in SCALARS}
    meta |= {"n_types": int(par.n_types), "key": int(seen["key"]), "complete": bool(net.complete)}
    np.savez(out, meta=np.array(json.dumps(meta)), **{k: np.asarray(v) for k, v in arrays.items()})
    print(f"saved month {months + 1} of {pop.n} professionals to {out}")


def step(state: Path, months: int) -> None:
    """The compiled step on the saved state, ``months`` times; prints the outputs' hash."""
    from types import SimpleNamespace

    from adoption_abm.engines.registry import cython_step  # imports neither Mesa nor Polars

    a = dict(np.load(state))
    meta = json.loads(str(a.pop("meta")))
    net = SimpleNamespace(indptr=a["indptr"], indices=a["indices"], complete=meta["complete"])
    est = SimpleNamespace(deployed=a["deployed"], type=a["type"])
    par = SimpleNamespace(
        **{name: a[name] for name in MONTH},
        **{name: meta[name] for name in SCALARS},
        n_types=meta["n_types"],
    )
    digest = hashlib.sha256()
    for k in range(months):
        pop = SimpleNamespace(**{name: a[name] for name in POPULATION})
        pop.skill, pop.trained = a["skill"].copy(), a["trained"].copy()
        new_state = np.empty_like(a["state"])
        tally = cython_step(pop, est, net, par, np.uint64(meta["key"] + k), new_state)
        for out in (new_state, pop.skill, pop.trained, *tally):
            digest.update(out.tobytes())
    print(f"{months} months of {len(a['state'])} professionals: {digest.hexdigest()[:16]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("save", help="keep a mid-run month's inputs")
    s.add_argument("--out", type=Path, default=Path("/tmp/kernel_month.npz"))
    s.add_argument("--months", type=int, default=60)
    t = sub.add_parser("step", help="run the compiled step on them")
    t.add_argument("--state", type=Path, default=Path("/tmp/kernel_month.npz"))
    t.add_argument("--months", type=int, default=50)
    args = ap.parse_args()
    if args.months < 1:
        ap.error("--months: at least 1")
    if args.command == "save":
        save(args.out, args.months)
    else:
        step(args.state, args.months)


if __name__ == "__main__":
    main()
