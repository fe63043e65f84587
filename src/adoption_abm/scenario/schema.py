"""Scenario files: validated, frozen model inputs read from TOML.

A scenario holds every input of the model. Each block of numbers says where its numbers come
from: a ``source`` string for the whole block, or ``sources.<field>`` for one field. A number
that is not taken from a document says so with a source starting with "assumption".

Errors name the file, the field path and what is allowed (:class:`ScenarioError`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from ..i18n import _
from .blocks import Block
from .calendar import POLICY_START, month_index, n_months
from .errors import ScenarioError, _CrossError
from .interventions import Intervention, YearMonth, intervention_errors
from .mechanisms import Mechanisms
from .types import SHARE_TOL, Boost, Ident, NonNeg, Positive, Unit

MAX_FAMILIES = 4
"""Most technology families a scenario may list (the compiled kernel packs a professional's
states for all families into one byte: one 'uses' and one 'masters' bit per family)."""


GROUPS: tuple[str, ...] = ("medical", "non_medical")


RHYTHMS: tuple[str, ...] = ("slow", "central", "fast")


def _check_years(years: list[int]) -> list[int]:
    if len(years) < 2:
        raise ValueError(_("needs at least two years"))
    if any(b <= a for a, b in itertools.pairwise(years)):
        raise ValueError(_("years must be strictly increasing, got {years}").format(years=years))
    return years


def _check_shares(shares: Mapping[str, float], what: str) -> None:
    total = math.fsum(shares.values())
    if abs(total - 1.0) > SHARE_TOL:
        raise ValueError(
            _("{what} must sum to 1, they sum to {total:.6g}").format(what=what, total=total)
        )


# Upper bounds of the behavioural parameters: beyond them a value no longer means anything in the
# model (a hazard that makes the event certain in the first month, a slope that lets one
# attribute alone decide), so a value there is a typo or a unit mistake.
YEARLY_RATE_MAX = 50.0
"""A yearly hazard of 50 is a monthly probability of 1 - exp(-50/12) = 98.5 %: the event is
certain in month one, and a higher value changes nothing."""
YearlyRate = Annotated[float, Field(ge=0, le=YEARLY_RATE_MAX, allow_inf_nan=False)]
Slope = Annotated[float, Field(ge=0, le=20, allow_inf_nan=False)]
"""A multiplier slope on an attribute centred on 0.5 (attitude, skill): at 20 the multiplier
already runs from the floor to 11 across the attribute's range; beyond, the attribute alone
decides."""
Multiplier = Annotated[float, Field(gt=0, le=20, allow_inf_nan=False)]
"""A rhythm multiplier: x20 turns the slowest calibrated hazards into certainties."""

FamilyValues = dict[Ident, YearlyRate]
"""One number per technology family, keyed by the family's name (checked against the
scenario's families): a yearly hazard, at most :data:`YEARLY_RATE_MAX`."""
UnitFamilyValues = dict[Ident, Unit]


class Workforce(Block):
    total: Annotated[int, Field(gt=0)] = Field(
        description="Whole health workforce, the base the seeds' FTE figure refers to."
    )
    fte_per_head: Annotated[float, Field(gt=0, le=1.5, allow_inf_nan=False)] = 1.0


class AgeDistribution(Block):
    mean: Positive
    sd: Positive
    min: Positive
    max: Positive

    @model_validator(mode="after")
    def _ordered(self) -> AgeDistribution:
        if not self.min < self.mean < self.max:
            raise ValueError(
                _("need min < mean < max, got {min}, {mean}, {max}").format(
                    min=self.min, mean=self.mean, max=self.max
                )
            )
        return self


class Profession(Block):
    label: str
    group: Literal["medical", "non_medical"]
    headcount: Positive
    age: AgeDistribution
    entry_age: Positive = Field(description="Age at which new professionals enter the workforce.")
    retirement_age: tuple[Positive, Positive] = Field(
        description="Retirement age drawn uniformly between these two ages."
    )
    spread: dict[Ident, Unit] = Field(
        description="Share of the profession working in each establishment type (sums to 1)."
    )
    training_access: Unit = Field(
        description="Relative access to continuing training (1 = best served)."
    )

    @field_validator("spread")
    @classmethod
    def _spread_sums_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        _check_shares(v, _("spread shares"))
        return v

    @model_validator(mode="after")
    def _ages(self) -> Profession:
        lo, hi = self.retirement_age
        if lo > hi:
            raise ValueError(
                _("retirement_age must be (min, max) with min <= max, got {lo}, {hi}").format(
                    lo=lo, hi=hi
                )
            )
        if not self.age.min <= self.entry_age < lo:
            raise ValueError(
                _(
                    "entry_age {entry} must lie between age.min {min} and the lowest retirement "
                    "age {lo}"
                ).format(entry=self.entry_age, min=self.age.min, lo=lo)
            )
        return self


