"""Expected errors of the command line, in one place.

A command either exits through :func:`fail` (a bad option it checks itself) or lets one of the
package's expected exceptions propagate; :class:`Commands` gives every command the class
:class:`ReportingCommand`, which turns those exceptions into their message lines on stderr and
their exit status (:data:`EXPECTED`), never a traceback. Anything else is a bug and propagates.

This module imports nothing of the package: an exception's class is looked up in
``sys.modules`` only (an instance cannot exist before its module is imported), so ``--help``
stays free of the heavy layers and a ``run`` error never imports Dask just to compare types.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 1  # the work is kept; re-running the same command resumes it
EXIT_RUN_FAILED = 1  # a model run raised: a bug or a resource limit, not a bad option


def fail(message: str) -> NoReturn:
    """Print an input error and exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def scenario_lines(exc: Any) -> list[str]:
    """One ``error: file: field: message`` line per error of a ScenarioError (or a subclass)."""
    return [f"error: {exc.file}: {path or '<root>'}: {msg}" for path, msg in exc.errors]


def _message(exc: BaseException) -> list[str]:
    return [f"error: {exc}"]


DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def _disk_full(exc: OSError) -> list[str] | None:
    """A write refused by the file system (full, over quota, turned read-only) anywhere a
    command did not name the option itself; any other OSError is not expected (None)."""
    if exc.errno not in DISK_ERRNOS:
        return None
    where = f"{exc.filename}: " if exc.filename else ""
    return [
        f"error: {where}{os.strerror(exc.errno).lower()}; the files written before are kept "
        "(re-run the same command to resume once there is room)"
    ]


# (module, class, exit status, message lines); the first class the exception is an instance of
# wins, so a subclass goes before its base. A message function that returns None declines: the
# exception is then not expected (its traceback shows).
EXPECTED: tuple[tuple[str, str, int, Callable[[Any], Iterable[str] | None]], ...] = (
    ("adoption_abm.batch.experiment", "ExperimentError", EXIT_BAD_INPUT, scenario_lines),
    ("adoption_abm.scenario.errors", "ScenarioError", EXIT_BAD_INPUT, scenario_lines),
    ("adoption_abm.engines.registry", "KernelUnavailable", EXIT_BAD_INPUT, _message),
    ("adoption_abm.batch.store", "BatchLocked", EXIT_BAD_INPUT, _message),
    (
        "adoption_abm.batch.executors",
        "WorkerLost",
        EXIT_INCOMPLETE,
        lambda exc: [f"error: {exc}; re-run the same command to resume"],
    ),
    ("adoption_abm.analysis.compare", "RunFailed", EXIT_RUN_FAILED, _message),
    ("adoption_abm.outputs.atomic", "OutPathError", EXIT_BAD_INPUT, _message),
    ("adoption_abm.analysis.plots", "PlotError", EXIT_BAD_INPUT, _message),
    (
        "builtins",
        "MemoryError",
        EXIT_RUN_FAILED,
        lambda exc: [
            "error: out of memory (the estimate of --scale was exceeded, or --force skipped "
            "it); nothing was written"
        ],
    ),
    ("builtins", "OSError", EXIT_BAD_INPUT, _disk_full),
)


def report(exc: BaseException) -> int | None:
    """Print an expected exception's message lines on stderr and return its exit status;
    ``None`` (nothing printed) for any other exception."""
    for module, name, status, lines in EXPECTED:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            text = lines(exc)
            if text is None:
                continue
            for line in text:
                typer.echo(line, err=True)
            return status
    return None


def _no_type(ctx: Any) -> None:
    return None


def _literal(text: str) -> Callable[..., str]:
    return lambda **_: text


def literal_help(params: list[Any]) -> list[Any]:
    """Help that reads right: a flag (``--progress/--no-progress``, ``--help``) shows no type
    placeholder (Typer prints ``<bool>``) and its default as typed (``--progress``); a default
    given as text (``show_default="runs/<scenario>-..."``) is printed as is, not in
    parentheses, and never goes through Markdown."""
    for param in params:
        if getattr(param, "is_flag", False):
            param.display_type_rich = _no_type
            if param.secondary_opts and param.opts and isinstance(param.default, bool):
                param.show_default = (param.opts if param.default else param.secondary_opts)[0]
        if isinstance(getattr(param, "show_default", None), str):
            param._get_default_string = _literal(param.show_default)
    return params


class HelpMixin:
    """Commands and groups whose help shows flags without placeholders (:func:`literal_help`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return literal_help(super().get_params(ctx))  # type: ignore[misc]


class ReportingGroup(HelpMixin, TyperGroup):
    """The root group: the same help layout as its commands."""


class ReportingCommand(HelpMixin, TyperCommand):
    """A command whose expected exceptions exit with their status and message (see
    :data:`EXPECTED`) instead of a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            status = report(exc)
            if status is None:
                raise
            raise typer.Exit(status) from None


class Commands(typer.Typer):
    """A ``typer.Typer`` whose commands are :class:`ReportingCommand`: each command module
    defines one, the root composes them with ``add_typer``."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("cls", ReportingGroup)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or ReportingCommand, **kwargs)
