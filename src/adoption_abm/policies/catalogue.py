"""The catalogue of the twenty proposals (``proposals.toml``): what each proposal is, the
channels of :class:`adoption_abm.rules.levers.Levers` it acts through, with the assumption or
source of every number, its cost and the outputs it claims to move (docs/POLICIES.md renders it).

The catalogue is input data: it imports nothing else of the package, so the scenario's checks of
interventions (which targets a proposal accepts) can read it."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

FamilyName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
"""A technology family's name, as scenarios spell it (``[technologies.<name>]``)."""
MAX_INTENSITY = 5.0
"""Largest intervention intensity accepted (1 = the catalogue's default strength)."""
N_PROPOSALS = 20

Channel = Literal[
    "adoption",
    "adoption_family",
    "mastery",
    "deployment",
    "training",
    "reach",
    "skill_gain",
    "training_boost",
    "mentoring_take_up",
    "mentoring_capacity",
    "support",
    "entrant_skill",
    "entrant_attitude",
    "entry_age",
    "entrant_exposure",
    "task_opening",
    "reinvestment",
    "training_capacity",
]


TARGETS_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    "adoption": ("professions", "establishment_types", "age_bands"),
    "training": ("professions", "establishment_types", "age_bands"),
    "reach": ("professions", "establishment_types", "age_bands"),
    "adoption_family": ("professions",),
    "mastery": ("professions",),
    "entrant_skill": ("professions",),
    "entrant_attitude": ("professions",),
    "entry_age": ("professions",),
    "reinvestment": ("professions",),
    "deployment": ("establishment_types",),
    "skill_gain": (),
    "training_boost": (),
    "mentoring_take_up": (),
    "mentoring_capacity": (),
    "support": (),
    "entrant_exposure": ("professions",),
    "task_opening": ("professions",),
    "training_capacity": (),
}
"""Which target dimensions each channel can be restricted by (per agent, per profession, ...)."""


SHIFT_CHANNELS = (
    "entrant_skill",
    "entrant_attitude",
    "entry_age",
    "entrant_exposure",
    "task_opening",
    "reinvestment",
    "training_capacity",
)
"""Channels whose value is added (a shift); the others multiply (1 + value)."""

INFORMATION_BOUND = 0.05
"""Largest multiplier effect (high end of a prior) an information-only proposal may have:
printed educational materials change professional practice by a median +2.0 points (range 0 to
+11) and audit and feedback by +4.3 points (interquartile range +0.5 to +16) [Giguère et al.
2012, Cochrane CD004398; Ivers et al. 2012, Cochrane CD000259]. Read as a multiplier on a
monthly hazard, +5 % is the upper end of what information alone can do."""

ActivityKind = Literal["courses", "projects", "mentoring_hours", "programme"]
"""What a proposal's money buys: continuing-education courses (counted by the model, funded
from the proposal's yearly budget and limited by trainers), establishments' deployment projects
(counted by the model, funded within the budget), mentoring hours (pairings counted by the
model), or a programme of fixed units a year (a study, a consultation, an agency's mandate)."""

METRICS = (
    "realised_all",
    "fte_freed_all",
    "fte_reinvested_all",
    "downgrading_risk",
    "multi_speed_gap",
    "effectiveness_young",
    "effectiveness_old",
)
"""Outputs a proposal's claims may name (see :func:`adoption_abm.analysis.compare.year_metrics`)."""


