"""The portfolio optimiser: budgets respected, never worse than any single proposal or pair
within the budget (checked by enumeration), resumable, seeded, and its command. Tiny runs: the
scenario cut at 2030 (the horizon), scale 0.002, 2 assumption draws x 1-2 replications, four
candidate proposals."""

from __future__ import annotations

import json
import math
from itertools import combinations

import numpy as np
import optuna
import polars as pl
import pytest
from typer.testing import CliRunner

from adoption_abm import load_scenario
from adoption_abm.analysis.optimise import StudyMismatch, non_dominated, optimise
from adoption_abm.analysis.portfolio import (
    Evaluator,
    check_robust,
    cost_per_fte_year,
    discounted_cost,
    from_policy_text,
    interventions,
    policy_text,
    portfolio,
    robust_value,
)
from adoption_abm.analysis.portfolio_report import write_report
from adoption_abm.cli.main import app
from adoption_abm.policies.catalogue import catalogue
from adoption_abm.policies.schedule import PolicySchedule
from adoption_abm.scenario.load import with_overrides

SCALE = 0.002
HORIZON = 2030
CANDIDATES = (6, 7, 12, 19)  # ceilings 50, 50, 100, 160 M€ a year at intensity 1
SMALL = {"draws": 2, "replications": 1, "scale": SCALE, "seed": 3, "proposals": CANDIDATES}
runner = CliRunner()


@pytest.fixture(scope="module")
def short():
    return with_overrides(load_scenario("france-2022"), {"end_year": HORIZON})


def committed_by_year(sc, policy: str) -> dict[int, float]:
    """Independently of the optimiser: the schedule's ceilings of a portfolio's interventions."""
    ivs = interventions(from_policy_text(policy))
    return PolicySchedule(sc, list(sc.interventions) + ivs).budget_by_year()


# ---------------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------------
def test_robust_value_takes_the_bad_side():
    x = list(range(11))  # 0..10: the q10 is 1 on the low side, 9 on the high side
    assert robust_value(x, "mean", "maximize") == 5.0
    assert robust_value(x, "q10", "maximize") == pytest.approx(1.0)
    assert robust_value(x, "q10", "minimize") == pytest.approx(9.0)
    assert robust_value([1.0, math.inf], "q10", "minimize") == math.inf
    for bad in ("median", "q0", "q100", "q", "10"):
        with pytest.raises(ValueError, match="allowed 'mean' or 'qNN'"):
            check_robust(bad)


def test_cost_per_fte_and_discounting(short):
    assert cost_per_fte_year(2.0, 4.0) == 500_000.0  # 2 M€ / 4 FTE-years
    assert cost_per_fte_year(2.0, 0.0) == math.inf
    rate = catalogue().discounting.rate
    base = int(short.policy_start[:4])
    assert discounted_cost(short, {base: 100.0, base + 2: 100.0}) == pytest.approx(
        100.0 + 100.0 / (1 + rate) ** 2
    )


def test_policy_text_round_trip():
    pf = portfolio([(12, "2028-01", 0.5), (6, "2027-01", 1.0)])
    assert policy_text(pf) == "6@2027-01x1,12@2028-01x0.5"  # sorted: a canonical cache key
    assert from_policy_text(policy_text(pf)) == pf
    assert policy_text(()) == "baseline" and from_policy_text("baseline") == ()
    with pytest.raises(ValueError, match="twice"):
        portfolio([(6, "2027-01", 1.0), (6, "2028-01", 1.0)])


def test_non_dominated():
    costs, values = [0, 1, 2, 2, 3], [0.0, 5.0, 4.0, 6.0, 6.0]
    assert non_dominated(costs, values, "maximize") == [True, True, False, True, False]
    assert non_dominated(costs, values, "minimize") == [True, False, False, False, False]


def test_empty_portfolio_is_the_baseline_and_runs_nothing(short):
    with Evaluator(short, candidates=CANDIDATES, horizon=HORIZON, draws=2, scale=SCALE) as ev:
        e = ev.evaluate(())
        assert ev.runs == 0 and e.fte_freed == (0.0, 0.0) and e.cumulative == 0.0
        assert e.value("cost_per_fte", "mean") == math.inf


