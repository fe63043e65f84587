"""``adoption-abm plot``: the four figures of a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import Commands

app = Commands()

FORMATS = ("png", "html")  # ``analysis.plots.FORMATS`` (spelled out so --help stays light)

PlotFormat = Annotated[
    str,
    typer.Option(
        "--format",
        metavar=f"<{'|'.join(FORMATS)}>",
        help="png (Matplotlib, the report extra) or html (Altair, the app extra).",
    ),
]


@app.command()
def plot(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="A run folder (adoption-abm run --out).")
    ],
    format_: PlotFormat = "png",
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the figures.", show_default="RUN_DIR/plots"),
    ] = None,
) -> None:
    """Draw a run's four figures: adoption by family and profession, potential against
    realised time freed with the seed targets, FTE freed, and the gaps by age band and
    establishment type; one file each (adoption, time_freed, fte_freed, gaps), written
    atomically."""
    from ..analysis.plots import check_format, read_run, write_plots
    from ..outputs.runfolder import check_output_folder

    check_format(format_)
    run = read_run(run_dir)
    check_output_folder(out if out is not None else run_dir / "plots", "--out")
    for path in write_plots(run, out, format_):
        typer.echo(path)
