"""``adoption-abm scenario new | diff``: write an editable, commented copy of a scenario; list
the fields in which two scenarios differ."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .errors import Commands, fail

app = Commands()
group = Commands(
    name="scenario",
    help="Author scenarios: an editable copy of a built-in one, or the differences of two.",
    no_args_is_help=True,
)
app.add_typer(group, name="scenario")


@group.command()
def new(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The TOML file to write.")],
    from_: Annotated[
        str, typer.Option("--from", help="Built-in scenario name or TOML file to copy.")
    ] = "france-2022",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace FILE if it exists instead of refusing.")
    ] = False,
) -> None:
    """Write an editable copy of a scenario to FILE, every field preceded by its meaning and
    its source as comments; it loads back as the same scenario (written atomically)."""
    from ..outputs.atomic import reason, write_text_atomic
    from ..outputs.runfolder import check_output_folder
    from ..scenario.authoring import commented_toml
    from ..scenario.load import builtin_scenarios, load_scenario

    if file.is_dir():
        fail(f"FILE {file}: is a folder; give the name of the TOML file to write")
    if file.exists() and not overwrite:
        fail(f"FILE {file}: already exists; pass --overwrite to replace it")
    check_output_folder(file.parent, "FILE")  # its folder can be written (or created)
    sc = load_scenario(from_)
    origin = f"the built-in {from_}" if from_ in builtin_scenarios() else from_
    try:
        write_text_atomic(file, commented_toml(sc, origin))
    except OSError as exc:
        fail(f"FILE {file}: cannot be written: {reason(exc)}")
    typer.echo(f"{file}: a copy of {origin} ({sc.name}); check edits with adoption-abm validate")


@group.command()
def diff(
    a: Annotated[str, typer.Argument(metavar="A", help="Scenario TOML file or built-in name.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Scenario TOML file or built-in name.")],
    sources: Annotated[
        bool, typer.Option("--sources", help="Also list differences of source texts.")
    ] = False,
) -> None:
    """List the fields in which scenarios A and B differ: one line each, tab-separated (dotted
    field, A's value, B's value); exit 0 whether or not they differ."""
    from ..scenario.authoring import differences, is_source, shown
    from ..scenario.load import load_scenario

    found = differences(load_scenario(a), load_scenario(b))
    listed = [d for d in found if sources or not is_source(d.field)]
    for d in listed:
        typer.echo(f"{d.field}\t{shown(d.a)}\t{shown(d.b)}")
    hidden = len(found) - len(listed)
    note = f" ({hidden} in source texts, not listed: --sources lists them)" if hidden else ""
    typer.echo(
        f"{len(listed)} field{'s' * (len(listed) != 1)} differ{'s' * (len(listed) == 1)}{note}"
        if found
        else "no differences",
        err=True,
    )
