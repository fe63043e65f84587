"""The twenty proposals as levers: each moves what its mechanism claims, intensity 0 is the
baseline bit for bit, interventions compose, bad interventions give clear errors.

Statistical tests use common random numbers: replication ``r`` runs the baseline and the policy
with the same seed (policies change hazards, never the number of draws), and assert that the
one-sided 99 % lower bound of the mean paired difference, ``mean(d) - t(0.99, n-1) sd(d)/√n``,
is above zero in the claimed direction.
"""

from __future__ import annotations

import copy
import random
import tomllib

import numpy as np
import pytest
from scipy.stats import t as student_t
from typer.testing import CliRunner

from adoption_abm import AdoptionModel, load_scenario
from adoption_abm.analysis.compare import year_metrics
from adoption_abm.cli.main import app, resolved_scenario_toml
from adoption_abm.policies.catalogue import (
    PROPOSALS,
    TARGETS_BY_CHANNEL,
    allowed_targets,
    catalogue,
)
from adoption_abm.policies.parse import parse_policy
from adoption_abm.policies.schedule import PolicySchedule
from adoption_abm.rules.levers import Levers
from adoption_abm.scenario.calendar import age_band_names
from adoption_abm.scenario.errors import ScenarioError
from adoption_abm.scenario.interventions import validate_interventions
from adoption_abm.scenario.load import scenario_from_dict, with_overrides

SEEDS = range(100, 112)  # paired replications for the per-proposal tests
SCALE = 0.005
TINY = 0.003
runner = CliRunner()


@pytest.fixture(scope="module")
def sc():
    return load_scenario("france-2022")


def run(interventions=(), seed=1, scale=TINY, months=None, engine="cython", **kw):
    m = AdoptionModel(
        seed=seed,
        scale=scale,
        agents="none",
        engine=engine,
        interventions=list(interventions),
        **kw,
    )
    return m.run(months=months)


def months_to(year: int, sc) -> int:
    return (year - sc.start_year + 1) * 12


# --- the catalogue -------------------------------------------------------------------------------
def test_catalogue_has_the_twenty_proposals_with_sources_costs_and_claims():
    cat = catalogue()
    assert sorted(cat.proposals) == list(range(1, 21)) == sorted(PROPOSALS)
    for n, p in cat.proposals.items():
        assert PROPOSALS[n] == p.title
        assert p.mechanism and p.representation and p.cost_source
        assert all(e.source.strip() for e in p.effects)
        assert p.claims, n
    # the mechanisms the issue names
    channels = {n: {e.channel for e in p.effects} for n, p in cat.proposals.items()}
    assert {"training", "reach"} <= channels[6] and {"training", "reach"} <= channels[19]
    assert channels[7] == {"mentoring_take_up", "mentoring_capacity"}
    assert "deployment" in channels[12] and "deployment" in channels[13]
    assert "entry_age" in channels[2]
    assert "reinvestment" in channels[18] and "reinvestment" in channels[15]


def test_allowed_targets_are_what_every_effect_can_honour():
    for n, p in catalogue().proposals.items():
        for dim in allowed_targets(n):
            assert all(dim in TARGETS_BY_CHANNEL[e.channel] for e in p.effects)
    assert allowed_targets(6) == ("professions", "establishment_types", "age_bands")
    assert allowed_targets(12) == ("establishment_types",)
    assert allowed_targets(7) == ()


def test_age_band_names_follow_the_edges(sc):
    assert age_band_names(sc.indicators.age_bands) == ["<30", "30-40", "40-50", "50-60", ">=60"]
    assert age_band_names([25.5, 50]) == ["<25.5", "25.5-50", ">=50"]


# --- each proposal moves the outputs its mechanism claims ----------------------------------------
@pytest.fixture(scope="module")
def baseline_metrics():
    return {seed: year_metrics(run(seed=seed, scale=SCALE)) for seed in SEEDS}


