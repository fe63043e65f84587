"""``AdoptionModel``: the Mesa model. Build, step loop, data collection.

Data flow: scenario file → :class:`~adoption_abm.scenario.Scenario` → :func:`population.build`
and :func:`network.build_network` (state arrays + CSR ties) → :meth:`AdoptionModel.step`
(rules or compiled kernel, same signature) → monthly tallies → :class:`outputs.Outputs`
(Polars frames, summary) and Mesa's DataCollector.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import mesa
import numpy as np
import polars as pl

from .. import rules
from ..engines.registry import ENGINES, StepFunction, check_threads, get_engine, month_work
from ..outputs.activity import ActivityLog
from ..outputs.deployment import DeploymentLog
from ..outputs.indicators import Outputs, month_label, potential_table
from ..rules.downgrading import attitude_feedback
from ..rules.generations import release, releases_in
from ..rules.mentoring import Pairs
from ..rules.stream import month_key
from ..rules.supply import supplied_probability, training_supply
from ..rules.tallies import MonthTally
from ..scenario.calendar import MONTHS, month_time
from ..scenario.errors import ScenarioError
from ..scenario.interventions import validate_interventions
from ..scenario.load import load_scenario, with_overrides
from ..scenario.schema import Scenario
from .agents import Establishment, Professional
from .build import build
from .collector import TallyCollector
from .limits import check_number, check_run_size, check_seed, professionals_at
from .network import Network, build_network

AUTO_AGENT_LIMIT = 50_000
"""With ``agents='auto'``, Mesa agent objects are created for every row up to this many rows."""


class Tallies(NamedTuple):
    """A model's monthly tallies (see :func:`adoption_abm.rules.tallies.tally`): element ``m``
    of each list is month ``m``'s array."""

    cubes: list[np.ndarray]  # (P, B, T, F, S) professionals by profession, age band, type,
    # family and state
    risks: list[np.ndarray]  # (P, F) masters' downgrading shortfall, in thousandths
    legacy: list[np.ndarray]  # (P, F) users of a new generation who master the old one
    courses: list[np.ndarray]  # (P,) courses taken in the month
    mentoring: list[np.ndarray]  # (P,) mentoring pairings active (mentee and mentor sides)


