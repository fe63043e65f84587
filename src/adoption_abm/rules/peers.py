"""Peer counts over the CSR ties: colleagues who use a family, and younger colleagues who master it
(reverse mentoring)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .states import MASTERED

if TYPE_CHECKING:
    from ..model.network import Network


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
