"""``adoption-abm batch | sensitivity | calibrate``: experiments on local processes or Dask,
their sensitivity indices, and the calibration. See docs/BATCH.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..i18n import _, about, general, ngettext, number
from .errors import Commands, fail
from .options import (
    DaskLocal,
    Overrides,
    Progress,
    Scheduler,
    Workers,
    check_seed,
    dask_errors,
    executor_args,
    sigterm_interrupts,
)

app = Commands()


def check_output_folder(out: Path) -> None:
    """``--out`` can be created or written (exit 2 naming it, before any work)."""
    from ..outputs.runfolder import check_output_folder as check

    check(out)


def _run_batch(experiment: Path, out: Path, ex_args: dict, chunk_size: int | None, progress: bool):
    """Run or resume a batch; Ctrl-C (or SIGTERM) → exit 130 with a resume hint. Expected errors
    are reported by the command class."""
    from ..batch.runner import run_batch

    sigterm_interrupts()
    try:
        with dask_errors(ex_args):
            return run_batch(experiment, out, chunk_size=chunk_size, progress=progress, **ex_args)
    except KeyboardInterrupt:
        typer.echo(
            "\n"
            + _(
                "interrupted; finished runs are kept in {out}: re-run the same command to resume"
            ).format(out=out),
            err=True,
        )
        raise typer.Exit(130) from None


@app.command()
def batch(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment TOML file (see experiments/*.toml).")
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder; re-running into it resumes the batch.")
    ] = Path("results"),
    workers: Workers = None,
    scheduler: Scheduler = None,
    dask: DaskLocal = None,
    chunk_size: Annotated[
        int | None, typer.Option(min=1, help="Runs per task (default: the file's, or auto).")
    ] = None,
    progress: Progress = True,
) -> None:
    """Run an experiment: every design point × replication, seeded from the root seed.

    Writes a Parquet dataset (OUT/data), the index OUT/runs.parquet and OUT/provenance.json.
    Re-running the same command skips finished runs.
    """
    check_output_folder(out)
    report = _run_batch(
        experiment, out, executor_args(workers, scheduler, dask), chunk_size, progress
    )
    msg = _(
        "{done} of {total} runs done ({now} now, {before} before) in {seconds} s on {executor}"
    ).format(
        done=report.skipped + report.computed,
        total=report.total,
        now=report.computed,
        before=report.skipped,
        seconds=number(report.seconds, 1),
        executor=report.executor,
    )
    typer.echo(f"{msg} → {out}")
    if report.failed:
        typer.echo(
            ngettext(
                "{n} run failed (see status and error in {index}); re-running retries it",
                "{n} runs failed (see status and error in {index}); re-running retries them",
                report.failed,
            ).format(n=report.failed, index=out / "runs.parquet"),
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def sensitivity(
    experiment: Annotated[
        Path | None,
        typer.Argument(
            help="Experiment TOML file with design kind 'sobol' or 'morris' (not with --priors).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            help="Output folder; re-running into it resumes the batch (with --priors: the "
            "report folder, refused if it exists, see --overwrite)."
        ),
    ] = Path("sensitivity"),
    workers: Workers = None,
    scheduler: Scheduler = None,
    dask: DaskLocal = None,
    output: Annotated[
        list[str] | None,
        typer.Option(
            help="Output to analyse (repeatable; default: the file's [analysis].outputs)."
        ),
    ] = None,
    progress: Progress = True,
    priors: Annotated[
        bool,
        typer.Option(
            "--priors",
            help="Sobol indices over the proposals' effect priors instead of an experiment: "
            "which assumption decides --policy's effect (or its lead over --versus).",
        ),
    ] = False,
    policy: Annotated[
        str | None,
        typer.Option(help="With --priors: the policy, e.g. '6,10', 'all', '6@2025-01x0.5'."),
    ] = None,
    versus: Annotated[
        str | None,
        typer.Option(help="With --priors: a second policy; the output is P's effect minus Q's."),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            help="With --priors: the output (as in compare's report).", show_default="realised_all"
        ),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(help="With --priors: the year (end of December).", show_default="2030"),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            help="With --priors: Saltelli's base samples N, a power of 2 (N x (D + 2) draws).",
            show_default="64",
        ),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option(help="With --priors: common seeds per draw.", show_default="2"),
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option(
            metavar="<effect|proposal>",
            help="With --priors: one factor per prior (effect) or per proposal (proposal).",
            show_default="effect",
        ),
    ] = None,
    scale: Annotated[
        float | None,
        typer.Option(help="With --priors: agents per real professional.", show_default="0.01"),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="With --priors: root seed of the design, the runs and the bootstrap, "
            "0 to 2^64 - 1.",
            callback=check_seed,
            show_default="1",
        ),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="With --priors: built-in scenario or TOML file.", show_default="france-2022"
        ),
    ] = None,
    rhythm: Annotated[
        str | None, typer.Option(help="With --priors: adoption rhythm.", show_default="central")
    ] = None,
    set_: Overrides = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="With --priors: replace an existing --out report.")
    ] = False,
) -> None:
    """Sobol (S1, ST with confidence intervals) or Morris (μ*, σ) indices: runs the batch in
    OUT (or finishes it: re-running resumes), then writes OUT/sensitivity.{md,csv,parquet,png}.

    With --priors (no EXPERIMENT): Sobol indices over the effect priors of the proposals in
    --policy (and --versus), each draw run on common seeds paired with the baseline; writes
    OUT/sensitivity.{md,html,png}, indices.parquet, draws.parquet and runs.parquet."""
    prior_options = {
        "--policy": policy,
        "--versus": versus,
        "--metric": metric,
        "--year": year,
        "--samples": samples,
        "--replications": replications,
        "--groups": groups,
        "--scale": scale,
        "--seed": seed,
        "--scenario": scenario,
        "--rhythm": rhythm,
        "--set": set_,
        "--overwrite": overwrite or None,
    }
    if priors:
        if experiment is not None:
            fail(
                about(
                    f"EXPERIMENT {experiment}",
                    _(
                        "not with --priors (the prior analysis makes its own design); give one or "
                        "the other"
                    ),
                )
            )
        if output:
            fail(
                about(
                    "--output", _("only for an EXPERIMENT; with --priors use --metric and --year")
                )
            )
        from .priors import run_priors

        run_priors(
            policy=policy,
            versus=versus,
            metric=metric or "realised_all",
            year=2030 if year is None else year,
            samples=64 if samples is None else samples,
            replications=2 if replications is None else replications,
            groups=groups or "effect",
            scale=0.01 if scale is None else scale,
            seed=1 if seed is None else seed,
            scenario=scenario or "france-2022",
            rhythm=rhythm or "central",
            set_=set_,
            out=out,
            overwrite=overwrite,
            ex_args=executor_args(workers, scheduler, dask),
            progress=progress,
        )
        return
    given = [name for name, v in prior_options.items() if v is not None]
    if given:
        fail(about(given[0], _("only with --priors (an EXPERIMENT sets its own runs)")))
    if experiment is None:
        fail(
            about(
                "EXPERIMENT",
                _(
                    "missing; give an experiment TOML file (design kind 'sobol' or 'morris'), or "
                    "--priors --policy P for the effect priors"
                ),
            )
        )
    _experiment_sensitivity(
        experiment, out, executor_args(workers, scheduler, dask), output, progress
    )


def _experiment_sensitivity(
    experiment: Path, out: Path, ex_args: dict, output: list[str] | None, progress: bool
) -> None:
    """The batch analysis: run or finish the experiment in ``out``, then its indices."""
    from ..batch.experiment import ExperimentError, load_experiment
    from ..batch.sensitivity import analyse, markdown, write_report
    from ..batch.store import read_results

    check_output_folder(out)
    exp = load_experiment(experiment)
    if exp.design.kind not in ("sobol", "morris"):
        raise ExperimentError(
            experiment,
            [
                (
                    "design.kind",
                    _("sensitivity needs 'sobol' or 'morris', got {kind!r}").format(
                        kind=exp.design.kind
                    ),
                )
            ],
        )
    report = _run_batch(experiment, out, ex_args, None, progress)
    if not report.complete:
        failed = report.total - report.computed - report.skipped
        text = ngettext("{n} run failed; see {index}", "{n} runs failed; see {index}", failed)
        typer.echo(
            _("error: {message}").format(message=text.format(n=failed, index=out / "runs.parquet")),
            err=True,
        )
        raise typer.Exit(1)
    table = analyse(exp, read_results(out), outputs=output)
    paths = write_report(exp, table, out)
    typer.echo(markdown(table))
    typer.echo(f"→ {paths['md']}, {paths['png']}")


def packaged_calibration() -> Path:
    """What ``calibrate`` runs without a file: the calibration of the default scenario,
    shipped in the package as ``adoption_abm/batch/data/calibrate.toml``
    (``experiments/calibrate.toml`` in a checkout is a link to it)."""
    from importlib import resources

    return Path(str(resources.files("adoption_abm.batch").joinpath("data", "calibrate.toml")))


@app.command()
def calibrate(
    config: Annotated[
        Path | None,
        typer.Argument(
            help="Calibration TOML file (experiments/calibrate.toml, in a checkout, is a link "
            "to the default).",
            show_default="the calibration of france-2022 shipped in the package",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Output folder; re-running into it resumes from its trace.")
    ] = Path("calibration"),
    workers: Workers = None,
    scheduler: Scheduler = None,
    dask: DaskLocal = None,
    progress: Progress = True,
) -> None:
    """Fit the free behavioural parameters to the seed targets (simulated method of
    moments, Nelder-Mead, common random numbers); writes OUT/calibration.json and
    OUT/residuals.{md,csv,parquet}; re-running replays the evaluations done."""
    import warnings

    from ..batch.calibrate import (
        JustIdentifiedWarning,
        just_identified_message,
        load_calibration,
        residual_markdown,
    )
    from ..batch.calibrate import calibrate as run_calibration

    check_output_folder(out)
    ex_args = executor_args(workers, scheduler, dask)
    config = config or packaged_calibration()
    sigterm_interrupts()
    try:
        cal = load_calibration(config)
        if cal.degrees_of_freedom == 0:
            message = f"{config}: {just_identified_message(cal)}"
            typer.echo(_("warning: {message}").format(message=message), err=True)
        with dask_errors(ex_args), warnings.catch_warnings():
            warnings.simplefilter("ignore", JustIdentifiedWarning)
            result = run_calibration(
                cal,
                out,
                progress=progress and sys.stderr.isatty(),
                text=config.read_text(encoding="utf-8"),
                **ex_args,
            )
    except KeyboardInterrupt:
        typer.echo(
            "\n"
            + _("interrupted; evaluations are kept in {trace}: re-run to resume").format(
                trace=f"{out}/trace.parquet"
            ),
            err=True,
        )
        raise typer.Exit(130) from None
    fitted = ", ".join(f"{k} = {number(v, 4, group=False)}" for k, v in result["fitted"].items())
    status = _("converged") if result["converged"] else result["message"]
    typer.echo(
        _("fitted: {fitted}").format(fitted=fitted)
        + "\n"
        + ngettext(
            "objective {objective} after {n} evaluation ({status})",
            "objective {objective} after {n} evaluations ({status})",
            result["evaluations"],
        ).format(objective=general(result["objective"], 4), n=result["evaluations"], status=status)
    )
    typer.echo(residual_markdown(result["residuals"], result["identification"]))
    typer.echo(f"→ {out / 'calibration.json'}")
