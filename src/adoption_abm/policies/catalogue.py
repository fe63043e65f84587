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
}
"""Which target dimensions each channel can be restricted by (per agent, per profession, ...)."""


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
    value: Annotated[float, Field(allow_inf_nan=False)]
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
        multiplier = self.channel not in (
            "entrant_skill",
            "entrant_attitude",
            "entry_age",
            "entrant_exposure",
            "task_opening",
            "reinvestment",
        )
        if (
            multiplier
            and self.channel not in ("reach", "support")
            and MAX_INTENSITY * self.value <= -1
        ):
            raise ValueError(
                f"value {self.value} would make the multiplier negative at high intensity"
            )
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
    cost: Annotated[float, Field(ge=0)]
    cost_months: Annotated[int, Field(gt=0)] | None = None
    cost_source: Annotated[str, Field(min_length=1)]
    horizon: str = ""
    effects: Annotated[list[Effect], Field(min_length=1)]
    claims: Annotated[list[Claim], Field(min_length=1)]
    claims_start: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = Field(
        None,
        description="Start at which the claims hold and are tested (default: the scenario's "
        "policy_start); set only where the mechanism is too slow to show from policy_start.",
    )

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


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    reinvestment: Reinvestment
    proposals: dict[int, Proposal]

    @model_validator(mode="after")
    def _twenty(self) -> Catalogue:
        if sorted(self.proposals) != list(range(1, 21)):
            raise ValueError(f"needs proposals 1-20 exactly, got {sorted(self.proposals)}")
        return self


@cache
def catalogue() -> Catalogue:
    """The proposals' catalogue shipped with the package (``proposals.toml``), validated."""
    text = (
        resources.files("adoption_abm.policies")
        .joinpath("proposals.toml")
        .read_text(encoding="utf-8")
    )
    return Catalogue.model_validate(tomllib.loads(text))


def allowed_targets(proposal: int) -> tuple[str, ...]:
    """Target dimensions proposal ``proposal`` accepts (those all its effects can honour)."""
    return catalogue().proposals[proposal].targets


PROPOSALS: dict[int, str] = {n: p.title for n, p in catalogue().proposals.items()}
"""The twenty proposals (#Leplusimportant, 2018 numbering [seed 003]), short English titles."""


# ---------------------------------------------------------------------------------------------
# Documentation (docs/POLICIES.md embeds this text; a test keeps them in step)
# ---------------------------------------------------------------------------------------------
def catalogue_markdown() -> str:
    """The catalogue as Markdown: per proposal its mechanism, representation, effects with
    their sources, cost, accepted targets, claims and horizon."""
    cat = catalogue()
    lines = [
        "| # | 2022 | proposal | channels | cost (M€/yr) | targets | claims |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, p in cat.proposals.items():
        channels = ", ".join(dict.fromkeys(e.channel for e in p.effects))
        claims = "; ".join(f"{c.metric} {c.year} {c.direction}" for c in p.claims)
        lines.append(
            f"| {n} | {p.item_2022} | {p.title} | {channels} | {p.cost:g} | "
            f"{', '.join(p.targets) or 'none'} | {claims} |"
        )
    for n, p in cat.proposals.items():
        lines += ["", f"### {n}. {p.title}", ""]
        lines.append(f"*{p.axis}; 2022 item {p.item_2022}.* {p.mechanism}")
        lines += ["", f"**In the model.** {p.representation}"]
        if p.horizon:
            lines += ["", f"**Horizon.** {p.horizon}"]
        lines += [
            "",
            "| channel | value at intensity 1 | group | families | lag (months) | ramp (months) "
            "| source |",
        ]
        lines.append("|---|---|---|---|---|---|---|")
        for e in p.effects:
            fams = ", ".join(e.families) if e.families else "all"
            lines.append(
                f"| {e.channel} | {e.value:+g} | {e.group} | {fams} | {e.lag_months} | "
                f"{e.ramp_months} | {e.source} |"
            )
        spent = f", for {p.cost_months} months" if p.cost_months else ""
        lines += [
            "",
            f"Cost: {p.cost:g} M€ a year at intensity 1{spent} ({p.cost_source}). "
            f"Targets accepted: {', '.join(p.targets) or 'none'}. "
            "Claims (tested"
            + (f", started in {p.claims_start}" if p.claims_start else "")
            + "): "
            + "; ".join(f"{c.metric} in {c.year} goes {c.direction}" for c in p.claims)
            + ".",
        ]
    return "\n".join(lines) + "\n"