# ---------------------------------------------------------------------------------------------
# The catalogue (proposals.toml)
# ---------------------------------------------------------------------------------------------
class Effect(BaseModel):
    """One effect of a proposal at intensity 1 (see the header of proposals.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel
    value: Annotated[float, Field(allow_inf_nan=False, description="Central value of the prior.")]
    low: Annotated[float, Field(allow_inf_nan=False, description="Low end of the prior.")]
    high: Annotated[float, Field(allow_inf_nan=False, description="High end of the prior.")]
    distribution: Literal["triangular", "uniform"] = Field(
        "triangular",
        description="Shape of the prior on [low, high]: triangular with mode `value`, or "
        "uniform (then `value` is the point used without assumption draws).",
    )
    buys: Literal["courses", "projects"] | None = Field(
        None,
        description="The effect is delivered through an activity the proposal pays for: "
        "`courses` (training effects: the extra courses are funded from the budget, within "
        "trainers' capacity) or `projects` (deployment effects: establishments' projects funded "
        "within the budget). Absent: no purchase (information, regulation, existing funds).",
    )
    group: Literal["all", "medical", "non_medical"] = "all"
    families: list[FamilyName] | None = Field(
        None,
        description="Families the effect acts on (those of the scenario's that it names); "
        "default: all.",
    )
    lag_months: Annotated[int, Field(ge=0)] = 0
    ramp_months: Annotated[int, Field(ge=0)] = 0
    source: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Effect:
        if self.families is not None and self.channel not in (
            "adoption_family",
            "mastery",
            "deployment",
        ):
            raise ValueError(
                f"families only apply to adoption_family, mastery or deployment, not {self.channel}"
            )
        if self.channel == "adoption_family" and not self.families:
            raise ValueError("adoption_family needs families")
        if not self.low <= self.value <= self.high:
            raise ValueError(
                f"the prior must hold low <= value <= high, got {self.low}, {self.value}, "
                f"{self.high}"
            )
        if self.buys == "courses" and self.channel not in ("training", "reach"):
            raise ValueError(f"buys 'courses' applies to training or reach, not {self.channel}")
        if self.buys == "projects" and self.channel != "deployment":
            raise ValueError(f"buys 'projects' applies to deployment, not {self.channel}")
        multiplier = self.channel not in SHIFT_CHANNELS
        for name in ("value", "low", "high"):
            v = getattr(self, name)
            if multiplier and self.channel not in ("reach", "support") and MAX_INTENSITY * v <= -1:
                raise ValueError(f"{name} {v} would make the multiplier negative at high intensity")
            if self.channel == "support" and not -1 < v <= 0:
                raise ValueError(f"support {name} {v}: must lie in (-1, 0] (support keeps users)")
        return self

    def quantile(self, u: float | np.ndarray) -> float | np.ndarray:
        """The prior's inverse distribution function at ``u`` in [0, 1]."""
        return prior_quantile(self.low, self.value, self.high, self.distribution, u)


def prior_quantile(
    a: float, c: float, b: float, distribution: str, u: float | np.ndarray
) -> float | np.ndarray:
    """Inverse distribution function at ``u`` of a prior on ``[a, b]``: triangular with mode
    ``c``, or uniform."""
    u = np.asarray(u, dtype=np.float64)
    if b == a:
        return np.full_like(u, a) if u.ndim else a
    if distribution == "uniform":
        x = a + u * (b - a)
    else:
        f = (c - a) / (b - a)
        x = np.where(
            u < f,
            a + np.sqrt(u * (b - a) * (c - a)),
            b - np.sqrt((1.0 - u) * (b - a) * (b - c)),
        )
    return x if x.ndim else float(x)


class Activity(BaseModel):
    """What a proposal buys with its budget, at what unit cost (euros), with the source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ActivityKind
    unit: Annotated[str, Field(min_length=1, description="What one unit is.")]
    unit_cost: Annotated[float, Field(gt=0, description="Euros per unit.")]
    low: Annotated[float, Field(gt=0)]
    high: Annotated[float, Field(gt=0)]
    units_per_year: Annotated[float, Field(gt=0)] | None = Field(
        None,
        description="For a programme: units bought a year at intensity 1 (nationally). The "
        "other kinds are counted by the model.",
    )
    hours_per_pairing: Annotated[float, Field(gt=0)] | None = Field(
        None, description="For mentoring hours: hours a year of one pairing (both people)."
    )
    source: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Activity:
        if not self.low <= self.unit_cost <= self.high:
            raise ValueError("the unit cost must hold low <= unit_cost <= high")
        if (self.kind == "programme") != (self.units_per_year is not None):
            raise ValueError("units_per_year is given for a programme, and only for one")
        if (self.kind == "mentoring_hours") != (self.hours_per_pairing is not None):
            raise ValueError("hours_per_pairing is given for mentoring hours, and only for them")
        return self


class Claim(BaseModel):
    """An output the proposal's mechanism moves, and in which direction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal[METRICS]  # type: ignore[valid-type]
    year: int
    direction: Literal["up", "down"]


