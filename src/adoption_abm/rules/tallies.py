"""The month's tallies, from which every output is computed (:mod:`adoption_abm.outputs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..scenario.calendar import age_bands
from .params import MonthParams
from .states import MASTERED, N_STATES

if TYPE_CHECKING:
    from ..model.state import Establishments, Population


def age_band(par: MonthParams, birth: np.ndarray) -> np.ndarray:
    """Age band of each professional at the end of the month (0 = youngest)."""
    age = par.t_end - birth.astype(np.float64)
    return age_bands(par.age_edges, age)


def tally(
    pop: Population, est: Establishments, par: MonthParams, state: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The month's counts, from which every output is computed.

    ``cube[prof, age band, establishment type, family, state]``: professionals;
    ``risk[prof, family]``: professionals who master the family but whose digital skill grew by
    less than ``risk_gain`` since they entered (downgrading risk).
    """
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
    grew = (pop.skill.astype(np.float64) - pop.skill0.astype(np.float64)) < par.risk_gain
    at_risk = (state == MASTERED) & grew[:, None]
    ridx = pop.profession.astype(np.int64)[:, None] * n_fam + np.arange(n_fam)[None, :]
    risk = np.bincount(ridx[at_risk], minlength=n_prof * n_fam).reshape(n_prof, n_fam)
    return cube.astype(np.int64), risk.astype(np.int64)
