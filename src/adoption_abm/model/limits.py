"""Bounds on a model's arguments that the scenario schema cannot know: seeds, and the memory a
scale needs. Each check raises :class:`~adoption_abm.scenario.errors.ScenarioError` naming the
argument (``label`` is who was given it: ``AdoptionModel``, ``parameters``, ``--seed``...).

The memory estimate
-------------------
``estimate = BASE_BYTES + BYTES_PER_PROFESSIONAL × professionals + BYTES_PER_AGENT_OBJECT ×
Mesa agent objects``. Measured on the 2-core development machine (Python 3.11, NumPy 2,
Mesa 3.3) as the peak resident set size of ``/usr/bin/time -v adoption-abm run --scale S
--no-progress`` (no agent objects) at S = 0.01, 0.1, 0.5, 1, 2 and 5 (10,431 to 5.2 million
professionals): 207, 231, 313, 403, 578 and 1,106 MiB, i.e. 207 MiB of interpreter, libraries
and outputs plus 176-188 bytes per professional (state columns, ties, next-state buffer),
linear over the range. Agent objects (``agents="all"``, a Python script at scale 0.05 and 0.2
with ``agents="all"`` vs ``"none"``) add about 480 bytes each. The constants round those up
(by 30-60 %), so the estimate errs on the side of refusing: a run it accepts fits.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..scenario.errors import ScenarioError

SEED_BOUND = 2**64
"""Seeds are integers in ``[0, 2**64)`` (what ``numpy.random.SeedSequence`` takes as one word)."""

MAX_PROFESSIONALS = 2**31 - 1
"""Rows the model's arrays can index (establishment starts and ties are 32-bit integers)."""

BASE_BYTES = 256 * 2**20
BYTES_PER_PROFESSIONAL = 256
BYTES_PER_AGENT_OBJECT = 768


def check_seed(seed: Any, label: str = "AdoptionModel", field: str = "seed") -> int:
    """``seed`` as a Python int if it is an integer in ``[0, 2**64)`` (NumPy integers too;
    ``bool`` and floats, even ``1.0``, are refused: a float seed is usually a mistake)."""
    ok_type = isinstance(seed, int | np.integer) and not isinstance(seed, bool | np.bool_)
    if not ok_type:
        got = f"{seed!r} ({type(seed).__name__})"
        raise ScenarioError(label, [(field, f"must be an integer from 0 to 2**64 - 1, got {got}")])
    value = int(seed)
    if not 0 <= value < SEED_BOUND:
        raise ScenarioError(label, [(field, f"must be from 0 to 2**64 - 1, got {value}")])
    return value


def check_number(value: Any, label: str, field: str) -> float:
    """``value`` as a float if it is a real, finite number (not a bool, not a string)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ScenarioError(
            label, [(field, f"must be a number, got {value!r} ({type(value).__name__})")]
        )
    out = float(value)
    if not math.isfinite(out):
        raise ScenarioError(label, [(field, f"must be a finite number, got {value!r}")])
    return out


def professionals_at(scenario: Any, scale: float) -> float:
    """About how many professionals ``scale`` gives (a float: no overflow at absurd scales)."""
    return float(scale) * math.fsum(p.headcount for p in scenario.professions.values())


def memory_estimate(professionals: float, objects: float = 0.0) -> float:
    """Bytes a run of ``professionals`` rows and ``objects`` Mesa agent objects needs at peak
    (see the module docstring for how the constants were measured)."""
    return BASE_BYTES + BYTES_PER_PROFESSIONAL * professionals + BYTES_PER_AGENT_OBJECT * objects


def available_memory() -> int | None:
    """Bytes of memory available to a new process now (psutil), or None if unknown."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return None
    try:
        return int(psutil.virtual_memory().available)
    except (OSError, RuntimeError):  # pragma: no cover
        return None


def count(n: float) -> str:
    """``10,431`` or, past a trillion, ``1.04e+15``."""
    return f"{n:,.0f}" if n < 1e12 else f"{n:.3g}"


def size(n: float) -> str:
    """``1.5 GiB``: bytes in binary units."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_memory(
    scenario: Any,
    scale: float,
    objects: float = 0.0,
    *,
    force: bool = False,
    label: str = "AdoptionModel",
    field: str = "scale",
    force_hint: str | None = "force=True",
    available: int | None = None,
) -> float:
    """Refuse a ``scale`` whose memory estimate exceeds the memory available, naming both;
    ``force`` skips that check (not the limit of :data:`MAX_PROFESSIONALS`). Returns the
    estimate in bytes."""
    n = professionals_at(scenario, scale)
    need = memory_estimate(n, min(objects, n))
    have = available_memory() if available is None else available
    if not force and have is not None and need > have:
        why = (
            f"{scale:g} means about {count(n)} professionals and needs "
            f"{f'about {size(need)} of memory' if math.isfinite(need) else 'unbounded memory'}; "
            f"this machine has {size(have)} available. Use a smaller scale"
            + (f", or {force_hint} to try anyway" if force_hint else "")
        )
        raise ScenarioError(label, [(field, why)])
    if n > MAX_PROFESSIONALS:
        why = (
            f"{scale:g} means about {count(n)} professionals; the model indexes them with "
            f"32-bit integers, at most {MAX_PROFESSIONALS:,} (scale "
            f"{MAX_PROFESSIONALS / professionals_at(scenario, 1.0):.4g} here)"
        )
        raise ScenarioError(label, [(field, why)])
    return need


def check_run_size(
    scenario: Any,
    scale: Any,
    objects: float = 0.0,
    *,
    force: bool = False,
    label: str = "AdoptionModel",
    field: str = "scale",
    force_hint: str | None = "force=True",
) -> float:
    """All the checks of a ``scale``: a positive finite number, within the memory available
    (:func:`check_memory`) and the model's limit, and giving every profession an agent
    (:func:`~adoption_abm.model.build.check_scale`). Returns the scale as a float."""
    from .build import check_scale

    value = check_number(scale, label, field)
    if value <= 0:
        raise ScenarioError(label, [(field, f"must be a positive finite number, got {scale!r}")])
    check_memory(
        scenario, value, objects, force=force, label=label, field=field, force_hint=force_hint
    )
    check_scale(scenario, value, label=label)
    return value
