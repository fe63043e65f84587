"""Technology generations (``mechanisms.generations``): when a family's new generation arrives,
its masters go back to using it with the mastery of the old one (the ``LEGACY`` bit), which gives
``carryover`` of the family's potential until they master the new generation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..scenario.calendar import month_index
from .memo import memo
from .states import LEGACY, MASTERED, USING

if TYPE_CHECKING:
    from ..model.state import Population
    from ..scenario.schema import Scenario


def releases_in(scenario: Scenario, month: int) -> list[int]:
    """Families (indices) whose new generation arrives at the start of step ``month``."""
    gen = scenario.mechanisms.generations
    if not gen.enabled:
        return []
    values = memo(scenario)
    by_month = values.get("releases")
    if by_month is None:  # once per scenario: release month -> families, in release order
        by_month = values["releases"] = {}
        for r in gen.releases:
            at = month_index(scenario.start_year, r.release)
            by_month.setdefault(at, []).append(scenario.families.index(r.family))
    return list(by_month.get(month, ()))


def release(pop: Population, family: int) -> int:
    """Masters of ``family`` become legacy users of its new generation; returns how many."""
    old = pop.state[:, family] == MASTERED
    pop.state[old, family] = USING
    pop.support[old, family] |= np.uint8(LEGACY)
    return int(old.sum())


def carryover(scenario: Scenario) -> np.ndarray:
    """(F,) share of each family's potential that a legacy user's old mastery gives (the latest
    release's; 0 for families without one)."""
    out = np.zeros(scenario.n_families)
    gen = scenario.mechanisms.generations
    if gen.enabled:
        fams = scenario.families
        for r in sorted(gen.releases, key=lambda r: r.release):
            out[fams.index(r.family)] = r.carryover
    return out