@pytest.mark.slow
@pytest.mark.parametrize("number", range(1, 21))
def test_proposal_alone_moves_its_claimed_outputs(number, baseline_metrics, sc):
    prop = catalogue().proposals[number]
    last = max(c.year for c in prop.claims)
    diffs = {i: [] for i in range(len(prop.claims))}
    for seed in SEEDS:
        iv = {"proposal": number} | ({"start": prop.claims_start} if prop.claims_start else {})
        m = run([iv], seed=seed, scale=SCALE, months=months_to(last, sc))
        got = year_metrics(m)
        for i, c in enumerate(prop.claims):
            sign = 1.0 if c.direction == "up" else -1.0
            diffs[i].append(
                sign * (got[c.year][c.metric] - baseline_metrics[seed][c.year][c.metric])
            )
    n = len(SEEDS)
    for i, c in enumerate(prop.claims):
        d = np.array(diffs[i])
        bound = d.mean() - student_t.ppf(0.99, n - 1) * d.std(ddof=1) / np.sqrt(n)
        assert bound > 0, (
            f"proposal {number}: {c.metric} {c.year} {c.direction}: paired differences {d}"
        )


# --- results depend on the seed and the inputs only ----------------------------------------------
def arrays(m):
    return (
        np.stack(m.tallies.cubes),
        np.stack(m.tallies.risks),
        m.pop.state,
        m.pop.skill,
        m.pop.trained,
        m.pop.birth,
        m.est.deployed,
    )


def assert_same(a, b):
    for x, y in zip(arrays(a), arrays(b), strict=True):
        assert np.array_equal(x, y)


def test_intensity_zero_reproduces_the_baseline_bit_for_bit():
    base = run(seed=5)
    zero = [{"proposal": n, "intensity": 0.0} for n in PROPOSALS]
    zero[5]["targets"] = {"professions": ["care_assistant"], "age_bands": [">=60"]}
    assert_same(base, run(zero, seed=5))
    assert run(zero, seed=5).rng.bit_generator.state == base.rng.bit_generator.state


def test_policies_do_not_change_how_many_random_numbers_are_drawn():
    base = run(seed=6)
    every = run([{"proposal": n} for n in PROPOSALS], seed=6)
    assert not np.array_equal(np.stack(base.tallies.cubes), np.stack(every.tallies.cubes))
    assert every.rng.bit_generator.state == base.rng.bit_generator.state


def test_order_of_interventions_does_not_matter():
    ivs = [{"proposal": n, "intensity": 0.5 + n / 20} for n in PROPOSALS]
    shuffled = copy.deepcopy(ivs)
    random.Random(3).shuffle(shuffled)
    assert_same(run(ivs, seed=8, months=80), run(shuffled, seed=8, months=80))


def test_same_seed_same_result_other_seed_differs():
    ivs = [{"proposal": 6}, {"proposal": 12, "start": "2024-07"}]
    a, b, c = run(ivs, seed=9, months=60), run(ivs, seed=9, months=60), run(ivs, seed=10, months=60)
    assert_same(a, b)
    assert not np.array_equal(np.stack(a.tallies.cubes), np.stack(c.tallies.cubes))


def test_engines_agree_with_every_policy_on():
    ivs = [{"proposal": n} for n in PROPOSALS]
    ref = run(ivs, seed=2, scale=0.002, months=30, engine="reference")
    cy = run(ivs, seed=2, scale=0.002, months=30, engine="cython")
    assert_same(ref, cy)


def test_scenario_interventions_equal_model_interventions(sc):
    ivs = [{"proposal": 6, "start": "2023-01"}, {"proposal": 7}]
    data = sc.model_dump()
    data["interventions"] = ivs
    own = scenario_from_dict(data)
    assert_same(run(ivs, seed=4, months=48), run(seed=4, months=48, scenario=own))


# --- composition, timing, targets ----------------------------------------------------------------
def test_levers_compose_multiplicatively(sc):
    one = PolicySchedule(sc, [{"proposal": 16}])
    both = PolicySchedule(sc, [{"proposal": 16}, {"proposal": 19}])
    alone19 = PolicySchedule(sc, [{"proposal": 19}])
    m = 200  # every ramp done
    assert np.allclose(
        both.levers_at(m).mastery, one.levers_at(m).mastery * alone19.levers_at(m).mastery
    )
    assert len(both.levers_at(m).agent_effects) == len(alone19.levers_at(m).agent_effects) == 2
    assert np.allclose(one.levers_at(m).mastery, 1.1)


