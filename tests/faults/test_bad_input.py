"""The bad-input set (:mod:`.bad_inputs`): every case gets exit status 2 or a named exception
naming the parameter, no traceback, nothing previously written lost or half-written. Plus
hypothesis tests of ``run()`` and ``AdoptionModel()`` with bad seeds and parameters."""

from __future__ import annotations

import math
import shutil
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adoption_abm import AdoptionModel, ScenarioError, run

from .bad_inputs import CASES, KINDS, base_scenario, evaluate, prepare, previous_batch
from .bad_inputs import read_only_folder as _read_only_folder


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A work folder with previous outputs (a real finished batch among them), made once."""
    root = tmp_path_factory.mktemp("bad-input-template")
    prepare(root)
    previous_batch(root)
    return root


@pytest.fixture(scope="module")
def read_only(tmp_path_factory):
    with _read_only_folder(tmp_path_factory.mktemp("ro") / "ro") as ro:
        yield ro


@pytest.fixture(scope="module")
def base():
    return base_scenario()


def test_the_set_has_at_least_150_cases_of_every_kind():
    kinds = Counter(case.kind for case in CASES)
    assert len(CASES) >= 150
    assert set(kinds) == set(KINDS), kinds
    ids = [(c.kind, c.id) for c in CASES]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.id}" for c in CASES])
def test_bad_input_is_refused_cleanly(case, template, read_only, base, tmp_path):
    root = tmp_path / "work"
    shutil.copytree(template, root, symlinks=True)
    outcome = evaluate(case, root, read_only, base)
    assert outcome.clean, f"{outcome.status}: {outcome.message}"
    assert not outcome.traceback, outcome.message
    assert outcome.named, f"{case.words} not in: {outcome.message}"
    assert not outcome.lost, outcome.lost
    assert not outcome.leftovers, outcome.leftovers


# ----------------------------------------------------------------------------------------------
# hypothesis: seeds and parameters of the library API
# ----------------------------------------------------------------------------------------------
bad_seeds = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(max_value=-1),
    st.integers(min_value=2**64, max_value=2**200),
    st.booleans(),
    st.text(max_size=8),
    st.none(),
    st.just(np.float64(1.0)),
    st.lists(st.integers(0, 10), max_size=2),
)
bad_values = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.lists(st.floats(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 1e308, True]),
)
HYPOTHESIS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_names(exc: pytest.ExceptionInfo, name: str) -> None:
    assert type(exc.value).__name__ in ("ScenarioError", "ExperimentError"), exc.value
    assert name in str(exc.value), str(exc.value)


@HYPOTHESIS
@given(seed=bad_seeds)
def test_run_refuses_every_bad_seed_by_name(seed):
    with pytest.raises(ScenarioError) as exc:
        run({"scale": 0.003, "end_year": 2023}, seed)
    assert_names(exc, "seed")


@HYPOTHESIS
@given(seed=bad_seeds)
def test_adoption_model_refuses_every_bad_seed_by_name(seed):
    if seed is None:  # None is a valid seed of the model (Mesa's default: fresh entropy)
        return
    with pytest.raises(ScenarioError) as exc:
        AdoptionModel(scale=0.003, agents="none", seed=seed)
    assert_names(exc, "seed")


@HYPOTHESIS
@given(
    name=st.sampled_from(
        [
            "scale",
            "rhythm",
            "engine",
            "end_year",
            "adoption_multiplier",
            "technologies.ai.peer",
            "behaviour.attitude_effect",
            "network.rewiring",
        ]
    ),
    value=bad_values,
)
def test_run_refuses_bad_parameter_values_by_name(name, value):
    if name == "end_year" and value is None:  # None: the scenario's own end year
        return
    if name == "rhythm" and value in ("slow", "central", "fast"):
        return
    with pytest.raises(ScenarioError) as exc:
        run({"scale": 0.003, "end_year": 2023, name: value}, 1)
    assert_names(exc, name)


@HYPOTHESIS
@given(params=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers())))
def test_run_refuses_params_that_are_not_a_dict(params):
    with pytest.raises(ScenarioError) as exc:
        run(params, 1)
    assert "dict" in str(exc.value)


@HYPOTHESIS
@given(
    name=st.sampled_from(["scale", "rhythm", "engine", "agents", "scenario", "interventions"]),
    value=bad_values,
)
def test_adoption_model_refuses_bad_arguments_by_name(name, value):
    if name == "rhythm" and isinstance(value, str) and value in ("slow", "central", "fast"):
        return
    if name == "interventions" and value in (None, []):  # no interventions
        return
    with pytest.raises(ScenarioError) as exc:
        AdoptionModel(**{"scale": 0.003, "agents": "none", name: value})
    assert type(exc.value).__name__ == "ScenarioError"
    assert name in str(exc.value) or (name == "scenario" and isinstance(value, str)), exc.value
