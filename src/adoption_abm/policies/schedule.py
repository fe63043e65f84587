"""The twenty proposals as policy levers: catalogue, interventions and the monthly levers.

An intervention is a mapping (validated by :class:`adoption_abm.scenario.Intervention`)::

    {"proposal": 6,            # 1..20, 2018 numbering (see PROPOSALS)
     "start": "2024-01",       # year-month it takes effect (default: scenario start)
     "end": "2030-12",         # optional last month in force (default: to the end)
     "intensity": 1.0,         # 0..5, scales every effect; 1 = the catalogue's strength
     "targets": {"professions": [...], "establishment_types": [...], "age_bands": [...]},
     "cost": 50.0}             # optional yearly cost, M€ (default: catalogue x intensity)

``targets`` is optional: absent lists mean everyone.

Each proposal acts through the channels of :class:`adoption_abm.rules.levers.Levers` listed in its
catalogue entry (``proposals.toml``, with the assumption and source of every number; rendered in
docs/POLICIES.md). :class:`PolicySchedule` turns a list of interventions into the levers in force
each month. Interventions compose: multipliers multiply, shifts add, reaches combine as
``1 - Π(1 - r)``; they are applied in a canonical order, so results depend on the set of
interventions, the scenario and the seed only, never on the order they were listed in.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..rules.levers import AgentEffect, Levers
from ..scenario.calendar import age_band_names, month_index
from ..scenario.interventions import Intervention, validate_interventions
from ..scenario.schema import Scenario
from .catalogue import Effect, catalogue

if TYPE_CHECKING:
    from ..model.state import Establishments, Population


# ---------------------------------------------------------------------------------------------
# The schedule: interventions → levers, month by month
# ---------------------------------------------------------------------------------------------
class PolicySchedule:
    """The levers in force each month, given a list of interventions.

    ``levers_at(month)`` returns the same :class:`Levers` object for months whose effective
    settings are equal (the model refreshes per-agent multipliers only when the object changes),
    and the neutral object while nothing is in force, so interventions of intensity 0 leave the
    model exactly as without them.
    """

    def __init__(
        self,
        scenario: Scenario,
        interventions: list[Any],
        pop: Population | None = None,
        est: Establishments | None = None,
    ):
        self.scenario = scenario
        self.n_months = scenario.n_months
        parsed = validate_interventions(scenario, interventions)
        self.interventions: list[Intervention] = sorted(
            parsed, key=lambda iv: (iv.proposal, self._span(iv), iv.model_dump_json())
        )
        self._n_prof = len(scenario.professions)
        self._n_types = len(scenario.establishment_types)
        self._medical = np.array([p.group == "medical" for p in scenario.professions.values()])
        self._neutral = Levers.neutral(self._n_prof, self._n_types, scenario.n_families)
        self._cache: dict[tuple, Levers] = {(): self._neutral}

    # -----------------------------------------------------------------------------------------
    def _span(self, iv: Intervention) -> tuple[int, int]:
        sc = self.scenario
        lo = month_index(sc.start_year, iv.start) if iv.start else sc.policy_start_month
        hi = month_index(self.scenario.start_year, iv.end) if iv.end else self.n_months
        return lo, hi

    def amplitudes(self, month: int) -> tuple[tuple[int, int, float], ...]:
        """Non-zero effects in force in ``month``: (intervention, effect, amplitude), with
        amplitude = value x intensity x ramp."""
        month = max(month, 1)
        out = []
        cat = catalogue().proposals
        for k, iv in enumerate(self.interventions):
            lo, hi = self._span(iv)
            if not lo <= month <= hi:
                continue
            prop = cat[iv.proposal]
            fade = 1.0
            if prop.fade_months is not None and prop.cost_months is not None:
                # after the funded months, the effects fade linearly to nothing
                past = month - (lo + prop.cost_months - 1)
                fade = max(0.0, 1.0 - past / prop.fade_months) if past > 0 else 1.0
            for e, eff in enumerate(prop.effects):
                onset = lo + eff.lag_months
                if month < onset:
                    continue
                ramp = (
                    1.0 if eff.ramp_months == 0 else min(1.0, (month - onset + 1) / eff.ramp_months)
                )
                value = eff.value if iv.effects is None else iv.effects[e]
                amp = value * iv.intensity * ramp * fade
                if amp != 0.0:
                    out.append((k, e, amp))
        return tuple(out)

    def first_month_in_force(self) -> int:
        """The first month (1-based) in which any effect is in force; ``n_months + 1`` if none
        ever is. Before it, :meth:`levers_at` gives the neutral levers: a run is the run without
        these interventions up to the month before (what :meth:`AdoptionModel.fork
        <adoption_abm.model.AdoptionModel.fork>` relies on)."""
        for month in range(1, self.n_months + 1):
            if self.amplitudes(month):
                return month
        return self.n_months + 1

    def levers_at(self, month: int) -> Levers:
        """Levers for month ``month`` (1 = January of the first year; 0 is read as 1)."""
        key = self.amplitudes(month)
        levers = self._cache.get(key)
        if levers is None:
            levers = self._cache[key] = self._build(key)
        return levers

    # -----------------------------------------------------------------------------------------
    def _masks(
        self, iv: Intervention, eff: Effect
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Profession mask (group and targets), type mask and age-band mask (None = all)."""
        sc = self.scenario
        prof = np.ones(self._n_prof, dtype=bool)
        if eff.group != "all":
            prof &= self._medical if eff.group == "medical" else ~self._medical
        t = iv.targets
        types = bands = None
        if t is not None:
            if t.professions is not None:
                prof &= np.isin(sc.profession_ids, t.professions)
            if t.establishment_types is not None:
                types = np.isin(sc.type_ids, t.establishment_types)
            if t.age_bands is not None:
                bands = np.isin(age_band_names(sc.indicators.age_bands), t.age_bands)
        return prof, types, bands

    def _build(self, key: tuple[tuple[int, int, float], ...]) -> Levers:
        lv = Levers.neutral(self._n_prof, self._n_types, self.scenario.n_families)
        zeros = np.zeros(self._n_prof)
        entrant = {
            "entrant_skill": zeros.copy(),
            "entrant_attitude": zeros.copy(),
            "entry_age": zeros.copy(),
            "entrant_exposure": zeros.copy(),
        }
        reinvest = zeros.copy()
        opening = zeros.copy()
        agent: list[AgentEffect] = []
        cat = catalogue().proposals
        course_w: dict[int, float] = {}
        project_w: dict[int, float] = {}
        for k, e, amp in key:
            iv = self.interventions[k]
            eff = cat[iv.proposal].effects[e]
            if eff.buys == "courses":  # share of the bought courses: log-multiplier (or reach)
                course_w[k] = course_w.get(k, 0.0) + (
                    amp if eff.channel == "reach" else math.log1p(max(amp, -0.999))
                )
            elif eff.buys == "projects":
                project_w[k] = project_w.get(k, 0.0) + math.log1p(max(amp, -0.999))
            prof, types, bands = self._masks(iv, eff)
            fam = (
                np.ones(self.scenario.n_families, dtype=bool)
                if eff.families is None
                else np.isin(self.scenario.families, eff.families)
            )
            mult = max(0.0, 1.0 + amp)
            ch = eff.channel
            if ch in ("adoption", "training", "reach"):
                agent.append(
                    AgentEffect(
                        professions=prof,
                        types=types,
                        age_bands=bands,
                        adoption=mult if ch == "adoption" else 1.0,
                        training=mult if ch == "training" else 1.0,
                        reach=min(1.0, amp) if ch == "reach" else 0.0,
                        bought=eff.buys == "courses",
                    )
                )
            elif ch in ("adoption_family", "mastery"):
                arr = lv.adoption if ch == "adoption_family" else lv.mastery
                arr[np.ix_(prof, fam)] *= mult
            elif ch == "deployment":
                tmask = np.ones(self._n_types, dtype=bool) if types is None else types
                if eff.buys == "projects":
                    if lv.deployment_bought is None:
                        lv.deployment_bought = np.ones_like(lv.deployment)
                    lv.deployment_bought[np.ix_(tmask, fam)] *= mult
                else:
                    lv.deployment[np.ix_(tmask, fam)] *= mult
            elif ch == "training_capacity":
                lv.training_capacity += amp
            elif ch == "skill_gain":
                lv.training_skill_gain *= mult
            elif ch == "training_boost":
                lv.training_boost *= mult
            elif ch == "mentoring_take_up":
                lv.mentoring_take_up *= mult
            elif ch == "mentoring_capacity":
                lv.mentoring_capacity *= mult
            elif ch == "support":
                lv.support *= mult
            elif ch in entrant:
                entrant[ch][prof] += amp
            elif ch == "task_opening":
                opening[prof] += amp
            elif ch == "reinvestment":
                reinvest[prof] += amp
        lv.agent_effects = tuple(agent)
        lv.course_funds, lv.course_buyers = self._funds(course_w, "courses")
        lv.project_funds, lv.project_buyers = self._funds(project_w, "projects")
        if entrant["entrant_skill"].any():
            lv.entrant_skill_shift = entrant["entrant_skill"]
        if entrant["entrant_attitude"].any():
            lv.entrant_attitude_shift = entrant["entrant_attitude"]
        if entrant["entry_age"].any():
            lv.entry_age_shift = entrant["entry_age"]
        if entrant["entrant_exposure"].any():
            lv.entrant_exposure = entrant["entrant_exposure"]
        if opening.any():
            lv.task_opening = np.clip(opening, 0.0, 1.0)
        lv.extra["reinvestment"] = reinvest
        return lv

    def _funds(
        self, weights: dict[int, float], kind: str
    ) -> tuple[float, tuple[tuple[int, float], ...]]:
        """Units of ``kind`` a month the buying interventions' budgets pay for (nationally):
        each one's ceiling less its programme units, at the unit cost; and each one's share of
        what is bought (its weight over the total)."""
        if not weights:
            return 0.0, ()
        cat = catalogue().proposals
        units = 0.0
        for k in weights:
            iv = self.interventions[k]
            prop = cat[iv.proposal]
            free = max(0.0, self.ceiling(k) - prop.fixed_cost(iv.unit_costs) * iv.intensity)
            units += free * 1e6 / 12.0 / prop.unit_cost(kind, iv.unit_costs)
        total = sum(max(w, 0.0) for w in weights.values())
        n = len(weights)
        shares = tuple(
            (k, max(w, 0.0) / total if total > 0 else 1.0 / n) for k, w in sorted(weights.items())
        )
        return units, shares

    def ceiling(self, k: int) -> float:
        """Intervention ``k``'s yearly budget ceiling (M€): its ``cost``, else the catalogue's
        x intensity."""
        iv = self.interventions[k]
        return (
            iv.cost
            if iv.cost is not None
            else catalogue().proposals[iv.proposal].cost * (iv.intensity)
        )

    # outputs ---------------------------------------------------------------------------------
    def reinvestment(self, n_months: int | None = None) -> np.ndarray:
        """(months 0..n, P) share of freed time reinvested in care: catalogue base + policies."""
        n = self.n_months if n_months is None else n_months
        base_cfg = catalogue().reinvestment
        base = np.where(self._medical, base_cfg.medical, base_cfg.non_medical)
        out = np.empty((n + 1, self._n_prof))
        for m in range(n + 1):
            extra = self.levers_at(m).extra.get("reinvestment")
            out[m] = base if extra is None else base + extra
        return np.clip(out, 0.0, 1.0)

    def budget_by_month(self, n_months: int | None = None) -> np.ndarray:
        """(months 0..n,) budget ceilings in force, in million euros a month (month 0 is empty):
        each intervention's yearly ceiling (its ``cost``, else the catalogue's x intensity) /
        12, from its start while in force, for the proposal's ``cost_months`` when given.
        What is spent (the activity delivered at unit costs) never exceeds it."""
        n = self.n_months if n_months is None else n_months
        return self.budget_by_intervention(n).sum(axis=1)

    def budget_by_intervention(self, n_months: int | None = None) -> np.ndarray:
        """(months 0..n, K) each intervention's budget ceiling a month (M€)."""
        n = self.n_months if n_months is None else n_months
        out = np.zeros((n + 1, len(self.interventions)))
        cat = catalogue().proposals
        for k, iv in enumerate(self.interventions):
            prop = cat[iv.proposal]
            yearly = self.ceiling(k)
            lo, hi = self._span(iv)
            if prop.cost_months is not None:
                hi = min(hi, lo + prop.cost_months - 1)
            out[lo : min(hi, n) + 1, k] += yearly / 12.0
        return out

    def budget_by_year(self) -> dict[int, float]:
        """Budget ceilings in million euros by calendar year (what a portfolio commits)."""
        monthly = self.budget_by_month()[1:].reshape(-1, 12).sum(axis=1)
        return {self.scenario.start_year + y: float(v) for y, v in enumerate(monthly)}

    def spending(self, activity: dict[str, np.ndarray], scale: float) -> dict[str, np.ndarray]:
        """What each intervention spends each month, in million euros, by activity: a dict of
        ``(months 0..n, K)`` arrays ``programme``, ``courses``, ``projects``,
        ``mentoring_hours`` and their ``total``.

        ``activity`` is :meth:`adoption_abm.outputs.activity.ActivityLog.arrays` of a run at
        ``scale`` (agents per real professional): counts are divided by the scale to be
        national. Programmes spend their units x unit cost x intensity while funded (within
        the ceiling); courses and projects are bought within the ceiling by construction
        (:mod:`adoption_abm.rules.supply`); mentoring hours are every pairing in force x hours
        x unit cost, shared among the interventions that pay for them, measured, not capped.
        """
        budget = self.budget_by_intervention(len(activity["courses"]) - 1)
        n, k = budget.shape
        cat = catalogue()
        out = {kind: np.zeros((n, k)) for kind in ("programme", "courses", "projects")}
        out["mentoring_hours"] = np.zeros((n, k))
        funded = budget > 0
        mentors = np.zeros((n, k), dtype=bool)
        for i, iv in enumerate(self.interventions):
            prop = cat.proposals[iv.proposal]
            fixed = min(prop.fixed_cost(iv.unit_costs) * iv.intensity, self.ceiling(i))
            out["programme"][:, i] = np.where(funded[:, i], fixed / 12.0, 0.0)
            for kind, key in (("courses", "bought"), ("projects", "projects")):
                unit = prop.unit_cost(kind, iv.unit_costs)
                if unit is not None:
                    out[kind][:, i] = activity[key][:, i] / scale * unit / 1e6
            mentors[:, i] = funded[:, i] & (prop.unit_cost("mentoring_hours") is not None)
        hours = cat.units.get("mentoring_hours")
        if hours is not None and mentors.any():
            per_month = activity["pairings"] / scale * hours.hours_per_pairing / 12.0
            share = mentors / np.maximum(mentors.sum(axis=1, keepdims=True), 1)
            for i, iv in enumerate(self.interventions):  # each at its own unit cost
                if mentors[:, i].any():
                    unit = cat.proposals[iv.proposal].unit_cost("mentoring_hours", iv.unit_costs)
                    out["mentoring_hours"][:, i] = per_month * unit / 1e6 * share[:, i]
        out["total"] = sum(
            out[kind] for kind in ("programme", "courses", "projects", "mentoring_hours")
        )
        return out

    def discount_factors(self, n_months: int | None = None) -> np.ndarray:
        """(months 0..n,) discount factor of each month's spending: ``(1 + r)^-(t - t0)``,
        ``r`` the catalogue's rate, ``t`` the month's middle, ``t0`` January of the base year
        (the catalogue's, else the scenario's policy start year)."""
        n = self.n_months if n_months is None else n_months
        d = catalogue().discounting
        base = d.base_year if d.base_year is not None else int(self.scenario.policy_start[:4])
        t = self.scenario.start_year + (np.arange(n + 1) - 0.5) / 12.0
        return (1.0 + d.rate) ** -(t - base)
