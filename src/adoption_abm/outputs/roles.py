"""Emerging roles: the FTE demand that adoption creates (key users, advanced-practice
radiographers, robotic-surgery nurses, telehealth nurses, robotic-flow managers, health-data
roles, digital-platform managers).

Each role needs ``fte_per_1000`` FTE per 1,000 (professional, family) pairs that it counts: the
professionals of the listed professions and establishment types who use or master (``adopters``)
or master (``masters``) each listed family, at real scale (agents x persons per agent). Ratios
are assumptions stated in ``roles.toml`` (package default) or in the scenario's ``[roles]``
blocks. Only the eight modelled professions are counted: no extrapolation to the workforce.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

import numpy as np

from ..scenario.errors import ScenarioError
from ..scenario.schema import Role, Scenario
from .indicators import Outputs


@cache
def default_roles() -> dict[str, Role]:
    """The package's role table (``roles.toml``), validated."""
    text = (
        resources.files("adoption_abm.outputs").joinpath("roles.toml").read_text(encoding="utf-8")
    )
    data = tomllib.loads(text)
    try:
        return {rid: Role.model_validate(spec) for rid, spec in data.items()}
    except ValueError as exc:  # a packaging error, not a user's
        raise ScenarioError("<built-in roles.toml>", [("", str(exc))]) from None


def roles_for(scenario: Scenario) -> dict[str, Role]:
    """The scenario's own role table, or the package default when it has none."""
    return dict(scenario.roles) if scenario.roles else default_roles()


def role_demand(out: Outputs, scenario: Scenario) -> dict[str, np.ndarray]:
    """FTE demand of each role, per month (arrays of length ``len(out.cube)``).

    Roles of the default table that name professions or establishment types the scenario does
    not have count only those it has (none: zero demand).
    """
    profs, types = scenario.profession_ids, scenario.type_ids
    states = {"adopters": [1, 2], "masters": [2]}
    result: dict[str, np.ndarray] = {}
    for rid, role in roles_for(scenario).items():
        pmask = (
            np.ones(len(profs), bool)
            if role.professions is None
            else np.isin(profs, role.professions)
        )
        tmask = (
            np.ones(len(types), bool)
            if role.establishment_types is None
            else np.isin(types, role.establishment_types)
        )
        fams = [scenario.families.index(f) for f in role.families if f in scenario.families]
        # cube[m, p, band, type, family, state] -> agents of profession p counted, per month
        # (integer counts: summed over the bands first, the same numbers)
        sel = out.by_type()[:, :, :, fams, :][..., states[role.states]].sum(
            axis=(3, 4)
        )  # (M, P, T)
        counted = (sel * tmask[None, None, :]).sum(axis=2) * pmask[None, :]  # (M, P)
        persons = (counted * out.weight[None, :]).sum(axis=1)  # row by row, not BLAS
        result[rid] = persons * role.fte_per_1000 / 1000.0
    return result
