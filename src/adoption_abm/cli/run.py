"""``adoption-abm run | scenarios | validate``: one simulation, the built-in scenarios, a
scenario file checked."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..i18n import _, current_language, label, ngettext, number, percent
from .errors import Commands, fail
from .options import (
    Engine,
    Force,
    Overrides,
    Overwrite,
    Progress,
    Rhythm,
    Scale,
    ScenarioName,
    Seed,
    Threads,
    scenario_from_options,
    sigterm_interrupts,
)

app = Commands()


def resolved_scenario_toml(scenario) -> str:
    """The scenario as TOML, every default filled in: ``--scenario`` of this file reproduces it."""
    import tomli_w

    from ..scenario.authoring import toml_data

    return tomli_w.dumps(toml_data(scenario))


DEFAULT_OUT = "runs/<scenario>-<rhythm>-<seed>-<hash>"
"""The default ``--out``: ``<hash>`` is :func:`run_digest`, so two runs that may differ never
share a default folder."""


def run_digest(scenario, rhythm: str, seed: int, scale: float) -> str:
    """Eight hex digits of a hash of everything that changes a run's results: the resolved
    scenario (its content, with ``--set`` overrides and ``--policy`` interventions), rhythm,
    seed and scale. The engine is left out: both give the same results."""
    import hashlib
    import json

    content = {
        "scenario": scenario.model_dump(mode="json"),
        "rhythm": rhythm,
        "seed": int(seed),
        "scale": repr(float(scale)),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_out(scenario, rhythm: str, seed: int, scale: float) -> Path:
    """``runs/<scenario>-<rhythm>-<seed>-<hash>`` (:data:`DEFAULT_OUT`)."""
    digest = run_digest(scenario, rhythm, seed, scale)
    return Path("runs") / f"{scenario.name}-{rhythm}-{seed}-{digest}"


@app.command()
def run(
    scenario: ScenarioName = "france-2022",
    rhythm: Rhythm = "central",
    seed: Seed = 1,
    scale: Scale = 0.01,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder; refused if it exists (see --overwrite). The default names one "
            "folder per distinct run: the hash covers the scenario, --set, --policy, rhythm, "
            "seed and scale.",
            show_default=DEFAULT_OUT,
        ),
    ] = None,
    engine: Engine = "cython",
    policy: Annotated[
        list[str] | None,
        typer.Option(
            metavar="<policy>", help="Proposals to switch on, e.g. '6,7' or 'all' (repeatable)."
        ),
    ] = None,
    set_: Overrides = None,
    overwrite: Overwrite = False,
    force: Force = False,
    progress: Progress = True,
    plot: Annotated[
        bool,
        typer.Option(
            "--plot",
            help="Also draw the run's four figures (PNG) into OUT/plots (adoption-abm plot).",
        ),
    ] = False,
    threads: Threads = None,
) -> None:
    """Run one simulation; write summary.json, timeseries.parquet, indicators.parquet,
    breakdown.parquet and the resolved scenario (scenario.toml) to OUT as a whole: the folder
    appears complete, or not at all. Options and OUT are checked before the simulation starts."""
    from ..model.limits import check_run_size
    from ..outputs.runfolder import RunFolder
    from ..scenario.load import with_overrides

    sc = scenario_from_options(scenario, set_, rhythm)
    interventions = _policy_interventions(sc, policy)
    if interventions:  # the resolved scenario carries them, so it reproduces the run
        current = [i.model_dump() for i in sc.interventions]
        sc = with_overrides(sc, {"interventions": current + interventions}, label="--policy")
    check_run_size(sc, scale, force=force, label="--scale", force_hint="--force")
    if plot:
        from ..analysis.plots import check_format

        check_format("png", "--plot")
    out = out or default_out(sc, rhythm, seed, scale)
    sigterm_interrupts()
    try:
        with RunFolder(out, overwrite=overwrite) as folder:  # checked, locked: before any work
            t0 = time.perf_counter()
            model = _simulate(sc, rhythm, seed, scale, engine, force, progress, threads)
            seconds = time.perf_counter() - t0
            summary = _write_run(folder, model, sc, policy, seconds)
            if plot:  # drawn from the files just written, inside the folder written as a whole
                from ..analysis.plots import write_plots

                folder.fill(lambda tmp: write_plots(tmp, tmp / "plots", "png"), "the plots")
            folder.commit()
    except KeyboardInterrupt:
        typer.echo(_("interrupted: nothing written to {out}").format(out=out), err=True)
        raise typer.Exit(130) from None
    y = summary["years"].get("2030")
    msg = _("{n} professionals, {seconds} s → {out}").format(
        # English as before ("2086 professionals"), French grouped ("2 086 professionnels")
        n=number(model.n_professionals, group=current_language() == "fr"),
        seconds=number(seconds, 1),
        out=out,
    )
    if y:
        msg += "\n" + _("2030: potential {potential}, realised {realised}, FTE freed {fte}").format(
            potential=percent(y["potential"]["all"], space=False),
            realised=percent(y["realised"]["all"], space=False),
            fte=number(y["fte_freed"]["all"]),
        )
    typer.echo(msg)


def _simulate(
    sc,
    rhythm: str,
    seed: int,
    scale: float,
    engine: str,
    force: bool,
    progress: bool,
    threads: int | None = None,
):
    """The run, its kernel on ``threads`` threads (``None``: every CPU this process may use)."""
    from ..batch.executors import available_cpus
    from ..model.model import AdoptionModel

    model = AdoptionModel(
        sc,
        rhythm=rhythm,
        scale=scale,
        engine=engine,
        seed=seed,
        agents="none",
        force=force,
        threads=threads or available_cpus(),
    )
    return model.run(progress=progress and sys.stderr.isatty())


def _write_run(folder, model, sc, policy: list[str] | None, seconds: float) -> dict[str, Any]:
    """The run's files, ``summary.json`` last (its presence means the run is complete)."""
    from .. import __version__

    summary = {
        "scenario": sc.name,
        "rhythm": model.rhythm,
        "seed": model.seed,
        "scale": model.scale,
        "version": __version__,
        "seconds": round(seconds, 3),
        "engine": model.engine,
        "agents": model.n_professionals,
        "policy": policy or [],
        "years": model.summary(),
    }
    folder.write_parquet("timeseries.parquet", model.timeseries())
    folder.write_parquet("indicators.parquet", model.indicators())
    folder.write_parquet("breakdown.parquet", model.breakdown())
    folder.write_text("scenario.toml", resolved_scenario_toml(sc))
    folder.write_json("summary.json", summary)
    return summary


