"""Compare policies with common random numbers: paired replications, differences to baseline.

:func:`compare` runs every policy with the same list of seeds (replication ``r`` uses seed
``seeds[r]`` for every policy), so the differences between policies come from the policies, not
from the draws, and their confidence intervals are those of the *paired* differences:
``mean(d) ± t(0.975, n-1) · sd(d) / √n`` with ``d_r = x(policy, r) - x(baseline, r)``.
Policy levers change hazards only, never how many random numbers are drawn, so replication ``r``
sees the very same draws under every policy.

Seeds follow the batch scheme (:mod:`adoption_abm.batch.seeds`): replication ``r`` of root seed
``s`` gets ``child_seed(s, r)``, the seed ``run_batch`` gives replicate ``r`` of an experiment
with ``root_seed = s``. Runs go to the batch executors (in this process, local processes or
Dask; :func:`adoption_abm.batch.executors.make_executor`); results are indexed by (policy,
replication), so they do not depend on the executor or the number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from ..batch.executors import Executor, make_executor
from ..batch.seeds import replication_seeds
from ..i18n import _
from ..outputs.indicators import month_label
from ..policies.parse import parse_policy
from ..policies.priors import apply_draw
from ..policies.schedule import PolicySchedule
from ..scenario.calendar import REPORT_YEARS, report_years
from ..scenario.interventions import validate_interventions
from ..scenario.load import load_scenario
from ..scenario.schema import Scenario
from .costs import cost_rows as cost_rows_of
from .runs import (
    METRIC_LABELS,
    MONTHLY,
    RunFailed,
    RunSpec,
    _RemoteTraceback,
    map_runs,
    monthly_metrics,
    run_one,
    run_task,
    year_metrics,
)
from .uncertainty import assumption_draws, prior_record, uncertainty_frames


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------
def t_quantile(p: float, df: int) -> float:
    """Student's t quantile (SciPy)."""
    from scipy.stats import t

    return float(t.ppf(p, df))


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided ``level`` confidence interval of the mean (t distribution)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan
    half = t_quantile(0.5 + level / 2, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


# ---------------------------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """Frames of a policy comparison (all Polars).

    * ``runs``: one row per policy × replication × year, every metric (and ``role_*``).
    * ``summary``: policy × year × metric: mean and 95 % CI, paired difference to baseline and
      its 95 % CI.
    * ``roles``: policy × year × role: mean FTE demand and 95 % CI.
    * ``cost``: policy × year: activity-based spending (M€) by activity, budget ceilings,
      cumulative and discounted spending, activity (courses bought, projects funded,
      pairings), FTE freed and reinvested vs baseline, cumulative FTE-years freed and the cost
      per FTE-year (:mod:`adoption_abm.analysis.costs`).
    * ``monthly``: policy × month: mean of the :data:`MONTHLY` metrics, with 95 % CI.
    * ``policies``: policy × intervention, as run.

    Under assumption draws (``compare(..., assumptions=N)``) ``runs`` has one row per policy ×
    draw × replication × year (the baseline once per replication, ``draw`` -1, as every run
    when ``N = 0``); ``summary``, ``roles``, ``cost`` and ``monthly`` then pool the N × R runs
    of each policy (each paired with the baseline's run of the same seed): their means are
    expectations over the priors, their CIs are *not* the uncertainty intervals. Those are in
    the frames of :mod:`adoption_abm.analysis.uncertainty`:

    * ``uncertainty``: policy × year × metric: the draws' effect (mean, median), Monte-Carlo
      half-width, assumption sd and share, the interval covering both, P(beats baseline);
    * ``beats``: year × policy × other: P(policy better than other) over draws;
    * ``ranks``: year × policy × rank: share of draws at that rank, median rank;
    * ``bands``: policy × month: median of the draws' means and their 95 % band, MC half-width;
    * ``draws``: draw × prior: the effect values run (draw -1: central values).
    """

    runs: pl.DataFrame
    summary: pl.DataFrame
    roles: pl.DataFrame
    cost: pl.DataFrame
    monthly: pl.DataFrame
    policies: pl.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    uncertainty: pl.DataFrame = field(default_factory=pl.DataFrame)
    beats: pl.DataFrame = field(default_factory=pl.DataFrame)
    ranks: pl.DataFrame = field(default_factory=pl.DataFrame)
    bands: pl.DataFrame = field(default_factory=pl.DataFrame)
    draws: pl.DataFrame = field(default_factory=pl.DataFrame)

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "runs": self.runs,
            "summary": self.summary,
            "roles": self.roles,
            "cost": self.cost,
            "monthly": self.monthly,
            "policies": self.policies,
            "uncertainty": self.uncertainty,
            "beats": self.beats,
            "ranks": self.ranks,
            "bands": self.bands,
            "draws": self.draws,
        }


def resolve_policies(
    scenario: Scenario, policies: Sequence[str | tuple[str, Sequence[dict]]]
) -> list[tuple[str, list[dict]]]:
    """``[(label, interventions)]`` with baseline first (added if missing); labels unique."""
    out: list[tuple[str, list[dict]]] = []
    for item in policies:
        if isinstance(item, str):
            label, ivs = item.strip(), parse_policy(item, scenario)
        else:
            label, ivs = item[0], [dict(iv) for iv in item[1]]
            validate_interventions(
                scenario, list(scenario.interventions) + ivs, label=f"policy {label!r}"
            )
        if label.lower() in ("none", "") and not ivs:
            label = "baseline"
        if any(label == seen for seen, _seen_ivs in out):
            raise ValueError(_("policy {label!r} is listed twice").format(label=label))
        out.append((label, ivs))
    base = [k for k, (label, ivs) in enumerate(out) if label == "baseline" and not ivs]
    if base:
        out.insert(0, out.pop(base[0]))
    else:
        if any(label == "baseline" for label, _ivs in out):
            raise ValueError(
                _("the label 'baseline' is reserved for the policy without interventions")
            )
        out.insert(0, ("baseline", []))
    return out


def compare(
    scenario: str | Scenario = "france-2022",
    policies: Sequence[str | tuple[str, Sequence[dict]]] = ("baseline", "all"),
    *,
    replications: int = 30,
    seed: int = 1,
    seeds: Sequence[int] | None = None,
    scale: float = 0.01,
    rhythm: str = "central",
    engine: str = "cython",
    years: Sequence[int] = REPORT_YEARS,
    workers: int | None = 1,
    scheduler: str | None = None,
    dask_local: bool = False,
    executor: Executor | None = None,
    progress: bool = False,
    on_result: Callable[[int, int], None] | None = None,
    assumptions: int = 0,
    assumption_seed: int | None = None,
    rank_metric: str = "realised_all",
    fork: bool = True,
) -> Comparison:
    """Run every policy on the same seeds and compare it with the baseline.

    Args:
        scenario: built-in name, TOML path or :class:`Scenario`.
        policies: ``--policy`` strings (``'baseline'``, ``'6,7'``, ``'all'``, ``'6@2025-01x0.5'``)
            or ``(label, interventions)`` pairs. The baseline is added first if missing.
        replications: runs per policy (ignored when ``seeds`` is given).
        seed: root seed; replication ``r`` gets ``child_seed(seed, r)``, as replicate ``r`` of a
            batch experiment with ``root_seed = seed`` (:mod:`adoption_abm.batch.seeds`).
        seeds: explicit replication seeds, used for every policy.
        scale, rhythm, engine: as for :class:`~adoption_abm.model.AdoptionModel`.
        years: years to report (end of December; those beyond the scenario are dropped).
        workers, scheduler, dask_local: where the runs go, as for
            :func:`~adoption_abm.batch.run_batch` (:func:`~adoption_abm.batch.executors.
            make_executor`): ``workers`` local processes (1 = in this process, ``None`` = all
            CPUs), a Dask ``scheduler`` address, or a Dask LocalCluster of ``workers``.
        executor: an executor to use instead (left open); the three above are then ignored.
            Results do not depend on the executor or the number of workers.
        progress: show a progress bar (tqdm) over the runs.
        on_result: called with (runs done, runs total) after each run.
        assumptions: N > 1 runs every policy but the baseline under N joint draws of the priors
            of the proposals it uses (one Latin hypercube over the proposals of all the
            policies, so draw ``d`` is the same sample in every policy), each on every seed;
            0 runs the central values. See :mod:`adoption_abm.analysis.uncertainty`.
        assumption_seed: seed of the draws (default: ``seed``).
        rank_metric: the metric of the ``beats`` and ``ranks`` frames.
        fork: simulate the months before the policies start once per seed and continue every
            policy of that seed from a copy (:func:`~adoption_abm.analysis.runs.map_runs`);
            ``False`` runs each from scratch. The results are the same, bit for bit.

    Raises :class:`RunFailed` naming the policy, draw and replication of a run that raised (the
    runs still queued are dropped).
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc.check_rhythm(rhythm)
    if seeds is None:
        if replications < 1:
            raise ValueError(f"replications must be at least 1, got {replications}")
        seeds = replication_seeds(seed, replications)
    seeds = [int(s) for s in seeds]
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    check_assumptions(assumptions)
    if rank_metric not in METRIC_LABELS:
        raise ValueError(f"rank_metric {rank_metric!r}: must be one of {', '.join(METRIC_LABELS)}")
    years = tuple(report_years(sc.start_year, sc.end_year, years))
    if not years:
        raise ValueError(f"no year to report inside {sc.start_year}-{sc.end_year}")
    resolved = resolve_policies(sc, policies)
    a_seed = seed if assumption_seed is None else int(assumption_seed)
    prior_list, values = assumption_draws(resolved, assumptions, a_seed)
    draws = list(range(assumptions)) if assumptions else [-1]
    specs = [
        RunSpec(
            sc,
            p,
            r,
            s,
            tuple(ivs if d < 0 else apply_draw(ivs, prior_list, values[d])),
            rhythm,
            float(scale),
            engine,
            years,
            d,
        )
        for p, (_label, ivs) in enumerate(resolved)
        for d in (draws if p else [-1])  # the baseline: no proposal, no draw
        for r, s in enumerate(seeds)
    ]
    from ..model.build import check_scale

    check_scale(sc, scale)
    schedules = [PolicySchedule(sc, list(sc.interventions) + ivs) for _label, ivs in resolved]
    own = executor is None
    ex = executor or make_executor(workers, scheduler, dask_local)
    try:
        results = _run_all(ex, specs, [label for label, _i in resolved], progress, on_result, fork)
    finally:
        if own:  # stops our workers without waiting for running or queued runs
            ex.close()
    pooled = _Pooled(results, len(seeds), draws)
    cmp = _assemble(
        sc, resolved, seeds * len(draws), years, pooled, schedules, rhythm, scale, engine
    )
    labels = cmp.meta["policies"]
    cmp.runs = _runs_by_draw(cmp.runs, labels[0], len(seeds), assumptions > 0)
    cmp.meta.update(replications=len(seeds), seeds=seeds, executor=ex.label)
    baseline = cmp.monthly.filter(pl.col("policy").cast(pl.String) == labels[0])
    stacks = {key: _monthly_stack(results, len(labels), draws, len(seeds), key) for key in MONTHLY}
    frames = uncertainty_frames(
        cmp.runs,
        stacks,
        labels,
        years,
        list(METRIC_LABELS),
        baseline["date"].to_list(),
        baseline["year"].to_numpy(),
        prior_list,
        values,
        rank_metric,
        drawn=assumptions > 0,
    )
    for name, frame in frames.items():
        setattr(cmp, name, frame)
    if assumptions:
        cmp.meta.update(
            assumptions=assumptions,
            assumption_seed=a_seed,
            priors=[prior_record(p) for p in prior_list],
            rank_metric=rank_metric,
        )
    return cmp


def check_assumptions(n: int) -> None:
    """Refuse a number of assumption draws that cannot spread: below 0, or 1."""
    if n < 0 or n == 1:
        raise ValueError(
            f"assumptions {n}: must be 0 (the central values) or at least 2 (draws of the priors)"
        )


class _Pooled(Mapping):
    """Results keyed ``(policy, k)`` with ``k = draw index × R + replication``, for the frames
    that pool the draws: the baseline's run of replication ``k mod R`` stands for every draw."""

    def __init__(self, results: dict[tuple[int, int, int], dict], n_rep: int, draws: list[int]):
        self.results, self.n_rep, self.draws = results, n_rep, draws

    def __getitem__(self, key: tuple[int, int]) -> dict:
        p, k = key
        d = -1 if p == 0 else self.draws[k // self.n_rep]
        return self.results[(p, d, k % self.n_rep)]

    def __iter__(self):
        n = self.n_rep * len(self.draws)
        return iter([(p, k) for p in sorted({p for p, _d, _r in self.results}) for k in range(n)])

    def __len__(self) -> int:
        return sum(1 for _cell in self)


def _runs_by_draw(runs: pl.DataFrame, baseline: str, n_rep: int, drawn: bool) -> pl.DataFrame:
    """The pooled ``runs`` frame back to one row per policy × draw × replication × year (the
    baseline's copies dropped), with a ``draw`` column after ``policy``."""
    is_base = pl.col("policy").cast(pl.String) == baseline
    k = pl.col("replication")
    out = runs.filter(~is_base | (k < n_rep)).with_columns(
        pl.when(is_base | (not drawn)).then(-1).otherwise(k // n_rep).cast(pl.Int64).alias("draw"),
        (k % n_rep).alias("replication"),
    )
    cols = ["policy", "draw", *[c for c in out.columns if c not in ("policy", "draw")]]
    return out.select(cols).sort("policy", "draw", "replication", "year")


def _monthly_stack(
    results: dict[tuple[int, int, int], dict], n_policies: int, draws: list[int], n_rep: int, key
) -> np.ndarray:
    """``(policies, draws, replications, months)`` of one monthly metric (baseline repeated)."""
    return np.stack(
        [
            np.stack(
                [
                    np.stack(
                        [results[(p, d if p else -1, r)]["monthly"][key] for r in range(n_rep)]
                    )
                    for d in draws
                ]
            )
            for p in range(n_policies)
        ]
    )


def _run_all(
    ex: Executor,
    specs: list[RunSpec],
    labels: list[str],
    progress: bool,
    on_result: Callable[[int, int], None] | None,
    fork: bool = True,
) -> dict[tuple[int, int, int], dict]:
    """Every run on the executor, one run per task; results keyed by (policy, draw,
    replication)."""
    results: dict[tuple[int, int, int], dict] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs), desc="compare", unit="run")
    try:
        with closing(map_runs(ex, specs, fork=fork)) as finished:
            for spec, res in finished:
                if "error" in res:
                    raise RunFailed(
                        labels[spec.policy], spec.replication, spec.seed, res["error"], spec.draw
                    ) from _RemoteTraceback(res["traceback"])
                results[(spec.policy, spec.draw, spec.replication)] = res
                if bar is not None:
                    bar.update(1)
                if on_result is not None:
                    on_result(len(results), len(specs))
    finally:
        if bar is not None:
            bar.close()
    return results


def _assemble(
    sc: Scenario,
    resolved: list[tuple[str, list[dict]]],
    seeds: list[int],
    years: tuple[int, ...],
    results: Mapping[tuple[int, int], dict],
    schedules: list[PolicySchedule],
    rhythm: str,
    scale: float,
    engine: str,
) -> Comparison:
    labels = [label for label, _ivs in resolved]
    n_rep = len(seeds)
    rows = []
    for p, label in enumerate(labels):
        for r, s in enumerate(seeds):
            for y, metrics in results[(p, r)]["years"].items():
                rows.append({"policy": label, "replication": r, "seed": s, "year": y, **metrics})
    runs = pl.DataFrame(rows).sort("policy", "replication", "year", maintain_order=True)
    runs = runs.with_columns(pl.col("policy").cast(pl.Enum(labels))).sort(
        "policy", "replication", "year"
    )

    def values(p: int, y: int, key: str) -> np.ndarray:
        return np.array([results[(p, r)]["years"][y][key] for r in range(n_rep)])

    summary_rows = []
    for p, label in enumerate(labels):
        for y in years:
            for key in METRIC_LABELS:
                x = values(p, y, key)
                mean, lo, hi = mean_ci(x)
                d_mean, d_lo, d_hi = mean_ci(x - values(0, y, key))
                summary_rows.append(
                    {
                        "policy": label,
                        "year": y,
                        "metric": key,
                        "mean": mean,
                        "ci_low": lo,
                        "ci_high": hi,
                        "diff": d_mean,
                        "diff_low": d_lo,
                        "diff_high": d_hi,
                        "n": n_rep,
                    }
                )
    summary = pl.DataFrame(summary_rows).with_columns(pl.col("policy").cast(pl.Enum(labels)))

    role_ids = sorted({k[5:] for k in results[(0, 0)]["years"][years[0]] if k.startswith("role_")})
    role_rows = []
    for p, label in enumerate(labels):
        for y in years:
            for rid in role_ids:
                mean, lo, hi = mean_ci(values(p, y, f"role_{rid}"))
                role_rows.append(
                    {
                        "policy": label,
                        "year": y,
                        "role": rid,
                        "fte": mean,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
    roles_schema = {
        "policy": pl.String,
        "year": pl.Int64,
        "role": pl.String,
        "fte": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    }
    roles = pl.DataFrame(role_rows, schema=roles_schema).with_columns(
        pl.col("policy").cast(pl.Enum(labels))
    )

    cost_rows = []
    for p, label in enumerate(labels):

        def monthly_diff(key: str, p: int = p) -> np.ndarray:
            return np.stack(
                [
                    results[(p, r)]["monthly"][key] - results[(0, r)]["monthly"][key]
                    for r in range(n_rep)
                ]
            )

        cost_rows += cost_rows_of(
            label,
            sc.start_year,
            years,
            [results[(p, r)]["costs"] for r in range(n_rep)],
            monthly_diff("fte_freed_all"),
            monthly_diff("fte_reinvested_all"),
            mean_ci,
        )
    cost = pl.DataFrame(cost_rows).with_columns(pl.col("policy").cast(pl.Enum(labels)))

    n_months = len(results[(0, 0)]["monthly"]["realised_all"])
    monthly_cols: dict[str, Any] = {
        "policy": np.repeat(labels, n_months).tolist(),
        "month": np.tile(np.arange(n_months), len(labels)),
    }
    monthly_cols["date"] = [month_label(sc, int(m)) for m in monthly_cols["month"]]
    monthly_cols["year"] = sc.start_year + monthly_cols["month"] / 12.0
    for key in MONTHLY:
        stack = np.stack(
            [
                np.stack([results[(p, r)]["monthly"][key] for r in range(n_rep)])
                for p in range(len(labels))
            ]
        )  # (policies, replications, months)
        mean = stack.mean(axis=1)
        if n_rep > 1:
            half = t_quantile(0.975, n_rep - 1) * stack.std(axis=1, ddof=1) / math.sqrt(n_rep)
        else:
            half = np.full_like(mean, np.nan)
        monthly_cols[key] = mean.ravel()
        monthly_cols[f"{key}_ci"] = half.ravel()
    monthly = pl.DataFrame(monthly_cols).with_columns(pl.col("policy").cast(pl.Enum(labels)))

    pol_rows = []
    for label, ivs in resolved:
        for iv in ivs:
            pol_rows.append(
                {
                    "policy": label,
                    "proposal": int(iv["proposal"]),
                    "start": iv.get("start") or sc.policy_start,
                    "end": iv.get("end") or "",
                    "intensity": float(iv.get("intensity", 1.0)),
                }
            )
    pol_schema = {
        "policy": pl.String,
        "proposal": pl.Int64,
        "start": pl.String,
        "end": pl.String,
        "intensity": pl.Float64,
    }
    policies_frame = pl.DataFrame(pol_rows, schema=pol_schema)

    from .. import __version__

    meta = {
        "scenario": sc.name,
        "rhythm": rhythm,
        "scale": scale,
        "engine": engine,
        "replications": n_rep,
        "seeds": seeds,
        "years": list(years),
        "policies": labels,
        "scenario_interventions": len(sc.interventions),
        "version": __version__,
    }
    return Comparison(runs, summary, roles, cost, monthly, policies_frame, meta)


__all__ = [  # run_one, run_task and the metrics live in .runs; imported from here too
    "METRIC_LABELS",
    "Comparison",
    "RunFailed",
    "RunSpec",
    "compare",
    "monthly_metrics",
    "run_one",
    "run_task",
    "year_metrics",
]
