"""The compiled twins of the month's work outside the professionals' step (``engines.months``:
demography, deployment, the deployment log, the pairings, the refresh, the mentoring load, the
training demand) are the NumPy rules bit for bit, and take the same draws from the model's
generator.

Whole runs of ``engine="cython"`` (compiled twins) and ``engine="reference"`` (the rules) are
compared after every month, with every mechanism on and off and under all twenty proposals
(entrants' levers, bought courses and projects); then each twin alone on states and levers built
to reach every branch (every entrant lever set, many entrants, random deployments)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from adoption_abm import AdoptionModel, load_scenario
from adoption_abm.engines import _kernels, months
from adoption_abm.engines.registry import month_work
from adoption_abm.outputs.deployment import DeploymentLog
from adoption_abm.policies.catalogue import catalogue
from adoption_abm.rules.demography import replace_retirees
from adoption_abm.rules.deployment import deployment_step
from adoption_abm.rules.levers import AgentEffect
from adoption_abm.rules.mentoring import mentoring_load, pair_mentors
from adoption_abm.rules.propensity import refresh
from adoption_abm.rules.supply import training_demand
from adoption_abm.scenario.load import with_overrides
from adoption_abm.scenario.mechanisms import CORE_RULES

POP_FIELDS = (
    "state", "skill", "skill0", "trained", "resist", "support", "birth", "retire_age",
    "attitude", "access", "propensity", "train_prob", "profession", "establishment",
)  # fmt: skip
ALL_TWENTY = [{"proposal": p} for p in sorted(catalogue().proposals)]


def assert_same_model(ref: AdoptionModel, other: AdoptionModel, where: str) -> None:
    for name in POP_FIELDS:
        a, b = getattr(ref.pop, name), getattr(other.pop, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"pop.{name} differs ({where})"
    assert np.array_equal(ref.est.deployed, other.est.deployed), f"deployed differs ({where})"
    for name in ref.tallies._fields:
        a, b = getattr(ref.tallies, name)[-1], getattr(other.tallies, name)[-1]
        assert a.dtype == b.dtype and np.array_equal(a, b), f"tally {name} differs ({where})"
    la, lb = ref.deployment_log, other.deployment_log
    assert np.array_equal(la.counts[-1], lb.counts[-1]), f"deployment counts ({where})"
    assert la.counts[-1].dtype == lb.counts[-1].dtype
    assert np.array_equal(la.deployed_month, lb.deployed_month), f"deployed months ({where})"
    assert np.array_equal(la.half_month, lb.half_month), f"half-use months ({where})"
    for k, v in ref.activity.arrays().items():
        assert np.array_equal(v, other.activity.arrays()[k], equal_nan=True), f"{k} ({where})"
    assert ref.rng.bit_generator.state == other.rng.bit_generator.state, f"draws ({where})"


@pytest.mark.parametrize(
    ("seed", "scale", "overrides", "interventions"),
    [
        (1, 0.004, {}, []),  # every mechanism of the built-in scenario on
        (2, 0.003, CORE_RULES, []),  # every mechanism off
        # at 0.01 the budgets fund projects (below, a year's funds buy less than one)
        (3, 0.01, {"mechanisms.resistance.age_slope": 0.5}, ALL_TWENTY),
        (4, 0.003, {"behaviour.training_capacity": 60.0}, ALL_TWENTY),
    ],
)
def test_compiled_month_work_is_the_reference_over_a_whole_run(
    seed, scale, overrides, interventions
):
    kwargs = dict(seed=seed, scale=scale, agents="none", overrides=overrides)
    ref = AdoptionModel(engine="reference", interventions=interventions, **kwargs)
    fast = AdoptionModel(engine="cython", interventions=interventions, **kwargs)
    assert fast._work is not months.REFERENCE and ref._work is months.REFERENCE
    entrants = projects = 0
    for _ in range(ref.n_months):
        before = ref.pop.birth.copy()
        ref.step()
        fast.step()
        entrants += int((ref.pop.birth != before).sum())
        projects += int(ref.activity.arrays()["projects"][-1].sum() > 0)
        assert_same_model(ref, fast, f"seed {seed}, month {ref.month}")
    assert entrants > 100  # the demography did replace professionals
    assert (ref.deployment_log.half_month >= 0).any()  # half use was reached and recorded
    if interventions and scale >= 0.01:
        assert projects > 0  # bought projects were funded (the rule's own path)


def test_the_reference_engine_and_a_custom_step_run_the_rules():
    assert month_work("reference") is months.REFERENCE
    assert month_work("custom") is months.REFERENCE
    assert month_work("cython").replace_retirees is months.compiled_replace_retirees


@pytest.fixture(scope="module")
def running():
    """A model five years in, every mechanism on (pairings, resisters, deployments)."""
    return AdoptionModel(seed=5, scale=0.004, agents="none", engine="reference").run(60)


def entrant_levers(model: AdoptionModel, seed: int):
    """The model's levers with every entrants' lever set, to random values per profession."""
    rng = np.random.default_rng(seed)
    p = len(model.inputs.professions)
    return dataclasses.replace(
        model.levers,
        entry_age_shift=rng.uniform(-2.0, 3.0, p),
        entrant_skill_shift=rng.uniform(-0.2, 0.3, p),
        entrant_attitude_shift=rng.uniform(-0.3, 0.3, p),
        entrant_exposure=rng.uniform(-0.2, 0.6, p),
    )


@pytest.mark.parametrize("levers_set", [False, True])
@pytest.mark.parametrize("years_ahead", [0.0, 5.0, 20.0])
def test_compiled_retirements_are_the_rule(running, levers_set, years_ahead):
    a, b = copy.deepcopy(running), copy.deepcopy(running)
    levers = entrant_levers(a, 7) if levers_set else a.levers
    t = a.year + years_ahead  # years ahead: many retire at once (every branch, k in the 1000s)
    rows_a = replace_retirees(a.pop, a.est, a.inputs, t, levers, a.rng)
    rows_b = months.compiled_replace_retirees(b.pop, b.est, b.inputs, t, levers, b.rng)
    assert rows_b.dtype == np.int64 and np.array_equal(rows_a, rows_b)
    assert len(rows_a) > (1000 if years_ahead == 20.0 else 0)
    for name in POP_FIELDS:
        x, y = getattr(a.pop, name), getattr(b.pop, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    if years_ahead == 20.0:  # the entrants' branches were reached
        new = rows_a
        assert (a.pop.resist[new] == 1).any() and (a.pop.state[new] == 1).any()
        assert (a.pop.trained[new] == 1).any()


@pytest.mark.parametrize("overrides", [CORE_RULES, {"mechanisms.cohorts.attitude_age_slope": 0.0}])
def test_compiled_retirements_with_mechanisms_off(overrides):
    sc = with_overrides(load_scenario("france-2022"), overrides)
    a = AdoptionModel(sc, seed=8, scale=0.003, agents="none", engine="reference").run(24)
    b = copy.deepcopy(a)
    t = a.year + 15.0
    rows_a = replace_retirees(a.pop, a.est, a.inputs, t, a.levers, a.rng)
    rows_b = months.compiled_replace_retirees(b.pop, b.est, b.inputs, t, b.levers, b.rng)
    assert len(rows_a) > 100 and np.array_equal(rows_a, rows_b)
    for name in POP_FIELDS:
        assert np.array_equal(getattr(a.pop, name), getattr(b.pop, name)), name
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def random_deployments(model: AdoptionModel, seed: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    model.est.deployed[...] = (rng.random(model.est.deployed.shape) < share).astype(np.uint8)


@pytest.mark.parametrize(("seed", "share"), [(1, 0.0), (2, 0.3), (3, 0.9), (4, 1.0)])
def test_compiled_deployment_is_the_rule(running, seed, share):
    a = copy.deepcopy(running)
    random_deployments(a, seed, share)
    b = copy.deepcopy(a)
    lv = dataclasses.replace(a.levers, deployment=a.levers.deployment * 40.0)  # many deploy
    for month in (61, 62, 63):
        ra = deployment_step(a.est, a.inputs, a.rhythm, month, lv, a.rng)
        rb = months.compiled_deployment_step(b.est, b.inputs, b.rhythm, month, lv, b.rng)
        assert ra == rb and isinstance(rb[0], int)
        assert np.array_equal(a.est.deployed, b.est.deployed)
        assert a.rng.bit_generator.state == b.rng.bit_generator.state
    if share < 1.0:
        assert (a.est.deployed != running.est.deployed).any()


def test_compiled_deployment_log_is_the_log(running):
    a = copy.deepcopy(running)
    n_types = len(a.inputs.type_ids)
    ref, fast = DeploymentLog(a.est, n_types), DeploymentLog(a.est, n_types)
    rng = np.random.default_rng(3)
    for month in range(12):
        random_deployments(a, month, 0.1 * month)
        a.pop.state[...] = rng.integers(0, 3, a.pop.state.shape, dtype=np.uint8)
        if month % 3 == 0:  # some establishments with hardly anyone using
            a.pop.state[: a.pop.n // 2] = 0
        ref.record(a.pop, a.est, month)
        fast.record(a.pop, a.est, month, months.compiled_deployment_record)
        assert np.array_equal(ref.counts[-1], fast.counts[-1]), month
        assert ref.counts[-1].dtype == fast.counts[-1].dtype
        assert np.array_equal(ref.deployed_month, fast.deployed_month), month
        assert np.array_equal(ref.half_month, fast.half_month), month
    assert (ref.half_month > 0).any() and (ref.deployed_month > 0).any()


def test_compiled_mentoring_load_is_the_rule(running):
    pairs = running.pairs
    assert len(pairs.mentee) > 0
    n_prof = len(running.inputs.professions)
    for state in (running.pop.state, np.zeros_like(running.pop.state)):
        pop = dataclasses.replace(running.pop, state=state)
        want = mentoring_load(pop, pairs, n_prof)
        got = months.compiled_mentoring_load(pop, pairs, n_prof)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    empty = pairs.without(np.arange(running.pop.n))
    assert np.array_equal(
        months.compiled_mentoring_load(running.pop, empty, n_prof), np.zeros(n_prof, np.int64)
    )


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"mentoring_take_up": 3.0, "mentoring_capacity": 2.5},  # take-up capped at 1, cap > 1
        {"mentoring_capacity": 0.3},
        {"mentoring_take_up": 0.0},  # draws, then no pairing
    ],
)
@pytest.mark.parametrize("years_ahead", [0.0, 0.5])
def test_compiled_pairings_are_the_rule(running, changes, years_ahead):
    a = copy.deepcopy(running)
    a.pop.support[...] = np.random.default_rng(2).integers(0, 4, a.pop.support.shape)
    b = copy.deepcopy(a)
    lv = dataclasses.replace(a.levers, **changes)
    t = a.year + years_ahead
    want = pair_mentors(a.pop, a.est, a.inputs, t, lv, a.rng)
    got = months.compiled_pair_mentors(b.pop, b.est, b.inputs, t, lv, b.rng)
    for name in want._fields:
        x, y = getattr(want, name), getattr(got, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert np.array_equal(a.pop.support, b.pop.support)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    if changes.get("mentoring_take_up", 1.0) > 0:
        assert len(want.mentee) > 5
        assert len(np.unique(want.family)) > 1


def test_compiled_pairings_with_mentoring_off():
    sc = with_overrides(load_scenario("france-2022"), {"mechanisms.mentoring.enabled": False})
    a = AdoptionModel(sc, seed=3, scale=0.003, agents="none", engine="reference").run(13)
    a.pop.support[...] = 3
    b = copy.deepcopy(a)
    want = pair_mentors(a.pop, a.est, a.inputs, a.year, a.levers, a.rng)
    got = months.compiled_pair_mentors(b.pop, b.est, b.inputs, b.year, b.levers, b.rng)
    assert len(want.mentee) == len(got.mentee) == 0
    assert np.array_equal(a.pop.support, b.pop.support) and (a.pop.support == 2).all()
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_compiled_month_functions_refuse_arrays_that_disagree(running):
    pop, est = running.pop, running.est
    with pytest.raises(ValueError, match="retire_age has length"):
        _kernels.retirees(pop.birth, pop.retire_age[:-1], 2030.0)
    counts = np.empty((1, est.deployed.shape[1]), dtype=np.int64)  # too few types
    with pytest.raises(ValueError, match="past 1 types"):
        _kernels.deployed_counts(est.deployed, est.type, counts)
    draw = np.zeros((est.n - 1, est.deployed.shape[1]))
    prob = np.zeros((len(running.inputs.type_ids), est.deployed.shape[1]))
    with pytest.raises(ValueError, match="draw must have deployed's shape"):
        _kernels.deploy(est.deployed.copy(), est.type, draw, prob)
    log = DeploymentLog(est, len(running.inputs.type_ids))
    with pytest.raises(ValueError, match="start has length"):
        _kernels.deployment_record(
            est.deployed, est.type, est.start[:-1], pop.state, log.deployed_month,
            log.half_month, prob.astype(np.int64), 1,
        )  # fmt: skip
    bad = running.pairs._replace(mentee=running.pairs.mentee + pop.n)
    with pytest.raises(IndexError, match="out of range"):
        months.compiled_mentoring_load(pop, bad, len(running.inputs.professions))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compiled_training_demand_is_the_rule_on_random_states(running, seed):
    rng = np.random.default_rng(seed)
    pop, est = running.pop, running.est
    deployed = (rng.random(est.deployed.shape) < 0.2 * seed).astype(np.uint8)
    state = rng.integers(0, 3, pop.state.shape, dtype=np.uint8)
    trained = (rng.random(pop.trained.shape) < 0.5).astype(np.uint8)
    prob = rng.random(pop.n).astype(np.float32)
    free = (prob * rng.random(pop.n)).astype(np.float32)
    args = (state, trained, deployed, pop.establishment, prob, free)
    want = training_demand(*args)
    assert _kernels.training_demand(*args) == want and want[0] > want[1] > 0
    with pytest.raises(IndexError, match="past"):
        _kernels.training_demand(state, trained, deployed[:-1], pop.establishment, prob, free)


@pytest.mark.parametrize("n_families", [1, 2, 3, 4])
@pytest.mark.parametrize("n_rows", [0, 1, 997])
def test_compiled_training_demand_for_every_number_of_families(n_families, n_rows):
    """Each compiled version (one a number of families) against the rule."""
    rng = np.random.default_rng(10 * n_families + n_rows)
    n_est = 37
    deployed = (rng.random((n_est, n_families)) < 0.5).astype(np.uint8)
    state = rng.integers(0, 3, (n_rows, n_families), dtype=np.uint8)
    trained = (rng.random((n_rows, n_families)) < 0.4).astype(np.uint8)
    establishment = rng.integers(0, n_est, n_rows, dtype=np.int32)
    prob = rng.random(n_rows).astype(np.float32)
    free = (prob * rng.random(n_rows)).astype(np.float32)
    args = (state, trained, deployed, establishment, prob, free)
    want = training_demand(*args)
    assert _kernels.training_demand(*args) == want
    if n_rows > 100:  # some rows are eligible, and a free share is below the whole
        assert want[0] > want[1] > 0


@pytest.fixture(scope="module")
def with_policies():
    """All twenty proposals in force (agent effects, courses bought): 2031."""
    model = AdoptionModel(
        seed=6, scale=0.003, agents="none", engine="reference", interventions=ALL_TWENTY
    )
    return model.run(110)


def targeted(model: AdoptionModel) -> AdoptionModel:
    """``model`` with, besides its proposals' effects, effects masked by establishment type and
    by age band (no proposal of the catalogue targets those), bought and not."""
    rng = np.random.default_rng(4)
    sc = model.inputs
    n_types, n_bands = len(sc.type_ids), len(sc.indicators.age_bands) + 1
    extra = [
        AgentEffect(
            professions=rng.random(len(sc.professions)) < 0.7 if k % 2 else None,
            types=rng.random(n_types) < 0.6,
            age_bands=rng.random(n_bands) < 0.6,
            adoption=1.0 + 0.1 * k,
            training=1.0 + 0.2 * k,
            reach=0.1 * k,
            bought=k % 2 == 1,
        )
        for k in range(4)
    ]
    twin = copy.deepcopy(model)
    twin.levers = dataclasses.replace(
        model.levers, agent_effects=(*model.levers.agent_effects, *extra)
    )
    return twin


@pytest.mark.parametrize("which", ["running", "with_policies", "targeted"])
@pytest.mark.parametrize("rows", [None, "some"])
def test_compiled_refresh_is_the_rule(request, which, rows):
    if which == "targeted":
        model = targeted(request.getfixturevalue("with_policies"))
        assert any(e.age_bands is not None for e in model.levers.agent_effects)
    else:
        model = request.getfixturevalue(which)
    if which == "with_policies":  # the proposals' effects: professions, reach, bought courses
        effects = model.levers.agent_effects
        assert any(e.bought for e in effects) and any(not e.bought for e in effects)
        assert any(e.reach > 0 for e in effects) and any(e.professions is not None for e in effects)
    a, b = copy.deepcopy(model), copy.deepcopy(model)
    pick = None if rows is None else np.arange(0, a.pop.n, 7, dtype=np.int64)
    t = a.year + 0.5
    refresh(a.pop, a.est, a.inputs, t, a.levers, rows=pick)
    months.compiled_refresh(b.pop, b.est, b.inputs, t, b.levers, rows=pick)
    for name in ("propensity", "train_prob", "train_free"):
        x, y = getattr(a.pop, name), getattr(b.pop, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y), name
    if which == "with_policies":
        assert a.pop.train_free is not None
        assert (a.pop.train_free != a.pop.train_prob).any()
