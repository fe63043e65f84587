"""Scenario files: validated, frozen model inputs read from TOML.

A scenario holds every input of the model. Each block of numbers says where its numbers come
from: a ``source`` string for the whole block, or ``sources.<field>`` for one field. A number
that is not taken from a document says so with a source starting with "assumption".

Errors name the file, the field path and what is allowed (:class:`ScenarioError`).
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

FAMILIES: tuple[str, ...] = ("ai", "digital", "robotics")
"""The three technology families, in the order used by every array (column 0, 1, 2)."""
GROUPS: tuple[str, ...] = ("medical", "non_medical")
RHYTHMS: tuple[str, ...] = ("slow", "central", "fast")
SHARE_TOL = 1e-6

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``errors`` is a list of ``(field path, message)``."""

    def __init__(self, file: str | Path, errors: list[tuple[str, str]]):
        self.file = str(file)
        self.errors = errors
        lines = [f"{self.file}: {path or '<root>'}: {msg}" for path, msg in errors]
        super().__init__("\n".join(lines))


class Block(BaseModel):
    """A group of inputs that share a source. Every number must be covered by a source."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    source: str = Field(
        "", description="Where the block's numbers come from, or 'assumption: why'."
    )
    sources: dict[str, str] = Field(
        default_factory=dict, description="Per-field sources, overriding `source`."
    )

    @model_validator(mode="after")
    def _every_number_has_a_source(self) -> Block:
        fields = type(self).model_fields
        for name in self.sources:
            if name not in fields or name in ("source", "sources"):
                allowed = sorted(n for n in fields if n not in ("source", "sources"))
                raise ValueError(f"sources names unknown field {name!r}; allowed: {allowed}")
        for name in fields:
            if name in ("source", "sources"):
                continue
            value = getattr(self, name)
            if _holds_numbers(value) and not (
                self.sources.get(name, "").strip() or self.source.strip()
            ):
                raise ValueError(
                    f'field {name!r} holds numbers but has no source: add `source = "..."` '
                    f'to the block or `sources.{name} = "..."` (a document, or '
                    "'assumption: ...')"
                )
        return self


def _holds_numbers(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, Block):
        return False  # a nested block carries its own sources
    if isinstance(value, Mapping):
        return any(_holds_numbers(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_numbers(v) for v in value)
    return False


def _check_years(years: list[int]) -> list[int]:
    if len(years) < 2:
        raise ValueError("needs at least two years")
    if any(b <= a for a, b in itertools.pairwise(years)):
        raise ValueError(f"years must be strictly increasing, got {years}")
    return years


def _check_shares(shares: Mapping[str, float], what: str) -> None:
    total = math.fsum(shares.values())
    if abs(total - 1.0) > SHARE_TOL:
        raise ValueError(f"{what} must sum to 1, they sum to {total:.6g}")


class FamilyValues(BaseModel):
    """One number per technology family."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ai: NonNeg
    digital: NonNeg
    robotics: NonNeg

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.ai, self.digital, self.robotics)


class UnitFamilyValues(FamilyValues):
    ai: Unit
    digital: Unit
    robotics: Unit


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
            raise ValueError(f"need min < mean < max, got {self.min}, {self.mean}, {self.max}")
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
        _check_shares(v, "spread shares")
        return v

    @model_validator(mode="after")
    def _ages(self) -> Profession:
        lo, hi = self.retirement_age
        if lo > hi:
            raise ValueError(f"retirement_age must be (min, max) with min <= max, got {lo}, {hi}")
        if not self.age.min <= self.entry_age < lo:
            raise ValueError(
                f"entry_age {self.entry_age} must lie between age.min {self.age.min} "
                f"and the lowest retirement age {lo}"
            )
        return self


class EstablishmentType(Block):
    label: str
    count: Positive = Field(description="Number of establishments of this type in France.")
    size_sigma: NonNeg = Field(description="Log-normal dispersion of establishment sizes.")
    team_size: Annotated[int, Field(ge=1, le=200)] = Field(
        description="Mean size of a team (unit, service) inside an establishment."
    )
    training_access: Unit = Field(description="Multiplier on staff's access to training.")


