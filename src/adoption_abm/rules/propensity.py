"""Each professional's adoption multiplier ψ (attitude and age) and monthly training probability,
recomputed every January, for entrants, and when policy levers change."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..scenario.calendar import age_bands
from ..scenario.schema import Scenario
from .levers import Levers

if TYPE_CHECKING:
    from ..model.state import Establishments, Population


# ---------------------------------------------------------------------------------------------
# Yearly: demography and per-professional multipliers
# ---------------------------------------------------------------------------------------------
def refresh(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rows: np.ndarray | None = None,
) -> None:
    """Recompute ψ (attitude and age multiplier) and the monthly training probability, for
    everyone or only for ``rows`` (this month's entrants).

    Ages are read on 1 January of the year of ``t`` (everyone is refreshed then), so a
    refresh in mid-year, for entrants or because policy levers changed, ages no one.
    """
    beh = scenario.behaviour
    idx = slice(None) if rows is None else rows
    profession = pop.profession[idx]
    n = len(profession)
    age = math.floor(t) - pop.birth[idx].astype(np.float64)
    psi = (1.0 + beh.attitude_effect * (pop.attitude[idx].astype(np.float64) - 0.5)) * (
        1.0 + beh.age_effect * ((age - 45.0) / 10.0)
    )
    access = pop.access[idx].astype(np.float64)
    train_mult = np.ones(n)
    # what the training probability would be without the courses bought (see rules.supply)
    bought = any(eff.bought for eff in levers.agent_effects)
    access_free, mult_free = access, train_mult
    if levers.agent_effects:
        band = age_bands(scenario.indicators.age_bands, age)
        etype = est.type[pop.establishment[idx]]
        for eff in levers.agent_effects:
            mask = np.ones(n, dtype=bool)
            if eff.professions is not None:
                mask &= eff.professions[profession]
            if eff.types is not None:
                mask &= eff.types[etype]
            if eff.age_bands is not None:
                mask &= eff.age_bands[band]
            psi = np.where(mask, psi * eff.adoption, psi)
            access = np.where(mask, access + eff.reach * (1.0 - access), access)
            train_mult = np.where(mask, train_mult * eff.training, train_mult)
            if not eff.bought:
                access_free = np.where(
                    mask, access_free + eff.reach * (1.0 - access_free), access_free
                )
                mult_free = np.where(mask, mult_free * eff.training, mult_free)
    prob = beh.training_rate * access * levers.training[profession] * train_mult
    if rows is None:
        pop.propensity = np.empty(pop.n, dtype=np.float32)
        pop.train_prob = np.empty(pop.n, dtype=np.float32)
        pop.train_free = np.empty(pop.n, dtype=np.float32) if bought else None
    pop.propensity[idx] = np.maximum(psi, beh.propensity_floor)
    pop.train_prob[idx] = np.clip(prob, 0.0, 1.0)
    if pop.train_free is not None:
        free = beh.training_rate * access_free * levers.training[profession] * mult_free
        pop.train_free[idx] = np.clip(free, 0.0, 1.0)
