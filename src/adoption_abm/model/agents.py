"""Mesa agents as views on the model's arrays.

A :class:`Professional` or :class:`Establishment` holds only its row index; every attribute
reads from and writes to the model's NumPy arrays, so the vectorised step, the compiled kernel,
Mesa's AgentSet and the DataCollector all see one state. They are created for small models, for
a sample, or on demand (``model.professional(i)``), never by default for two million rows.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING

import mesa

from ..rules.states import STATE_NAMES

if TYPE_CHECKING:
    from .model import AdoptionModel


def _family_index(model: AdoptionModel, family: str | int) -> int:
    """Column of ``family`` (a name of the model's scenario, or a column number)."""
    families = model.inputs.families
    if isinstance(family, int):
        if not 0 <= family < len(families):
            raise ValueError(f"family {family} out of range 0..{len(families) - 1}")
        return family
    try:
        return families.index(family)
    except ValueError:
        raise ValueError(f"unknown family {family!r}; allowed: {list(families)}") from None


class ModelIds(weakref.WeakKeyDictionary):
    """Each model's counter of its agents' ``unique_id``, holding the models weakly.

    Mesa 3.3 (the newest for Python 3.11) counts ids in ``Agent._ids``, a class-level
    ``defaultdict`` keyed by the model: it keeps every model, with its agents and arrays, alive
    for the life of the process (mesa#3179, fixed by mesa#3180 in later versions, which no
    longer read ``_ids``). A batch worker then kept every run it had made, and each run's
    garbage collections walked all of them. The same ids, counted from 1 for each model.
    """

    def __getitem__(self, model: object) -> itertools.count:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = self[model] = itertools.count(1)
            return counter


class ModelAgent(mesa.Agent):
    """A Mesa agent whose model is not kept alive by the id counter (see :class:`ModelIds`)."""

    _ids = ModelIds()


class Professional(ModelAgent):
    """A health professional: row ``index`` of the model's professional arrays."""

    model: AdoptionModel

    def __init__(self, model: AdoptionModel, index: int):
        super().__init__(model)
        self.index = int(index)

    # read-only identity ---------------------------------------------------------------------
    @property
    def profession(self) -> str:
        return self.model.inputs.profession_ids[self.model.pop.profession[self.index]]

    @property
    def group(self) -> str:
        return self.model.inputs.professions[self.profession].group

    @property
    def establishment(self) -> Establishment:
        return self.model.establishment(int(self.model.pop.establishment[self.index]))

    @property
    def age(self) -> float:
        return float(self.model.year - self.model.pop.birth[self.index])

    @property
    def ties(self) -> list[int]:
        """Row indices of the professionals this one listens to."""
        return self.model.network.ties(self.index).tolist()

    # read-write attributes --------------------------------------------------------------------
    @property
    def attitude(self) -> float:
        return float(self.model.pop.attitude[self.index])

    @attitude.setter
    def attitude(self, value: float) -> None:
        self.model.pop.attitude[self.index] = value

    @property
    def skill(self) -> float:
        return float(self.model.pop.skill[self.index])

    @skill.setter
    def skill(self, value: float) -> None:
        self.model.pop.skill[self.index] = value

    def state(self, family: str | int) -> int:
        """0 not using, 1 using (learning), 2 mastered."""
        return int(self.model.pop.state[self.index, _family_index(self.model, family)])

    def set_state(self, family: str | int, value: int) -> None:
        if value not in (0, 1, 2):
            raise ValueError(f"state must be 0, 1 or 2 ({', '.join(STATE_NAMES)}), got {value!r}")
        self.model.pop.state[self.index, _family_index(self.model, family)] = value

    def trained(self, family: str | int) -> bool:
        return bool(self.model.pop.trained[self.index, _family_index(self.model, family)])

    @property
    def states(self) -> dict[str, str]:
        row = self.model.pop.state[self.index]
        return {fam: STATE_NAMES[row[f]] for f, fam in enumerate(self.model.inputs.families)}

    @property
    def adopted(self) -> int:
        """Number of families used or mastered (a handy scalar for reporters and portrayal)."""
        return int((self.model.pop.state[self.index] >= 1).sum())

    def __repr__(self) -> str:
        return f"Professional({self.index}, {self.profession}, age {self.age:.0f}, {self.states})"


class Establishment(ModelAgent):
    """An establishment: row ``index`` of the model's establishment arrays."""

    model: AdoptionModel

    def __init__(self, model: AdoptionModel, index: int):
        super().__init__(model)
        self.index = int(index)

    @property
    def type(self) -> str:
        return self.model.inputs.type_ids[self.model.est.type[self.index]]

    @property
    def size(self) -> int:
        return int(self.model.est.start[self.index + 1] - self.model.est.start[self.index])

    @property
    def staff(self) -> range:
        """Row indices of its professionals."""
        return range(
            int(self.model.est.start[self.index]), int(self.model.est.start[self.index + 1])
        )

    def deployed(self, family: str | int) -> bool:
        return bool(self.model.est.deployed[self.index, _family_index(self.model, family)])

    def deploy(self, family: str | int) -> None:
        """Deploy a family now (e.g. from a notebook or the app)."""
        f = _family_index(self.model, family)
        if not self.model.est.deployed[self.index, f]:
            self.model.est.deployed[self.index, f] = 1

    @property
    def families(self) -> list[str]:
        return [
            fam
            for f, fam in enumerate(self.model.inputs.families)
            if self.model.est.deployed[self.index, f]
        ]

    def __repr__(self) -> str:
        return f"Establishment({self.index}, {self.type}, size {self.size}, {self.families})"
