"""The months before a policy starts, simulated once for every policy run with one seed.

Runs that share a scenario, settings and seed (common random numbers) are identical until the
first month in which one of their interventions is in force. :func:`shared_months` says how many
months that is; :class:`PrefixCache` keeps the model of those months (without policy), and each
run continues from a copy of it (:meth:`AdoptionModel.fork`), bit-identical to a run from
scratch. ``compare``, the optimiser and ``batch`` (``policy`` varied with common random numbers)
use it; a worker process keeps its last few prefixes from one task to the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..policies.schedule import PolicySchedule
from ..scenario.schema import Scenario
from .model import AdoptionModel


def shared_months(scenario: Scenario, intervention_sets: Sequence[Sequence[Any]]) -> int:
    """Months that runs of ``scenario`` under each of ``intervention_sets`` (added to the
    scenario's own) have in common: those before the first month any is in force. 0 when
    nothing can be shared: fewer than two runs, or something in force from month 1."""
    if len(intervention_sets) < 2:
        return 0
    first = min(
        PolicySchedule(scenario, [*scenario.interventions, *ivs]).first_month_in_force()
        for ivs in intervention_sets
    )
    return min(first, scenario.n_months + 1) - 1 if first > 1 else 0


def model_bytes(model: AdoptionModel) -> int:
    """About what a model's arrays hold (state, tallies, logs; the shared network excluded)."""
    total = 0
    for part in (model.pop, model.est):
        total += sum(v.nbytes for v in vars(part).values() if isinstance(v, np.ndarray))
    for series in model.tallies:
        total += sum(a.nbytes for a in series)
    return total


class PrefixCache:
    """The last prefixes (models without policy, run some months) this process simulated,
    keyed by the scenario's content, the settings and the seed: at most ``size`` of them and
    about ``max_bytes`` of arrays (the oldest go first; the newest is always kept). A request
    for more months than cached continues a copy of the cached model rather than starting
    again."""

    def __init__(self, size: int = 16, max_bytes: int = 256 * 2**20) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._models: dict[tuple, AdoptionModel] = {}
        self._bytes: dict[tuple, int] = {}

    def clear(self) -> None:
        """Forget every prefix."""
        self._models.clear()
        self._bytes.clear()

    def get(
        self,
        scenario: Scenario,
        seed: int,
        months: int,
        *,
        rhythm: str = "central",
        scale: float = 0.01,
        engine: str = "cython",
    ) -> AdoptionModel:
        """The model of ``scenario`` with these settings and ``seed``, without policy, after
        ``months`` months. Not to be stepped: :meth:`~AdoptionModel.fork` it."""
        digest = hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()
        key = (digest, int(seed), rhythm, float(scale), engine)
        model = self._models.pop(key, None)
        if model is not None and model.month < months:
            model = model.fork([]).run(months - model.month)
        elif model is None or model.month > months:
            model = AdoptionModel(
                scenario,
                rhythm=rhythm,
                scale=scale,
                engine=engine,  # type: ignore[arg-type]
                agents="none",
                seed=seed,
            ).run(months)
        self._bytes.pop(key, None)
        self._models[key] = model  # the most recent last
        self._bytes[key] = model_bytes(model)
        while len(self._models) > 1 and (
            len(self._models) > self.size or sum(self._bytes.values()) > self.max_bytes
        ):
            oldest = next(iter(self._models))
            del self._models[oldest], self._bytes[oldest]
        return model


PREFIXES = PrefixCache()
"""This process's prefixes."""


__all__ = ["PREFIXES", "PrefixCache", "shared_months"]
