"""A budget-constrained, robust portfolio optimiser (Optuna, seeded TPE, resumable on SQLite).

:func:`optimise` searches which candidate proposals to switch on, at which intensity
(:data:`~adoption_abm.analysis.portfolio.INTENSITIES`) and from which start year (the policy
start's year to ``horizon - 1``), for the best robust objective of
:class:`~adoption_abm.analysis.portfolio.Evaluator` within a :class:`~adoption_abm.analysis.
portfolio.Budget`.

* **Budget as Optuna constraints.** Each trial records its overspend (``yearly`` and, with a
  cumulative budget, ``cumulative``; M€) with ``Trial.set_constraint``; an infeasible trial is
  not run (no model run, its value is the worst possible), and the constrained TPE ranks it
  after every feasible one, by its overspend, so the sampler learns where the budget binds.
* **Warm start.** Before the sampler's own trials, the study is given the empty portfolio (the
  baseline) and every single candidate and every pair of candidates within the budget (at
  intensity 1, from the policy start; :func:`~adoption_abm.analysis.portfolio.
  small_portfolios`). So the best portfolio returned is never worse than the best single
  proposal or pair within the budget, on the same draws and seeds.
* **Resumable.** The study lives in ``OUT/study.db`` (``optuna.storages.RDBStorage``,
  ``load_if_exists``) with its settings as a user attribute: re-running the same command
  resumes it (trials interrupted while running are marked failed and redone), a command with
  other settings is refused (:class:`StudyMismatch`). ``trials`` is the number of sampler
  trials the study should have after the warm start: re-running with a larger number extends
  it. Every evaluation (and the baseline runs) is stored in the study too, so a portfolio is
  run once, whichever session asks for it again.
* **Seeded.** The TPE sampler, the assumption draws and the replication seeds all derive from
  ``seed``; same seed and settings, same trials and same best portfolio, whatever the executor.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..batch.store import BatchLocked
from ..i18n import _, about
from ..outputs.atomic import OutPathError, reason
from ..policies.catalogue import PROPOSALS
from ..scenario.schema import Scenario
from .portfolio import (
    INTENSITIES,
    OBJECTIVES,
    TOLERANCE,
    Budget,
    Evaluation,
    Evaluator,
    Portfolio,
    at_horizon,
    check_robust,
    committed,
    from_policy_text,
    interventions,
    policy_text,
    portfolio,
    small_portfolios,
    start_month,
    start_years,
)

STUDY_FILE = "study.db"
STUDY_NAME = "portfolio"
TOP = 5
"""Best portfolios listed in the result and the report."""


class StudyMismatch(ValueError):
    """The output folder holds a study made with other settings."""


# ---------------------------------------------------------------------------------------------
# Settings and the search space
# ---------------------------------------------------------------------------------------------
def scenario_digest(scenario: Scenario) -> str:
    """A short hash of the scenario (with its overrides), to recognise a study's scenario."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:16]


def settings_of(
    scenario: Scenario,
    *,
    budget: Budget,
    horizon: int,
    objective: str,
    robust: str,
    draws: int,
    replications: int,
    candidates: Sequence[int],
    scale: float,
    seed: int,
    rhythm: str,
    engine: str,
) -> dict[str, Any]:
    """What a study's results depend on (stored with it; a resumed study must match)."""
    return {
        "scenario": scenario.name,
        "scenario_digest": scenario_digest(scenario),
        "budget": budget.yearly,
        "cumulative_budget": budget.cumulative,
        "horizon": horizon,
        "objective": objective,
        "robust": robust,
        "draws": draws,
        "replications": replications,
        "proposals": list(candidates),
        "scale": scale,
        "seed": seed,
        "rhythm": rhythm,
        "engine": engine,
        "intensities": list(INTENSITIES),
    }


