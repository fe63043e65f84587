"""Policy comparison: paired seeds, confidence intervals, cost-effectiveness, roles, the report
and the ``compare`` command, on tiny runs (a scenario cut at 2031, scale 0.003)."""

from __future__ import annotations

import json
import math
import multiprocessing as mp

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from adoption_abm import AdoptionModel, load_scenario
from adoption_abm.analysis.compare import (
    METRIC_LABELS,
    RunFailed,
    compare,
    mean_ci,
    resolve_policies,
    year_metrics,
)
from adoption_abm.analysis.report import write_report
from adoption_abm.batch.executors import InProcess, LocalProcesses
from adoption_abm.batch.seeds import replication_seeds
from adoption_abm.cli.main import app
from adoption_abm.outputs.indicators import fte_reinvested, pooled_effectiveness
from adoption_abm.outputs.roles import default_roles, role_demand
from adoption_abm.scenario.errors import ScenarioError
from adoption_abm.scenario.load import scenario_from_dict, with_overrides

SCALE = 0.003
runner = CliRunner()


@pytest.fixture(scope="module")
def short():
    return with_overrides(load_scenario("france-2022"), {"end_year": 2031})


@pytest.fixture(scope="module")
def result(short):
    return compare(short, ["6,7", "baseline", "12x0.5"], replications=3, seed=7, scale=SCALE)


def test_frames_and_pairing(result, short):
    labels = ["baseline", "6,7", "12x0.5"]
    assert result.meta["policies"] == labels  # baseline first
    assert result.meta["years"] == [2025, 2030]
    runs = result.runs
    assert runs.height == 3 * 3 * 2
    seeds = {
        p: runs.filter(pl.col("policy").cast(pl.String) == p)["seed"].to_list() for p in labels
    }
    assert seeds["baseline"] == seeds["6,7"] == seeds["12x0.5"]  # common random numbers
    assert sorted(set(seeds["baseline"])) == sorted(replication_seeds(7, 3))
    assert result.meta["seeds"] == replication_seeds(7, 3)  # replication r: child_seed(7, r)
    assert set(METRIC_LABELS) <= set(runs.columns)
    assert result.summary.height == 3 * 2 * len(METRIC_LABELS)
    base = result.summary.filter(pl.col("policy").cast(pl.String) == "baseline")
    assert (base["diff"] == 0).all()


def test_differences_are_paired_with_t_intervals(result):
    runs = result.runs
    for y in (2025, 2030):
        a = runs.filter((pl.col("policy").cast(pl.String) == "6,7") & (pl.col("year") == y)).sort(
            "replication"
        )
        b = runs.filter(
            (pl.col("policy").cast(pl.String) == "baseline") & (pl.col("year") == y)
        ).sort("replication")
        d = a["realised_all"].to_numpy() - b["realised_all"].to_numpy()
        row = result.summary.filter(
            (pl.col("policy").cast(pl.String) == "6,7")
            & (pl.col("year") == y)
            & (pl.col("metric") == "realised_all")
        ).row(0, named=True)
        half = 4.302652729911275 * d.std(ddof=1) / math.sqrt(3)  # t(0.975, 2)
        assert row["diff"] == pytest.approx(d.mean())
        assert row["diff_low"] == pytest.approx(d.mean() - half)
        assert row["diff_high"] == pytest.approx(d.mean() + half)
    assert mean_ci(np.array([1.0]))[0] == 1.0 and math.isnan(mean_ci(np.array([1.0]))[1])


