"""One run from a flat parameter dict: ``run(params, seed) -> dict[str, float]``.

The plain function exploratory-modelling tools (EMA Workbench, SALib scripts, optimisers) call.
Parameter names:

* run settings: ``scenario`` (built-in name, TOML path or :class:`Scenario`), ``rhythm``,
  ``scale``, ``engine``, ``policy`` (``"6,7"``, ``"all"``, ``"baseline"`` or a list of
  intervention dicts), ``end_year`` (simulate up to the end of that year);
* any dotted scenario field, e.g. ``behaviour.attitude_effect`` or ``technologies.ai.peer``;
* derived parameters (:data:`DERIVED`): ``adoption_multiplier``, ``deployment_multiplier``
  and ``rhythms.<name>`` given as one number.

Outputs (:func:`flat_outputs`): for each reported year ``Y`` (2025, 2030, 2035, 2040 when
simulated, and the last simulated year) ``realised_all_Y``, ``realised_medical_Y``,
``realised_non_medical_Y``, ``realised_<profession>_Y``, ``potential_all_Y``,
``fte_freed_all_Y``, ``gap_profession_Y``, ``gap_age_Y``, ``gap_establishment_Y``,
``multi_speed_gap_Y`` (the largest of the three gaps) and ``downgrading_risk_Y``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from ..scenario.calendar import MONTHS, REPORT_YEARS
from ..scenario.errors import ScenarioError
from ..scenario.load import load_scenario, with_overrides
from ..scenario.schema import Scenario

RUN_SETTINGS: dict[str, Any] = {
    "scenario": "france-2022",
    "rhythm": "central",
    "scale": 0.01,
    "engine": "cython",
    "policy": "baseline",
    "end_year": None,
}
"""Run-level settings and their defaults; every other key is a scenario field."""

DERIVED: dict[str, str] = {
    "adoption_multiplier": "multiplies every family's technologies.<family>.spontaneous and .peer",
    "deployment_multiplier": "multiplies every deployment.base_rate.<type>.<family>",
    "rhythms.<name>": "one number sets rhythms.<name>.adoption, .deployment and .mastery",
}
"""Parameters that are not one scenario field, and what they do."""


def _plain(value: Any) -> Any:
    """NumPy scalars (what SALib and EMA Workbench pass) → Python scalars."""
    return value.item() if isinstance(value, np.generic) else value


@lru_cache(maxsize=16)
def _base_scenario(name: str) -> Scenario:
    return load_scenario(name)


RESOLVED_KEPT = 32
"""Scenarios with overrides a worker keeps (the most recently used): the runs of one point of
a sweep share its scenario, and with it what the rules derive from it once (``rules.memo``)."""
_RESOLVED: OrderedDict[tuple[int, str], tuple[Scenario, Scenario]] = OrderedDict()
_PLAIN = (bool, int, float, str, type(None))


def _overridden(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """``with_overrides(scenario, overrides)``, kept for the same base scenario object and the
    same values (scenarios are frozen: sharing one changes nothing). Overrides holding other
    than plain numbers and strings are not kept."""
    if not all(isinstance(v, _PLAIN) for v in overrides.values()):
        return with_overrides(scenario, overrides, label="parameters")
    key = (id(scenario), repr(sorted(overrides.items())))
    got = _RESOLVED.get(key)
    if got is not None and got[0] is scenario:  # the base is held: its id is not reused
        _RESOLVED.move_to_end(key)
        return got[1]
    result = with_overrides(scenario, overrides, label="parameters")
    _RESOLVED[key] = (scenario, result)
    while len(_RESOLVED) > RESOLVED_KEPT:
        _RESOLVED.popitem(last=False)
    return result


def scenario_overrides(
    scenario: Scenario, params: Mapping[str, Any], origins: dict[str, str] | None = None
) -> dict[str, Any]:
    """Translate scenario parameters (dotted fields and :data:`DERIVED`) into the dotted-field
    overrides :func:`~adoption_abm.scenario.with_overrides` takes. Raises ``ScenarioError``
    naming the parameter if a name is unknown. ``origins``, if given, receives the derived
    parameter each field comes from (so that an error names what the caller gave)."""
    out: dict[str, Any] = {}
    origins = {} if origins is None else origins
    for key, raw in params.items():
        value = _plain(raw)
        if key in RUN_SETTINGS:
            continue
        if key == "adoption_multiplier":
            factor = _multiplier(key, value)
            for fam, tech in scenario.technologies.families.items():
                out[f"technologies.{fam}.spontaneous"] = tech.spontaneous * factor
                out[f"technologies.{fam}.peer"] = tech.peer * factor
                origins[f"technologies.{fam}.spontaneous"] = key
                origins[f"technologies.{fam}.peer"] = key
        elif key == "deployment_multiplier":
            factor = _multiplier(key, value)
            for t, rates in scenario.deployment.base_rate.items():
                for fam, rate in rates.items():
                    out[f"deployment.base_rate.{t}.{fam}"] = rate * factor
                    origins[f"deployment.base_rate.{t}.{fam}"] = key
        elif _is_rhythm_number(key, value):
            name = key.split(".", 1)[1]
            scenario.check_rhythm(name, label="parameters", field=key)
            for part in ("adoption", "deployment", "mastery"):
                out[f"{key}.{part}"] = value
                origins[f"{key}.{part}"] = key
    # dotted fields last: on the same path as a derived parameter, the explicit field wins
    for key, raw in params.items():
        if key not in RUN_SETTINGS and key not in DERIVED and not _is_rhythm_number(key, raw):
            out[key] = _plain(raw)
    return out


def _multiplier(key: str, value: Any) -> float:
    from ..model.limits import check_number

    factor = check_number(value, LABEL, key)
    if factor < 0:
        raise _bad(key, f"must be a number >= 0, got {value!r}")
    return factor


def _is_rhythm_number(key: str, value: Any) -> bool:
    return (
        key.startswith("rhythms.")
        and key.count(".") == 1
        and isinstance(_plain(value), int | float)
    )


LABEL = "parameters"
ENGINES = ("cython", "reference")  # ``engines.registry.ENGINES`` (a test keeps them equal)


def _bad(field: str, why: str) -> ScenarioError:
    return ScenarioError(LABEL, [(field, why)])


def check_params(params: Any) -> None:
    """``params`` is a mapping of parameter names (strings) to values."""
    if not isinstance(params, Mapping):
        raise _bad("", f"must be a dict of parameter names to values, got {type(params).__name__}")
    for key in params:
        if not isinstance(key, str):
            raise _bad(
                repr(key), "parameter names are strings, e.g. 'rhythm' or 'behaviour.mentoring'"
            )


def check_settings(settings: dict[str, Any]) -> None:
    """The run settings' types and values (:data:`RUN_SETTINGS`), each error naming its key."""
    from ..model.limits import check_number

    sc = settings["scenario"]
    if not isinstance(sc, str | Scenario) and not hasattr(sc, "__fspath__"):
        raise _bad("scenario", f"must be a scenario name, a TOML path or a Scenario, got {sc!r}")
    if not isinstance(settings["rhythm"], str):
        raise _bad("rhythm", f"must be a rhythm name such as 'central', got {settings['rhythm']!r}")
    value = check_number(settings["scale"], LABEL, "scale")
    if value <= 0:
        raise _bad("scale", f"must be a positive finite number, got {settings['scale']!r}")
    if settings["engine"] not in ENGINES:
        raise _bad("engine", f"unknown engine {settings['engine']!r}; allowed: {list(ENGINES)}")
    end = settings["end_year"]
    if end is not None:
        integral = isinstance(end, int) or (isinstance(end, float) and end.is_integer())
        if isinstance(end, bool) or not integral:
            raise _bad("end_year", f"must be a year (an integer), got {end!r}")
    policy = settings["policy"]
    if policy is not None and not isinstance(policy, str | list | tuple):
        raise _bad(
            "policy",
            f"must be text such as '6,7', 'all' or 'baseline', or a list of interventions, "
            f"got {policy!r}",
        )


