"""Portfolios of proposals: the search space, the budget they commit, and their robust value.

A *portfolio* is a set of proposals, each at an intensity and from a start month: a tuple of
:class:`Item`, sorted by proposal, written like a ``--policy`` (``'6@2027-01x1,12@2028-01x0.5'``,
:func:`policy_text`) and run as the intervention dicts of :func:`interventions`.

**Budget.** A portfolio commits its budget ceilings (:func:`committed`:
``PolicySchedule.budget_by_year``: each intervention's yearly ceiling, the catalogue's cost x
intensity, from its start). It is feasible (:meth:`Budget.violations`) if every year's committed
total is at most the yearly budget and, optionally, their sum to the horizon at most the
cumulative budget.

**Value.** :class:`Evaluator` runs a portfolio under ``K`` common assumption draws (a seeded
Latin hypercube over the candidates' effect priors, :func:`~adoption_abm.policies.priors.
draw_values`) x ``R`` replication seeds (:func:`~adoption_abm.batch.seeds.replication_seeds`),
every run paired with the baseline run of the same seed (the baseline does not depend on the
draws: it is run once per seed and reused). Per draw, the paired differences are averaged over
the replications; the objective per draw is then

* ``fte_freed``: FTE freed vs baseline at the end of the horizon year (maximised);
* ``multi_speed_gap``: the multi-speed gap minus baseline's, same date (minimised);
* ``cost_per_fte``: discounted committed cost to the horizon / FTE-years freed to the horizon,
  in euros per FTE-year (minimised; infinite when nothing is freed; :func:`cost_per_fte_year`),

and the robust value over draws is their mean (``robust='mean'``) or their ``NN`` % quantile on
the bad side (``'q10'``: the 10 % quantile of a maximised objective, the 90 % quantile of a
minimised one; :func:`robust_value`). Runs end at the horizon (the scenario is cut there), and
evaluations are cached by portfolio, so a portfolio is never run twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np

from ..batch.executors import Executor, make_executor
from ..batch.seeds import replication_seeds
from ..i18n import N_, _, about
from ..policies.catalogue import PROPOSALS, catalogue
from ..policies.priors import Prior, apply_draw, draw_values, priors
from ..policies.schedule import PolicySchedule
from ..scenario.calendar import year_end_month
from ..scenario.load import with_overrides
from ..scenario.schema import Scenario
from .runs import RunFailed, RunSpec, map_runs

OBJECTIVES: dict[str, str] = {
    "fte_freed": "maximize",
    "multi_speed_gap": "minimize",
    "cost_per_fte": "minimize",
}
"""The objectives and their Optuna direction."""
OBJECTIVE_LABELS: dict[str, str] = {
    "fte_freed": N_("FTE freed vs baseline at the horizon"),
    "multi_speed_gap": N_("multi-speed gap vs baseline at the horizon"),
    "cost_per_fte": N_("discounted cost per FTE-year freed (EUR)"),
}
"""The objectives' names for people, in English (``i18n._`` translates them where shown)."""
INTENSITIES: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
"""The intensities a proposal may take in the search (a categorical choice)."""
TOLERANCE = 1e-6
"""M€: committed totals within this of the budget are within it (monthly sums of yearly/12)."""


# ---------------------------------------------------------------------------------------------
# Portfolios
# ---------------------------------------------------------------------------------------------
class Item(NamedTuple):
    """One proposal of a portfolio."""

    proposal: int
    start: str  # 'YYYY-MM'
    intensity: float


Portfolio = tuple[Item, ...]


def portfolio(items: Iterable[Item | tuple[int, str, float]]) -> Portfolio:
    """A canonical portfolio: items sorted by proposal, each proposal at most once."""
    out = tuple(sorted(Item(int(p), str(s), float(x)) for p, s, x in items))
    seen = [it.proposal for it in out]
    if len(set(seen)) != len(seen):
        raise ValueError(f"a proposal appears twice in the portfolio {seen}")
    return out


