"""The scenario's calendar: months, report years and age bands, each defined once.

Month ``m`` of a run is step ``m``: month 0 is the initial state (1 January of the first year),
month 1 ends on 31 January of the first year, month ``12·k`` on 31 December of year ``k``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, overload

import numpy as np

if TYPE_CHECKING:
    from .schema import Scenario

MONTHS = 12
"""Steps per year: the model steps monthly."""
POLICY_START = "2027-01"
"""Default start of interventions (``Scenario.policy_start``): January 2027, the present of the
model's users. Starting every policy with the simulation (January 2022) would make its effects
retroactive."""
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


@overload
def table_at(years: list[int], values: list[float], t: float) -> float: ...
@overload
def table_at(years: list[int], values: list[float], t: np.ndarray) -> np.ndarray: ...
def table_at(years: list[int], values: list[float], t: float | np.ndarray) -> float | np.ndarray:
    """Linear interpolation of a yearly table at decimal time ``t`` (a float, or an array of
    times: the same value at each point as for that point alone).

    The value for year ``Y`` is read at the end of year ``Y`` (``t = Y + 1``); flat outside.
    """
    got = np.interp(t, np.asarray(years, dtype=np.float64) + 1.0, values)
    return got if isinstance(t, np.ndarray) else float(got)


def age_band_names(edges: Iterable[float]) -> list[str]:
    """Names of the age bands cut at ``edges``: '<30', '30-40', ..., '>=60'."""
    e = [f"{x:g}" for x in edges]
    return [f"<{e[0]}"] + [f"{a}-{b}" for a, b in pairwise(e)] + [f">={e[-1]}"]


def age_band_keys(edges: Iterable[float]) -> list[str]:
    """Identifier-like names of the age bands, as ``summary.json`` keys them: ``under_30``,
    ``30_39``, ..., ``60_plus`` (a band ``[a, b)`` of whole years is ``a_(b-1)``)."""
    e = list(edges)

    def span(a: float, b: float) -> str:
        if float(a).is_integer() and float(b).is_integer():
            return f"{int(a)}_{int(b) - 1}"
        return f"{a:g}_to_{b:g}".replace(".", "p")

    head = f"under_{e[0]:g}".replace(".", "p")
    tail = f"{e[-1]:g}_plus".replace(".", "p")
    return [head] + [span(a, b) for a, b in pairwise(e)] + [tail]


def month_dates(start_year: int, months: np.ndarray) -> np.ndarray:
    """First day of the calendar month each step reports (``datetime64[D]``); step 0, the
    initial state, is dated the first day of the simulation."""
    m = np.maximum(np.asarray(months, dtype=np.int64) - 1, 0)
    base = np.datetime64(dt.date(start_year, 1, 1), "M")
    return (base + m.astype("timedelta64[M]")).astype("datetime64[D]")


def calendar_columns(start_year: int, months: np.ndarray) -> dict[str, np.ndarray]:
    """The calendar of each step, as the output frames carry it.

    ``month`` (step; 0 is the initial state, 1 January of the first year), ``date`` (first day
    of the month reported), ``year`` and ``month_of_year`` (1-12; 0 for the initial state) as
    integers, and ``initial`` (True only for step 0), so that ``year == 2030`` selects the twelve
    months of 2030.
    """
    months = np.asarray(months, dtype=np.int64)
    y, m = np.divmod(np.maximum(months - 1, 0), MONTHS)
    return {
        "month": months,
        "date": month_dates(start_year, months),
        "year": (start_year + y).astype(np.int32),
        "month_of_year": np.where(months == 0, 0, m + 1).astype(np.int8),
        "initial": months == 0,
    }


def age_bands(edges: np.ndarray | Sequence[float], age: np.ndarray) -> np.ndarray:
    """Band of each age (0 = youngest): band ``b`` holds ages in ``[edges[b-1], edges[b])``."""
    return np.searchsorted(np.asarray(edges, dtype=np.float64), age, side="right")
