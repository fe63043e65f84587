"""What policies cost: activity-based spending per run, discounted, and cost per FTE-year freed.

A run's spending is the activity its interventions delivered times the unit costs
(:meth:`adoption_abm.policies.schedule.PolicySchedule.spending`): courses bought, projects
funded, mentoring hours, programme units. The comparison's ``cost`` frame gives, per policy and
report year, the mean over replications of:

* the year's spending (M€), by activity, and the budget ceilings committed;
* cumulative spending to the end of the year, plain and discounted at the catalogue's rate to
  the policy start year (``catalogue().discounting``);
* the FTE freed at the end of the year vs baseline (paired differences, 95 % CI) and the
  cumulative FTE-years freed to the end of the year (the monthly differences / 12, summed);
* ``cost_per_fte_year_keur``: cumulative discounted cost / cumulative FTE-years freed over the
  same horizon, in thousand euros (NaN when nothing is freed). It replaces the former "FTE per
  M€ spent that year", which divided an accumulated effect by one year's spending;
* ``cost_per_reinvested_fte_year_keur``: the same over the FTE-years reinvested in patient
  care, the measure for proposals that act on where freed time goes (14, 15, 18).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

ACTIVITY_KINDS = ("programme", "courses", "projects", "mentoring_hours")
"""The activities a policy pays for (:data:`adoption_abm.policies.catalogue.ActivityKind`)."""


def run_costs(model: Any) -> dict[str, np.ndarray]:
    """A finished run's monthly spending (M€, summed over interventions) by activity and in
    total, its discount factors, its budget ceilings and its national activity counts."""
    sched = model.policy
    activity = model.activity.arrays()
    spend = sched.spending(activity, model.scale)
    n = len(activity["courses"]) - 1
    out = {f"spend_{k}": spend[k].sum(axis=1) for k in ACTIVITY_KINDS}
    out["spend"] = spend["total"].sum(axis=1)
    out["budget"] = sched.budget_by_month(n)
    out["discount"] = sched.discount_factors(n)
    out["courses_bought"] = activity["bought"].sum(axis=1) / model.scale
    out["projects_funded"] = activity["projects"].sum(axis=1) / model.scale
    out["pairings"] = activity["pairings"] / model.scale
    out["courses"] = activity["courses"] / model.scale
    out["training_served"] = activity["served"]
    return out


def _year_sum(x: np.ndarray, start_year: int, year: int) -> float:
    lo = (year - start_year) * 12 + 1
    return float(x[lo : lo + 12].sum())


def _to_year(x: np.ndarray, start_year: int, year: int) -> float:
    return float(x[: (year - start_year + 1) * 12 + 1].sum())


def cost_rows(
    label: str,
    start_year: int,
    years: Sequence[int],
    costs: Sequence[dict[str, np.ndarray]],
    fte_diff: np.ndarray,
    reinvested_diff: np.ndarray,
    mean_ci: Any,
) -> list[dict[str, Any]]:
    """The ``cost`` frame's rows of one policy: ``costs`` one :func:`run_costs` per
    replication; ``fte_diff`` and ``reinvested_diff`` (replications, months + 1) the paired
    monthly differences to baseline of FTE freed and reinvested; ``mean_ci`` the comparison's
    mean-and-CI function."""
    rows = []
    months = fte_diff.shape[1]
    for y in years:
        end = (y - start_year + 1) * 12
        if end >= months:
            continue

        def mean(key: str, f=_year_sum, y: int = y) -> float:
            return float(np.mean([f(c[key], start_year, y) for c in costs]))

        spent = [_year_sum(c["spend"], start_year, y) for c in costs]
        cum = [_to_year(c["spend"], start_year, y) for c in costs]
        disc = [_to_year(c["spend"] * c["discount"], start_year, y) for c in costs]
        fte_years = fte_diff[:, : end + 1].sum(axis=1) / 12.0
        reinvested_years = reinvested_diff[:, : end + 1].sum(axis=1) / 12.0
        d_fte, d_lo, d_hi = mean_ci(fte_diff[:, end])
        r_fte, r_lo, r_hi = mean_ci(reinvested_diff[:, end])
        fy, fy_lo, fy_hi = mean_ci(fte_years)
        ry = float(np.mean(reinvested_years))
        c_mean, c_lo, c_hi = mean_ci(np.array(spent))
        d_cum = float(np.mean(disc))
        row = {
            "policy": label,
            "year": y,
            "cost_meur": c_mean,
            "cost_low": c_lo,
            "cost_high": c_hi,
            **{f"{k}_meur": mean(f"spend_{k}") for k in ACTIVITY_KINDS},
            "budget_meur": mean("budget"),
            "cumulative_budget_meur": mean("budget", _to_year),
            "cumulative_cost_meur": float(np.mean(cum)),
            "discounted_cost_meur": float(
                np.mean([_year_sum(c["spend"] * c["discount"], start_year, y) for c in costs])
            ),
            "cumulative_discounted_cost_meur": d_cum,
            "courses_bought": mean("courses_bought"),
            "projects_funded": mean("projects_funded"),
            "pairings": mean("pairings") / 12.0,  # average pairings in force in the year
            "fte_freed_diff": d_fte,
            "fte_freed_diff_low": d_lo,
            "fte_freed_diff_high": d_hi,
            "fte_reinvested_diff": r_fte,
            "fte_reinvested_diff_low": r_lo,
            "fte_reinvested_diff_high": r_hi,
            "fte_years_diff": fy,
            "fte_years_diff_low": fy_lo,
            "fte_years_diff_high": fy_hi,
            "cost_per_fte_year_keur": d_cum * 1000.0 / fy if d_cum > 0 and fy > 0 else math.nan,
            "fte_reinvested_years_diff": ry,
            "cost_per_reinvested_fte_year_keur": (
                d_cum * 1000.0 / ry if d_cum > 0 and ry > 0 else math.nan
            ),
        }
        rows.append(row)
    return rows
