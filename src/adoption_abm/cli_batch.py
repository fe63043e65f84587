"""Commands of the batch module (registered on the main Typer app by ``cli.py``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