def _policy_interventions(sc, policy: list[str] | None) -> list[Any]:
    """Interventions for ``--policy`` values (the policy module defines the syntax)."""
    if not policy:
        return []
    try:
        from ..policies.parse import parse_policy
    except ImportError:
        fail(_("--policy: policy interventions are not available in this version"))
    items: list[Any] = []
    for text in policy:
        try:
            items.extend(parse_policy(text, sc))
        except ValueError as exc:
            fail(f"--policy {text!r}: {exc}")
    return items


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from ..scenario.load import builtin_scenarios, load_scenario

    for name in builtin_scenarios():
        sc = load_scenario(name)
        typer.echo(f"{name}\t{label(sc.title)}")


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Scenario TOML file or built-in name.")],
) -> None:
    """Check a scenario file; print its errors (exit 2) or a one-line description, then one
    `warning:` line (on stderr) per suspicious but valid value (exit 0)."""
    from ..scenario.load import load_scenario
    from ..scenario.suspicious import suspicious_values

    sc = load_scenario(file)
    found = suspicious_values(sc)
    typer.echo(
        _(
            "ok: {file}: {name}, {professions} professions, {types} establishment types, "
            "{start}-{end}"
        ).format(
            file=file,
            name=sc.name,
            professions=len(sc.professions),
            types=len(sc.establishment_types),
            start=sc.start_year,
            end=sc.end_year,
        )
        + (
            "; " + ngettext("{n} warning", "{n} warnings", len(found)).format(n=len(found))
            if found
            else ""
        )
    )
    for w in found:
        message = f"{file}: {w.field}: {w.message} [{w.check}]"
        typer.echo(_("warning: {message}").format(message=message), err=True)