class Technology(Block):
    spontaneous: NonNeg = Field(description="Bass p: yearly spontaneous adoption rate.")
    peer: NonNeg = Field(description="Bass q: yearly adoption rate per unit share of ties using.")
    mastery_months: Positive = Field(description="Mean months from first use to mastery.")
    maturity: list[Unit] = Field(description="Maturity index (0-1) at `technologies.years`.")
    cost: list[Positive] = Field(description="Cost index (first year = 1) at `technologies.years`.")
    initial_using: Unit = Field(
        description="Share of staff using (learning) on 1 January of the first year, "
        "in establishments that have deployed the family."
    )
    initial_mastered: Unit = Field(description="Share of such staff who have mastered it.")

    @model_validator(mode="after")
    def _initial(self) -> Technology:
        if self.initial_using + self.initial_mastered > 1 + SHARE_TOL:
            raise ValueError("initial_using + initial_mastered must not exceed 1")
        return self


class Technologies(Block):
    years: list[int]
    ai: Technology
    digital: Technology
    robotics: Technology

    @field_validator("years")
    @classmethod
    def _years(cls, v: list[int]) -> list[int]:
        return _check_years(v)

    @model_validator(mode="after")
    def _lengths(self) -> Technologies:
        for fam in FAMILIES:
            tech: Technology = getattr(self, fam)
            for name in ("maturity", "cost"):
                if len(getattr(tech, name)) != len(self.years):
                    raise ValueError(
                        f"{fam}.{name} has {len(getattr(tech, name))} values, "
                        f"years has {len(self.years)}"
                    )
        return self

    def family(self, f: int) -> Technology:
        return getattr(self, FAMILIES[f])


class Potential(Block):
    """Share of a profession's working time that each family frees once mastered."""

    years: list[int]
    shares: dict[Ident, dict[Literal["ai", "digital", "robotics"], list[Unit]]]

    @field_validator("years")
    @classmethod
    def _years(cls, v: list[int]) -> list[int]:
        return _check_years(v)

    @model_validator(mode="after")
    def _shapes(self) -> Potential:
        n = len(self.years)
        for prof, fams in self.shares.items():
            missing = [f for f in FAMILIES if f not in fams]
            if missing:
                raise ValueError(f"shares.{prof} lacks families {missing}")
            for fam, vals in fams.items():
                if len(vals) != n:
                    raise ValueError(f"shares.{prof}.{fam} has {len(vals)} values, years has {n}")
            for k in range(n):
                total = sum(fams[f][k] for f in FAMILIES)
                if total > 1 + SHARE_TOL:
                    raise ValueError(
                        f"shares.{prof} sums to {total:.3g} > 1 in {self.years[k]}: "
                        "a profession cannot free more than all of its time"
                    )
        return self


class Deployment(Block):
    """How establishments decide to deploy a family (yearly hazards)."""

    base_rate: dict[Ident, FamilyValues] = Field(
        description="Yearly deployment hazard per establishment type at maturity 1, cost 1, "
        "no deployed peers."
    )
    peer_weight: NonNeg = Field(
        description="Hazard multiplier slope on the share of same-type establishments "
        "that have deployed."
    )
    cost_elasticity: NonNeg = Field(description="Hazard ∝ (cost/first-year cost)^-elasticity.")
    initial: dict[Ident, UnitFamilyValues] = Field(
        description="Share of establishments of each type that have deployed on 1 January."
    )


class Beta(Block):
    alpha: Positive
    beta: Positive