def test_combined_policies_free_more_than_each_alone(sc):
    d = []
    for seed in range(40, 46):
        six, twelve, both = (
            year_metrics(run(iv, seed=seed, months=months_to(2030, sc)))[2030]["realised_all"]
            for iv in ([{"proposal": 6}], [{"proposal": 12}], [{"proposal": 6}, {"proposal": 12}])
        )
        d.append(both - max(six, twelve))
    d = np.array(d)
    assert d.mean() - student_t.ppf(0.99, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)) > 0, d


def test_levers_follow_start_lag_ramp_and_end(sc):
    s = PolicySchedule(
        sc, [{"proposal": 6, "start": "2025-01", "end": "2030-12", "intensity": 2.0}]
    )
    start = (2025 - 2022) * 12 + 1
    neutral = s.levers_at(1)
    assert s.levers_at(start + 5) is neutral  # lag of six months
    first = s.levers_at(start + 6)
    assert first is not neutral and s.levers_at(start + 6) is first  # cached: same object
    assert first.agent_effects[0].training == pytest.approx(1 + 0.5 * 2 / 24)  # ramp over 24 months
    full = s.levers_at(start + 6 + 30)
    assert full.agent_effects[0].training == pytest.approx(2.0)
    assert full.agent_effects[1].reach == pytest.approx(0.6)
    assert s.levers_at((2031 - 2022) * 12 + 1) is neutral  # after the end
    cost = s.budget_by_year()  # the ceiling, 50 M€ at intensity 1
    assert cost[2024] == 0 and cost[2025] == pytest.approx(100.0) and cost[2031] == 0


def test_budget_ceilings_scale_with_intensity_and_can_be_given(sc):
    assert PolicySchedule(sc, [{"proposal": 12, "intensity": 0.5}]).budget_by_year()[
        2030
    ] == pytest.approx(50.0)
    assert PolicySchedule(sc, [{"proposal": 12, "cost": 7.0}]).budget_by_year()[
        2030
    ] == pytest.approx(7.0)
    study = PolicySchedule(
        sc, [{"proposal": 10, "start": "2023-07"}]
    ).budget_by_year()  # paid 24 months
    assert (
        study[2023] == pytest.approx(1.0) and study[2025] == pytest.approx(1.0) and study[2026] == 0
    )


def test_targets_restrict_per_agent_effects():
    base = AdoptionModel(seed=3, scale=TINY, agents="none")
    iv = {
        "proposal": 6,
        "start": "2022-01",  # from the first month, so that four years show the effect
        "targets": {"professions": ["care_assistant"], "age_bands": ["50-60", ">=60"]},
    }
    pol = AdoptionModel(seed=3, scale=TINY, agents="none", interventions=[iv])
    base.run(months=12 * 4)
    pol.run(months=12 * 4)
    changed = pol.pop.train_prob != base.pop.train_prob
    care = pol.pop.profession == pol.inputs.profession_ids.index("care_assistant")
    age_jan = np.floor(pol.year) - pol.pop.birth.astype(np.float64)
    assert changed.any()
    assert not (changed & ~care).any()
    assert not (changed & (age_jan < 50)).any()
    assert (pol.pop.train_prob >= base.pop.train_prob).all()


def test_establishment_targets_restrict_deployment(sc):
    s = PolicySchedule(sc, [{"proposal": 12, "targets": {"establishment_types": ["nursing_home"]}}])
    dep = s.levers_at(200).deployment_bought  # funded projects (buys = "projects")
    k = sc.type_ids.index("nursing_home")
    assert np.allclose(dep[k], 1.3) and np.allclose(np.delete(dep, k, axis=0), 1.0)


def test_disjoint_targets_may_overlap_in_time(sc):
    ivs = [
        {"proposal": 6, "targets": {"professions": ["care_assistant"]}, "intensity": 2.0},
        {"proposal": 6, "targets": {"professions": ["hospital_nurse"]}},
    ]
    assert len(validate_interventions(sc, ivs)) == 2


