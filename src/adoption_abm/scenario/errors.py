"""Scenario errors: every message names the file, the field path and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..i18n import N_, _, current_language

PYDANTIC_MESSAGES = {
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "finite_number": N_("Input should be a finite number"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "string_type": N_("Input should be a valid string"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
}
"""Pydantic's messages of the commonest error types (its own English words, as msgids), said
again in the current language when that is not English (Pydantic has no translations)."""


def _pydantic_message(kind: str, msg: str, ctx: dict) -> str:
    """Pydantic's ``msg`` in the current language, when its type is one of
    :data:`PYDANTIC_MESSAGES`; English (and any other type) as Pydantic wrote it."""
    if kind not in PYDANTIC_MESSAGES or current_language() == "en":
        return msg
    values = {  # 0.0 written 0, as Pydantic writes it
        k: int(v) if isinstance(v, float) and v.is_integer() else v
        for k, v in ctx.items()
        if k != "error"
    }
    if isinstance(values.get("expected"), str):  # "'slow', 'central' or 'fast'"
        word = _("or")
        values["expected"] = values["expected"].replace(" or ", f" {word} ")
    try:
        return _(PYDANTIC_MESSAGES[kind]).format(**values)
    except (KeyError, IndexError, ValueError):
        return msg


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``errors`` is a list of ``(field path, message)``."""

    def __init__(self, file: str | Path, errors: list[tuple[str, str]]):
        self.file = str(file)
        self.errors = errors
        lines = [f"{self.file}: {path or '<root>'}: {msg}" for path, msg in errors]
        super().__init__("\n".join(lines))


class _CrossError(ValueError):
    """Several errors found after the fields parsed, each with its own path."""

    def __init__(self, errors: list[tuple[tuple, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in errors))


def _file_path(loc: tuple) -> tuple:
    """A validation location as the file spells it: families sit beside ``technologies.years``
    in the file (``technologies.ai``), in ``technologies.families`` in Python."""
    out = []
    for i, part in enumerate(loc):
        if part == "families" and i > 0 and loc[i - 1] == "technologies":
            continue
        out.append(part)
    return tuple(out)


def format_errors(errors: Iterable[dict]) -> Iterable[tuple[str, str]]:
    """Pydantic's errors as ``(field path, message)``, the path as the file spells it."""
    for err in errors:
        loc = _file_path(tuple(part for part in err.get("loc", ()) if part != "[key]"))
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _CrossError):
            for path, msg in ctx_error.errors:
                yield ".".join(map(str, loc + tuple(path))), msg
            continue
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        kind = err.get("type", "")
        msg = _pydantic_message(kind, msg, err.get("ctx") or {})
        if kind == "missing":
            msg = _("required field is missing")
        elif kind == "extra_forbidden":
            msg = _("unknown field (not allowed here; check the spelling)")
        if "[key]" in tuple(err.get("loc", ())):
            msg = _("invalid key: {message}").format(message=msg)
        if (
            "input" in err
            and kind not in ("missing", "extra_forbidden")
            and not isinstance(err["input"], dict | list)
        ):
            msg += " " + _("(got {value!r})").format(value=err["input"])
        yield ".".join(map(str, loc)), msg
