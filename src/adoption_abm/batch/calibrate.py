"""Calibration by the simulated method of moments (SMM).

Method (docs/BATCH.md has the command and the latest results):

1. Free parameters θ (by default the ``adoption_multiplier`` on every family's Bass p and q, the
   ``deployment_multiplier`` on every establishment base rate, and the ``slow`` and ``fast``
   rhythm multipliers) are searched in log space, within bounds.
2. Each target is a figure of one rhythm (e.g. ``realised_all_2030`` in ``slow``). For a given
   θ, every rhythm involved is simulated with the same fixed list of seeds (common random
   numbers: spawned from ``root_seed`` as in a batch), and the simulated moment is the mean over
   those seeds.
3. The objective is ``Σ_k ((simulated_k - target_k) / tolerance_k)²`` (a diagonal weighting by
   the targets' tolerances). With common random numbers it is a deterministic function of θ.
4. ``scipy.optimize.minimize(method="Nelder-Mead")`` from the initial values with an initial
   simplex of ``step`` (default ±15 %) along each parameter, bounded, until the simplex is
   smaller than ``xatol`` in log space or ``maxfev`` evaluations.

Every evaluation is stored in ``trace.parquet``; a restarted calibration replays them from
there (Nelder-Mead is deterministic), so an interrupted calibration resumes where it stopped.
Outputs: ``calibration.json`` (fitted values, objective, method, seeds, versions) and
``residuals.parquet`` / ``.csv`` / ``.md`` (target, simulated mean ± standard error, residual).
"""

from __future__ import annotations

import math
import time
import tomllib
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
from pydantic import Field, ValidationError, model_validator

from ..outputs.atomic import (
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from ..scenario.errors import format_errors
from .designs import child_seed
from .executors import Executor, make_executor
from .experiment import ExperimentError, Strict
from .runner import ChunkTask, run_chunk
from .store import Store, now, versions


class FreeParameter(Strict):
    initial: Annotated[float, Field(gt=0)]
    bounds: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]]

    @model_validator(mode="after")
    def _inside(self) -> FreeParameter:
        lo, hi = self.bounds
        if not lo < self.initial < hi:
            raise ValueError(f"need low < initial < high, got {lo}, {self.initial}, {hi}")
        return self


class Target(Strict):
    rhythm: str
    output: str
    value: float
    tolerance: Annotated[float, Field(gt=0)] = 0.02
    source: str = ""


class Calibration(Strict):
    """A calibration file (``experiments/calibrate.toml``)."""

    name: str = "calibrate"
    root_seed: Annotated[int, Field(ge=0)] = 2022
    replications: Annotated[int, Field(ge=1, le=1000)] = 8
    base: dict[str, Any] = Field(default_factory=lambda: {"scale": 0.01, "end_year": 2030})
    parameters: dict[str, FreeParameter]
    targets: list[Target]
    step: Annotated[float, Field(gt=0, le=1)] = 0.15
    xatol: Annotated[float, Field(gt=0)] = 0.005
    fatol: Annotated[float, Field(ge=0)] = 0.01
    maxfev: Annotated[int, Field(ge=1, le=100_000)] = 200

    @model_validator(mode="after")
    def _check(self) -> Calibration:
        if not self.parameters:
            raise ValueError("no free parameters")
        if not self.targets:
            raise ValueError("no targets")
        if "rhythm" in self.base or "rhythm" in self.parameters:
            raise ValueError("`rhythm` comes from each target, not from [base] or [parameters]")
        return self

    def seeds(self) -> list[int]:
        """The common random numbers: spawned children 0..replications-1 of ``root_seed``."""
        return [child_seed(self.root_seed, r) for r in range(self.replications)]

    def rhythms(self) -> list[str]:
        return list(dict.fromkeys(t.rhythm for t in self.targets))


