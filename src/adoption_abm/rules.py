"""The model's rules, month by month: the readable specification.

One month (``AdoptionModel.step``) runs, in this order:

1. **Demography** (:func:`replace_retirees`): professionals who reached their retirement age
   are replaced, in the same post and ties, by entrants (young, new attitude and skill, nothing
   adopted). Entrants' adoption multiplier and training probability are computed
   (:func:`refresh`); everyone's in January (ages move on) and when policy levers change.
2. **Professionals** (:func:`professionals_step`; compiled twin in ``_kernels.pyx``), all
   reacting to last month's state (synchronous update). For each family ``f`` that the
   professional's establishment has deployed:

   * not using → using, with probability ``1 - exp(-x)``, where the monthly hazard is
     ``x = (p_f + q_f·F + w·M) · ψ_i · (1 + s·(skill_i - ½)) · a_{prof,f} · (1 + b)^{trained}``:
     ``F`` the share of one's ties using or mastering ``f`` (peer influence), ``M`` the share of
     ties at least ``gap`` years younger who master it (reverse mentoring, when on), ``ψ_i`` the
     attitude and age multiplier, ``a`` the month's multiplier for the profession and family
     (rhythm, policies, 1/12 per month);
   * using → mastered, with probability ``1 - exp(-m)``,
     ``m = μ_{prof,f} · (1 + s_m·(skill_i - ½)) · (1 + b_m)^{trained} · (1 + l·M)``;
   * training: with the professional's monthly training probability, one course on a deployed,
     not yet mastered, not yet trained family chosen at random: it marks the family trained and
     moves skill a share ``g`` towards 1.

   The month's uniforms come from :mod:`adoption_abm.draws`: one per family (used by whichever
   transition applies) and one for training.
3. **Establishments** (:func:`deployment_step`): each establishment deploys a family it lacks
   with probability ``1 - exp(-r/12)``, ``r = base_{type,f} · maturity_f(t) ·
   (cost_f(t)/cost_f(t0))^{-ε} · (1 + w_p · share of same-type establishments deployed) ·
   rhythm · policy``, drawn from the model's generator.

Professionals only adopt what their establishment has deployed; nobody un-adopts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .draws import TRAINING_SLOT, one_minus_exp_neg, uniforms
from .network import Network
from .population import N_FAMILIES, Establishments, Population
from .scenario import FAMILIES, Scenario

NOT_USING, USING, MASTERED = 0, 1, 2
STATE_NAMES = ("not_using", "using", "mastered")
MONTHS = 12


# ---------------------------------------------------------------------------------------------
# Levers: what policies (and rhythms) change. Neutral by default; the policy layer fills them.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AgentEffect:
    """A policy effect on the professionals that match its masks (``None``: everyone).

    Evaluated by :func:`refresh` on the current population, so targets by age band follow
    people as they age and entrants inherit the effect of the post they take.
    """

    professions: np.ndarray | None = None  # (P,) bool
    types: np.ndarray | None = None  # (T,) bool, establishment types
    age_bands: np.ndarray | None = None  # (B,) bool, bands of ``indicators.age_bands``
    adoption: float = 1.0  # multiplier on ψ (adoption propensity)
    training: float = 1.0  # multiplier on the training probability
    reach: float = 0.0  # access <- access + reach * (1 - access)


@dataclass
class Levers:
    """Multipliers and switches that interventions act through. All neutral by default.

    Arrays are indexed ``[profession, family]`` (``P x 3``), ``[type, family]`` (``T x 3``)
    or ``[profession]``; effects on some professionals only are ``agent_effects``.
    """

    adoption: np.ndarray  # (P, 3) multiplier on adoption hazards
    mastery: np.ndarray  # (P, 3) multiplier on mastery hazards
    deployment: np.ndarray  # (T, 3) multiplier on establishments' deployment hazards
    training: np.ndarray  # (P,) multiplier on training probability
    training_reach: float = 0.0  # access <- access + reach * (1 - access)
    mentoring: bool = False  # reverse mentoring on (in addition to the scenario's switch)
    mentoring_intensity: float = 1.0  # multiplier on the mentoring weights
    training_skill_gain: float = 1.0  # multiplier on the skill gained per course
    training_boost: float = 1.0  # multiplier on the adoption and mastery boosts of the trained
    entrant_skill_shift: np.ndarray | None = None  # (P,) extra skill of entrants
    entrant_attitude_shift: np.ndarray | None = None  # (P,) extra attitude of entrants
    entry_age_shift: np.ndarray | None = None  # (P,) years added to entry age
    entrant_trained: np.ndarray | None = None  # (P, 3) 1 if entrants arrive trained on f
    agent_effects: tuple[AgentEffect, ...] = ()  # targeted effects, applied in order by refresh
    extra: dict = field(default_factory=dict)  # free room for output-side levers

    @classmethod
    def neutral(cls, n_professions: int, n_types: int) -> Levers:
        return cls(
            adoption=np.ones((n_professions, N_FAMILIES)),
            mastery=np.ones((n_professions, N_FAMILIES)),
            deployment=np.ones((n_types, N_FAMILIES)),
            training=np.ones(n_professions),
        )


# ---------------------------------------------------------------------------------------------
# The month's parameters: everything the professionals' step reads besides the state arrays.
# ---------------------------------------------------------------------------------------------
@dataclass
class MonthParams:
    """Inputs of one month's professional step (shared by the reference and the kernel)."""

    p: np.ndarray  # (3,) yearly spontaneous adoption
    q: np.ndarray  # (3,) yearly peer adoption per unit share of ties using
    adopt_mult: np.ndarray  # (P, 3) rhythm x policy x 1/12 (per month)
    master_mult: np.ndarray  # (P, 3) monthly mastery hazard (rhythm x policy / months)
    skill_effect: float
    skill_mastery_effect: float
    train_adopt_boost: float
    train_master_boost: float
    train_skill_gain: float
    mentoring: bool
    mentoring_adoption: float  # yearly, already x 1/12 inside adopt_mult
    mentoring_learning: float
    mentoring_gap: float
    risk_gain: float  # skill growth under which freed time counts as at risk
    t_end: float  # decimal year at the end of the month (ages for the tallies)
    age_edges: np.ndarray  # (B - 1,) upper edges of the age bands
    n_types: int


