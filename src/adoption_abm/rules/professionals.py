"""The professionals' monthly step: adoption, mastery and training (the readable specification
that ``engines/_kernels.pyx`` reproduces bit for bit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .params import MonthParams
from .peers import mentor_counts, tie_counts
from .states import MASTERED, NOT_USING, USING
from .stream import one_minus_exp_neg, slots, training_slot, uniforms
from .tallies import tally

if TYPE_CHECKING:
    from ..model.network import Network
    from ..model.state import Establishments, Population


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
    state = pop.state
    n_fam = state.shape[1]
    u = uniforms(key, n, slots(n_fam))
    prof = pop.profession
    deployed = est.deployed[pop.establishment] == 1  # (N, F)
    trained = pop.trained == 1
    skill = pop.skill.astype(np.float64)

    deg = net.degree()
    using = tie_counts(net, state >= USING)
    share = np.zeros((n, n_fam))
    np.divide(using, deg[:, None], out=share, where=deg[:, None] > 0)
    mentor = np.zeros((n, n_fam))
    if par.mentoring:
        young = mentor_counts(net, state, pop.birth, par.mentoring_gap)
        np.divide(young, deg[:, None], out=mentor, where=deg[:, None] > 0)

    base = pop.propensity.astype(np.float64) * (1.0 + par.skill_effect * (skill - 0.5))

    # not using -> using
    a = par.p[None, :] + par.q[None, :] * share + par.mentoring_adoption * mentor
    x = a * base[:, None] * par.adopt_mult[prof]
    x = np.where(trained, x * (1.0 + par.train_adopt_boost), x)
    adopt = (state == NOT_USING) & deployed & (u[:, :n_fam] < one_minus_exp_neg(x))

    # using -> mastered
    m = par.master_mult[prof] * (1.0 + par.skill_mastery_effect * (skill - 0.5))[:, None]
    m = np.where(trained, m * (1.0 + par.train_master_boost), m)
    m = m * (1.0 + par.mentoring_learning * mentor)
    master = (state == USING) & (u[:, :n_fam] < one_minus_exp_neg(m))

    new_state[...] = state
    new_state[adopt] = USING
    new_state[master] = MASTERED

    # training: one course on an eligible family, chosen with the same uniform
    eligible = deployed & (state < MASTERED) & ~trained
    n_elig = eligible.sum(axis=1)
    v = u[:, training_slot(n_fam)]
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
