"""Which effect prior decides the answer: Sobol indices (SALib) over the proposals' priors.

The question is one number per assumption draw: the effect of a policy ``P`` on a metric at a
year (``P`` minus baseline), or a ranking question, the effect of ``P`` minus that of ``Q``
("does 10 beat 6?"). The inputs are the effect priors of the proposals in ``P`` (and ``Q``),
:func:`adoption_abm.policies.priors.priors`; optionally grouped by proposal (SALib ``groups``),
so that all twenty proposals make 20 factors instead of about 55.

Design: Saltelli's scheme on SALib's scrambled Sobol' sequence (seeded; second order off), ``N``
base samples, ``N (D + 2)`` rows for ``D`` factors. Each column of the unit cube goes through its
prior's quantile; each row is an assumption draw (:func:`~adoption_abm.policies.priors.
apply_draw`) run on the same ``R`` replication seeds (common random numbers), paired with the
baseline, which runs once per seed. The runs go through :func:`adoption_abm.analysis.compare.
compare` (in this process, local processes or Dask: same results). A row's output is the mean
over the seeds of the paired difference. :func:`analyse` gives first-order ``S1`` and total
``ST`` indices with bootstrap confidence half-widths (seeded).

Monte-Carlo noise: the ``R`` seeds of a row give the variance of its paired difference; divided
by ``R`` and by the variance of the output over the rows it is the *noise share*, an upper bound
on what noise adds to each ``ST`` (Jansen's estimator adds the noise variance of a pair of rows;
common seeds make neighbouring rows' noise correlated, which lowers it). An index is *resolved*
when ``ST - ST_conf > 0`` and *above noise* when ``ST - ST_conf`` exceeds the noise share.

Runs stop at the end of the asked year when no intervention starts later: the model is causal
(a month depends only on the months before), so the year's outputs are those of a run to the
scenario's end (``tests/test_prior_sensitivity.py`` checks it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from ..batch.executors import Executor
from ..batch.seeds import replication_seeds
from ..i18n import _, about
from ..policies.catalogue import catalogue
from ..policies.parse import parse_policy
from ..policies.priors import Prior, apply_draw, priors
from ..scenario.load import load_scenario, with_overrides
from ..scenario.schema import Scenario
from .compare import METRIC_LABELS, compare

GROUPINGS = ("effect", "proposal")
"""Factors of the problem: one per prior (``effect``) or one per proposal (``proposal``)."""
Grouping = Literal["effect", "proposal"]


@dataclass(frozen=True)
class Factor:
    """One input of the SALib problem: a prior, or all the priors of one proposal."""

    name: str  # ``p6.e0.training`` or ``p6``
    proposal: int
    priors: tuple[Prior, ...]

    @property
    def channels(self) -> str:
        """The channels the factor's priors act on, comma-separated."""
        return ", ".join(p.channel for p in self.priors)


@dataclass
class PriorSensitivity:
    """The result of :func:`prior_sensitivity` (frames are Polars).

    * ``indices``: one row per factor, sorted by ST (largest first): S1, ST, their half-widths,
      ``resolved`` (ST - conf > 0), ``above_noise`` and the catalogue's description.
    * ``draws``: one row per design row: the unit-cube point (``u.<prior>``), the effect values
      drawn (``<prior>``), the output ``y`` and, with two seeds or more, its noise variance.
    * ``runs``: the comparison's runs (every metric), with the design row and the role
      (``policy``, ``versus``, ``baseline``) of each: the analysis can be redone from it.
    * ``meta``: the question, the design, the output's distribution over the draws, timings.
    """

    indices: pl.DataFrame
    draws: pl.DataFrame
    runs: pl.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The problem
# ---------------------------------------------------------------------------------------------
def factors(prior_list: Sequence[Prior], grouping: Grouping = "effect") -> list[Factor]:
    """The problem's factors, in catalogue order."""
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping {grouping!r}: allowed {', '.join(GROUPINGS)}")
    if grouping == "effect":
        return [Factor(p.name, p.proposal, (p,)) for p in prior_list]
    by: dict[int, list[Prior]] = {}
    for p in prior_list:
        by.setdefault(p.proposal, []).append(p)
    return [Factor(f"p{n}", n, tuple(ps)) for n, ps in by.items()]


