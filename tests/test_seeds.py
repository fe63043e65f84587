"""One seed scheme: ``compare(seed=s)`` runs replication ``r`` with the seed ``run_batch`` gives
replicate ``r`` of an experiment with ``root_seed = s``, and that run is ``adoption-abm run
--seed`` with the seed."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from adoption_abm import AdoptionModel, load_scenario
from adoption_abm.analysis.compare import compare, year_metrics
from adoption_abm.batch import designs, experiment_from_dict, read_results, run_batch, run_table
from adoption_abm.batch.seeds import SEED_MASK, child_seed, replication_seeds
from adoption_abm.cli.main import app
from adoption_abm.policies.parse import parse_policy
from adoption_abm.scenario.load import with_overrides

ROOT = 20240607
REPS = 3
SCALE = 0.003
BASE = {"scale": SCALE, "end_year": 2031}


def test_the_scheme_is_seedsequence_spawn_in_63_bits():
    children = np.random.SeedSequence(ROOT).spawn(5)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0]) & SEED_MASK for c in children]
    assert replication_seeds(ROOT, 5) == expected == [child_seed(ROOT, r) for r in range(5)]
    assert replication_seeds(ROOT, 2) == expected[:2]  # a seed does not depend on the count
    assert all(0 <= s < 2**63 for s in expected) and max(expected) >= 2**32
    assert designs.child_seed is child_seed  # batch designs use this very function


@pytest.fixture(scope="module")
def short():
    return with_overrides(load_scenario("france-2022"), {"end_year": 2031})


@pytest.fixture(scope="module")
def comparison(short):
    return compare(short, ["baseline", "6,7"], replications=REPS, seed=ROOT, scale=SCALE)


@pytest.mark.parametrize("crn", [True, False])
def test_compare_seeds_are_the_batch_seeds(comparison, crn):
    seeds = comparison.meta["seeds"]
    assert seeds == replication_seeds(ROOT, REPS)
    # replicate r of an experiment with this root seed: one point, or common random numbers
    parameters = {"policy": {"values": ["baseline", "6,7"]}} if crn else {}
    exp = experiment_from_dict(
        {
            "name": "seeds",
            "root_seed": ROOT,
            "replications": REPS,
            "common_random_numbers": crn,
            "base": BASE,
            "parameters": parameters,
        }
    )
    table = run_table(exp)
    for r in range(REPS):
        assert table.filter(pl.col("replicate") == r)["seed"].unique().to_list() == [seeds[r]]


def test_compare_runs_are_the_batch_runs(comparison, tmp_path):
    """The same root seed gives the same runs: batch outputs equal the comparison's."""
    exp = experiment_from_dict(
        {
            "name": "seeds",
            "root_seed": ROOT,
            "replications": REPS,
            "common_random_numbers": True,
            "base": BASE,
            "parameters": {"policy": {"values": ["baseline", "6,7"]}},
        }
    )
    report = run_batch(exp, tmp_path, workers=1)
    assert report.failed == 0
    batch = read_results(tmp_path)
    runs = comparison.runs.with_columns(pl.col("policy").cast(pl.String))
    for row in batch.iter_rows(named=True):
        mine = runs.filter(
            (pl.col("policy") == row["policy"])
            & (pl.col("replication") == row["replicate"])
            & (pl.col("year") == 2030)
        ).row(0, named=True)
        assert mine["seed"] == row["seed"]
        for metric in ("realised_all", "fte_freed_all", "downgrading_risk"):
            assert mine[metric] == row[f"{metric}_2030"], (row["policy"], row["replicate"], metric)


def test_one_comparison_run_is_the_model_and_the_run_command(comparison, short, tmp_path):
    r = 2
    seed = replication_seeds(ROOT, REPS)[r]
    runs = comparison.runs.filter(
        (pl.col("policy").cast(pl.String) == "6,7") & (pl.col("replication") == r)
    )
    assert runs["seed"].unique().to_list() == [seed]
    model = AdoptionModel(
        short, scale=SCALE, seed=seed, agents="none", interventions=parse_policy("6,7", short)
    ).run()
    expected = year_metrics(model, (2025, 2030))
    for row in runs.iter_rows(named=True):
        assert {k: row[k] for k in expected[row["year"]]} == expected[row["year"]]
    # the same run from the command line, with the 63-bit seed
    path = tmp_path / "short.toml"
    path.write_text(tomli_w.dumps(short.model_dump(mode="json")))
    out = tmp_path / "run"
    args = ["run", "--scenario", str(path), "--seed", str(seed), "--scale", str(SCALE)]
    res = CliRunner().invoke(app, [*args, "--policy", "6,7", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == seed
    row = runs.filter(pl.col("year") == 2030).row(0, named=True)
    assert summary["years"]["2030"]["realised"]["all"] == row["realised_all"]
    assert summary["years"]["2030"]["fte_freed"]["all"] == row["fte_freed_all"]
