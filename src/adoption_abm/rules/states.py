"""A professional's state for each technology family, stored as one ``uint8`` per family."""

from __future__ import annotations

from enum import IntEnum


class State(IntEnum):
    """Where a professional stands with one technology family (``pop.state[i, f]``)."""

    NOT_USING = 0
    USING = 1  # uses it, still learning
    MASTERED = 2


NOT_USING, USING, MASTERED = State.NOT_USING.value, State.USING.value, State.MASTERED.value
"""Plain ints of the states, for array comparisons in the rules."""
STATE_NAMES = tuple(s.name.lower() for s in State)
"""``("not_using", "using", "mastered")``: the states' names in outputs."""
N_STATES = len(State)

MENTORED, LEGACY = 1, 2
"""Bits of ``pop.support[i, f]``: mentored on the family this year (reverse mentoring); uses a
new generation of it with the mastery of the previous one (generations)."""
