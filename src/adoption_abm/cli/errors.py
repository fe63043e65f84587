"""Expected errors of the command line, in one place.

A command either exits through :func:`fail` (a bad option it checks itself) or lets one of the
package's expected exceptions propagate; :class:`Commands` gives every command the class
:class:`ReportingCommand`, which turns those exceptions into their message lines on stderr and
their exit status (:data:`EXPECTED`), never a traceback. Anything else is a bug and propagates.

This module imports nothing of the package but :mod:`adoption_abm.i18n` (light, no package
import of its own): an exception's class is looked up in
``sys.modules`` only (an instance cannot exist before its module is imported), so ``--help``
stays free of the heavy layers and a ``run`` error never imports Dask just to compare types.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from ..i18n import ENV_VAR, LANGUAGES, N_, _, set_language

EXIT_BAD_INPUT = 2
EXIT_INCOMPLETE = 1  # the work is kept; re-running the same command resumes it
EXIT_RUN_FAILED = 1  # a model run raised: a bug or a resource limit, not a bad option


def fail(message: str) -> NoReturn:
    """Print an input error and exit with status 2."""
    typer.echo(_("error: {message}").format(message=message), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def scenario_lines(exc: Any) -> list[str]:
    """One ``error: file: field: message`` line per error of a ScenarioError (or a subclass)."""
    return [
        _("error: {message}").format(message=f"{exc.file}: {path or '<root>'}: {msg}")
        for path, msg in exc.errors
    ]


def _message(exc: BaseException) -> list[str]:
    return [_("error: {message}").format(message=exc)]


DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def _disk_full(exc: OSError) -> list[str] | None:
    """A write refused by the file system (full, over quota, turned read-only) anywhere a
    command did not name the option itself; any other OSError is not expected (None)."""
    if exc.errno not in DISK_ERRNOS:
        return None
    where = f"{exc.filename}: " if exc.filename else ""
    text = _(
        "{where}{reason}; the files written before are kept (re-run the same command to "
        "resume once there is room)"
    ).format(where=where, reason=os.strerror(exc.errno).lower())
    return [_("error: {message}").format(message=text)]


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
        lambda exc: [
            _("error: {message}").format(
                message=_("{error}; re-run the same command to resume").format(error=exc)
            )
        ],
    ),
    ("adoption_abm.analysis.compare", "RunFailed", EXIT_RUN_FAILED, _message),
    ("adoption_abm.outputs.atomic", "OutPathError", EXIT_BAD_INPUT, _message),
    ("adoption_abm.analysis.plots", "PlotError", EXIT_BAD_INPUT, _message),
    (
        "builtins",
        "MemoryError",
        EXIT_RUN_FAILED,
        lambda exc: [
            _("error: {message}").format(
                message=_(
                    "out of memory (the estimate of --scale was exceeded, or --force skipped "
                    "it); nothing was written"
                )
            )
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


def _choose_language(ctx: typer.Context, value: str | None) -> None:
    """``--lang``: a value given chooses the language of the messages; without one, the root
    (or a command run alone) takes the environment's default (``ADOPTION_ABM_LANG``, checked,
    else the locale) and a subcommand keeps what its root chose."""
    if value is not None:
        set_language(value)
        return
    if ctx.parent is not None:
        return
    set_language(None)
    env = os.environ.get(ENV_VAR, "").strip()
    if env and env.lower() not in LANGUAGES:
        fail(
            _("{variable} {value!r}: allowed {allowed}").format(
                variable=ENV_VAR, value=env, allowed=", ".join(LANGUAGES)
            )
        )


_LANG_PARAM: list[Any] = []


def lang_param() -> Any:
    """The ``--lang`` option every command and group gets (eager: set before any other option
    is checked, so their errors are in that language too). Built by Typer itself from an
    ``Annotated`` option, so it is the click parameter class of whichever Typer is installed."""
    if not _LANG_PARAM:
        probe = typer.Typer(add_completion=False)

        @probe.command()
        def probe_command(
            lang: Annotated[
                Literal["fr", "en"] | None,
                typer.Option(
                    "--lang",
                    metavar="<fr|en>",
                    help="Language of the messages, reports and help (default: "
                    "$ADOPTION_ABM_LANG, else the locale: French for fr*, English otherwise).",
                    callback=_choose_language,
                    is_eager=True,
                    expose_value=False,
                    case_sensitive=False,
                    show_default=False,
                ),
            ] = None,
        ) -> None:
            """Never run: only its option is used."""

        _LANG_PARAM.extend(p for p in typer.main.get_command(probe).params if p.name == "lang")
    return _LANG_PARAM[0]


HELP_OPTION = N_("Show this message and exit.")
"""Click's own ``--help`` text, translated with the others."""
TYPER_WORDS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "DEFAULT_STRING": N_("[default: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
}
"""The words Typer's help layout adds (``typer.rich_utils`` globals, read when the help is
printed): set to their translation while it is, then restored; a name this Typer lacks is
skipped. ``Usage:`` and the error panel stay Click's and Typer's own."""


