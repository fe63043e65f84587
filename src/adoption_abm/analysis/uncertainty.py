"""Monte-Carlo noise and assumption uncertainty, separated, for a comparison run under effect
draws (``compare(..., assumptions=N)``).

Policy ``p`` is run under every assumption draw ``d`` (one joint sample of the effect priors,
:mod:`adoption_abm.policies.priors`) and every replication seed ``r``; the baseline, which no
draw changes, once per seed. On the paired differences ``x[d, r] = y(p, d, r) - y(baseline, r)``
(same seed ``r``: common random numbers):

* ``D_d = mean_r x[d, r]``, the effect under draw ``d``; ``s²_d = var_r x[d, r]`` (ddof 1);
* Monte-Carlo half-width ``mc_half = t(0.975, R-1) · sqrt(mean_d s²_d / R)`` (NaN if R < 2):
  the noise left in one ``D_d``;
* ``var_d(D_d)`` counts the assumptions' spread plus that noise, so the assumption part is
  ``assumption_sd = sqrt(max(0, var_d(D_d) - mean_d s²_d / R))`` (a one-way random-effects
  decomposition), and ``share_assumption = assumption_sd² / var_d(D_d)``;
* the interval covering both: the 2.5 % and 97.5 % quantiles of ``D_d`` pushed out by
  ``mc_half`` (``low``, ``high``; NaN if R < 2: nothing measures the noise);
* ``p_beats_baseline``: the share of draws whose ``D_d`` is better than 0 (:data:`DIRECTION`).

Without draws (``assumptions = 0``) the central values are the one "draw": ``assumption_sd`` is
0 and the interval is the Monte-Carlo confidence interval of the paired difference.

Pairwise probabilities (``beats``) and rank distributions (``ranks``) compare the ``D_d`` of
every policy within each draw: draw ``d`` is the same joint sample for every policy, so a
proposal shared by two policies has the same effect in both.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from ..policies.priors import Prior, central, draw_values, priors

LEVEL = 0.95
"""Coverage of the intervals (the quantiles of the draws' effects are ``(1 ± LEVEL) / 2``)."""

DIRECTION: dict[str, int] = {
    "realised_all": 1,
    "realised_medical": 1,
    "realised_non_medical": 1,
    "fte_freed_all": 1,
    "fte_reinvested_all": 1,
    "multi_speed_gap": -1,
    "gap_profession": -1,
    "gap_age": -1,
    "gap_establishment": -1,
    "downgrading_risk": -1,
    "effectiveness_young": 1,
    "effectiveness_old": 1,
    "roles_fte": 1,
}
"""Which way is better for each metric of :data:`~adoption_abm.analysis.compare.METRIC_LABELS`:
+1 up (gains, FTE, effectiveness, demand for the new roles, which follows mastery), -1 down
(gaps and downgrading risk)."""


def _t(p: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, df))


def decompose(x: np.ndarray, level: float = LEVEL) -> dict[str, np.ndarray]:
    """The statistics of the module docstring for paired differences ``x`` of shape
    ``(..., draws, replications)``; each returned array has shape ``x.shape[:-2]``.

    Keys: ``mean``, ``median``, ``draw_low``, ``draw_high`` (quantiles of ``D_d``), ``mc_half``,
    ``assumption_sd``, ``share_assumption``, ``low``, ``high``.
    """
    x = np.asarray(x, dtype=np.float64)
    n_draws, n_rep = x.shape[-2], x.shape[-1]
    effect = x.mean(axis=-1)  # D_d
    q = (1.0 - level) / 2.0
    lo, med, hi = np.quantile(effect, [q, 0.5, 1.0 - q], axis=-1)
    shape = effect.shape[:-1]
    if n_rep >= 2:
        noise = x.var(axis=-1, ddof=1).mean(axis=-1) / n_rep  # mean_d s²_d / R
        mc_half = _t(0.5 + level / 2.0, n_rep - 1) * np.sqrt(noise)
    else:
        noise = np.full(shape, np.nan)
        mc_half = np.full(shape, np.nan)
    if n_draws >= 2:
        total = effect.var(axis=-1, ddof=1)
        assumption_var = np.maximum(0.0, total - noise)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, assumption_var / total, np.nan)
    else:  # the central values only: nothing is drawn
        total = np.zeros(shape)
        assumption_var = np.where(np.isnan(noise), np.nan, 0.0)
        share = np.where(np.isnan(noise), np.nan, 0.0)
    return {
        "mean": effect.mean(axis=-1),
        "median": med,
        "draw_low": lo,
        "draw_high": hi,
        "mc_half": mc_half,
        "assumption_sd": np.sqrt(assumption_var),
        "share_assumption": share,
        "low": lo - mc_half,
        "high": hi + mc_half,
    }