def test_cost_effectiveness(result):
    cost = result.cost.filter(pl.col("policy").cast(pl.String) == "6,7")
    row = cost.filter(pl.col("year") == 2030).row(0, named=True)
    # spent: the courses bought and the mentoring hours, within the ceilings (50 + 50 M€)
    assert row["budget_meur"] == pytest.approx(100.0)
    assert 0 < row["cost_meur"] <= row["budget_meur"]
    assert row["cost_meur"] == pytest.approx(row["courses_meur"] + row["mentoring_hours_meur"])
    assert row["courses_meur"] == pytest.approx(row["courses_bought"] * 1000 / 1e6)
    # ceilings from the scenario's policy_start, January 2027: four years to the end of 2030
    assert row["cumulative_budget_meur"] == pytest.approx(100.0 * 4)
    assert row["cumulative_discounted_cost_meur"] < row["cumulative_cost_meur"]
    if row["fte_years_diff"] > 0:
        assert row["cost_per_fte_year_keur"] == pytest.approx(
            row["cumulative_discounted_cost_meur"] * 1000 / row["fte_years_diff"]
        )
    half = result.cost.filter(
        (pl.col("policy").cast(pl.String) == "12x0.5") & (pl.col("year") == 2030)
    )
    assert half["budget_meur"][0] == pytest.approx(50.0)
    base = result.cost.filter(pl.col("policy").cast(pl.String) == "baseline")
    assert (base["cost_meur"] == 0).all() and base["cost_per_fte_year_keur"].is_nan().all()


def test_roles_and_monthly(result, short):
    assert set(result.roles["role"].unique()) == set(default_roles())
    assert (result.roles["fte"] >= 0).all()
    n_months = (2031 - 2022 + 1) * 12 + 1
    assert result.monthly.height == 3 * n_months
    assert {"realised_all", "realised_all_ci", "roles_fte"} <= set(result.monthly.columns)


SMALL = {"replications": 3, "seed": 3, "scale": 0.002, "years": (2025, 2030)}
SMALL_POLICIES = ["baseline", "7", "12x0.5"]


@pytest.fixture(scope="module")
def in_process(short):
    """The small comparison in this process (the reference for the other executors)."""
    return compare(short, SMALL_POLICIES, workers=1, **SMALL)


@pytest.mark.parametrize(
    ("kwargs", "label"),
    [
        ({"workers": 2}, "local:2"),
        ({"dask_local": True, "workers": 2}, "dask:local:2"),
        ({"executor": InProcess()}, "in-process"),
    ],
    ids=["2-processes", "dask-local", "given-executor"],
)
def test_identical_results_whatever_the_executor(short, in_process, kwargs, label):
    calls = []
    other = compare(
        short,
        SMALL_POLICIES,
        **SMALL,
        **kwargs,
        on_result=lambda done, total: calls.append((done, total)),
    )
    n = len(SMALL_POLICIES) * SMALL["replications"]
    assert calls == [(k, n) for k in range(1, n + 1)]  # one call per run, as they arrive
    assert in_process.meta["executor"] == "in-process" and other.meta["executor"] == label
    assert {**other.meta, "executor": "in-process"} == in_process.meta
    for name, frame in in_process.frames().items():
        assert frame.equals(other.frames()[name]), name


def test_a_failed_run_names_its_policy_and_replication(short):
    before = set(mp.active_children())
    kw = {"seeds": [3, -1], "scale": 0.002, "years": (2025,)}
    with pytest.raises(RunFailed) as info:
        compare(short, ["baseline", "7"], workers=1, **kw)
    err = info.value
    assert (err.policy, err.replication, err.seed) == ("baseline", 1, -1)
    # a negative seed is refused by AdoptionModel with a ScenarioError (a ValueError) naming it
    assert "policy 'baseline', replication 1 (seed -1) failed: ScenarioError" in str(err)
    assert "seed: must be from 0 to 2**64 - 1" in str(err)
    assert "Traceback" in str(err.__cause__)  # the run's own traceback
    with pytest.raises(RunFailed) as info:  # from a worker process: the same names
        compare(short, ["baseline", "7"], workers=2, **kw)
    assert info.value.policy in ("baseline", "7") and info.value.replication == 1
    assert "run_one" in str(info.value.__cause__)
    assert set(mp.active_children()) <= before  # the pool's workers are stopped


