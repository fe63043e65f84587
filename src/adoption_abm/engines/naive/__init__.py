"""The plain-Mesa baseline: the same rules with one Python object per agent (benchmarks only)."""

from .model import NaiveModel

__all__ = ["NaiveModel"]
