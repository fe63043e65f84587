"""Scenario authoring: ``scenario new`` (a commented copy that loads back equal), ``scenario
diff`` and the warnings of ``validate`` (one scenario per named check; the default triggers
none)."""

from __future__ import annotations

import tomllib

import pytest
from typer.testing import CliRunner

from adoption_abm.cli.main import app
from adoption_abm.scenario.authoring import commented_toml, differences, flatten, is_source
from adoption_abm.scenario.load import load_scenario, scenario_from_dict, with_overrides
from adoption_abm.scenario.suspicious import CHECKS, suspicious_values

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def default():
    return load_scenario("france-2022")


# scenario new ------------------------------------------------------------------------------
def test_new_writes_a_copy_that_loads_back_equal(tmp_path, default):
    path = tmp_path / "my.toml"
    res = invoke("scenario", "new", "--from", "france-2022", str(path))
    assert res.exit_code == 0, res.output
    copy = load_scenario(path)
    assert copy == default
    assert copy.model_dump(mode="json") == default.model_dump(mode="json")
    assert not list(tmp_path.glob("*.tmp"))


def test_new_comments_each_fields_meaning_and_source(tmp_path, default):
    text = commented_toml(default, "the built-in france-2022")
    lines = text.splitlines()

    def comments_above(key: str, table: str) -> str:
        start = lines.index(f"[{table}]")
        k = next(i for i in range(start, len(lines)) if lines[i].startswith(f"{key} = "))
        above = []
        while lines[k - 1].startswith("#"):
            k -= 1
            above.insert(0, lines[k].lstrip("# "))
        return " ".join(above)

    entry = comments_above("entry_age", "professions.surgeon")
    assert "Age at which new professionals enter the workforce." in entry  # the schema
    assert "source: assumption: end of residency (internat) around 30-31" in entry  # the file
    peer = comments_above("peer_weight", "deployment")
    assert "Hazard multiplier slope" in peer
    assert all(len(line) <= 100 for line in lines if line.startswith("#"))


def test_new_round_trips_interventions_and_roles(default):
    from adoption_abm.policies.parse import parse_policy

    sc = with_overrides(default, {"interventions": parse_policy("6,7", default)})
    sc = with_overrides(sc, {"end_year": 2035, "behaviour.training_capacity": 80.0})
    assert sc.interventions
    back = scenario_from_dict(tomllib.loads(commented_toml(sc)))
    assert back == sc


