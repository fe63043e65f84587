"""The naive baseline's agents: one Python object per professional and per establishment,
with the rules written as plain loops (see :mod:`adoption_abm.rules` for the specification)."""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING

from ...model.agents import ModelAgent

if TYPE_CHECKING:
    from .model import NaiveModel


class NaiveEstablishment(ModelAgent):
    """An establishment: its type and which families it has deployed."""

    model: NaiveModel

    def __init__(self, model: NaiveModel, type_index: int, deployed: list[int]) -> None:
        super().__init__(model)
        self.type_index = type_index
        self.deployed = deployed  # [0/1] per family

    def step(self) -> None:
        """Deploy each missing family with this month's probability for the type."""
        prob = self.model.deploy_prob[self.type_index]
        for f in range(self.model.n_fam):
            if not self.deployed[f] and self.random.random() < prob[f]:
                self.deployed[f] = 1


class NaiveProfessional(ModelAgent):
    """A professional: attributes, three family states, a list of tie agents."""

    model: NaiveModel

    def __init__(
        self,
        model: NaiveModel,
        profession: int,
        establishment: NaiveEstablishment,
        birth: float,
        retire_age: float,
        attitude: float,
        skill: float,
        skill0: float,
        access: float,
        state: list[int],
        trained: list[int],
    ) -> None:
        super().__init__(model)
        self.profession = profession
        self.establishment = establishment
        self.birth = birth
        self.retire_age = retire_age
        self.attitude = attitude
        self.skill = skill
        self.skill0 = skill0
        self.access = access
        self.state = state
        self.trained = trained
        self.next_state = list(state)
        self.ties: list[NaiveProfessional] = []
        self.propensity = 1.0
        self.train_prob = 0.0

    # monthly ---------------------------------------------------------------------------------
    def step(self) -> None:
        """This month's decisions, from last month's states (committed by :meth:`advance`)."""
        par = self.model.par
        deployed = self.establishment.deployed
        state = self.state
        trained = self.trained

        deg = len(self.ties)
        n_use = [0] * len(state)
        n_fam = len(state)
        if any(state[f] == 0 and deployed[f] for f in range(n_fam)):
            for other in self.ties:
                for f in range(self.model.n_fam):
                    if other.state[f] >= 1:
                        n_use[f] += 1

        skill = self.skill
        base = self.propensity * (1.0 + par.skill_effect * (skill - 0.5))
        new = list(state)
        for f in range(self.model.n_fam):
            if state[f] == 0 and deployed[f]:
                share = n_use[f] / deg if deg else 0.0
                a = par.p[f] + par.q[f] * share
                x = a * base * par.adopt_mult[self.profession][f]
                if trained[f]:
                    x *= 1.0 + par.train_adopt_boost
                if self.random.random() < -math.expm1(-x):
                    new[f] = 1
            elif state[f] == 1:
                m = par.master_mult[self.profession][f] * (
                    1.0 + par.skill_mastery_effect * (skill - 0.5)
                )
                if trained[f]:
                    m *= 1.0 + par.train_master_boost
                if self.random.random() < -math.expm1(-m):
                    new[f] = 2

        n_fam = len(state)
        eligible = [f for f in range(n_fam) if deployed[f] and state[f] < 2 and not trained[f]]
        if eligible and self.random.random() < self.train_prob:
            trained[self.random.choice(eligible)] = 1
            self.skill = skill + par.train_skill_gain * (1.0 - skill)
        self.next_state = new

    def advance(self) -> None:
        """Commit this month's states and count oneself in the month's tallies."""
        self.state = self.next_state
        model = self.model
        band = bisect_right(model.age_edges, model.par.t_end - self.birth)
        cell = (
            (self.profession * model.n_bands + band) * model.n_types + self.establishment.type_index
        ) * model.n_fam
        # the downgrading shortfall in thousandths, as rules.tallies.shortfall_milli
        short = min(max(1.0 - (self.skill - self.skill0) / model.par.risk_gain, 0.0), 1.0)
        milli = math.floor(short * float(model.par.risk_keep[self.profession]) * 1000.0)
        for f in range(self.model.n_fam):
            s = self.state[f]
            model.cube[(cell + f) * 3 + s] += 1
            if s == 2:
                model.risk[self.profession * model.n_fam + f] += milli

    # yearly ----------------------------------------------------------------------------------
    def retire_or_stay(self, t: float) -> bool:
        """Each month: past retirement age, an entrant takes the post and ties (returns True)."""
        if t - self.birth < self.retire_age:
            return False
        sc = self.model.inputs
        prof = sc.professions[sc.profession_ids[self.profession]]
        beh = sc.behaviour
        rnd = self.random
        entry = prof.entry_age + rnd.uniform(-1.0, 1.0)
        attitude = rnd.betavariate(beh.attitude.alpha, beh.attitude.beta)
        skill = rnd.betavariate(beh.skill.alpha, beh.skill.beta)
        self.retire_age = rnd.uniform(prof.retirement_age[0], prof.retirement_age[1])
        skill += beh.skill_age_slope * (entry - 45.0) + beh.entrant_skill_shift
        self.birth = t - entry
        self.attitude = min(max(attitude, 0.0), 1.0)
        self.skill = self.skill0 = min(max(skill, 0.0), 1.0)
        self.state = [0, 0, 0]
        self.trained = [0, 0, 0]
        return True

    def refresh(self, t: float) -> None:
        """Adoption multiplier (attitude and age on 1 January) and training probability."""
        beh = self.model.inputs.behaviour
        age = math.floor(t) - self.birth
        psi = (1.0 + beh.attitude_effect * (self.attitude - 0.5)) * (
            1.0 + beh.age_effect * ((age - 45.0) / 10.0)
        )
        self.propensity = max(psi, beh.propensity_floor)
        self.train_prob = min(max(beh.training_rate * self.access, 0.0), 1.0)