def policy_text(pf: Portfolio) -> str:
    """The portfolio in ``--policy`` syntax (``'baseline'`` when empty); also its cache key."""
    if not pf:
        return "baseline"
    return ",".join(f"{it.proposal}@{it.start}x{it.intensity:g}" for it in pf)


def from_policy_text(text: str) -> Portfolio:
    """The inverse of :func:`policy_text`: ``'6@2027-01x1,7@2028-01x0.5'`` → a portfolio."""
    if text == "baseline":
        return ()
    out = []
    for part in text.split(","):
        head, _x, x = part.partition("x")
        n, _at, start = head.partition("@")
        out.append((int(n), start, float(x)))
    return portfolio(out)


def interventions(pf: Portfolio) -> list[dict[str, Any]]:
    """The portfolio as intervention dicts (``{"proposal", "start", "intensity"}``)."""
    return [{"proposal": it.proposal, "start": it.start, "intensity": it.intensity} for it in pf]


def start_month(scenario: Scenario, year: int) -> str:
    """The start of a proposal started in ``year``: the policy start in its own year, else
    January."""
    if year == int(scenario.policy_start[:4]):
        return scenario.policy_start
    return f"{year}-01"


def start_years(scenario: Scenario, horizon: int) -> list[int]:
    """The start years of the search: the policy start's year to ``horizon - 1``."""
    return list(range(int(scenario.policy_start[:4]), horizon))


def at_horizon(scenario: Scenario, horizon: int) -> Scenario:
    """``scenario`` cut at the end of ``horizon`` (runs stop there; nothing after it counts).
    Raises ValueError if the scenario ends before it or no start year is left before it."""
    if horizon > scenario.end_year:
        raise ValueError(
            _("horizon {horizon} is after the scenario's end_year {end}").format(
                horizon=horizon, end=scenario.end_year
            )
        )
    first = int(scenario.policy_start[:4])
    if horizon <= first:
        raise ValueError(
            _(
                "horizon {horizon} leaves no start year: proposals start from the policy start "
                "{start}, so the horizon must be {first} or later"
            ).format(horizon=horizon, start=scenario.policy_start, first=first + 1)
        )
    if horizon < scenario.end_year:
        scenario = with_overrides(scenario, {"end_year": horizon}, label="horizon")
    return scenario


# ---------------------------------------------------------------------------------------------
# Budget
# ---------------------------------------------------------------------------------------------
def committed(scenario: Scenario, ivs: Sequence[dict]) -> dict[int, float]:
    """The budget ceilings a portfolio commits, M€ by calendar year of the scenario (with the
    scenario's own interventions)."""
    return PolicySchedule(scenario, list(scenario.interventions) + list(ivs)).budget_by_year()


@dataclass(frozen=True)
class Budget:
    """A yearly budget (M€) and optionally a cumulative one over the horizon (M€)."""

    yearly: float
    cumulative: float | None = None

    def violations(self, by_year: dict[int, float]) -> dict[str, float]:
        """By how much each limit is exceeded (M€; zero or less: within it)."""
        out = {"yearly": max(by_year.values(), default=0.0) - self.yearly}
        if self.cumulative is not None:
            out["cumulative"] = sum(by_year.values()) - self.cumulative
        return out

    def feasible(self, by_year: dict[int, float]) -> bool:
        """Every limit is respected (within :data:`TOLERANCE`)."""
        return all(v <= TOLERANCE for v in self.violations(by_year).values())


def small_portfolios(
    scenario: Scenario, candidates: Sequence[int], budget: Budget
) -> list[Portfolio]:
    """Every single candidate and every pair of candidates within ``budget``, at intensity 1
    from the policy start: the optimiser's warm start."""
    out = []
    for size in (1, 2):
        for combo in combinations(sorted(candidates), size):
            pf = portfolio((n, scenario.policy_start, 1.0) for n in combo)
            if budget.feasible(committed(scenario, interventions(pf))):
                out.append(pf)
    return out