class Proposal(BaseModel):
    """A proposal of the catalogue: what it is, how the model represents it, what it costs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    axis: str
    item_2022: str
    mechanism: str
    representation: str
    cost: Annotated[float, Field(ge=0)] = Field(
        description="Yearly budget ceiling in million euros at intensity 1: what is spent is "
        "the activity delivered times its unit costs, never more than this."
    )
    cost_months: Annotated[int, Field(gt=0)] | None = Field(
        None, description="Months the proposal is funded (default: while in force)."
    )
    fade_months: Annotated[int, Field(gt=0)] | None = Field(
        None,
        description="After the funded months, the effects fade linearly to nothing over this "
        "many months (information that is not renewed). Default: they last while in force.",
    )
    cost_source: Annotated[str, Field(min_length=1)]
    information_only: bool = Field(
        False,
        description="The proposal only informs: every multiplier effect stays within "
        "INFORMATION_BOUND.",
    )
    activity: Annotated[str, Field(min_length=1)] = Field(
        description="What the proposal buys and the effect per unit of it, in words."
    )
    activities: Annotated[list[Activity], Field(min_length=1)]
    horizon: str = ""
    effects: Annotated[list[Effect], Field(min_length=1)]
    claims: Annotated[list[Claim], Field(min_length=1)]
    claims_start: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        None,
        description="Start at which the claims hold and are tested (default: the scenario's "
        "policy_start); set only where the mechanism is too slow to show from policy_start.",
    )

    @model_validator(mode="after")
    def _priced(self) -> Proposal:
        kinds = [a.kind for a in self.activities]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"an activity kind is listed twice: {kinds}")
        for e in self.effects:
            if e.buys and e.buys not in kinds:
                raise ValueError(f"an effect buys {e.buys} but no activity prices them")
        if self.cost_months is not None and any(e.buys for e in self.effects):
            raise ValueError("a proposal that buys courses or projects is funded while in force")
        if self.fade_months is not None and self.cost_months is None:
            raise ValueError("fade_months needs cost_months (the effects fade after funding ends)")
        if self.information_only:
            for e in self.effects:
                if e.channel not in SHIFT_CHANNELS and max(abs(e.low), abs(e.high)) > (
                    INFORMATION_BOUND + 1e-12
                ):
                    raise ValueError(
                        f"information-only: the {e.channel} prior [{e.low}, {e.high}] exceeds "
                        f"what information can do (±{INFORMATION_BOUND})"
                    )
        return self

    def fixed_cost(self, unit_costs: dict[str, float] | None = None) -> float:
        """Yearly cost of the programme units (M€ at intensity 1), at the catalogue's unit
        cost or the one in ``unit_costs``."""
        return sum(
            (unit_costs or {}).get("programme", a.unit_cost) * a.units_per_year / 1e6
            for a in self.activities
            if a.kind == "programme"
        )

    def unit_cost(self, kind: str, unit_costs: dict[str, float] | None = None) -> float | None:
        """Euros per unit of the activity ``kind`` (the one in ``unit_costs`` if given), or
        None if the proposal does not buy it."""
        for a in self.activities:
            if a.kind == kind:
                return (unit_costs or {}).get(kind, a.unit_cost)
        return None

    @property
    def targets(self) -> tuple[str, ...]:
        """Target dimensions every effect of the proposal can be restricted by."""
        dims = [d for d in ("professions", "establishment_types", "age_bands")]
        return tuple(
            d for d in dims if all(d in TARGETS_BY_CHANNEL[e.channel] for e in self.effects)
        )


class Reinvestment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    medical: Annotated[float, Field(ge=0, le=1)]
    non_medical: Annotated[float, Field(ge=0, le=1)]
    source: Annotated[str, Field(min_length=1)]


class Discounting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rate: Annotated[float, Field(ge=0, lt=1)]
    base_year: int | None = Field(
        None, description="Year costs are discounted to (default: the policy start's year)."
    )
    source: Annotated[str, Field(min_length=1)]


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reinvestment: Reinvestment
    discounting: Discounting
    units: dict[ActivityKind, Activity] = Field(
        description="Shared unit costs of the counted activities (courses, projects, mentoring "
        "hours); a proposal's activity of that kind inherits it."
    )
    proposals: dict[int, Proposal]

    @model_validator(mode="after")
    def _twenty(self) -> Catalogue:
        if sorted(self.proposals) != list(range(1, 21)):
            raise ValueError(f"needs proposals 1-20 exactly, got {sorted(self.proposals)}")
        for n, p in self.proposals.items():
            if p.fixed_cost() > p.cost + 1e-9:
                raise ValueError(
                    f"proposal {n}: its programme costs {p.fixed_cost():g} M€ a year, above its "
                    f"budget ceiling {p.cost:g}"
                )
        return self


@cache
def catalogue() -> Catalogue:
    """The proposals' catalogue shipped with the package (``proposals.toml``), validated."""
    text = (
        resources.files("adoption_abm.policies")
        .joinpath("proposals.toml")
        .read_text(encoding="utf-8")
    )
    return Catalogue.model_validate(_with_units(tomllib.loads(text)))


