"""Experiment files: what to vary, how to sample it, how many replications, from which seed.

An experiment is a TOML file (see ``experiments/*.toml`` and docs/BATCH.md)::

    name = "sweep"
    root_seed = 2022          # every run's seed is spawned from it (numpy SeedSequence)
    replications = 3
    chunk_size = "auto"       # runs per task, or a number

    [base]                    # fixed parameters of every run (see adoption_abm.batch.params)
    scale = 0.01
    end_year = 2030

    [design]
    kind = "factorial"        # factorial | lhs | sobol | morris
    samples = 64              # lhs: points; sobol: base sample N (power of 2); morris: trajectories

    [parameters]
    rhythm = { values = ["slow", "central", "fast"] }
    "behaviour.attitude_effect" = { bounds = [0.6, 1.8] }   # sampled designs
    adoption_multiplier = { bounds = [0.5, 2.0], log = true }

Errors name the file, the field and what is allowed (:class:`ExperimentError`).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..scenario.errors import ScenarioError, format_errors

Scalar = float | int | str | bool
KINDS = ("factorial", "lhs", "sobol", "morris")


class ExperimentError(ScenarioError):
    """An experiment file that cannot be used; ``errors`` lists ``(field path, message)``."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSpec(Strict):
    """One varied parameter: a list of ``values``, or ``bounds`` (sampled designs, or a factorial
    with ``levels`` evenly spaced values), optionally on a ``log`` scale."""

    values: list[Scalar] | None = None
    bounds: tuple[float, float] | None = None
    levels: Annotated[int, Field(ge=2, le=1000)] | None = None
    log: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        if (self.values is None) == (self.bounds is None):
            raise ValueError("give exactly one of `values` (a list) or `bounds` ([low, high])")
        if self.values is not None:
            if not self.values:
                raise ValueError("`values` is empty")
            kinds = {_kind(v) for v in self.values}
            if len(kinds) > 1:
                raise ValueError(
                    f"`values` mixes types {sorted(kinds)}; use one type per parameter"
                )
            if len(set(map(repr, self.values))) != len(self.values):
                raise ValueError("`values` has duplicates")
            if self.levels is not None or self.log:
                raise ValueError("`levels` and `log` go with `bounds`, not `values`")
        if self.bounds is not None:
            lo, hi = self.bounds
            if not lo < hi:
                raise ValueError(
                    f"`bounds` must be [low, high] with low < high, got {list(self.bounds)}"
                )
            if self.log and lo <= 0:
                raise ValueError("`log = true` needs positive bounds")
        return self


def _kind(v: Scalar) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return "string"


class Design(Strict):
    kind: Literal["factorial", "lhs", "sobol", "morris"] = "factorial"
    samples: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    second_order: bool = Field(False, description="Sobol: also sample for second-order indices.")
    levels: Annotated[int, Field(ge=2, le=100)] = Field(4, description="Morris: grid levels.")
    seed: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Sampling seed (default: root_seed)."
    )

    @model_validator(mode="after")
    def _samples(self) -> Design:
        if self.kind != "factorial" and self.samples is None:
            raise ValueError(f"design kind {self.kind!r} needs `samples`")
        if self.kind == "sobol" and self.samples is not None and self.samples & (self.samples - 1):
            raise ValueError(
                f"sobol `samples` must be a power of 2 (Sobol' sequence), got {self.samples}"
            )
        if self.kind == "factorial" and self.samples is not None:
            raise ValueError(
                "a factorial design takes no `samples`: it crosses every parameter's values"
            )
        return self


class OutputSpec(Strict):
    monthly: bool = Field(False, description="Also keep each run's month-level indicators.")


class AnalysisSpec(Strict):
    outputs: list[str] = Field(
        default_factory=lambda: ["realised_all_2030", "multi_speed_gap_2030"]
    )
    conf_level: Annotated[float, Field(gt=0, lt=1)] = 0.95
    resamples: Annotated[int, Field(ge=10, le=100_000)] = 1000


