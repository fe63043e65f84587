"""The month's work outside the professionals' step, for each engine: demography, deployment,
the deployment log and the training demand.

The reference engine runs the NumPy rules (:mod:`adoption_abm.rules`, the specification). The
cython engine runs the same rules with their per-row loops compiled (``_kernels``): the same
draws from the model's generator, in the same order and of the same sizes, then the same
floating-point operations in the same order, so every array is bit-identical
(``tests/test_months.py`` checks each function against its rule, and the golden runs the whole).
What is left in Python here is what draws random numbers (NumPy's generator has to give the
same sequence) and the arithmetic on arrays of a few types or professions.

A default run spent about half of its months' time in these functions, in some 80 NumPy calls a
month on arrays of 10,000 rows or of a handful (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..rules.demography import career_ages, replace_retirees
from ..rules.deployment import deployment_step, month_rates
from ..rules.memo import memo
from ..rules.mentoring import Pairs, mentoring_load, pair_mentors
from ..rules.propensity import refresh
from ..rules.states import MENTORED
from ..rules.supply import DemandFunction, training_demand
from ..scenario.calendar import MONTHS

if TYPE_CHECKING:
    from ..model.state import Establishments, Population
    from ..rules.levers import Levers
    from ..scenario.schema import Scenario

NONE = np.zeros(0, dtype=np.float64)
"""An absent lever or mechanism, as the compiled functions take it: an empty array."""


@dataclass(frozen=True)
class MonthWork:
    """An engine's functions for the month's work outside the professionals' step; each has the
    signature of the rule it stands for."""

    replace_retirees: Callable[..., np.ndarray]  # rules.demography.replace_retirees
    deployment_step: Callable[..., tuple[int, int]]  # rules.deployment.deployment_step
    deployment_recorder: Callable[..., np.ndarray] | None  # DeploymentLog.record's loop
    training_demand: DemandFunction  # rules.supply.training_demand
    mentoring_load: Callable[..., np.ndarray]  # rules.mentoring.mentoring_load
    pair_mentors: Callable[..., Pairs]  # rules.mentoring.pair_mentors
    refresh: Callable[..., None]  # rules.propensity.refresh


REFERENCE = MonthWork(
    replace_retirees, deployment_step, None, training_demand, mentoring_load, pair_mentors, refresh
)
"""The NumPy rules themselves."""


def _kernels(kernels: ModuleType | None) -> ModuleType:
    if kernels is None:
        from . import _kernels as kernels
    return kernels


def compiled_deployment_record(
    deployed: np.ndarray,
    type_: np.ndarray,
    start: np.ndarray,
    state: np.ndarray,
    deployed_month: np.ndarray,
    half_month: np.ndarray,
    n_types: int,
    month: int,
    kernels: ModuleType | None = None,
) -> np.ndarray:
    """:meth:`DeploymentLog.record <adoption_abm.outputs.deployment.DeploymentLog.record>`'s
    loop compiled (``_kernels.deployment_record``): updates the two month arrays, returns the
    month's counts by type."""
    counts = np.empty((n_types, deployed.shape[1]), dtype=np.int64)
    _kernels(kernels).deployment_record(
        deployed, type_, start, state, deployed_month, half_month, counts, month
    )
    return counts


# ---------------------------------------------------------------------------------------------
# Demography
# ---------------------------------------------------------------------------------------------
def _entrant_constants(scenario: Scenario) -> dict[str, Any]:
    """What the entrants' arithmetic reads from the scenario alone (once per scenario)."""
    m = memo(scenario)
    const = m.get("entrants")
    if const is None:
        entry_age, lo_age, hi_age = career_ages(scenario)
        co = scenario.mechanisms.cohorts
        res = scenario.mechanisms.resistance
        exposed = [
            (f, np.asarray(co.exposure[fam], dtype=np.float64))
            for f, fam in enumerate(scenario.families)
            if co.enabled and co.exposure.get(fam) is not None
        ]
        const = m["entrants"] = {
            "entry_age": np.ascontiguousarray(entry_age, dtype=np.float64),
            "retire_low": np.ascontiguousarray(lo_age, dtype=np.float64),
            "retire_high": np.ascontiguousarray(hi_age, dtype=np.float64),
            "years": np.asarray(co.years, dtype=np.float64),
            "exposed": exposed,
            "family": np.array([f for f, _ in exposed], dtype=np.int64),
            "attitude_age_slope": co.attitude_age_slope if co.enabled else 0.0,
            "resistance": res.enabled,
            "resist_share": np.array(
                [res.share.get(p, 0.0) for p in scenario.profession_ids], dtype=np.float64
            ),
            "resist_age_slope": res.age_slope,
        }
    return const


