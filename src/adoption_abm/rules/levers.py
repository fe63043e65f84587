"""Levers: what policies (and rhythms) change in the rules. Neutral by default; the policy
schedule (:mod:`adoption_abm.policies.schedule`) fills them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


# ---------------------------------------------------------------------------------------------
# Levers: what policies (and rhythms) change. Neutral by default; the policy layer fills them.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentEffect:
    """A policy effect on the professionals that match its masks (``None``: everyone).

    Evaluated by :func:`refresh` on the current population, so targets by age band follow
    people as they age and entrants inherit the effect of the post they take.
    """

    professions: np.ndarray | None = None  # (P,) bool
    types: np.ndarray | None = None  # (T,) bool, establishment types
    age_bands: np.ndarray | None = None  # (B,) bool, bands of ``indicators.age_bands``
    adoption: float = 1.0  # multiplier on ψ (adoption propensity)
    training: float = 1.0  # multiplier on the training probability
    reach: float = 0.0  # access <- access + reach * (1 - access)
    bought: bool = False  # the courses it adds are bought (funded within a budget)


@dataclass
class Levers:
    """Multipliers and switches that interventions act through. All neutral by default.

    Arrays are indexed ``[profession, family]`` (``P x F``), ``[type, family]`` (``T x F``)
    or ``[profession]``; effects on some professionals only are ``agent_effects``.
    """

    adoption: np.ndarray  # (P, F) multiplier on adoption hazards
    mastery: np.ndarray  # (P, F) multiplier on mastery hazards
    deployment: np.ndarray  # (T, F) multiplier on establishments' deployment hazards
    training: np.ndarray  # (P,) multiplier on training probability
    mentoring_take_up: float = 1.0  # multiplier on mechanisms.mentoring.take_up (proposal 7)
    mentoring_capacity: float = 1.0  # multiplier on mechanisms.mentoring.capacity
    support: float = 1.0  # multiplier on the discontinuance hazard (support for users)
    training_skill_gain: float = 1.0  # multiplier on the skill gained per course
    training_boost: float = 1.0  # multiplier on the adoption and mastery boosts of the trained
    entrant_skill_shift: np.ndarray | None = None  # (P,) extra skill of entrants
    entrant_attitude_shift: np.ndarray | None = None  # (P,) extra attitude of entrants
    entry_age_shift: np.ndarray | None = None  # (P,) years added to entry age
    entrant_exposure: np.ndarray | None = None  # (P,) extra share of entrants trained per family
    task_opening: np.ndarray | None = None  # (P,) share of the downgrading pressure removed
    training_capacity: float = 0.0  # trainers' capacity x (1 + this) (scenario capacity)
    course_funds: float = 0.0  # courses a month the budgets in force can buy (nationally)
    course_buyers: tuple[tuple[int, float], ...] = ()  # (intervention, share of the courses)
    deployment_bought: np.ndarray | None = None  # (T, F) deployment multiplier bought as projects
    project_funds: float = 0.0  # projects a month the budgets in force can fund (nationally)
    project_buyers: tuple[tuple[int, float], ...] = ()  # (intervention, share of the projects)
    agent_effects: tuple[AgentEffect, ...] = ()  # targeted effects, applied in order by refresh
    extra: dict = field(default_factory=dict)  # free room for output-side levers

    @classmethod
    def neutral(cls, n_professions: int, n_types: int, n_families: int) -> Levers:
        """Levers that change nothing (every multiplier 1, every switch off)."""
        return cls(
            adoption=np.ones((n_professions, n_families)),
            mastery=np.ones((n_professions, n_families)),
            deployment=np.ones((n_types, n_families)),
            training=np.ones(n_professions),
        )