def test_new_and_run_handle_an_optional_field_left_unset(tmp_path):
    """tests/data/four-families.toml sets no training capacity (None: unlimited): TOML has no
    null, so the field is left out, and loads back as None."""
    from pathlib import Path

    source = Path(__file__).parent / "data" / "four-families.toml"
    sc = load_scenario(source)
    assert sc.behaviour.training_capacity is None
    path = tmp_path / "ff.toml"
    assert invoke("scenario", "new", "--from", str(source), str(path)).exit_code == 0
    assert load_scenario(path) == sc
    out = tmp_path / "run"
    res = invoke(
        "run",
        "--scenario",
        str(source),
        "--scale",
        "0.002",
        "--set",
        "end_year=2024",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert load_scenario(out / "scenario.toml") == with_overrides(sc, {"end_year": 2024})


def test_new_refuses_to_overwrite_and_bad_sources(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text("keep me")
    res = invoke("scenario", "new", str(path))
    assert res.exit_code == 2 and res.output.startswith("error: FILE")
    assert "--overwrite" in res.output and path.read_text() == "keep me"
    assert invoke("scenario", "new", str(path), "--overwrite").exit_code == 0
    assert load_scenario(path).name == "france-2022"
    res = invoke("scenario", "new", "--from", "nowhere", str(tmp_path / "b.toml"))
    assert res.exit_code == 2 and "nowhere" in res.output and "Traceback" not in res.output
    res = invoke("scenario", "new", str(tmp_path))
    assert res.exit_code == 2 and "is a folder" in res.output
    res = invoke("scenario", "new", str(path / "under-a-file.toml"))
    assert res.exit_code == 2 and res.output.startswith(f"error: FILE {path}: ")
    assert "is a file, not a folder" in res.output


# scenario diff -----------------------------------------------------------------------------
def test_diff_lists_dotted_fields_with_both_values(tmp_path, default):
    edited = with_overrides(default, {"end_year": 2035, "professions.surgeon.headcount": 25_000.0})
    path = tmp_path / "b.toml"
    path.write_text(commented_toml(edited))
    res = invoke("scenario", "diff", "france-2022", str(path))
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [
        "end_year\t2040\t2035",
        "professions.surgeon.headcount\t23000.0\t25000.0",
    ]
    assert "2 fields differ" in res.stderr
    same = invoke("scenario", "diff", "france-2022", "france-2022")
    assert same.exit_code == 0 and same.stdout == "" and "no differences" in same.stderr


def test_diff_hides_source_texts_unless_asked(default):
    data = default.model_dump(mode="json")
    data["workforce"]["sources"]["total"] = "another document"
    data["behaviour"]["skill_effect"] = 0.9
    other = scenario_from_dict(data)
    found = differences(default, other)
    assert [d.field for d in found] == ["workforce.sources.total", "behaviour.skill_effect"]
    assert [is_source(d.field) for d in found] == [True, False]
    assert dict(flatten({"a": [{"b": 1}], "c": [1, 2]})) == {"a[0].b": 1, "c": [1, 2]}


def test_diff_bad_input(tmp_path):
    res = invoke("scenario", "diff", "france-2022", str(tmp_path / "none.toml"))
    assert res.exit_code == 2 and "none.toml" in res.output and "Traceback" not in res.output


# validate: suspicious values ---------------------------------------------------------------
def test_default_scenario_triggers_no_warning(default):
    assert suspicious_values(default) == []
    res = invoke("validate", "france-2022")
    assert res.exit_code == 0 and "warning" not in res.output


SUSPICIOUS = {
    "potential_above_80_percent": {
        "potential.shares.radiologist.ai": [0.14, 0.22, 0.36, 0.41, 0.75]  # + 0.12 + 0.04
    },
    "rhythms_out_of_order": {"rhythms.fast.adoption": 0.6},
    "training_capacity_outside_range": {"behaviour.training_capacity": 40.0},
    "professions_without_agents": {"professions.hospital_pharmacist.headcount": 40.0},
    "end_year_beyond_2050": {
        "end_year": 2055,
        "technologies.years": [2022, 2025, 2030, 2035, 2055],
        "potential.years": [2022, 2025, 2030, 2035, 2055],
    },
}


def test_every_check_has_a_triggering_scenario():
    assert set(SUSPICIOUS) == set(CHECKS)


@pytest.mark.parametrize("check", list(SUSPICIOUS))
def test_each_check_fires_on_its_scenario_only(check, default, tmp_path):
    sc = with_overrides(default, SUSPICIOUS[check])
    found = suspicious_values(sc)
    assert found and {w.check for w in found} == {check}, found
    path = tmp_path / "s.toml"
    path.write_text(commented_toml(sc))
    res = invoke("validate", str(path))
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("ok: ") and "1 warning" in res.stdout
    assert res.stderr.startswith(f"warning: {path}: {found[0].field}: ")
    assert f"[{check}]" in res.stderr


def test_central_rhythm_outside_slow_and_fast(default):
    sc = with_overrides(default, {"rhythms.central.mastery": 2.0})
    (w,) = suspicious_values(sc)
    assert w.field == "rhythms.central.mastery" and "outside" in w.message


def test_professions_without_agents_is_what_run_refuses(default):
    from adoption_abm.model.build import agents_per_cell

    for headcount, warned in ((40.0, True), (100.0, True), (101.0, False), (7000.0, False)):
        sc = with_overrides(default, {"professions.hospital_pharmacist.headcount": headcount})
        cells = agents_per_cell(sc, 0.01)
        empty = cells[sc.profession_ids.index("hospital_pharmacist")].sum() == 0
        assert empty == warned == bool(suspicious_values(sc)), headcount
