"""The month's tallies, from which every output is computed (:mod:`adoption_abm.outputs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..scenario.calendar import age_bands
from .params import MonthParams
from .states import LEGACY, MASTERED, N_STATES, USING

if TYPE_CHECKING:
    from ..model.state import Establishments, Population

RISK_UNIT = 1000
"""The downgrading shortfall is tallied in thousandths (integers, so sums are exact and the same
whichever engine adds them)."""


class MonthTally(NamedTuple):
    """One month's counts (what a step function returns).

    ``cube[prof, age band, establishment type, family, state]``: professionals;
    ``risk[prof, family]``: Σ over masters of the family of their downgrading shortfall, in
    thousandths (:func:`shortfall_milli`);
    ``legacy[prof, family]``: users of a new generation who master the previous one;
    ``courses[prof]``: courses taken this month.
    """

    cube: np.ndarray
    risk: np.ndarray
    legacy: np.ndarray
    courses: np.ndarray


def age_band(par: MonthParams, birth: np.ndarray) -> np.ndarray:
    """Age band of each professional at the end of the month (0 = youngest)."""
    age = par.t_end - birth.astype(np.float64)
    return age_bands(par.age_edges, age)


def shortfall_milli(par: MonthParams, pop: Population) -> np.ndarray:
    """Each professional's downgrading shortfall in thousandths:
    ``floor(1000 · clip(1 - (skill - skill on entry) / g, 0, 1) · (1 - opening_p))``,
    ``g`` = ``mechanisms.downgrading.skill_gain``, ``opening`` the tasks opened upwards."""
    growth = pop.skill.astype(np.float64) - pop.skill0.astype(np.float64)
    short = np.clip(1.0 - growth / par.risk_gain, 0.0, 1.0)
    short = short * par.risk_keep[pop.profession]
    return np.floor(short * float(RISK_UNIT)).astype(np.int64)


def tally(
    pop: Population,
    est: Establishments,
    par: MonthParams,
    state: np.ndarray,
    courses_of: np.ndarray | None = None,
) -> MonthTally:
    """The month's counts (:class:`MonthTally`); ``courses_of``: rows that took a course."""
    n_prof = int(par.adopt_mult.shape[0])
    n_fam = state.shape[1]
    n_band = len(par.age_edges) + 1
    band = age_band(par, pop.birth)
    etype = est.type[pop.establishment].astype(np.int64)
    cell = (pop.profession.astype(np.int64) * n_band + band) * par.n_types + etype
    idx = (cell[:, None] * n_fam + np.arange(n_fam)[None, :]) * N_STATES + state
    size = n_prof * n_band * par.n_types * n_fam * N_STATES
    cube = np.bincount(idx.ravel(), minlength=size).reshape(
        n_prof, n_band, par.n_types, n_fam, N_STATES
    )
    ridx = pop.profession.astype(np.int64)[:, None] * n_fam + np.arange(n_fam)[None, :]
    masters = state == MASTERED
    weight = np.broadcast_to(shortfall_milli(par, pop)[:, None], state.shape)
    risk = np.bincount(ridx[masters], weights=weight[masters], minlength=n_prof * n_fam)
    old = (state == USING) & ((pop.support & LEGACY) != 0)
    legacy = np.bincount(ridx[old], minlength=n_prof * n_fam)
    courses = np.zeros(n_prof, dtype=np.int64)
    if courses_of is not None and len(courses_of):
        courses = np.bincount(pop.profession[courses_of], minlength=n_prof).astype(np.int64)
    return MonthTally(
        cube.astype(np.int64),
        np.rint(risk).astype(np.int64).reshape(n_prof, n_fam),
        legacy.astype(np.int64).reshape(n_prof, n_fam),
        courses,
    )