# ---------------------------------------------------------------------------------------------
# Budgets and the warm-start guarantee
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("budget", "cumulative"),
    [(120.0, None), (250.0, 700.0)],
)
def test_returned_portfolios_respect_the_budget(short, tmp_path, budget, cumulative):
    res = optimise(
        short,
        out=tmp_path / "s",
        budget=budget,
        cumulative_budget=cumulative,
        horizon=HORIZON,
        trials=6,
        **SMALL,
    )
    assert res.best is not None and res.best.policy != "baseline"
    for ev in [res.best, *res.top]:
        by_year = committed_by_year(short, ev.policy)
        assert max(by_year.values()) <= budget + 1e-6, ev.policy
        if cumulative is not None:
            assert sum(by_year.values()) <= cumulative + 1e-6, ev.policy
    t = res.trials
    run = t.filter(pl.col("state") == "complete")
    assert (run["committed_max_year_meur"] <= budget + 1e-6).all()
    refused = t.filter(pl.col("state") == "infeasible")
    assert refused.height > 0  # the budget binds: some portfolios were refused ...
    assert (refused["runs"] == 0).all()  # ... and not run
    over = [
        max(v := committed_by_year(short, p).values()) > budget + 1e-6
        or (cumulative is not None and sum(v) > cumulative + 1e-6)
        for p in refused["policy"]
    ]
    assert all(over)


@pytest.mark.parametrize(("objective", "robust"), [("fte_freed", "mean"), ("cost_per_fte", "q10")])
def test_best_beats_every_single_and_pair_within_budget(short, tmp_path, objective, robust):
    # ceilings 6: 50, 7: 50, 12: 100, 19: 160 M€ a year: 200 fits every single and the pairs
    # 6+7, 6+12, 7+12, not those with 19
    budget = 200.0
    res = optimise(
        short,
        out=tmp_path / "s",
        budget=budget,
        horizon=HORIZON,
        objective=objective,
        robust=robust,
        trials=4,
        **{**SMALL, "replications": 2},
    )
    # independently: enumerate the singles and pairs, check the budget with the schedule, and
    # evaluate each with a fresh evaluator on the same draws and seeds
    start = short.policy_start
    small = []
    for size in (1, 2):
        for combo in combinations(CANDIDATES, size):
            pf = portfolio((n, start, 1.0) for n in combo)
            if max(committed_by_year(short, policy_text(pf)).values()) <= budget + 1e-6:
                small.append(pf)
    assert [policy_text(pf) for pf in small] == [
        f"6@{start}x1",
        f"7@{start}x1",
        f"12@{start}x1",
        f"19@{start}x1",
        f"6@{start}x1,7@{start}x1",
        f"6@{start}x1,12@{start}x1",
        f"7@{start}x1,12@{start}x1",
    ]
    with Evaluator(
        short, candidates=CANDIDATES, horizon=HORIZON, draws=2, replications=2, seed=3, scale=SCALE
    ) as ev:
        values = {policy_text(pf): ev.evaluate(pf).value(objective, robust) for pf in small}
    best = res.value(res.best)
    if objective == "fte_freed":
        assert best >= max(values.values())
    else:
        assert best <= min(values.values())
    # the study's own evaluations of those portfolios are the enumeration's, exactly
    for key, v in values.items():
        assert res.evaluations[key].value(objective, robust) == v


# ---------------------------------------------------------------------------------------------
# Resuming, settings, seeds
# ---------------------------------------------------------------------------------------------
def test_rerunning_resumes_the_study(short, tmp_path):
    out = tmp_path / "s"
    args = {"out": out, "budget": 250.0, "horizon": HORIZON, **SMALL}
    first = optimise(short, trials=3, **args)
    n1 = first.trials.height
    assert n1 == first.warm_start + 3 and first.runs > 0

    again = optimise(short, trials=3, **args)  # the same command: nothing left to do
    assert again.trials_this_session == 0 and again.runs == 0
    assert again.trials.height == n1 and again.best == first.best

    study = optuna.load_study(study_name="portfolio", storage=f"sqlite:///{out / 'study.db'}")
    study.ask()  # a trial left running, as by a killed session
    more = optimise(short, trials=6, **args)
    frame = more.trials
    assert frame.height == n1 + 1 + 3  # the interrupted one, then three more sampler trials
    assert frame.filter(pl.col("trial") == n1)["state"].item() == "fail"
    # finished trials are kept as they were, not re-run
    cols = ["trial", "state", "policy", "value"]
    assert frame.head(n1).select(cols).equals(first.trials.select(cols))
    new_portfolios = {p for p in frame.tail(3)["policy"] if p not in set(first.evaluations)}
    assert more.runs <= len(new_portfolios) * SMALL["draws"] * SMALL["replications"]


def test_other_settings_are_refused(short, tmp_path):
    out = tmp_path / "s"
    optimise(short, out=out, budget=250.0, horizon=HORIZON, trials=0, **SMALL)
    with pytest.raises(StudyMismatch, match=r"budget 250\.0 there, 300\.0 now"):
        optimise(short, out=out, budget=300.0, horizon=HORIZON, trials=0, **SMALL)