class EstablishmentType(Block):
    label: str
    count: Positive = Field(description="Number of establishments of this type in France.")
    size_sigma: Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)] = Field(
        description="Log-normal dispersion of establishment sizes; at most 5 (the largest of "
        "a thousand establishments would be e^15 times the median)."
    )
    team_size: Annotated[int, Field(ge=1, le=200)] = Field(
        description="Mean size of a team (unit, service) inside an establishment."
    )
    training_access: Unit = Field(description="Multiplier on staff's access to training.")


class Technology(Block):
    label: str = Field("", description="Name shown in charts; default: the family's key.")
    spontaneous: YearlyRate = Field(
        description="Bass p: yearly spontaneous adoption rate; at most 50 (a month-one certainty)."
    )
    peer: YearlyRate = Field(
        description="Bass q: yearly adoption rate per unit share of ties using; at most 50 (with "
        "every tie using, adoption is certain in month one)."
    )
    mastery_months: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = Field(
        description="Mean months from first use to mastery; at most 600 (50 years, longer than "
        "a career: no one would ever master it)."
    )
    maturity: list[Unit] = Field(description="Maturity index (0-1) at `technologies.years`.")
    cost: list[Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]] = Field(
        description="Cost index (first year = 1) at `technologies.years`; at most 100 (a "
        "hundredfold price: with cost_elasticity 1 the deployment hazard is near zero)."
    )
    initial_using: Unit = Field(
        description="Share of staff using (learning) on 1 January of the first year, "
        "in establishments that have deployed the family."
    )
    initial_mastered: Unit = Field(description="Share of such staff who have mastered it.")

    def title(self, key: str) -> str:
        """The label, or the family's key when the scenario gives none."""
        return self.label or key

    @model_validator(mode="after")
    def _initial(self) -> Technology:
        if self.initial_using + self.initial_mastered > 1 + SHARE_TOL:
            raise ValueError(_("initial_using + initial_mastered must not exceed 1"))
        return self


class Technologies(Block):
    """The technology families, in the order of their tables in the file: that order is the
    column order of every array with one column per family (states, deployments, tallies).

    In TOML each family is a table under ``[technologies]`` (``[technologies.ai]``, ...), beside
    ``years``; in Python they are ``families`` (``scenario.technologies["ai"]``).
    """

    years: list[int]
    families: dict[Ident, Technology] = Field(
        description="The technology families (one table each under [technologies])."
    )

    @model_validator(mode="before")
    @classmethod
    def _gather_families(cls, data: Any) -> Any:
        """Tables beside ``years`` are the families (the file's shape); keep Python's."""
        if isinstance(data, Mapping) and "families" not in data:
            reserved = {"years", "source", "sources"}
            data = {
                **{k: v for k, v in data.items() if k in reserved},
                "families": {k: v for k, v in data.items() if k not in reserved},
            }
        return data

    @model_serializer(mode="wrap")
    def _flatten_families(self, handler):  # back to the file's shape
        out = handler(self)
        return {**{k: v for k, v in out.items() if k != "families"}, **out["families"]}

    @field_validator("years")
    @classmethod
    def _years(cls, v: list[int]) -> list[int]:
        return _check_years(v)

    @field_validator("families")
    @classmethod
    def _n_families(cls, v: dict) -> dict:
        if not 1 <= len(v) <= MAX_FAMILIES:
            raise ValueError(
                _("needs between 1 and {max} technology families, got {n}").format(
                    max=MAX_FAMILIES, n=len(v)
                )
            )
        return v

    @model_validator(mode="after")
    def _lengths(self) -> Technologies:
        for fam, tech in self.families.items():
            for name in ("maturity", "cost"):
                if len(getattr(tech, name)) != len(self.years):
                    raise ValueError(
                        _("{field} has {n} values, years has {years}").format(
                            field=f"{fam}.{name}",
                            n=len(getattr(tech, name)),
                            years=len(self.years),
                        )
                    )
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The families' names, in column order."""
        return tuple(self.families)

    def family(self, f: int) -> Technology:
        """Family number ``f`` (its column in the arrays)."""
        return self.families[self.names[f]]

    def __getitem__(self, name: str) -> Technology:
        return self.families[name]


