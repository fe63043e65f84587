"""The command line: outputs, reproducibility, and clear errors (exit 2, no traceback)."""

from __future__ import annotations

import copy
import json

import polars as pl
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from adoption_abm.cli.main import app
from adoption_abm.outputs.atomic import write_atomic, write_json_atomic

runner = CliRunner()
SMALL = ["--scale", "0.003"]


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def run_summary(tmp_path, name: str, *extra: str) -> dict:
    out = tmp_path / name
    res = invoke("run", "--seed", "1", *SMALL, "--out", str(out), *extra)
    assert res.exit_code == 0, res.output
    return json.loads((out / "summary.json").read_text())


def test_run_writes_outputs_in_the_documented_shape(tmp_path):
    summary = run_summary(tmp_path, "demo")
    for key in ("scenario", "rhythm", "seed", "scale", "version", "seconds", "years"):
        assert key in summary
    assert set(summary["years"]) == {"2025", "2030", "2035", "2040"}
    y = summary["years"]["2030"]
    professions = {"surgeon", "hospital_nurse", "radiologist", "care_assistant"}
    for block in ("potential", "realised", "fte_freed"):
        assert {"all", "medical", "non_medical"} <= set(y[block])
        assert professions <= set(y[block])
    for block in ("potential", "realised"):
        assert all(0.0 <= v <= 1.0 for v in y[block].values())
    mix = y["mix"]["radiologist"]
    assert set(mix) == {"ai", "digital", "robotics"}
    assert sum(mix.values()) == pytest.approx(1.0)
    ts = pl.read_parquet(tmp_path / "demo" / "timeseries.parquet")
    assert {"month", "profession", "family", "adoption", "mastery", "realised"} <= set(ts.columns)
    assert ts.height == (228 + 1) * 8 * 3
    assert not list((tmp_path / "demo").glob("*.tmp"))


def test_resolved_scenario_reproduces_the_run(tmp_path):
    first = run_summary(tmp_path, "a", "--set", "mechanisms.mentoring.enabled=false")
    resolved = tmp_path / "a" / "scenario.toml"
    again = run_summary(tmp_path, "b", "--scenario", str(resolved))
    assert first["years"] == again["years"]


def test_resolved_scenario_carries_the_policies(tmp_path):
    first = run_summary(tmp_path, "p", "--policy", "6,7")
    again = run_summary(tmp_path, "q", "--scenario", str(tmp_path / "p" / "scenario.toml"))
    baseline = run_summary(tmp_path, "r")
    assert first["years"] == again["years"] != baseline["years"]


def test_same_seed_same_summary_other_seed_differs(tmp_path):
    a = run_summary(tmp_path, "a")
    b = run_summary(tmp_path, "b")
    c = run_summary(tmp_path, "c", "--engine", "reference")
    assert a["years"] == b["years"] == c["years"]
    out = tmp_path / "d"
    assert invoke("run", "--seed", "2", *SMALL, "--out", str(out)).exit_code == 0
    d = json.loads((out / "summary.json").read_text())
    assert d["years"] != a["years"]


def assert_clean_error(res, *words: str) -> None:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    for w in words:
        assert w in res.output, res.output


def test_bad_scenario_file(tmp_path, scenario_dict):
    scenario_dict["professions"]["surgeon"]["headcount"] = -5
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps(scenario_dict))
    assert_clean_error(invoke("validate", str(bad)), str(bad), "professions.surgeon.headcount")
    assert_clean_error(
        invoke("run", "--scenario", str(bad), *SMALL), "professions.surgeon.headcount"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "--rhythm", "medium", *SMALL], ["rhythm", "slow"]),
        (["run", "--scale", "0"], ["scale", "positive"]),
        (["run", "--scale", "1e-7"], ["scale", "zero agents"]),
        (["run", "--scale", "nan"], ["scale"]),
        (["run", "--engine", "gpu", *SMALL], ["engine", "reference"]),
        (["run", "--set", "behaviour.nope=1", *SMALL], ["behaviour.nope", "no such field"]),
        (["run", "--set", "technologies.ai.peer=-1", *SMALL], ["technologies.ai.peer"]),
        (["run", "--scenario", "atlantis", *SMALL], ["atlantis", "built-ins"]),
        (["validate", "nowhere.toml"], ["nowhere.toml"]),
    ],
)
def test_bad_options(args, words):
    assert_clean_error(invoke(*args), *words)


