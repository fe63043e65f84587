"""From the monthly tallies to the outputs: time freed, FTE, gaps, downgrading risk.

Everything here is computed from two small integer arrays per month (see ``rules.tally``), so it
costs nothing at full scale and is identical whichever engine produced them:

* ``cube[month, profession, age band, establishment type, family, state]``: headcounts of agents;
* ``risk[month, profession, family]``: agents who master the family without matching skill growth.

Definitions (fractions in 0-1):

* **potential** of a profession = Σ_f potential share of family f (scenario table, at the end of
  the month); of a group = headcount-weighted mean over its professions.
* **realised** of a profession = Σ_f potential_f × (share of the profession that masters f +
  carryover_f × share of legacy users); of a group, headcount-weighted mean.
* **fte_freed** (real scale): realised × headcount × FTE per head for a profession; the sum over
  professions for ``medical``, ``non_medical`` and ``eight_professions``; ``all`` extrapolates the
  eight professions' realised gain to the whole workforce (``workforce.total``), as the seeds do.
* **mix**: share of a profession's realised gain that comes from each family.
* **effectiveness** of a group of professionals = its realised / its potential.
  ``gap_profession``, ``gap_age`` and ``gap_establishment`` are the ranges (max - min) of
  effectiveness across professions, age bands and establishment types; ``multi_speed_gap`` is
  the largest of the three.
* **downgrading_risk**: share of the non-medical professions' freed time weighted by the
  masters' shortfall ``clip(1 - skill growth / mechanisms.downgrading.skill_gain, 0, 1) ·
  (1 - task opening)`` (continuous in skill growth); also per profession.
* **learning** (``mechanisms.learning``): share of working time spent on courses, mentoring and
  families in use not yet mastered; **net_realised** = realised − learning (realised is gross).
* **legacy users** of a new generation (``mechanisms.generations``) count as ``carryover`` of a
  master in realised time freed (the breakdowns by age band and type count masters only).
* **realised_gain**: realised minus its value in the initial state (month 0), the seed's frame
  ("gains de productivité ... par rapport à aujourd'hui").
* **breakdown** by age band and by establishment type (:meth:`Outputs.breakdown`): for a group
  of professionals (persons, not agents), ``adoption`` and ``mastery`` are the shares of its
  (professional, family) pairs in use or mastered, i.e. the mean over families;
  ``realised`` is the share of its working time freed (Σ_f potential_f × masters of f).

Frames carry the calendar of :func:`adoption_abm.scenario.calendar.calendar_columns`: ``month``
(0 is the initial state), ``date`` (first day of the month reported), integer ``year`` and
``month_of_year`` (0 for the initial state), and ``initial``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from ..rules.generations import carryover
from ..rules.memo import memo
from ..rules.states import MASTERED, USING
from ..rules.tallies import RISK_UNIT
from ..scenario.calendar import (
    MONTHS,
    REPORT_YEARS,
    age_band_keys,
    calendar_columns,
    table_at,
    year_end_month,
)
from ..scenario.schema import Scenario

GROUP_KEYS = ("all", "medical", "non_medical")


def _frozen(value: Any) -> Any:
    """``value`` with its arrays (also inside a dict) made read-only."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, dict):
        for v in value.values():
            _frozen(v)
    elif isinstance(value, tuple):
        for v in value:
            _frozen(v)
    return value


def memoised(method: Callable[..., Any]) -> Callable[..., Any]:
    """Compute an :class:`Outputs` method once per arguments (the tallies do not change once
    an ``Outputs`` is made): ``year_summary`` of several years, the indicators and the
    summary share their series. The results are read-only arrays."""

    @functools.wraps(method)
    def wrapper(self: Outputs, *args: Any) -> Any:
        key = (method.__name__, *args)
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = _frozen(method(self, *args))
        return got

    return wrapper


