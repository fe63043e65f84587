"""The month's random numbers, as arrays, from one NumPy Generator.

Each month the model draws one 64-bit key from its NumPy ``Generator`` (Mesa's ``model.rng``).
With ``F`` technology families there are ``S = F + 1`` slots per professional (:func:`slots`):
slots ``0..F-1`` for the families' transitions, slot ``F`` for training. Professional ``i``'s
uniform for slot ``s`` is then SplitMix64 output number ``S*i + s + 1`` of the stream that starts
at that key
(Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; the
generator passes BigCrush). It is a pure function of (key, i, s), so:

* the reference rules draw all of them as arrays in one vectorised call (:func:`uniforms`);
* the compiled kernel evaluates the same function inline, only where a draw is needed, and
  gets the very same numbers: results are bit-identical, and independent of thread count and
  of the order agents are visited in.

:func:`one_minus_exp_neg` turns a hazard into a probability with basic IEEE operations only
(no ``exp`` from a math library, which differs between NumPy's SIMD code and libm by an ulp),
so the compiled kernel rounds exactly as the reference does, on any machine.
"""

from __future__ import annotations

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
MAX_HAZARD = 700.0
"""Hazards (expected events per step) are capped here; the probability is 1 to double precision."""


def slots(n_families: int) -> int:
    """Uniforms per professional and month: one per family, then one for training."""
    return n_families + 1


def training_slot(n_families: int) -> int:
    """The slot of the training uniform (after the families')."""
    return n_families


def month_key(rng: np.random.Generator) -> np.uint64:
    """Draw the month's key from the model's generator (one 64-bit draw)."""
    return rng.integers(0, 2**64, dtype=np.uint64, endpoint=False)


def splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (the 'mix64variant13' finaliser) on uint64 arrays."""
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


def uniforms(key: np.uint64 | int, n: int, slots: int) -> np.ndarray:
    """The month's uniforms in [0, 1) as an ``(n, slots)`` float64 array.

    Entry ``[i, s]`` is ``(mix(key + (slots*i + s + 1) * GAMMA) >> 11) * 2**-53``.
    """
    counter = np.arange(1, n * slots + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(key) + counter * GAMMA
        bits = splitmix64(z)
    return ((bits >> np.uint64(11)).astype(np.float64) * TO_UNIT).reshape(n, slots)


def one_minus_exp_neg(x: np.ndarray) -> np.ndarray:
    """``1 - exp(-x)`` for hazards ``x >= 0``, with basic IEEE operations only.

    Halve ``x`` ``k`` times until it is at most 1/8 (exact: powers of two), sum the series
    ``y - y²/2 + y³/6 - ...`` to the ninth term (truncation below 2e-13 relative), then undo the
    halvings with ``q <- q (2 - q)``, since ``1 - e^{-2y} = (1 - e^{-y})(2 - (1 - e^{-y}))``.
    The compiled kernel does the same operations in the same order.
    """
    x = np.minimum(np.asarray(x, dtype=np.float64), MAX_HAZARD)
    _, e = np.frexp(x * 8.0)
    k = np.maximum(e, 0)
    y = np.ldexp(x, -k)
    q = 1.0 - y / 9.0
    for d in (8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0):
        q = 1.0 - (y / d) * q
    q = y * q
    for j in range(int(k.max(initial=0))):
        q = np.where(k > j, q * (2.0 - q), q)
    return q
