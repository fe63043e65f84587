"""Fork at the policy start: the months before a policy are simulated once per seed, and every
policy continues from a copy, with results bit-identical to runs from scratch (issue 13).

``AdoptionModel.fork`` is checked for every proposal alone, all twenty together and a draw of
the priors; ``compare`` and the optimiser's evaluator, which group their runs by seed, are
checked against runs one by one."""

from __future__ import annotations

import numpy as np
import pytest

from adoption_abm import AdoptionModel, load_scenario
from adoption_abm.analysis.compare import compare
from adoption_abm.analysis.runs import (
    RunSpec,
    group_specs,
    monthly_metrics,
    run_group,
    run_one,
    shared_months,
)
from adoption_abm.model.prefix import PrefixCache
from adoption_abm.policies.catalogue import catalogue
from adoption_abm.policies.priors import apply_draw, draw_values, priors
from adoption_abm.policies.schedule import PolicySchedule
from adoption_abm.scenario.load import with_overrides

SCALE = 0.003
SEED = 11


@pytest.fixture(scope="module")
def short():
    return with_overrides(load_scenario("france-2022"), {"end_year": 2030})


def model(sc, interventions=(), seed=SEED):
    return AdoptionModel(
        sc, scale=SCALE, agents="none", interventions=list(interventions), seed=seed
    )


def assert_same_run(a: AdoptionModel, b: AdoptionModel) -> None:
    """Everything a run records, and its final state, bit for bit."""
    assert a.month == b.month
    for name in a.tallies._fields:
        xs, ys = getattr(a.tallies, name), getattr(b.tallies, name)
        assert len(xs) == len(ys), name
        for m, (x, y) in enumerate(zip(xs, ys, strict=True)):
            assert np.array_equal(x, y), f"{name}, month {m}"
    for col in ("state", "skill", "trained", "birth", "attitude", "support", "resist"):
        assert np.array_equal(getattr(a.pop, col), getattr(b.pop, col)), col
    assert np.array_equal(a.est.deployed, b.est.deployed)
    for k, v in a.activity.arrays().items():
        assert np.array_equal(v, b.activity.arrays()[k], equal_nan=True), k
    ma, mb = monthly_metrics(a), monthly_metrics(b)
    for k in ma:
        assert np.array_equal(ma[k], mb[k], equal_nan=True), k
    assert a.rng.bit_generator.state == b.rng.bit_generator.state  # the same draws taken


def policy_sets(sc):
    proposals = sorted(catalogue().proposals)
    sets = {f"p{p}": [{"proposal": p}] for p in proposals}
    sets["all"] = [{"proposal": p} for p in proposals]
    sets["6,13 from 2028, x1.5"] = [
        {"proposal": 6, "start": "2028-01", "intensity": 1.5},
        {"proposal": 13, "start": "2028-01"},
    ]
    plist = priors(proposals, unit_costs=True)
    draw = draw_values(plist, 3, seed=5)[2]
    sets["all, a draw of the priors"] = apply_draw(sets["all"], plist, draw)
    return sets


def test_fork_is_bit_identical_for_every_proposal(short):
    sets = policy_sets(short)
    first = min(PolicySchedule(short, ivs).first_month_in_force() for ivs in sets.values())
    assert 1 < first <= short.n_months  # the proposals start after the scenario does
    prefix = model(short).run(first - 1)
    for label, ivs in sets.items():
        direct = model(short, ivs).run()
        forked = prefix.fork(ivs).run()
        assert_same_run(direct, forked)
        assert forked.policy.interventions == direct.policy.interventions, label
    assert prefix.month == first - 1  # forking leaves the prefix where it was
    assert_same_run(prefix.fork().run(), model(short).run())  # the baseline continued


def test_fork_refuses_once_a_policy_is_in_force(short):
    early = [{"proposal": 6, "start": "2022-06"}]
    first = PolicySchedule(short, early).first_month_in_force()
    assert first >= 6  # starts in June (or after, with a lag)
    with pytest.raises(ValueError, match=f"in force from month {first}"):
        model(short).run(first).fork(early)
    model(short).run(first - 1).fork(early)  # the month before: fine
    with pytest.raises(ValueError, match="this model's interventions"):
        model(short, early).run(first).fork([])
    with pytest.raises(ValueError, match="proposal"):  # a bad intervention is named
        model(short).fork([{"proposal": 99}])


