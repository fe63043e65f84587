"""One run of a comparison, and the runs of one seed sharing their months before the policies.

:class:`RunSpec` is a run (policy, assumption draw, replication, seed, interventions);
:func:`run_one` computes it; :func:`map_runs` hands specs to an executor, grouped by seed: a
group simulates the months before its earliest policy start once (the baseline's, identical in
every policy of that seed, see :meth:`AdoptionModel.fork <adoption_abm.model.AdoptionModel.fork>`)
and continues each run from a copy, with results bit-identical to independent runs.
"""

from __future__ import annotations

import math
import traceback
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..batch.executors import Executor
from ..i18n import N_
from ..model.prefix import PREFIXES
from ..model.prefix import shared_months as months_in_common
from ..outputs.indicators import fte_reinvested, pooled_effectiveness
from ..outputs.roles import role_demand
from ..scenario.calendar import REPORT_YEARS, year_end_month
from ..scenario.schema import Scenario
from .costs import run_costs

METRIC_LABELS: dict[str, str] = {
    "realised_all": N_("realised gain, all professions"),
    "realised_medical": N_("realised gain, medical"),
    "realised_non_medical": N_("realised gain, non-medical"),
    "fte_freed_all": N_("FTE freed (whole workforce)"),
    "fte_reinvested_all": N_("FTE reinvested in care"),
    "multi_speed_gap": N_("multi-speed gap"),
    "gap_profession": N_("gap between professions"),
    "gap_age": N_("gap between age bands"),
    "gap_establishment": N_("gap between establishment types"),
    "downgrading_risk": N_("downgrading risk"),
    "effectiveness_young": N_("realised/potential, under the first age edge"),
    "effectiveness_old": N_("realised/potential, aged 50 and over"),
    "roles_fte": N_("emerging roles demand (FTE)"),
}
"""Per-run outputs recorded for each year (see :func:`year_metrics`)."""

