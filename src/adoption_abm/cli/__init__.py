"""The ``adoption-abm`` command line (root in :mod:`.main`)."""

from .main import app, main

__all__ = ["app", "main"]
