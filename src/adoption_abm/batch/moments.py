"""Named moments of a finished run: what a calibration can target, beyond the summary figures.

:func:`model_moments` returns one flat ``{name: float}`` dict for an
:class:`~adoption_abm.model.AdoptionModel` that has run. Names (``Y`` a reported year:
2025, 2030, 2035, 2040 when simulated, and the last simulated year; ``<family>`` one of the
scenario's families, e.g. ``digital``; ``<band>`` an age band key, e.g. ``under_30``, ``50_59``):

* **the summary figures** of :func:`~adoption_abm.batch.params.flat_outputs`, unchanged:
  ``realised_all_Y``, ``realised_medical_Y``, ``realised_non_medical_Y``,
  ``realised_<profession>_Y`` (share of working time freed, 0-1), ``potential_all_Y``,
  ``fte_freed_all_Y`` (full-time equivalents, real scale), ``gap_<axis>_Y``,
  ``multi_speed_gap_Y``, ``downgrading_risk_Y``;
* **age ordering**: ``realised_ratio_<band>_Y`` is the effectiveness of an age band, its realised
  gain divided by its potential (0-1; :meth:`Outputs.effectiveness
  <adoption_abm.outputs.indicators.Outputs.effectiveness>` on the age axis, the same figure
  ``gap_age`` takes the range of); ``realised_ratio_<a>_minus_<b>_Y`` is band ``a``'s minus
  band ``b``'s (``a`` younger than ``b``; difference of two ratios, -1 to 1), e.g.
  ``realised_ratio_under_30_minus_50_59_2030``;
* **establishments' deployment** (hospitals: the types of :data:`HOSPITAL_TYPES` present in the
  scenario, else all types; each establishment counts once, whatever its size):
  ``deployment_share_<family>_Y``, the share of hospitals that have deployed the family at the
  end of ``Y`` (0-1); ``deployment_bass_p_<family>`` and ``deployment_bass_q_<family>``, the
  Bass innovation and imitation coefficients (per year) of the best least-squares fit of the
  monthly share deployed (:func:`fit_bass`), ``deployment_bass_pq_<family>`` their sum (per
  year: the yearly hazard of the last hospitals to deploy, the one combination a curve's tail
  identifies) and ``deployment_bass_rmse_<family>`` the fit's root mean square error (share);
* **median time to adoption**: ``median_time_to_adoption_<family>`` and
  ``median_time_to_adoption_all`` (all families pooled), in years: over the (establishment,
  family) pairs deployed during the run (not those deployed in the initial state), the
  Kaplan-Meier median of the time from the end of the month of deployment to the end of the
  first month in which at least half of the establishment's professionals use or master the
  family; pairs that have not reached half use by the end of the run are right-censored. All
  establishment types count. If fewer than half of the pairs reach it, the value is the longest
  follow-up time (a lower bound); NaN if no pair was deployed during the run.

:data:`MOMENTS` gives each family of names its definition and unit; :func:`moment_names` lists
the names a scenario has (a calibration checks its targets against them before any run).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..scenario.calendar import MONTHS, REPORT_YEARS, age_band_keys, year_end_month
from .params import flat_outputs

if TYPE_CHECKING:
    from ..outputs.deployment import DeploymentLog
    from ..scenario.schema import Scenario

HOSPITAL_TYPES: tuple[str, ...] = ("chu", "general_hospital", "private_clinic")
"""Establishment types read as hospitals by the deployment moments (the Bass target, Esdar et
al. 2019, is US hospitals' EHR adoption). Assumption: nursing homes and ambulatory practices
are not hospitals."""

MOMENTS: dict[str, tuple[str, str]] = {
    "realised_<group>_<year>": ("realised gain (share of working time freed)", "share 0-1"),
    "potential_all_<year>": ("potential time freed, all professions", "share 0-1"),
    "fte_freed_all_<year>": ("full-time equivalents freed, whole workforce", "FTE"),
    "gap_<axis>_<year>, multi_speed_gap_<year>": (
        "range of effectiveness across professions, age bands or establishment types",
        "difference of shares",
    ),
    "downgrading_risk_<year>": ("share of non-medical freed time at downgrading risk", "share"),
    "realised_ratio_<band>_<year>": (
        "effectiveness of an age band: its realised gain / its potential",
        "ratio 0-1",
    ),
    "realised_ratio_<a>_minus_<b>_<year>": (
        "effectiveness of age band a minus that of the older band b",
        "difference of ratios",
    ),
    "mix_<profession>_<family>_<year>": (
        "share of a profession's realised gain that comes from the family (summary's mix)",
        "share 0-1",
    ),
    "deployment_share_<family>_<year>": (
        "share of hospitals that have deployed the family (end of year)",
        "share 0-1",
    ),
    "deployment_bass_p_<family>, deployment_bass_q_<family>": (
        "Bass innovation / imitation coefficient of the hospitals' monthly deployment curve",
        "per year",
    ),
    "deployment_bass_pq_<family>": ("p + q of the same fit: the hazard at full deployment", "/yr"),
    "deployment_bass_rmse_<family>": ("root mean square error of that fit", "share"),
    "median_time_to_adoption_<family|all>": (
        "Kaplan-Meier median time from an establishment's deployment to half its staff using",
        "years",
    ),
}
"""Families of moment names: definition and unit (docs/BATCH.md prints this table)."""


# ---------------------------------------------------------------------------------------------
# Bass fit
# ---------------------------------------------------------------------------------------------
class BassFit(NamedTuple):
    """A Bass fit of a cumulative share: coefficients per year, the time origin (years before
    the first observation at which the fitted curve is 0) and the root mean square error."""

    p: float
    q: float
    origin: float
    rmse: float


def bass_curve(p: float, q: float, t: np.ndarray) -> np.ndarray:
    """Bass cumulative share F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t}), F(0) = 0."""
    e = np.exp(-(p + q) * np.asarray(t, dtype=np.float64))
    return (1.0 - e) / (1.0 + (q / p) * e)


def bass_origin(p: float, q: float, share0: float) -> float:
    """Time ``τ`` (years) at which the Bass curve reaches ``share0``: the curve of a diffusion
    first observed at ``share0`` is ``bass_curve(p, q, t + τ)``."""
    return float(-np.log((1.0 - share0) / (1.0 + (q / p) * share0)) / (p + q))


BASS_STARTS = ((0.03, 0.38), (0.3, 0.3), (0.01, 1.0), (1.0, 0.1))
"""Starting points (p, q) of the fit; the best is kept. (0.03, 0.38): the typical yearly values
of the digest."""
BASS_BOUNDS = ((1e-4, 20.0), (1e-4, 20.0))


def fit_bass(t: np.ndarray, share: np.ndarray) -> BassFit:
    """Least-squares Bass fit of a cumulative share ``share`` observed at times ``t`` (years).

    The curve is anchored at the first observation: ``F(t) = bass_curve(p, q, t - t[0] + τ)``
    with ``τ = bass_origin(p, q, share[0])``, so a diffusion already under way when observation
    starts (left-truncated) is fitted without a third free parameter; with ``share[0] = 0`` it
    is the plain Bass curve. ``p`` and ``q`` are fitted in log space within
    :data:`BASS_BOUNDS` by ``scipy.optimize.least_squares`` from each of :data:`BASS_STARTS`.
    Returns NaNs if the share does not move or starts at 1.

    Identification: near saturation the hazard of the remaining adopters is ``p + q F`` with
    ``F`` close to 1, so the tail of a curve (e.g. starting at 80 %) pins ``p + q`` well and
    ``p`` and ``q`` separately poorly.
    """
    from scipy.optimize import least_squares

    t = np.asarray(t, dtype=np.float64) - float(t[0])
    y = np.asarray(share, dtype=np.float64)
    nan = BassFit(np.nan, np.nan, np.nan, np.nan)
    if len(y) < 3 or not np.all(np.isfinite(y)) or y[0] >= 1.0 or np.ptp(y) <= 0:
        return nan
    y0 = float(y[0])

    def residuals(x: np.ndarray) -> np.ndarray:
        p, q = np.exp(x)
        return bass_curve(p, q, t + bass_origin(p, q, y0)) - y

    lo = np.log([b[0] for b in BASS_BOUNDS])
    hi = np.log([b[1] for b in BASS_BOUNDS])
    best = None
    for start in BASS_STARTS:
        res = least_squares(residuals, np.log(start), bounds=(lo, hi))
        if best is None or res.cost < best.cost:
            best = res
    p, q = (float(v) for v in np.exp(best.x))
    return BassFit(p, q, bass_origin(p, q, y0), float(np.sqrt(2.0 * best.cost / len(y))))


# ---------------------------------------------------------------------------------------------
# Time to adoption
# ---------------------------------------------------------------------------------------------
def kaplan_meier_median(durations: np.ndarray, observed: np.ndarray) -> float:
    """Kaplan-Meier median of right-censored durations: the first event time at which the
    estimated survival falls to 0.5 or below. If it never does, the longest duration (a lower
    bound of the median); NaN for no durations."""
    d = np.asarray(durations, dtype=np.float64)
    e = np.asarray(observed, dtype=bool)
    if len(d) == 0:
        return float("nan")
    times = np.unique(d[e])
    survival = 1.0
    for t in times:
        at_risk = np.count_nonzero(d >= t)
        events = np.count_nonzero((d == t) & e)
        survival *= 1.0 - events / at_risk
        if survival <= 0.5:
            return float(t)
    return float(d.max())


def median_time_to_adoption(log: DeploymentLog, families: Iterable[int]) -> float:
    """Years from deployment to half use (see the module docstring), pooled over ``families``
    (indices), from a model's :class:`~adoption_abm.outputs.deployment.DeploymentLog`."""
    cols = list(families)
    deployed = log.deployed_month[:, cols].ravel()
    half = log.half_month[:, cols].ravel()
    last = len(log.counts) - 1
    during = deployed >= 1
    observed = half[during] >= 0
    end = np.where(observed, half[during], last)
    return kaplan_meier_median((end - deployed[during]) / MONTHS, observed)