class Potential(Block):
    """Share of a profession's working time that each family frees once mastered."""

    years: list[int]
    shares: dict[Ident, dict[Ident, list[Unit]]]

    @field_validator("years")
    @classmethod
    def _years(cls, v: list[int]) -> list[int]:
        return _check_years(v)

    @model_validator(mode="after")
    def _shapes(self) -> Potential:
        n = len(self.years)
        for prof, fams in self.shares.items():
            for fam, vals in fams.items():
                if len(vals) != n:
                    raise ValueError(
                        _("{field} has {n} values, years has {years}").format(
                            field=f"shares.{prof}.{fam}", n=len(vals), years=n
                        )
                    )
            for k in range(n):
                total = sum(vals[k] for vals in fams.values())
                if total > 1 + SHARE_TOL:
                    raise ValueError(
                        _(
                            "{field} sums to {total:.3g} > 1 in {year}: a profession cannot "
                            "free more than all of its time"
                        ).format(field=f"shares.{prof}", total=total, year=self.years[k])
                    )
        return self


class Deployment(Block):
    """How establishments decide to deploy a family (yearly hazards)."""

    base_rate: dict[Ident, FamilyValues] = Field(
        description="Yearly deployment hazard per establishment type at maturity 1, cost 1, "
        "no deployed peers."
    )
    peer_weight: Boost = Field(
        description="Hazard multiplier slope on the share of same-type establishments "
        "that have deployed; at most 100 (x101 once all have: deployment is then certain)."
    )
    cost_elasticity: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = Field(
        description="Hazard ∝ (cost/first-year cost)^-elasticity; at most 10 (a cost index of "
        "0.5 already multiplies the hazard by 1,024)."
    )
    initial: dict[Ident, UnitFamilyValues] = Field(
        description="Share of establishments of each type that have deployed on 1 January."
    )


class Beta(Block):
    alpha: Positive
    beta: Positive


class Behaviour(Block):
    attitude: Beta
    skill: Beta
    skill_age_slope: Annotated[float, Field(ge=-0.1, le=0.1, allow_inf_nan=False)] = Field(
        description="Change of initial digital skill (0-1) per year of age; within ±0.1 (over "
        "the 40 years of working ages, 0.025 already spans the whole 0-1 range)."
    )
    entrant_skill_shift: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)] = Field(
        description="Extra digital skill (0-1 scale) of new entrants; within ±1 (the scale)."
    )
    attitude_effect: Slope = Field(
        description="Adoption multiplier slope on attitude - 0.5; at most 20 (attitude alone "
        "would decide)."
    )
    skill_effect: Slope = Field(
        description="Adoption multiplier slope on skill - 0.5; at most 20 (skill alone would "
        "decide)."
    )
    age_effect: Annotated[float, Field(ge=-2, le=2, allow_inf_nan=False)] = Field(
        description="Adoption multiplier slope per decade over 45; within ±2 (the multiplier "
        "then already runs from the floor to 7 across working ages)."
    )
    skill_mastery_effect: Slope = Field(
        description="Mastery-speed slope on skill - 0.5; at most 20 (skill alone would decide)."
    )
    propensity_floor: Annotated[float, Field(gt=0, le=1)] = Field(
        description="Lowest adoption multiplier anyone has."
    )
    training_rate: Unit = Field(
        description="Monthly probability of a training course for a fully served professional."
    )
    training_skill_gain: Unit = Field(description="Training moves skill this share towards 1.")
    training_capacity: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None,
        description="Trainers' capacity: courses a year per 1,000 professionals (all families); "
        "demand beyond it is not delivered (rules.supply). Absent: unlimited.",
    )
    training_adoption_boost: Boost = Field(
        description="Adoption rate x (1 + boost) once trained; at most 100 (x101: a certainty)."
    )
    training_mastery_boost: Boost = Field(
        description="Mastery rate x (1 + boost) once trained; at most 100 (x101: a certainty)."
    )


class NetworkParams(Block):
    team_ties: Annotated[int, Field(ge=0, le=64)]
    rewiring: Unit
    establishment_ties: Annotated[int, Field(ge=0, le=64)]
    professional_ties: Annotated[int, Field(ge=0, le=64)]


class Rhythm(Block):
    adoption: Multiplier = Field(
        description="Multiplier on professionals' adoption rates; at most 20 (see Multiplier)."
    )
    deployment: Multiplier = Field(
        description="Multiplier on establishments' deployment rates; at most 20."
    )
    mastery: Multiplier = Field(description="Multiplier on mastery speed; at most 20.")