def _lever(values: np.ndarray | None) -> np.ndarray:
    return NONE if values is None else np.ascontiguousarray(values, dtype=np.float64)


def compiled_replace_retirees(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rng: np.random.Generator,
    kernels: ModuleType | None = None,
) -> np.ndarray:
    """:func:`rules.demography.replace_retirees <adoption_abm.rules.demography.replace_retirees>`
    with its loops compiled: the same draws, then ``_kernels.admit_entrants``."""
    kernels = _kernels(kernels)
    out = kernels.retirees(pop.birth, pop.retire_age, t)
    k = len(out)
    if k == 0:
        return out
    beh = scenario.behaviour
    const = _entrant_constants(scenario)
    # the draws, in replace_retirees' order (then initial_training's, then draw_resisters')
    entry_draw = rng.uniform(-1.0, 1.0, k)
    attitude = rng.beta(beh.attitude.alpha, beh.attitude.beta, k)
    skill = rng.beta(beh.skill.alpha, beh.skill.beta, k)
    retire_draw = rng.random(k)  # rng.uniform(lo, hi)'s uniforms; admit_entrants scales them
    exposed = const["exposed"]
    shares = np.array([np.interp(t, const["years"], values) for _, values in exposed])
    exposure_draw = np.empty((len(exposed), k))
    for g in range(len(exposed)):
        exposure_draw[g] = rng.random(k)
    resist_draw = rng.random(k) if const["resistance"] else NONE
    kernels.admit_entrants(
        out,
        entry_draw,
        attitude,
        skill,
        retire_draw,
        exposure_draw,
        np.ascontiguousarray(shares, dtype=np.float64).reshape(len(exposed)),
        const["family"],
        resist_draw,
        const["entry_age"],
        const["retire_low"],
        const["retire_high"],
        _lever(levers.entry_age_shift),
        _lever(levers.entrant_skill_shift),
        _lever(levers.entrant_attitude_shift),
        _lever(levers.entrant_exposure),
        const["resist_share"],
        float(t),
        float(beh.skill_age_slope),
        float(beh.entrant_skill_shift),
        float(const["attitude_age_slope"]),
        float(const["resist_age_slope"]),
        pop.profession,
        pop.establishment,
        est.deployed,
        pop.birth,
        pop.retire_age,
        pop.attitude,
        pop.skill,
        pop.skill0,
        pop.state,
        pop.trained,
        pop.support,
        pop.resist,
    )
    return out


# ---------------------------------------------------------------------------------------------
# Deployment
# ---------------------------------------------------------------------------------------------
def compiled_deployment_step(
    est: Establishments,
    scenario: Scenario,
    rhythm: str,
    month: int,
    levers: Levers,
    rng: np.random.Generator,
    funds: float = 0.0,
    kernels: ModuleType | None = None,
) -> tuple[int, int]:
    """:func:`rules.deployment.deployment_step <adoption_abm.rules.deployment.deployment_step>`
    with its per-establishment loops compiled. A month with projects to fund runs the rule
    itself (its ranking of the candidates is NumPy's stable sort)."""
    if levers.deployment_bought is not None and funds >= 1.0:
        return deployment_step(est, scenario, rhythm, month, levers, rng, funds=funds)
    kernels = _kernels(kernels)
    n_fam = est.deployed.shape[1]

    def count(est: Establishments, n_types: int) -> np.ndarray:
        out = np.empty((n_types, n_fam), dtype=np.int64)
        kernels.deployed_counts(est.deployed, est.type, out)
        return out

    rates = month_rates(est, scenario, rhythm, month, levers, count)
    prob = np.empty(rates.size)
    kernels.hazard_probability(np.ascontiguousarray(rates / MONTHS).ravel(), prob)
    draw = rng.random((est.n, n_fam))
    new = kernels.deploy(est.deployed, est.type, draw, prob.reshape(rates.shape))
    return int(new), 0


def compiled_mentoring_load(
    pop: Population, pairs: Pairs, n_professions: int, kernels: ModuleType | None = None
) -> np.ndarray:
    """:func:`rules.mentoring.mentoring_load <adoption_abm.rules.mentoring.mentoring_load>`
    compiled (``_kernels.mentoring_load``)."""
    out = np.empty(n_professions, dtype=np.int64)
    _kernels(kernels).mentoring_load(
        pop.state, pop.profession, pairs.mentee, pairs.mentor, pairs.family, out
    )
    return out