# ---------------------------------------------------------------------------------------------
# Costs and objectives
# ---------------------------------------------------------------------------------------------
def discounted_cost(scenario: Scenario, by_year: dict[int, float]) -> float:
    """Committed cost (the budget ceilings) to the scenario's end (M€), discounted at the
    catalogue's rate to its base year (default: the policy start's year). The budget is checked
    on what is committed; ``cost_per_fte`` prices what the runs' activity actually cost
    (:mod:`adoption_abm.analysis.costs`, discounted the same way)."""
    d = catalogue().discounting
    base = d.base_year if d.base_year is not None else int(scenario.policy_start[:4])
    return float(sum(v * (1.0 + d.rate) ** -(y - base) for y, v in by_year.items()))


def cost_per_fte_year(cost_meur: float, fte_years: float) -> float:
    """Euros per FTE-year freed: ``cost_meur`` (M€) / ``fte_years``; infinite when nothing
    (or less than nothing) is freed."""
    if fte_years <= 0.0:
        return math.inf
    return cost_meur * 1e6 / fte_years


_QUANTILE = re.compile(r"^q(\d{1,2})$")


def check_robust(robust: str) -> str:
    """``'mean'`` or ``'qNN'`` (NN from 1 to 99); raises ValueError saying what is allowed."""
    m = _QUANTILE.match(robust)
    if robust == "mean" or (m is not None and 1 <= int(m.group(1)) <= 99):
        return robust
    raise ValueError(
        about(repr(robust), _("allowed 'mean' or 'qNN' with NN from 1 to 99 (e.g. 'q10')"))
    )


def robust_value(values: Sequence[float], robust: str, direction: str) -> float:
    """The mean of ``values`` over the draws, or their ``NN`` % quantile on the bad side
    (``NN`` % for a maximised objective, ``100 - NN`` % for a minimised one)."""
    x = np.asarray(values, dtype=np.float64)
    if robust == "mean":
        v = float(x.mean())
    else:
        q = int(check_robust(robust)[1:]) / 100.0
        with np.errstate(invalid="ignore"):  # inf - inf between two infinite values
            v = float(np.quantile(x, q if direction == "maximize" else 1.0 - q))
    if math.isnan(v):  # an interpolation between two infinite values
        v = math.inf
    return v