def problem(prior_list: Sequence[Prior], grouping: Grouping = "effect") -> dict[str, Any]:
    """SALib's problem over the unit cube, one variable per prior (mapped through the prior's
    quantile later), with ``groups`` (one per proposal) for ``grouping='proposal'``."""
    if not prior_list:
        raise ValueError("no uncertain effect: the problem needs at least one prior")
    out: dict[str, Any] = {
        "num_vars": len(prior_list),
        "names": [p.name for p in prior_list],
        "bounds": [[0.0, 1.0]] * len(prior_list),
    }
    if grouping == "proposal":
        out["groups"] = [f"p{p.proposal}" for p in prior_list]
    return out


def check_samples(samples: int) -> None:
    """``samples`` is a power of two, at least 2 (Saltelli's scheme on Sobol' points)."""
    if samples < 2 or samples & (samples - 1):
        raise ValueError(
            f"samples {samples}: must be a power of 2, at least 2 (e.g. 8, 16, 64), "
            "for the Sobol' sequence"
        )


def design(
    prior_list: Sequence[Prior], samples: int, seed: int, grouping: Grouping = "effect"
) -> tuple[np.ndarray, np.ndarray]:
    """``(u, x)``: the Saltelli design on the unit cube (SALib, seeded, second order off) and
    the effect values, each column through its prior's quantile. ``N (D + 2)`` rows."""
    check_samples(samples)
    from SALib.sample import sobol

    u = sobol.sample(
        problem(prior_list, grouping), samples, calc_second_order=False, seed=seed % 2**32
    )
    x = np.column_stack([p.quantile(u[:, j]) for j, p in enumerate(prior_list)])
    return u, x


def analyse(
    prior_list: Sequence[Prior],
    y: np.ndarray,
    grouping: Grouping = "effect",
    *,
    seed: int = 1,
    resamples: int = 1000,
    conf_level: float = 0.95,
    noise_share: float = math.nan,
) -> pl.DataFrame:
    """Sobol indices of the outputs ``y`` (one per design row), one row per factor, sorted by
    ST: S1, ST with their bootstrap half-widths (seeded), ``resolved``, ``above_noise`` and the
    catalogue's description of the factor."""
    y = np.asarray(y, dtype=np.float64)
    if not np.isfinite(y).all():
        raise ValueError("the output is not finite for every draw (a metric without value?)")
    from SALib.analyze import sobol

    fs = factors(prior_list, grouping)
    si = sobol.analyze(
        problem(prior_list, grouping),
        y,
        calc_second_order=False,
        num_resamples=resamples,
        conf_level=conf_level,
        seed=seed % 2**32,
    )
    titles = catalogue().proposals
    rows = []
    for j, f in enumerate(fs):
        st, st_conf = float(si["ST"][j]), float(si["ST_conf"][j])
        rows.append(
            {
                "factor": f.name,
                "proposal": f.proposal,
                "title": titles[f.proposal].title,
                "channels": f.channels,
                "priors": len(f.priors),
                "low": ", ".join(f"{p.low:g}" for p in f.priors),
                "central": ", ".join(f"{p.value:g}" for p in f.priors),
                "high": ", ".join(f"{p.high:g}" for p in f.priors),
                "distribution": ", ".join(p.distribution for p in f.priors),
                "source": " | ".join(p.source for p in f.priors),
                "S1": float(si["S1"][j]),
                "S1_conf": float(si["S1_conf"][j]),
                "ST": st,
                "ST_conf": st_conf,
                "resolved": bool(st - st_conf > 0),
                "above_noise": bool(st - st_conf > noise_share)
                if math.isfinite(noise_share)
                else None,
            }
        )
    schema_over = {"above_noise": pl.Boolean}
    frame = pl.DataFrame(rows, schema_overrides=schema_over)
    return frame.sort(["ST", "factor"], descending=[True, False], maintain_order=True)


# ---------------------------------------------------------------------------------------------
# Running the design
# ---------------------------------------------------------------------------------------------
def _starts_after(ivs: Sequence[dict], year: int) -> bool:
    return any(int(str(iv.get("start") or "0")[:4] or 0) > year for iv in ivs)


def run_scenario(sc: Scenario, year: int, interventions: Sequence[dict]) -> Scenario:
    """The scenario the runs use: stopped at the end of ``year`` unless an intervention
    (of the scenario or the policies) starts after it (see the module docstring)."""
    if year >= sc.end_year or _starts_after(list(sc.interventions) + list(interventions), year):
        return sc
    return with_overrides(sc, {"end_year": year}, label="prior sensitivity")


