"""Designs → the table of runs: design points × replications, each with its own seed.

* ``factorial``: every combination of the parameters' ``values`` (or ``levels`` evenly spaced
  values between ``bounds``, geometric if ``log``);
* ``lhs``, ``sobol`` (Saltelli's scheme), ``morris``: sampled by SALib within ``bounds`` (in log
  space for ``log = true`` parameters).

Seeds (:mod:`.seeds`, the scheme ``compare`` shares): run ``i`` gets ``child_seed(root_seed, i)``,
child ``i`` of ``SeedSequence(root_seed)``, so a run's result depends only on the root seed and
its index, not on how many runs there are or who runs them. With ``common_random_numbers`` the
index is the replicate number instead: replicate ``r`` of every design point shares one seed.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import polars as pl

from .experiment import Experiment, ParameterSpec
from .seeds import SEED_MASK, child_seed

__all__ = [
    "SEED_MASK",
    "child_seed",
    "design_points",
    "run_params",
    "run_table",
    "salib_problem",
    "sample_matrix",
]


def salib_problem(exp: Experiment) -> dict[str, Any]:
    """SALib's problem dict over the parameters (bounds in log space for ``log`` ones)."""
    names = list(exp.parameters)
    bounds = []
    for spec in exp.parameters.values():
        lo, hi = spec.bounds  # type: ignore[misc]
        bounds.append([np.log(lo), np.log(hi)] if spec.log else [lo, hi])
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sample_matrix(exp: Experiment) -> np.ndarray:
    """The sampled design in SALib's space (one row per point), for sampled designs."""
    d = exp.design
    problem = salib_problem(exp)
    seed = exp.root_seed if d.seed is None else d.seed
    seed = seed % 2**32
    if d.kind == "lhs":
        from SALib.sample import latin

        return latin.sample(problem, d.samples, seed=seed)
    if d.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, d.samples, calc_second_order=d.second_order, seed=seed)
    if d.kind == "morris":
        from SALib.sample import morris

        return morris.sample(problem, d.samples, num_levels=d.levels, seed=seed)
    raise ValueError(f"design {d.kind!r} is not sampled")


def _from_salib(spec: ParameterSpec, column: np.ndarray) -> np.ndarray:
    return np.exp(column) if spec.log else column


def _levels(spec: ParameterSpec) -> list[Any]:
    if spec.values is not None:
        return list(spec.values)
    lo, hi = spec.bounds  # type: ignore[misc]
    n = spec.levels or 2
    grid = np.geomspace(lo, hi, n) if spec.log else np.linspace(lo, hi, n)
    return [float(x) for x in grid]


def design_points(exp: Experiment) -> pl.DataFrame:
    """One row per design point, one column per varied parameter (``point`` = row number)."""
    names = list(exp.parameters)
    if not names:
        return pl.DataFrame({"point": [0]}, schema={"point": pl.Int64})
    if exp.design.kind == "factorial":
        combos = list(itertools.product(*(_levels(exp.parameters[n]) for n in names)))
        columns = {n: [c[j] for c in combos] for j, n in enumerate(names)}
    else:
        x = sample_matrix(exp)
        columns = {n: _from_salib(exp.parameters[n], x[:, j]).tolist() for j, n in enumerate(names)}
    n_points = len(columns[names[0]])
    return pl.DataFrame({"point": np.arange(n_points, dtype=np.int64), **columns})


def run_table(exp: Experiment) -> pl.DataFrame:
    """Every run: ``run_id``, ``point``, ``replicate``, ``seed`` and the varied parameters.

    ``run_id = point * replications + replicate``.
    """
    points = design_points(exp)
    r = exp.replications
    n = points.height * r
    run_id = np.arange(n, dtype=np.int64)
    replicate = run_id % r
    index = replicate if exp.common_random_numbers else run_id
    cache: dict[int, int] = {}
    seeds = []
    for i in index.tolist():
        if i not in cache:
            cache[i] = child_seed(exp.root_seed, i)
        seeds.append(cache[i])
    runs = pl.DataFrame(
        {
            "run_id": run_id,
            "point": run_id // r,
            "replicate": replicate,
            "seed": pl.Series(seeds, dtype=pl.Int64),
        }
    )
    return runs.join(points, on="point", how="left").sort("run_id")


def run_params(exp: Experiment, row: dict[str, Any]) -> dict[str, Any]:
    """The full parameter dict of one run (base + its point's values)."""
    params = dict(exp.base)
    params.update({k: row[k] for k in exp.parameters})
    return params
