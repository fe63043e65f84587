"""``adoption-abm batch | sensitivity | calibrate``: experiments on local processes or Dask,
their sensitivity indices, and the calibration. See docs/BATCH.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import Commands
from .options import (
    DaskLocal,
    Progress,
    Scheduler,
    Workers,
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
            f"\ninterrupted; finished runs are kept in {out}: re-run the same command to resume",
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
    msg = (
        f"{report.skipped + report.computed} of {report.total} runs done "
        f"({report.computed} now, {report.skipped} before) "
        f"in {report.seconds:.1f} s on {report.executor} "
        f"→ {out}"
    )
    typer.echo(msg)
    if report.failed:
        typer.echo(
            f"{report.failed} runs failed (see status and error in {out / 'runs.parquet'}); "
            "re-running retries them",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def sensitivity(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment TOML file with design kind 'sobol' or 'morris'.")
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder; re-running into it resumes the batch.")
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
) -> None:
    """Sobol (S1, ST with confidence intervals) or Morris (μ*, σ) indices: runs the batch in
    OUT (or finishes it: re-running resumes), then writes OUT/sensitivity.{md,csv,parquet,png}."""
    from ..batch.experiment import ExperimentError, load_experiment
    from ..batch.sensitivity import analyse, markdown, write_report
    from ..batch.store import read_results

    check_output_folder(out)
    exp = load_experiment(experiment)
    if exp.design.kind not in ("sobol", "morris"):
        raise ExperimentError(
            experiment,
            [("design.kind", f"sensitivity needs 'sobol' or 'morris', got {exp.design.kind!r}")],
        )
    report = _run_batch(experiment, out, executor_args(workers, scheduler, dask), None, progress)
    if not report.complete:
        typer.echo(
            f"error: {report.total - report.computed - report.skipped} runs failed; "
            f"see {out / 'runs.parquet'}",
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
            typer.echo(f"warning: {config}: {just_identified_message(cal)}", err=True)
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
            f"\ninterrupted; evaluations are kept in {out}/trace.parquet: re-run to resume",
            err=True,
        )
        raise typer.Exit(130) from None
    fitted = ", ".join(f"{k} = {v:.4f}" for k, v in result["fitted"].items())
    typer.echo(
        f"fitted: {fitted}\nobjective {result['objective']:.4g} "
        f"after {result['evaluations']} evaluations "
        f"({'converged' if result['converged'] else result['message']})"
    )
    typer.echo(residual_markdown(result["residuals"], result["identification"]))
    typer.echo(f"→ {out / 'calibration.json'}")
