"""The same rules written the plain Mesa way: the performance baseline (not an engine).

Every professional and establishment is a :class:`mesa.Agent` holding its attributes as Python
numbers and lists, and its ties as a list of agents. Each month Mesa's ``AgentSet`` calls every
:meth:`NaiveProfessional.step` (decide from last month's states of the ties) and then every
:meth:`NaiveProfessional.advance` (commit and count), then every
:meth:`NaiveEstablishment.step`, the way a Mesa tutorial model is written. Random numbers come
from the model's Python ``random.Random`` (``self.random``), one call per decision, and
probabilities from ``math.expm1``.

It implements :mod:`adoption_abm.rules` for the baseline (no policy interventions): the same
build (:func:`~adoption_abm.population.build`, :func:`~adoption_abm.network.build_network`, so
one seed gives the same initial population as :class:`~adoption_abm.model.AdoptionModel`), the
same monthly decisions, deployments, demography and tallies. Since it draws its own
random numbers it agrees with the reference rules in distribution, not bit for bit
(``tests/test_naive.py`` checks that). ``experiments/bench_step.py`` times it against the
compiled kernel on the same states.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from . import rules
from .network import Network, build_network
from .outputs import Outputs, potential_table
from .population import N_FAMILIES, Establishments, Population, build
from .scenario import Scenario, ScenarioError, load_scenario, with_overrides

NF = N_FAMILIES


class NaiveEstablishment(mesa.Agent):
    """An establishment: its type and which families it has deployed."""

    model: NaiveModel

    def __init__(self, model: NaiveModel, type_index: int, deployed: list[int]) -> None:
        super().__init__(model)
        self.type_index = type_index
        self.deployed = deployed  # [0/1] * 3

    def step(self) -> None:
        """Deploy each missing family with this month's probability for the type."""
        prob = self.model.deploy_prob[self.type_index]
        for f in range(NF):
            if not self.deployed[f] and self.random.random() < prob[f]:
                self.deployed[f] = 1


class NaiveProfessional(mesa.Agent):
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
        mentoring = par.mentoring

        deg = len(self.ties)
        n_use = [0, 0, 0]
        n_young = [0, 0, 0]
        if any((state[f] == 0 and deployed[f]) or (state[f] == 1 and mentoring) for f in range(NF)):
            for other in self.ties:
                for f in range(NF):
                    if other.state[f] >= 1:
                        n_use[f] += 1
                if mentoring and other.birth - self.birth >= par.mentoring_gap:
                    for f in range(NF):
                        if other.state[f] == 2:
                            n_young[f] += 1

        skill = self.skill
        base = self.propensity * (1.0 + par.skill_effect * (skill - 0.5))
        new = list(state)
        for f in range(NF):
            ment = n_young[f] / deg if deg else 0.0
            if state[f] == 0 and deployed[f]:
                share = n_use[f] / deg if deg else 0.0
                a = par.p[f] + par.q[f] * share + par.mentoring_adoption * ment
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
                m *= 1.0 + par.mentoring_learning * ment
                if self.random.random() < -math.expm1(-m):
                    new[f] = 2

        eligible = [f for f in range(NF) if deployed[f] and state[f] < 2 and not trained[f]]
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
        ) * NF
        grew = self.skill - self.skill0 < model.par.risk_gain
        for f in range(NF):
            s = self.state[f]
            model.cube[(cell + f) * 3 + s] += 1
            if s == 2 and grew:
                model.risk[self.profession * NF + f] += 1

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


