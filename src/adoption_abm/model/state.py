"""The model's state columns: professionals and establishments as rows of NumPy arrays.

Professionals are ordered by establishment (``Establishments.start``); per-family columns have
one column per technology family of the scenario (``F = scenario.n_families``), in its order.
Each column has a fixed dtype and shape, checked by :meth:`Population.check` and
:meth:`Establishments.check` (the compiled kernel reads them as typed memoryviews). A
professional's per-family state is a :class:`~adoption_abm.rules.states.State`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _check(name: str, value: np.ndarray, dtype: type, shape: tuple[int | None, ...]) -> None:
    if not isinstance(value, np.ndarray) or value.dtype != dtype:
        got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"{name} must be a {np.dtype(dtype)} array, got {got}")
    if value.ndim != len(shape) or any(
        s is not None and s != v for s, v in zip(shape, value.shape, strict=True)
    ):
        raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")


@dataclass
class Establishments:
    """Establishment rows. ``deployed[e, f]`` is 1 once ``e`` has deployed family ``f``."""

    type: np.ndarray  # uint8 (E,), establishment type
    start: np.ndarray  # int32 (E + 1,), professionals of e are start[e]:start[e+1]
    deployed: np.ndarray  # uint8 (E, F)

    @property
    def n(self) -> int:
        return len(self.type)

    @property
    def size(self) -> np.ndarray:
        return np.diff(self.start)

    def check(self, n_families: int) -> Establishments:
        """Raise if a column has the wrong dtype or shape; return self."""
        _check("est.type", self.type, np.uint8, (None,))
        _check("est.start", self.start, np.int32, (self.n + 1,))
        _check("est.deployed", self.deployed, np.uint8, (self.n, n_families))
        return self


@dataclass
class Population:
    """Professional rows. ``state[i, f]``: 0 not using, 1 using (learning), 2 mastered."""

    profession: np.ndarray  # uint8
    establishment: np.ndarray  # int32
    birth: np.ndarray  # float32, decimal year of birth
    retire_age: np.ndarray  # float32
    attitude: np.ndarray  # float32 in [0, 1]
    skill: np.ndarray  # float32 in [0, 1], digital skill, raised by training
    skill0: np.ndarray  # float32, skill when the professional entered the model
    access: np.ndarray  # float32 in [0, 1], access to continuing training
    state: np.ndarray  # uint8 (N, F), a State per family
    trained: np.ndarray  # uint8 (N, F), 1 once trained on the family
    resist: np.ndarray = field(default=None)  # uint8 (N,), 1: a resister (mechanisms.resistance)
    support: np.ndarray = field(default=None)  # uint8 (N, F), bits: MENTORED, LEGACY
    propensity: np.ndarray = field(default=None)  # float32, adoption multiplier (rules.refresh)
    train_prob: np.ndarray = field(default=None)  # float32, monthly training probability
    train_free: np.ndarray | None = field(default=None)  # float32, the same without the courses
    # bought by policies (None when none are in force; rules.refresh, rules.supply)

    def __post_init__(self) -> None:
        if self.resist is None:
            self.resist = np.zeros(len(self.profession), dtype=np.uint8)
        if self.support is None:
            self.support = np.zeros_like(self.trained)

    @property
    def n(self) -> int:
        return len(self.profession)

    @property
    def n_families(self) -> int:
        return self.state.shape[1]

    def check(self) -> Population:
        """Raise if a column has the wrong dtype or shape; return self."""
        n, f = self.n, self.n_families
        _check("pop.profession", self.profession, np.uint8, (n,))
        _check("pop.establishment", self.establishment, np.int32, (n,))
        for name in ("birth", "retire_age", "attitude", "skill", "skill0", "access"):
            _check(f"pop.{name}", getattr(self, name), np.float32, (n,))
        _check("pop.state", self.state, np.uint8, (n, f))
        _check("pop.trained", self.trained, np.uint8, (n, f))
        _check("pop.resist", self.resist, np.uint8, (n,))
        _check("pop.support", self.support, np.uint8, (n, f))
        for name in ("propensity", "train_prob", "train_free"):
            if getattr(self, name) is not None:
                _check(f"pop.{name}", getattr(self, name), np.float32, (n,))
        return self