def load_calibration(path: str | Path) -> Calibration:
    """Read and validate a calibration file; check parameters, rhythms and outputs exist."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentError(path, [("", f"cannot read: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(path, [("", f"not valid TOML: {exc}")]) from None
    return calibration_from_dict(data, str(path))


def calibration_from_dict(data: dict[str, Any], label: str = "<dict>") -> Calibration:
    from ..scenario.calendar import REPORT_YEARS
    from ..scenario.errors import ScenarioError
    from .params import resolve

    try:
        cal = Calibration.model_validate(data)
    except ValidationError as exc:
        raise ExperimentError(label, list(format_errors(exc.errors()))) from None
    errors = []
    try:
        sc, _ = resolve({**cal.base, **{k: p.initial for k, p in cal.parameters.items()}})
    except ScenarioError as exc:
        raise ExperimentError(
            label, [(f"parameters.{p}" if p else "parameters", m) for p, m in exc.errors]
        ) from None
    for i, t in enumerate(cal.targets):
        try:
            sc.check_rhythm(t.rhythm, field=f"targets.{i}.rhythm")
        except ScenarioError as exc:
            errors.extend(exc.errors)
        year = t.output.rsplit("_", 1)[-1]
        years = sorted({*(y for y in REPORT_YEARS if y <= sc.end_year), sc.end_year})
        if not year.isdigit() or int(year) not in years:
            errors.append(
                (
                    f"targets.{i}.output",
                    f"{t.output!r} must end with a reported year "
                    f"({', '.join(map(str, years))}), e.g. realised_all_2030",
                )
            )
    if errors:
        raise ExperimentError(label, errors)
    return cal


class Evaluator:
    """Simulated moments for θ, with a persistent trace (cache) of every evaluation."""

    def __init__(self, cal: Calibration, executor: Executor, folder: Path):
        self.cal = cal
        self.executor = executor
        self.folder = folder
        self.names = list(cal.parameters)
        self.seeds = cal.seeds()
        self.trace: list[dict[str, Any]] = []
        self.cache: dict[tuple[float, ...], dict[str, Any]] = {}
        path = folder / "trace.parquet"
        if path.exists():
            for row in pl.read_parquet(path).to_dicts():
                self.cache[tuple(row[n] for n in self.names)] = row
        self.replayed = 0

    def moments(self, theta: dict[str, float]) -> dict[str, np.ndarray]:
        """Per target: the simulated values, one per seed."""
        tasks = []
        for rhythm in self.cal.rhythms():
            for r, seed in enumerate(self.seeds):
                params = {**self.cal.base, **theta, "rhythm": rhythm}
                tasks.append(ChunkTask(f"{rhythm}-{r}", [(r, params, seed)]))
        values: dict[str, dict[str, float]] = {}
        for task, result in self.executor.map_unordered(run_chunk, tasks):
            if result["errors"]:
                raise RuntimeError(f"run {task.name} failed: {result['errors'][0]['error']}")
            values[task.name] = result["rows"][0]
        out = {}
        for i, t in enumerate(self.cal.targets):
            out[f"t{i}"] = np.array(
                [values[f"{t.rhythm}-{r}"][t.output] for r in range(len(self.seeds))]
            )
        return out

    def objective(self, x: np.ndarray) -> float:
        theta = {n: float(v) for n, v in zip(self.names, np.exp(x), strict=True)}
        key = tuple(theta[n] for n in self.names)
        row = self.cache.get(key)
        if row is None:
            t0 = time.perf_counter()
            sims = self.moments(theta)
            row = {
                **theta,
                "objective": _objective(self.cal, sims),
                "seconds": time.perf_counter() - t0,
            }
            for i in range(len(self.cal.targets)):
                row[f"t{i}_mean"] = float(sims[f"t{i}"].mean())
            self.cache[key] = row
        else:
            self.replayed += 1
        self.trace.append(
            {"evaluation": len(self.trace), **{k: v for k, v in row.items() if k != "evaluation"}}
        )
        write_parquet_atomic(self.folder / "trace.parquet", pl.DataFrame(self.trace))
        return row["objective"]


def _objective(cal: Calibration, sims: dict[str, np.ndarray]) -> float:
    return float(
        sum(
            ((sims[f"t{i}"].mean() - t.value) / t.tolerance) ** 2 for i, t in enumerate(cal.targets)
        )
    )


def residual_table(cal: Calibration, sims: dict[str, np.ndarray]) -> pl.DataFrame:
    """Target, simulated mean and standard error over the seeds, residual (simulated - target)."""
    rows = []
    for i, t in enumerate(cal.targets):
        v = sims[f"t{i}"]
        se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
        rows.append(
            {
                "rhythm": t.rhythm,
                "output": t.output,
                "target": t.value,
                "simulated": float(v.mean()),
                "se": se,
                "residual": float(v.mean() - t.value),
                "tolerance": t.tolerance,
                "source": t.source,
            }
        )
    return pl.DataFrame(rows)


def residual_markdown(table: pl.DataFrame) -> str:
    head = "| rhythm | figure | target | simulated (± s.e.) | residual |\n|---|---|---|---|---|\n"
    return head + "".join(
        f"| {r['rhythm']} | {r['output']} | {r['target']:.3f} "
        f"| {r['simulated']:.4f} ± {r['se']:.4f} "
        f"| {r['residual']:+.4f} |\n"
        for r in table.iter_rows(named=True)
    )


def calibrate(
    cal: Calibration,
    out: str | Path,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    progress: bool = False,
    text: str | None = None,
) -> dict[str, Any]:
    """Fit ``cal``'s free parameters to its targets (see the module docstring); write the
    results into ``out`` and return the content of ``calibration.json``."""
    from scipy.optimize import minimize

    folder = Path(out)
    store = Store(folder)
    store.lock()
    ex = executor or make_executor(workers, scheduler, dask_local)
    try:
        if text is not None:
            write_text_atomic(folder / "calibrate.toml", text)
        ev = Evaluator(cal, ex, folder)
        names = ev.names
        x0 = np.log([cal.parameters[n].initial for n in names])
        simplex = np.vstack(
            [x0] + [x0 + cal.step * np.eye(len(names))[i] for i in range(len(names))]
        )
        bounds = [tuple(np.log(cal.parameters[n].bounds)) for n in names]
        from tqdm.auto import tqdm

        bar = tqdm(
            total=cal.maxfev, unit="eval", desc=cal.name, disable=not progress, dynamic_ncols=True
        )

        def f(x: np.ndarray) -> float:
            value = ev.objective(x)
            bar.update(1)
            bar.set_postfix(objective=f"{value:.3g}")
            return value

        t0 = time.perf_counter()
        res = minimize(
            f,
            x0,
            method="Nelder-Mead",
            bounds=bounds,
            options={
                "initial_simplex": simplex,
                "xatol": cal.xatol,
                "fatol": cal.fatol,
                "maxfev": cal.maxfev,
            },
        )
        bar.close()
        fitted = {n: float(v) for n, v in zip(names, np.exp(res.x), strict=True)}
        sims = ev.moments(fitted)
        table = residual_table(cal, sims)
        result = {
            "name": cal.name,
            "method": "simulated method of moments; scipy.optimize.minimize Nelder-Mead, log space",
            "fitted": fitted,
            "initial": {n: cal.parameters[n].initial for n in names},
            "objective": _objective(cal, sims),
            "converged": bool(res.success),
            "message": str(res.message),
            "evaluations": int(res.nfev),
            "replayed_from_trace": ev.replayed,
            "seconds": round(time.perf_counter() - t0, 2),
            "seeds": ev.seeds,
            "base": cal.base,
            "settings": {
                "step": cal.step,
                "xatol": cal.xatol,
                "fatol": cal.fatol,
                "maxfev": cal.maxfev,
            },
            "executor": ex.label,
            "versions": versions(),
            "finished": now(),
        }
        write_parquet_atomic(folder / "residuals.parquet", table)
        write_atomic(folder / "residuals.csv", lambda tmp: table.write_csv(tmp))
        write_text_atomic(folder / "residuals.md", residual_markdown(table))
        write_json_atomic(folder / "calibration.json", result)
        result["residuals"] = table
        return result
    finally:
        if executor is None:
            ex.close()
        store.unlock()