class AdoptionModel(mesa.Model):
    """Health professionals adopting AI, digital tools and robotics, month by month.

    Args:
        scenario: a built-in scenario name, a TOML path or a :class:`Scenario`.
        rhythm: adoption rhythm preset, ``slow``, ``central`` or ``fast``.
        scale: agents per real professional (0.01 = one agent per hundred).
        engine: ``cython`` (compiled kernel) or ``reference`` (NumPy), identical results; or
            a step function with their signature (:data:`~adoption_abm.engines.StepFunction`),
            e.g. to compare engines in lockstep or to time the step.
        agents: Mesa agent objects to create: ``auto`` (all up to 50,000 rows, else none),
            ``all``, ``none``, or a number for an evenly spaced sample. Others are created on
            demand by :meth:`professional` / :meth:`establishment`.
        interventions: policy interventions (see :mod:`adoption_abm.policies`), added to the
            scenario's own.
        overrides: dotted scenario fields to replace, e.g.
            ``{"mechanisms.mentoring.enabled": False}``.
        seed: integer seed in ``[0, 2**64)`` (what ``mesa.batch_run`` passes); same as
            ``rng=seed``.
        rng: seed or ``numpy.random.Generator`` handed to Mesa; all randomness comes from it.
        force: build even if the memory estimate for ``scale`` exceeds the memory available
            (:func:`~adoption_abm.model.limits.check_memory`).
        threads: the compiled kernel's threads, an integer from 1 to 1024; ``None``: one (batch
            workers run one run a core). ``adoption-abm run`` passes every available core. Any count
            gives the same results, bit for bit.

    Every bad argument raises :class:`~adoption_abm.scenario.ScenarioError` (a ``ValueError``)
    naming it, before anything is built; a scenario that cannot be loaded or whose engine is
    not built raises its own named error.
    """

    def __init__(
        self,
        scenario: str | Path | Scenario = "france-2022",
        rhythm: str = "central",
        scale: float = 0.01,
        engine: Literal["cython", "reference"] | StepFunction = "cython",
        agents: Literal["auto", "all", "none"] | int = "auto",
        interventions: list[Any] | None = None,
        overrides: dict[str, Any] | None = None,
        seed: int | None = None,
        rng: Any = None,
        force: bool = False,
        threads: int | None = None,
    ) -> None:
        given = (scenario, rhythm, scale, engine, agents, interventions, overrides, seed, rng)
        sc = _checked_arguments(*given, force, threads)
        # Mesa 3.5 takes plain ints only (not NumPy integers): the checked seed as an int
        self.seed = (
            int(seed)
            if seed is not None
            else (int(rng) if isinstance(rng, int | np.integer) else None)
        )
        super().__init__(rng=self.seed if self.seed is not None else rng)
        # The validated inputs are `model.inputs` (Mesa 3.5 reserves `model.scenario`).
        self.inputs: Scenario = sc  # not `scenario`: Mesa 3.5 uses that name
        self.rhythm = rhythm
        self.scale = float(scale)
        self.engine = engine if isinstance(engine, str) else getattr(engine, "__name__", "custom")
        self.threads = 1 if threads is None else int(threads)
        self._step_professionals = (
            get_engine(engine, threads=self.threads) if isinstance(engine, str) else engine
        )
        # demography, deployment, deployment log, training demand: compiled with the cython
        # engine, the NumPy rules otherwise (engines.months), the same numbers
        self._work = month_work(self.engine)
        self.n_months = sc.n_months
        self.month = 0
        # month_params of the levers in force: only ``t_end`` changes from month to month
        self._params: tuple[Any, rules.MonthParams] | None = None

        # build: population, establishments, network (all from self.rng, in this order)
        self.pop, self.est = build(sc, self.scale, self.rng)
        types = self.est.type
        team_size = np.array([sc.establishment_types[t].team_size for t in sc.type_ids])[types]
        net = sc.network
        self.network: Network = build_network(
            self.pop.establishment,
            self.est.start,
            team_size,
            self.pop.profession,
            team_ties=net.team_ties,
            rewiring=net.rewiring,
            establishment_ties=net.establishment_ties,
            professional_ties=net.professional_ties,
            rng=self.rng,
        )
        self._next_state = np.empty_like(self.pop.state)

        # policies (interventions): levers the rules read
        from ..policies.schedule import PolicySchedule

        self.policy = PolicySchedule(
            sc, list(sc.interventions) + list(interventions or []), self.pop, self.est
        )
        self.levers = self.policy.levers_at(0)
        self._work.refresh(self.pop, self.est, sc, self.year, self.levers)
        self.pairs: Pairs = self._work.pair_mentors(
            self.pop, self.est, sc, self.year, self.levers, self.rng
        )

        # data: tallies of month 0, then one per step
        self._potential = potential_table(sc, self.n_months)
        self._tallies = Tallies([], [], [], [], [])
        self.deployment_log = DeploymentLog(self.est, len(sc.type_ids))  # outputs.deployment
        self.activity = ActivityLog(len(self.policy.interventions))  # outputs.activity
        self._project_funds = 0.0  # projects the budgets in force can still fund (rules.supply)
        self._record(rules.tally(self.pop, self.est, self.month_params(0), self.pop.state))

        self._professionals: dict[int, Professional] = {}
        self._establishments: dict[int, Establishment] = {}
        self._materialise(agents)

        # Mesa's DataCollector, recorded from the tallies (model.collector)
        self.datacollector = TallyCollector(reporter_keys(sc.families))
        self.datacollector.collect(self)

    # ------------------------------------------------------------------------------------------
    @property
    def year(self) -> float:
        """Decimal year of the current state (start year + months done / 12)."""
        return self.inputs.start_year + self.month / MONTHS

    @property
    def n_professionals(self) -> int:
        return self.pop.n

    def month_params(self, month: int) -> rules.MonthParams:
        """The professionals' step parameters of ``month`` (1-based; 0 reads as 1) under the
        levers now in force."""
        month = max(month, 1)
        cached = self._params
        if cached is not None and cached[0] is self.levers:
            params = copy.copy(cached[1])  # the levers' parameters, at this month's end
            params.t_end = month_time(self.inputs, month)
            return params
        params = rules.month_params(self.inputs, self.rhythm, month, self.levers)
        self._params = (self.levers, params)
        return params

    @property
    def tallies(self) -> Tallies:
        """The monthly tallies so far (month 0 to the current month), as the engines gave them."""
        return self._tallies

    def step(self) -> None:
        """Advance one month (see :mod:`adoption_abm.rules` for the order of events)."""
        if self.month >= self.n_months:
            self.running = False
            return
        m = self.month + 1
        new_levers = self.policy.levers_at(m)
        levers_changed = new_levers is not self.levers
        self.levers = new_levers
        sc = self.inputs
        work = self._work
        entrants = work.replace_retirees(self.pop, self.est, sc, self.year, self.levers, self.rng)
        self.pairs = self.pairs.without(entrants)
        january = self.month > 0 and self.month % MONTHS == 0
        par = self.month_params(m)
        if january:
            attitude_feedback(self.pop, sc, par, self._potential[self.month])
        if levers_changed or january:
            work.refresh(self.pop, self.est, sc, self.year, self.levers)
        elif len(entrants):
            work.refresh(self.pop, self.est, sc, self.year, self.levers, rows=entrants)
        if january:
            self.pairs = work.pair_mentors(self.pop, self.est, sc, self.year, self.levers, self.rng)
        for family in releases_in(sc, m):
            release(self.pop, family)
        key = month_key(self.rng)
        supply = training_supply(
            self.pop, self.est, sc, self.levers, self.scale, work.training_demand
        )
        wanted = self.pop.train_prob
        if supply is not None and supply.binds:  # budgets or trainers limit the courses
            self.pop.train_prob = supplied_probability(self.pop, supply)
        try:
            counts = self._step_professionals(
                self.pop, self.est, self.network, par, key, self._next_state
            )
        finally:
            self.pop.train_prob = wanted
        self.pop.state, self._next_state = self._next_state, self.pop.state
        lv = self.levers
        if lv.project_funds > 0:  # unspent funds carry over, up to a year's
            monthly = lv.project_funds * self.scale
            self._project_funds = min(self._project_funds + monthly, MONTHS * monthly)
        else:
            self._project_funds = 0.0
        _, funded = work.deployment_step(
            self.est, sc, self.rhythm, m, lv, self.rng, funds=self._project_funds
        )
        self._project_funds -= funded
        self.month = m
        tally = MonthTally(*counts)
        self._record(tally)
        self.activity.record(
            float(tally.courses.sum()),
            supply,
            lv.course_buyers,
            funded,
            lv.project_buyers,
            float(self._tallies.mentoring[-1].sum()) / 2.0,
        )
        self.datacollector.collect(self)
        if self.month >= self.n_months:
            self.running = False

    def run(self, months: int | None = None, progress: bool = False) -> AdoptionModel:
        """Step ``months`` times (default: to the scenario's end); optional progress bar."""
        todo = self.n_months - self.month if months is None else months
        steps = range(todo)
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=f"{self.inputs.name} {self.rhythm}", unit="month")
        for _ in steps:
            self.step()
        return self

    def fork(self, interventions: list[Any] | None = None) -> AdoptionModel:
        """A copy of this model that continues from the current month under ``interventions``
        (added to the scenario's own, as at construction) in place of its own.

        Bit-identical to a model built with the same arguments, seed and ``interventions`` and
        run to the same end, provided that no intervention of either set was in force in any
        month simulated so far (else ``ValueError``): up to now both drew the same numbers under
        the same neutral levers (:meth:`PolicySchedule.first_month_in_force
        <adoption_abm.policies.schedule.PolicySchedule.first_month_in_force>`). So the months
        before a policy starts are simulated once for all the policies run with one seed
        (``compare``, ``optimise``). The scenario, the network and the potential table, which no
        rule changes, are shared with this model; everything else is copied.
        """
        from ..policies.schedule import PolicySchedule

        sc = self.inputs
        validate_interventions(sc, [*sc.interventions, *(interventions or [])], label=LABEL)
        schedule = PolicySchedule(sc, list(sc.interventions) + list(interventions or []))
        done = max(self.month, 1)  # months simulated so far (month 0 reads month 1's levers)
        for which, sched in (("this model's", self.policy), ("the new", schedule)):
            first = sched.first_month_in_force()
            if first <= done:
                raise ValueError(
                    f"cannot fork at month {self.month}: {which} interventions are in force "
                    f"from month {first}; fork before it"
                )
        memo: dict[int, Any] = {
            id(sc): sc,
            id(self.network): self.network,
            id(self._potential): self._potential,
            id(self.policy): schedule,
            id(self.levers): schedule.levers_at(self.month),
            id(self.activity): self.activity.widened(len(schedule.interventions)),
        }
        twin = copy.deepcopy(self, memo)
        twin._series = None
        twin._params = None  # the old levers' parameters (the memo maps the levers to the new)
        return twin

    # ------------------------------------------------------------------------------------------
    def _record(self, counts: MonthTally) -> None:
        t = self._tallies
        t.cubes.append(counts.cube)
        t.risks.append(counts.risk)
        t.legacy.append(counts.legacy)
        t.courses.append(counts.courses)
        t.mentoring.append(
            self._work.mentoring_load(self.pop, self.pairs, len(self.inputs.professions))
        )
        self.deployment_log.record(self.pop, self.est, self.month, self._work.deployment_recorder)
        self._series: tuple[int, dict[str, np.ndarray]] | None = None

    def outputs(self) -> Outputs:
        """Indicators over the months simulated so far."""
        return Outputs.from_tallies(self.inputs, self._tallies, self._potential)

    def timeseries(self) -> pl.DataFrame:
        """Month × profession × family: adoption and mastery shares, potential, realised, FTE."""
        return self.outputs().timeseries()

    def indicators(self) -> pl.DataFrame:
        """Month-level indicators: potential, realised, FTE freed, gaps, downgrading risk."""
        return self.outputs().indicators()

    def breakdown(self) -> pl.DataFrame:
        """Month × age band and month × establishment type: adoption, mastery, realised."""
        return self.outputs().breakdown()

    def summary(self) -> dict[str, Any]:
        """Figures for 2025, 2030, 2035 and 2040 (those simulated), in summary.json's shape."""
        return self.outputs().summary_years()

    def indicator_series(self) -> dict[str, np.ndarray]:
        """Every month's headline indicators so far (the DataCollector's columns and more):
        :meth:`Outputs.indicator_columns` and ``adoption_<family>`` (headcount-weighted share
        using or mastering), one array each, computed once per month simulated."""
        n = len(self._tallies.cubes)
        if self._series is None or self._series[0] != n:
            out = self.outputs()
            cols = dict(out.indicator_columns())
            share = out.adoption_share()  # (M, P, F)
            h = out.headcount
            for f, fam in enumerate(self.inputs.families):
                cols[f"adoption_{fam}"] = (share[:, :, f] * h[None, :]).sum(axis=1) / h.sum()
            self._series = (n, cols)
        return self._series[1]

    def latest(self) -> dict[str, float]:
        """This month's headline indicators (what the DataCollector records)."""
        series = self.indicator_series()
        m = len(self._tallies.cubes) - 1
        row: dict[str, Any] = {k: v[m] for k, v in series.items()}
        row.update(month=m, date=month_label(self.inputs, m), year=self.year)
        return {
            k: float(v) if isinstance(v, np.floating | np.integer) else v for k, v in row.items()
        }

    # ------------------------------------------------------------------------------------------
    def _materialise(self, agents: Literal["auto", "all", "none"] | int) -> None:
        n = self.pop.n
        if agents == "auto":
            rows: Any = range(n) if n <= AUTO_AGENT_LIMIT else range(0)
        elif agents == "all":
            rows = range(n)
        elif agents == "none":
            rows = range(0)
        elif isinstance(agents, int) and agents >= 0:
            rows = (
                np.unique(np.linspace(0, n - 1, num=min(agents, n), dtype=np.int64))
                if agents
                else []
            )
        else:
            raise ValueError(
                f"agents must be 'auto', 'all', 'none' or a count >= 0, got {agents!r}"
            )
        if len(rows):
            for e in range(self.est.n):
                self.establishment(e)
        for i in rows:
            self.professional(int(i))

    def professional(self, index: int) -> Professional:
        """The Mesa agent of professional row ``index`` (created on first request)."""
        if not 0 <= index < self.pop.n:
            raise IndexError(f"professional {index} out of range 0..{self.pop.n - 1}")
        agent = self._professionals.get(index)
        if agent is None:
            agent = self._professionals[index] = Professional(self, index)
        return agent

    def establishment(self, index: int) -> Establishment:
        """The Mesa agent of establishment row ``index`` (created on first request)."""
        if not 0 <= index < self.est.n:
            raise IndexError(f"establishment {index} out of range 0..{self.est.n - 1}")
        agent = self._establishments.get(index)
        if agent is None:
            agent = self._establishments[index] = Establishment(self, index)
        return agent


