"""Scenario blocks of the mechanisms added in version 2 of the rules (docs/ODD.md, "Mechanisms").

Each block has an ``enabled`` switch, so that a sensitivity run can isolate it. A scenario that
leaves a block out gets it switched off: the rules are then those of version 1, bit for bit
(the built-in scenario switches every one on, with each number's source). The equations are in
the docstrings of :mod:`adoption_abm.rules` and in docs/ODD.md.
"""

from __future__ import annotations

import itertools
from typing import Annotated

from pydantic import Field, field_validator

from ..i18n import _
from .blocks import Block
from .interventions import YearMonth
from .types import Boost, Ident, Unit

Hours = Annotated[float, Field(ge=0, le=160, allow_inf_nan=False)]
"""Hours in a month: at most 160, a full month of work."""
Age = Annotated[float, Field(ge=15, le=80, allow_inf_nan=False)]


class Cohorts(Block):
    """Item 1: initial training by graduation cohort, and attitude by age.

    A professional who graduated in year ``g`` (birth + the profession's entry age) arrives
    trained on family ``f`` with probability ``exposure_f(g)`` (linear between ``years``; flat
    outside), plus the entrant-exposure lever of proposals 1-3 for those who enter while it is
    in force. Attitude on entry shifts by ``attitude_age_slope x (age - 45)``.
    """

    enabled: bool = Field(False, description="Cohort exposure and attitude by age on or off.")
    years: list[int] = Field(
        default_factory=lambda: [2000, 2040], description="Graduation years of `exposure`."
    )
    exposure: dict[Ident, list[Unit]] = Field(
        default_factory=dict,
        description="Per family, share of a graduation cohort trained on it in initial training.",
    )
    attitude_age_slope: Annotated[float, Field(ge=-0.05, le=0.05, allow_inf_nan=False)] = Field(
        0.0,
        description="Change of attitude (0-1) per year of age over 45 on entry; within ±0.05 "
        "(over 40 years of ages, 0.025 already spans the whole scale).",
    )

    @field_validator("years")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if len(v) < 2 or any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError(
                _("needs at least two strictly increasing years, got {years}").format(years=v)
            )
        return v


class Mentoring(Block):
    """Item 2: reverse mentoring as transfer, through explicit pairings.

    Every January, for each family, professionals younger than ``mentor_max_age`` who master it
    volunteer with probability ``take_up``; each takes up to ``capacity`` colleagues of their
    establishment aged ``mentee_min_age`` or more who have not mastered it (and whose
    establishment has deployed it), in random order. A mentee's adoption hazard is multiplied by
    ``1 + adoption_boost`` and mastery hazard by ``1 + mastery_boost`` for the year. Mentor and
    mentee each spend ``hours_per_month`` on it (learning time).
    """

    enabled: bool = Field(False, description="Reverse mentoring pairings on or off.")
    mentor_max_age: Age = Field(40.0, description="Mentors are younger than this (years).")
    mentee_min_age: Age = Field(50.0, description="Mentees are at least this old (years).")
    take_up: Unit = Field(
        0.0, description="Yearly probability that an eligible young master mentors."
    )
    capacity: Annotated[float, Field(ge=0, le=20, allow_inf_nan=False)] = Field(
        0.0, description="Mentees per mentor per year; at most 20 (more than a team)."
    )
    adoption_boost: Boost = Field(0.0, description="Mentee's adoption hazard x (1 + boost).")
    mastery_boost: Boost = Field(0.0, description="Mentee's mastery hazard x (1 + boost).")
    hours_per_month: Hours = Field(0.0, description="Hours a month for mentor and mentee each.")


class Resistance(Block):
    """Item 3: resisters (Rogers' laggards) adopt only under strong peer pressure.

    On entry (and at build) a professional is a resister with probability
    ``share_p x (1 + age_slope x (age - 45) / 10)`` (clipped to [0, 1]). A resister's adoption
    hazard is multiplied by ``factor`` while the share of its ties using the family is below
    ``peer_threshold``; at or above it, the hazard is everyone's.
    """

    enabled: bool = Field(False, description="Resisters on or off.")
    share: dict[Ident, Unit] = Field(
        default_factory=dict, description="Per profession, share of resisters at age 45."
    )
    age_slope: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)] = Field(
        0.0, description="Relative change of the share per decade over 45; within ±1."
    )
    peer_threshold: Unit = Field(
        1.0, description="Share of ties using above which resisters adopt."
    )
    factor: Unit = Field(0.0, description="Resister's hazard multiplier below the threshold.")


