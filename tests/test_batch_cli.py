"""``adoption-abm batch | sensitivity | calibrate`` end to end on tiny runs."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest
from typer.testing import CliRunner

from adoption_abm.batch import experiment_from_dict, read_results, run_batch
from adoption_abm.batch.calibrate import calibrate, calibration_from_dict
from adoption_abm.batch.sensitivity import analyse
from adoption_abm.cli.main import app

runner = CliRunner()

TINY = "scale = 0.002\nend_year = 2023\n"
INERT = "mechanisms.learning.hours_per_course"  # learning time: no effect on gross gains or gaps


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_batch_command_writes_dataset_index_and_provenance(tmp_path):
    exp = write(
        tmp_path,
        "e.toml",
        f"""
name = "cli"
root_seed = 3
replications = 2
[base]
{TINY}
[parameters]
rhythm = {{ values = ["slow", "fast"] }}
""",
    )
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["batch", str(exp), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert "4 of 4 runs done (4 now, 0 before)" in res.output
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["root_seed"] == 3 and prov["runs"] == 4
    assert {"python", "mesa", "numpy", "adoption-abm", "polars"} <= set(prov["versions"])
    assert (out / "experiment.toml").read_text() == exp.read_text()
    index = pl.read_parquet(out / "runs.parquet")
    assert {"run_id", "seed", "rhythm", "status", "seconds", "version"} <= set(index.columns)
    results = read_results(out)
    assert results["rhythm"].to_list() == ["slow", "slow", "fast", "fast"]
    fast, slow = (
        results.filter(pl.col("rhythm") == "fast"),
        results.filter(pl.col("rhythm") == "slow"),
    )
    assert fast["realised_all_2023"].mean() > slow["realised_all_2023"].mean()
    res = runner.invoke(
        app, ["batch", str(exp), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    assert res.exit_code == 0 and "(0 now, 4 before)" in res.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'name = "x"\nroot_seed = 1\n[parameters]\n"behaviour.nope" = { values = [1.0] }\n',
            "parameters.behaviour.nope: no such field",
        ),
        ('name = "x"\nroot_seed = -1\n', "root_seed: Input should be greater than or equal to 0"),
        ('name = "x"\nroot_seed = 1\n[design]\nkind = "grid"\n', "design.kind: Input should be"),
        ('name = "x"\nroot_seed = \n', "not valid TOML"),
    ],
)
def test_bad_experiment_file_exits_2_naming_file_and_field(tmp_path, text, expected):
    exp = write(tmp_path, "bad.toml", text)
    res = runner.invoke(app, ["batch", str(exp), "--out", str(tmp_path / "o"), "--workers", "1"])
    assert res.exit_code == 2
    assert f"error: {exp}: " in res.output and expected in res.output
    assert "Traceback" not in res.output


def test_bad_executor_options_exit_2(tmp_path):
    exp = write(tmp_path, "e.toml", f'name = "x"\nroot_seed = 1\n[base]\n{TINY}')
    res = runner.invoke(app, ["batch", str(exp), "--dask", "remote"])
    assert res.exit_code == 2 and "--dask 'remote'" in res.output
    res = runner.invoke(app, ["batch", str(exp), "--scheduler", "10.0.0.1:8786"])
    assert res.exit_code == 2 and "tcp://HOST:PORT" in res.output


SOBOL = f"""
name = "tiny-sobol"
root_seed = 5
common_random_numbers = true
[base]
{TINY}
[design]
kind = "sobol"
samples = 16
[parameters]
adoption_multiplier = {{ bounds = [0.5, 2.0], log = true }}
"behaviour.attitude_effect" = {{ bounds = [0.4, 2.0] }}
"{INERT}" = {{ bounds = [0.1, 1.0] }}
[analysis]
outputs = ["realised_all_2023", "multi_speed_gap_2023"]
resamples = 200
"""


def test_sensitivity_command_sobol(tmp_path):
    exp = write(tmp_path, "sobol.toml", SOBOL)
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["sensitivity", str(exp), "--out", str(out), "--workers", "1", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert "| realised_all_2023 | adoption_multiplier |" in res.output
    for suffix in ("md", "csv", "parquet", "png"):
        assert (out / f"sensitivity.{suffix}").stat().st_size > 0
    assert (out / "sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    table = pl.read_parquet(out / "sensitivity.parquet")
    assert table.height == 2 * 3
    real = {
        r["parameter"]: r
        for r in table.filter(pl.col("output") == "realised_all_2023").iter_rows(named=True)
    }
    # with common random numbers a parameter the model ignores has exactly zero indices
    assert real[INERT]["S1"] == 0 and real[INERT]["ST"] == 0
    # a parameter that multiplies every adoption rate matters: its total index excludes 0
    assert real["adoption_multiplier"]["ST"] - real["adoption_multiplier"]["ST_conf"] > 0
    assert real["adoption_multiplier"]["ST"] > real["behaviour.attitude_effect"]["ST"]


def test_sensitivity_command_in_french_same_data_files(tmp_path):
    """`sensitivity --lang fr` prints and writes its table in French (headers, decimal
    commas); re-run in English into the same folder (the runs are kept), the data files are the
    same and only the Markdown table changes language."""
    exp = write(tmp_path, "sobol.toml", SOBOL)
    out = tmp_path / "out"
    args = ["sensitivity", str(exp), "--out", str(out), "--workers", "1", "--no-progress"]
    fr = runner.invoke(app, [*args, "--lang", "fr"])
    assert fr.exit_code == 0, fr.output
    head = "| sortie | paramètre | S1 (premier ordre) | ST (total) |"
    assert head in fr.output and head in (out / "sensitivity.md").read_text()
    real = pl.read_parquet(out / "sensitivity.parquet").filter(
        pl.col("output") == "realised_all_2023"
    )
    st = real.filter(pl.col("parameter") == "adoption_multiplier")["ST"].item()
    assert f"{st:.3f}".replace(".", ",") in fr.output
    csv_fr = (out / "sensitivity.csv").read_bytes()
    table_fr = pl.read_parquet(out / "sensitivity.parquet")
    en = runner.invoke(app, [*args, "--lang", "en"])
    assert en.exit_code == 0, en.output
    assert "| output | parameter | S1 (first order) | ST (total) |" in en.output
    assert f"{st:.3f}" in en.output
    assert (out / "sensitivity.csv").read_bytes() == csv_fr
    assert pl.read_parquet(out / "sensitivity.parquet").equals(table_fr)


def test_sensitivity_morris_api(tmp_path):
    exp = experiment_from_dict(
        {
            "name": "tiny-morris",
            "root_seed": 5,
            "common_random_numbers": True,
            "base": {"scale": 0.002, "end_year": 2023},
            "design": {"kind": "morris", "samples": 6, "levels": 4},
            "parameters": {
                "adoption_multiplier": {"bounds": [0.5, 2.0], "log": True},
                INERT: {"bounds": [0.1, 1.0]},
            },
            "analysis": {"outputs": ["realised_all_2023"], "resamples": 100},
        }
    )
    run_batch(exp, tmp_path, workers=1)
    table = analyse(exp, read_results(tmp_path))
    rows = {r["parameter"]: r for r in table.iter_rows(named=True)}
    assert rows[INERT]["mu_star"] == 0 and rows[INERT]["sigma"] == 0
    assert (
        rows["adoption_multiplier"]["mu_star"] > 0 and rows["adoption_multiplier"]["mu"] > 0
    )  # more adoption, more gain


def test_sensitivity_needs_a_finished_sampled_design(tmp_path):
    exp = write(tmp_path, "f.toml", f'name = "x"\nroot_seed = 1\n[base]\n{TINY}')
    res = runner.invoke(app, ["sensitivity", str(exp), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "design.kind: sensitivity needs 'sobol' or 'morris'" in res.output


def tiny_calibration(target: float) -> dict:
    return {
        "name": "tiny-cal",
        "root_seed": 8,
        "replications": 2,
        "base": {"scale": 0.002, "end_year": 2023},
        "parameters": {"adoption_multiplier": {"initial": 1.0, "bounds": [0.2, 5.0]}},
        "targets": [
            {"rhythm": "central", "output": "realised_all_2023", "value": target, "tolerance": 0.01}
        ],
        "xatol": 0.002,
        "fatol": 1e-4,
        "maxfev": 60,
    }


@pytest.mark.filterwarnings("ignore::adoption_abm.batch.calibrate.JustIdentifiedWarning")
def test_calibrate_recovers_a_known_multiplier_and_resumes(tmp_path):
    from adoption_abm import run

    truth = 1.4
    probe = calibration_from_dict(tiny_calibration(0.0))
    target = (
        sum(
            run({**probe.base, "adoption_multiplier": truth}, s)["realised_all_2023"]
            for s in probe.seeds()
        )
        / 2
    )
    cal = calibration_from_dict(tiny_calibration(target))
    result = calibrate(cal, tmp_path, workers=1)
    fitted = result["fitted"]["adoption_multiplier"]
    # the simulated moment is a step function of the multiplier (finitely many agents): the
    # fit lands on the step that holds the truth, within a few xatol of it in log space
    assert abs(math.log(fitted / truth)) < 5 * cal.xatol + 0.01
    assert result["objective"] < 0.01
    table = pl.read_csv(tmp_path / "residuals.csv")
    assert table["target"].to_list() == [target] and abs(table["residual"][0]) < 0.01 * 0.1
    trace = pl.read_parquet(tmp_path / "trace.parquet")
    assert trace.height == result["evaluations"] and trace["objective"].min() == pytest.approx(
        result["objective"]
    )
    # resume: the same calibration replays every evaluation from the trace
    again = calibrate(cal, tmp_path, workers=1)
    assert (
        again["fitted"] == result["fitted"] and again["replayed_from_trace"] == again["evaluations"]
    )


def test_calibrate_command_and_bad_file(tmp_path):
    bad = write(
        tmp_path,
        "bad.toml",
        "[parameters]\nadoption_multiplier = { initial = 9.0, bounds = [0.5, 2.0] }\n"
        '[[targets]]\nrhythm = "brisk"\noutput = "realised_all_2030"\nvalue = 0.2\n',
    )
    res = runner.invoke(app, ["calibrate", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert f"error: {bad}: parameters.adoption_multiplier: need low < initial < high" in res.output
    bad.write_text(
        "[parameters]\nadoption_multiplier = { initial = 1.0, bounds = [0.5, 2.0] }\n"
        '[[targets]]\nrhythm = "brisk"\noutput = "realised_all_2027"\nvalue = 0.2\n'
    )
    res = runner.invoke(app, ["calibrate", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "targets.0.rhythm: unknown rhythm 'brisk'" in res.output
    assert "targets.0.output: 'realised_all_2027' must end with a reported year" in res.output
    good = write(
        tmp_path,
        "good.toml",
        """
root_seed = 1
replications = 1
maxfev = 3
[base]
scale = 0.002
end_year = 2023
[parameters]
"rhythms.fast" = { initial = 1.3, bounds = [1.0, 3.0] }
[[targets]]
rhythm = "fast"
output = "realised_all_2023"
value = 0.05
""",
    )
    res = runner.invoke(
        app,
        ["calibrate", str(good), "--out", str(tmp_path / "c"), "--workers", "1", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    assert (
        "fitted: rhythms.fast = " in res.output
        and "| fast | realised_all_2023 | 0.050 |" in res.output
    )
    saved = json.loads((tmp_path / "c" / "calibration.json").read_text())
    assert saved["evaluations"] >= 3 and set(saved["fitted"]) == {"rhythms.fast"}
