"""Peer counts over the CSR ties: colleagues who use a family."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..model.network import Network


# ---------------------------------------------------------------------------------------------
# Monthly: professionals (reference implementation of the compiled kernel)
# ---------------------------------------------------------------------------------------------
def tie_counts(net: Network, flags: np.ndarray) -> np.ndarray:
    """For each professional, how many of its ties have ``flags`` set (``flags``: (N, F) bool)."""
    if net.complete:
        total = flags.sum(axis=0, dtype=np.int64)
        return total[None, :] - flags.astype(np.int64)
    cum = np.zeros((net.nnz + 1, flags.shape[1]), dtype=np.int64)
    np.cumsum(flags[net.indices], axis=0, out=cum[1:])
    return cum[net.indptr[1:]] - cum[net.indptr[:-1]]