def spec(sc, policy, ivs, seed=SEED, draw=-1):
    return RunSpec(sc, policy, 0, seed, tuple(ivs), "central", SCALE, "cython", (2030,), draw)


def test_groups_share_the_months_before_their_earliest_policy(short):
    def first(ivs):
        return PolicySchedule(short, ivs).first_month_in_force()

    six, seven = [{"proposal": 6}], [{"proposal": 7, "start": "2025-01"}]
    specs = [spec(short, 0, []), spec(short, 1, six)]
    assert shared_months(specs) == first(six) - 1 >= short.policy_start_month - 1
    specs.append(spec(short, 2, seven))
    assert 36 <= shared_months(specs) == first(seven) - 1 < first(six) - 1  # from 2025-01 on
    assert shared_months(specs[:1]) == 0  # alone: nothing to share
    # from 2022-01, 7's six-month lag still leaves its first six months to share
    assert shared_months([*specs, spec(short, 3, [{"proposal": 7, "start": "2022-01"}])]) == 6
    grouped = group_specs([spec(short, p, [], seed=s) for s in (1, 2) for p in range(5)], 4)
    assert sorted(len(g) for g in grouped) == [2, 2, 3, 3]
    assert all(len({x.seed for x in g}) == 1 for g in grouped)  # one seed per group
    assert sorted((x.seed, x.policy) for g in grouped for x in g) == [
        (s, p) for s in (1, 2) for p in range(5)
    ]


def test_a_group_gives_what_runs_one_by_one_give(short):
    specs = (
        spec(short, 0, []),
        spec(short, 1, [{"proposal": 13}]),
        spec(short, 2, [{"proposal": 6, "start": "2026-01"}]),
    )
    cache = PrefixCache(size=1)
    assert cache.get(short, SEED, 30, scale=SCALE).month == 30
    longer = cache.get(short, SEED, 40, scale=SCALE)  # continued from the cached 30 months
    assert_same_run(longer, model(short).run(40))
    grouped = run_group(specs)
    for s, got in zip(specs, grouped, strict=True):
        alone = run_one(s)
        assert got["years"] == alone["years"]
        for k, v in alone["monthly"].items():
            assert np.array_equal(v, got["monthly"][k], equal_nan=True), k
        assert got["costs"].keys() == alone["costs"].keys()
        for k, v in alone["costs"].items():
            assert np.array_equal(np.asarray(v), np.asarray(got["costs"][k]), equal_nan=True), k


@pytest.mark.parametrize("workers", [1, 2])
def test_compare_with_and_without_fork(short, workers):
    kw = {"replications": 2, "seed": 3, "scale": 0.002, "workers": workers, "assumptions": 2}
    policies = ["6,7", "13", "10@2025-01"]
    forked = compare(short, policies, **kw)
    apart = compare(short, policies, fork=False, **kw)
    for name, frame in forked.frames().items():
        assert frame.equals(apart.frames()[name]), name


def test_batch_runs_of_one_replicate_share_their_months(short, tmp_path, monkeypatch):
    """A batch varying the policy with common random numbers groups each replicate's policies
    in a chunk, which forks them from one prefix: every run's figures equal those of the same
    run from scratch (``batch.params.run``)."""
    from adoption_abm.batch import experiment_from_dict, read_results, run_batch, runner
    from adoption_abm.batch.params import run

    calls = []
    real = runner.shared_starts
    monkeypatch.setattr(runner, "shared_starts", lambda runs: calls.append(r := real(runs)) or r)
    base = {"scale": SCALE, "end_year": 2030}
    exp = experiment_from_dict(
        {
            "name": "fork",
            "root_seed": 4,
            "replications": 2,
            "common_random_numbers": True,
            "chunk_size": 3,
            "base": base,
            "parameters": {"policy": {"values": ["baseline", "6,7", "13"]}},
        }
    )
    report = run_batch(exp, tmp_path, workers=1)
    assert report.failed == 0 and report.computed == 6
    assert [len(c) for c in calls] == [3, 3]  # each chunk: one replicate, all three forked
    out = read_results(tmp_path)
    for row in out.iter_rows(named=True):
        alone = run({**base, "policy": row["policy"]}, seed=row["seed"])
        for k, v in alone.items():
            assert row[k] == v or (np.isnan(v) and np.isnan(row[k])), (row["policy"], k)