def _with_units(data: dict) -> dict:
    """Fill each proposal's counted activity (given by its kind only) from ``[units]``."""
    units = {k: {"kind": k, **v} for k, v in data.get("units", {}).items()}
    data = {**data, "units": units}
    proposals = {}
    for n, p in data.get("proposals", {}).items():
        acts = [
            {**units[a["kind"]], **a} if isinstance(a, dict) and a.get("kind") in units else a
            for a in p.get("activities", [])
        ]
        proposals[n] = {**p, "activities": acts}
    data["proposals"] = proposals
    return data


def effect_value_errors(proposal: int, values: list[float]) -> list[str]:
    """Why ``values`` cannot replace proposal ``proposal``'s effect values (empty if they can):
    one per effect, each keeping its multiplier positive up to the largest intensity."""
    effects = catalogue().proposals[proposal].effects
    if len(values) != len(effects):
        return [
            f"proposal {proposal} has {len(effects)} effects "
            f"({', '.join(e.channel for e in effects)}); got {len(values)} values"
        ]
    out = []
    for k, (e, v) in enumerate(zip(effects, values, strict=True)):
        if e.channel == "support" and not -1 < v <= 0:
            out.append(f"effect {k} ({e.channel}): {v} must lie in (-1, 0]")
        elif e.channel in ("reach",) and not 0 <= v <= 1:
            out.append(f"effect {k} ({e.channel}): {v} must lie in [0, 1]")
        elif (
            e.channel not in SHIFT_CHANNELS
            and e.channel not in ("reach", "support")
            and MAX_INTENSITY * v <= -1
        ):
            out.append(
                f"effect {k} ({e.channel}): {v} would make the multiplier negative at intensity "
                f"{MAX_INTENSITY:g}"
            )
    return out


def activity_kinds(proposal: int) -> tuple[str, ...]:
    """The activities proposal ``proposal`` pays for."""
    return tuple(a.kind for a in catalogue().proposals[proposal].activities)


def allowed_targets(proposal: int) -> tuple[str, ...]:
    """Target dimensions proposal ``proposal`` accepts (those all its effects can honour)."""
    return catalogue().proposals[proposal].targets


