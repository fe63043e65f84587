"""Demography: professionals who reach their retirement age are replaced, in the same post and
ties, by entrants."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..scenario.schema import Scenario
from .cohorts import attitude_by_age, draw_resisters, initial_training
from .levers import Levers
from .memo import memo
from .states import NOT_USING

if TYPE_CHECKING:
    from ..model.state import Establishments, Population


def career_ages(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per profession: entry age and the retirement-age range's bounds (once per scenario)."""
    m = memo(scenario)
    ages = m.get("career_ages")
    if ages is None:
        profs = scenario.professions.values()
        ages = m["career_ages"] = (
            np.array([p.entry_age for p in profs]),
            np.array([p.retirement_age[0] for p in profs]),
            np.array([p.retirement_age[1] for p in profs]),
        )
    return ages


def replace_retirees(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replace the professionals who reached their retirement age by time ``t`` (start of the
    month) with entrants in the same posts and ties; return their rows.

    Runs every month, so retirements and arrivals spread over the year as birthdays do.
    Entrants use nothing; with ``mechanisms.cohorts`` on they arrive trained on each family
    with their graduation cohort's exposure (plus proposals 1-3's lever) and with an attitude
    that depends on their age; with ``mechanisms.resistance`` on, some are resisters.
    Draws from ``rng`` only for the replaced, in row order (the mechanisms' draws after the
    others, and only when switched on). The caller refreshes them.
    """
    age = t - pop.birth.astype(np.float64)
    out = np.flatnonzero(age >= pop.retire_age)
    k = len(out)
    if k:
        beh = scenario.behaviour
        prof = pop.profession[out]
        entry_age, lo_age, hi_age = career_ages(scenario)
        entry = entry_age[prof]
        if levers.entry_age_shift is not None:
            entry = entry + levers.entry_age_shift[prof]
        entry = entry + rng.uniform(-1.0, 1.0, k)
        lo = lo_age[prof]
        hi = hi_age[prof]
        attitude = rng.beta(beh.attitude.alpha, beh.attitude.beta, k)
        skill = rng.beta(beh.skill.alpha, beh.skill.beta, k)
        retire = rng.uniform(lo, hi)
        skill = skill + beh.skill_age_slope * (entry - 45.0) + beh.entrant_skill_shift
        if levers.entrant_skill_shift is not None:
            skill = skill + levers.entrant_skill_shift[prof]
        if levers.entrant_attitude_shift is not None:
            attitude = attitude + levers.entrant_attitude_shift[prof]
        pop.birth[out] = (t - entry).astype(np.float32)
        pop.retire_age[out] = retire.astype(np.float32)
        attitude = attitude_by_age(scenario, np.clip(attitude, 0.0, 1.0), entry)
        pop.attitude[out] = np.clip(attitude, 0.0, 1.0).astype(np.float32)
        pop.skill[out] = np.clip(skill, 0.0, 1.0).astype(np.float32)
        pop.skill0[out] = pop.skill[out]
        pop.state[out] = NOT_USING
        pop.trained[out] = 0
        pop.support[out] = 0
        pop.resist[out] = 0
        extra = None if levers.entrant_exposure is None else levers.entrant_exposure[prof]
        deployed = est.deployed[pop.establishment[out]]
        initial_training(pop, scenario, out, t, rng, extra, deployed)
        draw_resisters(pop, scenario, out, entry, rng)
    return out
