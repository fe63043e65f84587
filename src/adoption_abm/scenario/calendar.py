"""The scenario's calendar: months, report years and age bands, each defined once.

Month ``m`` of a run is step ``m``: month 0 is the initial state (1 January of the first year),
month 1 ends on 31 January of the first year, month ``12·k`` on 31 December of year ``k``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .schema import Scenario

MONTHS = 12
"""Steps per year: the model steps monthly."""
REPORT_YEARS: tuple[int, ...] = (2025, 2030, 2035, 2040)
"""Years that ``summary.json``, reports and batch outputs give figures for (when simulated)."""


def n_months(start_year: int, end_year: int) -> int:
    """Steps from January of ``start_year`` to December of ``end_year``."""
    return (end_year - start_year + 1) * MONTHS


def month_index(start_year: int, year_month: str) -> int:
    """Step number of a 'YYYY-MM' month: 1 = January of ``start_year``."""
    y, m = (int(x) for x in year_month.split("-"))
    return (y - start_year) * MONTHS + m


def month_time(scenario: Scenario, month: int) -> float:
    """Decimal year at the end of month ``month`` (1 = January of the first year)."""
    return scenario.start_year + month / MONTHS


def year_end_month(start_year: int, year: int) -> int:
    """Step that ends year ``year`` (31 December)."""
    return (year - start_year + 1) * MONTHS


def report_years(start_year: int, end_year: int, years: Sequence[int] = REPORT_YEARS) -> list[int]:
    """Those of ``years`` that a run from ``start_year`` to ``end_year`` simulates."""
    return [y for y in years if start_year <= y <= end_year]


def table_at(years: list[int], values: list[float], t: float) -> float:
    """Linear interpolation of a yearly table at decimal time ``t``.

    The value for year ``Y`` is read at the end of year ``Y`` (``t = Y + 1``); flat outside.
    """
    return float(np.interp(t, np.asarray(years, dtype=np.float64) + 1.0, values))


def age_band_names(edges: Iterable[float]) -> list[str]:
    """Names of the age bands cut at ``edges``: '<30', '30-40', ..., '>=60'."""
    e = [f"{x:g}" for x in edges]
    return [f"<{e[0]}"] + [f"{a}-{b}" for a, b in pairwise(e)] + [f">={e[-1]}"]


def age_bands(edges: np.ndarray | Sequence[float], age: np.ndarray) -> np.ndarray:
    """Band of each age (0 = youngest): band ``b`` holds ages in ``[edges[b-1], edges[b])``."""
    return np.searchsorted(np.asarray(edges, dtype=np.float64), age, side="right")