def test_mentoring_and_entrant_levers(sc):
    later = sc.policy_start_month + 99  # past every lag and ramp
    lv = PolicySchedule(sc, [{"proposal": 7}]).levers_at(later)
    assert lv.mentoring_take_up == pytest.approx(3.0)
    assert lv.mentoring_capacity == pytest.approx(1.5)
    half = PolicySchedule(sc, [{"proposal": 7, "intensity": 0.5}]).levers_at(later)
    assert half.mentoring_take_up == pytest.approx(2.0)
    assert half.mentoring_capacity == pytest.approx(1.25)
    lv1 = PolicySchedule(sc, [{"proposal": 1}]).levers_at(sc.policy_start_month + 110)  # lag 108
    assert np.allclose(lv1.entrant_exposure, 0.15)
    lv15 = PolicySchedule(sc, [{"proposal": 15}, {"proposal": 18}]).levers_at(later)
    medical = np.array([p.group == "medical" for p in sc.professions.values()])
    assert np.allclose(lv15.task_opening[~medical], 0.8)
    assert np.allclose(lv15.task_opening[medical], 0.3)
    assert PolicySchedule(sc, [{"proposal": 19}]).levers_at(later).support == pytest.approx(0.7)
    lv2 = PolicySchedule(sc, [{"proposal": 2}]).levers_at(later)
    medical = np.array([p.group == "medical" for p in sc.professions.values()])
    assert np.allclose(lv2.entry_age_shift[medical], -2.0) and np.allclose(
        lv2.entry_age_shift[~medical], 0.0
    )


def test_reinvestment_shares(sc):
    base = PolicySchedule(sc, []).reinvestment(24)
    medical = np.array([p.group == "medical" for p in sc.professions.values()])
    assert np.allclose(base[:, medical], 0.8) and np.allclose(base[:, ~medical], 0.6)
    r = PolicySchedule(sc, [{"proposal": 15}, {"proposal": 18}]).reinvestment()
    assert np.allclose(r[-1, ~medical], 0.6 + 0.15 + 0.10) and np.allclose(r[-1, medical], 0.9)
    assert np.allclose(r[1], base[1])


def test_neutral_levers_are_neutral():
    lv = Levers.neutral(3, 2, 3)
    assert lv.training_boost == 1.0 and lv.agent_effects == ()
    assert lv.mentoring_take_up == lv.mentoring_capacity == lv.support == 1.0
    assert lv.entrant_exposure is None and lv.task_opening is None


# --- parse_policy --------------------------------------------------------------------------------
def test_parse_policy(sc):
    assert parse_policy("baseline", sc) == [] == parse_policy(" none ", sc)
    assert [iv["proposal"] for iv in parse_policy("all", sc)] == list(range(1, 21))
    assert parse_policy("6,7", sc) == [{"proposal": 6}, {"proposal": 7}] == parse_policy("6+7", sc)
    assert parse_policy("6@2025-01x0.5, 12", sc) == [
        {"proposal": 6, "start": "2025-01", "intensity": 0.5},
        {"proposal": 12},
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("abc", ["unknown proposal", "1-20"]),
        ("21", ["unknown proposal '21'"]),
        ("6x", ["bad intensity"]),
        ("6@2025-13", ["start"]),
        ("6@2019-01", ["outside the simulated months"]),
        ("6x9", ["intensity"]),
        ("6,6", ["already in force"]),
    ],
)
def test_parse_policy_errors(sc, text, words):
    with pytest.raises(ValueError) as err:
        parse_policy(text, sc)
    for w in words:
        assert w in str(err.value)


# --- validation ----------------------------------------------------------------------------------
def with_interventions(base_dict, ivs):
    data = copy.deepcopy(base_dict)
    data["interventions"] = ivs
    return data