def potential_table(scenario: Scenario, n_months: int) -> np.ndarray:
    """Potential share per (month, profession, family) at the end of each month 0..n_months."""
    cache = memo(scenario).setdefault("potential_table", {})
    out = cache.get(n_months)
    if out is None:
        pot = scenario.potential
        fams = scenario.families
        out = np.zeros((n_months + 1, len(scenario.professions), len(fams)))
        # every month's time at once: np.interp reads each point as table_at reads one
        t = scenario.start_year + np.arange(n_months + 1) / MONTHS
        for p, pid in enumerate(scenario.profession_ids):
            for f, fam in enumerate(fams):
                out[:, p, f] = table_at(pot.years, pot.shares[pid][fam], t)
        out.setflags(write=False)  # shared by every run of the scenario (rules.memo)
        cache[n_months] = out
    return out


def month_label(scenario: Scenario, month: int) -> str:
    """'YYYY-MM' of the month that ends at step ``month`` ('start' for month 0)."""
    if month == 0:
        return f"{scenario.start_year}-01-01"
    y, m = divmod(month - 1, MONTHS)
    return f"{scenario.start_year + y}-{m + 1:02d}"


class Outputs:
    """Indicators computed from the tallies of months ``0..len(cubes)-1``.

    ``legacy``, ``courses`` and ``mentoring`` (see ``model.Tallies``) are zero when not given.
    """

    def __init__(
        self,
        scenario: Scenario,
        cubes: np.ndarray,
        risks: np.ndarray,
        potential: np.ndarray,
        legacy: np.ndarray | None = None,
        courses: np.ndarray | None = None,
        mentoring: np.ndarray | None = None,
    ):
        self.scenario = scenario
        self.cube = cubes.astype(np.float64)  # (M, P, B, T, F, S): S states
        self.risk = risks.astype(np.float64) / RISK_UNIT  # (M, P, F) Σ shortfall of masters
        self.pot = potential[: len(cubes)]  # (M, P, F)
        m, p, f = self.risk.shape
        self.legacy = np.zeros((m, p, f)) if legacy is None else legacy.astype(np.float64)
        self.courses = np.zeros((m, p)) if courses is None else courses.astype(np.float64)
        self.mentoring = np.zeros((m, p)) if mentoring is None else mentoring.astype(np.float64)
        self.carryover = carryover(scenario)  # (F,)
        profs = scenario.profession_ids
        self.headcount = np.array([scenario.professions[p].headcount for p in profs])
        self.medical = np.array([scenario.professions[p].group == "medical" for p in profs])
        self.families = scenario.families
        n_fam = len(self.families)
        self.n_agents = self.cube[0].sum(axis=(1, 2, 3, 4)) / n_fam  # (P,)
        self.weight = self.headcount / np.maximum(self.n_agents, 1)  # persons per agent
        self._memo: dict[tuple, Any] = {}

    @classmethod
    def from_tallies(cls, scenario: Scenario, tallies: Any, potential: np.ndarray) -> Outputs:
        """From a model's ``Tallies`` (lists of monthly arrays)."""
        return cls(
            scenario,
            np.stack(tallies.cubes),
            np.stack(tallies.risks),
            potential,
            np.stack(tallies.legacy),
            np.stack(tallies.courses),
            np.stack(tallies.mentoring),
        )

    # profession level ----------------------------------------------------------------------
    def mastery_share(self) -> np.ndarray:
        """(M, P, F) share of each profession that masters each family."""
        mastered = self.cube[..., MASTERED].sum(axis=(2, 3))
        return mastered / np.maximum(self.n_agents, 1)[None, :, None]

    def adoption_share(self) -> np.ndarray:
        """(M, P, F) share using or mastering."""
        used = self.cube[..., USING:].sum(axis=(2, 3, 5))
        return used / np.maximum(self.n_agents, 1)[None, :, None]

    def legacy_share(self) -> np.ndarray:
        """(M, P, F) share using a new generation with the old one's mastery."""
        return self.legacy / np.maximum(self.n_agents, 1)[None, :, None]

    @memoised
    def realised_by_family(self) -> np.ndarray:
        """(M, P, F) share of working time freed: potential × (masters + carryover × legacy
        users) (gross of learning time)."""
        effective = self.mastery_share() + self.carryover[None, None, :] * self.legacy_share()
        return self.pot * effective

    def learning_time(self) -> np.ndarray:
        """(M, P) share of working time spent learning (``mechanisms.learning``; 0 when off):
        courses, mentoring pairings and users still learning a family, in hours, over the
        working hours of the profession's professionals."""
        mech = self.scenario.mechanisms
        le = mech.learning
        if not le.enabled:
            return np.zeros(self.courses.shape)
        using = self.cube[..., USING].sum(axis=(2, 3, 4))  # (M, P) (professional, family) pairs
        hours = (
            le.hours_per_course * self.courses
            + mech.mentoring.hours_per_month * self.mentoring
            + le.hours_while_using * using
        )
        work = np.maximum(self.n_agents, 1)[None, :] * le.working_hours_per_month
        return hours / work

    @memoised
    def by_profession(self) -> dict[str, np.ndarray]:
        realised = self.realised_by_family().sum(axis=2)
        potential = self.pot.sum(axis=2)
        learning = self.learning_time()
        return {
            "potential": potential,
            "realised": realised,
            "learning": learning,
            "net": realised - learning,
        }

    def _grouped(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Headcount-weighted means over professions: all, medical, non_medical. values (M, P)."""
        out = {}
        for key, mask in (
            ("all", np.ones_like(self.medical)),
            ("medical", self.medical),
            ("non_medical", ~self.medical),
        ):
            h = self.headcount * mask
            out[key] = (
                (values * h).sum(axis=1) / h.sum() if h.sum() > 0 else np.full(len(values), np.nan)
            )
        return out

    def fte(self, realised_p: np.ndarray, realised_all: np.ndarray) -> dict[str, np.ndarray]:
        fte_head = self.scenario.workforce.fte_per_head
        per_prof = realised_p * self.headcount[None, :] * fte_head
        return {
            "all": realised_all * self.scenario.workforce.total * fte_head,
            "medical": per_prof[:, self.medical].sum(axis=1),
            "non_medical": per_prof[:, ~self.medical].sum(axis=1),
            "eight_professions": per_prof.sum(axis=1),
            "per_profession": per_prof,
        }

    # gaps ------------------------------------------------------------------------------------
    @memoised
    def weighted_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(M, P, B, T) realised and potential time freed of each cell of the tallies (profession,
        age band, establishment type), weighted by the professions' weights: what every
        effectiveness and gap sums over (computed once)."""
        w = self.weight[None, :, None, None]
        pot_sum = self.pot.sum(axis=2)  # (M, P)
        heads = self.cube.sum(axis=(4, 5)) / len(self.families)  # (M, P, B, T)
        mastered = self.cube[..., MASTERED]  # (M, P, B, T, F)
        realised = (mastered * self.pot[:, :, None, None, :]).sum(axis=4)  # (M, P, B, T)
        potential = heads * pot_sum[:, :, None, None]
        return realised * w, potential * w

    @memoised
    def by_type(self) -> np.ndarray:
        """(M, P, T, F, S) professionals counted over the age bands (exact integers)."""
        return self.cube.sum(axis=2)

    @memoised
    def effectiveness(self, axis: str) -> np.ndarray:
        """(M, G) realised / potential per group of ``axis`` (profession, age, establishment)."""
        realised, potential = self.weighted_cells()
        dims = {"profession": (2, 3), "age": (1, 3), "establishment": (1, 2)}[axis]
        r = realised.sum(axis=dims)
        p = potential.sum(axis=dims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(p > 0, r / np.where(p > 0, p, 1), np.nan)

    def gap(self, axis: str) -> np.ndarray:
        eff = self.effectiveness(axis)
        ok = ~np.isnan(eff)
        hi = np.where(ok, eff, -np.inf).max(axis=1)
        lo = np.where(ok, eff, np.inf).min(axis=1)
        return np.where(ok.any(axis=1), hi - lo, np.nan)

    @memoised
    def downgrading_risk(self) -> np.ndarray:
        """(M,) share of the non-medical professions' freed time weighted by the masters'
        shortfall (continuous in skill growth; see ``rules.tallies.shortfall_milli``)."""
        nm = ~self.medical
        w = self.weight[None, :, None]
        at_risk = (self.risk * self.pot * w)[:, nm].sum(axis=(1, 2))
        mastered = self.cube[..., MASTERED].sum(axis=(2, 3))
        freed = (mastered * self.pot * w)[:, nm].sum(axis=(1, 2))
        return np.divide(at_risk, freed, out=np.zeros_like(freed), where=freed > 0)

    @memoised
    def downgrading_by_profession(self) -> np.ndarray:
        """(M, P) the same share, profession by profession (NaN where nothing is freed)."""
        at_risk = (self.risk * self.pot).sum(axis=2)
        freed = (self.cube[..., MASTERED].sum(axis=(2, 3)) * self.pot).sum(axis=2)
        return np.divide(at_risk, freed, out=np.full_like(freed, np.nan), where=freed > 0)

    # frames ----------------------------------------------------------------------------------
    def indicators(self) -> pl.DataFrame:
        """One row per month: potential, realised (level and gain over month 0), FTE freed,
        gaps, downgrading risk, with the calendar columns."""
        cols = self.indicator_columns()
        del cols["month"]
        gains = {
            f"realised_gain_{k}": cols[f"realised_{k}"] - cols[f"realised_{k}"][0]
            for k in GROUP_KEYS
        }
        start = self.scenario.start_year
        return pl.DataFrame(
            {**calendar_columns(start, np.arange(len(self.cube))), **_after_realised(cols, gains)}
        )

    def indicator_columns(self) -> dict[str, Any]:
        """The columns of :meth:`indicators` as NumPy arrays (no frame to build)."""
        prof = self.by_profession()
        pot_g = self._grouped(prof["potential"])
        real_g = self._grouped(prof["realised"])
        fte = self.fte(prof["realised"], real_g["all"])
        gaps = {f"gap_{a}": self.gap(a) for a in ("profession", "age", "establishment")}
        cols: dict[str, Any] = {"month": np.arange(len(self.cube))}
        for k in GROUP_KEYS:
            cols[f"potential_{k}"] = pot_g[k]
        for k in GROUP_KEYS:
            cols[f"realised_{k}"] = real_g[k]
        learn_g = self._grouped(prof["learning"])
        for k in GROUP_KEYS:
            cols[f"learning_{k}"] = learn_g[k]
        for k in GROUP_KEYS:
            cols[f"net_realised_{k}"] = real_g[k] - learn_g[k]
        for k in ("all", "medical", "non_medical", "eight_professions"):
            cols[f"fte_freed_{k}"] = fte[k]
        net_fte = self.fte(prof["net"], real_g["all"] - learn_g["all"])
        cols["fte_net_all"] = net_fte["all"]
        cols.update(gaps)
        cols["multi_speed_gap"] = np.nanmax(np.vstack(list(gaps.values())), axis=0)
        cols["downgrading_risk"] = self.downgrading_risk()
        return cols

    def timeseries(self) -> pl.DataFrame:
        """Long frame: month × profession × family, with shares, potential, realised and FTE."""
        m_count, p_count, f_count = self.pot.shape
        months = np.repeat(np.arange(m_count), p_count * f_count)
        profs = np.tile(np.repeat(np.arange(p_count), f_count), m_count)
        fams = np.tile(np.arange(f_count), m_count * p_count)
        realised = self.realised_by_family()
        fte_head = self.scenario.workforce.fte_per_head
        pids = self.scenario.profession_ids
        return pl.DataFrame(
            {
                **calendar_columns(self.scenario.start_year, months),
                "profession": pl.Series([pids[p] for p in profs], dtype=pl.Categorical),
                "family": pl.Series([self.families[f] for f in fams], dtype=pl.Categorical),
                "agents": self.n_agents.astype(np.int64)[profs],
                "adoption": self.adoption_share().ravel(),
                "mastery": self.mastery_share().ravel(),
                "potential": self.pot.ravel(),
                "realised": realised.ravel(),
                "realised_gain": (realised - realised[:1]).ravel(),
                "fte_freed": (realised * self.headcount[None, :, None] * fte_head).ravel(),
            }
        )

    @memoised
    def group_shares(self, axis: str) -> dict[str, np.ndarray]:
        """(M, G) ``adoption``, ``mastery`` and ``realised`` of each group of ``axis`` (``age``:
        the age bands, ``establishment``: the establishment types), persons-weighted."""
        w = self.weight[None, :, None, None]
        keep = {"age": 2, "establishment": 3}[axis]
        other = 5 - keep  # the axis summed over with the professions (types, or age bands)
        cube = self.cube  # (M, P, B, T, F, S)
        heads = cube[..., 0, :].sum(axis=-1)  # (M, P, B, T): each family counts everyone
        users = cube[..., USING:].sum(axis=-1)  # (M, P, B, T, F)
        masters = cube[..., MASTERED]
        freed = (masters * self.pot[:, :, None, None, :]).sum(axis=-1)  # (M, P, B, T)
        n_fam = len(self.families)

        def per_group(x: np.ndarray) -> np.ndarray:
            return (x * w).sum(axis=(1, other))

        persons = per_group(heads)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = lambda x: np.where(persons > 0, x / np.where(persons > 0, persons, 1), np.nan)  # noqa: E731
            return {
                "adoption": share(per_group(users.sum(axis=-1)) / n_fam),
                "mastery": share(per_group(masters.sum(axis=-1)) / n_fam),
                "realised": share(per_group(freed)),
            }

    def breakdown(self) -> pl.DataFrame:
        """Long frame: month × (age band | establishment type) × adoption, mastery, realised."""
        sc = self.scenario
        months = np.arange(len(self.cube))
        frames = []
        for kind, axis, names in (
            ("age_band", "age", age_band_keys(sc.indicators.age_bands)),
            ("establishment_type", "establishment", sc.type_ids),
        ):
            shares = self.group_shares(axis)
            g = len(names)
            frames.append(
                pl.DataFrame(
                    {
                        **calendar_columns(sc.start_year, np.repeat(months, g)),
                        "breakdown": pl.Series([kind] * (len(months) * g), dtype=pl.Categorical),
                        "group": pl.Series(names * len(months), dtype=pl.String),
                        **{k: v.ravel() for k, v in shares.items()},
                    }
                )
            )
        return pl.concat(frames)

    # summary -----------------------------------------------------------------------------------
    def year_month(self, year: int) -> int:
        """Step at which the figures for ``year`` are read: the end of December."""
        return year_end_month(self.scenario.start_year, year)

    def _month_of(self, year: int) -> int:
        m = self.year_month(year)
        if m >= len(self.cube):
            raise ValueError(f"year {year} is beyond the simulated months")
        return m

    def _block(self, groups: dict[str, np.ndarray], per_prof: np.ndarray, m: int) -> dict:
        """Month ``m`` of the groups' and the professions' series, as ``summary.json`` has it."""
        out = {k: float(groups[k][m]) for k in GROUP_KEYS}
        out.update(
            {pid: float(per_prof[m, p]) for p, pid in enumerate(self.scenario.profession_ids)}
        )
        return out

    def headline(self, year: int) -> dict:
        """The part of :meth:`year_summary` a batch keeps (``batch.params.flat_outputs``):
        ``potential``, ``realised``, ``fte_freed``, ``multi_speed_gap`` and
        ``downgrading_risk``, computed as the summary computes them (it reads them from here),
        without the breakdowns by age band and establishment type."""
        m = self._month_of(year)
        prof = self.by_profession()
        real_g = self._grouped(prof["realised"])
        fte = self.fte(prof["realised"], real_g["all"])
        fte_block = self._block({k: fte[k] for k in GROUP_KEYS}, fte["per_profession"], m)
        fte_block["eight_professions"] = float(fte["eight_professions"][m])
        return {
            "potential": self._block(self._grouped(prof["potential"]), prof["potential"], m),
            "realised": self._block(real_g, prof["realised"], m),
            "fte_freed": fte_block,
            "multi_speed_gap": {
                a: float(self.gap(a)[m]) for a in ("profession", "age", "establishment")
            },
            "downgrading_risk": float(self.downgrading_risk()[m]),
        }

    def year_summary(self, year: int) -> dict:
        m = self._month_of(year)
        head = self.headline(year)
        prof = self.by_profession()
        real_g = self._grouped(prof["realised"])
        pids = self.scenario.profession_ids
        rbf = self.realised_by_family()[m]
        mix = {}
        for p, pid in enumerate(pids):
            total = rbf[p].sum()
            mix[pid] = {
                fam: (float(rbf[p, f] / total) if total > 0 else None)
                for f, fam in enumerate(self.families)
            }
        gain_g = {k: v - v[0] for k, v in real_g.items()}
        learn_g = self._grouped(prof["learning"])
        net_g = {k: real_g[k] - learn_g[k] for k in GROUP_KEYS}
        risk_p = self.downgrading_by_profession()[m]
        sc = self.scenario

        def groups(axis: str, names: list[str]) -> dict[str, dict[str, float | None]]:
            shares = self.group_shares(axis)
            return {
                name: {k: _number(v[m, g]) for k, v in shares.items()}
                for g, name in enumerate(names)
            }

        return {
            "potential": head["potential"],
            "realised": head["realised"],
            "realised_gain": self._block(gain_g, prof["realised"] - prof["realised"][:1], m),
            "learning": self._block(learn_g, prof["learning"], m),
            "net_realised": self._block(net_g, prof["net"], m),
            "fte_freed": head["fte_freed"],
            "mix": mix,
            "multi_speed_gap": head["multi_speed_gap"],
            "downgrading_risk": head["downgrading_risk"],
            "downgrading_risk_by_profession": {
                pid: _number(risk_p[p]) for p, pid in enumerate(pids)
            },
            "by_age_band": groups("age", age_band_keys(sc.indicators.age_bands)),
            "by_establishment_type": groups("establishment", sc.type_ids),
        }

    def summary_years(self) -> dict[str, dict]:
        start = self.scenario.start_year
        years = [y for y in REPORT_YEARS if y >= start and self.year_month(y) < len(self.cube)]
        return {str(y): self.year_summary(y) for y in years}


def _number(x: float) -> float | None:
    """A float for JSON: None where the group is empty (NaN)."""
    return None if np.isnan(x) else float(x)


def _after_realised(cols: dict[str, Any], gains: dict[str, Any]) -> dict[str, Any]:
    """``cols`` with the ``realised_gain_*`` columns right after the ``realised_*`` ones."""
    out: dict[str, Any] = {}
    for key, value in cols.items():
        out[key] = value
        if key == f"realised_{GROUP_KEYS[-1]}":
            out.update(gains)
    return out


# ---------------------------------------------------------------------------------------------
# Policy outputs (added with the proposals): value of freed time, pooled effectiveness
# ---------------------------------------------------------------------------------------------
def fte_reinvested(out: Outputs, share: np.ndarray) -> dict[str, np.ndarray]:
    """FTE freed that is reinvested in patient care, per month.

    ``share[month, profession]`` is the share of freed time reinvested (policies' schedule,
    :meth:`adoption_abm.policies.PolicySchedule.reinvestment`). ``all`` extrapolates the eight
    professions' reinvested share of their freed time to the whole workforce, like ``fte_freed``.
    """
    prof = out.by_profession()
    realised_all = out._grouped(prof["realised"])["all"]
    fte = out.fte(prof["realised"], realised_all)
    per_prof = fte["per_profession"] * share[: len(out.cube)]
    eight = per_prof.sum(axis=1)
    total = fte["eight_professions"]
    ratio = np.divide(eight, total, out=np.zeros_like(eight), where=total > 0)
    return {
        "all": fte["all"] * ratio,
        "medical": per_prof[:, out.medical].sum(axis=1),
        "non_medical": per_prof[:, ~out.medical].sum(axis=1),
        "eight_professions": eight,
    }


def pooled_effectiveness(out: Outputs, axis: str, groups: list[int]) -> np.ndarray:
    """(M,) realised / potential of the professionals in ``groups`` of ``axis`` pooled together
    (``axis``: profession, age or establishment; ``groups``: indices, e.g. age bands 50+)."""
    realised, potential = out.weighted_cells()
    pick = {"profession": (slice(None), groups), "age": (slice(None), slice(None), groups)}.get(
        axis, (slice(None), slice(None), slice(None), groups)
    )
    r = realised[pick].sum(axis=(1, 2, 3))
    p = potential[pick].sum(axis=(1, 2, 3))
    return np.divide(r, p, out=np.full_like(r, np.nan), where=p > 0)
