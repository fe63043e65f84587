"""Calibration by the simulated method of moments (SMM).

Method (docs/BATCH.md has the command and the latest results):

1. Free parameters θ (by default the ``adoption_multiplier`` on every family's Bass p and q, the
   ``deployment_multiplier`` on every establishment base rate, and the ``slow`` and ``fast``
   rhythm multipliers) are searched in log space, within bounds.
2. Each target is a moment of one rhythm (e.g. ``realised_all_2030`` in ``slow``, or
   ``deployment_bass_q_ai`` in ``central``: any name of :mod:`adoption_abm.batch.moments`). For a
   given θ, every rhythm involved is simulated with the same fixed list of seeds (common random
   numbers: spawned from ``root_seed`` as in a batch), and the simulated moment is the mean over
   those seeds.
3. The objective is ``J(θ) = Σ_i ((simulated_i - target_i) / tolerance_i)²`` (a diagonal
   weighting by the targets' tolerances). With common random numbers it is a deterministic
   function of θ. A file needs at least as many targets ``n`` as free parameters ``k``
   (:func:`calibration_from_dict` refuses ``k > n``); with ``n == k`` the fit is just identified
   (a :class:`JustIdentifiedWarning`): a perfect fit then says nothing about the model.
4. ``scipy.optimize.minimize(method="Nelder-Mead")`` from the initial values with an initial
   simplex of ``step`` (default ±15 %) along each parameter, bounded, until the simplex is
   smaller than ``xatol`` in log space or ``maxfev`` evaluations.

Every evaluation is stored in ``trace.parquet``; a restarted calibration replays them from
there (Nelder-Mead is deterministic), so an interrupted calibration resumes where it stopped.
Outputs: ``calibration.json`` (fitted values, objective, method, seeds, versions, and the
over-identification check :func:`identification`) and ``residuals.parquet`` / ``.csv`` / ``.md``
(target, simulated mean ± standard error, residual, residual in tolerance units).

Over-identification (:func:`identification`): with ``n > k`` the minimised objective is the SMM
J-statistic with the diagonal weighting ``1 / tolerance²``, read against χ²(n − k). It is a
formal test only if each tolerance were the standard deviation of its target's error and the
errors were independent; the tolerances here are judgements (bands around the seed figures,
assumptions), so the reading is indicative, not a test.
"""

from __future__ import annotations

import math
import time
import tomllib
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
from pydantic import Field, ValidationError, model_validator

from ..i18n import _, general, language, number
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

    def outputs(self, rhythm: str) -> tuple[str, ...]:
        """The moments the targets of ``rhythm`` need."""
        return tuple(dict.fromkeys(t.output for t in self.targets if t.rhythm == rhythm))

    @property
    def degrees_of_freedom(self) -> int:
        """Targets minus free parameters, ``n - k`` (0: just identified)."""
        return len(self.targets) - len(self.parameters)


class JustIdentifiedWarning(UserWarning):
    """A calibration with as many targets as free parameters: a perfect fit is expected and
    tests nothing."""


