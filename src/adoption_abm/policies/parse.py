"""The ``--policy`` syntax: proposals, start months and intensities written on the command line."""

from __future__ import annotations

from typing import Any

from ..i18n import _
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
            part, _sep, intensity = part.partition("x")
            try:
                item["intensity"] = float(intensity)
            except ValueError:
                raise ValueError(
                    _("bad intensity in {item!r}: expected e.g. '6x0.5'").format(item=raw.strip())
                ) from None
        if "@" in part:
            part, _sep, start = part.partition("@")
            item["start"] = start.strip()
        part = part.strip()
        if not part.isdigit() or int(part) not in PROPOSALS:
            raise ValueError(
                _(
                    "unknown proposal {item!r}; allowed: 1-20 (e.g. '6,7' or '6@2025-01x0.5'), "
                    "'all' or 'baseline'"
                ).format(item=part)
            )
        out.append({"proposal": int(part), **item})
    validate_interventions(scenario, list(scenario.interventions) + out, label=f"--policy {text!r}")
    return out