def check_question(sc: Scenario, metric: str, year: int) -> None:
    """``metric`` is an output of :data:`METRIC_LABELS` and ``year`` inside the scenario."""
    if metric not in METRIC_LABELS:
        raise ValueError(f"metric {metric!r}: allowed {', '.join(METRIC_LABELS)}")
    if not sc.start_year <= year <= sc.end_year:
        raise ValueError(
            f"year {year}: must lie within the scenario's {sc.start_year}-{sc.end_year}"
        )


def question_priors(
    sc: Scenario, policy: str, versus: str | None = None
) -> tuple[list[dict], list[dict] | None, list[Prior]]:
    """The interventions of ``policy`` and ``versus`` and the priors of their proposals.
    Raises ``ValueError`` if the policy is the baseline, both are the same, or no proposal of
    theirs has an uncertain effect."""
    p_ivs = parse_policy(policy, sc)
    if not p_ivs:
        raise ValueError(
            about(f"policy {policy!r}", _("the baseline has no effect prior; name proposals"))
        )
    q_ivs = None if versus is None else parse_policy(versus, sc)
    if q_ivs is not None and sorted(map(str, q_ivs)) == sorted(map(str, p_ivs)):
        raise ValueError(  # "versus" first: the command names --versus for it
            about(f"versus {versus!r}", _("the same policy as {policy!r}").format(policy=policy))
        )
    proposals = {int(iv["proposal"]) for iv in p_ivs + (q_ivs or [])}
    prior_list = priors(proposals)
    if not prior_list:
        raise ValueError(
            about(
                f"policy {policy!r}",
                _("its proposals ({proposals}) have no uncertain effect").format(
                    proposals=", ".join(map(str, sorted(proposals)))
                ),
            )
        )
    return p_ivs, q_ivs, prior_list


