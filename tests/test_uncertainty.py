"""Uncertainty in every comparison: ``compare(..., assumptions=N)`` and
:mod:`adoption_abm.analysis.uncertainty`. The statistics on constructed arrays with known
answers, then tiny runs (a scenario cut at 2030, scale 0.003)."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from adoption_abm import load_scenario
from adoption_abm.analysis.compare import (
    METRIC_LABELS,
    RunFailed,
    RunSpec,
    compare,
    resolve_policies,
    run_one,
)
from adoption_abm.analysis.report import write_report
from adoption_abm.analysis.uncertainty import (
    DIRECTION,
    beats_frame,
    decompose,
    ranks_frame,
    uncertainty_frame,
)
from adoption_abm.cli.main import app
from adoption_abm.policies.priors import apply_draw, draw_values, priors
from adoption_abm.scenario.load import with_overrides

SCALE = 0.003
T_975 = {1: 12.706204736174698, 2: 4.302652729911275, 3: 3.182446305284263}  # t(0.975, df)
runner = CliRunner()


# ---------------------------------------------------------------------------------------------
# The statistics, on constructed arrays
# ---------------------------------------------------------------------------------------------
def test_decomposition_on_a_constructed_array():
    # x[d, r] = a_d + e_r: D_d = a_d (mean e = 0), s²_d = var(e) = 4/3 σ² for every draw
    a = np.array([0.0, 1.0, 2.0])
    sigma = 0.6
    e = sigma * np.array([-1.0, -1.0, 1.0, 1.0])
    x = a[:, None] + e[None, :]
    s = decompose(x)
    noise = (4 / 3 * sigma**2) / 4  # mean_d s²_d / R = 0.12
    assert s["mean"] == pytest.approx(1.0) and s["median"] == pytest.approx(1.0)
    assert s["mc_half"] == pytest.approx(T_975[3] * math.sqrt(noise))
    assert s["assumption_sd"] == pytest.approx(math.sqrt(1.0 - noise))  # var_d(D_d) = 1
    assert s["share_assumption"] == pytest.approx(1.0 - noise)
    # quantiles of (0, 1, 2) at 2.5 % and 97.5 % (linear): 0.05 and 1.95, pushed out by mc_half
    assert s["draw_low"] == pytest.approx(0.05) and s["draw_high"] == pytest.approx(1.95)
    assert s["low"] == pytest.approx(0.05 - s["mc_half"])
    assert s["high"] == pytest.approx(1.95 + s["mc_half"])


def test_decomposition_edge_cases():
    rng = np.random.default_rng(0)
    # noise larger than the draws' spread: the assumption part is clipped to 0
    x = np.array([[0.0, 10.0], [0.2, 9.9]])  # D = (5, 5.05), s² about 50
    s = decompose(x)
    assert s["assumption_sd"] == 0.0 and s["share_assumption"] == 0.0
    # one "draw" (the central values): no assumption part, the interval is the MC CI
    one = rng.normal(size=(1, 5))
    s = decompose(one)
    half = 2.7764451051977987 * one.std(ddof=1) / math.sqrt(5)  # t(0.975, 4)
    assert s["assumption_sd"] == 0.0
    assert s["low"] == pytest.approx(one.mean() - half)
    assert s["high"] == pytest.approx(one.mean() + half)
    # one replication: nothing measures the noise
    s = decompose(rng.normal(size=(4, 1)))
    assert math.isnan(s["mc_half"]) and math.isnan(s["low"]) and math.isnan(s["assumption_sd"])
    # leading axes are kept
    s = decompose(rng.normal(size=(2, 3, 6, 4)))
    assert all(v.shape == (2, 3) for v in s.values())


def _constructed_runs(effects: dict[str, list[float]], n_rep: int = 2) -> pl.DataFrame:
    """A runs frame: the baseline at 0.5 (+ a seed effect), each policy shifted by its effect
    in each draw, the same seed effect in every draw (common random numbers)."""
    seed_effect = np.linspace(-0.01, 0.01, n_rep)
    rows = []
    labels = ["baseline", *effects]
    for r in range(n_rep):
        rows.append({"policy": "baseline", "draw": -1, "replication": r, "year": 2030,
                     "realised_all": 0.5 + seed_effect[r],
                     "downgrading_risk": 0.5 + seed_effect[r]})  # fmt: skip
    for label, eff in effects.items():
        for d, v in enumerate(eff):
            for r in range(n_rep):
                rows.append({"policy": label, "draw": d, "replication": r, "year": 2030,
                             "realised_all": 0.5 + seed_effect[r] + v,
                             "downgrading_risk": 0.5 + seed_effect[r] + v})  # fmt: skip
    return pl.DataFrame(rows).with_columns(pl.col("policy").cast(pl.Enum(labels)))


def test_beats_ranks_and_direction_on_constructed_runs():
    effects = {"A": [0.02, 0.03, -0.01, 0.04], "B": [0.01, 0.04, 0.00, 0.01]}
    runs = _constructed_runs(effects)
    labels = ["baseline", "A", "B"]
    unc = uncertainty_frame(runs, labels, [2030], ["realised_all", "downgrading_risk"])
    gain = unc.filter(pl.col("metric") == "realised_all")
    p = dict(zip(gain["policy"].cast(pl.String), gain["p_beats_baseline"], strict=True))
    assert math.isnan(p["baseline"]) and p["A"] == 0.75 and p["B"] == 0.75  # B: 0 is no gain
    a = gain.filter(pl.col("policy") == "A").row(0, named=True)
    assert a["mean"] == pytest.approx(0.02) and a["mc_half"] == pytest.approx(0.0)
    assert a["assumption_sd"] == pytest.approx(np.std(effects["A"], ddof=1))
    risk = unc.filter(pl.col("metric") == "downgrading_risk")  # lower is better
    assert risk.filter(pl.col("policy") == "A")["p_beats_baseline"][0] == 0.25
    beats = beats_frame(runs, labels, [2030])
    ab = beats.filter((pl.col("policy") == "A") & (pl.col("other") == "B"))["p_beats"][0]
    ba = beats.filter((pl.col("policy") == "B") & (pl.col("other") == "A"))["p_beats"][0]
    assert ab == 0.5 and ba == 0.5  # A ahead in draws 0 and 3, B in draws 1 and 2
    ranks = ranks_frame(runs, labels, [2030])
    share = {
        (str(r["policy"]), r["rank"]): r["share"] for r in ranks.iter_rows(named=True)
    }  # per draw, best first: A B base | B A base | B = base (tied, both 1st), A | A B base
    assert share[("A", 1)] == 0.5 and share[("A", 3)] == 0.25
    assert share[("B", 1)] == 0.5 and share[("B", 2)] == 0.5
    assert share[("baseline", 1)] == 0.25 and share[("baseline", 3)] == 0.75
    assert ranks.group_by("policy").agg(pl.col("share").sum())["share"].to_list() == [1.0] * 3
    worse = ranks_frame(runs, labels, [2030], metric="downgrading_risk")  # lower is better
    base = worse.filter(pl.col("policy") == "baseline")
    assert base["share"].to_list() == [0.75, 0.25, 0.0] and base["median_rank"][0] == 1.0
    assert set(DIRECTION) == set(METRIC_LABELS)


def test_run_failed_names_the_draw():
    err = RunFailed("7", 1, 42, "ValueError: x", draw=3)
    assert "policy '7', draw 3, replication 1 (seed 42) failed" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert (again.draw, again.replication, str(again)) == (3, 1, str(err))
    assert "draw" not in str(RunFailed("7", 1, 42, "x"))


# ---------------------------------------------------------------------------------------------
# Runs under assumption draws
# ---------------------------------------------------------------------------------------------
N_DRAWS, N_REP, SEED = 6, 3, 5
POLICIES = ["all", "7"]


@pytest.fixture(scope="module")
def short():
    return with_overrides(load_scenario("france-2022"), {"end_year": 2030})


@pytest.fixture(scope="module")
def drawn(short):
    return compare(short, POLICIES, replications=N_REP, seed=SEED, scale=SCALE, assumptions=N_DRAWS)


@pytest.fixture(scope="module")
def central_only(short):
    return compare(short, POLICIES, replications=N_REP, seed=SEED, scale=SCALE)


def test_runs_are_keyed_by_policy_draw_and_replication(drawn, short):
    runs = drawn.runs
    assert runs.columns[:3] == ["policy", "draw", "replication"]
    years = drawn.meta["years"]
    base = runs.filter(pl.col("policy").cast(pl.String) == "baseline")
    assert base.height == N_REP * len(years) and (base["draw"] == -1).all()  # once per seed
    for label in POLICIES:
        p = runs.filter((pl.col("policy").cast(pl.String) == label) & (pl.col("year") == 2030))
        assert sorted(p["draw"].unique()) == list(range(N_DRAWS))
        for d in range(N_DRAWS):  # the same seeds under every policy and every draw
            seeds = p.filter(pl.col("draw") == d).sort("replication")["seed"].to_list()
            assert seeds == drawn.meta["seeds"]
    # the draws: one Latin hypercube over the priors of every proposal compared, effects and
    # the unit costs they pay
    prior_list = priors(range(1, 21), unit_costs=True)
    values = draw_values(prior_list, N_DRAWS, SEED)
    assert [p["name"] for p in drawn.meta["priors"]] == [p.name for p in prior_list]
    assert drawn.draws.height == N_DRAWS * len(prior_list)
    table = drawn.draws.sort("draw", maintain_order=True)["value"].to_numpy().reshape(N_DRAWS, -1)
    assert np.array_equal(table, values)
    # a run of the comparison is the run of its draw's interventions on its seed
    ivs = dict(resolve_policies(short, POLICIES))["7"]
    d, r = 4, 1
    spec = RunSpec(
        short,
        2,
        r,
        drawn.meta["seeds"][r],
        tuple(apply_draw(ivs, prior_list, values[d])),
        "central",
        SCALE,
        "cython",
        tuple(years),
        d,
    )
    direct = run_one(spec)["years"][2030]["realised_all"]
    row = runs.filter(
        (pl.col("policy").cast(pl.String) == "7")
        & (pl.col("draw") == d)
        & (pl.col("replication") == r)
        & (pl.col("year") == 2030)
    )
    assert row["realised_all"][0] == direct


def test_assumption_draws_widen_the_interval(drawn, central_only):
    def cell(cmp, label):
        return cmp.uncertainty.filter(
            (pl.col("policy").cast(pl.String) == label)
            & (pl.col("year") == 2030)
            & (pl.col("metric") == "realised_all")
        ).row(0, named=True)

    for label in POLICIES:  # both have uncertain priors (mentoring's take-up and capacity)
        u, c = cell(drawn, label), cell(central_only, label)
        assert (u["draws"], c["draws"]) == (N_DRAWS, 1)
        assert u["assumption_sd"] > 0 and 0 < u["share_assumption"] <= 1
        assert u["high"] - u["low"] > c["high"] - c["low"]
        assert c["assumption_sd"] == 0
        # the central comparison's interval is the Monte-Carlo CI of the paired difference
        s = central_only.summary.filter(
            (pl.col("policy").cast(pl.String) == label)
            & (pl.col("year") == 2030)
            & (pl.col("metric") == "realised_all")
        ).row(0, named=True)
        assert (c["mean"], c["low"], c["high"]) == pytest.approx(
            (s["diff"], s["diff_low"], s["diff_high"])
        )
    assert central_only.draws["draw"].to_list() == [-1] * central_only.draws.height
    assert (central_only.runs["draw"] == -1).all()


def test_frames_are_consistent(drawn):
    labels = drawn.meta["policies"]
    unc = drawn.uncertainty
    assert unc.height == len(labels) * len(drawn.meta["years"]) * len(METRIC_LABELS)
    p = unc.filter(pl.col("policy").cast(pl.String) != "baseline")["p_beats_baseline"]
    assert ((p >= 0) & (p <= 1)).all()
    assert (unc["low"] <= unc["draw_low"]).all() and (unc["draw_high"] <= unc["high"]).all()
    ranks = drawn.ranks
    sums = ranks.group_by("year", "policy").agg(pl.col("share").sum())["share"]
    assert np.allclose(sums.to_numpy(), 1.0)
    assert ranks["median_rank"].is_between(1, len(labels)).all()
    n_months = (2030 - 2022 + 1) * 12 + 1
    assert drawn.bands.height == len(labels) * n_months
    base = drawn.bands.filter(pl.col("policy").cast(pl.String) == "baseline")
    assert (base["realised_all_diff"] == 0).all()
    # the pooled frames: N x R paired runs per policy
    assert drawn.summary.filter(pl.col("policy").cast(pl.String) == "7")["n"][0] == N_DRAWS * N_REP
    assert drawn.meta["replications"] == N_REP and drawn.meta["assumptions"] == N_DRAWS


def test_same_seed_and_draws_identical_whatever_the_workers(short):
    kw = {"replications": 2, "seed": 2, "scale": SCALE, "assumptions": 4, "assumption_seed": 9}
    one = compare(short, ["6", "10"], workers=1, **kw)
    two = compare(short, ["6", "10"], workers=2, **kw)
    assert {**two.meta, "executor": "x"} == {**one.meta, "executor": "x"}
    for name, frame in one.frames().items():
        assert_frame_equal(frame, two.frames()[name])
    assert one.meta["assumption_seed"] == 9


def test_compare_refuses_bad_assumptions(short):
    for n in (-1, 1):
        with pytest.raises(ValueError, match=f"assumptions {n}"):
            compare(short, ["7"], replications=1, scale=SCALE, assumptions=n)
    with pytest.raises(ValueError, match="rank_metric"):
        compare(short, ["7"], replications=1, scale=SCALE, rank_metric="nothing")


# ---------------------------------------------------------------------------------------------
# The report and the command
# ---------------------------------------------------------------------------------------------
def test_report_shows_the_uncertainty(drawn, tmp_path):
    names = {p.name for p in write_report(drawn, tmp_path)}
    assert {"bands.png", "effects.png", "ranks.png", "uncertainty.parquet", "ranks.parquet"} <= (
        names
    )
    md = (tmp_path / "report.md").read_text()
    assert "## Uncertainty: Monte-Carlo noise and assumptions" in md
    assert "P(beats baseline) 2030" in md and "assumption sd 2030" in md
    assert "Prior `p7.e0.mentoring_take_up` (drawn)" in md  # beside its proposal, with source
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["assumptions"] == N_DRAWS and len(meta["priors"]) == drawn.draws.height / N_DRAWS
    assert pl.read_parquet(tmp_path / "runs.parquet")["draw"].max() == N_DRAWS - 1


def test_compare_command_with_assumptions(tmp_path):
    out = tmp_path / "rep"
    args = ["compare", "--policy", "7", "--assumptions", "2", "--replications", "2"]
    args += ["--scale", "0.002", "--workers", "1", "--set", "end_year=2030", "--out", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "x 2 assumption draws" in res.output
    line = next(x for x in res.output.splitlines() if x.startswith("7: 2030 realised gain"))
    assert "P(beats baseline)" in line and "median rank" in line
    assert (out / "report.html").exists() and (out / "bands.png").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--assumptions", "-1"], ["--assumptions -1", "at least 2"]),
        (["--assumptions", "1"], ["--assumptions 1", "at least 2"]),
        (["--assumption-seed", "-3"], ["--assumption-seed -3", "2^64"]),
    ],
)
def test_compare_command_rejects_bad_assumptions(tmp_path, args, words):
    res = runner.invoke(app, ["compare", *args, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    for w in words:
        assert w in res.output
    assert not (tmp_path / "x").exists()
