"""Loading scenarios: built-in names or TOML files, overrides, and the table of sourced numbers."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from ..i18n import _
from .blocks import Block, _holds_numbers
from .errors import ScenarioError, format_errors
from .schema import Scenario


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    files = resources.files("adoption_abm.scenario").joinpath("data")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def scenario_text(name_or_path: str | Path) -> tuple[str, str]:
    """Return ``(label, TOML text)`` of a built-in scenario name or a file path."""
    text_name = str(name_or_path)
    if text_name in builtin_scenarios():
        res = resources.files("adoption_abm.scenario").joinpath("data", f"{text_name}.toml")
        return f"<built-in {text_name}>", res.read_text(encoding="utf-8")
    path = Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(
            path,
            [
                (
                    "",
                    _("no such file, and not a built-in scenario; built-ins: {names}").format(
                        names=builtin_scenarios()
                    ),
                )
            ],
        )
    try:
        return str(path), path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, [("", _("cannot read: {error}").format(error=exc))]) from None


def load_scenario(name_or_path: str | Path = "france-2022") -> Scenario:
    """Load and validate a scenario from a built-in name or a TOML file."""
    label, text = scenario_text(name_or_path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(label, [("", _("not valid TOML: {error}").format(error=exc))]) from None
    return scenario_from_dict(data, label)


def scenario_from_dict(data: Mapping[str, Any], label: str = "<dict>") -> Scenario:
    """Validate a scenario given as nested dictionaries (e.g. parsed TOML)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(label, list(format_errors(exc.errors()))) from None


def with_overrides(
    scenario: Scenario, overrides: Mapping[str, Any], label: str = "<overrides>"
) -> Scenario:
    """Return a copy of ``scenario`` with dotted-path fields replaced, re-validated.

    ``{"mechanisms.mentoring.enabled": False, "technologies.ai.peer": 0.5}``. Unknown paths
    are errors.
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
                    label, [(".".join(parts[: i + 1]), _("no such field in the scenario"))]
                )
        last = parts[-1]
        if isinstance(node, list) and last.isdigit() and int(last) < len(node):
            _check_not_bool(node[int(last)], value, label, dotted)
            node[int(last)] = value
        elif isinstance(node, dict) and last in node:
            _check_not_bool(node[last], value, label, dotted)
            node[last] = value
        else:
            raise ScenarioError(label, [(dotted, _("no such field in the scenario"))])
    return scenario_from_dict(data, label)


def _check_not_bool(current: Any, value: Any, label: str, dotted: str) -> None:
    """A number replaced by true/false is a mistake (validation would read it as 1 or 0)."""
    number = isinstance(current, int | float) and not isinstance(current, bool)
    if number and isinstance(value, bool):
        raise ScenarioError(
            label, [(dotted, _("must be a number, got {value!r}").format(value=value))]
        )


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
        # the families sit beside `technologies.years` in the file (see Technologies)
        path = prefix.rstrip(".") if name == "families" else f"{prefix}{name}"
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
        elif _one_number_per_family(value):  # e.g. deployment.base_rate: a row per type
            for key, child in value.items():
                rows.append((f"{path}.{key}", dict(child), per_field.get(name) or block_source))
        elif _holds_numbers(value):
            rows.append((path, value, per_field.get(name) or block_source))
    return rows


def _one_number_per_family(value: Any) -> bool:
    """A table of tables of plain numbers (keyed by establishment type, then family)."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(
            isinstance(v, Mapping) and all(isinstance(x, int | float) for x in v.values())
            for v in value.values()
        )
    )
