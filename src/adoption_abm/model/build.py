"""Model build: the scenario, a scale and a generator give the state arrays.

Professionals are rows of NumPy arrays ordered by establishment (establishments by type, staff
in random order inside an establishment, so teams mix professions). Establishments are rows
too; ``est_start`` gives each one's first professional. Mesa agents are views on these rows
(:mod:`adoption_abm.model.agents`).
"""

from __future__ import annotations

import numpy as np

from ..rules.cohorts import attitude_by_age, draw_resisters, initial_training
from ..scenario.errors import ScenarioError
from ..scenario.schema import Scenario
from .state import Establishments, Population


def agents_per_cell(scenario: Scenario, scale: float) -> np.ndarray:
    """Number of agents per (profession, establishment type) at ``scale``."""
    profs, types = scenario.profession_ids, scenario.type_ids
    cells = np.zeros((len(profs), len(types)), dtype=np.int64)
    for p, pid in enumerate(profs):
        prof = scenario.professions[pid]
        for t, tid in enumerate(types):
            cells[p, t] = round(prof.headcount * prof.spread.get(tid, 0.0) * scale)
    return cells


def check_scale(scenario: Scenario, scale: float, label: str = "options") -> np.ndarray:
    """Cells for ``scale``, or a clear error if ``scale`` is not a positive finite number or
    gives no agent for some profession."""
    if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
        raise ScenarioError(label, [("scale", f"must be a positive finite number, got {scale!r}")])
    cells = agents_per_cell(scenario, scale)
    empty = [pid for pid, row in zip(scenario.profession_ids, cells, strict=True) if row.sum() == 0]
    if empty:
        # a profession gets an agent once its largest cell rounds to 1, i.e. exceeds one half
        need = max(
            0.5 / (scenario.professions[p].headcount * max(scenario.professions[p].spread.values()))
            for p in scenario.profession_ids
        )
        raise ScenarioError(
            label,
            [
                (
                    "scale",
                    f"scale {scale:g} gives zero agents for {empty}; use scale > {need:.3g} "
                    "so that every profession has at least one agent",
                )
            ],
        )
    return cells


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    raw = total * weights / weights.sum()
    parts = np.floor(raw).astype(np.int64)
    short = total - parts.sum()
    if short:
        parts[np.argsort(-(raw - parts), kind="stable")[:short]] += 1
    return parts


def _truncated_normal(rng: np.random.Generator, mean, sd, lo, hi) -> np.ndarray:
    """Normal draws restricted to [lo, hi] by redrawing (arrays of per-draw parameters)."""
    x = rng.normal(mean, sd)
    bad = (x < lo) | (x > hi)
    while bad.any():
        x[bad] = rng.normal(mean[bad], sd[bad])
        bad = (x < lo) | (x > hi)
    return x


def build(
    scenario: Scenario, scale: float, rng: np.random.Generator
) -> tuple[Population, Establishments]:
    """Draw establishments and professionals for ``scenario`` at ``scale``."""
    cells = check_scale(scenario, scale)
    types = scenario.type_ids
    profs = scenario.profession_ids
    start_year = scenario.start_year

    est_type_parts, size_parts, prof_parts = [], [], []
    for t, tid in enumerate(types):
        staff = int(cells[:, t].sum())
        if staff == 0:
            continue
        et = scenario.establishment_types[tid]
        # as many establishments as in reality, each with at least one team on average: at
        # small scales establishments shrink towards one team instead of disappearing
        n_est = int(max(1, min(round(et.count), staff // et.team_size)))
        weights = rng.lognormal(0.0, et.size_sigma, n_est) if et.size_sigma > 0 else np.ones(n_est)
        sizes = 1 + _apportion(staff - n_est, weights)
        labels = np.repeat(np.arange(len(profs), dtype=np.uint8), cells[:, t])
        prof_parts.append(rng.permutation(labels))
        est_type_parts.append(np.full(n_est, t, dtype=np.uint8))
        size_parts.append(sizes)

    est_type = np.concatenate(est_type_parts)
    sizes = np.concatenate(size_parts)
    start = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    profession = np.concatenate(prof_parts)
    n = len(profession)
    establishment = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)

    # Attributes ----------------------------------------------------------------------------------
    def per_prof(get) -> np.ndarray:
        return np.array([get(scenario.professions[p]) for p in profs], dtype=np.float64)[profession]

    age = _truncated_normal(
        rng,
        per_prof(lambda p: p.age.mean),
        per_prof(lambda p: p.age.sd),
        per_prof(lambda p: p.age.min),
        per_prof(lambda p: p.age.max),
    )
    retire_lo = per_prof(lambda p: p.retirement_age[0])
    retire_hi = per_prof(lambda p: p.retirement_age[1])
    retire_age = rng.uniform(retire_lo, retire_hi)
    # someone already past their drawn retirement age retires at the first yearly update
    beh = scenario.behaviour
    attitude = rng.beta(beh.attitude.alpha, beh.attitude.beta, n)
    skill = np.clip(
        rng.beta(beh.skill.alpha, beh.skill.beta, n) + beh.skill_age_slope * (age - 45.0), 0.0, 1.0
    )
    type_access = np.array([scenario.establishment_types[t].training_access for t in types])
    access = per_prof(lambda p: p.training_access) * type_access[est_type[establishment]]

    # Initial deployment and use -----------------------------------------------------------
    fams = scenario.families
    init = np.array([[scenario.deployment.initial[t][f] for f in fams] for t in types])  # (T, F)
    deployed = (rng.random((len(sizes), len(fams))) < init[est_type]).astype(np.uint8)

    techs = list(scenario.technologies.families.values())
    p_mastered = np.array([tc.initial_mastered for tc in techs])
    p_using = np.array([tc.initial_using for tc in techs])
    u = rng.random((n, len(fams)))
    state = np.where(u < p_mastered, 2, np.where(u < p_mastered + p_using, 1, 0)).astype(np.uint8)
    state *= deployed[establishment]

    attitude = attitude_by_age(scenario, attitude, age)
    birth = (start_year - age).astype(np.float32)
    skill32 = skill.astype(np.float32)
    pop = Population(
        profession=profession.astype(np.uint8),
        establishment=establishment,
        birth=birth,
        retire_age=retire_age.astype(np.float32),
        attitude=attitude.astype(np.float32),
        skill=skill32,
        skill0=skill32.copy(),
        access=access.astype(np.float32),
        state=np.ascontiguousarray(state),
        trained=np.zeros((n, len(fams)), dtype=np.uint8),
    )
    est = Establishments(
        type=est_type,
        start=start.astype(np.int32),
        deployed=np.ascontiguousarray(deployed),
    )
    # mechanisms v2 (their draws come last, and only when switched on): initial training by
    # graduation cohort, resisters
    rows = np.arange(n)
    graduation = start_year - age + per_prof(lambda p: p.entry_age)
    initial_training(pop, scenario, rows, graduation, rng)
    draw_resisters(pop, scenario, rows, age, rng)
    return pop, est