def _checked_arguments(
    scenario, rhythm, scale, engine, agents, interventions, overrides, seed, rng, force, threads
) -> Scenario:
    """``AdoptionModel``'s arguments checked before anything is built; returns the scenario
    (loaded, with the overrides). Raises ScenarioError naming the argument."""

    def bad(field: str, why: str) -> ScenarioError:
        return ScenarioError(LABEL, [(field, why)])

    if seed is not None and rng is not None:
        raise bad("seed", "pass either seed or rng, not both")
    if seed is not None:
        check_seed(seed, LABEL, "seed")
    if isinstance(rng, int | np.integer | bool | float):
        check_seed(rng, LABEL, "rng")
    elif rng is not None and not isinstance(
        rng, np.random.Generator | np.random.BitGenerator | np.random.SeedSequence
    ):
        raise bad("rng", f"must be a seed or a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(scenario, Scenario):
        sc = scenario
    elif isinstance(scenario, str | Path):
        sc = load_scenario(scenario)
    else:
        raise bad(
            "scenario",
            f"must be a built-in scenario name, a TOML path or a Scenario, got {scenario!r}",
        )
    if overrides is not None and not isinstance(overrides, Mapping):
        raise bad("overrides", f"must be a dict of dotted fields, got {type(overrides).__name__}")
    if overrides:
        sc = with_overrides(sc, overrides)
    if not isinstance(rhythm, str):
        raise bad("rhythm", f"must be a rhythm name, one of {list(sc.rhythms)}, got {rhythm!r}")
    sc.check_rhythm(rhythm, label=LABEL)
    if isinstance(engine, str):
        if engine not in ENGINES:
            raise bad("engine", f"unknown engine {engine!r}; allowed: {list(ENGINES)}")
    elif not callable(engine):
        raise bad("engine", f"must be one of {list(ENGINES)} or a step function, got {engine!r}")
    if threads is not None:
        try:
            check_threads(threads)
        except ValueError as exc:
            raise bad("threads", str(exc)) from None
    if isinstance(agents, str):
        agents_ok = agents in ("auto", "all", "none")
    else:
        agents_ok = isinstance(agents, int | np.integer) and not isinstance(agents, bool)
        agents_ok = agents_ok and agents >= 0
    if not agents_ok:
        raise bad("agents", f"agents must be 'auto', 'all', 'none' or a count >= 0, got {agents!r}")
    if interventions is not None and not isinstance(interventions, list | tuple):
        raise bad("interventions", f"must be a list, got {type(interventions).__name__}")
    validate_interventions(sc, [*sc.interventions, *(interventions or [])], label=LABEL)
    n = professionals_at(sc, check_number(scale, LABEL, "scale"))
    if agents == "all":
        objects = n
    elif agents == "auto":
        objects = n if n <= AUTO_AGENT_LIMIT else 0
    elif agents == "none":
        objects = 0
    else:
        objects = int(agents)
    check_run_size(sc, scale, float(objects), force=bool(force), label=LABEL)
    return sc


LABEL = "AdoptionModel"


HEADLINE_KEYS = (
    "potential_all",
    "realised_all",
    "realised_medical",
    "realised_non_medical",
    "fte_freed_all",
    "learning_all",
    "net_realised_all",
    "multi_speed_gap",
    "downgrading_risk",
)
"""The DataCollector's month-level indicators, besides one ``adoption_<family>`` per family."""


def reporter_keys(families: tuple[str, ...]) -> tuple[str, ...]:
    """The DataCollector's model-level columns."""
    return (*HEADLINE_KEYS, *(f"adoption_{fam}" for fam in families))


def model_reporters(families: tuple[str, ...]) -> dict[str, Any]:
    """Model-level reporters for Mesa's DataCollector (plain functions the app reuses)."""
    return dict(TallyCollector(reporter_keys(families)).model_reporters)


__all__ = ["AdoptionModel", "model_reporters"]
