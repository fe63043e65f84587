"""Who listens to whom: the professionals' tie network, as CSR arrays.

Ties are directed ("i takes j's example") and built in O(N x degree), reproducibly from the
model's generator:

* **team ties**: each establishment is cut into teams of about ``team_size``; inside a team each
  professional has a ring lattice of ``team_ties`` neighbours (half on each side), each rewired
  with probability ``rewiring`` to a random colleague of the establishment (Watts-Strogatz small
  world);
* **establishment ties**: ``establishment_ties`` random colleagues of the establishment;
* **professional ties**: ``professional_ties`` random members of the same profession anywhere.

Duplicates and self-ties are removed, so degrees vary a little. Row ``i`` lists ``i``'s ties,
sorted; agents are ordered by establishment, so most reads stay close in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Network:
    """CSR adjacency: ``indices[indptr[i]:indptr[i+1]]`` are professional ``i``'s ties.

    ``complete=True`` stands for the fully connected network (everyone else is a tie) without
    storing it; it is used by the Bass limit (:mod:`adoption_abm.oracles.bass`).
    """

    indptr: np.ndarray  # int32, n + 1
    indices: np.ndarray  # int32, nnz
    complete: bool = False

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    def degree(self) -> np.ndarray:
        """Number of ties of each professional (int64)."""
        if self.complete:
            return np.full(self.n, self.n - 1, dtype=np.int64)
        return np.diff(self.indptr).astype(np.int64)

    def ties(self, i: int) -> np.ndarray:
        if self.complete:
            return np.delete(np.arange(self.n, dtype=np.int32), i)
        return self.indices[self.indptr[i] : self.indptr[i + 1]]

    @classmethod
    def complete_graph(cls, n: int) -> Network:
        return cls(np.zeros(n + 1, dtype=np.int32), np.zeros(0, dtype=np.int32), complete=True)

    @classmethod
    def _from_sorted_rows(cls, rows: np.ndarray) -> Network:
        """CSR from row-sorted targets (``-1`` first): duplicates and ``-1`` dropped."""
        n, k = rows.shape
        keep = rows >= 0
        if k > 1:
            keep[:, 1:] &= rows[:, 1:] != rows[:, :-1]
        counts = keep.sum(axis=1)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        if indptr[-1] >= 2**31:
            raise ValueError("network too large for int32 CSR indices")
        return cls(indptr.astype(np.int32), rows[keep].astype(np.int32, copy=False))


def team_starts(est_start: np.ndarray, team_size: np.ndarray) -> np.ndarray:
    """First agent of every team, for establishments ``[est_start[e], est_start[e+1])``.

    An establishment of ``s`` agents has ``max(1, round(s / team_size))`` teams of near-equal
    size. ``team_size`` is per establishment.
    """
    sizes = np.diff(est_start)
    n_teams = np.maximum(1, np.rint(sizes / team_size)).astype(np.int64)
    owner = np.repeat(np.arange(len(sizes)), n_teams)
    first = np.cumsum(n_teams) - n_teams
    k = np.arange(n_teams.sum()) - first[owner]
    return (est_start[:-1][owner] + (k * sizes[owner]) // n_teams[owner]).astype(np.int64)


BLOCK = 1 << 17
"""Rows built at a time: temporaries stay a few megabytes whatever the population."""


def build_network(
    establishment: np.ndarray,
    est_start: np.ndarray,
    est_team_size: np.ndarray,
    profession: np.ndarray,
    *,
    team_ties: int,
    rewiring: float,
    establishment_ties: int,
    professional_ties: int,
    rng: np.random.Generator,
) -> Network:
    """Build the tie network (see the module docstring). All randomness comes from ``rng``.

    Rows are built in blocks of :data:`BLOCK` into one ``int32`` array; the draws are taken in
    the same order and shapes as one whole-population draw per kind of tie (rewiring flags, then
    rewired team ties, establishment ties, profession ties), so the result does not depend on
    the block size.
    """
    n = len(establishment)
    if n >= 2**31 - 1:
        raise ValueError("population too large for int32 CSR indices")
    k_total = team_ties + establishment_ties + professional_ties
    rows = np.empty((n, k_total), dtype=np.int32)
    est_start = est_start.astype(np.int64)
    blocks = [(a, min(a + BLOCK, n)) for a in range(0, n, BLOCK)]

    def colleagues(a: int, b: int, k: int) -> np.ndarray:
        """Random colleagues in the same establishment, never oneself (-1 if alone)."""
        agent = np.arange(a, b, dtype=np.int64)[:, None]
        e = establishment[a:b]
        e0 = est_start[e][:, None]
        esize = est_start[e + 1][:, None] - e0
        r = (rng.random((b - a, k)) * np.maximum(esize - 1, 1)).astype(np.int64)
        target = e0 + (agent - e0 + 1 + r) % esize
        return np.where(esize > 1, target, -1)

    # Team ring lattice, rewired ---------------------------------------------------------------
    starts = team_starts(est_start, est_team_size)
    ends = np.append(starts[1:], n)
    offsets = np.array(
        [(j // 2 + 1) * (1 if j % 2 == 0 else -1) for j in range(team_ties)], dtype=np.int64
    )
    rewire = np.empty((n, team_ties), dtype=bool)
    for a, b in blocks:
        rewire[a:b] = rng.random((b - a, team_ties)) < rewiring
    for a, b in blocks:
        agent = np.arange(a, b, dtype=np.int64)
        team = np.searchsorted(starts, agent, side="right") - 1
        t0 = starts[team]
        tsize = ends[team] - t0
        ring = (
            t0[:, None] + ((agent - t0)[:, None] + offsets[None, :]) % np.maximum(tsize, 1)[:, None]
        )
        ring = np.where(rewire[a:b], colleagues(a, b, team_ties), ring)
        valid = np.arange(team_ties)[None, :] < np.minimum(team_ties, tsize - 1)[:, None]
        rows[a:b, :team_ties] = np.where(valid, ring, -1)
    del rewire

    # Establishment colleagues -----------------------------------------------------------------
    for a, b in blocks:
        rows[a:b, team_ties : team_ties + establishment_ties] = colleagues(a, b, establishment_ties)

    # Same profession, anywhere ----------------------------------------------------------------
    if professional_ties:
        prof = profession.astype(np.int64)
        order = np.argsort(profession, kind="stable")
        bounds = np.searchsorted(profession[order], np.arange(int(prof.max()) + 2))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        for a, b in blocks:
            lo = bounds[prof[a:b]]
            size = bounds[prof[a:b] + 1] - lo
            r = (rng.random((b - a, professional_ties)) * np.maximum(size - 1, 1)[:, None]).astype(
                np.int64
            )
            r = r + (r >= (rank[a:b] - lo)[:, None])  # skip oneself
            pick = np.minimum(lo[:, None] + r, n - 1)  # in range even for a profession of one
            rows[a:b, team_ties + establishment_ties :] = np.where(
                size[:, None] > 1, order[pick], -1
            )

    rows.sort(axis=1)
    return Network._from_sorted_rows(rows)