def language_in_args(args: list[str]) -> str | None:
    """The value of a ``--lang`` (``--lang fr`` or ``--lang=fr``) among ``args``, if it is a
    language; anything else is left for the option itself to refuse."""
    for k, arg in enumerate(args):
        value = None
        if arg == "--lang" and k + 1 < len(args):
            value = args[k + 1]
        elif arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value is not None and value.strip().lower() in LANGUAGES:
            return value.strip().lower()
    return None


@contextmanager
def translated_help(command: Any, ctx: Any) -> Iterator[None]:
    """The help texts of ``command`` (its own, its parameters', its subcommands') in the
    current language while the block runs, then the English ones again. The texts are written
    in English in the code (evaluated at import, before ``--lang`` is read); they are
    translated here, when the help is printed."""
    from typer import rich_utils

    objects = [command, *command.get_params(ctx)]
    objects += list(getattr(command, "commands", {}).values())
    saved = [(obj, obj.help, getattr(obj, "short_help", None)) for obj in objects]
    words = {k: v for k, v in TYPER_WORDS.items() if isinstance(getattr(rich_utils, k, None), str)}
    layout = {k: getattr(rich_utils, k) for k in words}
    try:
        for obj, text, short in saved:
            if text:
                obj.help = _(text)
            if short:
                obj.short_help = _(short)
        for name, english in words.items():
            setattr(rich_utils, name, _(english))
        yield
    finally:
        for obj, text, short in saved:
            obj.help = text
            if short is not None:
                obj.short_help = short
        for name, value in layout.items():
            setattr(rich_utils, name, value)


# ---------------------------------------------------------------------------------------------
# Click's own parse errors, in the language chosen
# ---------------------------------------------------------------------------------------------
CLICK_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"No such option: (?P<name>\S+)", N_("No such option: {name}")),
    (
        r"Invalid value for (?P<hint>.+?): (?P<message>.*)",
        N_("Invalid value for {hint}: {message}"),
    ),
    (r"Invalid value: (?P<message>.*)", N_("Invalid value: {message}")),
    (r"Missing option (?P<hint>.+?)\.", N_("Missing option {hint}.")),
    (r"Missing argument (?P<hint>.+?)\.", N_("Missing argument {hint}.")),
    (r"Missing parameter (?P<hint>.+?)\.", N_("Missing parameter {hint}.")),
    (
        r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)",
        N_("Got unexpected extra argument(s) ({args})"),
    ),
    (r"Option (?P<name>\S+) requires an argument\.", N_("Option {name} requires an argument.")),
    (r"No such command (?P<name>.+?)\.", N_("No such command {name}.")),
)
"""Click's parse-error messages (``typer._click``, English f-strings) as patterns, each with
its message in the catalogue: the pattern's fields fill the translation."""

