"""Courses and projects as activities with limits: what the budgets in force buy, and what the
trainers can deliver.

Training. Each month the professionals' step gives a course to an eligible professional
(a deployed family, not mastered, not trained) with probability ``p_i``. The month's expected
demand is ``D = Σ_eligible p_i``; ``D_free`` is the same with the probabilities the
professionals would have without the courses that policies buy (``pop.train_free``), and
``B = D - D_free`` the bought demand. Budgets in force fund ``U`` courses a month
(``Levers.course_funds`` x scale), so a share ``s = min(1, U / B)`` of the bought demand is
funded; the trainers deliver at most ``C`` courses a month (scenario ``training_capacity`` x
(1 + ``Levers.training_capacity``) x professionals / 12,000), so a share
``c = min(1, C / (D_free + s B))`` of the demand is served. The step then runs with
``c (p_free + s (p - p_free))``: the same uniforms, fewer courses. When neither limit binds
(``s = c = 1``) the probabilities are untouched, bit for bit.

Of the courses taken in the month, the expected share ``s B / (D_free + s B)`` is bought
(:func:`bought_courses`, at most the funds); it is shared among the buying interventions by
their weights (:attr:`Levers.course_buyers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..scenario.calendar import MONTHS
from .states import MASTERED

if TYPE_CHECKING:
    from ..model.state import Establishments, Population
    from ..scenario.schema import Scenario
    from .levers import Levers


@dataclass(frozen=True)
class Supply:
    """The month's training demand and what limits it (expected courses, in the model)."""

    demand: float  # Σ_eligible p_i: expected courses wanted
    demand_free: float  # the same without the bought courses
    funds: float  # courses the budgets in force pay for this month
    capacity: float  # courses the trainers can deliver this month (inf: unlimited)
    funded: float  # s: share of the bought demand funded
    served: float  # c: share of the (funded) demand the trainers serve

    @property
    def binds(self) -> bool:
        """Whether a limit changes the month's training probabilities."""
        return self.funded < 1.0 or self.served < 1.0

    @property
    def bought_share(self) -> float:
        """Expected share of the month's courses that are bought."""
        bought = self.funded * (self.demand - self.demand_free)
        total = self.demand_free + bought
        return bought / total if total > 0 else 0.0


def monthly_capacity(scenario: Scenario, levers: Levers, n_professionals: int) -> float:
    """Courses the trainers can deliver in a month, in the model (inf if unlimited)."""
    per_1000 = scenario.behaviour.training_capacity
    if per_1000 is None:
        return float("inf")
    return per_1000 * max(0.0, 1.0 + levers.training_capacity) * n_professionals / 1000 / MONTHS


FIXED = 2.0**40
"""Demand sums add each probability truncated to a multiple of 2**-40, as integers: exact and
independent of the order, so the compiled twin (``_kernels.training_demand``) is bit-identical."""

DemandFunction = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[int, int]
]


def training_demand(
    state: np.ndarray,
    trained: np.ndarray,
    deployed: np.ndarray,
    establishment: np.ndarray,
    train_prob: np.ndarray,
    train_free: np.ndarray,
) -> tuple[int, int]:
    """Σ of ``train_prob`` and of ``train_free`` over the professionals with an eligible
    family (deployed, not mastered, not trained), in fixed point (see :data:`FIXED`)."""
    eligible = ((deployed[establishment] == 1) & (state < MASTERED) & (trained == 0)).any(axis=1)
    want = (train_prob[eligible].astype(np.float64) * FIXED).astype(np.int64).sum()
    free = (train_free[eligible].astype(np.float64) * FIXED).astype(np.int64).sum()
    return int(want), int(free)


def training_supply(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    levers: Levers,
    scale: float,
    demand_function: DemandFunction = training_demand,
) -> Supply | None:
    """The month's :class:`Supply`, or None when nothing can limit it (no capacity set and no
    course bought). ``demand_function``: :func:`training_demand` or its compiled twin."""
    capacity = monthly_capacity(scenario, levers, pop.n)
    if capacity == float("inf") and pop.train_free is None:
        return None
    free_prob = pop.train_prob if pop.train_free is None else pop.train_free
    want, free_fixed = demand_function(
        pop.state, pop.trained, est.deployed, pop.establishment, pop.train_prob, free_prob
    )
    demand, free = want / FIXED, free_fixed / FIXED
    bought = max(0.0, demand - free)
    funds = levers.course_funds * scale
    funded = 1.0 if bought <= funds else funds / bought
    served_demand = free + funded * bought
    served = 1.0 if served_demand <= capacity else capacity / served_demand
    return Supply(demand, free, funds, capacity, funded, served)


def supplied_probability(pop: Population, supply: Supply) -> np.ndarray:
    """The training probabilities the month runs with: ``c (p_free + s (p - p_free))``."""
    p = pop.train_prob.astype(np.float64)
    if pop.train_free is not None and supply.funded < 1.0:
        free = pop.train_free.astype(np.float64)
        p = free + supply.funded * (p - free)
    return (supply.served * p).astype(np.float32)


def bought_courses(courses: float, supply: Supply | None) -> float:
    """This month's ``courses`` that policies bought: their expected bought share, at most
    what the budgets pay for (a draw above that is counted among the unbought courses)."""
    return 0.0 if supply is None else min(courses * supply.bought_share, supply.funds)
