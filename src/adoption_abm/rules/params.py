"""The month's parameters: everything the professionals' step reads besides the state arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.calendar import MONTHS, month_time
from ..scenario.schema import Scenario
from .levers import Levers


# ---------------------------------------------------------------------------------------------
# The month's parameters: everything the professionals' step reads besides the state arrays.
# ---------------------------------------------------------------------------------------------
@dataclass
class MonthParams:
    """Inputs of one month's professional step (shared by the reference and the kernel)."""

    p: np.ndarray  # (3,) yearly spontaneous adoption
    q: np.ndarray  # (3,) yearly peer adoption per unit share of ties using
    adopt_mult: np.ndarray  # (P, 3) rhythm x policy x 1/12 (per month)
    master_mult: np.ndarray  # (P, 3) monthly mastery hazard (rhythm x policy / months)
    skill_effect: float
    skill_mastery_effect: float
    train_adopt_boost: float
    train_master_boost: float
    train_skill_gain: float
    mentoring: bool
    mentoring_adoption: float  # yearly, already x 1/12 inside adopt_mult
    mentoring_learning: float
    mentoring_gap: float
    risk_gain: float  # skill growth under which freed time counts as at risk
    t_end: float  # decimal year at the end of the month (ages for the tallies)
    age_edges: np.ndarray  # (B - 1,) upper edges of the age bands
    n_types: int


def month_params(scenario: Scenario, rhythm: str, month: int, levers: Levers) -> MonthParams:
    """Parameters of month ``month`` (1-based) for ``rhythm`` under ``levers``."""
    beh = scenario.behaviour
    rh = scenario.rhythms[rhythm]
    techs = list(scenario.technologies.families.values())
    p = np.array([tc.spontaneous for tc in techs])
    q = np.array([tc.peer for tc in techs])
    months = np.array([tc.mastery_months for tc in techs])
    mentoring = bool(beh.mentoring or levers.mentoring)
    return MonthParams(
        p=p,
        q=q,
        adopt_mult=levers.adoption * (rh.adoption / MONTHS),
        master_mult=levers.mastery * (rh.mastery / months)[None, :],
        skill_effect=beh.skill_effect,
        skill_mastery_effect=beh.skill_mastery_effect,
        train_adopt_boost=beh.training_adoption_boost * levers.training_boost,
        train_master_boost=beh.training_mastery_boost * levers.training_boost,
        train_skill_gain=beh.training_skill_gain * levers.training_skill_gain,
        mentoring=mentoring,
        mentoring_adoption=beh.mentoring_adoption * levers.mentoring_intensity
        if mentoring
        else 0.0,
        mentoring_learning=beh.mentoring_learning * levers.mentoring_intensity
        if mentoring
        else 0.0,
        mentoring_gap=beh.mentoring_age_gap,
        risk_gain=beh.downgrading_skill_gain,
        t_end=month_time(scenario, month),
        age_edges=np.asarray(scenario.indicators.age_bands, dtype=np.float64),
        n_types=len(scenario.establishment_types),
    )