def prior_sensitivity(
    scenario: str | Scenario = "france-2022",
    policy: str = "6,10",
    *,
    versus: str | None = None,
    metric: str = "realised_all",
    year: int = 2030,
    samples: int = 64,
    replications: int = 2,
    grouping: Grouping = "effect",
    seed: int = 1,
    scale: float = 0.01,
    rhythm: str = "central",
    engine: str = "cython",
    resamples: int = 1000,
    conf_level: float = 0.95,
    workers: int | None = 1,
    scheduler: str | None = None,
    dask_local: bool = False,
    executor: Executor | None = None,
    progress: bool = False,
    on_result: Callable[[int, int], None] | None = None,
) -> PriorSensitivity:
    """Sobol indices of the effect of ``policy`` (minus that of ``versus``) over the priors.

    Args:
        scenario: built-in name, TOML path or :class:`Scenario`.
        policy, versus: ``--policy`` strings (``'6,10'``, ``'all'``, ``'6@2025-01x0.5'``).
        metric, year: the output (a key of :data:`METRIC_LABELS`) at the end of December.
        samples: Saltelli's base samples ``N`` (a power of 2); ``N (D + 2)`` draws.
        replications: seeds per draw (the same for every draw and the baseline).
        grouping: ``'effect'`` (a factor per prior) or ``'proposal'`` (per proposal).
        seed: root seed of the design, the replication seeds and the bootstrap.
        scale, rhythm, engine: as for :class:`~adoption_abm.model.AdoptionModel`.
        resamples, conf_level: the bootstrap of the confidence half-widths.
        workers, scheduler, dask_local, executor, progress, on_result: as for
            :func:`~adoption_abm.analysis.compare.compare`; results do not depend on them.
    """
    t0 = time.perf_counter()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping {grouping!r}: allowed {', '.join(GROUPINGS)}")
    if replications < 1:
        raise ValueError(f"replications {replications}: must be at least 1")
    check_samples(samples)
    check_question(sc, metric, year)
    p_ivs, q_ivs, prior_list = question_priors(sc, policy, versus)
    u, x = design(prior_list, samples, seed, grouping)
    n_rows = u.shape[0]

    labels: list[tuple[str, int, str]] = []  # (label, row, role)
    pols: list[tuple[str, list[dict]]] = []
    for i in range(n_rows):
        pols.append((f"draw {i}", apply_draw(p_ivs, prior_list, x[i])))
        labels.append((f"draw {i}", i, "policy"))
        if q_ivs is not None:
            pols.append((f"versus {i}", apply_draw(q_ivs, prior_list, x[i])))
            labels.append((f"versus {i}", i, "versus"))
    run_sc = run_scenario(sc, year, p_ivs + (q_ivs or []))
    seeds = replication_seeds(seed, replications)
    t1 = time.perf_counter()
    cmp = compare(
        run_sc,
        [("baseline", []), *pols],
        seeds=seeds,
        scale=scale,
        rhythm=rhythm,
        engine=engine,
        years=(year,),
        workers=workers,
        scheduler=scheduler,
        dask_local=dask_local,
        executor=executor,
        progress=progress,
        on_result=on_result,
    )
    t2 = time.perf_counter()

    runs = cmp.runs.filter(pl.col("year") == year).with_columns(pl.col("policy").cast(pl.String))
    grid = runs.pivot(on="replication", index="policy", values=metric)  # policy x seed
    rep_cols = [str(r) for r in range(replications)]
    value = {
        row[0]: np.array(row[1:], dtype=np.float64)
        for row in grid.select("policy", *rep_cols).iter_rows()
    }
    base = value["baseline"]
    diffs = np.stack([value[f"draw {i}"] - base for i in range(n_rows)])  # (rows, R)
    if q_ivs is not None:
        diffs = diffs - np.stack([value[f"versus {i}"] - base for i in range(n_rows)])
    y = diffs.mean(axis=1)
    var_y = float(np.var(y, ddof=1)) if n_rows > 1 else math.nan
    if replications > 1:
        noise = diffs.var(axis=1, ddof=1)
        noise_share = float(noise.mean() / replications / var_y) if var_y > 0 else math.inf
    else:
        noise, noise_share = np.full(n_rows, math.nan), math.nan
    indices = analyse(
        prior_list,
        y,
        grouping,
        seed=seed,
        resamples=resamples,
        conf_level=conf_level,
        noise_share=noise_share,
    )
    t3 = time.perf_counter()

    draw_cols: dict[str, Any] = {"row": np.arange(n_rows)}
    for j, p in enumerate(prior_list):
        draw_cols[f"u.{p.name}"] = u[:, j]
    for j, p in enumerate(prior_list):
        draw_cols[p.name] = x[:, j]
    draw_cols["y"] = y
    draw_cols["y_noise_var"] = noise
    draws = pl.DataFrame(draw_cols)
    role = pl.DataFrame(
        {
            "policy": ["baseline"] + [lab for lab, _i, _r in labels],
            "row": [None] + [i for _lab, i, _r in labels],
            "role": ["baseline"] + [r for _lab, _i, r in labels],
        },
        schema={"policy": pl.String, "row": pl.Int64, "role": pl.String},
    )
    runs = role.join(runs, on="policy", how="right").select(
        "row", "role", pl.exclude("row", "role")
    )

    fs = factors(prior_list, grouping)
    meta = {
        "question": "versus" if versus is not None else "effect",
        "policy": policy,
        "versus": versus,
        "metric": metric,
        "metric_label": METRIC_LABELS[metric],
        "year": year,
        "grouping": grouping,
        "samples": samples,
        "factors": [f.name for f in fs],
        "priors": [p.name for p in prior_list],
        "rows": n_rows,
        "replications": replications,
        "seeds": seeds,
        "runs": (len(pols) + 1) * replications,
        "seed": seed,
        "scale": scale,
        "rhythm": rhythm,
        "engine": engine,
        "scenario": sc.name,
        "end_year_run": run_sc.end_year,
        "resamples": resamples,
        "conf_level": conf_level,
        "y_mean": float(y.mean()),
        "y_sd": float(math.sqrt(var_y)) if math.isfinite(var_y) else math.nan,
        "y_q05": float(np.quantile(y, 0.05)),
        "y_q95": float(np.quantile(y, 0.95)),
        "p_positive": float(np.mean(y > 0)),
        "noise_share": noise_share,
        "executor": cmp.meta.get("executor"),
        "seconds_runs": t2 - t1,
        "seconds_total": t3 - t0,
        "version": cmp.meta.get("version"),
    }
    return PriorSensitivity(indices, draws, runs, meta)
