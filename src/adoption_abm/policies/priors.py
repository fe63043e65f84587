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

from .catalogue import catalogue, prior_quantile


@dataclass(frozen=True)
class Prior:
    """One uncertain input: an effect's prior (which proposal and effect), or a unit cost's
    (``effect == -1``, ``channel`` = ``unit_cost.<activity>``; ``proposal`` 0 for the shared
    unit costs of ``[units]``); its range and central value."""

    proposal: int
    effect: int  # index in the proposal's effects; -1 for a unit cost
    channel: str
    group: str
    low: float
    value: float
    high: float
    distribution: str
    source: str

    @property
    def is_unit_cost(self) -> bool:
        return self.effect < 0

    @property
    def activity(self) -> str | None:
        """The activity a unit-cost prior prices."""
        return self.channel.removeprefix("unit_cost.") if self.is_unit_cost else None

    @property
    def name(self) -> str:
        """A stable identifier, e.g. ``p6.e0.training``, ``u.courses``, ``p10.u.programme``."""
        if self.is_unit_cost:
            who = "u" if self.proposal == 0 else f"p{self.proposal}.u"
            return f"{who}.{self.activity}"
        return f"p{self.proposal}.e{self.effect}.{self.channel}"

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """The prior's inverse distribution function at ``u`` in [0, 1]."""
        return np.asarray(
            prior_quantile(self.low, self.value, self.high, self.distribution, u),
            dtype=np.float64,
        )


def priors(proposals: Iterable[int] | None = None, unit_costs: bool = False) -> list[Prior]:
    """The priors of the effects of ``proposals`` (default: all twenty), in catalogue order;
    with ``unit_costs``, then those of the unit costs they pay (the shared ``[units]`` they
    use, then each one's programme unit), triangular on the catalogue's range.

    Inputs whose range is a point (``low == high``) are left out: they are not uncertain.
    """
    cat = catalogue()
    props = cat.proposals
    chosen = sorted(set(props if proposals is None else proposals))
    out = []
    for n in chosen:
        for k, e in enumerate(props[n].effects):
            if e.high > e.low:
                out.append(
                    Prior(
                        n, k, e.channel, e.group, e.low, e.value, e.high, e.distribution, e.source
                    )
                )
    if unit_costs:
        used = {a.kind for n in chosen for a in props[n].activities}
        for kind, a in cat.units.items():
            if kind in used and a.high > a.low:
                out.append(
                    Prior(
                        0,
                        -1,
                        f"unit_cost.{kind}",
                        "all",
                        a.low,
                        a.unit_cost,
                        a.high,
                        "triangular",
                        a.source,
                    )
                )
        for n in chosen:
            for a in props[n].activities:
                if a.kind == "programme" and a.high > a.low:
                    out.append(
                        Prior(
                            n,
                            -1,
                            "unit_cost.programme",
                            "all",
                            a.low,
                            a.unit_cost,
                            a.high,
                            "triangular",
                            a.source,
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
        if p.is_unit_cost:
            continue
        if p.proposal not in out:
            out[p.proposal] = [e.value for e in cat[p.proposal].effects]
        out[p.proposal][p.effect] = float(v)
    return out


def unit_costs_of(prior_list: Sequence[Prior], row: Sequence[float]) -> dict[int, dict]:
    """Per proposal (0: the shared units), the unit costs drawn in ``row``, by activity."""
    out: dict[int, dict] = {}
    for p, v in zip(prior_list, row, strict=True):
        if p.is_unit_cost:
            out.setdefault(p.proposal, {})[p.activity] = float(v)
    return out


def apply_draw(
    interventions: Sequence[dict], prior_list: Sequence[Prior], row: Sequence[float]
) -> list[dict]:
    """``interventions`` with each one's ``effects`` (and ``unit_costs``, for unit-cost priors)
    set from the draw ``row`` (interventions that set their own keep them; proposals not in
    ``prior_list`` keep the central values)."""
    values = effects_of(prior_list, row)
    costs = unit_costs_of(prior_list, row)
    cat = catalogue().proposals
    out = []
    for iv in interventions:
        iv = dict(iv)
        n = int(iv["proposal"])
        if iv.get("effects") is None and n in values:
            iv["effects"] = list(values[n])
        kinds = {a.kind for a in cat[n].activities}
        drawn = {k: v for k, v in costs.get(0, {}).items() if k in kinds} | costs.get(n, {})
        if iv.get("unit_costs") is None and drawn:
            iv["unit_costs"] = drawn
        out.append(iv)
    return out


def central(prior_list: Sequence[Prior]) -> np.ndarray:
    """The central values, as one row."""
    return np.array([p.value for p in prior_list])
