"""adoption-abm: health professionals adopting AI, digital tools and robotics, and the policies
that change it. An agent-based model on Mesa with a compiled step kernel.

The package is in layers, each a subpackage (checked by import-linter, see pyproject.toml):
``scenario`` → ``rules`` → ``outputs`` → ``policies`` → ``engines`` → ``model`` → ``batch`` →
``analysis`` → ``cli`` and ``app``. Names below are imported on first use, so that importing the
package (and ``adoption-abm --help``) does not load Mesa or Polars.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
"""The package's version, in one place: pyproject.toml reads this line (a dynamic version,
``[tool.setuptools.dynamic]``, read statically), ``CITATION.cff`` repeats it (a test keeps them
equal). Read from the source, not from installed metadata, so an editable install never reports a
stale version after a bump."""

_LAZY = {
    "AdoptionModel": "adoption_abm.model.model",
    "Establishment": "adoption_abm.model.agents",
    "Professional": "adoption_abm.model.agents",
    "run": "adoption_abm.batch.params",
    "Scenario": "adoption_abm.scenario.schema",
    "ScenarioError": "adoption_abm.scenario.errors",
    "builtin_scenarios": "adoption_abm.scenario.load",
    "load_scenario": "adoption_abm.scenario.load",
}

if TYPE_CHECKING:  # pragma: no cover
    from .batch.params import run
    from .model.agents import Establishment, Professional
    from .model.model import AdoptionModel
    from .scenario.errors import ScenarioError
    from .scenario.load import builtin_scenarios, load_scenario
    from .scenario.schema import Scenario


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adoption_abm' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AdoptionModel",
    "Establishment",
    "Professional",
    "Scenario",
    "ScenarioError",
    "__version__",
    "builtin_scenarios",
    "load_scenario",
    "run",
]
