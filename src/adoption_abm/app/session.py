"""The app's simulation session: settings, the model, and the series the charts draw.

Kept free of Solara so it can be tested and benchmarked on its own. A :class:`Session` holds the
model built from its :class:`Settings` and a :class:`History` that grows by one row per month
(the DataCollector's indicators, :func:`~adoption_abm.model.model.model_reporters`, read per step;
nothing is recomputed over the whole run). Changing a setting rebuilds the model with the same
seed and replays it to the current month, so the page always shows the run of the settings on
screen; the run it replaces is kept as ``previous`` for comparison.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from ..model.build import check_scale
from ..model.model import HEADLINE_KEYS, AdoptionModel
from ..outputs.indicators import Outputs
from ..outputs.roles import role_demand, roles_for
from ..scenario.errors import ScenarioError
from ..scenario.load import builtin_scenarios, load_scenario
from ..scenario.schema import Scenario
from .follow import Trace

AGENT_CHOICES: tuple[int, ...] = (1_000, 2_500, 5_000, 10_000, 20_000)
"""Live sizes offered by the page (agents, about; the exact count depends on rounding)."""
INTENSITY_CHOICES: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)
"""Proposal intensities offered by the page (1 = the catalogue's default strength)."""
SPEED_RANGE: tuple[int, int] = (1, 60)
"""Playing speed, months (steps) per second."""
DEFAULT_SPEED = 12
"""One simulated year per second: the whole 2022-2040 run in 19 seconds."""

ENV_PREFIX = "ADOPTION_ABM_APP_"
"""Environment variables ``ADOPTION_ABM_APP_SCENARIO``, ``_RHYTHM``, ``_AGENTS``, ``_SEED``,
``_SPEED`` set the page's starting values (``adoption-abm app`` sets them from its options)."""

EXTRA_KEYS: tuple[str, ...] = (
    "potential_medical",
    "potential_non_medical",
    "fte_freed_eight_professions",
    "gap_profession",
    "gap_age",
    "gap_establishment",
)
"""Indicators the charts draw besides the DataCollector's."""


def series_keys(families: tuple[str, ...]) -> tuple[str, ...]:
    """Every series a :class:`History` records, for a scenario with ``families``."""
    return (*HEADLINE_KEYS, *(f"adoption_{fam}" for fam in families), *EXTRA_KEYS)


"""Headline indicators recorded each month: the DataCollector's reporters and a few more columns
of :meth:`AdoptionModel.latest`."""


class Proposal(NamedTuple):
    """A proposal switched on: its number (1-20), intensity and start year."""

    number: int
    intensity: float
    start_year: int


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that defines a run on the page. Frozen: change with :meth:`replace`."""

    scenario: str = "france-2022"
    rhythm: str = "central"
    agents: int = 10_000
    seed: int = 1
    proposals: tuple[Proposal, ...] = ()
    engine: str = "cython"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def with_proposal(
        self, number: int, on: bool, intensity: float = 1.0, start_year: int | None = None
    ) -> Settings:
        """These settings with proposal ``number`` switched on (with its options) or off."""
        others = tuple(p for p in self.proposals if p.number != number)
        if not on:
            return self.replace(proposals=others)
        year = start_year if start_year is not None else _policy_start_year(self.scenario)
        return self.replace(
            proposals=tuple(sorted((*others, Proposal(number, float(intensity), int(year)))))
        )

    def proposal(self, number: int) -> Proposal | None:
        return next((p for p in self.proposals if p.number == number), None)

    def interventions(self) -> list[dict[str, Any]]:
        """The proposals in :mod:`adoption_abm.policies`' intervention format."""
        return [
            {"proposal": p.number, "start": f"{p.start_year}-01", "intensity": p.intensity}
            for p in self.proposals
        ]

    def scale(self) -> float:
        """Agents per real professional giving about ``agents`` agents."""
        sc = scenario_for(self.scenario)
        total = sum(p.headcount for p in sc.professions.values())
        return self.agents / total

    def label(self) -> str:
        """Short description, e.g. ``central · seed 1 · 10,000 agents · proposals 6, 7``."""
        props = ", ".join(str(p.number) for p in self.proposals) or "none"
        return f"{self.rhythm} · seed {self.seed} · {self.agents:,} agents · proposals {props}"

    def build_key(self) -> tuple[Any, ...]:
        """What the population and the tie network depend on (not rhythm nor proposals)."""
        return (self.scenario, self.agents, self.seed)


@functools.lru_cache(maxsize=8)
def _policy_start_year(name: str) -> int:
    """Year of the scenario's ``policy_start`` (the proposals' default start year)."""
    return int(scenario_for(name).policy_start[:4])


def scenario_for(name: str) -> Scenario:
    """A scenario by name or path, loaded once per process."""
    return load_scenario(name)


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Starting settings from ``ADOPTION_ABM_APP_*`` variables; a bad value raises ScenarioError
    naming the variable and what is allowed."""
    env = os.environ if environ is None else environ
    base = Settings()
    values: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    if (name := env.get(ENV_PREFIX + "SCENARIO")) is not None:
        try:
            scenario_for(name)
            values["scenario"] = name
        except ScenarioError as exc:
            errors.append(
                (ENV_PREFIX + "SCENARIO", f"{name!r}: {exc}; built-in: {builtin_scenarios()}")
            )
    for key, low, high in (("AGENTS", 100, 200_000), ("SEED", 0, 2**63 - 1)):
        raw = env.get(ENV_PREFIX + key)
        if raw is None:
            continue
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            errors.append((ENV_PREFIX + key, f"{raw!r}: expected an integer in {low}..{high}"))
        else:
            values[key.lower()] = value
    if (rhythm := env.get(ENV_PREFIX + "RHYTHM")) is not None:
        allowed = list(scenario_for(values.get("scenario", base.scenario)).rhythms)
        if rhythm in allowed:
            values["rhythm"] = rhythm
        else:
            errors.append((ENV_PREFIX + "RHYTHM", f"{rhythm!r}: allowed {allowed}"))
    if errors:
        raise ScenarioError("environment", errors)
    settings = base.replace(**values)
    try:
        check_scale(scenario_for(settings.scenario), settings.scale())
    except ScenarioError as exc:
        raise ScenarioError(
            "environment",
            [(ENV_PREFIX + "AGENTS", f"{settings.agents}: {msg}") for _, msg in exc.errors],
        ) from None
    return settings


def speed_from_env(environ: Mapping[str, str] | None = None) -> int:
    """Starting speed (steps per second) from ``ADOPTION_ABM_APP_SPEED``, default 12."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_PREFIX + "SPEED")
    if raw is None:
        return DEFAULT_SPEED
    try:
        value = int(raw)
    except ValueError:
        value = 0
    lo, hi = SPEED_RANGE
    if not lo <= value <= hi:
        raise ScenarioError(
            "environment", [(ENV_PREFIX + "SPEED", f"{raw!r}: expected an integer in {lo}..{hi}")]
        )
    return value


def month_date(start_year: int, month: int) -> str:
    """Date of the state after ``month`` months: month 0 → 1 January of the start year, month 12
    → 1 January of the next year (the end of December, where yearly figures are read)."""
    y, m = divmod(month, 12)
    return f"{start_year + y}-{m + 1:02d}-01"


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


class History:
    """Monthly series of one run, grown one row per step (what the charts draw)."""

    def __init__(self, scenario: Scenario, label: str = ""):
        self.label = label
        self.professions: tuple[str, ...] = tuple(scenario.profession_ids)
        self.start_year = scenario.start_year
        self.time: list[float] = []  # decimal year of each month's state
        self.dates: list[str] = []  # the same as 'YYYY-MM-01' (the charts' time axis)
        self.month: list[int] = []
        self.keys = series_keys(scenario.families)
        self.values: dict[str, list[float | None]] = {k: [] for k in self.keys}
        self.adoption_by_profession: list[np.ndarray] = []  # one (P, F) array per month
        self.roles: dict[str, list[float]] = {}  # FTE demand of each emerging role, per month
        self.trace: Trace | None = None  # "follow one professional": set by Session.follow

    def __len__(self) -> int:
        return len(self.month)

    def record(self, model: AdoptionModel) -> None:
        """Append this month's values (cheap: the model caches ``latest()`` per month)."""
        latest = model.latest()
        self.time.append(float(model.year))
        self.month.append(int(model.month))
        self.dates.append(month_date(self.start_year, int(model.month)))
        for key in self.keys:
            self.values[key].append(_finite(latest[key]))
        self.adoption_by_profession.append(adoption_by_profession(model))
        for rid, fte in month_role_demand(model).items():
            self.roles.setdefault(rid, []).append(fte)
        if self.trace is not None:
            self.trace.record(model)

    def series(self, values: Any, scale: float = 1.0) -> list[list[Any]]:
        """``[["YYYY-MM-01", value * scale], ...]`` for any per-month values of this run."""
        n = min(len(self.dates), len(values))
        return [[d, float(v) * scale] for d, v in zip(self.dates[:n], values[:n], strict=True)]

    def points(self, key: str, scale: float = 1.0) -> list[list[Any]]:
        """``[["YYYY-MM-01", value * scale], ...]`` for a recorded key (``None`` if undefined)."""
        series = self.values[key]
        n = min(len(self.dates), len(series))
        return [
            [d, None if v is None else v * scale]
            for d, v in zip(self.dates[:n], series[:n], strict=True)
        ]

    def profession_points(
        self, profession: int, family: int, scale: float = 100.0
    ) -> list[list[Any]]:
        """``[["YYYY-MM-01", share * scale], ...]``: a profession's adoption of a family."""
        n = min(len(self.dates), len(self.adoption_by_profession))
        rows = self.adoption_by_profession
        return [[self.dates[m], float(rows[m][profession, family]) * scale] for m in range(n)]

    def last(self, key: str) -> float | None:
        series = self.values.get(key) or [None]
        return series[-1]


def adoption_by_profession(model: AdoptionModel) -> np.ndarray:
    """(P, F) share of each profession using or mastering each family, from the state arrays."""
    pop = model.pop
    n_prof = len(model.inputs.profession_ids)
    counts = np.bincount(pop.profession, minlength=n_prof).astype(np.float64)
    n_fam = pop.state.shape[1]
    out = np.empty((n_prof, n_fam))
    for f in range(n_fam):
        used = np.bincount(pop.profession, weights=(pop.state[:, f] >= 1), minlength=n_prof)
        out[:, f] = used / np.maximum(counts, 1)
    return out


def month_role_demand(model: AdoptionModel) -> dict[str, float]:
    """This month's FTE demand of each emerging role: :func:`.role_demand`
    on the tallies of month 0 (which fix the persons each agent stands for) and of this month
    only, so recording it every month costs two cubes, not the whole run."""
    t = model.tallies
    first, last = (0, len(t.cubes) - 1)
    rows = [first, last] if last else [first]
    out = Outputs(
        model.inputs,
        np.stack([t.cubes[m] for m in rows]),
        np.stack([t.risks[m] for m in rows]),
        np.zeros((len(rows), *t.risks[0].shape)),  # role demand reads no potential
    )
    return {rid: float(values[-1]) for rid, values in role_demand(out, model.inputs).items()}


def build_model(settings: Settings) -> AdoptionModel:
    """The model for ``settings`` (month 0). Raises ScenarioError / ValueError on bad input."""
    sc = scenario_for(settings.scenario)
    return AdoptionModel(
        sc,
        rhythm=settings.rhythm,
        scale=settings.scale(),
        engine=settings.engine,
        agents="none",
        interventions=settings.interventions(),
        seed=settings.seed,
    )


def describe_error(exc: Exception) -> str:
    """One readable line per problem (ScenarioError: ``field: message``)."""
    if isinstance(exc, ScenarioError):
        return "; ".join(f"{path or exc.file}: {msg}" for path, msg in exc.errors)
    return str(exc)


class Session:
    """One page's run. Thread-safe: the play loop and the controls share ``lock``."""

    def __init__(self, settings: Settings | None = None):
        self.lock = threading.RLock()
        self.settings = settings or Settings()
        try:
            self.model = build_model(self.settings)
        except ImportError:  # compiled kernel not built: same results with the NumPy engine
            self.settings = self.settings.replace(engine="reference")
            self.model = build_model(self.settings)
        self.followed: int | None = None  # the row of "follow one professional"
        self.history = self._new_history(self.model)
        self.previous: History | None = None
        self.version = 0  # bumped by every change, for caches keyed on the run

    # ------------------------------------------------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self.model.inputs

    @property
    def month(self) -> int:
        return self.model.month

    @property
    def n_months(self) -> int:
        return self.model.n_months

    @property
    def finished(self) -> bool:
        return self.model.month >= self.model.n_months

    def step(self, months: int = 1) -> int:
        """Advance up to ``months`` months; returns the number done (0 at the end)."""
        done = 0
        with self.lock:
            for _ in range(months):
                if self.finished:
                    break
                self.model.step()
                self.history.record(self.model)
                done += 1
            if done:
                self.version += 1
        return done

    def apply(self, settings: Settings, month: int | None = None) -> str | None:
        """Rebuild for ``settings`` and replay to ``month`` (default: the current month).

        Returns ``None`` on success, else an error message (the current run is then kept).
        The run replaced is kept as :attr:`previous` if it had advanced.
        """
        with self.lock:
            target = self.model.month if month is None else month
            try:
                model = build_model(settings)
            except (ScenarioError, ValueError, ImportError) as exc:
                return describe_error(exc)
            history = self._new_history(model, settings)
            for _ in range(min(target, model.n_months)):
                model.step()
                history.record(model)
            if len(self.history) > 1:
                self.previous = self.history
            self.settings, self.model, self.history = settings, model, history
            self.version += 1
            return None

    def _new_history(self, model: AdoptionModel, settings: Settings | None = None) -> History:
        history = History(model.inputs, (settings or self.settings).label())
        if self.followed is not None and 0 <= self.followed < model.pop.n:
            history.trace = Trace(self.followed)
        history.record(model)
        return history

    def follow(self, row: int | None) -> str | None:
        """Follow professional ``row`` (None: nobody): the run is replayed to the current
        month recording the row's trace. Returns an error message for a row out of range."""
        with self.lock:
            if row is not None and not 0 <= row < self.model.pop.n:
                return f"row {row}: expected 0..{self.model.pop.n - 1}"
            self.followed = row
            previous = self.previous
            error = self.apply(self.settings)
            self.previous = previous  # the same run replayed: not a comparison
            return error

    def reset(self) -> str | None:
        """Back to month 0 with the current settings."""
        return self.apply(self.settings, month=0)

    def clear_previous(self) -> None:
        with self.lock:
            self.previous = None
            self.version += 1

    def role_demand(self) -> dict[str, tuple[str, np.ndarray]]:
        """FTE demand of each emerging role over the run so far, ``{id: (label, per month)}``
        (:mod:`adoption_abm.outputs.roles`), as recorded month by month in the history."""
        with self.lock:
            table = roles_for(self.model.inputs)
            recorded = {rid: np.array(v) for rid, v in self.history.roles.items()}
        return {rid: (table[rid].label, values) for rid, values in recorded.items()}

    def role_demand_recomputed(self) -> dict[str, np.ndarray]:
        """The same over the whole run at once (:func:`~adoption_abm.outputs.roles.role_demand`
        on the model's outputs): what the recorded series must equal."""
        with self.lock:
            return role_demand(self.model.outputs(), self.model.inputs)

    def states(self, rows: np.ndarray) -> np.ndarray:
        """Copy of ``state[rows]`` (N, F) taken under the lock."""
        with self.lock:
            return self.model.pop.state[rows].copy()