MONTHLY = (
    "realised_all",
    "fte_freed_all",
    "fte_reinvested_all",
    "multi_speed_gap",
    "downgrading_risk",
    "roles_fte",
)
"""Outputs recorded every month (for the plots)."""


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------
def monthly_metrics(model: Any) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRIC_LABELS` for every month simulated so far (arrays)."""
    out = model.outputs()
    cols = out.indicator_columns()  # what model.indicators() frames, without the frame
    sc = model.inputs
    edges = list(sc.indicators.age_bands)
    old = [b for b in range(len(edges) + 1) if b > 0 and edges[b - 1] >= 50]
    roles = role_demand(out, sc)
    share = model.policy.reinvestment(model.n_months)
    res = {k: np.asarray(cols[k], dtype=np.float64) for k in METRIC_LABELS if k in cols}
    res["fte_reinvested_all"] = fte_reinvested(out, share)["all"]
    res["effectiveness_young"] = pooled_effectiveness(out, "age", [0])
    res["effectiveness_old"] = (
        pooled_effectiveness(out, "age", old) if old else np.full(len(out.cube), np.nan)
    )
    res["roles_fte"] = np.sum(list(roles.values()), axis=0) if roles else np.zeros(len(out.cube))
    for rid, v in roles.items():
        res[f"role_{rid}"] = v
    return res


def year_metrics(
    model: Any, years: Sequence[int] = REPORT_YEARS, series: dict[str, np.ndarray] | None = None
) -> dict[int, dict[str, float]]:
    """Metrics at the end of December of each of ``years`` that the model has simulated
    (``series``: the model's :func:`monthly_metrics`, if already computed)."""
    series = monthly_metrics(model) if series is None else series
    sc = model.inputs
    out: dict[int, dict[str, float]] = {}
    for y in years:
        m = year_end_month(sc.start_year, y)
        if 0 < m <= model.month:
            out[y] = {k: float(v[m]) for k, v in series.items()}
    return out


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison (picklable: the task sent to an executor's workers)."""

    scenario: Scenario
    policy: int  # index in the comparison's policies
    replication: int
    seed: int
    interventions: tuple[dict, ...]
    rhythm: str
    scale: float
    engine: str
    years: tuple[int, ...]
    draw: int = -1  # assumption draw (-1: the catalogue's central values)


def run_one(spec: RunSpec, start: Any = None) -> dict[str, Any]:
    """Run one (policy, seed) to the scenario's end; return its yearly and monthly metrics.

    ``start``: a model of the same scenario, settings and seed, run without policy up to a
    month before any of ``spec``'s interventions is in force; the run continues from a copy of
    it (:meth:`AdoptionModel.fork <adoption_abm.model.AdoptionModel.fork>`), with the same
    results as from scratch.
    """
    model = build(spec, spec.interventions) if start is None else start.fork(spec.interventions)
    model.run()
    series = monthly_metrics(model)
    return {
        "policy": spec.policy,
        "draw": spec.draw,
        "replication": spec.replication,
        "years": year_metrics(model, spec.years, series),
        "monthly": {k: series[k] for k in MONTHLY},
        "costs": run_costs(model),
    }


def build(spec: RunSpec, interventions: Sequence[dict] = ()) -> Any:
    """The model of ``spec``'s scenario, settings and seed under ``interventions``."""
    from ..model.model import AdoptionModel

    return AdoptionModel(
        spec.scenario,
        rhythm=spec.rhythm,
        scale=spec.scale,
        engine=spec.engine,  # type: ignore[arg-type]
        agents="none",
        interventions=list(interventions),
        seed=spec.seed,
    )


class RunFailed(RuntimeError):
    """A run of a comparison raised; names its policy, assumption draw (if any), replication
    and seed. Its ``__cause__`` carries the run's traceback (from whichever worker ran it)."""

    def __init__(self, policy: str, replication: int, seed: int, error: str, draw: int = -1):
        self.policy, self.replication, self.seed, self.error = policy, replication, seed, error
        self.draw = draw
        where = f"draw {draw}, " if draw >= 0 else ""
        super().__init__(
            f"policy {policy!r}, {where}replication {replication} (seed {seed}) failed: {error}"
        )

    def __reduce__(self):
        return type(self), (self.policy, self.replication, self.seed, self.error, self.draw)


class _RemoteTraceback(Exception):
    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def run_task(spec: RunSpec, start: Any = None) -> dict[str, Any]:
    """:func:`run_one` as an executor task: an exception comes back as an ``error`` record
    (message and traceback), so the driver can name the run that failed."""
    try:
        return run_one(spec, start)
    except Exception as exc:
        return {
            "policy": spec.policy,
            "draw": spec.draw,
            "replication": spec.replication,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }


# ---------------------------------------------------------------------------------------------
# Runs of one seed: the months before the policies once
# ---------------------------------------------------------------------------------------------
def shared_months(specs: Sequence[RunSpec]) -> int:
    """Months the runs of ``specs`` (one scenario, settings and seed) have in common
    (:func:`adoption_abm.model.prefix.shared_months`)."""
    return months_in_common(specs[0].scenario, [s.interventions for s in specs]) if specs else 0


def run_group(specs: tuple[RunSpec, ...]) -> list[dict[str, Any]]:
    """Every run of ``specs`` (same scenario, settings and seed; see :func:`group_specs`), the
    months they share simulated once (or taken from this process's cache); each result as
    :func:`run_task` gives it. If the shared months cannot be simulated (a bad seed, say), each
    run is tried alone, so each error names its own run."""
    months = shared_months(specs)
    start = None
    if months > 0:
        s = specs[0]
        try:
            start = PREFIXES.get(
                s.scenario, s.seed, months, rhythm=s.rhythm, scale=s.scale, engine=s.engine
            )
        except Exception:
            start = None
    return [run_task(spec, start) for spec in specs]


def group_key(spec: RunSpec) -> tuple:
    """Runs with equal keys can share their months before the policies."""
    return (id(spec.scenario), spec.seed, spec.rhythm, spec.scale, spec.engine, spec.years)


def group_specs(specs: Sequence[RunSpec], tasks: int = 1) -> list[tuple[RunSpec, ...]]:
    """``specs`` grouped by seed (and settings), each seed's runs split into about
    ``ceil(tasks / seeds)`` groups of consecutive runs, so that there are at least ``tasks``
    groups when there are enough runs (work for every worker) and the groups stay as large as
    that allows (the shared months are simulated once per group)."""
    by_key: dict[tuple, list[RunSpec]] = defaultdict(list)
    for spec in specs:
        by_key[group_key(spec)].append(spec)
    parts = max(1, math.ceil(tasks / max(len(by_key), 1)))
    groups: list[tuple[RunSpec, ...]] = []
    for runs in by_key.values():
        size = math.ceil(len(runs) / min(parts, len(runs)))
        groups.extend(tuple(runs[i : i + size]) for i in range(0, len(runs), size))
    return groups


TASKS_PER_WORKER = 4
"""Groups per worker (:func:`map_runs`): enough to balance the workers' load."""


def map_runs(
    ex: Executor, specs: Sequence[RunSpec], *, fork: bool = True
) -> Iterator[tuple[RunSpec, dict[str, Any]]]:
    """Every run of ``specs`` on ``ex``, as (spec, :func:`run_task` result) in the order they
    finish. With ``fork`` (default) the runs of a seed go in groups that share their months
    before the policies (:func:`run_group`); without it, one run per task, each from scratch.
    Results are the same either way, bit for bit."""
    if not fork:
        with closing(ex.map_unordered(run_task, list(specs))) as finished:
            yield from finished
        return
    workers = max(1, int(getattr(ex, "workers", 1) or 1))
    groups = group_specs(specs, 1 if workers == 1 else TASKS_PER_WORKER * workers)
    with closing(ex.map_unordered(run_group, groups)) as finished:
        for group, results in finished:
            yield from zip(group, results, strict=True)
