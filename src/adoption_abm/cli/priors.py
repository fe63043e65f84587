"""``adoption-abm sensitivity --priors``: which effect prior decides a policy's effect or a
ranking (:mod:`adoption_abm.analysis.prior_sensitivity`). The options are checked here, before
any run, each bad one exiting 2 with one line that names it and what is allowed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ..i18n import _, about, number
from .errors import fail
from .options import command_line, dask_errors, scenario_from_options, sigterm_interrupts

GROUPS = ("effect", "proposal")
PRIOR_ONLY = (
    "--policy",
    "--versus",
    "--metric",
    "--year",
    "--samples",
    "--replications",
    "--groups",
    "--scale",
    "--seed",
    "--scenario",
    "--rhythm",
    "--set",
    "--overwrite",
)
"""Options that only the prior analysis takes (the batch analysis reads its experiment)."""


def check_options(
    *,
    scenario: Any,
    policy: str | None,
    versus: str | None,
    metric: str,
    year: int,
    samples: int,
    replications: int,
    groups: str,
    scale: float,
) -> tuple[list[dict], list[dict] | None]:
    """Every option of the prior analysis checked against the loaded scenario; returns the
    interventions of ``--policy`` and ``--versus``."""
    from ..analysis.compare import METRIC_LABELS
    from ..analysis.prior_sensitivity import question_priors
    from ..model.limits import check_run_size
    from ..policies.parse import parse_policy
    from ..scenario.errors import ScenarioError

    if not policy:
        fail(about("--policy", _("required with --priors, e.g. --policy 6,10 or --policy all")))
    if metric not in METRIC_LABELS:
        fail(
            about(
                f"--metric {metric!r}",
                _("allowed {allowed}").format(allowed=", ".join(METRIC_LABELS)),
            )
        )
    if not scenario.start_year <= year <= scenario.end_year:
        fail(
            about(
                f"--year {year}",
                _("must lie within the scenario's {start}-{end} (e.g. --year 2030)").format(
                    start=scenario.start_year, end=scenario.end_year
                ),
            )
        )
    if samples < 2 or samples & (samples - 1):
        fail(about(f"--samples {samples}", _("must be a power of 2, at least 2 (e.g. 8, 16, 64)")))
    if replications < 1:
        fail(about(f"--replications {replications}", _("must be at least {low}").format(low=1)))
    if groups not in GROUPS:
        fail(
            about(
                f"--groups {groups!r}",
                _("allowed {first} or {second}").format(first=GROUPS[0], second=GROUPS[1]),
            )
        )
    check_run_size(scenario, scale, label="--scale", force_hint=None)
    for option, text in (("--policy", policy), ("--versus", versus)):
        if text is None:
            continue
        try:
            parse_policy(text, scenario)
        except ValueError as exc:
            if isinstance(exc, ScenarioError):
                raise
            fail(about(f"{option} {text!r}", str(exc)))
    try:
        p_ivs, q_ivs, _priors = question_priors(scenario, policy, versus)
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        option = "--versus" if str(exc).startswith("versus") else "--policy"
        fail(about(option, str(exc)))
    return p_ivs, q_ivs


def run_priors(
    *,
    policy: str | None,
    versus: str | None,
    metric: str,
    year: int,
    samples: int,
    replications: int,
    groups: str,
    scale: float,
    seed: int,
    scenario: str,
    rhythm: str,
    set_: list[str] | None,
    out: Path,
    overwrite: bool,
    ex_args: dict[str, Any],
    progress: bool,
) -> None:
    """Check the options, run the analysis and write its report into ``out`` as a whole."""
    sc = scenario_from_options(scenario, set_, rhythm)
    check_options(
        scenario=sc,
        policy=policy,
        versus=versus,
        metric=metric,
        year=year,
        samples=samples,
        replications=replications,
        groups=groups,
        scale=scale,
    )
    from ..analysis.prior_report import write_report
    from ..analysis.prior_sensitivity import prior_sensitivity
    from ..outputs.runfolder import RunFolder

    command = command_line()
    sigterm_interrupts()
    try:
        with RunFolder(out, overwrite=overwrite, marker="meta.json") as folder:  # before any run
            with dask_errors(ex_args):
                res = prior_sensitivity(
                    sc,
                    policy,  # type: ignore[arg-type]
                    versus=versus,
                    metric=metric,
                    year=year,
                    samples=samples,
                    replications=replications,
                    grouping=groups,  # type: ignore[arg-type]
                    seed=seed,
                    scale=scale,
                    rhythm=rhythm,
                    progress=progress and sys.stderr.isatty(),
                    **ex_args,
                )
            folder.fill(lambda tmp: write_report(res, tmp, command=command), "the report")
            folder.commit()
    except KeyboardInterrupt:
        typer.echo(_("interrupted: no report written"), err=True)
        raise typer.Exit(130) from None
    from ..analysis.prior_report import reading

    top = res.indices.select("factor", "S1", "S1_conf", "ST", "ST_conf").rows()
    lines = [
        _("{draws} draws x {seeds} seeds ({runs} runs) in {seconds} s on {executor}").format(
            draws=res.meta["rows"],
            seeds=replications,
            runs=res.meta["runs"],
            seconds=number(res.meta["seconds_total"], 1),
            executor=res.meta["executor"],
        )
        + f" → {out}/sensitivity.md"
    ]
    lines += [
        f"{f}: S1 {number(s1, 3)} ± {number(c1, 3)}, ST {number(st, 3)} ± {number(ct, 3)}"
        for f, s1, c1, st, ct in top
    ]
    lines.append(reading(res))
    typer.echo("\n".join(lines))
