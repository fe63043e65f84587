"""Scenario files: the built-in one is valid and sourced; bad ones get one clear error each."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adoption_abm.scenario.errors import ScenarioError
from adoption_abm.scenario.load import (
    builtin_scenarios,
    load_scenario,
    scenario_from_dict,
    with_overrides,
)


def errors_of(data: dict, label: str = "bad.toml") -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, label)
    assert info.value.file == label
    return info.value.errors


def test_builtin_loads_and_matches_seed_headcounts():
    assert "france-2022" in builtin_scenarios()
    sc = load_scenario("france-2022")
    assert len(sc.professions) == 8
    named_by_seed = {"surgeon", "hospital_nurse", "radiologist", "care_assistant"}
    assert named_by_seed <= set(sc.professions)
    groups = {p.group for p in sc.professions.values()}
    assert groups == {"medical", "non_medical"}
    total = sum(p.headcount for p in sc.professions.values())
    assert 0.9e6 < total < 1.2e6  # the eight professions are about half of the ~2 M workforce


def test_every_number_has_a_source(scenario_dict):
    """Dropping a block's sources makes the scenario invalid, with the field named."""
    scenario_dict["technologies"]["ai"].pop("source")
    errs = errors_of(scenario_dict)
    assert any(path == "technologies.ai" and "no source" in msg for path, msg in errs)


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (
            lambda d: d["professions"]["surgeon"].pop("headcount"),
            "professions.surgeon.headcount",
            "missing",
        ),
        (
            lambda d: d["professions"]["surgeon"].update(headcoutn=1),
            "professions.surgeon.headcoutn",
            "unknown field",
        ),
        (
            lambda d: d["professions"]["surgeon"].update(headcount="many"),
            "professions.surgeon.headcount",
            "number",
        ),
        (
            lambda d: d["professions"]["surgeon"].update(headcount=-3),
            "professions.surgeon.headcount",
            "greater than 0",
        ),
        (lambda d: d["technologies"]["ai"].update(peer=math.nan), "technologies.ai.peer", "finite"),
        (lambda d: d["technologies"]["ai"].update(peer=math.inf), "technologies.ai.peer", "finite"),
        (
            lambda d: d["professions"]["surgeon"]["spread"].update(chu=0.5),
            "professions.surgeon.spread",
            "sum to 1",
        ),
        (
            lambda d: d["potential"]["shares"].update(
                dentist={f: [0.1] * 5 for f in ("ai", "digital", "robotics")}
            ),
            "potential.shares.dentist",
            "unknown profession",
        ),
        (
            lambda d: d["potential"]["shares"]["surgeon"].update(quantum=[0.1] * 5),
            "potential.shares.surgeon.quantum",
            "unknown family; allowed: ['ai', 'digital', 'robotics']",
        ),
        (
            lambda d: d["potential"].update(years=[2022, 2030, 2025, 2035, 2040]),
            "potential.years",
            "increasing",
        ),
        (
            lambda d: d["technologies"].update(years=[2025, 2030, 2035, 2040, 2045]),
            "technologies.years",
            "cover",
        ),
        (
            lambda d: d["professions"]["surgeon"]["spread"].update(hospice=0.0),
            "professions.surgeon.spread.hospice",
            "unknown establishment type",
        ),
        (
            lambda d: d["deployment"]["initial"]["chu"].update(ai=1.5),
            "deployment.initial.chu.ai",
            "less than or equal to 1",
        ),
        (
            lambda d: d["potential"]["shares"]["surgeon"].update(ai=[0.1] * 4),
            "potential",
            "4 values",
        ),
        (lambda d: d["rhythms"].pop("fast"), "rhythms", "missing rhythm 'fast'"),
        (lambda d: d.update(end_year=2020), "end_year", "after start_year"),
    ],
)
def test_bad_field_is_named(scenario_dict, mutate, path, words):
    mutate(scenario_dict)
    errs = errors_of(scenario_dict)
    assert any(p == path and words in m for p, m in errs), errs


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("schema_version = 1\nname = [unclosed\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(bad)
    assert info.value.file == str(bad)
    assert "not valid TOML" in str(info.value)
    with pytest.raises(ScenarioError, match="built-ins"):
        load_scenario(tmp_path / "missing.toml")


def test_overrides_revalidate():
    sc = load_scenario()
    sc2 = with_overrides(sc, {"mechanisms.mentoring.enabled": False, "technologies.ai.peer": 0.3})
    assert not sc2.mechanisms.mentoring.enabled and sc2.technologies["ai"].peer == 0.3
    assert sc.technologies["ai"].peer != 0.3  # the original is untouched (frozen)
    with pytest.raises(ScenarioError, match=r"behaviour.nope"):
        with_overrides(sc, {"behaviour.nope": 1})
    with pytest.raises(ScenarioError, match=r"technologies.ai.peer"):
        with_overrides(sc, {"technologies.ai.peer": -1})


# --- fuzzing --------------------------------------------------------------------------------
def _leaf_paths(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaf_paths(v, (*prefix, k))
    elif isinstance(node, list) and node and not isinstance(node[0], dict):
        for i, v in enumerate(node):
            yield from _leaf_paths(v, (*prefix, i))
    yield prefix


_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(max_size=8),
    st.booleans(),
    st.lists(st.floats(min_value=-2, max_value=2), max_size=6),
    st.dictionaries(st.sampled_from(["ai", "digital", "x", "chu"]), st.floats(-1, 2), max_size=3),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_scenarios_are_valid_or_cleanly_rejected(base_dict, data):
    """Any mutation of the scenario gives a Scenario or a ScenarioError with field paths,
    never another exception."""
    doc = copy.deepcopy(base_dict)
    paths = [p for p in _leaf_paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = data.draw(st.sampled_from(["replace", "delete", "extra"]))
            if action == "replace":
                parent[path[-1]] = data.draw(_values)
            elif action == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, dict):
                parent[data.draw(st.text(min_size=1, max_size=6))] = data.draw(_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    try:
        scenario_from_dict(doc, "fuzz.toml")
    except ScenarioError as exc:
        assert exc.errors
        for field_path, msg in exc.errors:
            assert isinstance(field_path, str) and msg
        assert "fuzz.toml" in str(exc)
    # a valid result is fine too; anything else raised fails the test


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=20_000), junk=st.text(max_size=10))
def test_fuzzed_files_are_cleanly_rejected(tmp_path, base_dict, cut, junk):
    text = tomli_w.dumps(base_dict)
    path = tmp_path / "cut.toml"
    path.write_text(text[:cut] + junk)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert exc.file == str(path)


def test_parameter_table_is_current_and_every_number_sourced():
    import importlib.util
    from pathlib import Path

    from adoption_abm.scenario.load import sourced_numbers

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "parameter_table", root / "experiments" / "parameter_table.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (root / "docs" / "PARAMETERS.md").read_text() == mod.render(), (
        "regenerate: python experiments/parameter_table.py > docs/PARAMETERS.md"
    )
    rows = sourced_numbers(load_scenario())
    assert len(rows) > 100
    assert all(source.strip() for _, _, source in rows)


