"""Runs the page makes besides the live one: the uncertainty band (several seeds and joint
draws of the switched-on proposals' effect priors) and a second policy set run side by side.

Kept free of Solara: the page runs :func:`compute_band` in a background task, handing it a
``cancelled`` check (a change of settings restarts it) and a ``progress`` callback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.model import AdoptionModel
from ..policies.priors import apply_draw, draw_values, priors
from ..scenario.calendar import year_end_month
from .session import History, Proposal, Settings, month_date, scenario_for

BAND_RUNS = 8
"""Runs behind the band: 8 seeds, each paired with one joint draw of the effect priors."""
BAND_QUANTILES = (0.05, 0.95)
"""The band's lower and upper quantiles over the runs (linear interpolation between runs)."""
BAND_KEY = "realised_all"
"""The indicator the band is drawn for: realised time freed, all professions."""
COMPARE_YEAR = 2030
"""The year of the side-by-side table (end of December)."""
COMPARE_KEYS: tuple[str, ...] = (
    "realised_all",
    "potential_all",
    "fte_freed_all",
    "multi_speed_gap",
    "downgrading_risk",
)
"""Indicators of the side-by-side table (plus each family's adoption)."""


class Cancelled(Exception):
    """The band's computation was cancelled (the settings changed)."""


@dataclass(frozen=True)
class BandMember:
    """One run behind the band: its seed and its interventions (with drawn effect values)."""

    seed: int
    interventions: list[dict[str, Any]]


@dataclass(frozen=True)
class Band:
    """The band of ``key`` over ``runs`` runs: per month, the quantiles ``low`` and ``high``
    and the median; ``dates`` as the charts' time axis."""

    key: str
    runs: int
    dates: list[str]
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray


def band_members(settings: Settings, runs: int = BAND_RUNS) -> list[BandMember]:
    """The runs of the band for ``settings``: ``runs`` seeds spawned from the page's seed
    (``numpy.random.SeedSequence``), the k-th paired with the k-th joint draw (a seeded Latin
    hypercube, :func:`~adoption_abm.policies.priors.draw_values`) of the effect priors of the
    proposals switched on; with no proposal on, seeds only."""
    if runs < 2:
        raise ValueError(f"the band needs at least 2 runs, got {runs}")
    seeds = np.random.SeedSequence(settings.seed).generate_state(runs, dtype=np.uint32)
    base = settings.interventions()
    prior_list = priors([p.number for p in settings.proposals])
    rows = draw_values(prior_list, runs, seed=settings.seed) if prior_list else None
    return [
        BandMember(
            int(seeds[k]), apply_draw(base, prior_list, rows[k]) if rows is not None else base
        )
        for k in range(runs)
    ]


def build_member(settings: Settings, member: BandMember) -> AdoptionModel:
    """The model of one band run: the page's scenario, rhythm and size, the member's seed and
    interventions."""
    return AdoptionModel(
        scenario_for(settings.scenario),
        rhythm=settings.rhythm,
        scale=settings.scale(),
        engine=settings.engine,
        agents="none",
        interventions=member.interventions,
        seed=member.seed,
    )


def compute_band(
    settings: Settings,
    runs: int = BAND_RUNS,
    key: str = BAND_KEY,
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[float], None] | None = None,
) -> Band:
    """Run the band's members to the end and take the quantiles of ``key`` month by month.

    ``cancelled()`` is checked every simulated year (raises :class:`Cancelled`);
    ``progress(fraction)`` is called after each year of each run. Deterministic for given
    settings: same seeds, same draws, same band.
    """
    members = band_members(settings, runs)
    curves = []
    for k, member in enumerate(members):
        model = build_member(settings, member)
        while model.month < model.n_months:
            if cancelled is not None and cancelled():
                raise Cancelled
            model.run(min(12, model.n_months - model.month))
            if progress is not None:
                progress((k + model.month / model.n_months) / runs)
        curves.append(np.asarray(model.indicator_series()[key], dtype=np.float64))
    values = np.vstack(curves)  # (runs, months + 1)
    lo, hi = BAND_QUANTILES
    start = scenario_for(settings.scenario).start_year
    return Band(
        key=key,
        runs=runs,
        dates=[month_date(start, m) for m in range(values.shape[1])],
        low=np.quantile(values, lo, axis=0),
        median=np.quantile(values, 0.5, axis=0),
        high=np.quantile(values, hi, axis=0),
    )


def run_history(settings: Settings) -> tuple[AdoptionModel, History]:
    """A run of ``settings`` to the end and its monthly series, read once at the end from
    the model's indicator columns (no per-profession rows: enough for curves and tables)."""
    from .session import build_model

    model = build_model(settings).run()
    history = History(model.inputs, settings.label())
    series = model.indicator_series()
    n = len(series[BAND_KEY])
    start = model.inputs.start_year
    history.month = list(range(n))
    history.time = [start + m / 12 for m in range(n)]
    history.dates = [month_date(start, m) for m in range(n)]
    for key in history.keys:
        history.values[key] = [None if not np.isfinite(v) else float(v) for v in series[key]]
    return model, history


@dataclass(frozen=True)
class SideBySide:
    """Two policy sets run with the same seed: their histories and the table of ``year``."""

    a: History
    b: History
    year: int
    rows: list[tuple[str, float | None, float | None, float | None]]  # key, A, B, B - A


def compare_sets(
    settings: Settings, proposals_b: Sequence[Proposal], year: int = COMPARE_YEAR
) -> SideBySide:
    """Run ``settings`` (set A) and the same settings with ``proposals_b`` (set B) to the
    end, same seed; the table gives each indicator at the end of ``year`` and B − A."""
    settings_b = settings.replace(proposals=tuple(sorted(proposals_b)))
    model_a, a = run_history(settings)
    _, b = run_history(settings_b)
    month = year_end_month(model_a.inputs.start_year, year)
    if not 0 <= month < len(a):
        raise ValueError(f"year {year} is not simulated by {settings.scenario}")
    keys = (*COMPARE_KEYS, *(f"adoption_{f}" for f in model_a.inputs.families))
    rows = []
    for key in keys:
        va, vb = a.values[key][month], b.values[key][month]
        diff = None if va is None or vb is None else vb - va
        rows.append((key, va, vb, diff))
    return SideBySide(a, b, year, rows)
