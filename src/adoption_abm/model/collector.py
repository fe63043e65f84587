"""Mesa's DataCollector, recorded from the model's tallies.

A per-step reporter recomputed the month's indicators from its tallies every month (a fifth of a
default run's time). :class:`TallyCollector` keeps Mesa's interface (``collect``,
``model_vars``, ``get_model_vars_dataframe``, what ``mesa.batch_run`` reads) but ``collect`` only
notes the month; ``model_vars`` is computed from all the tallies in one vectorised pass when it
is read (cached until the next month). The values are those of
:meth:`~adoption_abm.model.model.AdoptionModel.latest` month by month, by construction: both
read :meth:`~adoption_abm.model.model.AdoptionModel.indicator_series`.
"""

from __future__ import annotations

from typing import Any

import mesa


class TallyCollector(mesa.DataCollector):
    """A DataCollector whose model reporters are columns of the model's indicator series."""

    def __init__(self, keys: tuple[str, ...]):
        self._keys = keys
        self._stub: dict[str, list] = {}
        self._model: Any = None
        self._months: list[int] = []
        self._cache: tuple[int, dict[str, list]] | None = None
        super().__init__(model_reporters={k: _column(k) for k in keys})

    @property
    def model_vars(self) -> dict[str, list]:  # type: ignore[override]
        """Each reporter's value at every collected month (computed from the tallies)."""
        if self._model is None:
            return self._stub
        n = len(self._months)
        if self._cache is None or self._cache[0] != n:
            series = self._model.indicator_series()
            self._cache = (
                n,
                {k: [float(series[k][m]) for m in self._months] for k in self._keys},
            )
        return self._cache[1]

    @model_vars.setter
    def model_vars(self, value: dict[str, list]) -> None:  # Mesa's __init__ sets it
        self._stub = value

    def collect(self, model: Any) -> None:
        """Note the month collected (the values come from the tallies when read). Mesa 3.5
        also records the model's time in ``_collection_steps`` (``batch_run`` reads it)."""
        self._model = model
        self._months.append(model.month)
        if hasattr(self, "_collection_steps"):  # Mesa >= 3.4
            self._collection_steps.append(getattr(model, "time", model.steps))


def _column(key: str):
    def report(model: Any) -> float:
        return model.latest()[key]

    report.__name__ = f"report_{key}"
    report.__doc__ = f"This month's {key.replace('_', ' ')}."
    return report