def table_at(years: list[int], values: list[float], t: float) -> float:
    """Linear interpolation of a yearly table at decimal time ``t``.

    The value for year ``Y`` is read at the end of year ``Y`` (``t = Y + 1``); flat outside.
    """
    return float(np.interp(t, np.asarray(years, dtype=np.float64) + 1.0, values))


def month_time(scenario: Scenario, month: int) -> float:
    """Decimal year at the end of month ``month`` (1 = January of the first year)."""
    return scenario.start_year + month / MONTHS


def month_params(scenario: Scenario, rhythm: str, month: int, levers: Levers) -> MonthParams:
    """Parameters of month ``month`` (1-based) for ``rhythm`` under ``levers``."""
    beh = scenario.behaviour
    rh = scenario.rhythms[rhythm]
    techs = [scenario.technologies.family(f) for f in range(N_FAMILIES)]
    p = np.array([tc.spontaneous for tc in techs])
    q = np.array([tc.peer for tc in techs])
    months = np.array([tc.mastery_months for tc in techs])
    mentoring = bool(beh.mentoring or levers.mentoring)
    return MonthParams(
        p=p,
        q=q,
        adopt_mult=levers.adoption * (rh.adoption / MONTHS),
        master_mult=levers.mastery * (rh.mastery / months)[None, :],
        skill_effect=beh.skill_effect,
        skill_mastery_effect=beh.skill_mastery_effect,
        train_adopt_boost=beh.training_adoption_boost * levers.training_boost,
        train_master_boost=beh.training_mastery_boost * levers.training_boost,
        train_skill_gain=beh.training_skill_gain * levers.training_skill_gain,
        mentoring=mentoring,
        mentoring_adoption=beh.mentoring_adoption * levers.mentoring_intensity
        if mentoring
        else 0.0,
        mentoring_learning=beh.mentoring_learning * levers.mentoring_intensity
        if mentoring
        else 0.0,
        mentoring_gap=beh.mentoring_age_gap,
        risk_gain=beh.downgrading_skill_gain,
        t_end=month_time(scenario, month),
        age_edges=np.asarray(scenario.indicators.age_bands, dtype=np.float64),
        n_types=len(scenario.establishment_types),
    )