def suggest(trial: Any, scenario: Scenario, candidates: Sequence[int], horizon: int) -> Portfolio:
    """A portfolio from an Optuna trial: per candidate ``pN`` (in or out) and, if in,
    ``pN_x`` (intensity, categorical) and ``pN_start`` (start year)."""
    years = start_years(scenario, horizon)
    items = []
    for n in candidates:
        if trial.suggest_categorical(f"p{n}", [False, True]):
            x = trial.suggest_categorical(f"p{n}_x", list(INTENSITIES))
            y = trial.suggest_int(f"p{n}_start", years[0], years[-1])
            items.append((n, start_month(scenario, y), float(x)))
    return portfolio(items)


def trial_params(pf: Portfolio, candidates: Sequence[int]) -> dict[str, Any]:
    """The Optuna parameters of a portfolio (to enqueue it)."""
    chosen = {it.proposal: it for it in pf}
    params: dict[str, Any] = {}
    for n in candidates:
        params[f"p{n}"] = n in chosen
        if n in chosen:
            params[f"p{n}_x"] = chosen[n].intensity
            params[f"p{n}_start"] = int(chosen[n].start[:4])
    return params


def sort_key(ev: Evaluation, objective: str, robust: str) -> tuple[float, float, str]:
    """Best first: the robust objective, then the lower committed cost, then the text."""
    v = ev.value(objective, robust)
    return (-v if OBJECTIVES[objective] == "maximize" else v, ev.cumulative, ev.policy)


def non_dominated(costs: Sequence[float], values: Sequence[float], direction: str) -> list[bool]:
    """Which points no other point beats on both cost (lower) and value (in ``direction``)."""
    sign = 1.0 if direction == "maximize" else -1.0
    out = []
    for i, (c, v) in enumerate(zip(costs, values, strict=True)):
        dominated = any(
            c2 <= c and sign * v2 >= sign * v and (c2 < c or sign * v2 > sign * v)
            for j, (c2, v2) in enumerate(zip(costs, values, strict=True))
            if j != i
        )
        out.append(not dominated)
    return out


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------
@dataclass
class OptimiseResult:
    """What :func:`optimise` found, and how.

    * ``best``: the best feasible portfolio's evaluation; ``top``: the best :data:`TOP`.
    * ``trials``: one row per trial (Polars; see :func:`trials_frame`).
    * ``marginals``: for each proposal of the best portfolio, the objective with it minus
      without it (both evaluated).
    * ``runs``: model runs made in this session (``runs_per_portfolio`` for each new portfolio,
      plus the baseline's ``replications`` once per study).
    """

    settings: dict[str, Any]
    budget: Budget
    best: Evaluation | None
    top: list[Evaluation]
    trials: pl.DataFrame
    marginals: list[dict[str, Any]]
    evaluations: dict[str, Evaluation]
    warm_start: int
    runs: int
    runs_per_portfolio: int
    trials_this_session: int
    seconds: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def objective(self) -> str:
        return self.settings["objective"]

    @property
    def robust(self) -> str:
        return self.settings["robust"]

    def value(self, ev: Evaluation) -> float:
        """An evaluation's robust objective under this study's settings."""
        return ev.value(self.objective, self.robust)