def test_scenarios_and_validate_ok():
    res = invoke("scenarios")
    assert res.exit_code == 0 and "france-2022" in res.output
    res = invoke("validate", "france-2022")
    assert res.exit_code == 0 and "8 professions" in res.output


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    section=st.sampled_from(["workforce", "behaviour", "network", "indicators"]),
    value=st.one_of(st.floats(allow_nan=True), st.text(max_size=5), st.integers(-5, 5)),
)
def test_fuzzed_validate_never_tracebacks(tmp_path, base_dict, section, value):
    doc = copy.deepcopy(base_dict)
    key = sorted(k for k in doc[section] if k not in ("source", "sources"))[0]
    doc[section][key] = value
    path = tmp_path / "f.toml"
    path.write_text(tomli_w.dumps(doc))
    res = invoke("validate", str(path))
    assert res.exit_code in (0, 2)
    assert "Traceback" not in res.output


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "x.json"
    write_json_atomic(target, {"a": 1})

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, broken)
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_zero_agent_scale_error_gives_a_scale_that_works(tmp_path):
    import re

    res = invoke("run", "--scale", "1e-5")
    assert_clean_error(res, "zero agents")
    need = float(re.search(r"scale > ([0-9.e-]+)", res.output).group(1))
    ok = invoke("run", "--scale", repr(need * 1.01), "--out", str(tmp_path / "tiny"))
    assert ok.exit_code == 0, ok.output


def test_a_rhythm_the_scenario_file_adds_is_accepted(tmp_path, scenario_dict):
    scenario_dict["rhythms"]["brisk"] = {**scenario_dict["rhythms"]["fast"], "adoption": 1.5}
    path = tmp_path / "brisk.toml"
    path.write_text(tomli_w.dumps(scenario_dict))
    summary = run_summary(tmp_path, "b", "--scenario", str(path), "--rhythm", "brisk")
    assert summary["rhythm"] == "brisk"
    res = invoke("run", "--scenario", str(path), "--rhythm", "medium", *SMALL)
    assert_clean_error(res, "--rhythm", "'medium'", "brisk")


# the command line's layout: sub-apps, one error mapping, lazy imports ---------------------------
COMMANDS = ["run", "scenarios", "validate", "scenario", "plot", "compare", "proposals"]
COMMANDS += ["batch", "sensitivity", "calibrate", "optimise", "app"]


def test_every_command_reports_expected_errors_through_one_class():
    import typer.main

    from adoption_abm.cli.errors import ReportingCommand, ReportingGroup

    group = typer.main.get_command(app)
    assert list(group.commands) == COMMANDS
    for name, command in group.commands.items():
        if isinstance(command, ReportingGroup):  # a command group (scenario): its commands
            assert command.commands, name
            for sub, inner in command.commands.items():
                assert isinstance(inner, ReportingCommand), (name, sub)
            continue
        assert isinstance(command, ReportingCommand), name


