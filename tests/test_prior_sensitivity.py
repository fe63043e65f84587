"""Which effect prior decides: the SALib problem over the priors, the Sobol indices of a
policy's effect, the report and ``adoption-abm sensitivity --priors``, on tiny runs (a scenario
cut at 2030, scale 0.003)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from adoption_abm import load_scenario
from adoption_abm.analysis.compare import compare
from adoption_abm.analysis.prior_report import reading, write_report
from adoption_abm.analysis.prior_sensitivity import (
    analyse,
    design,
    factors,
    prior_sensitivity,
    problem,
    run_scenario,
)
from adoption_abm.cli.main import app
from adoption_abm.policies.priors import priors
from adoption_abm.scenario.load import with_overrides

SCALE = 0.003
runner = CliRunner()


@pytest.fixture(scope="module")
def short():
    return with_overrides(load_scenario("france-2022"), {"end_year": 2030})


# ---------------------------------------------------------------------------------------------
# The problem (no runs)
# ---------------------------------------------------------------------------------------------
def test_problem_holds_the_priors_of_the_policy_only():
    ps = priors([6, 10])
    names = problem(ps)["names"]
    assert names == ["p6.e0.training", "p6.e1.reach", "p10.e0.adoption"]
    assert not any(n.startswith(("p7.", "p19.")) for n in names)
    assert [f.name for f in factors(ps, "proposal")] == ["p6", "p10"]
    assert problem(ps, "proposal")["groups"] == ["p6", "p6", "p10"]


def test_design_maps_the_sobol_points_through_each_prior():
    ps = priors([6, 10])
    u, x = design(ps, 8, seed=3)
    assert u.shape == (8 * (3 + 2), 3)  # N (D + 2), second order off
    ug, _ = design(ps, 8, seed=3, grouping="proposal")
    assert ug.shape == (8 * (2 + 2), 3)  # D = 2 groups
    for j, p in enumerate(ps):
        assert (x[:, j] >= p.low).all() and (x[:, j] <= p.high).all()
        np.testing.assert_array_equal(x[:, j], p.quantile(u[:, j]))
    np.testing.assert_array_equal(design(ps, 8, seed=3)[0], u)
    assert not np.array_equal(design(ps, 8, seed=4)[0], u)


def test_samples_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="power of 2"):
        design(priors([6]), 12, seed=1)


def test_analyse_gives_an_ignored_prior_zero_total_index():
    """An output of the first prior alone: Jansen's total index of the others is exactly 0
    (their columns never change the output), the first prior's is resolved."""
    ps = priors([6, 10])
    _, x = design(ps, 32, seed=1)
    y = x[:, 0] ** 2
    t = analyse(ps, y, seed=1, resamples=200)
    rows = {r["factor"]: r for r in t.iter_rows(named=True)}
    assert t["factor"][0] == "p6.e0.training"  # sorted by ST
    assert rows["p6.e0.training"]["resolved"]
    for name in ("p6.e1.reach", "p10.e0.adoption"):
        assert rows[name]["ST"] == 0 and not rows[name]["resolved"]
    assert rows["p6.e0.training"]["source"].startswith("assumption")
    assert "Forsetlund" in rows["p6.e0.training"]["source"]


def test_run_scenario_stops_at_the_year_unless_an_intervention_starts_later(short):
    sc = with_overrides(short, {"end_year": 2032})
    assert run_scenario(sc, 2030, [{"proposal": 6}]).end_year == 2030
    assert run_scenario(sc, 2030, [{"proposal": 6, "start": "2031-01"}]).end_year == 2032
    assert run_scenario(sc, 2032, [{"proposal": 6}]) is sc


def test_stopping_at_the_year_leaves_its_outputs_unchanged(short):
    """The model is causal: a run cut at the end of 2030 gives the 2030 outputs of a run to
    2032, bit for bit (what lets the analysis stop its runs early)."""
    sc = with_overrides(short, {"end_year": 2032})
    kw = dict(replications=1, seed=2, scale=SCALE, years=(2030,), workers=1)
    full = compare(sc, ["baseline", "6,10"], **kw).runs
    cut = compare(run_scenario(sc, 2030, [{"proposal": 6}]), ["baseline", "6,10"], **kw).runs
    assert full.equals(cut)


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(short):
    return prior_sensitivity(
        short, "6,10", samples=4, replications=2, scale=SCALE, seed=5, workers=1
    )


def test_rows_are_paired_with_one_baseline_per_seed(small):
    m = small.meta
    assert m["rows"] == 4 * 5 and m["priors"] == [
        "p6.e0.training",
        "p6.e1.reach",
        "p10.e0.adoption",
    ]
    runs = small.runs
    assert runs.filter(pl.col("role") == "baseline").height == 2  # once per seed
    assert runs.height == (m["rows"] + 1) * 2 and m["runs"] == runs.height
    assert set(runs["seed"]) == set(m["seeds"])
    # the analysis can be redone from the files: y is the mean paired difference
    base = runs.filter(pl.col("role") == "baseline").sort("replication")["realised_all"]
    row3 = runs.filter(pl.col("row") == 3).sort("replication")["realised_all"]
    assert small.draws["y"][3] == pytest.approx(float((row3 - base).mean()), rel=1e-12)
    assert np.isfinite(m["noise_share"]) and m["noise_share"] >= 0