def trials_frame(study: Any, evaluations: dict[str, Evaluation], objective: str, robust: str):
    """One row per trial: number, state, origin (warm start or sampler), portfolio, committed
    cost (largest year, cumulative, discounted), overspend, robust value and the mean, lowest
    and highest over draws (null for infeasible or unfinished trials), the three objectives'
    means over draws, whether it is on the cost-effect Pareto front."""
    import numpy as np
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False):
        key = t.user_attrs.get("policy")
        ev = evaluations.get(key) if key is not None else None
        feasible = bool(t.user_attrs.get("feasible", False))
        state = t.state.name.lower()
        if t.state == TrialState.COMPLETE and not feasible:
            state = "infeasible"
        row: dict[str, Any] = {
            "trial": t.number,
            "state": state,
            "origin": t.user_attrs.get("origin", "sampler"),
            "policy": key,
            "n_proposals": 0 if key in (None, "baseline") else key.count(",") + 1,
            "committed_max_year_meur": t.user_attrs.get("committed_max_year"),
            "committed_cumulative_meur": t.user_attrs.get("committed_cumulative"),
            "overspend_meur": t.user_attrs.get("overspend"),
            "runs": t.user_attrs.get("runs", 0),
            "cached": t.user_attrs.get("cached"),
            "discounted_cost_meur": None,
            "value": None,
            "mean": None,
            "low": None,
            "high": None,
            "fte_freed": None,
            "multi_speed_gap": None,
            "cost_per_fte": None,
        }
        if ev is not None and feasible and t.state == TrialState.COMPLETE:
            per = ev.per_draw(objective)
            row.update(
                discounted_cost_meur=ev.discounted_cost,
                value=_finite(ev.value(objective, robust)),
                mean=_finite(float(np.mean(per))),
                low=_finite(min(per)),
                high=_finite(max(per)),
                fte_freed=float(np.mean(ev.per_draw("fte_freed"))),
                multi_speed_gap=float(np.mean(ev.per_draw("multi_speed_gap"))),
                cost_per_fte=_finite(ev.value("cost_per_fte", "mean")),
            )
        rows.append(row)
    schema = {
        "trial": pl.Int64,
        "state": pl.String,
        "origin": pl.String,
        "policy": pl.String,
        "n_proposals": pl.Int64,
        "committed_max_year_meur": pl.Float64,
        "committed_cumulative_meur": pl.Float64,
        "overspend_meur": pl.Float64,
        "runs": pl.Int64,
        "cached": pl.Boolean,
        "discounted_cost_meur": pl.Float64,
        "value": pl.Float64,
        "mean": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
        "fte_freed": pl.Float64,
        "multi_speed_gap": pl.Float64,
        "cost_per_fte": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema)
    ok = frame.filter(pl.col("value").is_not_null())
    front = non_dominated(
        ok["committed_cumulative_meur"].to_list(), ok["value"].to_list(), OBJECTIVES[objective]
    )
    on_front = {t for t, f in zip(ok["trial"].to_list(), front, strict=True) if f}
    return frame.with_columns(pl.col("trial").is_in(list(on_front)).alias("pareto"))


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _folder_lock(out: Path):
    """An exclusive lock on ``OUT/.lock`` (released when the process ends, even by kill -9)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fh = open(out / ".lock", "a+")
    except OSError as exc:
        raise OutPathError(
            out, _("cannot write there: {reason}").format(reason=reason(exc))
        ) from None
    try:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            pass
        except OSError:
            raise BatchLocked(
                about(str(out), _("another optimise is writing to this folder"))
            ) from None
        yield
    finally:
        fh.close()


def _check_settings(study: Any, settings: dict[str, Any], out: Path) -> None:
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", settings)
        return
    diff = [
        _("{setting} {there!r} there, {now!r} now").format(setting=k, there=stored.get(k), now=v)
        for k, v in settings.items()
        if stored.get(k) != v
    ]
    if diff:
        raise StudyMismatch(
            about(
                f"--out {out}",
                _(
                    "holds a study made with other settings ({differences}); re-run with its "
                    "settings to resume it, or choose another --out"
                ).format(differences="; ".join(diff)),
            )
        )


def _open_study(out: Path, direction: str, seed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{out / STUDY_FILE}")
    sampler = optuna.samplers.TPESampler(seed=seed)
    names = optuna.get_all_study_names(storage)
    if STUDY_NAME in names:
        study = optuna.load_study(study_name=STUDY_NAME, storage=storage, sampler=sampler)
        if study.direction.name.lower() != direction:
            raise StudyMismatch(
                about(
                    f"--out {out}",
                    _(
                        "holds a study that is to {stored}, not {direction}; choose another --out"
                    ).format(stored=_(study.direction.name.lower()), direction=_(direction)),
                )
            )
        return study, storage
    study = optuna.create_study(
        study_name=STUDY_NAME,
        storage=storage,
        direction=direction,
        sampler=sampler,
        load_if_exists=True,
    )
    return study, storage


def _mark_interrupted(study: Any, storage: Any) -> int:
    """Trials left running by a killed session (we hold the folder) → failed (redone)."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=[TrialState.RUNNING])
    for t in stale:
        storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
    return len(stale)


