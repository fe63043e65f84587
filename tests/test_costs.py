"""Costs follow activity, capacities bind, spending is discounted (issue 12).

Statistical checks use fixed seeds and tolerances from the counts: courses and projects are
sums of many Bernoulli draws, so their standard deviation is at most the square root of their
mean (Poisson bound); a check allows four of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adoption_abm import AdoptionModel, load_scenario
from adoption_abm.analysis.costs import run_costs
from adoption_abm.policies.catalogue import catalogue
from adoption_abm.policies.schedule import PolicySchedule
from adoption_abm.scenario.calendar import month_index

SCALE = 0.01


def run(interventions=(), seed=3, overrides=None, end_year=2032):
    ov = {"end_year": end_year, **(overrides or {})}
    return AdoptionModel(
        seed=seed, scale=SCALE, agents="none", interventions=list(interventions), overrides=ov
    ).run()


@pytest.fixture(scope="module")
def six():
    return run([{"proposal": 6}])


def test_spending_is_activity_times_unit_cost(six):
    sched = six.policy
    act = six.activity.arrays()
    spend = sched.spending(act, six.scale)
    unit = catalogue().units["courses"].unit_cost
    np.testing.assert_allclose(spend["courses"][:, 0], act["bought"][:, 0] / SCALE * unit / 1e6)
    assert act["bought"].sum() > 0
    # halving the courses bought halves #6's training cost, month by month
    half = dict(act, bought=act["bought"] / 2)
    np.testing.assert_allclose(sched.spending(half, SCALE)["courses"], spend["courses"] / 2)
    # #6 is courses only: no programme, no projects; spending stays within its ceiling
    assert spend["programme"].sum() == 0 and spend["projects"].sum() == 0
    assert (
        spend["total"][:, 0] <= sched.budget_by_intervention(len(act["courses"]) - 1)[:, 0] + 1e-12
    ).all()


def test_a_lower_budget_buys_fewer_courses_and_costs_less():
    """With a ceiling below what the policy wants to buy, the budget binds: half the ceiling
    buys about half the courses, and each course still costs its unit cost."""
    unit = catalogue().units["courses"].unit_cost
    out = {}
    for ceiling in (8.0, 4.0):  # the central case wants about 35 M€ of courses a year
        m = run([{"proposal": 6, "cost": ceiling}])
        a = m.activity.arrays()
        c = run_costs(m)
        assert (a["funded"][a["bought"][:, 0] > 0] < 1).any()  # the budget binds
        out[ceiling] = (a["bought"][:, 0].sum(), c["spend"].sum())
        assert c["spend"].sum() == pytest.approx(a["bought"][:, 0].sum() / SCALE * unit / 1e6)
    (b8, s8), (b4, s4) = out[8.0], out[4.0]
    assert s4 < s8
    sd = 0.5 * math.sqrt(1 / b4 + 1 / b8)  # Poisson bound on the ratio's sd
    assert b4 / b8 == pytest.approx(0.5, abs=4 * sd + 0.02)


def test_a_binding_trainer_capacity_caps_courses():
    """Capacity 50 courses a year per 1,000 professionals is below what #6 makes people want:
    in the months it binds, courses delivered stay within the capacity (plus Poisson noise),
    and without the limit more are delivered."""
    capped = run([{"proposal": 6}], overrides={"behaviour.training_capacity": 50.0})
    free = run([{"proposal": 6}], overrides={"behaviour.training_capacity": 1e6})
    a, b = capped.activity.arrays(), free.activity.arrays()
    binding = a["served"] < 1.0
    assert binding.sum() >= 24
    cap = a["capacity"][binding].sum()
    delivered = a["courses"][binding].sum()
    assert delivered <= cap + 4 * math.sqrt(cap)
    assert b["courses"][binding].sum() > delivered + 4 * math.sqrt(cap)
    # the capacity raised by proposal 3 (+15 % after its ramp) delivers more
    three = run([{"proposal": 6}, {"proposal": 3}], overrides={"behaviour.training_capacity": 50.0})
    c = three.activity.arrays()
    late = np.arange(len(c["capacity"])) >= len(c["capacity"]) - 24
    assert (c["capacity"][late] > a["capacity"][late] * 1.1).all()


def test_a_capacity_that_does_not_bind_changes_nothing():
    """The baseline's demand stays below france-2022's capacity: the run equals one with no
    limit, bit for bit."""
    a = run(end_year=2030)
    b = run(end_year=2030, overrides={"behaviour.training_capacity": 1e9})
    assert (a.activity.arrays()["served"] == 1.0).all()
    for x, y in zip(a.tallies.cubes, b.tallies.cubes, strict=True):
        assert np.array_equal(x, y)


def test_projects_are_funded_within_the_budget():
    m = run([{"proposal": 12}], end_year=2034)
    a = m.activity.arrays()
    c = run_costs(m)
    unit = catalogue().units["projects"].unit_cost
    assert a["projects"].sum() > 0
    assert c["spend_projects"].sum() == pytest.approx(a["projects"].sum() / SCALE * unit / 1e6)
    # funds accrue monthly and carry over up to a year: never more than the ceilings to date
    assert np.all(np.cumsum(c["spend"]) <= np.cumsum(c["budget"]) + 1e-9)


def test_information_fades_and_is_paid_only_while_funded():
    sc = load_scenario("france-2022")
    s = PolicySchedule(sc, [{"proposal": 10}])
    start = sc.policy_start_month
    budget = s.budget_by_month()
    assert budget[start : start + 24].sum() == pytest.approx(2.0 * 2)
    assert budget[start + 24 :].sum() == 0
    # fully in force in the second year, fading over the two years after funding ends
    amp = [sum(a for _, _, a in s.amplitudes(m)) for m in (start + 23, start + 36, start + 48)]
    assert amp[0] == pytest.approx(0.01)
    assert 0 < amp[1] < amp[0]
    assert amp[2] == 0 and s.levers_at(start + 48) is s.levers_at(0)


def test_discounting_at_the_catalogue_rate():
    sc = load_scenario("france-2022")
    s = PolicySchedule(sc, [{"proposal": 6}])
    f = s.discount_factors()
    r = catalogue().discounting.rate
    base = int(sc.policy_start[:4])
    m = month_index(sc.start_year, f"{base + 3}-07")  # middle of July, three years on
    assert f[m] == pytest.approx((1 + r) ** -(3 + 6.5 / 12))
    assert np.all(np.diff(f) < 0)


def test_cost_per_fte_year_is_cumulative_discounted_cost_over_fte_years():
    from adoption_abm.analysis.compare import compare

    cmp = compare("france-2022", ["baseline", "19"], replications=2, scale=0.004, workers=1)
    import polars as pl

    row = cmp.cost.filter(
        (pl.col("policy").cast(pl.String) == "19") & (pl.col("year") == 2035)
    ).row(0, named=True)
    assert row["cumulative_discounted_cost_meur"] < row["cumulative_cost_meur"]
    assert row["cost_per_fte_year_keur"] == pytest.approx(
        row["cumulative_discounted_cost_meur"] * 1000 / row["fte_years_diff"]
    )
    # a facilitator programme (120 M€) plus the courses bought, within the 160 M€ ceiling
    assert row["programme_meur"] == pytest.approx(120.0)
    assert 0 < row["courses_meur"] <= 40.0
    assert row["cost_meur"] <= row["budget_meur"] + 1e-9


def test_the_compiled_demand_sums_equal_the_rules_and_engines_agree_when_limits_bind():
    """``_kernels.training_demand`` is the exact twin of ``rules.supply.training_demand``
    (integer sums), so the reference and compiled engines stay bit-identical when budgets and
    trainers limit the courses."""
    from adoption_abm.engines import _kernels
    from adoption_abm.rules.supply import training_demand

    m = AdoptionModel(seed=5, scale=0.003, agents="none", interventions=[{"proposal": 6}])
    m.run(months=90)
    rng = np.random.default_rng(1)
    p, e = m.pop, m.est
    for _ in range(5):
        free = (p.train_prob * rng.random(p.n).astype(np.float32)).astype(np.float32)
        args = (p.state, p.trained, e.deployed, p.establishment, p.train_prob, free)
        assert _kernels.training_demand(*args) == training_demand(*args)
    ivs = [{"proposal": 6, "cost": 3.0}]  # both the budget and the trainers bind
    ov = {"end_year": 2031, "behaviour.training_capacity": 50.0}
    runs = [
        AdoptionModel(
            seed=6, scale=0.003, agents="none", interventions=ivs, overrides=ov, engine=engine
        ).run()
        for engine in ("cython", "reference")
    ]
    a, b = (r.activity.arrays() for r in runs)
    assert (a["served"] < 1).any() and (a["funded"] < 1).any()
    for key in ("courses", "bought", "served", "funded"):
        assert np.array_equal(a[key], b[key]), key
    for x, y in zip(runs[0].tallies.cubes, runs[1].tallies.cubes, strict=True):
        assert np.array_equal(x, y)
