"""``adoption-abm scenario new | diff``: write an editable, commented copy of a scenario; list
the fields in which two scenarios differ."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..i18n import _, about, ngettext
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
        fail(about(f"FILE {file}", _("is a folder; give the name of the TOML file to write")))
    if file.exists() and not overwrite:
        fail(about(f"FILE {file}", _("already exists; pass --overwrite to replace it")))
    check_output_folder(file.parent, "FILE")  # its folder can be written (or created)
    sc = load_scenario(from_)
    builtin = from_ in builtin_scenarios()
    origin = f"the built-in {from_}" if builtin else from_  # the file's comments: English
    try:
        write_text_atomic(file, commented_toml(sc, origin))
    except OSError as exc:
        fail(about(f"FILE {file}", _("cannot be written: {reason}").format(reason=reason(exc))))
    if builtin:
        done = _(
            "{file}: a copy of the built-in {origin} ({name}); check edits with adoption-abm "
            "validate"
        )
    else:
        done = _("{file}: a copy of {origin} ({name}); check edits with adoption-abm validate")
    typer.echo(done.format(file=file, origin=from_, name=sc.name))


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
    note = (
        " "
        + ngettext(
            "({n} in source texts, not listed: --sources lists them)",
            "({n} in source texts, not listed: --sources lists them)",
            hidden,
        ).format(n=hidden)
        if hidden
        else ""
    )
    count = ngettext("{n} field differs", "{n} fields differ", len(listed))
    typer.echo(count.format(n=len(listed)) + note if found else _("no differences"), err=True)