# ---------------------------------------------------------------------------------------------
# Evaluations
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """A portfolio's outcomes under each assumption draw (means over replications)."""

    policy: str  # policy_text: the cache key
    committed: dict[int, float]  # M€ by year
    discounted_cost: float  # M€, the committed ceilings discounted
    fte_freed: tuple[float, ...]  # per draw
    multi_speed_gap: tuple[float, ...]  # per draw
    fte_years: tuple[float, ...]  # per draw
    runs: int  # model runs it took
    spent: tuple[float, ...] = ()  # per draw: activity-based spending to the horizon, discounted

    @property
    def cumulative(self) -> float:
        """Committed cost to the horizon (M€)."""
        return float(sum(self.committed.values()))

    def per_draw(self, objective: str) -> list[float]:
        """The objective under each draw."""
        if objective == "fte_freed":
            return list(self.fte_freed)
        if objective == "multi_speed_gap":
            return list(self.multi_speed_gap)
        if objective == "cost_per_fte":  # what the activity cost, discounted, per FTE-year
            spent = self.spent or (self.discounted_cost,) * len(self.fte_years)
            return [cost_per_fte_year(c, f) for c, f in zip(spent, self.fte_years, strict=True)]
        raise ValueError(f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")

    def value(self, objective: str, robust: str) -> float:
        """The robust objective over the draws."""
        return robust_value(self.per_draw(objective), robust, OBJECTIVES[objective])

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["committed"] = {str(y): v for y, v in self.committed.items()}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Evaluation:
        return cls(
            policy=d["policy"],
            committed={int(y): float(v) for y, v in d["committed"].items()},
            discounted_cost=float(d["discounted_cost"]),
            fte_freed=tuple(d["fte_freed"]),
            multi_speed_gap=tuple(d["multi_speed_gap"]),
            fte_years=tuple(d["fte_years"]),
            runs=int(d["runs"]),
            spent=tuple(d.get("spent", ())),
        )


def run_record(result: dict[str, Any], horizon: int, horizon_month: int) -> dict[str, Any]:
    """What the objectives need of one run: FTE freed and multi-speed gap at the horizon, and
    the monthly FTE freed to it."""
    y = result["years"][horizon]
    monthly = np.asarray(result["monthly"]["fte_freed_all"][: horizon_month + 1], dtype=float)
    costs = result.get("costs")
    spent = float((costs["spend"] * costs["discount"])[: horizon_month + 1].sum()) if costs else 0.0
    return {
        "fte": float(y["fte_freed_all"]),
        "gap": float(y["multi_speed_gap"]),
        "fte_monthly": monthly.tolist(),
        "spent": spent,
    }


class Evaluator:
    """Robust evaluations of portfolios on common draws and seeds (see the module docstring).

    Args:
        scenario: the scenario (cut at ``horizon``, :func:`at_horizon`).
        candidates: the proposals whose effect priors are drawn (others keep central values).
        horizon: the last year counted.
        draws, replications, seed: ``draws`` Latin-hypercube draws of the candidates' priors
            seeded with ``seed``; replication ``r`` seeded ``child_seed(seed, r)``.
        scale, rhythm, engine: as for :class:`~adoption_abm.model.AdoptionModel`.
        executor: where runs go (left open); else one made from ``workers``, ``scheduler``,
            ``dask_local`` (:func:`~adoption_abm.batch.executors.make_executor`), closed by
            :meth:`close`. Results do not depend on it.
        baseline: baseline run records by seed (from a previous session), reused.
        cache: evaluations by policy text (from a previous session), reused.
        on_evaluation: called with each new evaluation (to store it).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        candidates: Sequence[int],
        horizon: int,
        draws: int = 4,
        replications: int = 2,
        seed: int = 1,
        scale: float = 0.005,
        rhythm: str = "central",
        engine: str = "cython",
        executor: Executor | None = None,
        workers: int | None = 1,
        scheduler: str | None = None,
        dask_local: bool = False,
        baseline: dict[int, dict[str, Any]] | None = None,
        cache: dict[str, Evaluation] | None = None,
        on_evaluation: Callable[[Evaluation], None] | None = None,
    ):
        if draws < 1:
            raise ValueError(f"draws must be at least 1, got {draws}")
        if replications < 1:
            raise ValueError(f"replications must be at least 1, got {replications}")
        bad = [n for n in candidates if n not in PROPOSALS]
        if bad or not candidates:
            raise ValueError(f"candidates {bad or '(none)'}: allowed proposals 1-20")
        self.scenario = at_horizon(scenario, horizon)
        from ..model.build import check_scale

        check_scale(self.scenario, scale)
        self.horizon = horizon
        self.horizon_month = year_end_month(self.scenario.start_year, horizon)
        self.candidates = tuple(sorted(set(candidates)))
        self.priors: list[Prior] = priors(self.candidates)
        self.draws = draw_values(self.priors, draws, seed) if self.priors else np.zeros((draws, 0))
        self.seeds = replication_seeds(seed, replications)
        self.scale, self.rhythm, self.engine = float(scale), rhythm, engine
        self._own = executor is None
        self._executor = executor
        self._ex_args = {"workers": workers, "scheduler": scheduler, "dask_local": dask_local}
        self.baseline: dict[int, dict[str, Any]] = dict(baseline or {})
        self.cache: dict[str, Evaluation] = dict(cache or {})
        self.on_evaluation = on_evaluation
        self.runs = 0  # model runs made by this evaluator

    # running -----------------------------------------------------------------------------
    @property
    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = make_executor(**self._ex_args)
        return self._executor

    def close(self) -> None:
        """Stop the executor's workers if this evaluator started them."""
        if self._own and self._executor is not None:
            self._executor.close()
            self._executor = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _run(self, label: str, specs: list[RunSpec]) -> dict[tuple[int, int], dict[str, Any]]:
        out: dict[tuple[int, int], dict[str, Any]] = {}
        with closing(map_runs(self.executor, specs)) as finished:
            for spec, res in finished:
                if "error" in res:
                    raise RunFailed(
                        label, spec.replication, spec.seed, res["error"]
                    ) from RuntimeError(res["traceback"])
                out[(spec.policy, spec.replication)] = run_record(
                    res, self.horizon, self.horizon_month
                )
        self.runs += len(specs)
        return out

    def _spec(self, k: int, r: int, ivs: Sequence[dict]) -> RunSpec:
        return RunSpec(
            self.scenario,
            k,
            r,
            self.seeds[r],
            tuple(ivs),
            self.rhythm,
            self.scale,
            self.engine,
            (self.horizon,),
        )

    def baseline_records(self) -> list[dict[str, Any]]:
        """The baseline run of each replication seed (run once, then reused)."""
        missing = [r for r, s in enumerate(self.seeds) if s not in self.baseline]
        if missing:
            got = self._run("baseline", [self._spec(0, r, []) for r in missing])
            for r in missing:
                self.baseline[self.seeds[r]] = got[(0, r)]
        return [self.baseline[s] for s in self.seeds]

    # evaluating --------------------------------------------------------------------------
    def evaluate(self, pf: Portfolio) -> Evaluation:
        """``pf``'s outcomes under every draw (cached by portfolio). The empty portfolio is the
        baseline: zero differences, no run."""
        key = policy_text(pf)
        if key in self.cache:
            return self.cache[key]
        ivs = interventions(pf)
        by_year = committed(self.scenario, ivs)
        k_draws, n_rep = len(self.draws), len(self.seeds)
        if not pf:
            zeros = tuple([0.0] * k_draws)
            ev = Evaluation(key, by_year, 0.0, zeros, zeros, zeros, 0, zeros)
        else:
            base = self.baseline_records()
            specs = [
                self._spec(k, r, apply_draw(ivs, self.priors, self.draws[k]))
                for k in range(k_draws)
                for r in range(n_rep)
            ]
            got = self._run(key, specs)
            paired = [
                [paired_difference(got[(k, r)], base[r]) for r in range(n_rep)]
                for k in range(k_draws)
            ]  # (draws, replications) of (fte, gap, fte-years)
            fte, gap, years = (
                [float(np.mean([d[i] for d in draw])) for draw in paired] for i in range(3)
            )
            ev = Evaluation(
                key,
                by_year,
                discounted_cost(self.scenario, by_year),
                tuple(fte),
                tuple(gap),
                tuple(years),
                len(specs),
                tuple(
                    float(np.mean([got[(k, r)]["spent"] for r in range(n_rep)]))
                    for k in range(k_draws)
                ),
            )
        self.cache[key] = ev
        if self.on_evaluation is not None:
            self.on_evaluation(ev)
        return ev


def paired_difference(run: dict[str, Any], base: dict[str, Any]) -> tuple[float, float, float]:
    """One run minus the baseline run of its seed: FTE freed and multi-speed gap at the
    horizon, FTE-years freed to it."""
    return (
        run["fte"] - base["fte"],
        run["gap"] - base["gap"],
        fte_years(run["fte_monthly"], base["fte_monthly"]),
    )


def fte_years(policy_monthly: Sequence[float], baseline_monthly: Sequence[float]) -> float:
    """FTE-years freed vs baseline: the monthly differences (months 1 .. horizon) / 12."""
    d = np.asarray(policy_monthly[1:], dtype=float) - np.asarray(baseline_monthly[1:], dtype=float)
    return float(d.sum() / 12.0)