def compiled_pair_mentors(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rng: np.random.Generator,
    kernels: ModuleType | None = None,
) -> Pairs:
    """:func:`rules.mentoring.pair_mentors <adoption_abm.rules.mentoring.pair_mentors>` with
    its loops compiled (``_kernels.pair_mentors``): the same two uniforms per professional and
    family, drawn in one call (the generator fills an array in the order of successive calls)."""
    me = scenario.mechanisms.mentoring
    if not me.enabled:
        pop.support &= np.uint8(0xFF ^ MENTORED)
        return Pairs.none()
    take = min(1.0, me.take_up * levers.mentoring_take_up)
    cap = me.capacity * levers.mentoring_capacity
    n, n_fam = pop.state.shape
    draws = rng.random((n_fam, 2, n))  # per family: the volunteers', then the order keys
    if take <= 0.0 or cap <= 0.0:
        pop.support &= np.uint8(0xFF ^ MENTORED)
        return Pairs.none()
    room = n_fam * n
    mentee, mentor, family = (np.empty(room, dtype=np.int64) for _ in range(3))
    k = _kernels(kernels).pair_mentors(
        est.start, est.deployed, pop.state, pop.birth, draws, float(t),
        float(me.mentor_max_age), float(me.mentee_min_age), float(take), float(cap),
        pop.support, mentee, mentor, family,
    )  # fmt: skip
    if k == 0:
        return Pairs.none()
    return Pairs(mentee[:k].copy(), mentor[:k].copy(), family[:k].copy())


_EFFECTS: list[Any] = [None, None]
"""The levers whose effects' arrays were built last, and those arrays (a levers object in force
serves every month's entrants until it changes)."""


def _effect_arrays(scenario: Scenario, levers: Levers) -> tuple[np.ndarray, ...]:
    """The levers' agent effects as the compiled refresh reads them (see ``_kernels.refresh``)."""
    if _EFFECTS[0] is levers:
        return _EFFECTS[1]
    effects = levers.agent_effects
    n_prof = levers.training.shape[0]
    n_types = len(scenario.type_ids)
    n_bands = len(scenario.indicators.age_bands) + 1

    def mask(values: np.ndarray | None, size: int) -> np.ndarray:
        return np.ones(size, np.uint8) if values is None else np.asarray(values, dtype=np.uint8)

    k = len(effects)
    arrays = (
        np.array([mask(e.professions, n_prof) for e in effects], np.uint8).reshape(k, n_prof),
        np.array([mask(e.types, n_types) for e in effects], np.uint8).reshape(k, n_types),
        np.array([mask(e.age_bands, n_bands) for e in effects], np.uint8).reshape(k, n_bands),
        np.array([e.adoption for e in effects], np.float64),
        np.array([e.training for e in effects], np.float64),
        np.array([e.reach for e in effects], np.float64),
        np.array([e.bought for e in effects], np.uint8),
        np.ascontiguousarray(levers.training, dtype=np.float64),
        np.asarray(scenario.indicators.age_bands, dtype=np.float64),
    )
    _EFFECTS[:] = [levers, arrays]
    return arrays


def compiled_refresh(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rows: np.ndarray | None = None,
    kernels: ModuleType | None = None,
) -> None:
    """:func:`rules.propensity.refresh <adoption_abm.rules.propensity.refresh>` compiled
    (``_kernels.refresh``): everyone (new arrays, as the rule makes) or only ``rows``."""
    beh = scenario.behaviour
    if rows is None:
        bought = any(eff.bought for eff in levers.agent_effects)
        pop.propensity = np.empty(pop.n, dtype=np.float32)
        pop.train_prob = np.empty(pop.n, dtype=np.float32)
        pop.train_free = np.empty(pop.n, dtype=np.float32) if bought else None
        rows = np.arange(pop.n, dtype=np.int64)
    profs, types, bands, adoption, training, reach, bought_, lever, edges = _effect_arrays(
        scenario, levers
    )
    _kernels(kernels).refresh(
        np.ascontiguousarray(rows, dtype=np.int64), pop.profession, pop.establishment, est.type,
        pop.birth, pop.attitude, pop.access, float(math.floor(t)), float(beh.attitude_effect),
        float(beh.age_effect), float(beh.training_rate), float(beh.propensity_floor), lever,
        edges, profs, types, bands, adoption, training, reach, bought_, pop.propensity,
        pop.train_prob, NONE_F32 if pop.train_free is None else pop.train_free,
    )  # fmt: skip


NONE_F32 = np.zeros(0, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
def compiled() -> MonthWork:
    """The compiled twins (they call the package's built ``_kernels``)."""
    from . import _kernels

    return MonthWork(
        compiled_replace_retirees,
        compiled_deployment_step,
        compiled_deployment_record,
        _kernels.training_demand,
        compiled_mentoring_load,
        compiled_pair_mentors,
        compiled_refresh,
    )


__all__ = [
    "REFERENCE",
    "MonthWork",
    "compiled",
    "compiled_deployment_record",
    "compiled_deployment_step",
    "compiled_mentoring_load",
    "compiled_pair_mentors",
    "compiled_refresh",
    "compiled_replace_retirees",
]