class Discontinuance(Block):
    """Item 3: users abandon a tool they have not mastered.

    Monthly, a professional using family ``f`` without mastering it returns to not using it
    with probability ``1 - exp(-d)``, ``d = rate / 12 x (1 - trained_cut)^trained x
    (1 - mentored_cut)^mentored x support`` (``support``: the policy lever, 1 without policy).
    """

    enabled: bool = Field(False, description="Discontinuance on or off.")
    rate: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = Field(
        0.0, description="Yearly hazard of abandoning; at most 10 (a month-one near-certainty)."
    )
    trained_cut: Unit = Field(0.0, description="Hazard x (1 - cut) once trained on the family.")
    mentored_cut: Unit = Field(0.0, description="Hazard x (1 - cut) while mentored on it.")


class Release(Block):
    """A new generation of a family: from ``release``, masters of the family go back to using it
    with their old mastery (``legacy``), which gives ``carryover`` of the family's potential until
    they master the new generation."""

    family: Ident
    name: str
    release: YearMonth = Field(description="'YYYY-MM' the generation arrives.")
    carryover: Unit = Field(description="Share of the potential that old mastery still gives.")


class Generations(Block):
    """Item 4: technology generations and obsolescence of mastery (see :class:`Release`).

    Relearning is faster than learning: a legacy user's mastery hazard is multiplied by
    ``1 + relearn_boost``.
    """

    enabled: bool = Field(False, description="Generations on or off.")
    relearn_boost: Boost = Field(0.0, description="Mastery hazard x (1 + boost) when relearning.")
    releases: list[Release] = Field(default_factory=list)


class Learning(Block):
    """Item 5: learning takes working time (gross, learning and net time freed).

    Learning time of a month, as a share of working time: ``(hours_per_course x courses +
    mentoring hours + hours_while_using x professionals using a family without mastering it) /
    (working_hours_per_month x professionals)``.
    """

    enabled: bool = Field(False, description="Learning time counted or not.")
    hours_per_course: Hours = Field(0.0, description="Hours of one course.")
    hours_while_using: Hours = Field(
        0.0, description="Hours a month spent learning a family one uses but has not mastered."
    )
    working_hours_per_month: Annotated[float, Field(gt=0, le=744, allow_inf_nan=False)] = Field(
        1607.0 / 12.0, description="Working hours in a month of one FTE."
    )


class Downgrading(Block):
    """Item 6: downgrading as a mechanism, with a continuous risk.

    A master's shortfall is ``max(0, 1 - (skill - skill on entry) / skill_gain) x (1 -
    opening_p)`` (``opening``: tasks opened upwards by proposals 15 and 18). The risk indicator
    is the share of the non-medical professions' freed time weighted by shortfall, by
    profession. Each January, with ``enabled``, a non-medical professional's attitude falls by
    ``attitude_effect x freed x shortfall`` (``freed``: the share of its working time its
    mastered families free).
    """

    enabled: bool = Field(False, description="Attitude feedback on or off.")
    skill_gain: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        0.10, description="Skill growth (0-1) that removes the shortfall (no risk beyond it)."
    )
    attitude_effect: Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)] = Field(
        0.0, description="Yearly attitude loss per unit of freed share at full shortfall."
    )


class Mechanisms(Block):
    """The switchable mechanisms of version 2 (each block's own switch is ``enabled``)."""

    cohorts: Cohorts = Field(default_factory=Cohorts)
    mentoring: Mentoring = Field(default_factory=Mentoring)
    resistance: Resistance = Field(default_factory=Resistance)
    discontinuance: Discontinuance = Field(default_factory=Discontinuance)
    generations: Generations = Field(default_factory=Generations)
    learning: Learning = Field(default_factory=Learning)
    downgrading: Downgrading = Field(default_factory=Downgrading)


MECHANISM_NAMES: tuple[str, ...] = tuple(
    name for name in Mechanisms.model_fields if name not in ("source", "sources")
)
"""The mechanisms' names, in the order of the ``[mechanisms.*]`` blocks."""
CORE_RULES: dict[str, bool] = {f"mechanisms.{name}.enabled": False for name in MECHANISM_NAMES}
"""Overrides that switch every mechanism of version 2 off: the core rules (version 1's, bit for
bit), which the naive baseline implements."""
