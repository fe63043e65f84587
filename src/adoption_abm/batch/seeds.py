"""The one seed scheme of every multi-run tool (batch experiments, calibration, policy comparisons).

Run ``i`` of root seed ``s`` is seeded with child ``i`` of ``numpy.random.SeedSequence(s)``,
computed directly as ``SeedSequence(s, spawn_key=(i,))`` (the very child ``.spawn(n)[i]`` gives,
for any ``n``), turned into a 63-bit integer: its first 64-bit state word with the top bit
cleared. That integer is what ``AdoptionModel(seed=...)`` and ``adoption-abm run --seed`` take, so
any run of a batch or a comparison can be reproduced alone.

A run's seed depends only on the root seed and its index: not on how many runs there are, who
runs them, or in which order. ``compare(seed=s)`` gives replication ``r`` of every policy
:func:`child_seed` ``(s, r)``, the seed ``run_batch`` gives replicate ``r`` of an experiment
with ``root_seed = s`` (with ``common_random_numbers``, or with a single design point).
"""

from __future__ import annotations

import numpy as np

SEED_MASK = (1 << 63) - 1
"""Seeds are kept below 2**63 so they fit a signed 64-bit column anywhere."""


def child_seed(root_seed: int, index: int) -> int:
    """The integer seed of spawned child ``index`` of ``SeedSequence(root_seed)`` (63 bits)."""
    ss = np.random.SeedSequence(int(root_seed), spawn_key=(int(index),))
    return int(ss.generate_state(1, dtype=np.uint64)[0]) & SEED_MASK


def replication_seeds(root_seed: int, replications: int) -> list[int]:
    """The seeds of replications ``0 .. replications-1`` of ``root_seed``: :func:`child_seed`
    of each index."""
    if replications < 0:
        raise ValueError(f"replications must be at least 0, got {replications}")
    return [child_seed(root_seed, r) for r in range(replications)]