def test_error_mapping(capsys):
    from adoption_abm.batch.executors import WorkerLost
    from adoption_abm.batch.experiment import ExperimentError
    from adoption_abm.batch.store import BatchLocked
    from adoption_abm.cli.errors import report
    from adoption_abm.engines.registry import KernelUnavailable
    from adoption_abm.scenario.errors import ScenarioError

    expected = [
        (
            ScenarioError("f.toml", [("a.b", "bad"), ("", "worse")]),
            2,
            "error: f.toml: a.b: bad\nerror: f.toml: <root>: worse\n",
        ),
        (ExperimentError("e.toml", [("root_seed", "< 0")]), 2, "error: e.toml: root_seed: < 0\n"),
        (KernelUnavailable("no kernel: pip install ."), 2, "error: no kernel: pip install .\n"),
        (BatchLocked("out is locked"), 2, "error: out is locked\n"),
        (WorkerLost("worker died"), 1, "error: worker died; re-run the same command to resume\n"),
    ]
    for exc, status, text in expected:
        assert report(exc) == status
        assert capsys.readouterr() == ("", text)
    assert report(RuntimeError("a bug")) is None  # not an expected error: its traceback shows
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("args", "files", "words"),
    [
        (["run", "--set", "behaviour.nope=1", *SMALL], {}, ["--set: behaviour.nope"]),
        (
            ["batch", "bad.toml", "--workers", "1"],
            {"bad.toml": 'name = "x"\nroot_seed = -1\n'},
            ["bad.toml: root_seed:"],
        ),
    ],
)
def test_expected_errors_are_one_line_and_exit_2_in_a_real_process(tmp_path, args, files, words):
    import subprocess
    import sys

    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "adoption_abm", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for w in words:
        assert w in lines[0]
    assert proc.stdout == ""


def test_help_choices_are_the_package_ones():
    from adoption_abm.cli.options import ENGINES, RHYTHMS
    from adoption_abm.engines import registry
    from adoption_abm.scenario import schema

    assert ENGINES == registry.ENGINES
    assert RHYTHMS == schema.RHYTHMS
    res = invoke("run", "--help")
    assert "<slow|central|fast>" in res.output and "<cython|reference>" in res.output