@pytest.mark.parametrize(
    ("ivs", "path", "words"),
    [
        ([{"proposal": 21}], "interventions.0.proposal", ["unknown proposal 21", "1-20"]),
        ([{"proposal": "6"}], "interventions.0.proposal", ["integer"]),
        ([{"proposal": 6, "start": "2024-13"}], "interventions.0.start", ["pattern"]),
        (
            [{"proposal": 6, "start": "2019-01"}],
            "interventions.0.start",
            ["outside", "2022-01", "2040-12"],
        ),
        ([{"proposal": 6, "end": "2041-01"}], "interventions.0.end", ["outside"]),
        (
            [{"proposal": 6, "start": "2026-01", "end": "2025-12"}],
            "interventions.0.end",
            ["before start"],
        ),
        (
            [{"proposal": 6, "intensity": -1}],
            "interventions.0.intensity",
            ["greater than or equal to 0"],
        ),
        (
            [{"proposal": 6, "intensity": 6}],
            "interventions.0.intensity",
            ["less than or equal to 5"],
        ),
        ([{"proposal": 6, "level": 1}], "interventions.0.level", ["unknown field"]),
        (
            [{"proposal": 6, "targets": {"professions": ["dentist"]}}],
            "interventions.0.targets.professions",
            ["dentist", "surgeon"],
        ),
        (
            [{"proposal": 6, "targets": {"age_bands": ["20-30"]}}],
            "interventions.0.targets.age_bands",
            ["'<30'"],
        ),
        (
            [{"proposal": 6, "targets": {"establishment_types": []}}],
            "interventions.0.targets.establishment_types",
            ["at least one"],
        ),
        (
            [{"proposal": 12, "targets": {"professions": ["surgeon"]}}],
            "interventions.0.targets.professions",
            ["cannot be restricted", "establishment_types"],
        ),
        (
            [{"proposal": 7, "targets": {"age_bands": ["<30"]}}],
            "interventions.0.targets.age_bands",
            ["allowed targets: none"],
        ),
        (
            [{"proposal": 6}, {"proposal": 6, "start": "2030-01"}],
            "interventions.1",
            ["already in force", "interventions.0"],
        ),
        (
            [
                {"proposal": 6, "targets": {"professions": ["surgeon", "radiologist"]}},
                {"proposal": 6, "targets": {"professions": ["radiologist"]}},
            ],
            "interventions.1",
            ["already in force"],
        ),
    ],
)
def test_bad_interventions_name_the_file_and_field(tmp_path, base_dict, ivs, path, words):
    import tomli_w

    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps(with_interventions(base_dict, ivs)))
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert any(p == path for p, _ in err.value.errors), err.value.errors
    text = str(err.value)
    assert str(bad) in text
    for w in words:
        assert w in text
    res = runner.invoke(app, ["validate", str(bad)])
    assert res.exit_code == 2 and path in res.output and "Traceback" not in res.output


def test_non_overlapping_periods_are_fine(sc, base_dict):
    ivs = [{"proposal": 6, "end": "2027-12"}, {"proposal": 6, "start": "2028-01", "intensity": 2.0}]
    assert len(scenario_from_dict(with_interventions(base_dict, ivs)).interventions) == 2


def test_model_interventions_are_validated_with_the_field():
    with pytest.raises(ScenarioError) as err:
        AdoptionModel(seed=1, scale=TINY, interventions=[{"proposal": 6, "intensity": "high"}])
    assert err.value.errors[0][0] == "interventions.0.intensity"


def test_interventions_round_trip_through_toml_and_overrides(sc, base_dict):
    ivs = [
        {
            "proposal": 6,
            "start": "2024-01",
            "targets": {"professions": ["care_assistant"]},
            "cost": 12.5,
        },
        {"proposal": 7},
    ]
    s = scenario_from_dict(with_interventions(base_dict, ivs))
    again = scenario_from_dict(tomllib.loads(resolved_scenario_toml(s)))
    assert again == s
    assert with_overrides(s, {"interventions.0.intensity": 2.0}).interventions[0].intensity == 2.0
    assert with_overrides(sc, {"interventions": ivs}).interventions == s.interventions


def test_cli_run_with_policies(tmp_path):
    res = runner.invoke(
        app,
        [
            "run",
            "--scale",
            "0.002",
            "--policy",
            "6,7",
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    bad = runner.invoke(
        app, ["run", "--scale", "0.002", "--policy", "6@2050-01", "--out", str(tmp_path / "b")]
    )
    assert (
        bad.exit_code == 2
        and "outside the simulated months" in bad.output
        and "Traceback" not in bad.output
    )


def test_proposals_command_lists_the_catalogue():
    res = runner.invoke(app, ["proposals"])
    assert res.exit_code == 0
    assert res.output.count("M€/yr") == 20 and "targets: establishment_types" in res.output


def test_docs_embed_the_current_catalogue():
    from pathlib import Path

    from adoption_abm.policies.catalogue import catalogue_markdown

    docs = (Path(__file__).resolve().parents[1] / "docs" / "POLICIES.md").read_text()
    assert catalogue_markdown() in docs, (
        "run: python experiments/policy_table.py report/proposals --docs"
    )