def just_identified_message(cal: Calibration) -> str:
    k = len(cal.parameters)
    s = "s" if k != 1 else ""
    return (
        f"{cal.name}: {k} free parameter{s} and {k} target{s}: just identified, a perfect fit "
        "says nothing about the model; add targets to test it (over-identification)"
    )


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
    from ..scenario.errors import ScenarioError
    from .moments import MOMENTS, moment_names, report_years
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
    k, n = len(cal.parameters), len(cal.targets)
    if k > n:
        errors.append(
            (
                "targets",
                f"{n} target{'s' if n != 1 else ''} for {k} free parameters: a calibration "
                "needs at least as many targets as parameters (add targets or fix parameters)",
            )
        )
    names = set(moment_names(sc))
    years = report_years(sc, sc.end_year)
    for i, t in enumerate(cal.targets):
        try:
            sc.check_rhythm(t.rhythm, field=f"targets.{i}.rhythm")
        except ScenarioError as exc:
            errors.extend(exc.errors)
        if t.output in names:
            continue
        stem, _, year = t.output.rpartition("_")
        if year.isdigit() and any(f"{stem}_{y}" in names for y in years):
            errors.append(
                (
                    f"targets.{i}.output",
                    f"{t.output!r} must end with a reported year "
                    f"({', '.join(map(str, years))}), e.g. realised_all_2030",
                )
            )
        else:
            errors.append(
                (
                    f"targets.{i}.output",
                    f"unknown moment {t.output!r}; moments are "
                    + ", ".join(MOMENTS)
                    + " (docs/BATCH.md)",
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
                tasks.append(
                    ChunkTask(
                        f"{rhythm}-{r}", [(r, params, seed)], moments=self.cal.outputs(rhythm)
                    )
                )
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
    """``Σ_i ((mean_i - target_i) / tolerance_i)²``; infinite if a moment is undefined (NaN,
    e.g. no establishment deployed during a tiny run), so the search moves away."""
    value = float(
        sum(
            ((sims[f"t{i}"].mean() - t.value) / t.tolerance) ** 2 for i, t in enumerate(cal.targets)
        )
    )
    return value if math.isfinite(value) else math.inf


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN: one seed gives
    no standard error; an undefined moment, an infinite objective)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def identification(cal: Calibration, objective: float) -> dict[str, Any]:
    """Counts and the over-identification statistic at the fitted parameters.

    ``J`` is the minimised objective (the SMM J-statistic with the diagonal weighting
    ``1 / tolerance²``); with ``n - k > 0`` degrees of freedom it is read against χ²(n − k):
    ``p_value = P(χ²(n − k) > J)`` and the 95 % critical value. Indicative, not a formal test:
    the weighting is diagonal and the tolerances are judgements, not the targets' standard
    errors (see the module docstring).
    """
    from scipy.stats import chi2

    k, n = len(cal.parameters), len(cal.targets)
    df = n - k
    out: dict[str, Any] = {
        "parameters": k,
        "targets": n,
        "degrees_of_freedom": df,
        "J": objective,
        "weighting": "diagonal, 1 / tolerance² (the objective)",
    }
    if df <= 0:
        out.update(p_value=None, critical_95=None)
    else:
        out.update(
            p_value=float(chi2.sf(objective, df)) if math.isfinite(objective) else 0.0,
            critical_95=float(chi2.ppf(0.95, df)),
        )
    with language("en"):  # calibration.json is data: the same in every language
        out["reading"] = reading(out)
    return out


def reading(ident: dict[str, Any]) -> str:
    """The over-identification statistic in words, in the current language (``ident`` from
    :func:`identification`)."""
    df, objective = ident["degrees_of_freedom"], ident["J"]
    if df <= 0:
        return _("just identified (n = k): a perfect fit is expected, J tests nothing")
    verdict = (
        _(
            "below the 95 % critical value: the targets are jointly consistent with the model "
            "within their tolerances"
        )
        if objective <= ident["critical_95"]
        else _(
            "above the 95 % critical value: the model cannot meet every target within its "
            "tolerance at once (see the residuals in tolerance units)"
        )
    )
    return _(
        "J = {J} on {df} degrees of freedom, {verdict}; p = {p} against χ²(n − k); indicative "
        "only (diagonal tolerance weighting, not a formal test)"
    ).format(J=general(objective, 3), df=df, verdict=verdict, p=general(ident["p_value"], 3))


def residual_table(cal: Calibration, sims: dict[str, np.ndarray]) -> pl.DataFrame:
    """Target, simulated mean and standard error over the seeds, residual (simulated - target)
    and residual in tolerance units (its square is the target's share of the objective)."""
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
                "residual_tol": float((v.mean() - t.value) / t.tolerance),
                "source": t.source,
            }
        )
    return pl.DataFrame(rows)


def residual_markdown(table: pl.DataFrame, ident: dict[str, Any] | None = None) -> str:
    """The residual table in Markdown, with the identification lines under it if given, in
    the current language (headers, words and decimal marks; names and sources as in the
    data)."""
    cols = (
        _("rhythm"),
        _("moment"),
        _("target"),
        _("tolerance"),
        _("simulated (± s.e.)"),
        _("residual"),
        _("in tolerances"),
        _("source"),
    )
    head = "| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|\n"

    def fixed(x: float, digits: int, sign: bool = False) -> str:
        return number(x, digits, sign=sign, group=False)

    text = head + "".join(
        f"| {r['rhythm']} | {r['output']} | {fixed(r['target'], 3)} "
        f"| {general(r['tolerance'], 3)} "
        f"| {fixed(r['simulated'], 4)} ± {fixed(r['se'], 4)} "
        f"| {fixed(r['residual'], 4, True)} | {fixed(r['residual_tol'], 2, True)} "
        f"| {r['source']} |\n"
        for r in table.iter_rows(named=True)
    )
    if ident is not None:
        text += "\n" + _(
            "k = {k} free parameters, n = {n} targets, n − k = {df} degrees of freedom; "
            "objective J = {J}."
        ).format(
            k=ident["parameters"],
            n=ident["targets"],
            df=ident["degrees_of_freedom"],
            J=general(ident["J"], 4),
        )
        text += "\n" + reading(ident) + ".\n"
    return text


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

    if cal.degrees_of_freedom == 0:
        warnings.warn(just_identified_message(cal), JustIdentifiedWarning, stacklevel=2)
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
        objective = _objective(cal, sims)
        ident = identification(cal, objective)
        result = {
            "name": cal.name,
            "method": "simulated method of moments; scipy.optimize.minimize Nelder-Mead, log space",
            "fitted": fitted,
            "initial": {n: cal.parameters[n].initial for n in names},
            "objective": objective,
            "identification": ident,
            "targets": [
                {
                    **t.model_dump(),
                    "simulated": r["simulated"],
                    "se": r["se"],
                    "residual_tol": r["residual_tol"],
                }
                for t, r in zip(cal.targets, table.iter_rows(named=True), strict=True)
            ],
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
        write_text_atomic(folder / "residuals.md", residual_markdown(table, ident))
        write_json_atomic(folder / "calibration.json", _json_safe(result))
        result["residuals"] = table
        return result
    finally:
        if executor is None:
            ex.close()
        store.unlock()
