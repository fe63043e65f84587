"""Run an experiment: plan the runs, skip the finished ones, group the rest into chunks, hand
the chunks to an executor, write each finished chunk atomically, keep the index up to date.

Chunks group small runs into one task so the executor's per-task cost (a Dask task costs a few
milliseconds of scheduling and transfer) stays a small share of the work; ``chunk_size = "auto"``
aims at about one second of work per task (:func:`auto_chunk_size`).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..outputs.atomic import OutPathError, reason
from .designs import run_params, run_table
from .executors import Executor, make_executor
from .experiment import Experiment, load_experiment
from .params import RUN_SETTINGS, build_model, flat_outputs, interventions_for, resolve
from .store import Store, now, part_name, worker_label

TARGET_TASK_SECONDS = 1.0
SECONDS_PER_AGENT_MONTH = 2.5e-7
"""Rough cost of one agent-month with the compiled kernel on one core (for chunk sizing only)."""
INDEX_EVERY_SECONDS = 5.0


@dataclass
class ChunkTask:
    """What a worker needs for a chunk: each run's parameters and seed, the scenarios by name."""

    name: str
    runs: list[tuple[int, dict[str, Any], int]]
    scenarios: dict[str, Any] = field(default_factory=dict)
    monthly: bool = False
    moments: tuple[str, ...] | None = None  # also these moments (batch.moments), e.g. to calibrate


def run_chunk(task: ChunkTask) -> dict[str, Any]:
    """Compute every run of a chunk (in a worker). A run that raises is reported, not fatal."""
    from .. import __version__

    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    monthly: list[pl.DataFrame] = []
    who = worker_label()
    runs = []
    for run_id, params, seed in task.runs:
        params = dict(params)
        key = params.setdefault("scenario", RUN_SETTINGS["scenario"])
        if isinstance(key, str) and key in task.scenarios:
            params["scenario"] = task.scenarios[key]
        runs.append((run_id, params, seed))
    starts = shared_starts(runs)
    for i, (run_id, params, seed) in enumerate(runs):
        prefix, interventions, shared = starts.get(i, (None, [], 0.0))
        t0 = time.perf_counter() - shared  # each run counts its share of the prefix
        try:
            # a copy of the prefix continued under the run's policy, or built from scratch
            model = build_model(params, seed) if prefix is None else prefix.fork(interventions)
            model.run()
            out = flat_outputs(model)
            if task.moments is not None:
                from .moments import model_moments

                out = model_moments(model, task.moments)
            if task.monthly:
                monthly.append(
                    model.indicators().with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
                )
        except Exception as exc:
            errors.append(
                {
                    "run_id": run_id,
                    "error": f"{type(exc).__name__}: {exc}",
                    "worker": who,
                    "version": __version__,
                }
            )
            continue
        rows.append(
            {
                "run_id": run_id,
                **out,
                "seconds": time.perf_counter() - t0,
                "worker": who,
                "version": __version__,
                "finished_at": now(),
            }
        )
    frame = (
        pl.concat(monthly, how="diagonal_relaxed").select("run_id", pl.exclude("run_id"))
        if monthly
        else None
    )
    return {"name": task.name, "rows": rows, "errors": errors, "monthly": frame}


