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

    p: np.ndarray  # (F,) yearly spontaneous adoption
    q: np.ndarray  # (F,) yearly peer adoption per unit share of ties using
    adopt_mult: np.ndarray  # (P, F) rhythm x policy x 1/12 (per month)
    master_mult: np.ndarray  # (P, F) monthly mastery hazard (rhythm x policy / months)
    quit_mult: np.ndarray  # (P, F) monthly discontinuance hazard (0: none)
    risk_keep: np.ndarray  # (P,) share of the downgrading pressure left (1 - task opening)
    skill_effect: float
    skill_mastery_effect: float
    train_adopt_boost: float
    train_master_boost: float
    train_skill_gain: float
    mentor_adopt_boost: float  # mentee's adoption hazard x (1 + boost)
    mentor_master_boost: float  # mentee's mastery hazard x (1 + boost)
    relearn_boost: float  # legacy user's mastery hazard x (1 + boost)
    resist_threshold: float  # share of ties using from which resisters adopt as others
    resist_factor: float  # resister's hazard multiplier below the threshold
    quit_trained_keep: float  # discontinuance x this once trained (1 - trained_cut)
    quit_mentored_keep: float  # discontinuance x this while mentored (1 - mentored_cut)
    risk_gain: float  # skill growth that removes the downgrading shortfall
    t_end: float  # decimal year at the end of the month (ages for the tallies)
    age_edges: np.ndarray  # (B - 1,) upper edges of the age bands
    n_types: int


def month_params(scenario: Scenario, rhythm: str, month: int, levers: Levers) -> MonthParams:
    """Parameters of month ``month`` (1-based) for ``rhythm`` under ``levers``."""
    beh = scenario.behaviour
    mech = scenario.mechanisms
    rh = scenario.rhythms[rhythm]
    techs = list(scenario.technologies.families.values())
    p = np.array([tc.spontaneous for tc in techs])
    q = np.array([tc.peer for tc in techs])
    months = np.array([tc.mastery_months for tc in techs])
    ment, res, disc = mech.mentoring, mech.resistance, mech.discontinuance
    n_prof = levers.adoption.shape[0]
    quit_rate = disc.rate * levers.support / MONTHS if disc.enabled else 0.0
    opening = np.zeros(n_prof) if levers.task_opening is None else levers.task_opening
    return MonthParams(
        p=p,
        q=q,
        adopt_mult=levers.adoption * (rh.adoption / MONTHS),
        master_mult=levers.mastery * (rh.mastery / months)[None, :],
        quit_mult=np.full(levers.adoption.shape, quit_rate),
        risk_keep=np.clip(1.0 - opening, 0.0, 1.0),
        skill_effect=beh.skill_effect,
        skill_mastery_effect=beh.skill_mastery_effect,
        train_adopt_boost=beh.training_adoption_boost * levers.training_boost,
        train_master_boost=beh.training_mastery_boost * levers.training_boost,
        train_skill_gain=beh.training_skill_gain * levers.training_skill_gain,
        mentor_adopt_boost=ment.adoption_boost if ment.enabled else 0.0,
        mentor_master_boost=ment.mastery_boost if ment.enabled else 0.0,
        relearn_boost=mech.generations.relearn_boost if mech.generations.enabled else 0.0,
        resist_threshold=res.peer_threshold if res.enabled else 0.0,
        resist_factor=res.factor if res.enabled else 1.0,
        quit_trained_keep=1.0 - disc.trained_cut,
        quit_mentored_keep=1.0 - disc.mentored_cut,
        risk_gain=mech.downgrading.skill_gain,
        t_end=month_time(scenario, month),
        age_edges=np.asarray(scenario.indicators.age_bands, dtype=np.float64),
        n_types=len(scenario.establishment_types),
    )
