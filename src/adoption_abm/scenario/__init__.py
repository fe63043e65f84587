"""Scenario files: validated, frozen model inputs read from TOML.

:mod:`.schema` (the blocks and their checks), :mod:`.interventions` (proposals switched on),
:mod:`.load` (built-in names, files, ``--set`` overrides), :mod:`.errors` (messages that name the
file and the field), :mod:`.calendar` (months, report years, age bands); the built-in scenarios
are in ``data/``.
"""

from .calendar import MONTHS, REPORT_YEARS, age_band_names, n_months
from .errors import ScenarioError, format_errors
from .interventions import Intervention, Targets, validate_interventions
from .load import (
    builtin_scenarios,
    load_scenario,
    scenario_from_dict,
    scenario_text,
    sourced_numbers,
    with_overrides,
)
from .schema import GROUPS, RHYTHMS, Scenario

__all__ = [
    "GROUPS",
    "MONTHS",
    "REPORT_YEARS",
    "RHYTHMS",
    "Intervention",
    "Scenario",
    "ScenarioError",
    "Targets",
    "age_band_names",
    "builtin_scenarios",
    "format_errors",
    "load_scenario",
    "n_months",
    "scenario_from_dict",
    "scenario_text",
    "sourced_numbers",
    "validate_interventions",
    "with_overrides",
]