class Indicators(Block):
    age_bands: list[Positive] = Field(description="Upper edges of the age bands (years).")

    @field_validator("age_bands")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError(_("age_bands must be strictly increasing, got {v}").format(v=v))
        return v


class Role(Block):
    """An emerging role whose demand grows with adoption (:mod:`adoption_abm.outputs.roles`)."""

    label: str
    families: list[Ident] = Field(description="Families whose use needs it.")
    states: Literal["adopters", "masters"] = Field(
        description="Count professionals who use or master ('adopters') or only those who master."
    )
    professions: list[Ident] | None = Field(None, description="Professions counted; default: all.")
    establishment_types: list[Ident] | None = Field(
        None, description="Types counted; default: all."
    )
    fte_per_1000: NonNeg = Field(description="FTE of the role per 1,000 counted professionals.")

    @model_serializer(mode="wrap")
    def _drop_none(self, handler):  # TOML has no null
        return {k: v for k, v in handler(self).items() if v is not None}


class Scenario(BaseModel):
    """Every input of a model run, validated. Build it with :func:`load_scenario`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    name: str
    title: str
    description: str = ""
    start_year: Annotated[int, Field(ge=1900, le=2200)]
    end_year: Annotated[int, Field(ge=1900, le=2200)]
    workforce: Workforce
    professions: dict[Ident, Profession]
    establishment_types: dict[Ident, EstablishmentType]
    technologies: Technologies
    potential: Potential
    deployment: Deployment
    behaviour: Behaviour
    network: NetworkParams
    rhythms: dict[Ident, Rhythm]
    indicators: Indicators
    mechanisms: Mechanisms = Field(
        default_factory=Mechanisms,
        description="The switchable mechanisms of the rules' version 2; left out: all off.",
    )
    policy_start: YearMonth = Field(
        POLICY_START,
        description="'YYYY-MM' from which interventions act unless they give their own start: "
        "January 2027 by default, the present of the model's users (a policy decided today "
        "cannot act in the past; earlier starts must be asked for explicitly).",
    )
    interventions: list[Intervention] = Field(
        default_factory=list, description="Policy interventions switched on in this scenario."
    )
    roles: dict[Ident, Role] = Field(
        default_factory=dict,
        description="Emerging roles and their ratios; empty: the package's roles.toml.",
    )

    @field_validator("professions")
    @classmethod
    def _n_professions(cls, v: dict) -> dict:
        if not 1 <= len(v) <= 64:
            raise ValueError(_("needs between 1 and 64 professions, got {n}").format(n=len(v)))
        return v

    @field_validator("establishment_types")
    @classmethod
    def _n_types(cls, v: dict) -> dict:
        if not 1 <= len(v) <= 32:
            raise ValueError(
                _("needs between 1 and 32 establishment types, got {n}").format(n=len(v))
            )
        return v

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        errors: list[tuple[tuple, str]] = []
        if self.end_year <= self.start_year:
            errors.append(
                (("end_year",), _("must be after start_year {year}").format(year=self.start_year))
            )
        types = list(self.establishment_types)
        profs = list(self.professions)
        fams = list(self.technologies.families)
        for pid, prof in self.professions.items():
            for t in prof.spread:
                if t not in types:
                    errors.append(
                        (
                            ("professions", pid, "spread", t),
                            _("unknown establishment type; allowed: {names}").format(names=types),
                        )
                    )
        for prof in self.potential.shares:
            if prof not in profs:
                errors.append(
                    (
                        ("potential", "shares", prof),
                        _("unknown profession; allowed: {names}").format(names=profs),
                    )
                )
        for prof in profs:
            if prof not in self.potential.shares:
                errors.append(
                    (("potential", "shares"), _("missing profession {name!r}").format(name=prof))
                )
        for name in ("base_rate", "initial"):
            table = getattr(self.deployment, name)
            for t in table:
                if t not in types:
                    errors.append(
                        (
                            ("deployment", name, t),
                            _("unknown establishment type; allowed: {names}").format(names=types),
                        )
                    )
            for t in types:
                if t not in table:
                    errors.append(
                        (
                            ("deployment", name),
                            _("missing establishment type {name!r}").format(name=t),
                        )
                    )
            for t, values in table.items():
                errors.extend(_family_errors(("deployment", name, t), values, fams))
        for prof, shares in self.potential.shares.items():
            errors.extend(_family_errors(("potential", "shares", prof), shares, fams))
        for r in RHYTHMS:
            if r not in self.rhythms:
                errors.append(
                    (
                        ("rhythms",),
                        _("missing rhythm {name!r}; need {names}").format(
                            name=r, names=list(RHYTHMS)
                        ),
                    )
                )
        for name, years in (
            ("technologies", self.technologies.years),
            ("potential", self.potential.years),
        ):
            if years[0] > self.start_year or years[-1] < self.end_year:
                errors.append(
                    (
                        (name, "years"),
                        _("must cover {start}-{end}, got {first}-{last}").format(
                            start=self.start_year, end=self.end_year, first=years[0], last=years[-1]
                        ),
                    )
                )
        if month_index(self.start_year, self.policy_start) < 1:
            errors.append(
                (
                    ("policy_start",),
                    _("{month} is before the first simulated month {first}").format(
                        month=self.policy_start, first=f"{self.start_year}-01"
                    ),
                )
            )
        else:  # a policy_start after the last month only matters to an intervention without start
            errors.extend(intervention_errors(self, self.interventions))
        for rid, role in self.roles.items():
            for name in role.families:
                if name not in fams:
                    errors.append(
                        (
                            ("roles", rid, "families"),
                            _("unknown family {name!r}; allowed: {names}").format(
                                name=name, names=fams
                            ),
                        )
                    )
            for key, known in (("professions", profs), ("establishment_types", types)):
                for name in getattr(role, key) or []:
                    if name not in known:
                        errors.append(
                            (
                                ("roles", rid, key),
                                _("unknown name {name!r}; allowed: {names}").format(
                                    name=name, names=known
                                ),
                            )
                        )
        errors.extend(_mechanism_errors(self.mechanisms, profs, fams))
        if errors:
            raise _CrossError(errors)
        return self

    # Convenience views -------------------------------------------------------------------
    @property
    def families(self) -> tuple[str, ...]:
        """The technology families' names, in the column order of every per-family array."""
        return self.technologies.names

    @property
    def n_families(self) -> int:
        return len(self.technologies.families)

    @property
    def policy_start_month(self) -> int:
        """Step at which interventions without a start of their own take effect."""
        return month_index(self.start_year, self.policy_start)

    @property
    def n_months(self) -> int:
        """Steps from January of ``start_year`` to December of ``end_year``."""
        return n_months(self.start_year, self.end_year)

    def check_rhythm(self, rhythm: str, label: str = "rhythm", field: str = "rhythm") -> str:
        """``rhythm`` if the scenario defines it, else a :class:`ScenarioError` naming ``label``
        and ``field`` with the rhythms allowed."""
        if rhythm not in self.rhythms:
            raise ScenarioError(
                label,
                [
                    (
                        field,
                        _("unknown rhythm {name!r}; allowed: {names}").format(
                            name=rhythm, names=list(self.rhythms)
                        ),
                    )
                ],
            )
        return rhythm

    @property
    def profession_ids(self) -> list[str]:
        return list(self.professions)

    @property
    def type_ids(self) -> list[str]:
        return list(self.establishment_types)


