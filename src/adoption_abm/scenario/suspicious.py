"""Values that pass the schema but are probably mistakes: the warnings of
``adoption-abm validate``.

Each check is a named function of a :class:`~adoption_abm.scenario.schema.Scenario` that yields
``(field, message)`` pairs; :data:`CHECKS` lists them and :func:`suspicious_values` runs them
all. The default scenario triggers none (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from ..i18n import _, general, percent
from .schema import Scenario

POTENTIAL_HIGH = 0.8
"""A profession whose families together free more than this share of its working time."""
TRAINING_CAPACITY_RANGE = (55.0, 90.0)
"""The range the default scenario states for ``behaviour.training_capacity`` (courses a year
per 1,000 professionals: 55, little headroom; 90, e-learning takes part of the demand)."""
LAST_YEAR = 2050
"""An end year beyond this one is far past the seeds' figures (2025 and 2030)."""
DEFAULT_SCALE = 0.01
"""``adoption-abm run``'s default ``--scale`` (``cli.run``)."""

Finding = tuple[str, str]


class Suspicion(NamedTuple):
    """A suspicious value: which check found it, the dotted field, and why."""

    check: str
    field: str
    message: str


def potential_above_80_percent(sc: Scenario) -> Iterator[Finding]:
    """A profession's potential (all families) above 80 % of its working time in some year."""
    years = sc.potential.years
    for pid, families in sc.potential.shares.items():
        for k, year in enumerate(years):
            total = sum(values[k] for values in families.values())
            if total > POTENTIAL_HIGH:
                yield (
                    f"potential.shares.{pid}",
                    _(
                        "{share} of working time freed in {year} (all families), above "
                        "{limit}: almost the whole job"
                    ).format(
                        share=percent(total, 0, space=False),
                        year=year,
                        limit=percent(POTENTIAL_HIGH, 0, space=False),
                    ),
                )


def rhythms_out_of_order(sc: Scenario) -> Iterator[Finding]:
    """A ``fast`` rhythm slower than ``slow`` (or ``central`` outside them) on a multiplier."""
    r = sc.rhythms
    if not {"slow", "central", "fast"} <= set(r):
        return
    for what in ("adoption", "deployment", "mastery"):
        slow, central, fast = (getattr(r[k], what) for k in ("slow", "central", "fast"))
        if fast < slow:
            yield (
                f"rhythms.fast.{what}",
                _("{fast} is below rhythms.slow.{what} {slow}: the fast rhythm is slower").format(
                    fast=general(fast), what=what, slow=general(slow)
                ),
            )
        elif not slow <= central <= fast:
            yield (
                f"rhythms.central.{what}",
                _(
                    "{central} is outside rhythms.slow.{what} {slow} and rhythms.fast.{what} {fast}"
                ).format(
                    central=general(central), what=what, slow=general(slow), fast=general(fast)
                ),
            )


def training_capacity_outside_range(sc: Scenario) -> Iterator[Finding]:
    """``behaviour.training_capacity`` outside its stated range (55-90)."""
    cap = sc.behaviour.training_capacity
    lo, hi = TRAINING_CAPACITY_RANGE
    if cap is not None and not lo <= cap <= hi:
        yield (
            "behaviour.training_capacity",
            _(
                "{capacity} courses a year per 1,000 professionals is outside the stated range "
                "{low}-{high}"
            ).format(capacity=general(cap), low=general(lo), high=general(hi)),
        )


def professions_without_agents(sc: Scenario) -> Iterator[Finding]:
    """A profession too small to get one agent at the default ``--scale`` (0.01): its largest
    cell rounds to zero (as ``model.build.agents_per_cell`` counts), so ``run`` refuses it."""
    for pid, prof in sc.professions.items():
        largest = prof.headcount * max(prof.spread.values(), default=0.0) * DEFAULT_SCALE
        if round(largest) == 0:
            yield (
                f"professions.{pid}.headcount",
                _(
                    "{headcount} professionals give zero agents at the default --scale "
                    "{scale}; runs need --scale above {minimum}"
                ).format(
                    headcount=general(prof.headcount),
                    scale=general(DEFAULT_SCALE),
                    minimum=general(0.5 / (largest / DEFAULT_SCALE), 3),
                )
                if largest > 0
                else _("{headcount} professionals in no establishment type").format(
                    headcount=general(prof.headcount)
                ),
            )


def end_year_beyond_2050(sc: Scenario) -> Iterator[Finding]:
    """An end year beyond 2050."""
    if sc.end_year > LAST_YEAR:
        yield (
            "end_year",
            _(
                "{year} is beyond {last}, far past the seeds' figures (2025 and 2030): "
                "the tables' values that far out are extrapolations"
            ).format(year=sc.end_year, last=LAST_YEAR),
        )


CHECKS: dict[str, Callable[[Scenario], Iterator[Finding]]] = {
    "potential_above_80_percent": potential_above_80_percent,
    "rhythms_out_of_order": rhythms_out_of_order,
    "training_capacity_outside_range": training_capacity_outside_range,
    "professions_without_agents": professions_without_agents,
    "end_year_beyond_2050": end_year_beyond_2050,
}
"""The named checks, in the order ``validate`` prints their warnings."""


def suspicious_values(sc: Scenario) -> list[Suspicion]:
    """Every warning of every check, in :data:`CHECKS` order."""
    return [
        Suspicion(name, field, message)
        for name, check in CHECKS.items()
        for field, message in check(sc)
    ]