# ---------------------------------------------------------------------------------------------
# Yearly: demography and per-professional multipliers
# ---------------------------------------------------------------------------------------------
def refresh(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rows: np.ndarray | None = None,
) -> None:
    """Recompute ψ (attitude and age multiplier) and the monthly training probability, for
    everyone or only for ``rows`` (this month's entrants).

    Ages are read on 1 January of the year of ``t`` (everyone is refreshed then), so a
    refresh in mid-year, for entrants or because policy levers changed, ages no one.
    """
    beh = scenario.behaviour
    idx = slice(None) if rows is None else rows
    profession = pop.profession[idx]
    n = len(profession)
    age = math.floor(t) - pop.birth[idx].astype(np.float64)
    psi = (1.0 + beh.attitude_effect * (pop.attitude[idx].astype(np.float64) - 0.5)) * (
        1.0 + beh.age_effect * ((age - 45.0) / 10.0)
    )
    access = pop.access[idx].astype(np.float64)
    access = access + levers.training_reach * (1.0 - access)
    train_mult = np.ones(n)
    if levers.agent_effects:
        edges = np.asarray(scenario.indicators.age_bands, dtype=np.float64)
        band = np.searchsorted(edges, age, side="right")
        etype = est.type[pop.establishment[idx]]
        for eff in levers.agent_effects:
            mask = np.ones(n, dtype=bool)
            if eff.professions is not None:
                mask &= eff.professions[profession]
            if eff.types is not None:
                mask &= eff.types[etype]
            if eff.age_bands is not None:
                mask &= eff.age_bands[band]
            psi = np.where(mask, psi * eff.adoption, psi)
            access = np.where(mask, access + eff.reach * (1.0 - access), access)
            train_mult = np.where(mask, train_mult * eff.training, train_mult)
    prob = beh.training_rate * access * levers.training[profession] * train_mult
    if rows is None:
        pop.propensity = np.empty(pop.n, dtype=np.float32)
        pop.train_prob = np.empty(pop.n, dtype=np.float32)
    pop.propensity[idx] = np.maximum(psi, beh.propensity_floor)
    pop.train_prob[idx] = np.clip(prob, 0.0, 1.0)


