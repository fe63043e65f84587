"""Shared test helpers: the built-in scenario as a dict, bad-scenario writers."""

from __future__ import annotations

import copy
import os
import tomllib
from importlib import resources

import pytest

from adoption_abm.i18n import ENV_VAR, set_language

# The suite reads English messages whatever the machine's locale (tests/test_i18n.py sets the
# language or the environment itself); subprocesses inherit it.
os.environ[ENV_VAR] = "en"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts and ends in the environment's default language (a ``--lang`` or
    ``set_language`` of one test does not leak into the next)."""
    set_language(None)
    yield
    set_language(None)


@pytest.fixture(scope="session")
def base_dict() -> dict:
    """The built-in france-2022 scenario as parsed TOML (copy before mutating)."""
    text = resources.files("adoption_abm.scenario").joinpath("data", "france-2022.toml").read_text()
    return tomllib.loads(text)


@pytest.fixture
def scenario_dict(base_dict) -> dict:
    return copy.deepcopy(base_dict)
