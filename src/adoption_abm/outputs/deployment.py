"""Establishments' deployment, recorded month by month (the data of the deployment moments).

:class:`DeploymentLog` is filled by the model at month 0 and after every step
(:meth:`AdoptionModel._record <adoption_abm.model.model.AdoptionModel>`); it reads the state
columns and draws no random number, so it changes no result. It keeps, in ``O(E·F)`` memory
(``E`` establishments, ``F`` families):

* ``counts[m]``: ``(T, F)`` establishments of each type that have deployed each family at the end
  of month ``m`` (0 is the initial state); ``n_by_type``: ``(T,)`` establishments per type
  (fixed during a run), so ``counts[m] / n_by_type[:, None]`` is the share deployed;
* ``deployed_month[e, f]``: the month at whose end establishment ``e`` had deployed ``f``
  (0: deployed in the initial state; -1: not deployed yet);
* ``half_month[e, f]``: the first month at whose end at least half of ``e``'s professionals use
  or master ``f`` (state ``USING`` or ``MASTERED``), counted only once ``f`` is deployed there
  (-1: not reached yet).

Timing: month ``m`` ends with the professionals' step, then the establishments' deployments;
a family deployed in month ``m`` is first used in month ``m + 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..rules.deployment import deployed_by_type
from ..rules.states import USING

if TYPE_CHECKING:
    from ..model.state import Establishments, Population


class DeploymentLog:
    """Monthly deployment counts per establishment type, and each establishment's deployment
    and half-use months (see the module docstring)."""

    def __init__(self, est: Establishments, n_types: int) -> None:
        self.n_types = int(n_types)
        self.n_by_type = np.bincount(est.type, minlength=self.n_types).astype(np.int64)
        self.counts: list[np.ndarray] = []
        shape = est.deployed.shape
        self.deployed_month = np.full(shape, -1, dtype=np.int32)
        self.half_month = np.full(shape, -1, dtype=np.int32)
        self._size = np.diff(est.start).astype(np.int64)

    def record(
        self,
        pop: Population,
        est: Establishments,
        month: int,
        recorder: Callable[..., np.ndarray] | None = None,
    ) -> None:
        """Add month ``month``'s state (call once per month, months in order). ``recorder``: a
        compiled twin of the loop below (``engines.months``), called as ``recorder(deployed,
        type, start, state, deployed_month, half_month, n_types, month)``; it updates the two
        month arrays in place and returns the month's counts, bit for bit these."""
        if recorder is not None:
            self.counts.append(
                recorder(
                    est.deployed,
                    est.type,
                    est.start,
                    pop.state,
                    self.deployed_month,
                    self.half_month,
                    self.n_types,
                    month,
                )
            )
            return
        deployed = est.deployed.astype(bool)
        self.deployed_month[deployed & (self.deployed_month < 0)] = month
        self.counts.append(deployed_by_type(est, self.n_types))
        pending = deployed & (self.half_month < 0)
        if pending.any() and est.n:
            users = np.add.reduceat(pop.state >= USING, est.start[:-1], axis=0, dtype=np.int64)
            reached = pending & (2 * users >= self._size[:, None]) & (self._size[:, None] > 0)
            self.half_month[reached] = month

    def shares(self, types: list[int] | None = None) -> np.ndarray:
        """``(M, F)``: share of the establishments of ``types`` (indices; default all) that have
        deployed each family at the end of each month recorded. Each establishment counts
        once, whatever its size."""
        pick = list(range(self.n_types)) if types is None else list(types)
        counts = np.stack(self.counts)[:, pick, :].sum(axis=1).astype(np.float64)
        total = self.n_by_type[pick].sum()
        return counts / total if total > 0 else np.full(counts.shape, np.nan)


__all__ = ["DeploymentLog"]