def replace_retirees(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replace the professionals who reached their retirement age by time ``t`` (start of the
    month) with entrants in the same posts and ties; return their rows.

    Runs every month, so retirements and arrivals spread over the year as birthdays do.
    Entrants start from scratch (nothing used, nothing trained unless a policy trains them).
    Draws from ``rng`` only for the replaced, in row order. The caller refreshes them.
    """
    age = t - pop.birth.astype(np.float64)
    out = np.flatnonzero(age >= pop.retire_age)
    k = len(out)
    if k:
        profs = scenario.profession_ids
        beh = scenario.behaviour
        prof = pop.profession[out]
        entry = np.array([scenario.professions[p].entry_age for p in profs])[prof]
        if levers.entry_age_shift is not None:
            entry = entry + levers.entry_age_shift[prof]
        entry = entry + rng.uniform(-1.0, 1.0, k)
        lo = np.array([scenario.professions[p].retirement_age[0] for p in profs])[prof]
        hi = np.array([scenario.professions[p].retirement_age[1] for p in profs])[prof]
        attitude = rng.beta(beh.attitude.alpha, beh.attitude.beta, k)
        skill = rng.beta(beh.skill.alpha, beh.skill.beta, k)
        retire = rng.uniform(lo, hi)
        skill = skill + beh.skill_age_slope * (entry - 45.0) + beh.entrant_skill_shift
        if levers.entrant_skill_shift is not None:
            skill = skill + levers.entrant_skill_shift[prof]
        if levers.entrant_attitude_shift is not None:
            attitude = attitude + levers.entrant_attitude_shift[prof]
        pop.birth[out] = (t - entry).astype(np.float32)
        pop.retire_age[out] = retire.astype(np.float32)
        pop.attitude[out] = np.clip(attitude, 0.0, 1.0).astype(np.float32)
        pop.skill[out] = np.clip(skill, 0.0, 1.0).astype(np.float32)
        pop.skill0[out] = pop.skill[out]
        pop.state[out] = NOT_USING
        pop.trained[out] = 0 if levers.entrant_trained is None else levers.entrant_trained[prof]
    return out


# ---------------------------------------------------------------------------------------------
# Monthly: professionals (reference implementation of the compiled kernel)
# ---------------------------------------------------------------------------------------------
def tie_counts(net: Network, flags: np.ndarray) -> np.ndarray:
    """For each professional, how many of its ties have ``flags`` set (``flags``: (N, 3) bool)."""
    if net.complete:
        total = flags.sum(axis=0, dtype=np.int64)
        return total[None, :] - flags.astype(np.int64)
    cum = np.zeros((net.nnz + 1, flags.shape[1]), dtype=np.int64)
    np.cumsum(flags[net.indices], axis=0, out=cum[1:])
    return cum[net.indptr[1:]] - cum[net.indptr[:-1]]


def mentor_counts(net: Network, state: np.ndarray, birth: np.ndarray, gap: float) -> np.ndarray:
    """For each professional, how many ties at least ``gap`` years younger master each family."""
    if net.complete:
        raise NotImplementedError("reverse mentoring is not defined on the complete network")
    owner = np.repeat(np.arange(net.n), np.diff(net.indptr))
    younger = (birth[net.indices].astype(np.float64) - birth[owner].astype(np.float64)) >= gap
    flags = (state[net.indices] == MASTERED) & younger[:, None]
    cum = np.zeros((net.nnz + 1, flags.shape[1]), dtype=np.int64)
    np.cumsum(flags, axis=0, out=cum[1:])
    return cum[net.indptr[1:]] - cum[net.indptr[:-1]]


def professionals_step(
    pop: Population,
    est: Establishments,
    net: Network,
    par: MonthParams,
    key: np.uint64,
    new_state: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One month for every professional, in NumPy. The compiled kernel is its exact twin.

    Reads ``pop.state`` (last month) and writes this month's states into ``new_state``; updates
    ``pop.trained`` and ``pop.skill`` in place (only one's own row is read). Returns the
    month's tallies (:func:`tally`).
    """
    n = pop.n
    u = uniforms(key, n)
    state = pop.state
    prof = pop.profession
    deployed = est.deployed[pop.establishment] == 1  # (N, 3)
    trained = pop.trained == 1
    skill = pop.skill.astype(np.float64)

    deg = net.degree()
    using = tie_counts(net, state >= USING)
    share = np.zeros((n, N_FAMILIES))
    np.divide(using, deg[:, None], out=share, where=deg[:, None] > 0)
    mentor = np.zeros((n, N_FAMILIES))
    if par.mentoring:
        young = mentor_counts(net, state, pop.birth, par.mentoring_gap)
        np.divide(young, deg[:, None], out=mentor, where=deg[:, None] > 0)

    base = pop.propensity.astype(np.float64) * (1.0 + par.skill_effect * (skill - 0.5))

    # not using -> using
    a = par.p[None, :] + par.q[None, :] * share + par.mentoring_adoption * mentor
    x = a * base[:, None] * par.adopt_mult[prof]
    x = np.where(trained, x * (1.0 + par.train_adopt_boost), x)
    adopt = (state == NOT_USING) & deployed & (u[:, :N_FAMILIES] < one_minus_exp_neg(x))

    # using -> mastered
    m = par.master_mult[prof] * (1.0 + par.skill_mastery_effect * (skill - 0.5))[:, None]
    m = np.where(trained, m * (1.0 + par.train_master_boost), m)
    m = m * (1.0 + par.mentoring_learning * mentor)
    master = (state == USING) & (u[:, :N_FAMILIES] < one_minus_exp_neg(m))

    new_state[...] = state
    new_state[adopt] = USING
    new_state[master] = MASTERED

    # training: one course on an eligible family, chosen with the same uniform
    eligible = deployed & (state < MASTERED) & ~trained
    n_elig = eligible.sum(axis=1)
    v = u[:, TRAINING_SLOT]
    tp = pop.train_prob.astype(np.float64)
    who = np.flatnonzero((n_elig > 0) & (v < tp))
    if len(who):
        pick = np.floor((v[who] / tp[who]) * n_elig[who]).astype(np.int64)
        pick = np.minimum(pick, n_elig[who] - 1)
        rank = np.cumsum(eligible[who], axis=1) - 1  # rank among eligible families
        fam = np.argmax(eligible[who] & (rank == pick[:, None]), axis=1)
        pop.trained[who, fam] = 1
        s = skill[who]
        pop.skill[who] = (s + par.train_skill_gain * (1.0 - s)).astype(np.float32)

    return tally(pop, est, par, new_state)


def age_band(par: MonthParams, birth: np.ndarray) -> np.ndarray:
    """Age band of each professional at the end of the month (0 = youngest)."""
    age = par.t_end - birth.astype(np.float64)
    return np.searchsorted(par.age_edges, age, side="right")


def tally(
    pop: Population, est: Establishments, par: MonthParams, state: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The month's counts, from which every output is computed.

    ``cube[prof, age band, establishment type, family, state]``: professionals;
    ``risk[prof, family]``: professionals who master the family but whose digital skill grew by
    less than ``risk_gain`` since they entered (downgrading risk).
    """
    n_prof = int(par.adopt_mult.shape[0])
    n_band = len(par.age_edges) + 1
    band = age_band(par, pop.birth)
    etype = est.type[pop.establishment].astype(np.int64)
    cell = (pop.profession.astype(np.int64) * n_band + band) * par.n_types + etype
    idx = (cell[:, None] * N_FAMILIES + np.arange(N_FAMILIES)[None, :]) * 3 + state
    size = n_prof * n_band * par.n_types * N_FAMILIES * 3
    cube = np.bincount(idx.ravel(), minlength=size).reshape(
        n_prof, n_band, par.n_types, N_FAMILIES, 3
    )
    grew = (pop.skill.astype(np.float64) - pop.skill0.astype(np.float64)) < par.risk_gain
    at_risk = (state == MASTERED) & grew[:, None]
    ridx = pop.profession.astype(np.int64)[:, None] * N_FAMILIES + np.arange(N_FAMILIES)[None, :]
    risk = np.bincount(ridx[at_risk], minlength=n_prof * N_FAMILIES).reshape(n_prof, N_FAMILIES)
    return cube.astype(np.int64), risk.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Monthly: establishments
# ---------------------------------------------------------------------------------------------
def deployment_rates(
    scenario: Scenario, rhythm: str, t: float, share: np.ndarray, levers: Levers
) -> np.ndarray:
    """Yearly deployment hazard per (type, family) at decimal time ``t`` (see module doc)."""
    dep = scenario.deployment
    tech = scenario.technologies
    rates = np.zeros((len(scenario.type_ids), N_FAMILIES))
    for f, fam in enumerate(FAMILIES):
        tc = tech.family(f)
        maturity = table_at(tech.years, tc.maturity, t)
        cost = table_at(tech.years, tc.cost, t) / tc.cost[0]
        afford = math.pow(cost, -dep.cost_elasticity)
        for k, tid in enumerate(scenario.type_ids):
            base = getattr(dep.base_rate[tid], fam)
            rates[k, f] = base * maturity * afford
    rates = rates * (1.0 + dep.peer_weight * share)
    return rates * scenario.rhythms[rhythm].deployment * levers.deployment


def deployment_step(
    est: Establishments,
    scenario: Scenario,
    rhythm: str,
    month: int,
    levers: Levers,
    rng: np.random.Generator,
) -> int:
    """Establishments decide this month's deployments (hazards at mid-month). Returns how many."""
    n_types = len(scenario.type_ids)
    t = month_time(scenario, month) - 0.5 / MONTHS
    count = np.zeros((n_types, N_FAMILIES), dtype=np.int64)
    for f in range(N_FAMILIES):
        count[:, f] = np.bincount(est.type, weights=est.deployed[:, f], minlength=n_types).astype(
            np.int64
        )
    n_by_type = np.bincount(est.type, minlength=n_types)
    share = count / np.maximum(n_by_type, 1)[:, None]
    rates = deployment_rates(scenario, rhythm, t, share, levers)
    prob = one_minus_exp_neg(rates / MONTHS)[est.type]
    draw = rng.random((est.n, N_FAMILIES))
    new = (est.deployed == 0) & (draw < prob)
    est.deployed[new] = 1
    est.deployed_month[new] = month
    return int(new.sum())
