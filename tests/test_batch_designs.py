"""Experiment files, designs and seeds (no model runs)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from adoption_abm.batch import (
    ExperimentError,
    child_seed,
    design_points,
    experiment_from_dict,
    load_experiment,
    run_table,
)
from adoption_abm.batch.designs import SEED_MASK, salib_problem, sample_matrix


def exp(**kw):
    data = {"name": "t", "root_seed": 11, "base": {"scale": 0.002, "end_year": 2023}}
    data.update(kw)
    return experiment_from_dict(data, "t.toml")


def test_child_seed_is_the_spawned_child_whatever_the_batch_size():
    root = 20220101
    for n in (1, 5, 40):
        children = np.random.SeedSequence(root).spawn(n)
        for i, child in enumerate(children):
            assert (
                child_seed(root, i) == int(child.generate_state(1, dtype=np.uint64)[0]) & SEED_MASK
            )
    assert child_seed(root, 0) != child_seed(root + 1, 0)


def test_run_table_seeds_depend_on_root_and_index_only():
    e = exp(replications=3, parameters={"rhythm": {"values": ["slow", "fast"]}})
    runs = run_table(e)
    assert runs["run_id"].to_list() == list(range(6))
    assert runs["seed"].n_unique() == 6
    assert runs["seed"].to_list() == [child_seed(11, i) for i in range(6)]
    assert runs["point"].to_list() == [0, 0, 0, 1, 1, 1]
    assert runs["replicate"].to_list() == [0, 1, 2, 0, 1, 2]
    # adding a value appends points: the seeds of existing run ids are unchanged
    bigger = run_table(
        exp(replications=3, parameters={"rhythm": {"values": ["slow", "fast", "central"]}})
    )
    assert bigger["seed"].head(6).to_list() == runs["seed"].to_list()


def test_common_random_numbers_share_seeds_across_points():
    e = exp(
        replications=2,
        common_random_numbers=True,
        parameters={"rhythm": {"values": ["slow", "central", "fast"]}},
    )
    runs = run_table(e)
    by_rep = runs.group_by("replicate").agg(
        pl.col("seed").n_unique().alias("n"), pl.col("seed").first()
    )
    assert by_rep["n"].to_list() == [1, 1]
    assert sorted(by_rep["seed"].to_list()) == sorted([child_seed(11, 0), child_seed(11, 1)])


def test_factorial_crosses_values_and_levels():
    e = exp(
        parameters={
            "rhythm": {"values": ["slow", "fast"]},
            "mechanisms.mentoring.enabled": {"values": [False, True]},
            "adoption_multiplier": {"bounds": [0.5, 2.0], "levels": 3, "log": True},
        }
    )
    pts = design_points(e)
    assert pts.height == 2 * 2 * 3
    assert sorted(set(pts["adoption_multiplier"].to_list())) == pytest.approx([0.5, 1.0, 2.0])
    assert (
        pts.select("rhythm", "mechanisms.mentoring.enabled", "adoption_multiplier")
        .is_unique()
        .all()
    )


def test_lhs_has_one_point_per_stratum():
    n = 20
    e = exp(
        design={"kind": "lhs", "samples": n},
        parameters={
            "behaviour.attitude_effect": {"bounds": [0.5, 2.0]},
            "adoption_multiplier": {"bounds": [0.5, 2.0], "log": True},
        },
    )
    pts = design_points(e)
    assert pts.height == n
    for name, spec in e.parameters.items():
        lo, hi = np.log(spec.bounds) if spec.log else spec.bounds
        x = np.log(pts[name].to_numpy()) if spec.log else pts[name].to_numpy()
        strata = np.floor((x - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n)), name


@pytest.mark.parametrize(
    ("second_order", "rows"), [(False, 16 * (3 + 2)), (True, 16 * (2 * 3 + 2))]
)
def test_sobol_is_saltelli_sized_and_reproducible(second_order, rows):
    params = {
        k: {"bounds": [0.5, 1.5]}
        for k in ("behaviour.attitude_effect", "behaviour.skill_effect", "adoption_multiplier")
    }
    e = exp(
        design={"kind": "sobol", "samples": 16, "second_order": second_order}, parameters=params
    )
    pts = design_points(e)
    assert pts.height == rows
    assert pts.equals(design_points(e))
    x = pts.drop("point").to_numpy()
    assert (x >= 0.5).all() and (x <= 1.5).all()
    other = exp(
        root_seed=12,
        design={"kind": "sobol", "samples": 16, "second_order": second_order},
        parameters=params,
    )
    assert not pts.equals(design_points(other))


def test_morris_trajectories_move_one_parameter_at_a_time_on_the_grid():
    params = {
        "behaviour.attitude_effect": {"bounds": [0.0, 3.0]},
        "behaviour.skill_effect": {"bounds": [0.0, 3.0]},
    }
    e = exp(design={"kind": "morris", "samples": 5, "levels": 4}, parameters=params)
    x = sample_matrix(e)
    assert x.shape == (5 * 3, 2)
    assert np.isin(np.round(x, 9), [0.0, 1.0, 2.0, 3.0]).all()
    for t in range(5):
        steps = np.diff(x[3 * t : 3 * t + 3], axis=0)
        assert ((steps != 0).sum(axis=1) == 1).all()
    assert salib_problem(e)["names"] == list(params)


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"parameters": {"rhythm": {"values": ["slow", 1]}}}, "parameters.rhythm", "mixes types"),
        (
            {"parameters": {"rhythm": {"values": ["slow"], "bounds": [0, 1]}}},
            "parameters.rhythm",
            "exactly one",
        ),
        ({"parameters": {"scale": {"bounds": [0.2, 0.1]}}}, "parameters.scale", "low < high"),
        (
            {
                "design": {"kind": "sobol", "samples": 10},
                "parameters": {"scale": {"bounds": [0.001, 0.002]}},
            },
            "design",
            "power of 2",
        ),
        (
            {
                "design": {"kind": "lhs", "samples": 4},
                "parameters": {"rhythm": {"values": ["slow"]}},
            },
            "",
            "need `bounds`",
        ),
        (
            {"design": {"kind": "lhs"}, "parameters": {"scale": {"bounds": [0.001, 0.002]}}},
            "design",
            "needs `samples`",
        ),
        (
            {"parameters": {"behaviour.no_such": {"values": [1.0]}}},
            "parameters.behaviour.no_such",
            "no such field",
        ),
        (
            {"parameters": {"rhythm": {"values": ["slow", "brisk"]}}},
            "parameters.rhythm",
            "unknown rhythm",
        ),
        ({"parameters": {"policy": {"values": ["6,99"]}}}, "parameters.policy", "unknown proposal"),
        (
            {"parameters": {"behaviour.attitude_effect": {"values": [-1.0]}}},
            "parameters.behaviour.attitude_effect",
            "greater than or equal",
        ),
        ({"parameters": {"speed": {"values": [1.0]}}}, "parameters.speed", "unknown parameter"),
        ({"replications": 0}, "replications", "greater than or equal to 1"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_experiments_name_the_field(data, field, fragment):
    with pytest.raises(ExperimentError) as info:
        exp(**data)
    err = info.value
    assert err.file == "t.toml"
    assert any(path.startswith(field) and fragment in msg for path, msg in err.errors), err.errors


def test_example_experiment_files_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "experiments"
    files = sorted(p for p in root.glob("*.toml") if p.name != "calibrate.toml")
    assert {"sweep.toml", "sobol.toml", "morris.toml"} <= {p.name for p in files}
    for path in files:
        e = load_experiment(path)
        assert run_table(e).height > 0