class Behaviour(Block):
    attitude: Beta
    skill: Beta
    skill_age_slope: Finite = Field(description="Change of initial digital skill per year of age.")
    entrant_skill_shift: Finite = Field(description="Extra digital skill of new entrants.")
    attitude_effect: NonNeg = Field(description="Adoption multiplier slope on attitude - 0.5.")
    skill_effect: NonNeg = Field(description="Adoption multiplier slope on skill - 0.5.")
    age_effect: Finite = Field(description="Adoption multiplier slope per decade over 45.")
    skill_mastery_effect: NonNeg = Field(description="Mastery-speed slope on skill - 0.5.")
    propensity_floor: Annotated[float, Field(gt=0, le=1)] = Field(
        description="Lowest adoption multiplier anyone has."
    )
    training_rate: Unit = Field(
        description="Monthly probability of a training course for a fully served professional."
    )
    training_skill_gain: Unit = Field(description="Training moves skill this share towards 1.")
    training_adoption_boost: NonNeg = Field(description="Adoption rate x (1 + boost) once trained.")
    training_mastery_boost: NonNeg = Field(description="Mastery rate x (1 + boost) once trained.")
    mentoring: bool = Field(False, description="Reverse mentoring switch (proposal 7).")
    mentoring_adoption: NonNeg = Field(
        description="Yearly adoption rate per unit share of younger ties who master the family."
    )
    mentoring_learning: NonNeg = Field(
        description="Mastery-rate slope on the share of younger ties who master the family."
    )
    mentoring_age_gap: NonNeg = Field(description="Years younger a tie must be to mentor.")
    downgrading_skill_gain: NonNeg = Field(
        description="Skill growth below which a paramedical's freed time counts as at risk."
    )


class NetworkParams(Block):
    team_ties: Annotated[int, Field(ge=0, le=64)]
    rewiring: Unit
    establishment_ties: Annotated[int, Field(ge=0, le=64)]
    professional_ties: Annotated[int, Field(ge=0, le=64)]


class Rhythm(Block):
    adoption: Positive = Field(description="Multiplier on professionals' adoption rates.")
    deployment: Positive = Field(description="Multiplier on establishments' deployment rates.")
    mastery: Positive = Field(description="Multiplier on mastery speed.")


class Indicators(Block):
    age_bands: list[Positive] = Field(description="Upper edges of the age bands (years).")

    @field_validator("age_bands")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError(f"age_bands must be strictly increasing, got {v}")
        return v