CLICK_DETAILS: tuple[tuple[str, str], ...] = (
    (r" \(Possible options: (?P<options>.*)\)", N_(" (possible options: {options})")),
    (r" Did you mean (?P<option>\S+)\?", N_(" Did you mean {option}?")),
    (r" \(Did you mean (?P<options>.*)\?\)", N_(" (did you mean {options}?)")),
    (r"(?P<value>.+?) is not one of (?P<choices>.+)\.", N_("{value} is not one of {choices}.")),
)
"""What follows the main message (the first three), or a value error inside it (Typer's own
value errors are translated where Typer raises them, see :mod:`adoption_abm.i18n`)."""


def click_message(message: str) -> str:
    """``message`` (one of Click's parse errors, English) in the current language; a message
    no pattern knows stays as it is."""
    for pattern, template in CLICK_MESSAGES:
        head = re.match(pattern, message)
        if head is None:
            continue
        fields = {k: _click_detail(v) for k, v in head.groupdict().items()}
        rest = message[head.end() :]
        for detail, text in CLICK_DETAILS[:3]:
            more = re.fullmatch(detail, rest)
            if more is not None:
                rest = _(text).format(**more.groupdict())
                break
        return _(template).format(**fields) + rest
    return message


def _click_detail(text: str) -> str:
    """A value error inside Click's message: Pydantic's and the scenario's messages are in the
    catalogue already (:mod:`adoption_abm.scenario.errors`), Typer's choices are a pattern."""
    text = text.removeprefix("Value error, ")
    known = _(text)
    if known != text:
        return known
    for pattern, template in CLICK_DETAILS[3:]:
        got = re.fullmatch(pattern, text)
        if got is not None:
            return _(template).format(**got.groupdict())
    return text


def click_error_lines(exc: Any, ctx: Any) -> list[str]:
    """Click's parse error ``exc`` as the command line's other errors read: the usage, the
    help hint and one ``error:`` line, in the current language."""
    usage = ctx.get_usage().replace("Usage:", _("Usage:"), 1) if ctx is not None else None
    lines = [usage] if usage else []
    if ctx is not None:
        lines.append(
            _("Try '{command} {option}' for help.").format(
                command=ctx.command_path, option=ctx.help_option_names[0]
            )
        )
    lines.append(_("error: {message}").format(message=click_message(exc.format_message())))
    return lines


class HelpMixin:
    """Commands and groups whose help shows flags without placeholders (:func:`literal_help`),
    that take ``--lang`` (:func:`lang_param`) and whose help is printed in the language chosen
    (:func:`translated_help`), wherever ``--lang`` stands on the command line."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not any(getattr(p, "name", None) == "lang" for p in self.params):  # type: ignore[attr-defined]
            self.params.append(lang_param())  # type: ignore[attr-defined]

    def get_params(self, ctx: Any) -> list[Any]:
        return literal_help(super().get_params(ctx))  # type: ignore[misc]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # ``--help`` is eager too and runs in the order typed: ``run --help --lang fr`` must
        # print French help, so a valid ``--lang`` is applied before any option is processed
        lang = language_in_args(args)
        if lang is not None:
            set_language(lang)
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except click_errors().UsageError as exc:
            translated_parse_error(exc, ctx)
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with translated_help(self, ctx):
            super().format_help(ctx, formatter)  # type: ignore[misc]


class ReportingGroup(HelpMixin, TyperGroup):
    """The root group: the same help layout as its commands."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except click_errors().UsageError as exc:  # "No such command"
            translated_parse_error(exc, ctx)
            raise


def click_errors() -> Any:
    """The ``exceptions`` module of the Click that Typer uses (its own copy, or Click)."""
    import typer.core

    vendored = getattr(typer.core, "_click", None)
    if vendored is not None:
        return vendored.exceptions
    import click

    return click.exceptions


def translated_parse_error(exc: Any, ctx: Any) -> None:
    """In French, Click's parse error ``exc`` printed as the command line's own errors are
    (usage, help hint, one ``erreur :`` line, :func:`click_error_lines`) and the exit with
    status 2; in English, nothing: Click and Typer print it as they do."""
    from ..i18n import current_language

    if current_language() == "en":
        return
    for line in click_error_lines(exc, getattr(exc, "ctx", None) or ctx):
        typer.echo(line, err=True)
    raise typer.Exit(EXIT_BAD_INPUT) from None


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
