"""Shared test helpers: the built-in scenario as a dict, bad-scenario writers."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import pytest


@pytest.fixture(scope="session")
def base_dict() -> dict:
    """The built-in france-2022 scenario as parsed TOML (copy before mutating)."""
    text = resources.files("adoption_abm.scenario").joinpath("data", "france-2022.toml").read_text()
    return tomllib.loads(text)


@pytest.fixture
def scenario_dict(base_dict) -> dict:
    return copy.deepcopy(base_dict)