def test_interrupt_stops_without_waiting_for_queued_runs(short):
    before = set(mp.active_children())
    seen = []

    def interrupt(done, total):
        seen.append(done)
        raise KeyboardInterrupt

    kw = {"replications": 10, "seed": 1, "scale": 0.002, "on_result": interrupt}
    with pytest.raises(KeyboardInterrupt):
        compare(short, ["baseline", "7"], workers=2, **kw)
    assert seen == [1] and set(mp.active_children()) <= before  # our workers are stopped
    # on a given executor, the queued runs are cancelled and the executor stays usable
    ex = LocalProcesses(2)
    try:
        with pytest.raises(KeyboardInterrupt):
            compare(short, ["baseline", "7"], executor=ex, **kw)
        again = compare(short, ["baseline"], replications=2, seed=1, scale=0.002, executor=ex)
        assert again.runs.height == 2 * 2
    finally:
        ex.close()


def test_resolve_policies(short):
    assert [p for p, _ in resolve_policies(short, ["all"])] == ["baseline", "all"]
    with pytest.raises(ValueError, match="listed twice"):
        resolve_policies(short, ["6", "6"])
    with pytest.raises(ScenarioError) as err:
        resolve_policies(short, [("mine", [{"proposal": 6, "start": "2035-01"}])])
    assert "policy 'mine'" in str(err.value) and "interventions.0.start" in str(err.value)
    with pytest.raises(ValueError, match="reserved"):
        resolve_policies(short, [("baseline", [{"proposal": 6}])])


def test_year_metrics_and_added_outputs():
    m = AdoptionModel(seed=2, scale=SCALE, agents="none", interventions=[{"proposal": 18}]).run(
        months=12 * 9
    )
    ym = year_metrics(m)
    assert list(ym) == [2025, 2030]
    out = m.outputs()
    # pooled effectiveness of one group equals the existing per-group effectiveness
    assert np.allclose(
        pooled_effectiveness(out, "age", [1]), out.effectiveness("age")[:, 1], equal_nan=True
    )
    assert np.allclose(
        pooled_effectiveness(out, "profession", [2]),
        out.effectiveness("profession")[:, 2],
        equal_nan=True,
    )
    share = m.policy.reinvestment(m.month)
    reinv = fte_reinvested(out, share)
    fte = m.indicators()["fte_freed_all"].to_numpy()
    assert np.all(reinv["all"] <= fte + 1e-9) and np.all(reinv["all"] >= 0.6 * fte - 1e-9)
    assert ym[2030]["fte_reinvested_all"] == pytest.approx(reinv["all"][12 * 9])


def test_role_demand_follows_mastery(short, base_dict):
    m = AdoptionModel(short, seed=1, scale=SCALE, agents="none").run(months=24)
    out = m.outputs()
    demand = role_demand(out, short)
    # advanced-practice radiographers: 80 per 1000 radiographers who master AI, at real scale
    p = short.profession_ids.index("radiographer")
    masters = out.cube[:, p, :, :, 0, 2].sum(axis=(1, 2)) * out.weight[p]
    assert np.allclose(demand["advanced_practice_radiographer"], masters * 0.08)
    # a scenario's own table replaces the default
    data = short.model_dump()
    data["roles"] = {
        "only": {
            "label": "x",
            "families": ["ai"],
            "states": "adopters",
            "fte_per_1000": 1.0,
            "source": "assumption",
        }
    }
    own = scenario_from_dict(data)
    assert list(role_demand(out, own)) == ["only"]
    data["roles"]["only"]["professions"] = ["dentist"]
    with pytest.raises(ScenarioError, match=r"roles\.only\.professions"):
        scenario_from_dict(data)


