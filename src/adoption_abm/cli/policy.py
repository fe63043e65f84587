"""``adoption-abm compare | proposals``: policies side by side with a report, and the catalogue
of proposals."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..i18n import _, number, percent
from ..i18n import label as display_label
from .errors import Commands, fail
from .options import (
    SEED_BOUND,
    DaskLocal,
    Engine,
    Overrides,
    Overwrite,
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

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.compare import Comparison

app = Commands()


@app.command("compare")
def compare_command(
    policy: Annotated[
        list[str] | None,
        typer.Option(
            help="A policy to compare (repeatable): 'baseline', 'all', '6,7', '6@2025-01x0.5' "
            "(proposal@start x intensity). The baseline is always included."
        ),
    ] = None,
    scenario: ScenarioName = "france-2022",
    replications: Annotated[
        int, typer.Option(help="Paired runs per policy (same seeds for all).")
    ] = 30,
    out: Annotated[
        Path,
        typer.Option(help="Report folder; refused if it exists (see --overwrite)."),
    ] = Path("report"),
    rhythm: Rhythm = "central",
    scale: Scale = 0.01,
    seed: Seed = 1,
    workers: Workers = 2,
    scheduler: Scheduler = None,
    dask: DaskLocal = None,
    engine: Engine = "cython",
    set_: Overrides = None,
    overwrite: Overwrite = False,
    progress: Progress = True,
    assumptions: Annotated[
        int,
        typer.Option(
            help="Draw N joint samples of the effect priors of the proposals compared (Latin "
            "hypercube) and run every policy under each, on the same seeds; 0 = central values."
        ),
    ] = 0,
    assumption_seed: Annotated[
        int | None,
        typer.Option(help="Seed of the assumption draws (default: --seed).", show_default=False),
    ] = None,
    fork: Annotated[
        bool,
        typer.Option(
            help="Simulate the months before the policies start once per seed and continue "
            "each policy from a copy (identical results); --no-fork runs each from scratch."
        ),
    ] = True,
) -> None:
    """Run each policy with common random numbers (replication seeds spawned from SEED) and
    write report.md, report.html, PNG plots and the frames (Parquet) to OUT: realised gain and
    FTE freed vs baseline with 95 % CIs in 2025/2030/2035/2040, multi-speed gap, downgrading
    risk, emerging roles, cost per FTE freed. OUT is written as a whole (complete or absent) and
    checked before the runs start. With --assumptions N the report also separates Monte-Carlo
    noise from assumption uncertainty: intervals covering both, P(beats baseline), ranks."""
    if replications < 1:
        fail(_("--replications {n}: must be at least 1").format(n=replications))
    if assumptions < 0 or assumptions == 1:
        fail(
            _(
                "--assumptions {n}: must be 0 (central values) or at least 2 (one draw cannot "
                "show a spread)"
            ).format(n=assumptions)
        )
    if assumption_seed is not None and not 0 <= assumption_seed < SEED_BOUND:
        fail(
            _("--assumption-seed {value}: must be an integer from 0 to 2^64 - 1").format(
                value=assumption_seed
            )
        )
    ex_args = executor_args(workers, scheduler, dask)
    try:
        import markdown_it  # noqa: F401
        import matplotlib  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        fail(
            _(
                "the report needs the 'report' extra: pip install 'adoption-abm[report]' ({error})"
            ).format(error=exc)
        )

    from ..analysis.compare import compare, resolve_policies
    from ..analysis.report import write_report
    from ..model.limits import check_run_size
    from ..outputs.runfolder import RunFolder
    from ..scenario.errors import ScenarioError

    sc = scenario_from_options(scenario, set_, rhythm)
    check_run_size(sc, scale, label="--scale", force_hint=None)
    from ..scenario.calendar import REPORT_YEARS, report_years

    if not report_years(sc.start_year, sc.end_year):
        fail(
            _(
                "end_year {end}: the report compares the years {years}; the scenario must run "
                "to {first} at least (e.g. --set end_year={first})"
            ).format(
                end=sc.end_year, years=", ".join(map(str, REPORT_YEARS)), first=REPORT_YEARS[0]
            )
        )
    try:
        resolve_policies(sc, policy or ["baseline"])
    except ValueError as exc:
        if isinstance(exc, ScenarioError):
            raise
        fail(f"--policy: {exc}")
    command = command_line()
    sigterm_interrupts()
    try:
        with RunFolder(out, overwrite=overwrite, marker="meta.json") as folder:  # before any run
            with dask_errors(ex_args):
                result = compare(
                    sc,
                    policy or ["baseline"],
                    replications=replications,
                    seed=seed,
                    scale=scale,
                    rhythm=rhythm,
                    engine=engine,
                    progress=progress and sys.stderr.isatty(),
                    assumptions=assumptions,
                    assumption_seed=assumption_seed,
                    fork=fork,
                    **ex_args,
                )
            folder.fill(lambda tmp: write_report(result, tmp, command=command), "the report")
            folder.commit()
    except KeyboardInterrupt:
        typer.echo(_("interrupted: no report written"), err=True)
        raise typer.Exit(130) from None
    typer.echo("\n".join(summary_lines(result, out)))


def summary_lines(result: Comparison, out: Path) -> list[str]:
    """What the command prints: per policy, the effect on the realised gain in 2030 (or the
    last year) with its interval, P(beats baseline) and the median rank."""
    import polars as pl

    meta = result.meta
    runs = _("{policies} policies x {replications} replications").format(
        policies=len(meta["policies"]), replications=meta["replications"]
    )
    if meta.get("assumptions"):
        runs += " " + _("x {n} assumption draws").format(n=meta["assumptions"])
    lines = [f"{runs} → {out}/report.html"]
    y = 2030 if 2030 in meta["years"] else meta["years"][-1]
    unc = result.uncertainty.filter((pl.col("year") == y) & (pl.col("metric") == "realised_all"))
    ranks = result.ranks.filter(pl.col("year") == y)
    what = _("Monte-Carlo and assumptions") if meta.get("assumptions") else _("Monte-Carlo")
    for label in meta["policies"][1:]:
        u = unc.filter(pl.col("policy").cast(pl.String) == label).row(0, named=True)
        level = result.summary.filter(
            (pl.col("policy").cast(pl.String) == label)
            & (pl.col("year") == y)
            & (pl.col("metric") == "realised_all")
        )["mean"][0]
        rank = ranks.filter(pl.col("policy").cast(pl.String) == label)["median_rank"][0]
        interval = (
            _("no interval: one replication")
            if math.isnan(u["low"])
            else f"[{number(100 * u['low'], 2, sign=True)}, "
            f"{number(100 * u['high'], 2, sign=True)}] {what}"
        )
        lines.append(
            _(
                "{policy}: {year} realised gain {level} ({effect} pts {interval}; "
                "P(beats baseline) {p}; median rank {rank})"
            ).format(
                policy=label,
                year=y,
                level=percent(level),
                effect=number(100 * u["mean"], 2, sign=True),
                interval=interval,
                p=number(u["p_beats_baseline"], 2),
                rank=number(rank, 0 if rank == int(rank) else 1),
            )
        )
    return lines


@app.command("proposals")
def proposals_command() -> None:
    """List the twenty proposals: number, 2022 item, yearly budget ceiling, what it buys, the
    targets it accepts, its effects' prior ranges and its activity (docs/POLICIES.md has the
    sources)."""
    from ..policies.catalogue import catalogue

    for n, p in catalogue().proposals.items():
        targets = ", ".join(p.targets) or _("none")
        buys = ", ".join(a.kind for a in p.activities)
        priors = "; ".join(f"{e.channel} {e.low:+g}/{e.value:+g}/{e.high:+g}" for e in p.effects)
        typer.echo(
            _(
                "{n:>2}  [{item:>2}]  {cost:>6} M€/yr ceiling  buys: {buys}  targets: {targets}\n"
                "    {title}\n    priors (low/central/high): {priors}"
            ).format(
                n=n,
                item=p.item_2022,
                cost=number(p.cost, 1),
                buys=buys,
                targets=targets,
                title=display_label(p.title),
                priors=priors,
            )
        )
        typer.echo("    " + _("activity: {text}").format(text=display_label(p.activity)))