def _mechanism_errors(mech: Mechanisms, profs: list[str], fams: list[str]) -> list:
    """Errors of the mechanisms' tables: known families and professions, lengths that match."""
    errors = []
    co = mech.cohorts
    for fam, values in co.exposure.items():
        if fam not in fams:
            errors.append(
                (
                    ("mechanisms", "cohorts", "exposure", fam),
                    _("unknown family; allowed: {names}").format(names=fams),
                )
            )
        elif len(values) != len(co.years):
            errors.append(
                (
                    ("mechanisms", "cohorts", "exposure", fam),
                    _("has {n} values for {years} years").format(
                        n=len(values), years=len(co.years)
                    ),
                )
            )
    for prof in mech.resistance.share:
        if prof not in profs:
            errors.append(
                (
                    ("mechanisms", "resistance", "share", prof),
                    _("unknown profession; allowed: {names}").format(names=profs),
                )
            )
    for k, rel in enumerate(mech.generations.releases):
        if rel.family not in fams:
            errors.append(
                (
                    ("mechanisms", "generations", "releases", k, "family"),
                    _("unknown family {name!r}; allowed: {names}").format(
                        name=rel.family, names=fams
                    ),
                )
            )
    return errors


def _family_errors(path: tuple, values: Mapping[str, Any], families: list[str]) -> list:
    """Errors of a table keyed by family: every family present, no other."""
    errors = []
    missing = [f for f in families if f not in values]
    if missing:
        errors.append(
            (
                path,
                _("lacks families {missing}; the scenario's families: {names}").format(
                    missing=missing, names=families
                ),
            )
        )
    for name in values:
        if name not in families:
            errors.append(
                ((*path, name), _("unknown family; allowed: {names}").format(names=families))
            )
    return errors
