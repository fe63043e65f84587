"""Values the rules derive from a scenario every month, computed once per scenario.

A scenario is frozen, so what the rules derive from it alone (per-profession arrays, a yearly
table read at a month's time) is the same every month and in every run of it: :func:`memo`
gives a dict kept beside the scenario object while it lives (by identity, never pickled with
it, so equality, copies and hashing of scenarios are untouched). A run with a cold memo and a
run with a warm one compute the same numbers the same way.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..scenario.schema import Scenario

_MEMOS: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def memo(scenario: Scenario) -> dict[str, Any]:
    """The dict of values derived from ``scenario`` (kept until the scenario is collected)."""
    key = id(scenario)
    entry = _MEMOS.get(key)
    if entry is not None and entry[0]() is scenario:
        return entry[1]
    values: dict[str, Any] = {}
    _MEMOS[key] = (weakref.ref(scenario, lambda _, key=key: _MEMOS.pop(key, None)), values)
    return values


__all__ = ["memo"]
