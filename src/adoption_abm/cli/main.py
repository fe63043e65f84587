"""The ``adoption-abm`` root: ``--version`` and the command groups, one module each, composed
with ``add_typer`` (no name, so their commands sit at the top level):

* :mod:`.run`: ``run``, ``scenarios``, ``validate``
* :mod:`.scenario`: ``scenario new``, ``scenario diff``
* :mod:`.plot`: ``plot``
* :mod:`.policy`: ``compare``, ``proposals``
* :mod:`.batch`: ``batch``, ``sensitivity``, ``calibrate``
* :mod:`.optimise`: ``optimise``
* :mod:`.app`: ``app``

The command modules share :mod:`.options` (the ``Annotated`` options) and :mod:`.errors` (the
expected exceptions → one ``error:`` line each and exit status 2, never a traceback; and
``--lang``, which every command and the root get from its command classes); neither imports
this module. Every module imports the package's heavy layers inside the commands, so
``adoption-abm --help`` loads neither Mesa nor Polars.
"""

from __future__ import annotations

from typing import Annotated

import typer

from . import app as app_commands
from . import batch, optimise, plot, policy, run, scenario
from .errors import EXIT_BAD_INPUT, Commands, fail
from .run import resolved_scenario_toml

__all__ = ["EXIT_BAD_INPUT", "app", "fail", "main", "resolved_scenario_toml"]

app = Commands(
    name="adoption-abm",
    help="Health professionals adopting AI, digital tools and robotics: an agent-based model.",
    no_args_is_help=True,
    rich_markup_mode="markdown",  # docstrings' line breaks are reflowed
)
for group in (run, scenario, plot, policy, batch, optimise, app_commands):
    app.add_typer(group.app)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"adoption-abm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Health professionals adopting AI, digital tools and robotics: an agent-based model."""


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
