"""The professionals' monthly step: adoption, mastery, discontinuance and training (the readable
specification that ``engines/_kernels.pyx`` reproduces bit for bit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .params import MonthParams
from .peers import tie_counts
from .states import LEGACY, MASTERED, MENTORED, NOT_USING, USING
from .stream import one_minus_exp_neg, slots, training_slot, uniforms
from .tallies import MonthTally, tally

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
) -> MonthTally:
    """One month for every professional, in NumPy. The compiled kernel is its exact twin.

    Reads ``pop.state`` (last month) and writes this month's states into ``new_state``; updates
    ``pop.trained`` and ``pop.skill`` in place (only one's own row is read). Returns the
    month's tallies (:func:`tally`). Each family's uniform ``u`` decides its one transition:
    adoption if ``u < 1 - exp(-x)``; for a user, mastery if ``u < 1 - exp(-m)``, else
    discontinuance if ``1 - u < 1 - exp(-d)`` (the two ends of the unit interval).
    """
    n = pop.n
    state = pop.state
    n_fam = state.shape[1]
    u = uniforms(key, n, slots(n_fam))
    uf = u[:, :n_fam]
    prof = pop.profession
    deployed = est.deployed[pop.establishment] == 1  # (N, F)
    trained = pop.trained == 1
    mentored = (pop.support & MENTORED) != 0
    legacy = (pop.support & LEGACY) != 0
    resister = (pop.resist == 1)[:, None]
    skill = pop.skill.astype(np.float64)

    deg = net.degree()
    using = tie_counts(net, state >= USING)
    share = np.zeros((n, n_fam))
    np.divide(using, deg[:, None], out=share, where=deg[:, None] > 0)

    base = pop.propensity.astype(np.float64) * (1.0 + par.skill_effect * (skill - 0.5))

    # not using -> using
    a = par.p[None, :] + par.q[None, :] * share
    x = a * base[:, None] * par.adopt_mult[prof]
    x = np.where(trained, x * (1.0 + par.train_adopt_boost), x)
    x = np.where(mentored, x * (1.0 + par.mentor_adopt_boost), x)
    x = np.where(resister & (share < par.resist_threshold), x * par.resist_factor, x)
    adopt = (state == NOT_USING) & deployed & (uf < one_minus_exp_neg(x))

    # using -> mastered
    m = par.master_mult[prof] * (1.0 + par.skill_mastery_effect * (skill - 0.5))[:, None]
    m = np.where(trained, m * (1.0 + par.train_master_boost), m)
    m = np.where(mentored, m * (1.0 + par.mentor_master_boost), m)
    m = np.where(legacy, m * (1.0 + par.relearn_boost), m)
    master = (state == USING) & (uf < one_minus_exp_neg(m))

    # using -> not using (discontinuance), at the other end of the same uniform
    d = par.quit_mult[prof]
    d = np.where(trained, d * par.quit_trained_keep, d)
    d = np.where(mentored, d * par.quit_mentored_keep, d)
    quit_ = (state == USING) & ~master & ((1.0 - uf) < one_minus_exp_neg(d))

    new_state[...] = state
    new_state[adopt] = USING
    new_state[master] = MASTERED
    new_state[quit_] = NOT_USING

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

    return tally(pop, est, par, new_state, courses_of=who)