def shared_starts(
    runs: list[tuple[int, dict[str, Any], int]],
) -> dict[int, tuple[Any, list[Any], float]]:
    """For the runs of a chunk that differ only by their ``policy`` (same seed and other
    parameters: common random numbers), the model of the months before their first policy,
    simulated once (:mod:`adoption_abm.model.prefix`): ``{index in runs: (model, the run's
    interventions, seconds)}``, ``seconds`` each run's share of the time it took (each run's
    parameters are resolved here once). Runs whose parameters cannot be resolved are left out
    (they fail on their own, naming the error)."""
    from ..model.prefix import PREFIXES, shared_months

    groups: dict[tuple, list[int]] = {}
    for i, (_, params, seed) in enumerate(runs):
        rest = sorted(  # the scenario object (shared by the chunk's runs) by identity
            (k, v if isinstance(v, int | float | str | bool | None) else id(v))
            for k, v in params.items()
            if k != "policy"
        )
        key = (seed, tuple(rest))
        groups.setdefault(key, []).append(i)
    starts: dict[int, tuple[Any, list[Any], float]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        t0 = time.perf_counter()
        try:
            resolved = [resolve(runs[i][1]) for i in members]
            sc, settings = resolved[0]
            sets = [interventions_for(s["policy"], sc) for _, s in resolved]
            months = shared_months(sc, sets)
            if months == 0:
                continue
            prefix = PREFIXES.get(
                sc,
                runs[members[0]][2],
                months,
                rhythm=settings["rhythm"],
                scale=float(settings["scale"]),
                engine=settings["engine"],
            )
        except Exception:  # each run will report its own error
            continue
        share = (time.perf_counter() - t0) / len(members)
        starts.update({i: (prefix, ivs, share) for i, ivs in zip(members, sets, strict=True)})
    return starts


def scenario_digest(exp: Experiment) -> str:
    """Hash of the base scenario the experiment resolves to (a changed file blocks a resume)."""
    sc, _ = resolve(exp.base)
    text = json.dumps(sc.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def auto_chunk_size(exp: Experiment, n_runs: int) -> int:
    """Runs per task for about :data:`TARGET_TASK_SECONDS` of work, and at least 32 tasks."""
    if exp.chunk_size != "auto":
        return int(exp.chunk_size)
    sc, settings = resolve(exp.base)
    scale = float(settings["scale"])
    end = sc.end_year
    for name, spec in exp.parameters.items():
        hi = (
            max(spec.values)
            if spec.values and not isinstance(spec.values[0], str)
            else (spec.bounds or (0, 0))[1]
        )
        if name == "scale":
            scale = max(scale, float(hi))
        elif name == "end_year":
            end = max(end, int(hi))
    agents = scale * sum(p.headcount for p in sc.professions.values())
    months = (end - sc.start_year + 1) * 12
    seconds = 0.01 + SECONDS_PER_AGENT_MONTH * agents * months
    size = max(1, min(math.ceil(TARGET_TASK_SECONDS / seconds), n_runs // 32 or 1))
    group = policy_group(exp)
    if group > 1:  # whole replicates, so that a chunk forks its policies from one prefix
        size = group * max(1, round(size / group))
    return size


def policy_group(exp: Experiment) -> int:
    """Runs that share a seed and differ by their policy only (common random numbers with the
    policy varied: the policies of one replicate, for each other design point); 1 otherwise."""
    spec = exp.parameters.get("policy")
    if not exp.common_random_numbers or spec is None or not spec.values:
        return 1
    return len(spec.values)


def check_experiment_size(exp: Experiment, label: Any) -> None:
    """Refuse, before any run, an experiment whose largest scale (``base.scale`` or the top of
    ``parameters.scale``) needs more memory than the machine has, or more professionals than
    the model can index: a ScenarioError naming the field (not one failed run per run)."""
    from ..model.limits import check_run_size

    sc, settings = resolve(exp.base)
    scale, where = settings["scale"], "base.scale"
    spec = exp.parameters.get("scale")
    if spec is not None:
        numbers = [v for v in spec.values or spec.bounds or () if isinstance(v, int | float)]
        if numbers and max(numbers) > float(scale):
            scale, where = max(numbers), "parameters.scale"
    check_run_size(sc, scale, label=str(label), field=where, force_hint=None)


@dataclass
class BatchReport:
    """What a batch did: runs in total, skipped (already done), computed, failed, seconds."""

    out: Path
    total: int
    skipped: int
    computed: int
    failed: int
    seconds: float
    executor: str
    chunk_size: int
    index: pl.DataFrame

    @property
    def complete(self) -> bool:
        return self.skipped + self.computed == self.total


def _scenarios_for(exp: Experiment) -> dict[str, Any]:
    """Scenario objects for every scenario name or file the runs use (sent to the workers, so
    remote workers need no access to the driver's files)."""
    from ..scenario.load import load_scenario

    names = {exp.base.get("scenario", "france-2022")}
    spec = exp.parameters.get("scenario")
    if spec is not None and spec.values:
        names.update(spec.values)
    return {str(n): load_scenario(n) for n in names}


@contextmanager
def writing(out: str | Path) -> Iterator[None]:
    """A write into the batch folder that fails (a full disk, a file system turned read-only)
    becomes an OutPathError saying that the runs finished before are kept."""
    try:
        yield
    except OSError as exc:
        raise OutPathError(
            out,
            f"{reason(exc)} while writing results; the runs finished before are kept: "
            "re-run the same command to resume",
        ) from None


def run_batch(
    experiment: Experiment | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    max_chunks: int | None = None,
) -> BatchReport:
    """Run (or resume) an experiment into the folder ``out``.

    Finished runs already in ``out`` are skipped; the others are computed in chunks on the
    executor (given, or made from ``workers`` / ``scheduler`` / ``dask_local``, see
    :func:`~adoption_abm.batch.executors.make_executor`). ``max_chunks`` stops after that many
    chunks (for tests and trial runs). Returns a :class:`BatchReport`.
    """
    text = None
    path: Path | None = None
    if not isinstance(experiment, Experiment):
        path = Path(experiment)
        exp = load_experiment(path)
        text = path.read_text(encoding="utf-8")
    else:
        exp = experiment
    check_experiment_size(exp, path if text is not None else exp.name)
    store = Store(out)
    store.check_not_foreign()  # a run folder, the user's files: never mixed with a batch's
    store.lock()
    own_executor = executor is None
    try:
        runs = run_table(exp)
        size = chunk_size or auto_chunk_size(exp, runs.height)
        store.clean()
        finished = store.finished()
        done_ids = set(finished["run_id"].to_list())
        pending = runs.filter(~pl.col("run_id").is_in(list(done_ids)))
        ex = executor or make_executor(workers, scheduler, dask_local)
        with writing(out):
            prov = store.start(
                exp,
                text,
                scenario_digest(exp),
                runs.height,
                {"executor": ex.label, "chunk_size": size, "already_done": len(done_ids)},
            )
            index = store.write_index(runs, finished, store.failures())
        scenarios = _scenarios_for(exp)
        tasks = []
        rows = pending.to_dicts()
        if exp.common_random_numbers and "policy" in exp.parameters:
            # the policies of one replicate together: a chunk simulates their months before
            # the first policy once (shared_starts)
            rows.sort(key=lambda r: (r["replicate"], r["run_id"]))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            runs_spec = [(r["run_id"], run_params(exp, r), r["seed"]) for r in chunk]
            name = part_name(chunk[0]["run_id"], chunk[-1]["run_id"])
            tasks.append(ChunkTask(name, runs_spec, scenarios, exp.outputs.monthly))
        if max_chunks is not None:
            tasks = tasks[:max_chunks]
        computed = failed = 0
        t0 = time.perf_counter()
        last_index = t0
        bar = _progress(progress, runs.height, len(done_ids), exp.name)
        try:
            for _task, result in ex.map_unordered(run_chunk, tasks):
                with writing(out):
                    store.write_chunk(
                        result["name"], result["rows"], result["errors"], result["monthly"]
                    )
                computed += len(result["rows"])
                failed += len(result["errors"])
                bar.update(len(result["rows"]) + len(result["errors"]))
                if time.perf_counter() - last_index > INDEX_EVERY_SECONDS:
                    with writing(out):
                        store.write_index(runs, store.finished(), store.failures())
                    last_index = time.perf_counter()
        finally:
            bar.close()
            if own_executor:
                ex.close()
            with writing(out):
                index = store.write_index(runs, store.finished(), store.failures())
        seconds = time.perf_counter() - t0
        with writing(out):
            store.finish_session(prov, computed=computed, failed=failed, seconds=round(seconds, 3))
        return BatchReport(
            Path(out), runs.height, len(done_ids), computed, failed, seconds, ex.label, size, index
        )
    finally:
        store.unlock()


def _progress(enabled: bool, total: int, initial: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="run",
        desc=name,
        disable=not enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        smoothing=0.1,
    )