# ---------------------------------------------------------------------------------------------
# All moments
# ---------------------------------------------------------------------------------------------
def report_years(scenario: Scenario, last: int) -> list[int]:
    """The years with figures: reported years up to ``last`` (the last simulated year), and
    ``last`` itself (as :func:`~adoption_abm.batch.params.flat_outputs`)."""
    years = [y for y in REPORT_YEARS if scenario.start_year <= y <= last]
    if last >= scenario.start_year and last not in years:
        years.append(last)
    return years


def hospital_types(scenario: Scenario) -> list[int]:
    """Indices of :data:`HOSPITAL_TYPES` among the scenario's types (all types if none)."""
    ids = list(scenario.type_ids)
    picked = [i for i, t in enumerate(ids) if t in HOSPITAL_TYPES]
    return picked or list(range(len(ids)))


def _age_names(scenario: Scenario, years: list[int]) -> list[str]:
    bands = age_band_keys(scenario.indicators.age_bands)
    out = []
    for y in years:
        out += [f"realised_ratio_{b}_{y}" for b in bands]
        out += [f"realised_ratio_{a}_minus_{b}_{y}" for a, b in combinations(bands, 2)]
    return out


def _deployment_names(scenario: Scenario, years: list[int]) -> list[str]:
    out = []
    for fam in scenario.families:
        out += [f"deployment_share_{fam}_{y}" for y in years]
        out += [f"deployment_bass_{k}_{fam}" for k in ("p", "q", "pq", "rmse")]
    return out


