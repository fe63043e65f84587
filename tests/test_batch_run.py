"""``adoption_abm.run(params, seed)`` and identical batch results whatever the executor."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import adoption_abm
from adoption_abm import AdoptionModel
from adoption_abm.batch import experiment_from_dict, read_results, run_batch
from adoption_abm.batch.params import flat_outputs, resolve
from adoption_abm.scenario.errors import ScenarioError

TINY = {"scale": 0.002, "end_year": 2023}


def test_run_is_the_seeded_model():
    out = adoption_abm.run({**TINY, "rhythm": "fast"}, seed=5)
    model = AdoptionModel(
        rhythm="fast", scale=0.002, seed=5, agents="none", overrides={"end_year": 2023}
    ).run()
    assert out == flat_outputs(model)
    assert set(out) >= {"realised_all_2023", "multi_speed_gap_2023", "realised_care_assistant_2023"}
    assert all(isinstance(v, float) for v in out.values())
    assert out == adoption_abm.run({**TINY, "rhythm": "fast"}, seed=5)
    assert out != adoption_abm.run({**TINY, "rhythm": "fast"}, seed=6)


def test_run_reports_the_seed_years():
    out = adoption_abm.run({"scale": 0.002, "end_year": 2030}, seed=1)
    years = {k.rsplit("_", 1)[1] for k in out}
    assert years == {"2025", "2030"}
    assert out["multi_speed_gap_2030"] == max(
        out[f"gap_{a}_2030"] for a in ("profession", "age", "establishment")
    )


def test_the_batch_figures_are_the_summary_figures():
    """``flat_outputs`` reads ``Outputs.headline``, the part of ``year_summary`` it keeps."""
    model = AdoptionModel(scale=0.002, seed=4, agents="none", overrides={"end_year": 2030}).run()
    flat, out = flat_outputs(model), model.outputs()
    for y in (2025, 2030):
        s = out.year_summary(y)
        for key, value in out.headline(y).items():
            assert s[key] == value, (y, key)
        assert flat[f"realised_surgeon_{y}"] == s["realised"]["surgeon"]
        assert flat[f"fte_freed_all_{y}"] == s["fte_freed"]["all"]
        assert flat[f"gap_age_{y}"] == s["multi_speed_gap"]["age"]
        assert flat[f"downgrading_risk_{y}"] == s["downgrading_risk"]


def test_engines_and_numpy_scalars_give_the_same_result():
    params = {**TINY, "behaviour.attitude_effect": np.float64(1.5), "end_year": np.int64(2023)}
    a = adoption_abm.run({**params, "engine": "cython"}, seed=np.int64(3))
    b = adoption_abm.run({**params, "engine": "reference"}, seed=3)
    assert a == b


def test_derived_parameters():
    base, _ = resolve({})
    sc, settings = resolve(
        {
            "adoption_multiplier": 2.0,
            "deployment_multiplier": 0.5,
            "rhythms.slow": 0.6,
            "rhythm": "slow",
        }
    )
    assert settings["rhythm"] == "slow"
    for fam in ("ai", "digital", "robotics"):
        t0, t1 = base.technologies[fam], sc.technologies[fam]
        assert t1.peer == pytest.approx(2 * t0.peer) and t1.spontaneous == pytest.approx(
            2 * t0.spontaneous
        )
    for t, rates in sc.deployment.base_rate.items():
        assert rates["ai"] == pytest.approx(0.5 * base.deployment.base_rate[t]["ai"])
    slow = sc.rhythms["slow"]
    assert (slow.adoption, slow.deployment, slow.mastery) == (0.6, 0.6, 0.6)
    # an explicit field wins over a derived parameter on the same path
    sc2, _ = resolve({"adoption_multiplier": 2.0, "technologies.ai.peer": 0.1})
    assert sc2.technologies["ai"].peer == 0.1
    assert sc2.technologies["digital"].peer == pytest.approx(2 * base.technologies["digital"].peer)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"speed": 1}, "unknown parameter"),
        ({"behaviour.nope": 1}, "no such field"),
        ({"rhythms.brisk": 1.2}, "unknown rhythm"),
        ({"behaviour.attitude_effect": -1}, "greater than or equal"),
    ],
)
def test_bad_parameters_are_named(params, fragment):
    with pytest.raises(ScenarioError) as info:
        adoption_abm.run({**TINY, **params}, seed=1)
    assert any(fragment in msg for _path, msg in info.value.errors), info.value.errors


EXPERIMENT = {
    "name": "executors",
    "root_seed": 99,
    "replications": 2,
    "base": {"scale": 0.002, "end_year": 2023},
    "design": {"kind": "lhs", "samples": 8},
    "parameters": {
        "behaviour.attitude_effect": {"bounds": [0.4, 2.0]},
        "adoption_multiplier": {"bounds": [0.5, 2.0], "log": True},
    },
    "outputs": {"monthly": True},
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The batch run in this process, one run per task, plus each run recomputed by hand."""
    out = tmp_path_factory.mktemp("ref")
    exp = experiment_from_dict(EXPERIMENT)
    report = run_batch(exp, out, workers=1, chunk_size=1)
    assert report.computed == report.total == 16 and report.failed == 0
    return exp, read_results(out), read_results(out, monthly=True)


def test_batch_rows_are_the_plain_function(reference):
    exp, results, _ = reference
    for row in results.head(4).iter_rows(named=True):
        params = {**exp.base, **{k: row[k] for k in exp.parameters}}
        expected = adoption_abm.run(params, row["seed"])
        assert {k: row[k] for k in expected} == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kwargs", "chunk_size"),
    [({"workers": 1}, 5), ({"workers": 2}, 3), ({"dask_local": True, "workers": 2}, 2)],
    ids=["in-process", "2-processes", "dask-local"],
)
def test_identical_results_whatever_the_executor(reference, tmp_path, kwargs, chunk_size):
    exp, results, monthly = reference
    report = run_batch(exp, tmp_path, chunk_size=chunk_size, **kwargs)
    assert report.computed == 16 and report.failed == 0
    assert read_results(tmp_path).equals(results)
    assert read_results(tmp_path, monthly=True).equals(monthly)
    index = pl.read_parquet(tmp_path / "runs.parquet")
    assert index["status"].to_list() == ["done"] * 16
    assert index["run_id"].to_list() == list(range(16))
    assert (index["seconds"] > 0).all() and index["version"].unique().to_list() == [
        adoption_abm.__version__
    ]


def test_a_worker_keeps_the_scenarios_of_recent_overrides():
    """The runs of one point of a sweep share its scenario (and what the rules derive from it);
    other values, or a parameter holding an array, get their own."""
    params = {**TINY, "behaviour.attitude_effect": 1.25}
    a, _ = resolve(params)
    assert resolve(dict(params))[0] is a
    assert resolve({**params, "behaviour.attitude_effect": 1.5})[0] is not a
    assert resolve({**params, "behaviour.attitude_effect": 1.25 + 1e-12})[0] is not a
    assert adoption_abm.run(params, seed=2) == flat_outputs(
        AdoptionModel(
            scale=0.002,
            seed=2,
            agents="none",
            overrides={"end_year": 2023, "behaviour.attitude_effect": 1.25},
        ).run()
    )