class Experiment(Strict):
    """A validated experiment (:func:`load_experiment`, :func:`experiment_from_dict`)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
    description: str = ""
    root_seed: Annotated[int, Field(ge=0, lt=2**128)]
    replications: Annotated[int, Field(ge=1, le=100_000)] = 1
    common_random_numbers: bool = Field(
        False,
        description="Replicate r of every design point uses the same seed (r-th spawned child).",
    )
    chunk_size: Annotated[int, Field(ge=1, le=100_000)] | Literal["auto"] = "auto"
    base: dict[str, Any] = Field(default_factory=dict)
    design: Design = Field(default_factory=Design)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    outputs: OutputSpec = Field(default_factory=OutputSpec)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)

    @field_validator("base")
    @classmethod
    def _base_scalars(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            if isinstance(value, dict):
                raise ValueError(
                    f"base.{key}: give a dotted field name with one value, not a table"
                )
        return v

    @model_validator(mode="after")
    def _parameters(self) -> Experiment:
        both = sorted(set(self.base) & set(self.parameters))
        if both:
            raise ValueError(f"parameters {both} are also fixed in [base]; keep one")
        if self.design.kind != "factorial":
            if not self.parameters:
                raise ValueError(
                    f"design {self.design.kind!r} needs at least one parameter with `bounds`"
                )
            listed = [k for k, p in self.parameters.items() if p.bounds is None]
            if listed:
                raise ValueError(
                    f"design {self.design.kind!r} samples ranges: parameters {listed} "
                    "need `bounds` "
                    "(lists of `values` only work in a factorial design)"
                )
        return self

    def digest(self) -> str:
        """Hash of the validated content (comments and layout of the file do not count)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def experiment_from_dict(
    data: dict[str, Any], label: str = "<dict>", check: bool = True
) -> Experiment:
    """Validate an experiment given as nested dicts; with ``check``, also check every parameter
    name and value against the scenario (by building the scenario at the ranges' ends)."""
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise ExperimentError(label, list(format_errors(exc.errors()))) from None
    if check:
        check_parameters(exp, label)
    return exp


def load_experiment(path: str | Path, check: bool = True) -> Experiment:
    """Read and validate an experiment TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentError(path, [("", f"cannot read: {exc}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(path, [("", f"not valid TOML: {exc}")]) from None
    return experiment_from_dict(data, str(path), check=check)


def check_parameters(exp: Experiment, label: str) -> None:
    """Build the scenario for the base and each parameter's extreme values; report any
    parameter the model does not accept as ``parameters.NAME: message``."""
    from .params import interventions_for, resolve

    try:
        sc, settings = resolve(exp.base)
        sc.check_rhythm(settings["rhythm"], label="")
        interventions_for(settings["policy"], sc)
    except ScenarioError as exc:
        raise ExperimentError(
            label, [(f"base.{p}" if p else "base", m) for p, m in exc.errors]
        ) from None
    errors: list[tuple[str, str]] = []
    for name, spec in exp.parameters.items():
        probe = spec.values if spec.values is not None else list(spec.bounds or ())
        for value in probe:
            try:
                sc, settings = resolve({**exp.base, name: value})
                if name == "rhythm":
                    sc.check_rhythm(value, label="", field="")
                if name == "policy":
                    interventions_for(value, sc)
                if name in ("scale",) and not float(value) > 0:
                    raise ScenarioError("", [("", "scale must be > 0")])
            except ScenarioError as exc:
                for _path, msg in exc.errors:
                    errors.append((f"parameters.{name}", f"{msg} (value {value!r})"))
                break
            except (TypeError, ValueError) as exc:
                errors.append((f"parameters.{name}", f"{exc} (value {value!r})"))
                break
    if errors:
        raise ExperimentError(label, errors)
