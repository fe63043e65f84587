"""Constrained number and name types shared by the scenario's blocks."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
)

SHARE_TOL = 1e-6


Finite = Annotated[float, Field(allow_inf_nan=False)]


NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]


Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


Ident = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

Boost = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
"""A rate multiplied by (1 + boost): 100 (x101) makes a monthly hazard of 0.5 % a certainty."""
