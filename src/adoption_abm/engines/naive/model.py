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
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from ... import rules
from ...model.build import build
from ...model.model import Tallies
from ...model.network import Network, build_network
from ...model.state import Establishments, Population
from ...outputs.indicators import Outputs, potential_table
from ...rules.deployment import month_mid_time
from ...rules.states import N_STATES
from ...scenario.calendar import MONTHS
from ...scenario.errors import ScenarioError
from ...scenario.load import load_scenario, with_overrides
from ...scenario.mechanisms import CORE_RULES
from ...scenario.schema import Scenario
from .agents import NaiveEstablishment, NaiveProfessional


def core_rules(scenario: Scenario) -> Scenario:
    """``scenario`` with every mechanism of version 2 switched off (the naive model's rules)."""
    return with_overrides(scenario, CORE_RULES)


class NaiveModel(mesa.Model):
    """The adoption model with one Python object per professional (baseline; no policies).

    It implements the core rules (adoption, mastery, training, demography, deployment): the
    mechanisms of version 2 are switched off (:data:`CORE_RULES`), whatever the scenario says.

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
        sc = core_rules(sc)
        if sc.interventions:
            raise ScenarioError(
                "interventions", [("interventions", "the naive model runs the baseline only")]
            )
        sc.check_rhythm(rhythm)
        self.inputs = sc  # not `scenario`: Mesa 3.5 reserves that name (and `time`)
        self.rhythm = rhythm
        self.levers = rules.Levers.neutral(
            len(sc.professions), len(sc.establishment_types), sc.n_families
        )
        self.n_months = sc.n_months
        self.age_edges = [float(x) for x in sc.indicators.age_bands]
        self.n_bands = len(self.age_edges) + 1
        self.n_types = len(sc.type_ids)
        self.n_prof = len(sc.profession_ids)
        self.n_fam = sc.n_families

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

        self.par = self.month_params(max(month, 1))
        self.deploy_prob = [[0.0] * self.n_fam for _ in range(self.n_types)]
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
        return self.inputs.start_year + self.month / MONTHS

    @property
    def tallies(self) -> Tallies:
        """The monthly tallies so far, as :attr:`AdoptionModel.tallies` has them."""
        zeros = [np.zeros_like(r) for r in self._risks]
        courses = [np.zeros(self.n_prof, dtype=np.int64) for _ in self._risks]
        return Tallies(self._cubes, self._risks, zeros, courses, [c.copy() for c in courses])

    def month_params(self, month: int) -> Any:
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
        january = self.month > 0 and self.month % MONTHS == 0
        for agent in self.professionals:
            if agent.retire_or_stay(t) or january:
                agent.refresh(t)
        self.par = self.month_params(m)
        self.cube = [0] * (self.n_prof * self.n_bands * self.n_types * self.n_fam * N_STATES)
        self.risk = [0] * (self.n_prof * self.n_fam)
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
        self.par = self.month_params(self.month + 1)
        self.cube = [0] * (self.n_prof * self.n_bands * self.n_types * self.n_fam * N_STATES)
        self.risk = [0] * (self.n_prof * self.n_fam)
        self.professionals.do("step")
        self.professionals.do("advance")

    def run(self, months: int | None = None) -> NaiveModel:
        for _ in range(self.n_months - self.month if months is None else months):
            self.step()
        return self

    def _deployment_probabilities(self, month: int) -> None:
        counts = [[0] * self.n_fam for _ in range(self.n_types)]
        sizes = [0] * self.n_types
        for est in self.establishments:
            sizes[est.type_index] += 1
            for f in range(self.n_fam):
                counts[est.type_index][f] += est.deployed[f]
        share = np.array([[c / max(sizes[k], 1) for c in counts[k]] for k in range(self.n_types)])
        t = month_mid_time(self.inputs, month)
        rates = rules.deployment_rates(self.inputs, self.rhythm, t, share, self.levers)
        self.deploy_prob = [[-math.expm1(-r / MONTHS) for r in row] for row in rates.tolist()]

    # outputs -----------------------------------------------------------------------------------
    def _count(self) -> None:
        """Tallies of the current state (month 0), as :func:`rules.tally` counts them."""
        self.cube = [0] * (self.n_prof * self.n_bands * self.n_types * self.n_fam * N_STATES)
        self.risk = [0] * (self.n_prof * self.n_fam)
        for agent in self.professionals:
            agent.next_state = agent.state
            agent.advance()
        self._record()

    def _record(self) -> None:
        shape = (self.n_prof, self.n_bands, self.n_types, self.n_fam, N_STATES)
        self._cubes.append(np.array(self.cube, dtype=np.int64).reshape(shape))
        self._risks.append(np.array(self.risk, dtype=np.int64).reshape(self.n_prof, self.n_fam))

    def state_array(self) -> np.ndarray:
        """(N, F) uint8 states in row order (to compare with an AdoptionModel's ``pop.state``)."""
        return np.array([a.state for a in self.professionals], dtype=np.uint8)

    def outputs(self) -> Outputs:
        """Indicators over the months simulated so far (same class as AdoptionModel's).

        Month 0 of the result is the month the model started from (0 unless built by
        :meth:`from_model`)."""
        pot = potential_table(self.inputs, self.n_months)[self._first_month :]
        return Outputs(self.inputs, np.stack(self._cubes), np.stack(self._risks), pot)

    def summary(self) -> dict[str, Any]:
        return self.outputs().summary_years()
