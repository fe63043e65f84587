"""Scenario errors: every message names the file, the field path and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..i18n import _


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
