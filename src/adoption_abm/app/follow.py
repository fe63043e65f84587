""" "Follow one professional": one row's states, ties, training and skill, month by month.

A row of the population is a post: when its holder retires, an entrant takes the same row
(:func:`adoption_abm.rules.replace_retirees`), so the trace marks the months where the person
changed (``entered``). Recorded while the model steps (:class:`Trace.record`), never rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.model import AdoptionModel


@dataclass
class Trace:
    """The monthly record of row ``row``: per month the state of each family (0 not using,
    1 learning, 2 mastered), whether trained on it, the digital skill, the number of ties and
    how many of them use (or master) each family."""

    row: int
    month: list[int] = field(default_factory=list)
    state: list[np.ndarray] = field(default_factory=list)  # (F,) uint8 per month
    trained: list[np.ndarray] = field(default_factory=list)  # (F,) uint8 per month
    skill: list[float] = field(default_factory=list)
    ties: list[int] = field(default_factory=list)
    tie_users: list[np.ndarray] = field(default_factory=list)  # (F,) int per month
    entered: list[bool] = field(default_factory=list)  # a new person took the row this month
    birth: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.month)

    def record(self, model: AdoptionModel) -> None:
        """Append this month's values of the row (a handful of array reads)."""
        pop, i = model.pop, self.row
        neighbours = model.network.ties(i)
        birth = float(pop.birth[i])
        self.entered.append(bool(self.birth) and birth != self.birth[-1])
        self.birth.append(birth)
        self.month.append(int(model.month))
        self.state.append(pop.state[i].copy())
        self.trained.append(pop.trained[i].copy())
        self.skill.append(float(pop.skill[i]))
        self.ties.append(len(neighbours))
        self.tie_users.append((pop.state[neighbours] >= 1).sum(axis=0).astype(np.int64))


def random_row(model: AdoptionModel, seed: int) -> int:
    """A row drawn with its own generator seeded by ``seed`` (the model's stream untouched)."""
    return int(np.random.default_rng(seed).integers(model.pop.n))


def describe_row(model: AdoptionModel, row: int) -> dict[str, object]:
    """Who holds ``row`` now: profession, establishment (index and type), age, attitude."""
    pop, sc = model.pop, model.inputs
    e = int(pop.establishment[row])
    etype = sc.type_ids[int(model.est.type[e])]
    return {
        "row": row,
        "profession": sc.professions[sc.profession_ids[int(pop.profession[row])]].label,
        "establishment": e,
        "establishment_type": sc.establishment_types[etype].label,
        "age": float(model.year - pop.birth[row]),
        "attitude": float(pop.attitude[row]),
    }
