"""``adoption-abm run | scenarios | validate``: one simulation, the built-in scenarios, a
scenario file checked."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import Commands, fail
from .options import (
    Engine,
    OutDir,
    Overrides,
    Progress,
    Rhythm,
    Scale,
    ScenarioName,
    Seed,
    scenario_from_options,
)

app = Commands()


def resolved_scenario_toml(scenario) -> str:
    """The scenario as TOML, every default filled in: ``--scenario`` of this file reproduces it."""
    import tomli_w

    return tomli_w.dumps(scenario.model_dump(mode="json"))


@app.command()
def run(
    scenario: ScenarioName = "france-2022",
    rhythm: Rhythm = "central",
    seed: Seed = 1,
    scale: Scale = 0.01,
    out: OutDir = None,
    engine: Engine = "cython",
    policy: Annotated[
        list[str] | None,
        typer.Option(help="Proposals to switch on, e.g. '6,7' or 'all' (repeatable)."),
    ] = None,
    set_: Overrides = None,
    progress: Progress = True,
) -> None:
    """Run one simulation; write summary.json, timeseries.parquet, indicators.parquet,
    breakdown.parquet and the resolved scenario to OUT (default runs/SCENARIO-RHYTHM-SEED), each
    atomically."""
    from .. import __version__
    from ..model.model import AdoptionModel
    from ..outputs.atomic import write_json_atomic, write_parquet_atomic, write_text_atomic
    from ..scenario.load import with_overrides

    sc = scenario_from_options(scenario, set_, rhythm)
    interventions = _policy_interventions(sc, policy)
    if interventions:  # the resolved scenario carries them, so it reproduces the run
        current = [i.model_dump() for i in sc.interventions]
        sc = with_overrides(sc, {"interventions": current + interventions}, label="--policy")
    t0 = time.perf_counter()
    model = AdoptionModel(sc, rhythm=rhythm, scale=scale, engine=engine, seed=seed, agents="none")
    model.run(progress=progress and sys.stderr.isatty())
    seconds = time.perf_counter() - t0

    out = out or Path("runs") / f"{sc.name}-{rhythm}-{seed}"
    summary = {
        "scenario": sc.name,
        "rhythm": rhythm,
        "seed": seed,
        "scale": scale,
        "version": __version__,
        "seconds": round(seconds, 3),
        "engine": engine,
        "agents": model.n_professionals,
        "policy": policy or [],
        "years": model.summary(),
    }
    write_parquet_atomic(out / "timeseries.parquet", model.timeseries())
    write_parquet_atomic(out / "indicators.parquet", model.indicators())
    write_parquet_atomic(out / "breakdown.parquet", model.breakdown())
    write_text_atomic(out / "scenario.toml", resolved_scenario_toml(sc))
    write_json_atomic(out / "summary.json", summary)  # last: its presence means the run is complete
    y = summary["years"].get("2030")
    msg = f"{model.n_professionals} professionals, {seconds:.1f} s → {out}"
    if y:
        msg += (
            f"\n2030: potential {y['potential']['all']:.1%}, realised {y['realised']['all']:.1%}, "
            f"FTE freed {y['fte_freed']['all']:,.0f}"
        )
    typer.echo(msg)


def _policy_interventions(sc, policy: list[str] | None) -> list[Any]:
    """Interventions for ``--policy`` values (the policy module defines the syntax)."""
    if not policy:
        return []
    try:
        from ..policies.parse import parse_policy
    except ImportError:
        fail("--policy: policy interventions are not available in this version")
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
        typer.echo(f"{name}\t{sc.title}")


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Scenario TOML file or built-in name.")],
) -> None:
    """Check a scenario file; print its errors (exit 2) or a one-line description."""
    from ..scenario.load import load_scenario

    sc = load_scenario(file)
    typer.echo(
        f"ok: {file}: {sc.name}, {len(sc.professions)} professions, "
        f"{len(sc.establishment_types)} establishment types, {sc.start_year}-{sc.end_year}"
    )
