"""Reverse mentoring as transfer (``mechanisms.mentoring``): explicit pairings of young masters
with older colleagues of their establishment, formed every January."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .levers import Levers
from .states import MASTERED, MENTORED

if TYPE_CHECKING:
    from ..model.state import Establishments, Population
    from ..scenario.schema import Scenario


class Pairs(NamedTuple):
    """The year's pairings: ``mentee[k]`` is mentored by ``mentor[k]`` on ``family[k]``."""

    mentee: np.ndarray  # int64 rows
    mentor: np.ndarray  # int64 rows
    family: np.ndarray  # int64

    @classmethod
    def none(cls) -> Pairs:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty.copy(), empty.copy())

    def without(self, rows: np.ndarray) -> Pairs:
        """The pairs in which neither side is one of ``rows`` (who left)."""
        if len(rows) == 0 or len(self.mentee) == 0:
            return self
        size = int(max(self.mentee.max(), self.mentor.max(), np.max(rows))) + 1
        gone = np.zeros(size, dtype=bool)  # a mask, cheaper than two np.isin every month
        gone[rows] = True
        keep = ~(gone[self.mentee] | gone[self.mentor])
        return Pairs(self.mentee[keep], self.mentor[keep], self.family[keep])


def pair_mentors(
    pop: Population,
    est: Establishments,
    scenario: Scenario,
    t: float,
    levers: Levers,
    rng: np.random.Generator,
) -> Pairs:
    """Form the year's pairings at decimal time ``t`` and set the mentees' ``MENTORED`` bits
    (everyone else's are cleared).

    For each family ``f``: the candidates are professionals younger than ``mentor_max_age`` who
    master ``f``; each volunteers with probability ``take_up × lever``. Mentees are
    professionals aged ``mentee_min_age`` or more who have not mastered ``f``, in an
    establishment that deployed it; in random order, the first ``floor(volunteers × capacity ×
    lever)`` of each establishment are paired, mentee ``r`` with volunteer ``floor(r /
    capacity)`` in row order. Two uniforms per professional and family are drawn whatever the
    state and the levers (so that policies leave the model's random sequence as it is: common
    random numbers); nothing is drawn with mentoring off.
    """
    pop.support &= np.uint8(0xFF ^ MENTORED)
    me = scenario.mechanisms.mentoring
    if not me.enabled:
        return Pairs.none()
    take = min(1.0, me.take_up * levers.mentoring_take_up)
    cap = me.capacity * levers.mentoring_capacity
    age = t - pop.birth.astype(np.float64)
    young = age < me.mentor_max_age
    old = age >= me.mentee_min_age
    est_of = pop.establishment.astype(np.int64)
    deployed = est.deployed[est_of] == 1
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for f in range(pop.n_families):
        volunteer = rng.random(pop.n)
        order_key = rng.random(pop.n)
        if take <= 0.0 or cap <= 0.0:
            continue
        mentors = np.flatnonzero(young & (pop.state[:, f] == MASTERED) & (volunteer < take))
        mentees = np.flatnonzero(old & (pop.state[:, f] < MASTERED) & deployed[:, f])
        if len(mentors) == 0 or len(mentees) == 0:
            continue  # row order is establishment order
        slots = np.floor(np.bincount(est_of[mentors], minlength=est.n) * cap).astype(np.int64)
        order = np.lexsort((order_key[mentees], est_of[mentees]))
        ranked = mentees[order]
        e = est_of[ranked]
        rank = np.arange(len(ranked)) - np.searchsorted(e, e, side="left")
        ok = rank < slots[e]
        first = np.searchsorted(est_of[mentors], e[ok], side="left")
        mentor = mentors[first + np.floor(rank[ok] / cap).astype(np.int64)]
        pop.support[ranked[ok], f] |= np.uint8(MENTORED)
        out.append((ranked[ok], mentor, np.full(int(ok.sum()), f, dtype=np.int64)))
    if not out:
        return Pairs.none()
    return Pairs(*(np.concatenate(parts).astype(np.int64) for parts in zip(*out, strict=True)))


def mentoring_load(pop: Population, pairs: Pairs, n_professions: int) -> np.ndarray:
    """(P,) pairings active this month (mentee not yet master), counted once for the mentee's
    profession and once for the mentor's: the month's mentoring person-sessions."""
    if len(pairs.mentee) == 0:
        return np.zeros(n_professions, dtype=np.int64)
    active = pop.state[pairs.mentee, pairs.family] < MASTERED
    prof = pop.profession.astype(np.int64)
    both = np.concatenate([prof[pairs.mentee[active]], prof[pairs.mentor[active]]])
    return np.bincount(both, minlength=n_professions).astype(np.int64)
