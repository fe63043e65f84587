"""Effect sizes are priors with sources; draws are seeded Latin hypercubes; an intervention can
carry its own effect values (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

from adoption_abm import AdoptionModel, load_scenario
from adoption_abm.policies.catalogue import INFORMATION_BOUND, SHIFT_CHANNELS, catalogue
from adoption_abm.policies.priors import apply_draw, central, draw_values, priors
from adoption_abm.policies.schedule import PolicySchedule
from adoption_abm.scenario.errors import ScenarioError
from adoption_abm.scenario.interventions import validate_interventions


def test_every_effect_is_a_sourced_prior_and_every_proposal_is_priced():
    cat = catalogue()
    for n, p in cat.proposals.items():
        assert p.activity.strip() and p.activities, n
        for e in p.effects:
            assert e.low <= e.value <= e.high, (n, e.channel)
            assert e.source.strip(), (n, e.channel)
        for a in p.activities:
            assert a.source.strip() and a.low <= a.unit_cost <= a.high, (n, a.kind)
        # what the programme units cost fits in the ceiling
        assert p.fixed_cost() <= p.cost + 1e-9, n
        if any(e.buys for e in p.effects):  # a proposal that buys courses or projects prices them
            kinds = {a.kind for a in p.activities}
            assert {e.buys for e in p.effects if e.buys} <= kinds, n
    for kind in ("courses", "projects", "mentoring_hours"):
        assert cat.units[kind].source.strip()
    assert 0 < cat.discounting.rate < 0.1 and cat.discounting.source.strip()


def test_information_only_proposals_are_bounded_by_what_information_can_do():
    cat = catalogue().proposals
    info = [n for n, p in cat.items() if p.information_only]
    assert info == [5, 10, 11]
    for n in info:
        for e in cat[n].effects:
            if e.channel not in SHIFT_CHANNELS:
                assert abs(e.low) <= INFORMATION_BOUND and abs(e.high) <= INFORMATION_BOUND
    # the bound is enforced: a wider prior is refused
    from adoption_abm.policies.catalogue import Proposal

    data = cat[10].model_dump()
    data["effects"][0]["high"] = 0.2
    with pytest.raises(ValueError, match="exceeds what information can do"):
        Proposal.model_validate(data)


def test_latin_hypercube_draws_are_seeded_and_stratified():
    pr = priors([6, 10])
    assert [p.name for p in pr] == ["p6.e0.training", "p6.e1.reach", "p10.e0.adoption"]
    a, b = draw_values(pr, 20, seed=7), draw_values(pr, 20, seed=7)
    assert np.array_equal(a, b) and not np.array_equal(a, draw_values(pr, 20, seed=8))
    for j, p in enumerate(pr):
        assert (a[:, j] >= p.low).all() and (a[:, j] <= p.high).all()
        # one draw in each of the 20 equal-probability strata of the prior
        u = np.array([_cdf(p, x) for x in a[:, j]])
        assert sorted(np.floor(u * 20).astype(int)) == list(range(20))


def _cdf(p, x):
    a, c, b = p.low, p.value, p.high
    if p.distribution == "uniform":
        return (x - a) / (b - a)
    return (x - a) ** 2 / ((b - a) * (c - a)) if x <= c else 1 - (b - x) ** 2 / ((b - a) * (b - c))


def test_a_draw_is_carried_by_the_interventions():
    sc = load_scenario("france-2022")
    pr = priors([6, 7])
    row = central(pr).copy()
    row[0] = 1.0  # training effect of #6 at its high end
    ivs = apply_draw([{"proposal": 6}, {"proposal": 7}, {"proposal": 12}], pr, row)
    assert ivs[0]["effects"] == [1.0, 0.3] and ivs[1]["effects"] == [2.0, 0.5]
    assert "effects" not in ivs[2]  # not drawn: the central values
    late = sc.policy_start_month + 60
    lv = PolicySchedule(sc, ivs[:1]).levers_at(late)
    assert lv.agent_effects[0].training == pytest.approx(2.0)
    # the central values as explicit effects give the very same run
    a = AdoptionModel(seed=2, scale=0.003, agents="none", interventions=[{"proposal": 6}])
    b = AdoptionModel(
        seed=2, scale=0.003, agents="none", interventions=[{"proposal": 6, "effects": [0.5, 0.3]}]
    )
    a.run(months=80), b.run(months=80)
    assert np.array_equal(a.tallies.cubes[-1], b.tallies.cubes[-1])


def test_bad_effect_values_name_the_field():
    sc = load_scenario("france-2022")
    with pytest.raises(ScenarioError, match=r"interventions\.0\.effects.*has 2 effects"):
        validate_interventions(sc, [{"proposal": 6, "effects": [0.5]}])
    with pytest.raises(ScenarioError, match=r"support.*\(-1, 0\]"):
        validate_interventions(sc, [{"proposal": 13, "effects": [0.5, 0.1, 0.1]}])


def test_unit_costs_are_priors_too_and_price_the_same_activity():
    """A drawn unit cost prices the activity of the run: at twice the course cost, with a
    ceiling that does not bind, the same courses are bought and cost twice as much."""
    from adoption_abm.analysis.costs import run_costs

    pr = priors([6], unit_costs=True)
    assert [p.name for p in pr] == ["p6.e0.training", "p6.e1.reach", "u.courses"]
    u = pr[-1]
    assert (u.low, u.value, u.high) == (700.0, 1000.0, 2000.0)
    runs = {}
    for unit in (1000.0, 2000.0):
        iv = {"proposal": 6, "cost": 500.0, "unit_costs": {"courses": unit}}
        m = AdoptionModel(seed=4, scale=0.004, agents="none", interventions=[iv]).run(months=120)
        runs[unit] = run_costs(m)
    assert np.array_equal(runs[1000.0]["courses_bought"], runs[2000.0]["courses_bought"])
    assert runs[2000.0]["spend"].sum() == pytest.approx(2 * runs[1000.0]["spend"].sum())
    sc = load_scenario("france-2022")
    with pytest.raises(ScenarioError, match=r"unit_costs\.projects.*buys no projects"):
        validate_interventions(sc, [{"proposal": 6, "unit_costs": {"projects": 1.0}}])