def test_report_files(result, tmp_path):
    written = write_report(result, tmp_path, command="adoption-abm compare --policy 6,7")
    names = {p.name for p in written}
    assert {
        "report.md",
        "report.html",
        "meta.json",
        "summary.parquet",
        "runs.parquet",
        "cost.parquet",
    } <= names
    assert {
        "realised.png",
        "fte_difference.png",
        "gaps.png",
        "roles.png",
        "cost_effectiveness.png",
    } <= names
    assert written[-1].name == "report.html"  # last: its presence means the report is complete
    md = (tmp_path / "report.md").read_text()
    assert (
        "Δ realised (pts)" in md
        and "k€ per FTE-year" in md
        and "adoption-abm compare --policy 6,7" in md
    )
    html = (tmp_path / "report.html").read_text()
    assert html.count("<table>") >= 5 and '<img src="realised.png"' in html
    assert (tmp_path / "realised.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pl.read_parquet(tmp_path / "summary.parquet").height == result.summary.height
    assert json.loads((tmp_path / "meta.json").read_text())["seeds"] == result.meta["seeds"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_compare_command(tmp_path, short):
    import tomli_w

    path = tmp_path / "short.toml"
    path.write_text(tomli_w.dumps(short.model_dump(mode="json")))
    out = tmp_path / "rep"
    args = [
        "compare",
        "--scenario",
        str(path),
        "--policy",
        "baseline",
        "--policy",
        "6,7",
        "--policy",
        "all",
    ]
    res = runner.invoke(
        app, [*args, "--replications", "2", "--scale", "0.002", "--workers", "1", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "6,7: 2030 realised gain" in res.output
    assert (out / "report.html").exists() and (out / "report.md").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--policy", "21"], ["--policy", "unknown proposal"]),
        (["--policy", "6@2050-01"], ["interventions.0.start", "outside"]),
        (["--replications", "0"], ["--replications"]),
        (["--scenario", "nowhere"], ["nowhere", "built-in"]),
        (["--rhythm", "medium"], ["--rhythm", "slow"]),
        (["--scale", "1e-9"], ["scale", "zero agents"]),
        (["--set", "behaviour.nothing=1"], ["behaviour.nothing"]),
        (["--workers", "0"], ["--workers"]),
        (["--dask", "remote"], ["--dask 'remote'", "allowed 'local'"]),
        (["--scheduler", "10.0.0.1:8786"], ["--scheduler", "tcp://HOST:PORT"]),
        (["--scheduler", "tcp://127.0.0.1:1", "--dask", "local"], ["give one of them"]),
    ],
)
def test_compare_command_errors(tmp_path, args, words):
    extra = [] if "--replications" in args else ["--replications", "1"]
    res = runner.invoke(app, ["compare", *args, *extra, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    for w in words:
        assert w in res.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--workers", "3"], {"workers": 3, "scheduler": None, "dask_local": False}),
        (["--dask", "local", "-w", "2"], {"workers": 2, "scheduler": None, "dask_local": True}),
        (
            ["--scheduler", "tcp://127.0.0.1:8786"],
            {"workers": 2, "scheduler": "tcp://127.0.0.1:8786", "dask_local": False},
        ),
    ],
)
def test_compare_command_passes_batch_executor_options(monkeypatch, tmp_path, options, expected):
    """``--workers``, ``--dask local`` and ``--scheduler`` reach ``compare()`` as the same
    keywords ``batch.runner.run_batch`` takes."""
    import adoption_abm.analysis.compare as compare_module

    seen = {}

    class Stop(Exception):
        pass

    def fake_compare(*args, **kwargs):
        seen.update({k: kwargs[k] for k in ("workers", "scheduler", "dask_local")})
        raise Stop

    monkeypatch.setattr(compare_module, "compare", fake_compare)
    res = CliRunner().invoke(
        app, ["compare", *options, "--replications", "1", "--out", str(tmp_path / "x")]
    )
    assert isinstance(res.exception, Stop), res.output
    assert seen == expected