HEAVY = {"mesa", "polars", "pandas", "numpy", "dask", "matplotlib", "scipy", "solara"}


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["compare", "--help"]])
def test_help_imports_no_model_layer(args):
    """``--help`` loads the command line only: no Mesa, Polars, pandas or NumPy, and of the
    package nothing but ``adoption_abm.cli`` and ``adoption_abm.i18n`` (no package import of its
    own; Babel only for French) (``-X importtime`` lists every module imported)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "adoption_abm", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "Usage" in proc.stdout, proc.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "adoption_abm.cli.main" in modules  # the listing is real
    assert not {m.split(".")[0] for m in modules} & HEAVY
    ours = {m for m in modules if m.split(".")[0] == "adoption_abm"}
    assert all(
        m in ("adoption_abm", "adoption_abm.cli", "adoption_abm.i18n")
        or m.startswith("adoption_abm.cli.")
        for m in ours
    ), ours
    assert "babel" not in {m.split(".")[0] for m in modules}  # English: no catalogue to read


def test_version():
    from adoption_abm import __version__

    res = invoke("--version")
    assert res.exit_code == 0 and res.output == f"adoption-abm {__version__}\n"
    assert "--version" in invoke("--help").output


# help that reads right -----------------------------------------------------------------------
def all_commands():
    import typer.main

    group = typer.main.get_command(app)
    return group, group.commands


def help_of(*args: str) -> str:
    import os

    res = runner.invoke(app, [*args, "--help"], env={**os.environ, "COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_flags_take_no_placeholder_and_defaults_are_literal(command):
    text = help_of(*command)
    assert "<bool>" not in text
    assert "[default: progress]" not in text and "[default: no-" not in text
    if command and command[0] in ("run", "compare", "batch"):
        assert "[default: --progress]" in text


def test_no_help_text_holds_what_markdown_would_eat():
    """The help is rendered as Markdown: ``<word>`` would vanish (issue: ``runs/--``). Angle
    brackets belong in metavars and shown defaults, which are printed as they are."""
    group, commands = all_commands()
    for name, command in {"": group, **commands}.items():
        assert "<" not in (command.help or ""), name
        for param in command.params:
            assert "<" not in (getattr(param, "help", None) or ""), (name, param.name)


def test_run_help_shows_the_default_folder_literally():
    text = help_of("run")
    assert "runs/<scenario>-<rhythm>-<seed>-<hash>" in text
    assert "<FIELD=VALUE>" in text and "--overwrite" in text and "--force" in text
    assert "<local>" in help_of("batch")  # --dask: the one choice listed
    assert "the calibration of france-2022 shipped in the package" in help_of("calibrate")


# output folders: checked first, written as a whole -------------------------------------------
@pytest.fixture
def no_simulation(monkeypatch):
    """Fail if a command gets as far as building a model: errors must come before any work."""
    from adoption_abm.model import model as model_module

    def refuse(*args, **kwargs):
        raise AssertionError("the command simulated before checking its options")

    monkeypatch.setattr(model_module.AdoptionModel, "__init__", refuse)


def test_bad_out_is_refused_before_the_simulation(tmp_path, no_simulation):
    afile = tmp_path / "afile"
    afile.write_text("x")
    done = tmp_path / "done"
    (done).mkdir()
    (done / "summary.json").write_text("{}")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    cases = [
        (afile, [], "exists and is a file, not a folder"),
        (afile / "sub", [], f"cannot be created: {afile} is a file, not a folder"),
        (done, [], "already exists; pass --overwrite"),
        (
            foreign,
            ["--overwrite"],
            "holds files that are not an adoption-abm output (no summary.json)",
        ),
    ]
    for out, extra, words in cases:
        for command in (["run", *SMALL], ["compare", *SMALL, "--replications", "1"]):
            res = invoke(*command, "--out", str(out), *extra)
            words_here = (
                words.replace("summary.json", "meta.json") if command[0] == "compare" else words
            )
            assert_clean_error(res, f"error: --out {out}: {words_here}")
    assert (foreign / "thesis.tex").read_text() == "keep me"
    assert afile.read_text() == "x"


def test_overwrite_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "run"
    first = run_summary(tmp_path, "run")
    (out / "stale.txt").write_text("from before")
    res = invoke("run", "--seed", "2", *SMALL, "--out", str(out))
    assert_clean_error(res, "already exists")
    assert json.loads((out / "summary.json").read_text())["seed"] == 1  # untouched
    res = invoke("run", "--seed", "2", *SMALL, "--out", str(out), "--overwrite")
    assert res.exit_code == 0, res.output
    again = json.loads((out / "summary.json").read_text())
    assert again["seed"] == 2 and again["years"] != first["years"]
    assert sorted(p.name for p in out.iterdir()) == [
        "breakdown.parquet", "indicators.parquet", "scenario.toml", "summary.json",
        "timeseries.parquet",
    ]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary, no lock


def test_default_folder_differs_whenever_results_may(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    variants = [
        [],
        ["--policy", "all"],
        ["--set", "mechanisms.mentoring.enabled=false"],
        ["--scale", "0.004"],
        ["--seed", "2"],
        ["--rhythm", "fast"],
    ]
    for extra in variants:
        res = invoke("run", *SMALL, "--no-progress", *extra)
        assert res.exit_code == 0, res.output
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(folders) == len(variants), folders
    assert all(f.startswith("france-2022-") for f in folders)
    # the engine does not change results, so it does not change the folder
    res = invoke("run", *SMALL, "--engine", "reference")
    assert_clean_error(res, "already exists")


def test_a_killed_runs_leftovers_are_removed_with_a_warning(tmp_path):
    parent = tmp_path / "runs"
    parent.mkdir()
    stale = parent / ".other-run.partial-99999-0badc0de"
    stale.mkdir()
    (stale / "timeseries.parquet").write_text("half")
    (parent / ".other-run.lock").write_text("")
    res = invoke("run", *SMALL, "--out", str(parent / "new"))
    assert res.exit_code == 0, res.output
    assert f"warning: removed {stale}, left by an interrupted run" in res.output
    assert sorted(p.name for p in parent.iterdir()) == ["new"]


def test_a_full_disk_while_writing_loses_nothing_silently(tmp_path, monkeypatch):
    import errno

    import polars as pl

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)
    out = tmp_path / "run"
    res = invoke("run", *SMALL, "--out", str(out))
    assert_clean_error(
        res, f"error: --out {out}: no space left on the device while writing timeseries.parquet"
    )
    assert "nothing was written" in res.output
    assert list(tmp_path.iterdir()) == []  # neither a half folder nor a temporary


def test_seed_bounds_on_the_command_line(tmp_path, no_simulation):
    for seed in ("-1", str(2**64)):
        assert_clean_error(invoke("run", "--seed", seed), f"--seed {seed}: must be an integer")
    res = invoke("run", "--seed", "1.5")
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_largest_seed_runs(tmp_path):
    summary = run_summary(tmp_path, "big", "--seed", str(2**64 - 1))
    assert summary["seed"] == 2**64 - 1


def test_scale_is_bounded_by_memory_and_force_goes_ahead(tmp_path, monkeypatch):
    from adoption_abm.model import limits

    res = invoke("run", "--scale", "1e9")
    assert_clean_error(res, "--scale", "PiB of memory", "available", "--force")
    monkeypatch.setattr(limits, "available_memory", lambda: 100 * 2**20)  # 100 MiB
    res = invoke("run", *SMALL, "--out", str(tmp_path / "a"))
    assert_clean_error(res, "needs about 256.8 MiB of memory; this machine has 100.0 MiB")
    res = invoke("run", *SMALL, "--out", str(tmp_path / "a"), "--force")
    assert res.exit_code == 0, res.output
    res = invoke("run", "--scale", "1e9", "--force")
    assert_clean_error(res, "32-bit integers")  # a limit --force does not lift


# calibrate: the experiment shipped in the package ---------------------------------------------
def test_calibrate_falls_back_to_the_packaged_experiment(tmp_path, monkeypatch):
    from pathlib import Path

    from adoption_abm.batch import calibrate as calibration
    from adoption_abm.cli.batch import packaged_calibration

    root = Path(__file__).resolve().parents[1]
    shipped = packaged_calibration()
    assert shipped.read_text() == (root / "experiments" / "calibrate.toml").read_text()
    seen = {}

    def fake(cal, out, **kwargs):
        seen["cal"], seen["text"] = cal, kwargs["text"]
        raise KeyboardInterrupt  # stop there: the default was found and loaded

    monkeypatch.setattr(calibration, "calibrate", fake)
    monkeypatch.chdir(tmp_path)  # not a checkout: no experiments/ here
    res = invoke("calibrate", "--out", "cal", "--workers", "1")
    assert res.exit_code == 130, res.output
    assert seen["text"] == shipped.read_text() and seen["cal"].name == "calibrate"


def test_batch_out_checked_before_the_experiment_runs(tmp_path):
    exp = tmp_path / "e.toml"
    exp.write_text('name = "x"\nroot_seed = 1\n[base]\nscale = 0.002\nend_year = 2023\n')
    afile = tmp_path / "afile"
    afile.write_text("x")
    for command in ("batch", "sensitivity"):
        res = invoke(command, str(exp), "--out", str(afile), "--workers", "1")
        assert_clean_error(res, f"error: --out {afile}: exists and is a file, not a folder")
    res = invoke("calibrate", "--out", str(afile / "sub"), "--workers", "1")
    assert_clean_error(res, f"error: --out {afile / 'sub'}: cannot be created")
    assert afile.read_text() == "x"


def test_the_cli_and_the_model_bound_seeds_alike():
    from adoption_abm.batch import params
    from adoption_abm.cli import options
    from adoption_abm.engines import registry
    from adoption_abm.model import limits

    assert options.SEED_BOUND == limits.SEED_BOUND == 2**64
    assert params.ENGINES == registry.ENGINES
