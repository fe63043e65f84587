"""The library API under bad input: ``adoption_abm.run(params, seed)`` and ``AdoptionModel(...)``
raise ScenarioError (a ValueError) naming the parameter for every bad value, before any work;
seeds are integers in [0, 2**64) (NumPy integers accepted, bools and floats refused)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adoption_abm
from adoption_abm import AdoptionModel
from adoption_abm.model import limits
from adoption_abm.scenario.errors import ScenarioError

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

bad_seeds = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=2**64, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=4),
    st.lists(st.integers(0, 3), max_size=2),
)
junk = st.one_of(st.text(max_size=4), st.lists(st.integers(), max_size=2), st.dictionaries(
    st.text(max_size=2), st.integers(), max_size=1), st.booleans())  # fmt: skip
# scenario fields are validated by pydantic in lax mode: "1" and true read as numbers there
not_a_number = st.one_of(
    st.text(alphabet="abcxyz ", min_size=1, max_size=4),
    st.lists(st.integers(), min_size=1, max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), min_size=1, max_size=1),
)
bad_scales = st.one_of(
    st.floats(max_value=0.0),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e9, 1e300]),
    st.floats(min_value=1e-300, max_value=1e-7),  # no agent for some profession
    junk,
)
bad_settings = st.one_of(
    st.tuples(st.just("scale"), bad_scales),
    st.tuples(st.just("rhythm"), st.one_of(st.integers(), st.text(max_size=3), st.none())),
    st.tuples(st.just("engine"), st.one_of(st.text(max_size=5), st.integers(), st.none())),
    st.tuples(
        st.just("end_year"),
        st.one_of(
            st.floats(2023.1, 2039.9), st.text(max_size=3), st.integers(-5, 1800), st.booleans()
        ),
    ),
    st.tuples(st.just("policy"), st.one_of(st.integers(), st.sampled_from(["99", "x@y", "0"]))),
    st.tuples(st.just("scenario"), st.one_of(st.integers(), st.sampled_from(["atlantis"]))),
    st.tuples(st.just("adoption_multiplier"), st.one_of(st.floats(max_value=-1e-9), junk)),
    st.tuples(st.just("technologies.ai.peer"), st.one_of(st.floats(max_value=-1e-9), not_a_number)),
    st.tuples(st.just("behaviour.nope"), st.integers()),
    st.tuples(st.just("nope"), st.integers()),
)


def names(exc: ScenarioError) -> set[str]:
    return {path for path, _ in exc.errors}


@FAST
@given(seed=bad_seeds)
def test_run_refuses_every_bad_seed(seed):
    with pytest.raises(ScenarioError) as info:
        adoption_abm.run({"scale": 0.002, "end_year": 2023}, seed)
    assert "seed" in names(info.value)
    assert "2**64" in str(info.value)


@FAST
@given(item=bad_settings)
def test_run_names_every_bad_parameter(item):
    key, value = item
    if key == "rhythm" and value in ("slow", "central", "fast"):
        return
    if key == "engine" and value in ("cython", "reference"):
        return
    with pytest.raises(ScenarioError) as info:
        adoption_abm.run({"end_year": 2023, key: value}, 1)
    if key == "scenario" and isinstance(value, str):
        assert info.value.file == value  # a file that does not exist: named itself
        return
    assert any(path == key or path.startswith(key) for path in names(info.value)), info.value


@pytest.mark.parametrize("params", [None, 3, "scale=1", [("scale", 0.01)], {1: 2}])
def test_run_refuses_params_that_are_not_a_dict_of_names(params):
    with pytest.raises(ScenarioError, match="parameters"):
        adoption_abm.run(params, 1)


def test_seeds_accept_numpy_integers_and_the_ends_of_the_range():
    tiny = {"scale": 0.002, "end_year": 2023}
    a = adoption_abm.run(tiny, np.uint64(2**64 - 1))
    assert a == adoption_abm.run(tiny, 2**64 - 1)
    assert adoption_abm.run(tiny, np.int32(0)) == adoption_abm.run(tiny, 0)
    model = AdoptionModel(scale=0.002, seed=np.uint64(7), agents="none")
    assert model.seed == 7 and type(model.seed) is int


def test_a_float_seed_is_refused_not_truncated():
    for seed in (1.5, 1.0, np.float64(2.0)):
        with pytest.raises(ScenarioError, match="seed: must be an integer"):
            adoption_abm.run({"scale": 0.002, "end_year": 2023}, seed)
        with pytest.raises(ScenarioError, match="seed: must be an integer"):
            AdoptionModel(scale=0.002, seed=seed)


def test_the_issue_examples():
    with pytest.raises(ScenarioError) as info:
        adoption_abm.run({"scale": "big"}, 1)
    assert str(info.value) == "parameters: scale: must be a number, got 'big' (str)"
    with pytest.raises(ScenarioError, match="seed"):
        adoption_abm.run({}, -1)
    with pytest.raises(ScenarioError, match="must be a dict"):
        adoption_abm.run(None, 1)
    with pytest.raises(ScenarioError, match=r"technologies\.ai\.peer"):
        adoption_abm.run({"technologies.ai.peer": 1e308}, 1)


model_arguments = st.one_of(
    st.tuples(st.just("seed"), bad_seeds),
    st.tuples(st.just("rng"), st.one_of(bad_seeds.filter(lambda s: s is not None), st.text())),
    st.tuples(st.just("scale"), bad_scales),
    st.tuples(
        st.just("rhythm"), st.one_of(st.integers(), st.text(max_size=3), st.lists(st.text()))
    ),
    st.tuples(st.just("engine"), st.one_of(st.text(max_size=5), st.integers())),
    st.tuples(
        st.just("agents"),
        st.one_of(st.integers(max_value=-1), st.text(max_size=3), st.floats(), st.booleans()),
    ),
    st.tuples(st.just("scenario"), st.one_of(st.integers(), st.floats(), st.just("atlantis"))),
    st.tuples(st.just("overrides"), st.one_of(st.integers(), st.lists(st.integers(), min_size=1))),
    st.tuples(st.just("interventions"), st.one_of(st.integers(), st.just([{"proposal": 99}]))),
)


@FAST
@given(item=model_arguments)
def test_adoption_model_names_every_bad_argument(item):
    key, value = item
    if key == "rhythm" and value in ("slow", "central", "fast"):
        return
    if key == "engine" and value in ("cython", "reference"):
        return
    if key == "agents" and value in ("all", "auto"):
        return
    with pytest.raises(ScenarioError) as info:
        AdoptionModel(**{"scale": 0.002, key: value})
    paths = names(info.value)
    expected = "interventions" if key == "interventions" else key
    if key == "scenario" and value == "atlantis":
        return  # a missing file names the file, not the argument
    assert any(p == expected or p.startswith(expected) for p in paths), info.value


def test_seed_and_rng_together_is_named():
    with pytest.raises(ScenarioError, match="seed: pass either seed or rng"):
        AdoptionModel(seed=1, rng=1)


def test_memory_estimate_refuses_and_force_goes_ahead(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 64 * 2**20)
    with pytest.raises(ScenarioError, match=r"needs about .* of memory; this machine has 64\.0"):
        AdoptionModel(scale=0.002)
    with pytest.raises(ScenarioError, match="force=True"):
        adoption_abm.run({"scale": 0.002, "end_year": 2023}, 1)
    AdoptionModel(scale=0.002, force=True, agents="none")
    adoption_abm.run({"scale": 0.002, "end_year": 2023}, 1, force=True)


def test_memory_estimate_is_conservative_for_the_runs_measured():
    """The estimate covers the peak RSS measured (module docstring of model.limits)."""
    measured_mib = {0.01: 207, 0.1: 231, 0.5: 313, 1.0: 403, 2.0: 578, 5.0: 1106}
    sc = adoption_abm.load_scenario()
    for scale, mib in measured_mib.items():
        estimate = limits.memory_estimate(limits.professionals_at(sc, scale))
        assert estimate >= mib * 2**20, scale
        assert estimate <= 2 * mib * 2**20, scale  # conservative, not absurd


def test_the_estimate_counts_mesa_agent_objects():
    sc = adoption_abm.load_scenario()
    n = limits.professionals_at(sc, 0.2)
    assert limits.memory_estimate(n, n) - limits.memory_estimate(n) == pytest.approx(768 * n)