def _adoption_names(scenario: Scenario) -> list[str]:
    return [f"median_time_to_adoption_{f}" for f in (*scenario.families, "all")]


def moment_names(scenario: Scenario, last_year: int | None = None) -> list[str]:
    """Every moment name a run of ``scenario`` to the end of ``last_year`` (default: its end
    year) has, in :func:`model_moments`' order."""
    last = scenario.end_year if last_year is None else int(last_year)
    years = report_years(scenario, last)
    flat = []
    for y in years:
        groups = ("all", "medical", "non_medical", *scenario.profession_ids)
        flat += [f"realised_{g}_{y}" for g in groups]
        flat += [f"potential_all_{y}", f"fte_freed_all_{y}"]
        flat += [f"gap_{a}_{y}" for a in ("profession", "age", "establishment")]
        flat += [f"multi_speed_gap_{y}", f"downgrading_risk_{y}"]
    mix = [
        f"mix_{p}_{f}_{y}"
        for y in years
        for p in scenario.profession_ids
        for f in scenario.families
    ]
    return (
        flat
        + mix
        + _age_names(scenario, years)
        + _deployment_names(scenario, years)
        + _adoption_names(scenario)
    )


def model_moments(model: Any, names: Iterable[str] | None = None) -> dict[str, float]:
    """The moments of a model that has run (see the module docstring), as floats. With
    ``names``, only the groups of moments those names need are computed (the summary figures
    always are); the result may hold more names than asked."""
    wanted = None if names is None else set(names)

    def need(prefix: str) -> bool:
        return wanted is None or any(n.startswith(prefix) for n in wanted)

    sc = model.inputs
    out = flat_outputs(model)
    last = sc.start_year + model.month // MONTHS - 1
    years = report_years(sc, last)
    if need("mix_"):
        summary = model.summary()
        for y in years:
            for prof, shares in summary[str(y)]["mix"].items():
                for fam, value in shares.items():
                    out[f"mix_{prof}_{fam}_{y}"] = float("nan") if value is None else value
    if need("realised_ratio_"):
        outputs = model.outputs()
        eff = outputs.effectiveness("age")  # (M, B)
        bands = age_band_keys(sc.indicators.age_bands)
        for y in years:
            row = eff[outputs.year_month(y)]
            for b, band in enumerate(bands):
                out[f"realised_ratio_{band}_{y}"] = float(row[b])
            for (i, a), (j, b) in combinations(enumerate(bands), 2):
                out[f"realised_ratio_{a}_minus_{b}_{y}"] = float(row[i] - row[j])
    log = model.deployment_log
    if need("deployment_"):
        shares = log.shares(hospital_types(sc))  # (M, F)
        t = np.arange(len(shares)) / MONTHS
        for f, fam in enumerate(sc.families):
            for y in years:
                month = year_end_month(sc.start_year, y)
                out[f"deployment_share_{fam}_{y}"] = float(shares[month, f])
            if need("deployment_bass_"):
                fit = fit_bass(t, shares[:, f])
                out[f"deployment_bass_p_{fam}"] = fit.p
                out[f"deployment_bass_q_{fam}"] = fit.q
                out[f"deployment_bass_pq_{fam}"] = fit.p + fit.q
                out[f"deployment_bass_rmse_{fam}"] = fit.rmse
    if need("median_time_to_adoption_"):
        for f, fam in enumerate(sc.families):
            out[f"median_time_to_adoption_{fam}"] = median_time_to_adoption(log, [f])
        out["median_time_to_adoption_all"] = median_time_to_adoption(log, range(len(sc.families)))
    return out


__all__ = [
    "HOSPITAL_TYPES",
    "MOMENTS",
    "BassFit",
    "bass_curve",
    "bass_origin",
    "fit_bass",
    "kaplan_meier_median",
    "median_time_to_adoption",
    "model_moments",
    "moment_names",
]
