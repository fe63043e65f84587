"""Who arrives with what: initial training by graduation cohort, attitude by age and resisters
(``mechanisms.cohorts`` and ``mechanisms.resistance``), for the initial population and for
entrants alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .states import USING

if TYPE_CHECKING:
    from ..model.state import Population
    from ..scenario.schema import Scenario


def attitude_by_age(scenario: Scenario, attitude: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Attitude shifted by ``attitude_age_slope · (age - 45)`` and clipped to [0, 1] (cohorts
    on); unchanged otherwise."""
    co = scenario.mechanisms.cohorts
    if not co.enabled or co.attitude_age_slope == 0.0:
        return attitude
    return np.clip(attitude + co.attitude_age_slope * (age - 45.0), 0.0, 1.0)


def initial_training(
    pop: Population,
    scenario: Scenario,
    rows: np.ndarray,
    graduation: np.ndarray,
    rng: np.random.Generator,
    extra: np.ndarray | None = None,
    deployed: np.ndarray | None = None,
) -> None:
    """Mark ``rows`` trained on family ``f`` with probability ``exposure_f(graduation year) +
    extra`` (``extra``: the entrant-exposure lever of proposals 1-3, per row). Entrants
    (``deployed`` given: (len(rows), F), their establishment's deployments) who were exposed to
    a family their establishment has deployed arrive using it. One uniform per row and family
    with an exposure table, in family order; nothing drawn with cohorts off."""
    co = scenario.mechanisms.cohorts
    if not co.enabled or len(rows) == 0:
        return
    years = np.asarray(co.years, dtype=np.float64)
    for f, fam in enumerate(scenario.families):
        values = co.exposure.get(fam)
        if values is None:
            continue
        share = np.interp(graduation, years, np.asarray(values, dtype=np.float64))
        if extra is not None:
            share = share + extra
        hit = rng.random(len(rows)) < np.clip(share, 0.0, 1.0)
        pop.trained[rows[hit], f] = 1
        if deployed is not None:
            pop.state[rows[hit & (deployed[:, f] == 1)], f] = USING


def draw_resisters(
    pop: Population,
    scenario: Scenario,
    rows: np.ndarray,
    age: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Resisters among ``rows``: probability ``share_p · (1 + age_slope · (age - 45) / 10)``,
    clipped to [0, 1]. One uniform per row; nothing drawn with resistance off."""
    res = scenario.mechanisms.resistance
    if not res.enabled or len(rows) == 0:
        return
    by_prof = np.array([res.share.get(p, 0.0) for p in scenario.profession_ids])
    share = by_prof[pop.profession[rows]] * (1.0 + res.age_slope * (age - 45.0) / 10.0)
    pop.resist[rows] = (rng.random(len(rows)) < np.clip(share, 0.0, 1.0)).astype(np.uint8)
