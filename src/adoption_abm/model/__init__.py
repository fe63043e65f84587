"""The Mesa model: build (population, establishments, network), the monthly loop, and agents
as views on the state arrays."""

from .agents import Establishment, Professional
from .model import AdoptionModel

__all__ = ["AdoptionModel", "Establishment", "Professional"]
