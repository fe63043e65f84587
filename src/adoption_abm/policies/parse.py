"""The ``--policy`` syntax: proposals, start months and intensities written on the command line."""

from __future__ import annotations

from typing import Any

from ..scenario.interventions import validate_interventions
from ..scenario.schema import Scenario
from .catalogue import PROPOSALS


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
