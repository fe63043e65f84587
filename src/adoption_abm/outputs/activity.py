"""What the policies in force deliver, month by month: courses bought, projects funded and
reverse-mentoring pairings, per intervention, and the training supply's limits. The policy
schedule prices it (:meth:`adoption_abm.policies.schedule.PolicySchedule.spending`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..rules.supply import Supply, bought_courses


@dataclass
class ActivityLog:
    """Monthly activity in the model's units (agents, not the nation: divide by the scale).

    Element ``m`` of each list is month ``m`` (month 0 is the initial state: no activity).
    """

    n_interventions: int
    courses: list[float] = field(default_factory=lambda: [0.0])  # all courses taken
    bought: list[np.ndarray] = field(default_factory=list)  # (K,) courses bought
    projects: list[np.ndarray] = field(default_factory=list)  # (K,) projects funded
    pairings: list[float] = field(default_factory=lambda: [0.0])  # pairings in force
    demand: list[float] = field(default_factory=lambda: [0.0])  # expected courses wanted
    capacity: list[float] = field(default_factory=lambda: [float("inf")])  # trainers' limit
    served: list[float] = field(default_factory=lambda: [1.0])  # share of demand served
    funded: list[float] = field(default_factory=lambda: [1.0])  # share of bought demand funded

    def __post_init__(self) -> None:
        if not self.bought:
            self.bought.append(np.zeros(self.n_interventions))
            self.projects.append(np.zeros(self.n_interventions))

    def record(
        self,
        courses: float,
        supply: Supply | None,
        course_buyers: tuple[tuple[int, float], ...],
        projects: int,
        project_buyers: tuple[tuple[int, float], ...],
        pairings: float,
    ) -> None:
        """Append one month."""
        k = self.n_interventions
        bought = np.zeros(k)
        n_bought = bought_courses(courses, supply)
        for i, share in course_buyers:
            bought[i] += n_bought * share
        funded = np.zeros(k)
        for i, share in project_buyers:
            funded[i] += projects * share
        self.courses.append(float(courses))
        self.bought.append(bought)
        self.projects.append(funded)
        self.pairings.append(float(pairings))
        self.demand.append(float("nan") if supply is None else supply.demand)
        self.capacity.append(float("inf") if supply is None else supply.capacity)
        self.served.append(1.0 if supply is None else supply.served)
        self.funded.append(1.0 if supply is None else supply.funded)

    def widened(self, n_interventions: int) -> ActivityLog:
        """A copy for ``n_interventions`` interventions, none of which has bought anything yet
        (what a model forked before any policy is in force records): the months so far, with
        zero courses bought and projects funded per intervention."""
        if any(b.any() for b in self.bought) or any(p.any() for p in self.projects):
            raise ValueError("the activity log has recorded purchases: it cannot be widened")
        months = len(self.courses)
        return ActivityLog(
            n_interventions,
            courses=list(self.courses),
            bought=[np.zeros(n_interventions) for _ in range(months)],
            projects=[np.zeros(n_interventions) for _ in range(months)],
            pairings=list(self.pairings),
            demand=list(self.demand),
            capacity=list(self.capacity),
            served=list(self.served),
            funded=list(self.funded),
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """Every series as an array: ``bought`` and ``projects`` are (months + 1, K)."""
        return {
            "courses": np.array(self.courses),
            "bought": np.vstack(self.bought),
            "projects": np.vstack(self.projects),
            "pairings": np.array(self.pairings),
            "demand": np.array(self.demand),
            "capacity": np.array(self.capacity),
            "served": np.array(self.served),
            "funded": np.array(self.funded),
        }
