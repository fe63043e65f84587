"""Commands of the batch module (registered on the main Typer app by ``cli.py``):
``batch``, ``sensitivity`` and ``calibrate``. See docs/BATCH.md."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        min=1,
        help="Local worker processes (default: all CPUs; 1 = in this process).",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (runs on that cluster)."),
]
DaskLocal = Annotated[
    str | None,
    typer.Option(
        "--dask", help="'local': start a Dask LocalCluster on 127.0.0.1 with --workers workers."
    ),
]
Progress = Annotated[bool, typer.Option(help="Show a progress bar with ETA (on stderr).")]


def _executor_args(workers: int | None, scheduler: str | None, dask: str | None) -> dict:
    from .main import fail

    if dask is not None and dask != "local":
        fail(
            f"--dask {dask!r}: allowed 'local' (for a remote cluster use --scheduler tcp://HOST:PORT)"
        )
    if scheduler and dask:
        fail("--scheduler and --dask: give one of them")
    if scheduler and not scheduler.startswith(
        ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")
    ):
        fail(f"--scheduler {scheduler!r}: expected an address such as tcp://HOST:PORT")
    return {"workers": workers, "scheduler": scheduler, "dask_local": dask == "local"}


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by the kill tests in a subprocess
    raise KeyboardInterrupt


def _run_batch(experiment: Path, out: Path, ex_args: dict, chunk_size: int | None, progress: bool):
    """Run or resume a batch; expected errors → exit 2, Ctrl-C → exit 130 with a resume hint."""
    from ..batch.executors import WorkerLost
    from ..batch.experiment import ExperimentError
    from ..batch.runner import run_batch
    from ..batch.store import BatchLocked
    from ..scenario.errors import ScenarioError
    from .main import fail, fail_scenario

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        report = run_batch(experiment, out, chunk_size=chunk_size, progress=progress, **ex_args)
    except (ExperimentError, ScenarioError) as exc:
        fail_scenario(exc)
    except BatchLocked as exc:
        fail(str(exc))
    except WorkerLost as exc:
        typer.echo(f"error: {exc}; re-run the same command to resume", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        if "Timed out" in str(exc) or "connect" in str(exc).lower():
            fail(f"--scheduler: cannot reach the Dask scheduler: {exc}")
        raise
    except KeyboardInterrupt:
        typer.echo(
            f"\ninterrupted; finished runs are kept in {out}: re-run the same command to resume",
            err=True,
        )
        raise typer.Exit(130) from None
    return report


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command()
    def batch(
        experiment: Annotated[
            Path, typer.Argument(help="Experiment TOML file (see experiments/*.toml).")
        ],
        out: Annotated[Path, typer.Option(help="Output folder; re-running resumes it.")] = Path(
            "results"
        ),
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
        report = _run_batch(
            experiment, out, _executor_args(workers, scheduler, dask), chunk_size, progress
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
            Path, typer.Option(help="Output folder (batch results and the analysis); resumable.")
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
        """Sobol (S1, ST with confidence intervals) or Morris (μ*, σ) indices: runs the batch
        (or finishes it), then writes OUT/sensitivity.{md,csv,parquet,png}."""
        from ..batch.experiment import ExperimentError, load_experiment
        from ..batch.sensitivity import analyse, markdown, write_report
        from ..batch.store import read_results
        from .main import fail_scenario

        try:
            exp = load_experiment(experiment)
            if exp.design.kind not in ("sobol", "morris"):
                raise ExperimentError(
                    experiment,
                    [
                        (
                            "design.kind",
                            f"sensitivity needs 'sobol' or 'morris', got {exp.design.kind!r}",
                        )
                    ],
                )
        except ExperimentError as exc:
            fail_scenario(exc)
        report = _run_batch(
            experiment, out, _executor_args(workers, scheduler, dask), None, progress
        )
        if not report.complete:
            typer.echo(
                f"error: {report.total - report.computed - report.skipped} runs failed; "
                f"see {out / 'runs.parquet'}",
                err=True,
            )
            raise typer.Exit(1)
        try:
            table = analyse(exp, read_results(out), outputs=output)
        except ExperimentError as exc:
            fail_scenario(exc)
        paths = write_report(exp, table, out)
        typer.echo(markdown(table))
        typer.echo(f"→ {paths['md']}, {paths['png']}")

    @app.command()
    def calibrate(
        config: Annotated[
            Path, typer.Argument(help="Calibration TOML file (see experiments/calibrate.toml).")
        ] = Path("experiments/calibrate.toml"),
        out: Annotated[
            Path, typer.Option(help="Output folder; re-running replays the evaluations done.")
        ] = Path("calibration"),
        workers: Workers = None,
        scheduler: Scheduler = None,
        dask: DaskLocal = None,
        progress: Progress = True,
    ) -> None:
        """Fit the free behavioural parameters to the seed targets (simulated method of
        moments, Nelder-Mead, common random numbers); writes OUT/calibration.json and
        OUT/residuals.{md,csv,parquet}."""
        from ..batch.calibrate import calibrate as run_calibration
        from ..batch.calibrate import load_calibration, residual_markdown
        from ..batch.experiment import ExperimentError
        from ..batch.store import BatchLocked
        from .main import fail, fail_scenario

        signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            cal = load_calibration(config)
            result = run_calibration(
                cal,
                out,
                progress=progress and sys.stderr.isatty(),
                text=config.read_text(encoding="utf-8"),
                **_executor_args(workers, scheduler, dask),
            )
        except ExperimentError as exc:
            fail_scenario(exc)
        except BatchLocked as exc:
            fail(str(exc))
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
        typer.echo(residual_markdown(result["residuals"]))
        typer.echo(f"→ {out / 'calibration.json'}")
