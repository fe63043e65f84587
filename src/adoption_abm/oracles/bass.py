"""Validation against diffusion theory: the Bass limit of the model's rules.

:func:`bass_run` runs the model's own monthly step (reference rules or compiled kernel) on one
fully connected population of a single profession and a single family, deployed everywhere,
with every other mechanism neutral (no attitude, age or skill effect, no training, no
mastery, no demography). Its adoption hazard is then ``1 - exp(-(p + q F) Δt)`` with ``F`` the
share of the others who adopted and ``Δt = 1/12``, and its mean follows the discrete Bass
recursion :func:`bass_discrete` within binomial noise.

The continuous closed form :func:`bass_closed_form` differs from the monthly recursion by the
discretisation error :func:`discretisation_error` (deterministic; 0.0093 at p = 0.03, q = 0.38).
:func:`discretisation_bound` bounds it for any horizon: over a month the recursion applies the
hazard of the month's start, ``p + q F_n``, never more than the continuous one, so it reaches each
level of F later; the delay added by a month is at most ``Δt (1 - h_n / h_{n+1})``, and summed
over the whole curve at most ``Δt ln(1 + q/p)``; a delay ``λ`` changes F by at most
``λ max F'``, with ``max F' = (p + q)² / (4q)`` if ``q > p`` (at the inflection point), ``p``
otherwise. Bound: ``Δt ln(1 + q/p) max F'`` = 0.024 at p = 0.03, q = 0.38.
"""

from __future__ import annotations

import numpy as np

from .. import rules
from ..engines.registry import get_engine
from ..model.network import Network
from ..model.state import Establishments, Population
from ..rules.stream import month_key

DT = 1.0 / 12.0


N_FAMILIES_BASS = 3
"""Families in the Bass population: one deployed (the diffusion tested), two absent, as the
default scenario's three (the month's uniforms are drawn per family, so this fixes them)."""


def bass_closed_form(p: float, q: float, t: np.ndarray) -> np.ndarray:
    """Continuous Bass cumulative adoption F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})."""
    t = np.asarray(t, dtype=np.float64)
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


def bass_discrete(p: float, q: float, months: int) -> np.ndarray:
    """Monthly recursion F(t+Δt) = F + (1 - F)(1 - exp(-(p + q F) Δt)), F(0) = 0."""
    f = np.zeros(months + 1)
    for k in range(months):
        f[k + 1] = f[k] + (1.0 - f[k]) * (1.0 - np.exp(-(p + q * f[k]) * DT))
    return f


def discretisation_error(p: float, q: float, months: int) -> float:
    """max over the months of |monthly recursion - closed form| (deterministic)."""
    t = np.arange(months + 1) * DT
    return float(np.max(np.abs(bass_discrete(p, q, months) - bass_closed_form(p, q, t))))


def discretisation_bound(p: float, q: float) -> float:
    """Bound on :func:`discretisation_error` for any horizon: ``Δt ln(1 + q/p) max F'``."""
    peak = (p + q) ** 2 / (4.0 * q) if q > p else p
    return DT * np.log1p(q / p) * peak


def bass_population(n: int) -> tuple[Population, Establishments]:
    """One establishment, one profession, one family deployed, everything neutral."""
    z32 = np.zeros(n, dtype=np.float32)
    pop = Population(
        profession=np.zeros(n, dtype=np.uint8),
        establishment=np.zeros(n, dtype=np.int32),
        birth=np.full(n, 1980.0, dtype=np.float32),
        retire_age=np.full(n, 200.0, dtype=np.float32),
        attitude=np.full(n, 0.5, dtype=np.float32),
        skill=np.full(n, 0.5, dtype=np.float32),
        skill0=np.full(n, 0.5, dtype=np.float32),
        access=z32.copy(),
        state=np.zeros((n, N_FAMILIES_BASS), dtype=np.uint8),
        trained=np.zeros((n, N_FAMILIES_BASS), dtype=np.uint8),
        propensity=np.ones(n, dtype=np.float32),
        train_prob=z32.copy(),
    )
    deployed = np.zeros((1, N_FAMILIES_BASS), dtype=np.uint8)
    deployed[0, 0] = 1
    est = Establishments(
        type=np.zeros(1, dtype=np.uint8),
        start=np.array([0, n], dtype=np.int32),
        deployed=deployed,
    )
    return pop, est


def bass_params(p: float, q: float) -> rules.MonthParams:
    zeros = np.zeros(N_FAMILIES_BASS)
    return rules.MonthParams(
        p=np.array([p, 0.0, 0.0]),
        q=np.array([q, 0.0, 0.0]),
        adopt_mult=np.full((1, N_FAMILIES_BASS), DT),
        master_mult=np.zeros((1, N_FAMILIES_BASS)),
        quit_mult=np.zeros((1, N_FAMILIES_BASS)),
        risk_keep=np.ones(1),
        skill_effect=0.0,
        skill_mastery_effect=0.0,
        train_adopt_boost=0.0,
        train_master_boost=0.0,
        train_skill_gain=0.0,
        mentor_adopt_boost=0.0,
        mentor_master_boost=0.0,
        relearn_boost=0.0,
        resist_threshold=0.0,
        resist_factor=1.0,
        quit_trained_keep=1.0,
        quit_mentored_keep=1.0,
        risk_gain=1.0,
        t_end=2000.0,
        age_edges=zeros[:0],
        n_types=1,
    )


def bass_run(
    p: float,
    q: float,
    n_agents: int = 10_000,
    years: float = 20,
    seed: int = 0,
    engine: str = "cython",
) -> np.ndarray:
    """Monthly cumulative adoption share (months 0..12·years) of the model's rules in the Bass
    limit. ``p``, ``q``: yearly coefficients."""
    if not (0 < p and 0 <= q and n_agents >= 2 and years > 0):
        raise ValueError("need p > 0, q >= 0, n_agents >= 2 and years > 0")
    step = get_engine(engine)
    rng = np.random.default_rng(seed)
    pop, est = bass_population(n_agents)
    net = Network.complete_graph(n_agents)
    par = bass_params(p, q)
    months = round(12 * years)
    share = np.zeros(months + 1)
    new_state = np.empty_like(pop.state)
    for k in range(months):
        step(pop, est, net, par, month_key(rng), new_state)
        pop.state, new_state = new_state, pop.state
        share[k + 1] = (pop.state[:, 0] >= 1).mean()
    return share
