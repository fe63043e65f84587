"""Command line: ``adoption-abm run | scenarios | validate`` and the commands of the other
modules (``compare``, ``batch``, ``sensitivity``, ``calibrate``, ``app``).

Expected errors (bad scenario, bad option) print one ``file: field: message`` line each and
exit with status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..scenario.errors import ScenarioError
from ..scenario.load import builtin_scenarios, load_scenario, with_overrides
from ..scenario.schema import RHYTHMS

app = typer.Typer(
    name="adoption-abm",
    help="Health professionals adopting AI, digital tools and robotics: an agent-based model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstrings' line breaks are reflowed
)

EXIT_BAD_INPUT = 2

# Modules that add their own commands with a ``register(app)`` function.
COMMAND_MODULES = ("policy", "batch", "app")


def fail(message: str) -> None:
    """Print an input error and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def fail_scenario(exc: ScenarioError) -> None:
    for path, msg in exc.errors:
        typer.echo(f"error: {exc.file}: {path or '<root>'}: {msg}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """``["behaviour.mentoring=true", "scale=0.02"]`` → typed values (TOML syntax for values)."""
    import tomllib

    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            fail(f"--set {pair!r}: expected FIELD=VALUE, e.g. behaviour.mentoring=true")
        key, raw = pair.split("=", 1)
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw  # a bare string
    return out


def scenario_from_options(scenario: str, set_: list[str] | None, rhythm: str):
    """The scenario named by ``--scenario``, with ``--set`` overrides, checked against
    ``--rhythm``. Raises ScenarioError for the caller to report; exits 2 on a bad rhythm."""
    sc = load_scenario(scenario)
    overrides = parse_overrides(set_)
    if overrides:
        sc = with_overrides(sc, overrides, label="--set")
    if rhythm not in sc.rhythms:
        fail(f"--rhythm {rhythm!r}: allowed {list(sc.rhythms)}")
    return sc


def resolved_scenario_toml(scenario) -> str:
    import tomli_w

    return tomli_w.dumps(scenario.model_dump(mode="json"))


@app.command()
def run(
    scenario: Annotated[
        str, typer.Option(help="Built-in scenario name or TOML file.")
    ] = "france-2022",
    rhythm: Annotated[
        str, typer.Option(help=f"Adoption rhythm: {', '.join(RHYTHMS)}.")
    ] = "central",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same results.")] = 1,
    scale: Annotated[
        float, typer.Option(help="Agents per real professional (1 = full scale).")
    ] = 0.01,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default runs/<scenario>-<rhythm>-<seed>).")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="cython (compiled) or reference (NumPy); same results.")
    ] = "cython",
    policy: Annotated[
        list[str] | None,
        typer.Option(help="Proposals to switch on, e.g. '6,7' or 'all' (repeatable)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario field: FIELD=VALUE (repeatable)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Run one simulation; write summary.json, timeseries.parquet, indicators.parquet and the
    resolved scenario to OUT, each atomically."""
    from .. import __version__
    from ..engines.registry import ENGINES, KernelUnavailable
    from ..model.model import AdoptionModel
    from ..outputs.atomic import write_json_atomic, write_parquet_atomic, write_text_atomic

    if engine not in ENGINES:
        fail(f"--engine {engine!r}: allowed {list(ENGINES)}")
    try:
        sc = scenario_from_options(scenario, set_, rhythm)
        interventions = _policy_interventions(sc, policy)
        if interventions:  # the resolved scenario carries them, so it reproduces the run
            current = [i.model_dump() for i in sc.interventions]
            sc = with_overrides(sc, {"interventions": current + interventions}, label="--policy")
        t0 = time.perf_counter()
        model = AdoptionModel(
            sc,
            rhythm=rhythm,
            scale=scale,
            engine=engine,
            seed=seed,
            agents="none",
        )
        model.run(progress=progress and sys.stderr.isatty())
        seconds = time.perf_counter() - t0
    except ScenarioError as exc:
        fail_scenario(exc)
    except KernelUnavailable as exc:
        fail(str(exc))

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
    for name in builtin_scenarios():
        sc = load_scenario(name)
        typer.echo(f"{name}\t{sc.title}")


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Scenario TOML file or built-in name.")],
) -> None:
    """Check a scenario file; print its errors (exit 2) or a one-line description."""
    try:
        sc = load_scenario(file)
    except ScenarioError as exc:
        fail_scenario(exc)
    typer.echo(
        f"ok: {file}: {sc.name}, {len(sc.professions)} professions, "
        f"{len(sc.establishment_types)} establishment types, {sc.start_year}-{sc.end_year}"
    )


for _name in COMMAND_MODULES:
    importlib.import_module(f"adoption_abm.cli.{_name}").register(app)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
