"""Interventions (proposals switched on) and their checks against a scenario."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
)

from ..i18n import _
from ..policies.catalogue import (
    MAX_INTENSITY,
    N_PROPOSALS,
    activity_kinds,
    allowed_targets,
    effect_value_errors,
)
from .calendar import age_band_names, month_index
from .errors import ScenarioError, format_errors
from .types import Ident, NonNeg

if TYPE_CHECKING:
    from .schema import Scenario


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
                raise ValueError(
                    _("must name at least one (leave the field out to reach everyone)")
                )
            if len(set(v)) != len(v):
                raise ValueError(_("names a group twice: {names}").format(names=v))
        return v

    @model_serializer(mode="wrap")
    def _drop_none(self, handler):  # TOML has no null
        return {k: v for k, v in handler(self).items() if v is not None}


class Intervention(BaseModel):
    """One of the twenty proposals switched on (:mod:`adoption_abm.policies`, docs/POLICIES.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    proposal: Annotated[int, Field(strict=True, description="1-20, 2018 numbering.")]
    start: YearMonth | None = Field(
        None, description="'YYYY-MM' it takes effect; default: the scenario's policy_start."
    )
    end: YearMonth | None = Field(
        None, description="Last month in force ('YYYY-MM'); default: to the end."
    )
    intensity: Annotated[float, Field(ge=0, le=MAX_INTENSITY, allow_inf_nan=False)] = Field(
        1.0, description="Scales every effect of the proposal; 1 = default strength, 0 = no effect."
    )
    targets: Targets | None = None
    cost: NonNeg | None = Field(
        None,
        description="Yearly budget ceiling in million euros; default: the catalogue's x "
        "intensity. What is spent is the activity delivered at unit costs, within it.",
    )
    unit_costs: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = Field(
        None,
        description="Euros per unit of the activities the proposal buys (`courses`, `projects`, "
        "`mentoring_hours`, `programme`), in place of the catalogue's (one assumption draw).",
    )
    effects: list[Annotated[float, Field(allow_inf_nan=False)]] | None = Field(
        None,
        description="Value of each of the proposal's effects at intensity 1, in the "
        "catalogue's order, in place of the central values of its priors (one assumption "
        "draw; see adoption_abm.policies.priors).",
    )

    @field_validator("proposal")
    @classmethod
    def _known(cls, v: int) -> int:
        if not 1 <= v <= N_PROPOSALS:
            raise ValueError(
                _(
                    "unknown proposal {n}; allowed: 1-{last} (2018 numbering, docs/POLICIES.md)"
                ).format(n=v, last=N_PROPOSALS)
            )
        return v

    @model_serializer(mode="wrap")
    def _drop_none(self, handler):  # TOML has no null
        return {k: v for k, v in handler(self).items() if v is not None}


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
    errors: list[tuple[tuple, str]] = []
    first, last = f"{scenario.start_year}-01", f"{scenario.end_year}-12"
    n_months = scenario.n_months
    known = {
        "professions": list(scenario.professions),
        "establishment_types": list(scenario.establishment_types),
        "age_bands": age_band_names(scenario.indicators.age_bands),
    }
    spans: list[tuple[int, int, int, Intervention]] = []
    for k, iv in enumerate(interventions, start=first_index):
        path = ("interventions", k)
        lo = month_index(scenario.start_year, iv.start) if iv.start else scenario.policy_start_month
        hi = month_index(scenario.start_year, iv.end) if iv.end else n_months
        if iv.start is None and lo > n_months:
            errors.append(
                (
                    (*path, "start"),
                    _(
                        "no start given, and the scenario's policy_start {start} is after the "
                        "last simulated month {last}: give a start"
                    ).format(start=scenario.policy_start, last=last),
                )
            )
        for name, value, when in (("start", iv.start, lo), ("end", iv.end, hi)):
            if value is not None and not 1 <= when <= n_months:
                errors.append(
                    (
                        (*path, name),
                        _("{value} is outside the simulated months {first} to {last}").format(
                            value=value, first=first, last=last
                        ),
                    )
                )
        if iv.end is not None and hi < lo:
            start = iv.start or f"{scenario.policy_start} (policy_start)"
            errors.append(
                ((*path, "end"), _("{end} is before start {start}").format(end=iv.end, start=start))
            )
        if iv.unit_costs is not None:
            kinds = activity_kinds(iv.proposal)
            for kind in iv.unit_costs:
                if kind not in kinds:
                    errors.append(
                        (
                            (*path, "unit_costs", kind),
                            _("proposal {n} buys no {kind}; allowed: {kinds}").format(
                                n=iv.proposal, kind=kind, kinds=list(kinds)
                            ),
                        )
                    )
        if iv.effects is not None:
            errors += [
                ((*path, "effects"), m) for m in effect_value_errors(iv.proposal, iv.effects)
            ]
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
                            _(
                                "proposal {n} cannot be restricted by {dim} (its mechanism acts "
                                "on {acts}); allowed targets: {allowed}"
                            ).format(
                                n=iv.proposal,
                                dim=dim,
                                acts=_describe(allowed),
                                allowed=list(allowed) or _("none"),
                            ),
                        )
                    )
                for name in given:
                    if name not in names:
                        errors.append(
                            (
                                (*path, "targets", dim),
                                _("unknown name {name!r}; allowed: {names}").format(
                                    name=name, names=names
                                ),
                            )
                        )
        spans.append((k, lo, hi, iv))
    for a, (ka, lo_a, hi_a, iva) in enumerate(spans):
        for kb, lo_b, hi_b, ivb in spans[a + 1 :]:
            same = iva.proposal == ivb.proposal and _targets_meet(iva, ivb)
            if same and lo_a <= hi_b and lo_b <= hi_a:
                errors.append(
                    (
                        ("interventions", kb),
                        _(
                            "proposal {n} is already in force for the same professionals in the "
                            "same months ({other}); give them disjoint periods (start/end) or "
                            "disjoint targets, or one entry with a higher intensity"
                        ).format(n=ivb.proposal, other=f"interventions.{ka}"),
                    )
                )
    return errors


def _describe(allowed: tuple[str, ...]) -> str:
    return _("establishments or professions as a whole") if not allowed else ", ".join(allowed)


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
            for p, m in format_errors(exc.errors())
        ]
        raise ScenarioError(label, errs) from None
    errors = intervention_errors(scenario, parsed)
    if errors:
        raise ScenarioError(label, [(".".join(map(str, p)), m) for p, m in errors])
    return parsed