def test_same_seed_same_indices_whatever_the_workers(short, small):
    again = prior_sensitivity(
        short, "6,10", samples=4, replications=2, scale=SCALE, seed=5, workers=2
    )
    assert again.indices.equals(small.indices)
    assert again.draws.equals(small.draws)


def test_the_reading_names_the_factor_with_the_largest_total_index(small):
    text = reading(small)
    assert small.indices["factor"][0] in text
    if not small.indices["resolved"].any():
        assert "N = 4 is too small" in text


@pytest.mark.slow
def test_the_wide_prior_decides_unless_a_limit_binds(short):
    """Realised gain 2030, grouped by proposal (D = 2, N = 64), the two total indices' 95 %
    intervals apart each time.

    Policy 7,10: reverse mentoring's priors (take-up x1.5 to x5, capacity x1 to x2; nothing
    caps the pairings) explain more of the effect's variance than the study's adoption prior
    (0 to +3 %). Policy 6,10: the order flips. Proposal 6's courses are limited by the
    trainers' capacity (75 a year per 1,000, which #6 alone exceeds) and by its 50 M€ budget,
    not by the demand its training prior sets, so that prior barely matters and the study's
    decides."""

    def indices(policy):
        res = prior_sensitivity(
            short,
            policy,
            samples=64,
            replications=1,
            grouping="proposal",
            scale=SCALE,
            seed=1,
            workers=2,
        )
        return res, {r["factor"]: r for r in res.indices.iter_rows(named=True)}

    res, rows = indices("7,10")
    p7, p10 = rows["p7"], rows["p10"]
    assert p7["ST"] - p7["ST_conf"] > p10["ST"] + p10["ST_conf"]
    assert res.indices["factor"][0] == "p7"
    assert "The prior that decides" in reading(res) and "p7" in reading(res)
    _, rows = indices("6,10")
    p6, p10 = rows["p6"], rows["p10"]
    assert p10["ST"] - p10["ST_conf"] > p6["ST"] + p6["ST_conf"]


# ---------------------------------------------------------------------------------------------
# The report and the command
# ---------------------------------------------------------------------------------------------
def test_write_report(small, tmp_path):
    write_report(small, tmp_path, command="adoption-abm sensitivity --priors ...")
    for name in ("indices.parquet", "draws.parquet", "runs.parquet", "meta.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    md = (tmp_path / "sensitivity.md").read_text()
    assert "## Reading" in md and "p10.e0.adoption" in md and "Giguere et al. 2012" in md
    assert "<table>" in (tmp_path / "sensitivity.html").read_text()
    assert pl.read_parquet(tmp_path / "indices.parquet").equals(small.indices)
    assert json.loads((tmp_path / "meta.json").read_text())["samples"] == 4


def test_sensitivity_priors_command_writes_the_report(tmp_path):
    out = tmp_path / "prior"
    args = [
        "sensitivity",
        "--priors",
        "--policy",
        "10",
        "--versus",
        "6",
        "--groups",
        "proposal",
        "--samples",
        "2",
        "--replications",
        "1",
        "--scale",
        str(SCALE),
        "--set",
        "end_year=2030",
        "--workers",
        "1",
        "--out",
        str(out),
        "--no-progress",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "p6: S1" in res.output and "p10: S1" in res.output
    md = (out / "sensitivity.md").read_text()
    assert "Which assumption decides: 10 versus 6" in md
    meta = json.loads((out / "meta.json").read_text())
    assert meta["versus"] == "6" and meta["rows"] == 2 * 4 and meta["runs"] == 2 * 8 + 1
    assert pl.read_parquet(out / "runs.parquet").height == meta["runs"]
    again = runner.invoke(app, args)  # the folder exists: refused before any run
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_sensitivity_without_priors_keeps_reading_an_experiment(tmp_path):
    res = runner.invoke(
        app, ["sensitivity", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "missing.toml" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--priors"], "--policy: required with --priors"),
        (["--priors", "--policy", "6", "--metric", "speed"], "--metric 'speed': allowed"),
        (["--priors", "--policy", "6", "--year", "2050"], "--year 2050: must lie within"),
        (["--priors", "--policy", "6", "--samples", "10"], "--samples 10: must be a power of 2"),
        (["--priors", "--policy", "6", "--groups", "family"], "--groups 'family': allowed"),
        (["--priors", "--policy", "6", "--replications", "0"], "--replications 0: must be"),
        (["--priors", "--policy", "42"], "--policy '42': unknown proposal"),
        (["--priors", "--policy", "baseline"], "--policy: policy 'baseline': the baseline"),
        (["--priors", "--policy", "6", "--versus", "6"], "--versus: versus '6': the same"),
        (["--priors", "--policy", "6", "--seed", "-1"], "--seed -1: must be an integer"),
        (["--priors", "--policy", "6", "--output", "x"], "--output: only for an EXPERIMENT"),
        (["--priors", "--policy", "6", "--dask", "remote"], "--dask 'remote': allowed 'local'"),
        (["x.toml", "--priors", "--policy", "6"], "EXPERIMENT x.toml: not with --priors"),
        (["x.toml", "--policy", "6"], "--policy: only with --priors"),
        ([], "EXPERIMENT: missing"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path, args, message):
    res = runner.invoke(app, ["sensitivity", *args, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "o").exists()
