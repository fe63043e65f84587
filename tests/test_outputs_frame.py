"""Outputs in the seed's frame (gain over today, real dates, breakdowns) and policy timing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from adoption_abm import AdoptionModel
from adoption_abm.scenario import ScenarioError, load_scenario, with_overrides
from adoption_abm.scenario.calendar import age_band_keys, calendar_columns

TINY = 0.004


@pytest.fixture(scope="module")
def run():
    return AdoptionModel(seed=5, scale=TINY, agents="none").run()


def test_calendar_columns():
    cols = calendar_columns(2022, np.array([0, 1, 12, 13, 228]))
    assert cols["year"].tolist() == [2022, 2022, 2022, 2023, 2040]
    assert cols["month_of_year"].tolist() == [0, 1, 12, 1, 12]
    assert cols["initial"].tolist() == [True, False, False, False, False]
    assert [str(d) for d in cols["date"]] == [
        "2022-01-01", "2022-01-01", "2022-12-01", "2023-01-01", "2040-12-01",
    ]  # fmt: skip
    assert age_band_keys([30, 40, 50, 60]) == ["under_30", "30_39", "40_49", "50_59", "60_plus"]


def test_frames_carry_dates_and_integer_years(run):
    ind, ts = run.indicators(), run.timeseries()
    for frame in (ind, ts, run.breakdown()):
        assert frame.schema["date"] == pl.Date and frame.schema["year"] == pl.Int32
    assert ind.filter(pl.col("year") == 2030)["month_of_year"].to_list() == list(range(1, 13))
    assert ind.filter(pl.col("initial")).height == 1 and ind["initial"][0]
    assert ind["month"].to_list() == list(range(run.n_months + 1))  # no month twice


def test_realised_gain_is_over_the_initial_state(run):
    ind = run.indicators()
    for k in ("all", "medical", "non_medical"):
        gain = ind[f"realised_gain_{k}"].to_numpy()
        assert gain[0] == 0.0
        np.testing.assert_array_equal(gain, ind[f"realised_{k}"] - ind[f"realised_{k}"][0])
    s = run.summary()["2030"]
    assert s["realised_gain"]["all"] == pytest.approx(s["realised"]["all"] - ind["realised_all"][0])
    assert 0 < s["realised_gain"]["all"] < s["realised"]["all"]  # the model starts above zero


def test_breakdowns_add_up_to_the_whole(run):
    """Persons-weighted, the age bands' (and the types') realised shares average to the
    realised gain of all eight professions (weighted by the agents' persons, not headcounts)."""
    out = run.outputs()
    m = out.year_month(2030)
    realised_p = out.by_profession()["realised"][m]
    persons = out.n_agents * out.weight  # = headcounts
    whole = realised_p @ persons / persons.sum()
    heads = out.cube[m][..., 0, :].sum(axis=-1)  # (P, B, T)
    for axis, other in (("age", 2), ("establishment", 1)):
        shares = out.group_shares(axis)["realised"][m]
        group_persons = (heads * out.weight[:, None, None]).sum(axis=(0, other))
        ok = group_persons > 0
        assert np.dot(shares[ok], group_persons[ok]) / group_persons.sum() == pytest.approx(whole)
    s = run.summary()["2030"]
    assert list(s["by_age_band"]) == age_band_keys(run.inputs.indicators.age_bands)
    assert list(s["by_establishment_type"]) == run.inputs.type_ids
    for group in (*s["by_age_band"].values(), *s["by_establishment_type"].values()):
        assert set(group) == {"adoption", "mastery", "realised"}
        assert 0 <= group["mastery"] <= group["adoption"] <= 1


def test_a_policy_from_2027_leaves_2022_2026_as_the_baseline():
    base = AdoptionModel(seed=8, scale=TINY, agents="none")
    pol = AdoptionModel(seed=8, scale=TINY, agents="none", interventions=[{"proposal": 6}])
    start = pol.inputs.policy_start_month
    assert pol.inputs.policy_start == "2027-01" and start == 61
    for _ in range(start + 24):
        base.step()
        pol.step()
        if pol.month < start:  # the policy's month itself already differs
            assert np.array_equal(base.pop.state, pol.pop.state), pol.month
            assert np.array_equal(base.tallies.cubes[-1], pol.tallies.cubes[-1]), pol.month
    assert not np.array_equal(base.pop.train_prob, pol.pop.train_prob)
    b, p = base.indicators(), pol.indicators()
    before = pl.col("date") < pl.date(2027, 1, 1)
    assert b.filter(before).equals(p.filter(before))
    assert not b.equals(p)


def test_policy_start_is_checked_and_moves_the_default():
    sc = load_scenario()
    with pytest.raises(ScenarioError) as err:
        with_overrides(sc, {"policy_start": "2021-06"})
    field, message = err.value.errors[0]
    assert field == "policy_start" and "before the first simulated month 2022-01" in message
    short = with_overrides(sc, {"end_year": 2025})  # policy_start 2027: fine without policies
    with pytest.raises(ScenarioError) as err:
        with_overrides(short, {"interventions": [{"proposal": 6}]})
    field, message = err.value.errors[0]
    assert field == "interventions.0.start" and "give a start" in message
    with_overrides(short, {"interventions": [{"proposal": 6, "start": "2024-01"}]})
    early = with_overrides(sc, {"policy_start": "2024-01"})
    from adoption_abm.policies.schedule import PolicySchedule

    sched = PolicySchedule(early, [{"proposal": 12}])
    assert sched.levers_at(24) is sched.levers_at(0)  # neutral in December 2023
    assert sched.levers_at(25 + 12 + 12).deployment_bought.max() > 1  # on once its lag has passed
    with pytest.raises(ScenarioError, match="outside the simulated months"):
        with_overrides(sc, {"interventions": [{"proposal": 6, "start": "2021-12"}]})