def resolve(params: Mapping[str, Any]) -> tuple[Scenario, dict[str, Any]]:
    """The scenario a parameter dict describes, and its run settings (defaults filled in).
    Raises ScenarioError naming the parameter for any bad name or value."""
    check_params(params)
    unknown_setting = {
        k for k in params if k not in RUN_SETTINGS and "." not in k and k not in DERIVED
    }
    if unknown_setting:
        allowed = [*RUN_SETTINGS, *(k for k in DERIVED if "<" not in k), "<dotted scenario field>"]
        raise ScenarioError(
            "parameters",
            [(k, f"unknown parameter; allowed: {allowed}") for k in sorted(unknown_setting)],
        )
    settings = {k: _plain(params.get(k, v)) for k, v in RUN_SETTINGS.items()}
    check_settings(settings)
    base = settings["scenario"]
    sc = base if isinstance(base, Scenario) else _base_scenario(str(base))
    origins: dict[str, str] = {}
    overrides = scenario_overrides(sc, params, origins)
    if settings["end_year"] is not None:
        overrides["end_year"] = int(settings["end_year"])
    if overrides:
        try:
            sc = _overridden(sc, overrides)
        except ScenarioError as exc:  # name the derived parameter the caller gave
            errors = [
                (origins[path], f"gives {path}: {msg}") if path in origins else (path, msg)
                for path, msg in exc.errors
            ]
            raise ScenarioError(exc.file, errors) from None
    return sc, settings


