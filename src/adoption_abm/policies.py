"""The twenty proposals as policy levers: catalogue, interventions and the monthly levers.

An intervention is a mapping (validated by :class:`adoption_abm.scenario.Intervention`)::

    {"proposal": 6,            # 1..20, 2018 numbering (see PROPOSALS)
     "start": "2024-01",       # year-month it takes effect (default: scenario start)
     "end": "2030-12",         # optional last month in force (default: to the end)
     "intensity": 1.0,         # 0..5, scales every effect; 1 = the catalogue's strength
     "targets": {"professions": [...], "establishment_types": [...], "age_bands": [...]},
     "cost": 50.0}             # optional yearly cost, M€ (default: catalogue x intensity)

``targets`` is optional: absent lists mean everyone.

Each proposal acts through the channels of :class:`adoption_abm.rules.Levers` listed in its
catalogue entry (``proposals.toml``, with the assumption and source of every number; rendered in
docs/POLICIES.md). :class:`PolicySchedule` turns a list of interventions into the levers in force
each month. Interventions compose: multipliers multiply, shifts add, reaches combine as
``1 - Π(1 - r)``; they are applied in a canonical order, so results depend on the set of
interventions, the scenario and the seed only, never on the order they were listed in.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .population import N_FAMILIES, Establishments, Population
from .rules import AgentEffect, Levers
from .scenario import (
    FAMILIES,
    MAX_INTENSITY,
    Intervention,
    Scenario,
    age_band_names,
    month_index,
    validate_interventions,
)

Channel = Literal[
    "adoption",
    "adoption_family",
    "mastery",
    "deployment",
    "training",
    "reach",
    "skill_gain",
    "training_boost",
    "mentoring",
    "entrant_skill",
    "entrant_attitude",
    "entry_age",
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
    "mentoring": (),
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
"""Outputs a proposal's claims may name (see :func:`adoption_abm.compare.year_metrics`)."""