PROPOSALS: dict[int, str] = {n: p.title for n, p in catalogue().proposals.items()}
"""The twenty proposals (#Leplusimportant, 2018 numbering [seed 003]), short English titles."""


# ---------------------------------------------------------------------------------------------
# Documentation (docs/POLICIES.md embeds this text; a test keeps them in step)
# ---------------------------------------------------------------------------------------------
def catalogue_markdown() -> str:
    """The catalogue as Markdown: per proposal its mechanism, representation, what it buys and
    at what unit cost, its effects' priors with their sources, its budget, accepted targets,
    claims and horizon."""
    cat = catalogue()
    d = cat.discounting
    lines = [
        f"Costs are discounted at {100 * d.rate:g} % a year ({d.source}).",
        "",
        "Shared unit costs of the counted activities:",
        "",
        "| activity | unit | unit cost (€) | range (€) | source |",
        "|---|---|---|---|---|",
    ]
    for kind, a in cat.units.items():
        lines.append(
            f"| {kind} | {a.unit} | {a.unit_cost:,.0f} | {a.low:,.0f}-{a.high:,.0f} | {a.source} |"
        )
    lines += [
        "",
        "| # | 2022 | proposal | channels | buys | budget ceiling (M€/yr) | targets | claims |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, p in cat.proposals.items():
        channels = ", ".join(dict.fromkeys(e.channel for e in p.effects))
        claims = "; ".join(f"{c.metric} {c.year} {c.direction}" for c in p.claims)
        buys = ", ".join(a.kind for a in p.activities)
        lines.append(
            f"| {n} | {p.item_2022} | {p.title} | {channels} | {buys} | {p.cost:g} | "
            f"{', '.join(p.targets) or 'none'} | {claims} |"
        )
    for n, p in cat.proposals.items():
        lines += ["", f"### {n}. {p.title}", ""]
        lines.append(f"*{p.axis}; 2022 item {p.item_2022}.* {p.mechanism}")
        lines += ["", f"**In the model.** {p.representation}"]
        lines += ["", f"**What it buys.** {p.activity}"]
        if p.information_only:
            lines += [
                "",
                f"**Information only**: every multiplier prior within ±{INFORMATION_BOUND:g}.",
            ]
        if p.horizon:
            lines += ["", f"**Horizon.** {p.horizon}"]
        lines += [
            "",
            "| channel | prior: low / central / high | shape | buys | group | families "
            "| lag (months) | ramp (months) | source |",
        ]
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for e in p.effects:
            fams = ", ".join(e.families) if e.families else "all"
            lines.append(
                f"| {e.channel} | {e.low:+g} / {e.value:+g} / {e.high:+g} | {e.distribution} | "
                f"{e.buys or '-'} | {e.group} | {fams} | {e.lag_months} | {e.ramp_months} | "
                f"{e.source} |"
            )
        lines += ["", "| activity | unit | unit cost (€) | range (€) | units a year | source |"]
        lines.append("|---|---|---|---|---|---|")
        for a in p.activities:
            per_year = f"{a.units_per_year:,.0f}" if a.units_per_year else "counted by the model"
            lines.append(
                f"| {a.kind} | {a.unit} | {a.unit_cost:,.0f} | {a.low:,.0f}-{a.high:,.0f} | "
                f"{per_year} | {a.source} |"
            )
        spent = f", for {p.cost_months} months" if p.cost_months else ""
        fade = f"; the effects then fade over {p.fade_months} months" if p.fade_months else ""
        lines += [
            "",
            f"Budget ceiling: {p.cost:g} M€ a year at intensity 1{spent}{fade} "
            f"({p.cost_source}). "
            f"Targets accepted: {', '.join(p.targets) or 'none'}. "
            "Claims (tested"
            + (f", started in {p.claims_start}" if p.claims_start else "")
            + "): "
            + "; ".join(f"{c.metric} in {c.year} goes {c.direction}" for c in p.claims)
            + ".",
        ]
    return "\n".join(lines) + "\n"