def interventions_for(policy: Any, scenario: Scenario) -> list[Any]:
    """Interventions for a ``policy`` parameter: text parsed by ``policies.parse_policy`` or a
    list of intervention dicts used as is."""
    if policy is None:
        return []
    if isinstance(policy, str):
        from ..policies.parse import parse_policy

        try:
            return parse_policy(policy, scenario)
        except ValueError as exc:
            raise ScenarioError("parameters", [("policy", str(exc))]) from None
    return list(policy)


def flat_outputs(model: Any) -> dict[str, float]:
    """The run's figures as one flat ``{name: float}`` dict (see the module docstring)."""
    out = model.outputs()
    sc = model.inputs
    last = sc.start_year + model.month // MONTHS - 1
    years = [y for y in REPORT_YEARS if y <= last]
    if last >= sc.start_year and last not in years:
        years.append(last)
    result: dict[str, float] = {}
    for y in years:
        s = out.headline(y)  # year_summary's figures, without its breakdowns
        for group in ("all", "medical", "non_medical", *sc.profession_ids):
            result[f"realised_{group}_{y}"] = s["realised"][group]
        result[f"potential_all_{y}"] = s["potential"]["all"]
        result[f"fte_freed_all_{y}"] = s["fte_freed"]["all"]
        for axis, value in s["multi_speed_gap"].items():
            result[f"gap_{axis}_{y}"] = value
        result[f"multi_speed_gap_{y}"] = max(s["multi_speed_gap"].values())
        result[f"downgrading_risk_{y}"] = s["downgrading_risk"]
    return {k: float(v) for k, v in result.items()}


def build_model(
    params: Mapping[str, Any],
    seed: int,
    interventions: list[Any] | None = None,
    *,
    force: bool = False,
):
    """An :class:`~adoption_abm.model.AdoptionModel` for ``params`` seeded with ``seed`` (an
    integer in ``[0, 2**64)``; NumPy integers accepted, floats and bools refused); ``force``
    skips the memory check of the scale."""
    from ..model.limits import check_run_size, check_seed
    from ..model.model import AdoptionModel

    seed = check_seed(seed, LABEL, "seed")
    sc, settings = resolve(params)
    check_run_size(sc, settings["scale"], force=force, label=LABEL)
    items = (
        interventions if interventions is not None else interventions_for(settings["policy"], sc)
    )
    return AdoptionModel(
        sc,
        rhythm=settings["rhythm"],
        scale=float(settings["scale"]),
        engine=settings["engine"],
        agents="none",
        interventions=items,
        seed=seed,
        force=force,
    )


def run(params: Mapping[str, Any], seed: int, *, force: bool = False) -> dict[str, float]:
    """Run one simulation to the scenario's end year (or ``params["end_year"]``) and return
    its figures as a flat dict of floats.

    >>> from adoption_abm import run
    >>> r = run({"rhythm": "fast", "behaviour.attitude_effect": 1.5, "end_year": 2030}, seed=1)
    >>> round(r["realised_all_2030"], 2)  # doctest: +SKIP
    0.33

    The same ``(params, seed)`` always gives the same dict, whichever engine. A bad parameter
    name or value, or a seed that is not an integer in ``[0, 2**64)``, raises
    :class:`~adoption_abm.scenario.ScenarioError` (a ``ValueError``) naming it, before the run;
    so does a scale whose memory estimate exceeds the memory available, unless ``force``.
    """
    model = build_model(params, seed, force=force)
    model.run()
    return flat_outputs(model)
