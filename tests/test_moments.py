"""Moments beyond the summary (``batch.moments``, ``outputs.deployment``) and the
over-identified calibration (more targets than parameters, the J-statistic), on tiny runs."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from adoption_abm import AdoptionModel
from adoption_abm.batch.calibrate import (
    JustIdentifiedWarning,
    calibrate,
    calibration_from_dict,
    identification,
)
from adoption_abm.batch.experiment import ExperimentError
from adoption_abm.batch.moments import (
    bass_curve,
    fit_bass,
    kaplan_meier_median,
    model_moments,
    moment_names,
)
from adoption_abm.cli.main import app
from adoption_abm.oracles.bass import bass_discrete

runner = CliRunner()
T = np.arange(0, 9 * 12 + 1) / 12.0  # nine years, monthly, in years


# Bass fit ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "q"), [(0.025, 0.58), (0.03, 0.38), (0.2, 0.1)])
@pytest.mark.parametrize("offset", [0.0, 3.0])
def test_bass_fit_recovers_p_and_q_of_a_synthetic_curve(p, q, offset):
    """From 0 (offset 0) or from a diffusion already under way (left-truncated at 3 years)."""
    fit = fit_bass(T, bass_curve(p, q, T + offset))
    assert fit.p == pytest.approx(p, rel=1e-4) and fit.q == pytest.approx(q, rel=1e-4)
    assert fit.origin == pytest.approx(offset, abs=1e-3) and fit.rmse < 1e-6


def test_bass_fit_of_the_monthly_recursion_and_of_noise():
    """The model's monthly recursion is close to the closed form: the fit is close to its p, q;
    binomial noise of 2,000 adopters moves them a little; a flat share gives NaN."""
    fit = fit_bass(T, bass_discrete(0.025, 0.58, len(T) - 1))
    assert fit.p == pytest.approx(0.025, rel=0.15) and fit.q == pytest.approx(0.58, rel=0.1)
    rng = np.random.default_rng(3)
    noisy = np.maximum.accumulate(rng.binomial(2000, bass_curve(0.025, 0.58, T)) / 2000)
    fit = fit_bass(T, noisy)
    assert fit.q == pytest.approx(0.58, rel=0.1) and 0 < fit.p < 0.05
    assert math.isnan(fit_bass(T, np.full(len(T), 0.4)).p)


def test_kaplan_meier_median_with_censoring():
    # events at 1, 2, 3; one censored at 1.5: S(1) = 3/4, S(2) = 3/4 * 1/2 = 3/8 -> median 2
    assert kaplan_meier_median(np.array([1.0, 1.5, 2.0, 3.0]), np.array([1, 0, 1, 1])) == 2.0
    # dropping the censored one would give 2 as well here; censoring late lifts the median
    assert kaplan_meier_median(np.array([1.0, 5.0, 5.0, 5.0]), np.array([1, 0, 0, 0])) == 5.0
    assert math.isnan(kaplan_meier_median(np.array([]), np.array([], dtype=bool)))


# Moments of a tiny run ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model() -> AdoptionModel:
    return AdoptionModel(scale=0.004, seed=5, agents="none", overrides={"end_year": 2025}).run()


def test_every_named_moment_is_computed_finite_and_in_range(tiny_model):
    m = model_moments(tiny_model)
    names = moment_names(tiny_model.inputs)
    assert set(names) <= set(m) and len(names) == len(set(names))
    assert all(math.isfinite(m[n]) for n in names), [n for n in names if not math.isfinite(m[n])]
    for n in names:
        if n.startswith(("realised_ratio_", "deployment_share_")) and "_minus_" not in n:
            assert 0.0 <= m[n] <= 1.0, n
    r = "realised_ratio_"
    assert m[f"{r}under_30_minus_50_59_2025"] == pytest.approx(
        m[f"{r}under_30_2025"] - m[f"{r}50_59_2025"]
    )
    for fam in tiny_model.inputs.families:
        assert m[f"deployment_bass_p_{fam}"] > 0 and m[f"deployment_bass_q_{fam}"] > 0
        assert m[f"deployment_bass_pq_{fam}"] == pytest.approx(
            m[f"deployment_bass_p_{fam}"] + m[f"deployment_bass_q_{fam}"]
        )
        # years, at most the run's length (4 years) less the first month
        assert 0 < m[f"median_time_to_adoption_{fam}"] <= 4.0
    assert 0 < m["median_time_to_adoption_all"] <= 4.0
    # the summary figures keep their names and values
    assert m["realised_all_2025"] == pytest.approx(tiny_model.summary()["2025"]["realised"]["all"])


def test_the_deployment_log_matches_the_state(tiny_model):
    log = tiny_model.deployment_log
    est = tiny_model.est
    assert len(log.counts) == tiny_model.month + 1
    assert log.n_by_type.sum() == est.n
    last = log.counts[-1]
    for t in range(len(log.n_by_type)):
        assert np.array_equal(last[t], est.deployed[est.type == t].sum(axis=0))
    shares = log.shares()
    assert np.all(np.diff(shares, axis=0) >= 0)  # establishments never undeploy
    assert np.array_equal(log.deployed_month >= 0, est.deployed.astype(bool))
    both = (log.half_month >= 0) & (log.deployed_month >= 1)
    assert both.any() and np.all(log.half_month[both] > log.deployed_month[both])


def test_the_log_changes_no_result():
    """The log reads the state and draws nothing: the same seed gives the same tallies with
    the log's record made a no-op."""
    a = AdoptionModel(scale=0.002, seed=2, agents="none").run(months=6)
    b = AdoptionModel(scale=0.002, seed=2, agents="none")
    b.deployment_log.record = lambda *args: None
    b.run(months=6)
    assert all(np.array_equal(x, y) for x, y in zip(a.tallies.cubes, b.tallies.cubes, strict=True))


