"""``adoption-abm optimise``: the best portfolio of proposals within a budget, robust to the
effect priors (Optuna; see :mod:`adoption_abm.analysis.optimise`)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..i18n import _, about, general, number
from .errors import Commands, fail
from .options import (
    DaskLocal,
    Engine,
    Overrides,
    Progress,
    Rhythm,
    Scale,
    ScenarioName,
    Scheduler,
    Seed,
    Workers,
    command_line,
    dask_errors,
    executor_args,
    scenario_from_options,
    sigterm_interrupts,
)

app = Commands()

OBJECTIVE_NAMES = ("fte_freed", "multi_speed_gap", "cost_per_fte")  # analysis.portfolio.OBJECTIVES


def parse_proposals(text: str | None) -> list[int] | None:
    """``'6,7,12'`` or ``'1-5,12'`` → proposal numbers (None: all twenty); exit 2 otherwise."""
    if text is None:
        return None
    allowed = _("allowed numbers 1-20 separated by commas, or ranges such as '1-5,12'")
    out: set[int] = set()
    for part in text.replace(" ", "").split(","):
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            fail(f"--proposals {text!r}: {allowed}")
        first, last = int(lo), int(hi) if sep else int(lo)
        if not 1 <= first <= last <= 20:
            fail(f"--proposals {text!r}: {allowed}")
        out.update(range(first, last + 1))
    return sorted(out)


def _check_number(option: str, value: float | None, what: str) -> None:
    if value is not None and (not math.isfinite(value) or value <= 0):
        fail(
            about(
                f"{option} {general(value)}",
                _("must be a positive number of {unit}").format(unit=what),
            )
        )


@app.command("optimise")
def optimise_command(
    budget: Annotated[float, typer.Option(help="Yearly budget, M€ (committed ceilings).")],
    horizon: Annotated[
        int, typer.Option(help="Last year counted; proposals start before it.")
    ] = 2030,
    objective: Annotated[
        str,
        typer.Option(
            metavar="<name>",
            help="fte_freed (max), multi_speed_gap (min) or cost_per_fte (min), vs baseline.",
        ),
    ] = "fte_freed",
    out: Annotated[
        Path,
        typer.Option(help="Study folder (study.db and the report); re-running resumes it."),
    ] = Path("results/portfolio"),
    cumulative_budget: Annotated[
        float | None, typer.Option(help="Budget over the horizon, M€ (optional).")
    ] = None,
    robust: Annotated[
        str,
        typer.Option(
            metavar="<mean|qNN>",
            help="Mean over the draws, or the NN % quantile on the bad side (q10).",
        ),
    ] = "mean",
    draws: Annotated[int, typer.Option(help="Assumption draws (Latin hypercube).")] = 4,
    replications: Annotated[int, typer.Option(help="Replication seeds per draw.")] = 2,
    trials: Annotated[
        int, typer.Option(help="Sampler trials after the warm start (re-run larger to extend).")
    ] = 30,
    proposals: Annotated[
        str | None, typer.Option(help="Candidate proposals, e.g. '6,7,12' or '1-10' (all).")
    ] = None,
    scenario: ScenarioName = "france-2022",
    rhythm: Rhythm = "central",
    scale: Scale = 0.005,
    seed: Seed = 1,
    workers: Workers = 2,
    scheduler: Scheduler = None,
    dask: DaskLocal = None,
    engine: Engine = "cython",
    set_: Overrides = None,
    progress: Progress = True,
) -> None:
    """Search which proposals, at which intensity (0.5, 1, 1.5, 2) and from which start year,
    give the best robust objective within the budget: a seeded TPE (Optuna) warm-started with
    every single proposal and pair within the budget; portfolios over it are not run. Each
    portfolio runs DRAWS assumption draws x REPLICATIONS seeds, paired with the baseline. Writes
    OUT/report.md, report.html, pareto.png, trials.parquet, best.json; OUT/study.db resumes."""
    _check_number("--budget", budget, _("M€ a year"))
    _check_number("--cumulative-budget", cumulative_budget, "M€")
    if objective not in OBJECTIVE_NAMES:
        fail(
            about(
                f"--objective {objective!r}",
                _("allowed {allowed}").format(allowed=", ".join(OBJECTIVE_NAMES)),
            )
        )
    for name, value, low in (("--draws", draws, 1), ("--replications", replications, 1)):
        if value < low:
            fail(about(f"{name} {value}", _("must be at least {low}").format(low=low)))
    if trials < 0:
        fail(about(f"--trials {trials}", _("must be 0 or more")))
    candidates = parse_proposals(proposals)
    ex_args = executor_args(workers, scheduler, dask)
    try:
        import markdown_it  # noqa: F401
        import matplotlib  # noqa: F401
        import optuna  # noqa: F401
    except ImportError as exc:
        fail(
            _(
                "optimise needs the 'batch' and 'report' extras: "
                "pip install 'adoption-abm[batch,report]' ({error})"
            ).format(error=exc)
        )
    from ..analysis.optimise import StudyMismatch, optimise
    from ..analysis.portfolio import at_horizon, check_robust
    from ..analysis.portfolio_report import robust_name, write_report
    from ..model.limits import check_run_size
    from ..outputs.runfolder import check_output_folder

    try:
        check_robust(robust)
    except ValueError as exc:
        fail(f"--robust {exc}")
    sc = scenario_from_options(scenario, set_, rhythm)
    try:
        at_horizon(sc, horizon)
    except ValueError as exc:
        fail(f"--horizon {exc}")
    check_run_size(sc, scale, label="--scale", force_hint=None)
    check_output_folder(out)
    command = command_line()
    sigterm_interrupts()
    try:
        with dask_errors(ex_args):
            result = optimise(
                sc,
                out=out,
                budget=budget,
                horizon=horizon,
                objective=objective,
                cumulative_budget=cumulative_budget,
                robust=robust,
                draws=draws,
                replications=replications,
                trials=trials,
                proposals=candidates,
                scale=scale,
                seed=seed,
                rhythm=rhythm,
                engine=engine,
                progress=progress and sys.stderr.isatty(),
                **ex_args,
            )
    except StudyMismatch as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        typer.echo(
            "\n"
            + _(
                "interrupted; finished trials are kept in {study}: re-run the same command to "
                "resume"
            ).format(study=out / "study.db"),
            err=True,
        )
        raise typer.Exit(130) from None
    write_report(result, out, command=command)
    lines = [
        _(
            "{trials} trials ({warm} warm start), {session} this session: {runs} model runs "
            "in {seconds} s"
        ).format(
            trials=result.trials.height,
            warm=result.warm_start,
            session=result.trials_this_session,
            runs=result.runs,
            seconds=number(result.seconds, 1),
        )
        + f" → {out}/report.html"
    ]
    best = result.best
    if best is None:
        lines.append(_("no feasible portfolio evaluated"))
    else:
        per = best.per_draw(objective)
        lines.append(
            _(
                "best: {policy}  {objective} ({robust}) {value} [{low}, {high} over draws]; "
                "committed {largest} M€ in its largest year, {cumulative} M€ to {horizon}"
            ).format(
                policy=best.policy,
                objective=objective,
                robust=robust_name(robust),
                value=general(result.value(best), 4, group=True),
                low=general(min(per), 4, group=True),
                high=general(max(per), 4, group=True),
                largest=number(max(best.committed.values()), 0),
                cumulative=number(best.cumulative, 0),
                horizon=horizon,
            )
        )
    typer.echo("\n".join(lines))
