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
    storing it; it is used by the Bass limit (:mod:`adoption_abm.validation`).
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
    def from_rows(cls, targets: np.ndarray) -> Network:
        """Build from an ``(n, k)`` array of targets where ``-1`` means no tie."""
        n, k = targets.shape
        rows = np.sort(targets, axis=1)
        keep = rows >= 0
        if k > 1:
            keep[:, 1:] &= rows[:, 1:] != rows[:, :-1]
        counts = keep.sum(axis=1)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        if indptr[-1] >= 2**31:
            raise ValueError("network too large for int32 CSR indices")
        return cls(indptr.astype(np.int32), rows[keep].astype(np.int32))


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
    """Build the tie network (see the module docstring). All randomness comes from ``rng``."""
    n = len(establishment)
    agent = np.arange(n, dtype=np.int64)
    est = establishment.astype(np.int64)
    e0 = est_start[:-1].astype(np.int64)[est]
    esize = np.diff(est_start).astype(np.int64)[est]

    # Team ring lattice ----------------------------------------------------------------------
    starts = team_starts(est_start.astype(np.int64), est_team_size)
    ends = np.append(starts[1:], n)
    team = np.searchsorted(starts, agent, side="right") - 1
    t0 = starts[team]
    tsize = ends[team] - t0
    k_team = np.minimum(team_ties, tsize - 1)
    offsets = np.array([(j // 2 + 1) * (1 if j % 2 == 0 else -1) for j in range(team_ties)])
    pos = agent - t0
    ring = t0[:, None] + (pos[:, None] + offsets[None, :]) % np.maximum(tsize, 1)[:, None]
    valid = np.arange(team_ties)[None, :] < k_team[:, None]

    def colleagues(shape: tuple[int, ...]) -> np.ndarray:
        """Random colleagues in the same establishment, never oneself (-1 if alone)."""
        span = np.maximum(esize - 1, 1)[:, None]
        r = (rng.random(shape) * span).astype(np.int64)
        target = e0[:, None] + (agent[:, None] - e0[:, None] + 1 + r) % esize[:, None]
        return np.where(esize[:, None] > 1, target, -1)

    rewire = rng.random((n, team_ties)) < rewiring
    ring = np.where(rewire, colleagues((n, team_ties)), ring)
    ring = np.where(valid, ring, -1)

    est_ties = colleagues((n, establishment_ties))

    # Same profession, anywhere ----------------------------------------------------------------
    prof_ties = np.full((n, professional_ties), -1, dtype=np.int64)
    if professional_ties:
        order = np.argsort(profession, kind="stable")
        bounds = np.searchsorted(profession[order], np.arange(int(profession.max()) + 2))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        lo = bounds[profession]
        size = bounds[profession + 1] - lo
        r = (rng.random((n, professional_ties)) * np.maximum(size - 1, 1)[:, None]).astype(np.int64)
        own = (rank - lo)[:, None]
        r = r + (r >= own)  # skip oneself
        prof_ties = np.where(size[:, None] > 1, order[lo[:, None] + r], -1)

    return Network.from_rows(np.concatenate([ring, est_ties, prof_ties], axis=1))
