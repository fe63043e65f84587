"""Policy interventions → levers. (Placeholder: the twenty proposals land in a later change.)"""

from __future__ import annotations

from typing import Any

from .population import Establishments, Population
from .rules import Levers
from .scenario import Scenario, ScenarioError


class PolicySchedule:
    """The levers in force each month, given a list of interventions."""

    def __init__(self, scenario: Scenario, interventions: list[Any], pop: Population, est: Establishments):
        if interventions:
            raise ScenarioError("interventions", [("interventions", "interventions are not supported yet")])
        self._neutral = Levers.neutral(len(scenario.professions), len(scenario.establishment_types))

    def levers_at(self, month: int) -> Levers:
        """Levers for month ``month``; the same object while nothing changes."""
        return self._neutral