MAX_INTENSITY = 5.0
"""Largest intervention intensity accepted (1 = the catalogue's default strength)."""
N_PROPOSALS = 20
YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Targets(BaseModel):
    """Who a policy's per-agent effects reach; an absent list means everyone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    professions: list[Ident] | None = None
    establishment_types: list[Ident] | None = None
    age_bands: list[str] | None = Field(
        None, description="Age band names, e.g. '<30', '30-40', '>=60' (see indicators.age_bands)."
    )

    @field_validator("professions", "establishment_types", "age_bands")
    @classmethod
    def _non_empty_unique(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("must name at least one (leave the field out to reach everyone)")
            if len(set(v)) != len(v):
                raise ValueError(f"names a group twice: {v}")
        return v

    @model_serializer(mode="wrap")
    def _drop_none(self, handler):  # TOML has no null
        return {k: v for k, v in handler(self).items() if v is not None}


class Intervention(BaseModel):
    """One of the twenty proposals switched on (:mod:`adoption_abm.policies`, docs/POLICIES.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    proposal: Annotated[int, Field(strict=True, description="1-20, 2018 numbering.")]
    start: YearMonth | None = Field(
        None, description="'YYYY-MM' it takes effect; default: scenario start."
    )
    end: YearMonth | None = Field(
        None, description="Last month in force ('YYYY-MM'); default: to the end."
    )
    intensity: Annotated[float, Field(ge=0, le=MAX_INTENSITY, allow_inf_nan=False)] = Field(
        1.0, description="Scales every effect of the proposal; 1 = default strength, 0 = no effect."
    )
    targets: Targets | None = None
    cost: NonNeg | None = Field(
        None, description="Yearly cost in million euros; default: the catalogue's cost x intensity."
    )

    @field_validator("proposal")
    @classmethod
    def _known(cls, v: int) -> int:
        if not 1 <= v <= N_PROPOSALS:
            raise ValueError(
                f"unknown proposal {v}; allowed: 1-{N_PROPOSALS} (2018 numbering, docs/POLICIES.md)"
            )
        return v

    @model_serializer(mode="wrap")
    def _drop_none(self, handler):  # TOML has no null
        return {k: v for k, v in handler(self).items() if v is not None}


class Role(Block):
    """An emerging role whose demand grows with adoption (:mod:`adoption_abm.roles`)."""

    label: str
    families: list[Literal["ai", "digital", "robotics"]] = Field(
        description="Families whose use needs it."
    )
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


def age_band_names(edges: Iterable[float]) -> list[str]:
    """Names of the age bands cut at ``edges``: '<30', '30-40', ..., '>=60'."""
    e = [f"{x:g}" for x in edges]
    return [f"<{e[0]}"] + [f"{a}-{b}" for a, b in pairwise(e)] + [f">={e[-1]}"]


def month_index(start_year: int, year_month: str) -> int:
    """Step number of a 'YYYY-MM' month: 1 = January of ``start_year``."""
    y, m = (int(x) for x in year_month.split("-"))
    return (y - start_year) * 12 + m


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
            raise ValueError(f"needs between 1 and 64 professions, got {len(v)}")
        return v

    @field_validator("establishment_types")
    @classmethod
    def _n_types(cls, v: dict) -> dict:
        if not 1 <= len(v) <= 32:
            raise ValueError(f"needs between 1 and 32 establishment types, got {len(v)}")
        return v

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        errors: list[tuple[tuple, str]] = []
        if self.end_year <= self.start_year:
            errors.append((("end_year",), f"must be after start_year {self.start_year}"))
        types = list(self.establishment_types)
        profs = list(self.professions)
        for pid, prof in self.professions.items():
            for t in prof.spread:
                if t not in types:
                    errors.append(
                        (
                            ("professions", pid, "spread", t),
                            f"unknown establishment type; allowed: {types}",
                        )
                    )
        for prof in self.potential.shares:
            if prof not in profs:
                errors.append(
                    (("potential", "shares", prof), f"unknown profession; allowed: {profs}")
                )
        for prof in profs:
            if prof not in self.potential.shares:
                errors.append((("potential", "shares"), f"missing profession {prof!r}"))
        for name in ("base_rate", "initial"):
            table = getattr(self.deployment, name)
            for t in table:
                if t not in types:
                    errors.append(
                        (("deployment", name, t), f"unknown establishment type; allowed: {types}")
                    )
            for t in types:
                if t not in table:
                    errors.append((("deployment", name), f"missing establishment type {t!r}"))
        for r in RHYTHMS:
            if r not in self.rhythms:
                errors.append((("rhythms",), f"missing rhythm {r!r}; need {list(RHYTHMS)}"))
        for name, years in (
            ("technologies", self.technologies.years),
            ("potential", self.potential.years),
        ):
            if years[0] > self.start_year or years[-1] < self.end_year:
                errors.append(
                    (
                        (name, "years"),
                        f"must cover {self.start_year}-{self.end_year}, got {years[0]}-{years[-1]}",
                    )
                )
        errors.extend(intervention_errors(self, self.interventions))
        for rid, role in self.roles.items():
            for key, known in (("professions", profs), ("establishment_types", types)):
                for name in getattr(role, key) or []:
                    if name not in known:
                        errors.append(
                            (("roles", rid, key), f"unknown name {name!r}; allowed: {known}")
                        )
        if errors:
            raise _CrossError(errors)
        return self

    # Convenience views -------------------------------------------------------------------
    @property
    def profession_ids(self) -> list[str]:
        return list(self.professions)

    @property
    def type_ids(self) -> list[str]:
        return list(self.establishment_types)


class _CrossError(ValueError):
    """Several errors found after the fields parsed, each with its own path."""

    def __init__(self, errors: list[tuple[tuple, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in errors))


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    files = resources.files("adoption_abm").joinpath("scenarios")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def scenario_text(name_or_path: str | Path) -> tuple[str, str]:
    """Return ``(label, TOML text)`` of a built-in scenario name or a file path."""
    text_name = str(name_or_path)
    if text_name in builtin_scenarios():
        res = resources.files("adoption_abm").joinpath("scenarios", f"{text_name}.toml")
        return f"<built-in {text_name}>", res.read_text(encoding="utf-8")
    path = Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(
            path,
            [("", f"no such file, and not a built-in scenario; built-ins: {builtin_scenarios()}")],
        )
    try:
        return str(path), path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, [("", f"cannot read: {exc}")]) from None


def load_scenario(name_or_path: str | Path = "france-2022") -> Scenario:
    """Load and validate a scenario from a built-in name or a TOML file."""
    label, text = scenario_text(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(label, [("", f"not valid TOML: {exc}")]) from None
    return scenario_from_dict(data, label)


def scenario_from_dict(data: Mapping[str, Any], label: str = "<dict>") -> Scenario:
    """Validate a scenario given as nested dictionaries (e.g. parsed TOML)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(label, list(_format_errors(exc.errors()))) from None


def _format_errors(errors: Iterable[dict]) -> Iterable[tuple[str, str]]:
    for err in errors:
        loc = tuple(part for part in err.get("loc", ()) if part != "[key]")
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _CrossError):
            for path, msg in ctx_error.errors:
                yield ".".join(map(str, loc + tuple(path))), msg
            continue
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        kind = err.get("type", "")
        if kind == "missing":
            msg = "required field is missing"
        elif kind == "extra_forbidden":
            msg = "unknown field (not allowed here; check the spelling)"
        if "[key]" in tuple(err.get("loc", ())):
            msg = f"invalid key: {msg}"
        if (
            "input" in err
            and kind not in ("missing", "extra_forbidden")
            and not isinstance(err["input"], dict | list)
        ):
            msg += f" (got {err['input']!r})"
        yield ".".join(map(str, loc)), msg


def with_overrides(
    scenario: Scenario, overrides: Mapping[str, Any], label: str = "<overrides>"
) -> Scenario:
    """Return a copy of ``scenario`` with dotted-path fields replaced, re-validated.

    ``{"behaviour.mentoring": True, "technologies.ai.peer": 0.5}``. Unknown paths are errors.
    """
    data = scenario.model_dump()
    for dotted, value in overrides.items():
        node: Any = data
        parts = dotted.split(".")
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise ScenarioError(
                    label, [(".".join(parts[: i + 1]), "no such field in the scenario")]
                )
        last = parts[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            node[int(last)] = value
        elif isinstance(node, dict) and last in node:
            node[last] = value
        else:
            raise ScenarioError(label, [(dotted, "no such field in the scenario")])
    return scenario_from_dict(data, label)


def sourced_numbers(node: BaseModel, prefix: str = "") -> list[tuple[str, Any, str]]:
    """Every number of a scenario as ``(field path, value, source)``, for the parameter table."""
    rows: list[tuple[str, Any, str]] = []
    block_source = (
        node.source
        if isinstance(node, Block)
        else "scenario definition (simulated period), not a measurement"
    )
    per_field = node.sources if isinstance(node, Block) else {}
    for name in type(node).model_fields:
        if name in ("source", "sources"):
            continue
        value = getattr(node, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            rows.extend(sourced_numbers(value, f"{path}."))
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, BaseModel) for v in value.values())
        ):
            for key, child in value.items():
                if isinstance(child, Block):
                    rows.extend(sourced_numbers(child, f"{path}.{key}."))
                else:
                    rows.append(
                        (f"{path}.{key}", child.model_dump(), per_field.get(name) or block_source)
                    )
        elif _holds_numbers(value):
            rows.append((path, value, per_field.get(name) or block_source))
    return rows


# ---------------------------------------------------------------------------------------
# Interventions: checks that need the whole scenario
# ---------------------------------------------------------------------------------------
def intervention_errors(
    scenario: Scenario, interventions: list[Intervention], first_index: int = 0
) -> list[tuple[tuple, str]]:
    """Errors of ``interventions`` against ``scenario``, as ``((path...), message)``.

    Checks: start and end inside the simulated months and in order; target names known and
    accepted by the proposal's mechanism; no two entries of the same proposal in force in the
    same month for the same professionals.
    """
    from .policies import allowed_targets  # the catalogue of mechanisms (imports this module)

    errors: list[tuple[tuple, str]] = []
    first, last = f"{scenario.start_year}-01", f"{scenario.end_year}-12"
    n_months = (scenario.end_year - scenario.start_year + 1) * 12
    known = {
        "professions": list(scenario.professions),
        "establishment_types": list(scenario.establishment_types),
        "age_bands": age_band_names(scenario.indicators.age_bands),
    }
    spans: list[tuple[int, int, int, Intervention]] = []
    for k, iv in enumerate(interventions, start=first_index):
        path = ("interventions", k)
        lo = month_index(scenario.start_year, iv.start) if iv.start else 1
        hi = month_index(scenario.start_year, iv.end) if iv.end else n_months
        for name, value, when in (("start", iv.start, lo), ("end", iv.end, hi)):
            if value is not None and not 1 <= when <= n_months:
                errors.append(
                    ((*path, name), f"{value} is outside the simulated months {first} to {last}")
                )
        if iv.end is not None and hi < lo:
            errors.append(((*path, "end"), f"{iv.end} is before start {iv.start or first}"))
        if iv.targets is not None:
            allowed = allowed_targets(iv.proposal)
            for dim, names in known.items():
                given = getattr(iv.targets, dim)
                if given is None:
                    continue
                if dim not in allowed:
                    errors.append(
                        (
                            (*path, "targets", dim),
                            f"proposal {iv.proposal} cannot be restricted by {dim} (its mechanism "
                            f"acts on {_describe(allowed)}); allowed targets: "
                            f"{list(allowed) or 'none'}",
                        )
                    )
                for name in given:
                    if name not in names:
                        errors.append(
                            ((*path, "targets", dim), f"unknown name {name!r}; allowed: {names}")
                        )
        spans.append((k, lo, hi, iv))
    for a, (ka, lo_a, hi_a, iva) in enumerate(spans):
        for kb, lo_b, hi_b, ivb in spans[a + 1 :]:
            same = iva.proposal == ivb.proposal and _targets_meet(iva, ivb)
            if same and lo_a <= hi_b and lo_b <= hi_a:
                errors.append(
                    (
                        ("interventions", kb),
                        f"proposal {ivb.proposal} is already in force for the same professionals "
                        f"in the same months (interventions.{ka}); give them disjoint periods "
                        "(start/end) or disjoint targets, or one entry with a higher intensity",
                    )
                )
    return errors


def _describe(allowed: tuple[str, ...]) -> str:
    return "establishments or professions as a whole" if not allowed else ", ".join(allowed)


def _targets_meet(a: Intervention, b: Intervention) -> bool:
    """Whether two entries' targets share some professional (absent list = everyone)."""
    for dim in ("professions", "establishment_types", "age_bands"):
        x = getattr(a.targets, dim) if a.targets else None
        y = getattr(b.targets, dim) if b.targets else None
        if x is not None and y is not None and not set(x) & set(y):
            return False
    return True


_INTERVENTIONS = TypeAdapter(list[Intervention])


def validate_interventions(
    scenario: Scenario, items: Iterable[Any], label: str = "interventions"
) -> list[Intervention]:
    """Parse ``items`` (mappings or :class:`Intervention`) and check them together against
    ``scenario`` (pass the scenario's own interventions in ``items`` to check them with the
    others); raise :class:`ScenarioError` naming ``label`` and the field.
    """
    extra = [iv.model_dump() if isinstance(iv, Intervention) else iv for iv in items]
    try:
        parsed = _INTERVENTIONS.validate_python(extra)
    except ValidationError as exc:
        errs = [
            (f"interventions.{p}" if p else "interventions", m)
            for p, m in _format_errors(exc.errors())
        ]
        raise ScenarioError(label, errs) from None
    errors = intervention_errors(scenario, parsed)
    if errors:
        raise ScenarioError(label, [(".".join(map(str, p)), m) for p, m in errors])
    return parsed