def _enqueue_warm(study: Any, warm: list[Portfolio], candidates: Sequence[int]) -> None:
    """Enqueue the warm-start portfolios not yet done or waiting."""
    from optuna.trial import TrialState

    have = {
        t.user_attrs.get("policy")
        for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
        if t.user_attrs.get("origin") == "warm"
    }
    waiting = {
        t.user_attrs.get("warm_policy")
        for t in study.get_trials(deepcopy=False, states=[TrialState.WAITING])
    }
    for pf in warm:
        key = policy_text(pf)
        if key not in have and key not in waiting:
            study.enqueue_trial(
                trial_params(pf, candidates), user_attrs={"origin": "warm", "warm_policy": key}
            )


def optimise(
    scenario: Scenario,
    *,
    out: str | Path,
    budget: float,
    horizon: int,
    objective: str = "fte_freed",
    cumulative_budget: float | None = None,
    robust: str = "mean",
    draws: int = 4,
    replications: int = 2,
    trials: int = 30,
    proposals: Sequence[int] | None = None,
    scale: float = 0.005,
    seed: int = 1,
    rhythm: str = "central",
    engine: str = "cython",
    workers: int | None = 1,
    scheduler: str | None = None,
    dask_local: bool = False,
    progress: bool = False,
) -> OptimiseResult:
    """Search the best portfolio within ``budget`` (see the module docstring).

    Args:
        scenario: the scenario (cut at ``horizon``).
        out: folder of the study (``study.db``); created if needed, resumed if it holds one.
        budget: yearly budget, M€ (every year's committed ceilings at most this).
        horizon: last year counted (objective at its end; costs and FTE-years to it).
        objective: ``fte_freed`` (max), ``multi_speed_gap`` (min) or ``cost_per_fte`` (min).
        cumulative_budget: optional budget over the horizon, M€.
        robust: ``'mean'`` over the draws or ``'qNN'``, the NN % quantile on the bad side.
        draws, replications: assumption draws x replication seeds per portfolio.
        trials: sampler trials the study should have after the warm start.
        proposals: candidate proposals (default: all twenty).
        scale, seed, rhythm, engine: as for :class:`~adoption_abm.model.AdoptionModel`; ``seed``
            also seeds the sampler and the draws.
        workers, scheduler, dask_local: where the runs go (see
            :func:`~adoption_abm.batch.executors.make_executor`); results do not depend on it.
        progress: Optuna's progress bar over the trials of this session.

    Raises ValueError (naming the argument) on bad input, :class:`StudyMismatch` if ``out``
    holds a study with other settings, BatchLocked if another process writes ``out``.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r}: allowed {', '.join(OBJECTIVES)}")
    check_robust(robust)
    if not budget > 0 or not math.isfinite(budget):
        raise ValueError(f"budget {budget}: must be a positive number of M€ a year")
    if cumulative_budget is not None and not cumulative_budget > 0:
        raise ValueError(f"cumulative budget {cumulative_budget}: must be a positive number")
    if trials < 0:
        raise ValueError(f"trials {trials}: must be 0 or more")
    candidates = tuple(sorted(set(proposals if proposals is not None else PROPOSALS)))
    sc = at_horizon(scenario, horizon)
    limits = Budget(float(budget), None if cumulative_budget is None else float(cumulative_budget))
    settings = settings_of(
        scenario,
        budget=limits,
        horizon=horizon,
        objective=objective,
        robust=robust,
        draws=draws,
        replications=replications,
        candidates=candidates,
        scale=float(scale),
        seed=int(seed),
        rhythm=rhythm,
        engine=engine,
    )
    direction = OBJECTIVES[objective]
    worst = -math.inf if direction == "maximize" else math.inf
    out = Path(out)
    t0 = time.perf_counter()
    with _folder_lock(out):
        study, storage = _open_study(out, direction, int(seed))
        _check_settings(study, settings, out)
        _mark_interrupted(study, storage)
        attrs = study.user_attrs
        cache = {k[5:]: Evaluation.from_json(v) for k, v in attrs.items() if k.startswith("eval:")}
        baseline = {int(s): rec for s, rec in attrs.get("baseline", {}).items()}
        warm = [(), *small_portfolios(sc, candidates, limits)]

        def store(ev: Evaluation) -> None:
            study.set_user_attr(f"eval:{ev.policy}", ev.to_json())

        with Evaluator(
            sc,
            candidates=candidates,
            horizon=horizon,
            draws=draws,
            replications=replications,
            seed=int(seed),
            scale=scale,
            rhythm=rhythm,
            engine=engine,
            workers=workers,
            scheduler=scheduler,
            dask_local=dask_local,
            baseline=baseline,
            cache=cache,
            on_evaluation=store,
        ) as ev:

            def objective_fn(trial: Any) -> float:
                pf = suggest(trial, sc, candidates, horizon)
                by_year = committed(sc, interventions(pf))
                over = limits.violations(by_year)
                for name, v in over.items():
                    trial.set_constraint(name, v - TOLERANCE)
                feasible = limits.feasible(by_year)
                key = policy_text(pf)
                trial.set_user_attr("policy", key)
                trial.set_user_attr("origin", trial.user_attrs.get("origin", "sampler"))
                trial.set_user_attr("feasible", feasible)
                trial.set_user_attr("committed_max_year", max(by_year.values()))
                trial.set_user_attr("committed_cumulative", sum(by_year.values()))
                trial.set_user_attr("overspend", max(0.0, *over.values()))
                if not feasible:  # not run: the constrained sampler ranks it by its overspend
                    trial.set_user_attr("runs", 0)
                    return worst
                cached = key in ev.cache
                before = ev.runs
                result = ev.evaluate(pf)
                if ev.runs > before and len(ev.baseline) != len(baseline):
                    baseline.update(ev.baseline)
                    study.set_user_attr("baseline", {str(s): r for s, r in ev.baseline.items()})
                trial.set_user_attr("cached", cached)
                trial.set_user_attr("runs", ev.runs - before)
                return result.value(objective, robust)

            _enqueue_warm(study, warm, candidates)
            from optuna.trial import TrialState

            done = study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
            sampled = sum(1 for t in done if t.user_attrs.get("origin") != "warm")
            waiting = len(study.get_trials(deepcopy=False, states=[TrialState.WAITING]))
            n_trials = waiting + max(0, trials - sampled)
            if n_trials:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)  # experimental notes
                    study.optimize(objective_fn, n_trials=n_trials, show_progress_bar=progress)

            evaluations = dict(ev.cache)
            feasible_keys = {
                t.user_attrs["policy"]
                for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
                if t.user_attrs.get("feasible")
            }
            ranked = sorted(
                (evaluations[k] for k in feasible_keys),
                key=lambda e: sort_key(e, objective, robust),
            )
            best = ranked[0] if ranked else None
            marginals = _marginals(ev, best, objective, robust) if best is not None else []
            evaluations = dict(ev.cache)
            runs = ev.runs
        frame = trials_frame(study, evaluations, objective, robust)
    return OptimiseResult(
        settings=settings,
        budget=limits,
        best=best,
        top=ranked[:TOP],
        trials=frame,
        marginals=marginals,
        evaluations=evaluations,
        warm_start=len(warm),
        runs=runs,
        runs_per_portfolio=draws * replications,
        trials_this_session=n_trials,
        seconds=time.perf_counter() - t0,
        meta={"seeds": ev.seeds, "priors": [p.name for p in ev.priors]},
    )


def _marginals(
    ev: Evaluator, best: Evaluation, objective: str, robust: str
) -> list[dict[str, Any]]:
    """For each proposal of ``best``: the objective with it minus without it (the rest of the
    portfolio unchanged, evaluated on the same draws and seeds)."""
    items = from_policy_text(best.policy)
    with_value = best.value(objective, robust)
    rows = []
    for it in items:
        rest = ev.evaluate(portfolio(i for i in items if i != it))
        without = rest.value(objective, robust)
        rows.append(
            {
                "proposal": it.proposal,
                "start": it.start,
                "intensity": it.intensity,
                "without": rest.policy,
                "value_without": without,
                "marginal": with_value - without,
                "cost_saved_meur": best.cumulative - rest.cumulative,
            }
        )
    return rows
