"""The proposals' effect sizes as priors, and joint draws of them (Latin hypercube, seeded).

Every effect of the catalogue (``proposals.toml``) has a prior on ``[low, high]`` with its
central ``value`` (:class:`~adoption_abm.policies.catalogue.Effect`). One *draw* gives every
effect of every proposal a value; an intervention carries its proposal's values in its
``effects`` field, so a draw is applied by rewriting the interventions (:func:`apply_draw`) and
the model needs nothing else. Draws are a Latin hypercube over the unit cube, seeded, mapped
through each prior's quantile function: ``n`` draws cover each prior's range in ``n`` equal
strata.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .catalogue import catalogue


@dataclass(frozen=True)
class Prior:
    """One effect's prior: which proposal and effect, its range and central value."""

    proposal: int
    effect: int  # index in the proposal's effects
    channel: str
    group: str
    low: float
    value: float
    high: float
    distribution: str
    source: str

    @property
    def name(self) -> str:
        """A stable identifier, e.g. ``p6.e0.training``."""
        return f"p{self.proposal}.e{self.effect}.{self.channel}"

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """The prior's inverse distribution function at ``u`` in [0, 1]."""
        eff = catalogue().proposals[self.proposal].effects[self.effect]
        return np.asarray(eff.quantile(u), dtype=np.float64)


def priors(proposals: Iterable[int] | None = None) -> list[Prior]:
    """The priors of the effects of ``proposals`` (default: all twenty), in catalogue order.

    Effects whose range is a point (``low == high``) are left out: they are not uncertain.
    """
    cat = catalogue().proposals
    chosen = sorted(set(cat if proposals is None else proposals))
    out = []
    for n in chosen:
        for k, e in enumerate(cat[n].effects):
            if e.high > e.low:
                out.append(
                    Prior(
                        n, k, e.channel, e.group, e.low, e.value, e.high, e.distribution, e.source
                    )
                )
    return out


def unit_draws(d: int, n: int, seed: int) -> np.ndarray:
    """``(n, d)`` Latin-hypercube points in the unit cube (SciPy's ``qmc``), seeded."""
    if n < 1:
        raise ValueError(f"the number of draws must be at least 1, got {n}")
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(n)


def draw_values(prior_list: Sequence[Prior], n: int, seed: int) -> np.ndarray:
    """``(n, len(prior_list))`` effect values: a seeded Latin hypercube through each prior."""
    u = unit_draws(len(prior_list), n, seed)
    return np.column_stack([p.quantile(u[:, j]) for j, p in enumerate(prior_list)])


def effects_of(prior_list: Sequence[Prior], row: Sequence[float]) -> dict[int, list[float]]:
    """Per proposal, its effects' values in catalogue order: the draw ``row`` where a prior
    was drawn, the central value elsewhere."""
    cat = catalogue().proposals
    out: dict[int, list[float]] = {}
    for p, v in zip(prior_list, row, strict=True):
        if p.proposal not in out:
            out[p.proposal] = [e.value for e in cat[p.proposal].effects]
        out[p.proposal][p.effect] = float(v)
    return out


def apply_draw(
    interventions: Sequence[dict], prior_list: Sequence[Prior], row: Sequence[float]
) -> list[dict]:
    """``interventions`` with each one's ``effects`` set from the draw ``row`` (interventions
    that set their own ``effects`` keep them; proposals not in ``prior_list`` keep the central
    values)."""
    values = effects_of(prior_list, row)
    out = []
    for iv in interventions:
        iv = dict(iv)
        n = int(iv["proposal"])
        if iv.get("effects") is None and n in values:
            iv["effects"] = list(values[n])
        out.append(iv)
    return out


def central(prior_list: Sequence[Prior]) -> np.ndarray:
    """The central values, as one row."""
    return np.array([p.value for p in prior_list])