class NaiveModel(mesa.Model):
    """The adoption model with one Python object per professional (baseline; no policies).

    Args mirror :class:`~adoption_abm.model.AdoptionModel`: ``scenario``, ``rhythm``,
    ``scale``, ``overrides``, ``seed`` / ``rng``. :meth:`from_model` starts from another
    model's current state instead of a new build.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario = "france-2022",
        rhythm: str = "central",
        scale: float = 0.01,
        overrides: dict[str, Any] | None = None,
        seed: int | None = None,
        rng: Any = None,
        *,
        _state: tuple[Population, Establishments, Network, int] | None = None,
    ) -> None:
        if seed is not None and rng is not None:
            raise ValueError("pass either seed or rng, not both")
        super().__init__(rng=seed if seed is not None else rng)
        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if overrides:
            sc = with_overrides(sc, overrides)
        if sc.interventions:
            raise ScenarioError(
                "interventions", [("interventions", "the naive model runs the baseline only")]
            )
        if rhythm not in sc.rhythms:
            raise ScenarioError(
                "rhythm", [("rhythm", f"unknown rhythm {rhythm!r}; allowed: {list(sc.rhythms)}")]
            )
        self.inputs = sc  # not `scenario`: Mesa 3.5 reserves that name (and `time`)
        self.rhythm = rhythm
        self.levers = rules.Levers.neutral(len(sc.professions), len(sc.establishment_types))
        self.n_months = (sc.end_year - sc.start_year + 1) * rules.MONTHS
        self.age_edges = [float(x) for x in sc.indicators.age_bands]
        self.n_bands = len(self.age_edges) + 1
        self.n_types = len(sc.type_ids)
        self.n_prof = len(sc.profession_ids)

        if _state is None:
            pop, est = build(sc, scale, self.rng)
            team_size = np.array([sc.establishment_types[t].team_size for t in sc.type_ids])[
                est.type
            ]
            nw = sc.network
            net = build_network(
                pop.establishment, est.start, team_size, pop.profession,
                team_ties=nw.team_ties, rewiring=nw.rewiring,
                establishment_ties=nw.establishment_ties, professional_ties=nw.professional_ties,
                rng=self.rng,
            )  # fmt: skip
            month = 0
        else:
            pop, est, net, month = _state
        self.month = month
        self._first_month = month
        self._populate(pop, est, net)
        if _state is None:
            for agent in self.professionals:
                agent.refresh(self.year)

        self.par = self._params(max(month, 1))
        self.deploy_prob = [[0.0] * NF for _ in range(self.n_types)]
        self._cubes: list[np.ndarray] = []
        self._risks: list[np.ndarray] = []
        self._count()

    @classmethod
    def from_model(cls, model: Any, seed: int | None = None) -> NaiveModel:
        """A naive model in ``model``'s current state (an :class:`AdoptionModel`, baseline)."""
        pop, est = model.pop, model.est
        naive = cls(
            model.inputs, model.rhythm, seed=seed, _state=(pop, est, model.network, model.month)
        )
        for agent, psi, prob in zip(
            naive.professionals, pop.propensity, pop.train_prob, strict=True
        ):
            agent.propensity = float(psi)
            agent.train_prob = float(prob)
        return naive

    # build -------------------------------------------------------------------------------------
    def _populate(self, pop: Population, est: Establishments, net: Network) -> None:
        """One Mesa agent per establishment and professional row; ties as lists of agents."""
        self.establishments = mesa.agent.AgentSet(
            [
                NaiveEstablishment(self, int(t), [int(d) for d in row])
                for t, row in zip(est.type, est.deployed, strict=True)
            ],
            random=self.random,
        )
        ests = list(self.establishments)
        people = []
        columns = zip(
            pop.profession.tolist(), pop.establishment.tolist(), pop.birth.tolist(),
            pop.retire_age.tolist(), pop.attitude.tolist(), pop.skill.tolist(),
            pop.skill0.tolist(), pop.access.tolist(), pop.state.tolist(), pop.trained.tolist(),
            strict=True,
        )  # fmt: skip
        for prof, e, birth, retire, att, skill, skill0, access, state, trained in columns:
            people.append(
                NaiveProfessional(
                    self, prof, ests[e], birth, retire, att, skill, skill0, access, state, trained
                )
            )
        for i, agent in enumerate(people):
            agent.ties = [people[j] for j in net.ties(i).tolist()]
        self.professionals = mesa.agent.AgentSet(people, random=self.random)

    # run ---------------------------------------------------------------------------------------
    @property
    def year(self) -> float:
        """Decimal year of the current state (start year + months done / 12)."""
        return self.inputs.start_year + self.month / rules.MONTHS

    def _params(self, month: int) -> Any:
        """The month's parameters as Python numbers (what a plain model would keep)."""
        par = rules.month_params(self.inputs, self.rhythm, month, self.levers)
        for name in ("p", "q", "adopt_mult", "master_mult"):
            setattr(par, name, getattr(par, name).tolist())
        return par

    def step(self) -> None:
        """One month: demography, professionals, then establishments."""
        if self.month >= self.n_months:
            self.running = False
            return
        m = self.month + 1
        t = self.year
        january = self.month > 0 and self.month % rules.MONTHS == 0
        for agent in self.professionals:
            if agent.retire_or_stay(t) or january:
                agent.refresh(t)
        self.par = self._params(m)
        self.cube = [0] * (self.n_prof * self.n_bands * self.n_types * NF * 3)
        self.risk = [0] * (self.n_prof * NF)
        self.professionals.do("step")
        self.professionals.do("advance")
        self._deployment_probabilities(m)
        self.establishments.do("step")
        self.month = m
        self._record()
        if self.month >= self.n_months:
            self.running = False

    def step_professionals(self) -> None:
        """Only next month's professional decisions and their commit, without demography,
        deployments or the month counter (what the benchmark times, from a fixed state)."""
        self.par = self._params(self.month + 1)
        self.cube = [0] * (self.n_prof * self.n_bands * self.n_types * NF * 3)
        self.risk = [0] * (self.n_prof * NF)
        self.professionals.do("step")
        self.professionals.do("advance")

    def run(self, months: int | None = None) -> NaiveModel:
        for _ in range(self.n_months - self.month if months is None else months):
            self.step()
        return self

    def _deployment_probabilities(self, month: int) -> None:
        counts = [[0] * NF for _ in range(self.n_types)]
        sizes = [0] * self.n_types
        for est in self.establishments:
            sizes[est.type_index] += 1
            for f in range(NF):
                counts[est.type_index][f] += est.deployed[f]
        share = np.array([[c / max(sizes[k], 1) for c in counts[k]] for k in range(self.n_types)])
        t = rules.month_time(self.inputs, month) - 0.5 / rules.MONTHS
        rates = rules.deployment_rates(self.inputs, self.rhythm, t, share, self.levers)
        self.deploy_prob = [[-math.expm1(-r / rules.MONTHS) for r in row] for row in rates.tolist()]

    # outputs -----------------------------------------------------------------------------------
    def _count(self) -> None:
        """Tallies of the current state (month 0), as :func:`rules.tally` counts them."""
        self.cube = [0] * (self.n_prof * self.n_bands * self.n_types * NF * 3)
        self.risk = [0] * (self.n_prof * NF)
        for agent in self.professionals:
            agent.next_state = agent.state
            agent.advance()
        self._record()

    def _record(self) -> None:
        shape = (self.n_prof, self.n_bands, self.n_types, NF, 3)
        self._cubes.append(np.array(self.cube, dtype=np.int64).reshape(shape))
        self._risks.append(np.array(self.risk, dtype=np.int64).reshape(self.n_prof, NF))

    def state_array(self) -> np.ndarray:
        """(N, 3) uint8 states in row order (to compare with an AdoptionModel's ``pop.state``)."""
        return np.array([a.state for a in self.professionals], dtype=np.uint8)

    def outputs(self) -> Outputs:
        """Indicators over the months simulated so far (same class as AdoptionModel's).

        Month 0 of the result is the month the model started from (0 unless built by
        :meth:`from_model`)."""
        pot = potential_table(self.inputs, self.n_months)[self._first_month :]
        return Outputs(self.inputs, np.stack(self._cubes), np.stack(self._risks), pot)

    def summary(self) -> dict[str, Any]:
        return self.outputs().summary_years()