def draw_effects(runs: pl.DataFrame, labels: Sequence[str], metric: str, year: int) -> np.ndarray:
    """Paired differences to baseline of ``metric`` at the end of ``year``, shape
    ``(policies, draws, replications)``, from a comparison's ``runs`` frame (``labels[0]`` is the
    baseline, run once per seed with ``draw = -1``; every other policy under the same draws)."""
    d = runs.filter(pl.col("year") == year).select(
        pl.col("policy").cast(pl.String), "draw", "replication", metric
    )
    base = d.filter(pl.col("policy") == labels[0]).sort("replication")[metric].to_numpy()
    out = []
    for label in labels:
        if label == labels[0]:
            out.append(None)
            continue
        p = d.filter(pl.col("policy") == label).sort("draw", "replication")
        n_draws = p["draw"].n_unique()
        out.append(p[metric].to_numpy().reshape(n_draws, -1) - base)
    n_draws = max((a.shape[0] for a in out if a is not None), default=1)
    zero = np.zeros((n_draws, len(base)))
    return np.stack([zero if a is None else a for a in out])


def uncertainty_frame(
    runs: pl.DataFrame, labels: Sequence[str], years: Sequence[int], metrics: Sequence[str]
) -> pl.DataFrame:
    """Policy × year × metric: the decomposition of :func:`decompose` on the paired differences
    to baseline, and ``p_beats_baseline`` (NaN for the baseline itself)."""
    rows = []
    for y in years:
        for m in metrics:
            x = draw_effects(runs, labels, m, y)
            stats = decompose(x)
            sign = DIRECTION.get(m, 1)
            beats = (sign * x.mean(axis=-1) > 0).mean(axis=-1)
            for k, label in enumerate(labels):
                rows.append(
                    {
                        "policy": label,
                        "year": y,
                        "metric": m,
                        **{key: float(v[k]) for key, v in stats.items()},
                        "p_beats_baseline": math.nan if k == 0 else float(beats[k]),
                        "draws": x.shape[1],
                        "replications": x.shape[2],
                    }
                )
    return pl.DataFrame(rows).with_columns(pl.col("policy").cast(pl.Enum(list(labels))))


def beats_frame(
    runs: pl.DataFrame, labels: Sequence[str], years: Sequence[int], metric: str = "realised_all"
) -> pl.DataFrame:
    """Year × policy × other: ``p_beats``, the share of draws in which ``policy``'s effect is
    better than ``other``'s (strictly; the baseline's effect is 0)."""
    sign = DIRECTION.get(metric, 1)
    rows = []
    for y in years:
        effect = sign * draw_effects(runs, labels, metric, y).mean(axis=-1)  # (policies, draws)
        better = (effect[:, None, :] > effect[None, :, :]).mean(axis=-1)
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                if i != j:
                    rows.append(
                        {
                            "year": y,
                            "metric": metric,
                            "policy": a,
                            "other": b,
                            "p_beats": float(better[i, j]),
                        }
                    )
    enum = pl.Enum(list(labels))
    schema = {"year": pl.Int64, "metric": pl.String, "policy": enum, "other": enum}
    return pl.DataFrame(rows, schema={**schema, "p_beats": pl.Float64})


def ranks_frame(
    runs: pl.DataFrame, labels: Sequence[str], years: Sequence[int], metric: str = "realised_all"
) -> pl.DataFrame:
    """Year × policy × rank: ``share`` of draws in which the policy (baseline included) has that
    rank by its effect on ``metric`` (1 = best; ties share the best rank), and the policy's
    ``median_rank`` over draws."""
    from scipy.stats import rankdata

    sign = DIRECTION.get(metric, 1)
    n = len(labels)
    rows = []
    for y in years:
        effect = sign * draw_effects(runs, labels, metric, y).mean(axis=-1)
        rank = rankdata(-effect, method="min", axis=0).astype(np.int64)  # (policies, draws)
        for k, label in enumerate(labels):
            median = float(np.median(rank[k]))
            counts = np.bincount(rank[k], minlength=n + 1)[1:]
            for r in range(n):
                rows.append(
                    {
                        "year": y,
                        "metric": metric,
                        "policy": label,
                        "rank": r + 1,
                        "share": float(counts[r] / rank.shape[1]),
                        "median_rank": median,
                    }
                )
    return pl.DataFrame(rows).with_columns(pl.col("policy").cast(pl.Enum(list(labels))))


