"""Downgrading as a mechanism (``mechanisms.downgrading``): time freed for a non-medical
professional whose skill did not grow (and whose tasks were not opened upwards) lowers attitude,
each January."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .params import MonthParams
from .states import MASTERED
from .tallies import RISK_UNIT, shortfall_milli

if TYPE_CHECKING:
    from ..model.state import Population
    from ..scenario.schema import Scenario


def attitude_feedback(
    pop: Population, scenario: Scenario, par: MonthParams, potential: np.ndarray
) -> None:
    """``attitude -= attitude_effect · freed · shortfall`` for non-medical professionals, with
    ``freed = Σ_f potential_{p,f} · [masters f]`` (``potential``: (P, F) this month) and the
    shortfall of :func:`~adoption_abm.rules.tallies.shortfall_milli`; clipped to [0, 1]."""
    dg = scenario.mechanisms.downgrading
    if not dg.enabled or dg.attitude_effect == 0.0:
        return
    non_medical = np.array([p.group != "medical" for p in scenario.professions.values()])
    prof = pop.profession
    freed = ((pop.state == MASTERED) * potential[prof]).sum(axis=1)
    short = shortfall_milli(par, pop) / float(RISK_UNIT)
    loss = np.where(non_medical[prof], dg.attitude_effect * freed * short, 0.0)
    att = pop.attitude.astype(np.float64) - loss
    pop.attitude[...] = np.clip(att, 0.0, 1.0).astype(np.float32)