# ---------------------------------------------------------------------------------------------
# The catalogue (proposals.toml)
# ---------------------------------------------------------------------------------------------
class Effect(BaseModel):
    """One effect of a proposal at intensity 1 (see the header of proposals.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel
    value: Annotated[float, Field(allow_inf_nan=False)]
    group: Literal["all", "medical", "non_medical"] = "all"
    families: list[Literal["ai", "digital", "robotics"]] | None = None
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
            "reinvestment",
        )
        if (
            multiplier
            and self.channel not in ("reach", "mentoring")
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
    text = resources.files("adoption_abm").joinpath("proposals.toml").read_text(encoding="utf-8")
    return Catalogue.model_validate(tomllib.loads(text))


def allowed_targets(proposal: int) -> tuple[str, ...]:
    """Target dimensions proposal ``proposal`` accepts (those all its effects can honour)."""
    return catalogue().proposals[proposal].targets


PROPOSALS: dict[int, str] = {n: p.title for n, p in catalogue().proposals.items()}
"""The twenty proposals (#Leplusimportant, 2018 numbering [seed 003]), short English titles."""


# ---------------------------------------------------------------------------------------------
# --policy syntax
# ---------------------------------------------------------------------------------------------
def parse_policy(text: str, scenario: Scenario) -> list[dict[str, Any]]:
    """Interventions for a policy written on the command line.

    ``'baseline'`` (or ``'none'``) → []; ``'all'`` → all twenty; ``'6,7'`` (or ``'6+7'``) →
    proposals 6 and 7. Each item may add a start and an intensity: ``'6@2025-01'``,
    ``'6x0.5'``, ``'6@2025-01x0.5'``. Raises ``ValueError`` with what is allowed, or
    :class:`~adoption_abm.scenario.ScenarioError` for values the scenario rejects.
    """
    text = text.strip().lower()
    if text in ("baseline", "none", ""):
        return []
    items = [str(n) for n in PROPOSALS] if text == "all" else text.replace("+", ",").split(",")
    out: list[dict[str, Any]] = []
    for raw in items:
        part = raw.strip()
        item: dict[str, Any] = {}
        if "x" in part:
            part, _, intensity = part.partition("x")
            try:
                item["intensity"] = float(intensity)
            except ValueError:
                raise ValueError(
                    f"bad intensity in {raw.strip()!r}: expected e.g. '6x0.5'"
                ) from None
        if "@" in part:
            part, _, start = part.partition("@")
            item["start"] = start.strip()
        part = part.strip()
        if not part.isdigit() or int(part) not in PROPOSALS:
            raise ValueError(
                f"unknown proposal {part!r}; allowed: 1-20 (e.g. '6,7' or '6@2025-01x0.5'), "
                "'all' or 'baseline'"
            )
        out.append({"proposal": int(part), **item})
    validate_interventions(scenario, list(scenario.interventions) + out, label=f"--policy {text!r}")
    return out


# ---------------------------------------------------------------------------------------------
# The schedule: interventions → levers, month by month
# ---------------------------------------------------------------------------------------------
class PolicySchedule:
    """The levers in force each month, given a list of interventions.

    ``levers_at(month)`` returns the same :class:`Levers` object for months whose effective
    settings are equal (the model refreshes per-agent multipliers only when the object changes),
    and the neutral object while nothing is in force, so interventions of intensity 0 leave the
    model exactly as without them.
    """

    def __init__(
        self,
        scenario: Scenario,
        interventions: list[Any],
        pop: Population | None = None,
        est: Establishments | None = None,
    ):
        self.scenario = scenario
        self.n_months = (scenario.end_year - scenario.start_year + 1) * 12
        parsed = validate_interventions(scenario, interventions)
        self.interventions: list[Intervention] = sorted(
            parsed, key=lambda iv: (iv.proposal, self._span(iv), iv.model_dump_json())
        )
        self._n_prof = len(scenario.professions)
        self._n_types = len(scenario.establishment_types)
        self._medical = np.array([p.group == "medical" for p in scenario.professions.values()])
        self._neutral = Levers.neutral(self._n_prof, self._n_types)
        self._cache: dict[tuple, Levers] = {(): self._neutral}

    # -----------------------------------------------------------------------------------------
    def _span(self, iv: Intervention) -> tuple[int, int]:
        lo = month_index(self.scenario.start_year, iv.start) if iv.start else 1
        hi = month_index(self.scenario.start_year, iv.end) if iv.end else self.n_months
        return lo, hi

    def amplitudes(self, month: int) -> tuple[tuple[int, int, float], ...]:
        """Non-zero effects in force in ``month``: (intervention, effect, amplitude), with
        amplitude = value x intensity x ramp."""
        month = max(month, 1)
        out = []
        cat = catalogue().proposals
        for k, iv in enumerate(self.interventions):
            lo, hi = self._span(iv)
            if not lo <= month <= hi:
                continue
            for e, eff in enumerate(cat[iv.proposal].effects):
                onset = lo + eff.lag_months
                if month < onset:
                    continue
                ramp = (
                    1.0 if eff.ramp_months == 0 else min(1.0, (month - onset + 1) / eff.ramp_months)
                )
                amp = eff.value * iv.intensity * ramp
                if amp != 0.0:
                    out.append((k, e, amp))
        return tuple(out)

    def levers_at(self, month: int) -> Levers:
        """Levers for month ``month`` (1 = January of the first year; 0 is read as 1)."""
        key = self.amplitudes(month)
        levers = self._cache.get(key)
        if levers is None:
            levers = self._cache[key] = self._build(key)
        return levers

    # -----------------------------------------------------------------------------------------
    def _masks(
        self, iv: Intervention, eff: Effect
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Profession mask (group and targets), type mask and age-band mask (None = all)."""
        sc = self.scenario
        prof = np.ones(self._n_prof, dtype=bool)
        if eff.group != "all":
            prof &= self._medical if eff.group == "medical" else ~self._medical
        t = iv.targets
        types = bands = None
        if t is not None:
            if t.professions is not None:
                prof &= np.isin(sc.profession_ids, t.professions)
            if t.establishment_types is not None:
                types = np.isin(sc.type_ids, t.establishment_types)
            if t.age_bands is not None:
                bands = np.isin(age_band_names(sc.indicators.age_bands), t.age_bands)
        return prof, types, bands

    def _build(self, key: tuple[tuple[int, int, float], ...]) -> Levers:
        lv = Levers.neutral(self._n_prof, self._n_types)
        zeros = np.zeros(self._n_prof)
        entrant = {
            "entrant_skill": zeros.copy(),
            "entrant_attitude": zeros.copy(),
            "entry_age": zeros.copy(),
        }
        reinvest = zeros.copy()
        agent: list[AgentEffect] = []
        cat = catalogue().proposals
        for k, e, amp in key:
            iv = self.interventions[k]
            eff = cat[iv.proposal].effects[e]
            prof, types, bands = self._masks(iv, eff)
            fam = (
                np.ones(N_FAMILIES, dtype=bool)
                if eff.families is None
                else np.isin(FAMILIES, eff.families)
            )
            mult = max(0.0, 1.0 + amp)
            ch = eff.channel
            if ch in ("adoption", "training", "reach"):
                agent.append(
                    AgentEffect(
                        professions=prof,
                        types=types,
                        age_bands=bands,
                        adoption=mult if ch == "adoption" else 1.0,
                        training=mult if ch == "training" else 1.0,
                        reach=min(1.0, amp) if ch == "reach" else 0.0,
                    )
                )
            elif ch in ("adoption_family", "mastery"):
                arr = lv.adoption if ch == "adoption_family" else lv.mastery
                arr[np.ix_(prof, fam)] *= mult
            elif ch == "deployment":
                tmask = np.ones(self._n_types, dtype=bool) if types is None else types
                lv.deployment[np.ix_(tmask, fam)] *= mult
            elif ch == "skill_gain":
                lv.training_skill_gain *= mult
            elif ch == "training_boost":
                lv.training_boost *= mult
            elif ch == "mentoring":
                lv.mentoring = True
                if self.scenario.behaviour.mentoring:
                    lv.mentoring_intensity *= mult
                else:
                    lv.mentoring_intensity = amp
            elif ch in entrant:
                entrant[ch][prof] += amp
            elif ch == "reinvestment":
                reinvest[prof] += amp
        lv.agent_effects = tuple(agent)
        if entrant["entrant_skill"].any():
            lv.entrant_skill_shift = entrant["entrant_skill"]
        if entrant["entrant_attitude"].any():
            lv.entrant_attitude_shift = entrant["entrant_attitude"]
        if entrant["entry_age"].any():
            lv.entry_age_shift = entrant["entry_age"]
        lv.extra["reinvestment"] = reinvest
        return lv

    # outputs ---------------------------------------------------------------------------------
    def reinvestment(self, n_months: int | None = None) -> np.ndarray:
        """(months 0..n, P) share of freed time reinvested in care: catalogue base + policies."""
        n = self.n_months if n_months is None else n_months
        base_cfg = catalogue().reinvestment
        base = np.where(self._medical, base_cfg.medical, base_cfg.non_medical)
        out = np.empty((n + 1, self._n_prof))
        for m in range(n + 1):
            extra = self.levers_at(m).extra.get("reinvestment")
            out[m] = base if extra is None else base + extra
        return np.clip(out, 0.0, 1.0)

    def cost_by_month(self, n_months: int | None = None) -> np.ndarray:
        """(months 0..n,) spending in million euros in each month (month 0 is empty)."""
        n = self.n_months if n_months is None else n_months
        out = np.zeros(n + 1)
        cat = catalogue().proposals
        for iv in self.interventions:
            prop = cat[iv.proposal]
            yearly = iv.cost if iv.cost is not None else prop.cost * iv.intensity
            lo, hi = self._span(iv)
            if prop.cost_months is not None:
                hi = min(hi, lo + prop.cost_months - 1)
            out[lo : min(hi, n) + 1] += yearly / 12.0
        return out

    def cost_by_year(self) -> dict[int, float]:
        """Spending in million euros by calendar year."""
        monthly = self.cost_by_month()[1:].reshape(-1, 12).sum(axis=1)
        return {self.scenario.start_year + y: float(v) for y, v in enumerate(monthly)}


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
            "Claims (tested): "
            + "; ".join(f"{c.metric} in {c.year} goes {c.direction}" for c in p.claims)
            + ".",
        ]
    return "\n".join(lines) + "\n"
