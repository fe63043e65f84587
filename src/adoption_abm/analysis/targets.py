"""The seed documents' headline figures, defined once: the app's time-freed chart and
``adoption-abm plot`` draw them (the calibration's realised targets,
``batch/data/calibrate.toml``, are the same values; ``tests/test_plot.py`` keeps them equal)."""

from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    """A headline figure of the seed documents, drawn on the time-freed charts."""

    what: str  # "potential" or "realised"
    year: int  # read at the end of December of this year
    value: float  # share of working time, 0-1
    rhythm: str  # "central", "slow" or "fast"


SEED_TARGETS: tuple[Target, ...] = (
    Target("potential", 2030, 0.45, "central"),
    Target("realised", 2025, 0.07, "central"),
    Target("realised", 2030, 0.24, "central"),
    Target("realised", 2030, 0.17, "slow"),
    Target("realised", 2030, 0.32, "fast"),
)
"""The think tank's modelling [seed 001]: potential ~45 % in 2030; realised 7 % (2025) and 24 %
(2030), 17 % / 32 % in 2030 for slow / fast adoption."""