def test_same_seed_same_best_whatever_the_workers(short, tmp_path):
    args = {"budget": 250.0, "horizon": HORIZON, "trials": 5, **SMALL}
    a = optimise(short, out=tmp_path / "a", workers=1, **args)
    b = optimise(short, out=tmp_path / "b", workers=2, **args)
    assert a.best == b.best and a.value(a.best) == b.value(b.best)
    cols = ["trial", "state", "policy", "value"]
    assert a.trials.select(cols).equals(b.trials.select(cols))


# ---------------------------------------------------------------------------------------------
# Report and command
# ---------------------------------------------------------------------------------------------
def test_report_files(short, tmp_path):
    out = tmp_path / "s"
    res = optimise(short, out=out, budget=250.0, horizon=HORIZON, trials=2, **SMALL)
    write_report(res, out, command="adoption-abm optimise ...")
    best = json.loads((out / "best.json").read_text())
    assert best["policy"] == res.best.policy
    # best.json's interventions are a scenario's interventions: they run as given
    sc = with_overrides(short, {"interventions": best["interventions"]})
    assert max(PolicySchedule(sc, list(sc.interventions)).budget_by_year().values()) <= 250 + 1e-6
    md = (out / "report.md").read_text()
    assert "## Marginal value of each proposal" in md and res.best.policy in md
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    trials = pl.read_parquet(out / "trials.parquet")
    assert trials.height == res.trials.height and trials["pareto"].any()
    # marginal values: objective with the proposal minus without it, both evaluated
    for m in res.marginals:
        rest = res.evaluations[m["without"]]
        assert m["marginal"] == pytest.approx(res.value(res.best) - res.value(rest))
    assert (out / "report.html").exists()


def test_command_writes_the_report(tmp_path):
    out = tmp_path / "p"
    args = ["optimise", "--budget", "250", "--horizon", "2030", "--set", "end_year=2030"]
    args += ["--draws", "2", "--replications", "1", "--trials", "2", "--scale", str(SCALE)]
    args += ["--proposals", "6,7,12", "--workers", "1", "--out", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "best: " in res.output
    for name in ("report.md", "report.html", "pareto.png", "trials.parquet", "best.json"):
        assert (out / name).exists(), name
    res2 = runner.invoke(app, [*args[:2], "300", *args[3:]])  # another budget, same --out
    assert res2.exit_code == 2, res2.output
    assert res2.output.count("\n") == 1 and "other settings" in res2.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--budget", "0"], ["--budget 0", "positive"]),
        (["--budget", "-5"], ["--budget -5", "positive"]),
        (["--cumulative-budget", "0"], ["--cumulative-budget", "positive"]),
        (["--objective", "fte"], ["--objective 'fte'", "fte_freed, multi_speed_gap"]),
        (["--robust", "median"], ["--robust 'median'", "qNN"]),
        (["--robust", "q100"], ["--robust 'q100'", "1 to 99"]),
        (["--proposals", "0,21"], ["--proposals '0,21'", "1-20"]),
        (["--proposals", "six"], ["--proposals 'six'", "1-20"]),
        (["--horizon", "2040"], ["--horizon", "after the scenario's end_year 2030"]),
        (["--horizon", "2027"], ["--horizon", "2028 or later"]),
        (["--draws", "0"], ["--draws 0", "at least 1"]),
        (["--replications", "0"], ["--replications 0", "at least 1"]),
        (["--trials", "-1"], ["--trials -1"]),
        (["--scale", "1e-9"], ["scale", "zero agents"]),
        (["--dask", "remote"], ["--dask 'remote'", "allowed 'local'"]),
    ],
)
def test_command_rejects_bad_options(tmp_path, args, words):
    base = ["optimise", "--budget", "250", "--set", "end_year=2030", "--out", str(tmp_path / "x")]
    res = runner.invoke(app, [*base, *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    for w in words:
        assert w in res.output
    assert not (tmp_path / "x").exists()


def test_robust_quantile_is_below_the_mean_for_a_maximised_objective(short, tmp_path):
    """q10 of FTE freed over draws is at most the mean over the same draws (a property of
    quantiles; checks the side taken inside a real evaluation)."""
    with Evaluator(short, candidates=CANDIDATES, horizon=HORIZON, draws=3, scale=SCALE) as ev:
        e = ev.evaluate(portfolio([(6, short.policy_start, 1.0)]))
    assert e.value("fte_freed", "q10") <= np.mean(e.fte_freed)
    assert e.value("cost_per_fte", "q10") >= np.mean(e.per_draw("cost_per_fte"))