def bands_frame(
    monthly: Mapping[str, np.ndarray],
    labels: Sequence[str],
    dates: Sequence[str],
    years: np.ndarray,
    level: float = LEVEL,
) -> pl.DataFrame:
    """Policy × month, per metric of ``monthly`` (arrays ``(policies, draws, replications,
    months)``, policy 0 the baseline, whose draws are copies): the median over draws of the
    draw means (column ``<metric>``), the band of the draw means' quantiles
    (``<metric>_draw_low``, ``<metric>_draw_high``) and the Monte-Carlo half-width
    (``<metric>_mc_half``, as in :func:`decompose`); the same for the paired difference to
    baseline (``<metric>_diff``, ``<metric>_diff_draw_low``, ...)."""
    q = (1.0 - level) / 2.0
    n_months = len(dates)
    cols: dict[str, object] = {
        "policy": np.repeat(list(labels), n_months).tolist(),
        "month": np.tile(np.arange(n_months), len(labels)),
        "date": list(dates) * len(labels),
        "year": np.tile(years, len(labels)),
    }
    series = {}
    for key, stack in monthly.items():
        series[key] = stack
        series[f"{key}_diff"] = stack - stack[:1]
    for key, stack in series.items():
        means = stack.mean(axis=2)  # (policies, draws, months)
        lo, med, hi = np.quantile(means, [q, 0.5, 1.0 - q], axis=1)
        n_rep = stack.shape[2]
        if n_rep >= 2:
            noise = stack.var(axis=2, ddof=1).mean(axis=1) / n_rep
            half = _t(0.5 + level / 2.0, n_rep - 1) * np.sqrt(noise)
        else:
            half = np.full_like(med, np.nan)
        cols[key] = med.ravel()
        cols[f"{key}_draw_low"] = lo.ravel()
        cols[f"{key}_draw_high"] = hi.ravel()
        cols[f"{key}_mc_half"] = half.ravel()
    return pl.DataFrame(cols).with_columns(pl.col("policy").cast(pl.Enum(list(labels))))


# ---------------------------------------------------------------------------------------------
# The draws, and the frames of a comparison
# ---------------------------------------------------------------------------------------------
def assumption_draws(
    policies: Sequence[tuple[str, Sequence[dict]]], n: int, seed: int
) -> tuple[list[Prior], np.ndarray]:
    """The priors of every proposal the ``(label, interventions)`` policies use, and ``n`` joint
    draws of them (``(n, priors)``, a seeded Latin hypercube); with ``n = 0`` the central
    values as one row."""
    used = {int(iv["proposal"]) for _, ivs in policies for iv in ivs}
    prior_list = priors(used, unit_costs=True) if used else []
    if n == 0:
        return prior_list, central(prior_list)[None, :]
    if not prior_list:
        return prior_list, np.empty((n, 0))
    return prior_list, draw_values(prior_list, n, seed)


def prior_record(p: Prior) -> dict[str, object]:
    """A prior as a JSON-able record (for a comparison's ``meta``)."""
    return {"name": p.name, **dataclasses.asdict(p)}


def draws_frame(prior_list: Sequence[Prior], values: np.ndarray, drawn: bool) -> pl.DataFrame:
    """Draw × prior: the value every prior took in every draw (draw -1: the central values)."""
    rows = [
        {
            "draw": d if drawn else -1,
            "name": p.name,
            "proposal": p.proposal,
            "effect": p.effect,
            "channel": p.channel,
            "value": float(values[d, j]),
        }
        for d in range(values.shape[0])
        for j, p in enumerate(prior_list)
    ]
    schema = {
        "draw": pl.Int64,
        "name": pl.String,
        "proposal": pl.Int64,
        "effect": pl.Int64,
        "channel": pl.String,
        "value": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def uncertainty_frames(
    runs: pl.DataFrame,
    monthly: Mapping[str, np.ndarray],
    labels: Sequence[str],
    years: Sequence[int],
    metrics: Sequence[str],
    dates: Sequence[str],
    fractional_years: np.ndarray,
    prior_list: Sequence[Prior],
    values: np.ndarray,
    rank_metric: str = "realised_all",
    drawn: bool = True,
) -> dict[str, pl.DataFrame]:
    """The ``uncertainty``, ``beats``, ``ranks``, ``bands`` and ``draws`` frames of a comparison
    (``runs`` with its ``draw`` column; ``monthly`` as for :func:`bands_frame`)."""
    return {
        "uncertainty": uncertainty_frame(runs, labels, years, metrics),
        "beats": beats_frame(runs, labels, years, rank_metric),
        "ranks": ranks_frame(runs, labels, years, rank_metric),
        "bands": bands_frame(monthly, labels, dates, fractional_years),
        "draws": draws_frame(prior_list, values, drawn),
    }
