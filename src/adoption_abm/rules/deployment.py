"""Establishments deploy the technology families they lack, as they mature and get cheaper."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..scenario.calendar import MONTHS, month_time, n_months, table_at
from .levers import Levers
from .memo import memo
from .stream import one_minus_exp_neg

if TYPE_CHECKING:
    from ..model.state import Establishments
    from ..scenario.schema import Scenario


# ---------------------------------------------------------------------------------------------
# Monthly: establishments
# ---------------------------------------------------------------------------------------------
def deployment_rates(
    scenario: Scenario, rhythm: str, t: float, share: np.ndarray, levers: Levers
) -> np.ndarray:
    """Yearly deployment hazard per (type, family) at decimal time ``t`` (see module doc)."""
    dep = scenario.deployment
    rates = base_rates(scenario, t)
    rates = rates * (1.0 + dep.peer_weight * share)
    return rates * scenario.rhythms[rhythm].deployment * levers.deployment


def base_rates(scenario: Scenario, t: float) -> np.ndarray:
    """``(types, families)``: base rate x maturity x affordability at time ``t``, before the
    peers, the rhythm and the levers (computed once per scenario and time, :mod:`.memo`; the
    first call for a scenario computes every month's mid-month time at once, which a batch
    whose runs each have their own scenario would otherwise do one month at a time)."""
    cache = memo(scenario).setdefault("deployment_base_rates", {})
    rates = cache.get(t)
    if rates is None:
        if not cache:
            months = range(1, n_months(scenario.start_year, scenario.end_year) + 1)
            cache.update(_base_rates_at(scenario, [month_mid_time(scenario, m) for m in months]))
        rates = cache.get(t)
        if rates is None:
            rates = cache[t] = _base_rates_at(scenario, [t])[t]
    return rates


def month_mid_time(scenario: Scenario, month: int) -> float:
    """Decimal year in the middle of month ``month``, when its deployment hazards are read."""
    return month_time(scenario, month) - 0.5 / MONTHS


def _base_rates_at(scenario: Scenario, times: list[float]) -> dict[float, np.ndarray]:
    """:func:`base_rates` at each of ``times`` (read-only arrays), each number computed as for
    that time alone (``table_at`` reads an array of times point by point)."""
    dep = scenario.deployment
    tech = scenario.technologies
    at = np.asarray(times, dtype=np.float64)
    rates = np.zeros((len(times), len(scenario.type_ids), scenario.n_families))
    for f, (fam, tc) in enumerate(tech.families.items()):
        maturity = table_at(tech.years, tc.maturity, at)
        cost = table_at(tech.years, tc.cost, at) / tc.cost[0]
        afford = np.array([math.pow(c, -dep.cost_elasticity) for c in cost.tolist()])
        for k, tid in enumerate(scenario.type_ids):
            rates[:, k, f] = dep.base_rate[tid][fam] * maturity * afford
    rates.setflags(write=False)
    return dict(zip(times, rates, strict=True))


def deployed_by_type(est: Establishments, n_types: int) -> np.ndarray:
    """``(types, families)`` int64: establishments of each type that have deployed each
    family (one ``bincount`` over type x family)."""
    n_fam = est.deployed.shape[1]
    cells = est.type.astype(np.int64)[:, None] * n_fam + np.arange(n_fam)
    counts = np.bincount(cells[est.deployed != 0], minlength=n_types * n_fam)
    return counts.reshape(n_types, n_fam).astype(np.int64, copy=False)


def month_rates(
    est: Establishments,
    scenario: Scenario,
    rhythm: str,
    month: int,
    levers: Levers,
    count: Callable[[Establishments, int], np.ndarray],
) -> np.ndarray:
    """``(types, families)`` yearly deployment hazards of ``month`` (at mid-month), from the
    share of each type's establishments that have deployed each family (``count``:
    :func:`deployed_by_type` or its compiled twin)."""
    n_types = len(scenario.type_ids)
    t = month_mid_time(scenario, month)
    n_by_type = np.bincount(est.type, minlength=n_types)
    share = count(est, n_types) / np.maximum(n_by_type, 1)[:, None]
    return deployment_rates(scenario, rhythm, t, share, levers)


def deployment_step(
    est: Establishments,
    scenario: Scenario,
    rhythm: str,
    month: int,
    levers: Levers,
    rng: np.random.Generator,
    funds: float = 0.0,
) -> tuple[int, int]:
    """Establishments decide this month's deployments (hazards at mid-month). Returns how many
    deployed, and how many of them were funded projects.

    With deployment bought as projects (``levers.deployment_bought``), an establishment whose
    draw falls below the hazard without the bought multiplier deploys as usual; one whose draw
    falls between that and the hazard with it is a candidate project, and up to ``floor(funds)``
    candidates are funded, lowest draws first (the same draws: nothing else changes).
    """
    n_fam = est.deployed.shape[1]
    rates = month_rates(est, scenario, rhythm, month, levers, deployed_by_type)
    prob = one_minus_exp_neg(rates / MONTHS)[est.type]
    draw = rng.random((est.n, n_fam))
    new = (est.deployed == 0) & (draw < prob)
    funded = 0
    if levers.deployment_bought is not None and funds >= 1.0:
        prob_bought = one_minus_exp_neg(rates * levers.deployment_bought / MONTHS)[est.type]
        cand = np.flatnonzero(((est.deployed == 0) & ~new & (draw < prob_bought)).ravel())
        if len(cand):
            take = cand[np.argsort(draw.ravel()[cand], kind="stable")[: int(funds)]]
            np.put(new, take, True)
            funded = len(take)
    est.deployed[new] = 1
    return int(new.sum()), funded
