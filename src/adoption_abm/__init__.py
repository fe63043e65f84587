"""adoption-abm: health professionals adopting AI, digital tools and robotics, and the policies
that change it. An agent-based model on Mesa with a compiled step kernel."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("adoption-abm")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from .agents import Establishment, Professional
from .batch import run as run  # run(params, seed) -> dict[str, float]
from .model import AdoptionModel
from .scenario import FAMILIES, Scenario, ScenarioError, builtin_scenarios, load_scenario

__all__ = [
    "FAMILIES",
    "AdoptionModel",
    "Establishment",
    "Professional",
    "Scenario",
    "ScenarioError",
    "__version__",
    "builtin_scenarios",
    "load_scenario",
]
