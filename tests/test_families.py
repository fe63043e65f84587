"""Technology families are data: the scenario's list sets every per-family array's width and
the random slots per professional; a fourth family runs, and errors name the missing ones."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import numpy as np
import pytest

from adoption_abm import AdoptionModel
from adoption_abm.rules import stream
from adoption_abm.scenario import ScenarioError, load_scenario, scenario_from_dict
from adoption_abm.scenario.mechanisms import CORE_RULES

FOUR = Path(__file__).parent / "data" / "four-families.toml"


@pytest.fixture(scope="module")
def four():
    return load_scenario(FOUR)


@pytest.fixture(scope="module")
def four_dict():
    return tomllib.loads(FOUR.read_text(encoding="utf-8"))


def test_the_scenario_lists_the_families_in_file_order(four):
    assert four.families == ("ai", "digital", "robotics", "remote_monitoring")
    assert four.technologies["remote_monitoring"].title("remote_monitoring") == "Remote monitoring"
    assert load_scenario().families == ("ai", "digital", "robotics")


def test_every_per_family_array_has_the_scenario_width(four):
    model = AdoptionModel(four, scale=0.002, engine="reference", seed=3, agents="none")
    model.run(months=14)
    f = four.n_families
    assert model.pop.state.shape[1] == f and model.pop.trained.shape[1] == f
    assert model.est.deployed.shape[1] == f
    assert model.month_params(1).adopt_mult.shape[1] == f
    assert model.tallies.cubes[-1].shape[3] == f and model.tallies.risks[-1].shape[1] == f
    assert stream.slots(f) == 5 and stream.training_slot(f) == 4
    ts = model.timeseries()
    assert sorted(ts["family"].unique().to_list()) == sorted(four.families)
    # the fourth family is deployed and adopted somewhere: it takes part in the run
    assert model.est.deployed[:, 3].any() and (model.pop.state[:, 3] > 0).any()
    assert "adoption_remote_monitoring" in model.latest()


def test_a_fourth_family_adds_its_time_freed(four):
    """The fourth family's potential adds to the others': realised gain counts it."""
    model = AdoptionModel(four, scale=0.002, engine="reference", seed=3, agents="none").run()
    year = model.summary()["2030"]
    for mix in year["mix"].values():
        assert set(mix) == set(four.families)
    rbf = model.outputs().realised_by_family()[-1]  # (P, F)
    assert (rbf[:, 3] > 0).all()
    np.testing.assert_allclose(model.outputs().by_profession()["realised"][-1], rbf.sum(axis=1))


def test_catalogue_effects_reach_the_families_they_name(four):
    """Proposal 17 (ethics of AI) raises adoption of AI only; proposal 12 (calls for projects)
    names no family, so it speeds the deployment of all four."""
    from adoption_abm.policies.schedule import PolicySchedule

    end = four.n_months
    ai_only = PolicySchedule(four, [{"proposal": 17}]).levers_at(end).adoption
    assert (ai_only[:, 0] > 1).all() and (ai_only[:, 1:] == 1).all()
    every = PolicySchedule(four, [{"proposal": 12}]).levers_at(end).deployment_bought
    assert (every > 1).all() and every.shape == (len(four.type_ids), 4)  # as funded projects


@pytest.mark.parametrize(
    ("edit", "path", "words"),
    [
        (lambda d: d["deployment"]["base_rate"]["chu"].pop("remote_monitoring"),
         "deployment.base_rate.chu", "lacks families ['remote_monitoring']"),
        (lambda d: d["potential"]["shares"]["surgeon"].pop("remote_monitoring"),
         "potential.shares.surgeon", "lacks families ['remote_monitoring']"),
        (lambda d: d["deployment"]["initial"]["chu"].update(teleporter=0.1),
         "deployment.initial.chu.teleporter", "unknown family"),
        (lambda d: d["technologies"].update(
            teleporter=copy.deepcopy(d["technologies"]["ai"])),
         "technologies", "between 1 and 4 technology families"),
        (lambda d: d["technologies"]["remote_monitoring"].update(peer=-1),
         "technologies.remote_monitoring.peer", "greater than or equal to 0"),
    ],
)  # fmt: skip
def test_family_errors_name_the_field(four_dict, edit, path, words):
    data = copy.deepcopy(four_dict)
    edit(data)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, "four.toml")
    assert any(p == path and words in m for p, m in err.value.errors), err.value.errors


def test_resolved_scenario_keeps_the_file_shape(four):
    """model_dump gives the file's shape back (families beside ``technologies.years``)."""
    dumped = four.model_dump(mode="json")
    assert "families" not in dumped["technologies"]
    assert list(dumped["technologies"])[-1] == "remote_monitoring"
    assert scenario_from_dict(dumped) == four


@pytest.mark.parametrize("core_rules", [False, True], ids=["mechanisms", "core-rules"])
def test_four_families_run_identically_on_both_engines(four, core_rules):
    """The compiled kernel follows the scenario's families as the reference does: every state
    array and every tally, bit for bit, over the whole run (with the mechanisms of version 2
    as the file has them, and with every one switched off)."""
    kw = {"scale": 0.002, "seed": 11, "agents": "none"}
    if core_rules:
        kw["overrides"] = CORE_RULES
    ref = AdoptionModel(four, engine="reference", **kw)
    cy = AdoptionModel(four, engine="cython", **kw)
    for _ in range(four.n_months):
        ref.step()
        cy.step()
        assert np.array_equal(ref.pop.state, cy.pop.state), ref.month
        assert np.array_equal(ref.pop.trained, cy.pop.trained), ref.month
        assert np.array_equal(ref.pop.skill, cy.pop.skill), ref.month
        assert np.array_equal(ref.pop.support, cy.pop.support), ref.month
    for a, b in zip(
        ref.tallies.legacy + ref.tallies.courses,
        cy.tallies.legacy + cy.tallies.courses,
        strict=True,
    ):
        assert np.array_equal(a, b)
    for a, b in zip(ref.tallies.cubes, cy.tallies.cubes, strict=True):
        assert np.array_equal(a, b)
    assert ref.indicators().equals(cy.indicators())