def test_table_at_on_an_array_of_times_equals_each_time_alone():
    """``outputs.indicators.potential_table`` reads every month of a table in one call."""
    from adoption_abm.scenario.calendar import table_at

    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(2, 10))
        years = sorted(rng.choice(np.arange(2010, 2060), n, replace=False).tolist())
        values = rng.random(n).tolist()
        t = np.concatenate(
            [2005 + 60 * rng.random(100), np.array(years) + 1.0, 2022 + np.arange(229) / 12]
        )
        one_by_one = np.array([table_at(years, values, float(x)) for x in t])
        assert table_at(years, values, t).tobytes() == one_by_one.tobytes()


def test_deployment_base_rates_of_every_month_at_once_equal_each_month_alone():
    """``rules.deployment.base_rates`` computes a scenario's months in one go; each number is
    the one its month gives alone, computed as the rule reads it (scalars)."""
    from adoption_abm.rules.deployment import base_rates, month_mid_time
    from adoption_abm.scenario.calendar import table_at

    sc = with_overrides(load_scenario(), {"deployment.cost_elasticity": 0.7})  # a cold memo
    tech, dep = sc.technologies, sc.deployment
    for month in range(1, 12 * (sc.end_year - sc.start_year + 1) + 1, 7):
        t = month_mid_time(sc, month)
        alone = np.zeros((len(sc.type_ids), sc.n_families))
        for f, (fam, tc) in enumerate(tech.families.items()):
            maturity = table_at(tech.years, tc.maturity, t)
            afford = math.pow(table_at(tech.years, tc.cost, t) / tc.cost[0], -dep.cost_elasticity)
            for k, tid in enumerate(sc.type_ids):
                alone[k, f] = dep.base_rate[tid][fam] * maturity * afford
        assert base_rates(sc, t).tobytes() == alone.tobytes(), month
    assert base_rates(sc, 2031.3).tobytes() == base_rates(sc, 2031.3).tobytes()  # off-month