# Calibration: identification -------------------------------------------------------------------
def calibration(n_targets: int, n_params: int = 2, maxfev: int = 4) -> dict:
    params = {
        "adoption_multiplier": {"initial": 1.0, "bounds": [0.25, 4.0]},
        "deployment_multiplier": {"initial": 1.0, "bounds": [0.25, 4.0]},
        "rhythms.fast": {"initial": 1.3, "bounds": [1.0, 3.0]},
    }
    targets = [
        {"rhythm": "central", "output": "realised_all_2024", "value": 0.05, "tolerance": 0.02},
        {
            "rhythm": "central",
            "output": "deployment_bass_pq_ai",
            "value": 0.6,
            "tolerance": 0.15,
            "source": "test",
        },
        {
            "rhythm": "central",
            "output": "realised_ratio_under_30_minus_50_59_2024",
            "value": 0.0,
            "tolerance": 0.05,
        },
    ]
    return {
        "name": "tiny-overid",
        "root_seed": 4,
        "replications": 2,
        "base": {"scale": 0.002, "end_year": 2024},
        "parameters": dict(list(params.items())[:n_params]),
        "targets": targets[:n_targets],
        "maxfev": maxfev,
    }


def test_more_parameters_than_targets_is_refused(tmp_path):
    with pytest.raises(ExperimentError) as err:
        calibration_from_dict(calibration(2, n_params=3), "cal.toml")
    assert "targets: 2 targets for 3 free parameters" in str(err.value)
    path = tmp_path / "under.toml"
    path.write_text(tomli_w.dumps(calibration(1)))
    res = runner.invoke(app, ["calibrate", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert f"error: {path}: targets: 1 target for 2 free parameters" in res.output


def test_unknown_moment_is_named():
    data = calibration(2)
    data["targets"][1]["output"] = "deployment_bass_r_ai"
    with pytest.raises(ExperimentError, match=r"targets\.1\.output: unknown moment"):
        calibration_from_dict(data)


def test_identification_reads_j_against_chi2():
    from scipy.stats import chi2

    cal = calibration_from_dict(calibration(3))
    ident = identification(cal, 5.0)
    assert (ident["parameters"], ident["targets"], ident["degrees_of_freedom"]) == (2, 3, 1)
    assert ident["p_value"] == pytest.approx(chi2.sf(5.0, 1))
    assert ident["critical_95"] == pytest.approx(3.841, abs=1e-3)
    assert "above the 95 % critical value" in ident["reading"]
    assert "indicative" in ident["reading"]
    just = identification(calibration_from_dict(calibration(2)), 0.0)
    assert just["degrees_of_freedom"] == 0 and just["p_value"] is None


def test_a_tiny_over_identified_calibration_runs_end_to_end(tmp_path):
    cal = calibration_from_dict(calibration(3, maxfev=4))
    result = calibrate(cal, tmp_path, workers=1)
    saved = json.loads((tmp_path / "calibration.json").read_text())
    ident = saved["identification"]
    assert (ident["parameters"], ident["targets"], ident["degrees_of_freedom"]) == (2, 3, 1)
    assert ident["J"] == pytest.approx(saved["objective"]) and 0 <= ident["p_value"] <= 1
    assert [t["output"] for t in saved["targets"]] == [t.output for t in cal.targets]
    table = pl.read_csv(tmp_path / "residuals.csv")
    assert table.height == 3
    assert (table["residual_tol"] ** 2).sum() == pytest.approx(result["objective"])
    md = (tmp_path / "residuals.md").read_text()
    assert "k = 2 free parameters, n = 3 targets, n − k = 1 degrees of freedom" in md
    assert "| central | deployment_bass_pq_ai |" in md and "indicative" in md


def test_just_identified_warns(tmp_path):
    cal = calibration_from_dict(calibration(2, maxfev=1))
    with pytest.warns(JustIdentifiedWarning, match="just identified"):
        calibrate(cal, tmp_path / "lib", workers=1)
    path = tmp_path / "just.toml"
    path.write_text(tomli_w.dumps(calibration(2, maxfev=1)))
    res = runner.invoke(
        app, ["calibrate", str(path), "--out", str(tmp_path / "o"), "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    assert f"warning: {path}: tiny-overid: 2 free parameters and 2 targets: just identified" in (
        res.output
    )


# The README calibration table says what each row is ------------------------------------------
def test_the_calibration_table_classifies_every_row():
    """Every row of experiments/calibration_table.py has a kind; its `fitted target` rows are
    exactly the table's rows that the packaged calibration targets."""
    import importlib.util
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "calibration_table", root / "experiments" / "calibration_table.py"
    )
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    labels = [row[0] for row in table.TARGETS] + [table.FTE_GAP]
    assert set(table.KIND) == set(labels)
    assert all(kind in table.KINDS and why for kind, why in table.KIND.values())
    packaged = tomllib.loads(
        (root / "src" / "adoption_abm" / "batch" / "data" / "calibrate.toml").read_text()
    )
    targeted = {(t["rhythm"], t["output"]) for t in packaged["targets"]}
    for label, rhythm, year, path, *_ in table.TARGETS:
        name = "_".join((*path, year)) if len(path) == 2 or path[0] == "mix" else None
        fitted = (rhythm, name) in targeted
        assert (table.KIND[label][0] == "fitted target") == fitted, label
