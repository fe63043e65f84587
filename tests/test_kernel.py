"""The compiled kernel is the bit-identical twin of the reference rules.

Every state array and every tally (cube, downgrading risk, legacy users, courses, mentoring
load) is compared after every month, between the reference (NumPy) and the kernel in both of its
modes (``lazy``: ties skipped when the month's uniforms rule out every transition that reads
them; ``scan``: ties read whenever a decision depends on them) and on three threads, over
several seeds, scales, rhythms and networks: with every mechanism of version 2 on (the
built-in scenario: mentoring pairings, resisters, discontinuance, generations, cohorts,
downgrading), with stronger settings of each, and with every one off (``CORE_RULES``); on the
complete network of the Bass limit (with resisters and discontinuance); on inputs built to
defeat the shortcuts (negative factors,
random mentored, legacy and resister flags, degrees past the kernel's tables and packed
counters), with one to four technology families, and in a debug build that checks every index.
"""

from __future__ import annotations

import copy
import functools
import importlib.machinery
import importlib.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from adoption_abm import AdoptionModel, Professional, rules
from adoption_abm.engines import _kernels
from adoption_abm.engines import registry as engines
from adoption_abm.model.model import AUTO_AGENT_LIMIT
from adoption_abm.model.network import Network
from adoption_abm.oracles import bass as validation
from adoption_abm.rules import stream as draws
from adoption_abm.rules.states import LEGACY, MENTORED
from adoption_abm.scenario.load import scenario_from_dict
from adoption_abm.scenario.mechanisms import CORE_RULES
from adoption_abm.scenario.schema import MAX_FAMILIES, Scenario

ROOT = Path(__file__).resolve().parents[1]
FOUR_FAMILIES = Path(__file__).resolve().parent / "data" / "four-families.toml"
"""The built-in scenario with a fourth family (remote monitoring); every mechanism on."""

POP_FIELDS = (
    "state", "skill", "skill0", "trained", "resist", "support", "birth", "retire_age",
    "attitude", "access", "propensity", "train_prob", "profession", "establishment",
)  # fmt: skip
TALLY_FIELDS = ("cubes", "risks", "legacy", "courses", "mentoring")
STEP_FIELDS = ("state", "skill", "trained", *rules.MonthTally._fields)
"""What one step changes: the new states, skill and training, and the month's tallies."""
TWENTY_TIES = {
    "network.team_ties": 16,
    "network.establishment_ties": 10,
    "network.professional_ties": 6,
}


def steppers() -> dict[str, engines.StepFunction]:
    return {
        "reference": engines.get_engine("reference"),
        "cython-lazy": engines.get_engine("cython"),
        "cython-scan": engines.get_engine("cython", lazy=False),
        # three OpenMP threads (uneven blocks): the same results as one (tests/test_threads.py)
        "cython-3-threads": engines.get_engine("cython", threads=3),
    }


def assert_same(ref: AdoptionModel, other: AdoptionModel, label: str) -> None:
    where = f"{label}, month {ref.month}"
    for name in POP_FIELDS:
        a, b = getattr(ref.pop, name), getattr(other.pop, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"pop.{name} differs ({where})"
    assert np.array_equal(ref.est.deployed, other.est.deployed), f"est.deployed differs ({where})"
    for name in TALLY_FIELDS:
        a, b = getattr(ref.tallies, name), getattr(other.tallies, name)
        assert len(a) == len(b), f"{name}: {len(a)} tallies against {len(b)} ({where})"
        assert a[-1].dtype == b[-1].dtype and np.array_equal(a[-1], b[-1]), (
            f"tally {name} differs ({where})"
        )
    pairs_a, pairs_b = ref.pairs, other.pairs
    for name in pairs_a._fields:
        assert np.array_equal(getattr(pairs_a, name), getattr(pairs_b, name)), (
            f"mentoring pairs' {name} differs ({where})"
        )


def lockstep(months: int | None = None, **kwargs) -> AdoptionModel:
    """Run one model per stepper side by side, comparing everything after every month."""
    models = {}
    for name, step in steppers().items():
        models[name] = AdoptionModel(engine=step, agents="none", **kwargs)
    ref = models.pop("reference")
    todo = ref.n_months if months is None else months
    labels = {name: f"{name} {kwargs}" for name in models}
    for name, m in models.items():
        assert_same(ref, m, labels[name])  # month 0
    for _ in range(todo):
        ref.step()
        for name, m in models.items():
            m.step()
            assert_same(ref, m, labels[name])
    return ref


def mechanism_totals(ref: AdoptionModel) -> dict[str, int]:
    """How much of each mechanism of version 2 a run saw (to check a case exercised them)."""
    t = ref.tallies
    return {
        "legacy": int(sum(a.sum() for a in t.legacy)),  # generations
        "mentoring": int(sum(a.sum() for a in t.mentoring)),  # pairings
        "resisters": int(ref.pop.resist.sum()),
        "courses": int(sum(a.sum() for a in t.courses)),
        "risk": int(sum(a.sum() for a in t.risks)),  # downgrading shortfall
    }


# ---------------------------------------------------------------------------------------------
# The random numbers and the hazard → probability map
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_families", range(1, MAX_FAMILIES + 1))
@pytest.mark.parametrize("key", [0, 1, 12345, 2**63, 2**64 - 1])
def test_kernel_uniforms_are_the_reference_uniforms(key, n_families):
    n = 5000
    slots = draws.slots(n_families)
    out = np.empty((n, slots))
    _kernels.uniforms(np.uint64(key), n, slots, out)
    expected = draws.uniforms(np.uint64(key), n, slots)
    assert np.array_equal(out, expected)
    assert out.min() >= 0.0 and out.max() < 1.0


HAZARDS = np.concatenate(
    [
        [0.0, 5e-324, 1e-300, 1e-12, 0.01, 0.125 - 1e-12, 0.125, 0.125 + 1e-12, 0.5, 1.0, 2.0],
        [10.0, 699.0, 700.0, 701.0, 1e10, np.inf],
        np.logspace(-12, 3, 20_001),
        np.random.default_rng(0).uniform(0.0, 1.0, 20_000),
    ]
)


def test_kernel_hazard_probability_is_the_reference_one_bit_for_bit():
    out = np.empty_like(HAZARDS)
    _kernels.hazard_probability(HAZARDS, out)
    assert np.array_equal(out, draws.one_minus_exp_neg(HAZARDS))


def test_hazard_probability_is_accurate():
    """Relative error against libm's expm1, bounded analytically: the series stops after the
    ninth term for y <= 1/8 (next term y**9 / 10! relative), each of ~20 operations and each
    of up to 13 halvings (x <= 700) adds at most an ulp or two, and the halving map
    q -> q (2 - q) does not amplify relative errors."""
    out = np.empty_like(HAZARDS)
    _kernels.hazard_probability(HAZARDS, out)
    exact = -np.expm1(-np.minimum(HAZARDS, draws.MAX_HAZARD))
    eps = 2.0**-53
    bound = 0.125**9 / math.factorial(10) + (20 + 2 * 13) * eps
    pos = HAZARDS > 0
    rel = np.abs(out[pos] - exact[pos]) / exact[pos]
    assert rel.max() <= bound, (rel.max(), HAZARDS[pos][rel.argmax()])
    assert out[~pos].tolist() == [0.0]
    assert np.all(out <= 1.0) and np.all(out[pos] > 0.0)
    # never above the hazard itself: the kernel's shortcut "u >= x, so no event" relies on it
    assert np.all(out <= HAZARDS)


# ---------------------------------------------------------------------------------------------
# Whole runs, every array after every month
# ---------------------------------------------------------------------------------------------
STRONG = {
    "mechanisms.mentoring.take_up": 0.5,
    "mechanisms.discontinuance.rate": 2.0,
    "mechanisms.resistance.factor": 0.3,
    "mechanisms.generations.relearn_boost": 3.0,
}
"""Every mechanism of version 2 stronger than in the built-in scenario."""


@pytest.mark.parametrize(
    ("seed", "scale", "rhythm", "overrides"),
    [
        (1, 0.005, "central", {}),  # the built-in scenario: every mechanism on
        (2, 0.002, "slow", {}),
        (3, 0.01, "fast", {}),
        (4, 0.004, "central", {"mechanisms.mentoring.take_up": 0.5}),
        (
            5,
            0.003,
            "fast",
            {"mechanisms.discontinuance.rate": 2.0, "behaviour.training_rate": 0.25},
        ),
        (
            6,
            0.004,
            "central",
            {"behaviour.training_rate": 0.4, "behaviour.training_adoption_boost": 3.0},
        ),
        (7, 0.003, "central", TWENTY_TIES | STRONG),
        (8, 0.004, "central", {"mechanisms.resistance.factor": 0.3}),
        (9, 0.004, "central", {"mechanisms.generations.relearn_boost": 3.0}),
        (10, 0.004, "central", CORE_RULES),  # every mechanism off: the core rules
        (11, 0.003, "fast", CORE_RULES | TWENTY_TIES | {"behaviour.training_rate": 0.25}),
    ],
)
def test_kernel_is_bit_identical_over_a_whole_run(seed, scale, rhythm, overrides):
    ref = lockstep(seed=seed, scale=scale, rhythm=rhythm, overrides=overrides)
    assert ref.month == ref.n_months
    # the run did exercise the rules: adoption, mastery and training all happened
    assert (ref.pop.state == 2).mean() > 0.3
    assert ref.pop.trained.any()
    seen = mechanism_totals(ref)
    assert seen["courses"] > 0 and seen["risk"] > 0, seen
    if CORE_RULES.items() <= overrides.items():
        # nothing of version 2: no pairing, resister, legacy user nor support bit
        assert seen["legacy"] == seen["mentoring"] == seen["resisters"] == 0, seen
        assert not ref.pop.support.any()
    else:  # and the mechanisms did act: pairings, resisters, legacy users
        assert seen["legacy"] > 0 and seen["mentoring"] > 0 and seen["resisters"] > 0, seen


def test_kernel_is_bit_identical_with_degrees_past_the_share_table():
    """Degrees of 40 and more: shares are divided, not read from the kernel's table (so are the
    resisters' shares compared with their threshold)."""
    overrides = {"network.professional_ties": 60} | STRONG
    ref = lockstep(months=60, seed=8, scale=0.003, overrides=overrides)
    assert (ref.network.degree() >= 40).mean() > 0.5
    assert ref.pop.resist.any() and mechanism_totals(ref)["mentoring"] > 0


# ---------------------------------------------------------------------------------------------
# One step on adversarial inputs, straight through the step functions
# ---------------------------------------------------------------------------------------------
def random_state(model: AdoptionModel, seed: int) -> None:
    """Random states, training, skill, deployments, and random mentored (``MENTORED``),
    legacy (``LEGACY``) and resister flags (each on about a third of the rows)."""
    rng = np.random.default_rng(seed)
    n, n_fam = model.pop.state.shape
    model.pop.state[...] = rng.choice(3, size=(n, n_fam), p=[0.5, 0.3, 0.2]).astype(np.uint8)
    model.pop.trained[...] = (rng.random((n, n_fam)) < 0.3).astype(np.uint8)
    model.pop.skill[...] = rng.random(n).astype(np.float32)
    model.pop.train_prob[...] = rng.uniform(0.0, 0.5, n).astype(np.float32)
    model.est.deployed[...] = (rng.random(model.est.deployed.shape) < 0.8).astype(np.uint8)
    mentored = (rng.random((n, n_fam)) < 0.3) * MENTORED
    legacy = (rng.random((n, n_fam)) < 0.3) * LEGACY
    model.pop.support[...] = (mentored | legacy).astype(np.uint8)
    model.pop.resist[...] = (rng.random(n) < 0.3).astype(np.uint8)
    model.pop.skill0[...] = np.minimum(model.pop.skill0, model.pop.skill)


def copy_pop(pop):
    """An independent copy of a ``Population`` (every column copied)."""
    return type(pop)(**{k: None if v is None else v.copy() for k, v in vars(pop).items()})


def compare_one_step(
    model: AdoptionModel, par: rules.MonthParams, net: Network, keys=range(1, 6)
) -> dict:
    """Every stepper from copies of the same state with the same keys, every output compared
    (:data:`STEP_FIELDS`); returns the reference's transition counts and tallies (so tests can
    check the case did exercise something)."""
    counts = {"adopted": 0, "mastered": 0, "quit": 0, "trained": 0, "legacy": 0, "risk": 0}
    for key in keys:
        results = {}
        for name, step in steppers().items():
            pop = copy_pop(model.pop)
            new_state = np.empty_like(pop.state)
            tally = step(pop, model.est, net, par, np.uint64(key), new_state)
            assert isinstance(tally, rules.MonthTally), name
            results[name] = (new_state, pop.skill, pop.trained, *tally)
        ref = results.pop("reference")
        for name, res in results.items():
            for label, a, b in zip(STEP_FIELDS, ref, res, strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b), (
                    f"{name}: {label} differs (key {key})"
                )
        old, new = model.pop.state, ref[0]
        counts["adopted"] += int(((old == 0) & (new == 1)).sum())
        counts["mastered"] += int(((old == 1) & (new == 2)).sum())
        counts["quit"] += int(((old == 1) & (new == 0)).sum())
        counts["trained"] += int((ref[2] != model.pop.trained).sum())
        counts["legacy"] += int(ref[STEP_FIELDS.index("legacy")].sum())
        counts["risk"] += int(np.abs(ref[STEP_FIELDS.index("risk")]).sum())
    return counts


def busy_params(model: AdoptionModel, **changes) -> rules.MonthParams:
    """A month with large hazards, so that every kind of transition happens, and every
    mechanism of version 2 at work (boosts, resisters below a threshold, discontinuance)."""
    par = model.month_params(1)
    n_prof = par.adopt_mult.shape[0]
    par.adopt_mult = par.adopt_mult * 20.0
    par.master_mult = par.master_mult * 5.0
    par.quit_mult = np.full_like(par.adopt_mult, 0.2)
    par.quit_mult[0] = 0.0  # a profession without discontinuance
    par.risk_keep = np.linspace(0.0, 1.0, n_prof)
    par.mentor_adopt_boost = 1.0
    par.mentor_master_boost = 1.5
    par.relearn_boost = 2.0
    par.resist_threshold = 0.5
    par.resist_factor = 0.2
    par.quit_trained_keep = 0.5
    par.quit_mentored_keep = 0.25
    par.risk_gain = 0.3
    for name, value in changes.items():
        setattr(par, name, value)
    return par


NO_V2 = {
    "quit_mult": 0.0, "mentor_adopt_boost": 0.0, "mentor_master_boost": 0.0,
    "relearn_boost": 0.0, "resist_threshold": 0.0, "resist_factor": 1.0,
}  # fmt: skip
"""The month's factors of version 2 all neutral (``quit_mult`` broadcast by the test)."""
SIGN_FLIP = {"p": np.array([-0.5, -0.5, -0.5]), "q": np.array([1.0, 1.0, 1.0])}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        NO_V2,
        # Factors that make a hazard shrink as the peer shares grow, or change sign: the hazard
        # at shares 1 is then no upper bound, and the lazy kernel must read the ties. The cases
        # of version 1 here (negative q, negative p with sign changes) were checked by hand to
        # fail if the kernel uses the bound regardless of signs.
        NO_V2 | {"p": np.array([0.5, 0.5, 0.5]), "q": np.array([-0.49, -0.45, -0.3])},
        {"p": np.array([0.5, 0.5, 0.5]), "q": np.array([-0.49, -0.45, -0.3])},
        {"mentor_adopt_boost": -2.0, "p": np.array([3.0, 3.0, 3.0])},  # negative for mentees
        {"mentor_master_boost": -0.9, "relearn_boost": -3.0},  # negative mastery hazards
        # resisters: factor 0 (never below the threshold), 1 (as everyone), past 1 and negative
        # (the bound no longer holds: ties read), threshold 0 (never) and past 1 (always)
        {"resist_factor": 0.0},
        {"resist_factor": 1.0},
        {"resist_factor": 1.7, "resist_threshold": 0.9},
        {"resist_factor": -0.5, "p": np.array([3.0, 3.0, 3.0])},
        {"resist_threshold": 0.0},
        {"resist_threshold": 1.5, "resist_factor": 0.5},
        # discontinuance: near-certain, negative (never), keeps past 1 and negative
        {"quit_mult": "large"},
        {"quit_mult": "negative"},
        {"quit_trained_keep": 3.0, "quit_mentored_keep": -1.0},
        # downgrading: a tiny reference gain, a negative one, and negative kept shares
        {"risk_gain": 1e-3},
        {"risk_gain": -0.2, "risk_keep": "negative"},
        SIGN_FLIP | {"skill_effect": 4.0},  # negative ψ (1 + s (skill - 1/2)) for low skill
        SIGN_FLIP | {"train_adopt_boost": -1.5, "train_master_boost": -1.2},
        SIGN_FLIP | {"adopt_mult": "negative"},
        SIGN_FLIP | {"mentor_adopt_boost": -1.5, "resist_factor": 1.0},
    ],
)
def test_kernel_is_bit_identical_on_adversarial_months(changes):
    model = AdoptionModel(seed=11, scale=0.004, engine="reference", agents="none")
    random_state(model, 11)
    par = busy_params(model)
    for name, value in changes.items():
        if isinstance(value, str) and value == "negative":
            value = -getattr(par, name)
        elif isinstance(value, str) and value == "large":
            value = getattr(par, name) * 1000.0
        elif np.isscalar(value) and isinstance(getattr(par, name), np.ndarray):
            value = np.full_like(getattr(par, name), value)
        setattr(par, name, value)
    counts = compare_one_step(model, par, model.network)
    assert counts["adopted"] > 1000 and counts["trained"] > 1000, counts
    assert counts["legacy"] > 0 and counts["risk"] > 0, counts
    assert (counts["quit"] > 1000) == (par.quit_mult.max() > 0), counts


@pytest.mark.parametrize("scenario", ["france-2022", "four"])
@pytest.mark.parametrize("seed", [31, 32, 33])
def test_kernel_agrees_on_random_support_and_resist(scenario, seed):
    """A busy month from random states with ``pop.support`` and ``pop.resist`` drawn at random:
    the two flags set often, alone or together, and arbitrary bytes (only bit ``MENTORED``, bit
    ``LEGACY`` and a resist of exactly 1 mean anything; both engines must ignore the rest)."""
    sc = FOUR_FAMILIES if scenario == "four" else scenario
    model = AdoptionModel(sc, seed=seed, scale=0.003, engine="reference", agents="none")
    random_state(model, seed)
    rng = np.random.default_rng(seed + 100)
    pop = model.pop
    n, n_fam = pop.state.shape
    bytes_ = rng.integers(0, 256, (n, n_fam), dtype=np.uint8)
    flags = rng.integers(0, 4, (n, n_fam), dtype=np.uint8)
    pop.support[...] = np.where(rng.random((n, n_fam)) < 0.2, bytes_, flags)
    pop.resist[...] = np.where(
        rng.random(n) < 0.2, rng.integers(0, 256, n, dtype=np.uint8), rng.random(n) < 0.5
    ).astype(np.uint8)
    assert ((pop.support & MENTORED) != 0).mean() > 0.4 and ((pop.support & LEGACY) != 0).any()
    assert (pop.resist == 1).mean() > 0.3 and (pop.resist > 1).any()
    par = busy_params(model, quit_mult=np.full_like(model.month_params(1).adopt_mult, 0.5))
    counts = compare_one_step(model, par, model.network, keys=range(7, 11))
    assert counts["adopted"] > 500 and counts["mastered"] > 500 and counts["quit"] > 500, counts
    assert counts["trained"] > 500 and counts["legacy"] > 0, counts


def kernel_peer_counts(net: Network, state: np.ndarray) -> np.ndarray:
    use = np.empty(state.shape, dtype=np.int32)
    kernel_net = _kernels.Network(net.indptr, net.indices, net.complete)
    _kernels.peer_counts(kernel_net, state, use)
    return use


def huge_network(n: int, ties: int = 2**21 + 7) -> Network:
    """Professional 0 has ``ties`` ties (colleagues repeated; by default 2**21 + 7, past the
    kernel's packed counters for three families); the others have 5."""
    others = np.arange(1, n, dtype=np.int32)
    rows = [np.resize(others, ties)]
    rows += [np.delete(np.arange(n, dtype=np.int32), i)[:5] for i in range(1, n)]
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    return Network(indptr, np.concatenate(rows))


@pytest.mark.parametrize("huge", [False, True])
def test_kernel_tie_counts_are_the_reference_counts(huge):
    model = AdoptionModel(seed=12, scale=0.003, engine="reference", agents="none")
    random_state(model, 12)
    pop = model.pop
    net = huge_network(pop.n) if huge else model.network
    use = kernel_peer_counts(net, pop.state)
    assert np.array_equal(use, rules.tie_counts(net, pop.state >= rules.USING))
    assert use[0].max() > 2**20 if huge else use.max() > 1


def test_kernel_tie_counts_refuse_the_complete_network():
    """The shim counts stored ties; the complete network has none (the step counts it from
    totals, checked by the Bass-limit tests below)."""
    net = Network.complete_graph(10)
    with pytest.raises(ValueError, match="complete network"):
        kernel_peer_counts(net, np.zeros((10, 3), np.uint8))


@pytest.mark.parametrize(
    ("scenario", "ties"),
    [("france-2022", 2**21 + 7), ("four", 2**16 + 7)],
    ids=["three-families", "four-families"],
)
def test_kernel_is_bit_identical_past_its_packed_counters(scenario, ties):
    """Lanes of 64 // F bits: 21 for three families, 16 for four."""
    sc = FOUR_FAMILIES if scenario == "four" else scenario
    model = AdoptionModel(sc, seed=12, scale=0.002, engine="reference", agents="none")
    random_state(model, 12)
    model.pop.state[0] = 0
    model.pop.state[0, 1] = 1
    model.pop.resist[0] = 1  # professional 0's resistance depends on its huge degree's share
    model.est.deployed[model.pop.establishment[0]] = 1
    counts = compare_one_step(
        model, busy_params(model), huge_network(model.pop.n, ties), keys=range(1, 6)
    )
    assert counts["adopted"] > 0


# ---------------------------------------------------------------------------------------------
# One to four technology families
# ---------------------------------------------------------------------------------------------
def fewer_families(base: dict, keep: tuple[str, ...]) -> Scenario:
    """The built-in scenario with only the families ``keep`` (the role table, the cohorts'
    exposure and the generations' releases follow)."""
    data = copy.deepcopy(base)
    tech = data["technologies"]
    for name in [k for k, v in tech.items() if isinstance(v, dict) and k not in keep]:
        del tech[name]
    mech = data["mechanisms"]
    tables = [
        *data["deployment"]["base_rate"].values(),
        *data["deployment"]["initial"].values(),
        *data["potential"]["shares"].values(),
        mech["cohorts"]["exposure"],
    ]
    for table in tables:
        for name in [k for k in table if k not in keep]:
            del table[name]
    gen = mech["generations"]
    gen["releases"] = [r for r in gen["releases"] if r["family"] in keep]
    return scenario_from_dict(data, label=f"france-2022 with {', '.join(keep)}")


def assert_exercised(ref: AdoptionModel, n_families: int) -> None:
    assert ref.month == ref.n_months
    assert ref.pop.state.shape[1] == n_families
    # every family was adopted and mastered, and trained on
    assert ((ref.pop.state == 2).mean(axis=0) > 0.3).all()
    assert ref.pop.trained.any(axis=0).all()


@pytest.mark.parametrize(
    ("seed", "rhythm", "overrides"),
    [(21, "central", CORE_RULES), (22, "central", {}), (24, "fast", STRONG)],
    ids=["core", "mechanisms", "strong"],
)
def test_four_families_are_bit_identical_over_a_whole_run(seed, rhythm, overrides):
    ref = lockstep(
        scenario=FOUR_FAMILIES, seed=seed, scale=0.003, rhythm=rhythm, overrides=overrides
    )
    assert_exercised(ref, 4)
    seen = mechanism_totals(ref)
    if overrides is CORE_RULES:
        assert seen["legacy"] == seen["mentoring"] == seen["resisters"] == 0, seen
    else:
        assert seen["legacy"] > 0 and seen["mentoring"] > 0 and seen["resisters"] > 0, seen


@pytest.mark.parametrize(
    ("keep", "overrides"),
    [
        (("ai",), {}),
        (("ai",), CORE_RULES),
        (("digital", "robotics"), {"mechanisms.mentoring.take_up": 0.5}),
        (("robotics", "ai"), STRONG),
    ],
    ids=["one", "one-core", "two-mentoring", "two-strong"],
)
def test_fewer_families_are_bit_identical_over_a_whole_run(base_dict, keep, overrides):
    scenario = fewer_families(base_dict, keep)
    ref = lockstep(scenario=scenario, seed=23, scale=0.003, overrides=overrides)
    assert_exercised(ref, len(keep))


@pytest.mark.parametrize("changes", [{}, NO_V2], ids=["mechanisms", "core"])
def test_four_families_are_bit_identical_on_busy_months(changes):
    model = AdoptionModel(FOUR_FAMILIES, seed=13, scale=0.004, engine="reference", agents="none")
    random_state(model, 13)
    par = busy_params(model, **changes)
    if np.isscalar(par.quit_mult):
        par.quit_mult = np.full_like(par.adopt_mult, par.quit_mult)
    counts = compare_one_step(model, par, model.network)
    assert counts["adopted"] > 1000 and counts["mastered"] > 1000 and counts["trained"] > 1000
    assert (counts["quit"] > 1000) == (not changes), counts


@pytest.mark.parametrize("n_families", range(1, MAX_FAMILIES + 1))
def test_kernel_tie_counts_for_any_number_of_families(n_families):
    model = AdoptionModel(seed=14, scale=0.003, engine="reference", agents="none")
    net = model.network
    rng = np.random.default_rng(n_families)
    state = rng.choice(3, size=(model.pop.n, n_families), p=[0.4, 0.3, 0.3]).astype(np.uint8)
    use = kernel_peer_counts(net, state)
    assert np.array_equal(use, rules.tie_counts(net, state >= rules.USING))
    assert use.min() >= 0 and use.max() > 1


LANE_LIMITS = {1: None, 2: None, 3: 2**21, 4: 2**16}
"""Degrees from which the kernel counts with plain counters instead of lanes of 64 // F bits
(none: the degree is an int32)."""


@pytest.mark.parametrize(
    ("n_families", "ties"),
    [(f, LANE_LIMITS[f] + d) for f in (3, 4) for d in (-1, 0, 7)] + [(1, 2**21 + 7), (2, 2**21)],
)
def test_kernel_tie_counts_at_the_lane_limit(n_families, ties):
    """Professional 0's ties all use or master every family, so each count is the degree: the
    largest that fits a lane (limit - 1), the limit itself and past it (plain counters); with
    states mixed (0, 1, 2 by tie), each count is the number of ties at 1 or 2."""
    n = 64
    net = huge_network(n, ties)
    state = np.full((n, n_families), 2, dtype=np.uint8)
    state[1::2] = 1  # using counts as much as mastering
    use = kernel_peer_counts(net, state)
    assert use[0].tolist() == [ties] * n_families
    assert np.array_equal(use, rules.tie_counts(net, state >= rules.USING))
    state[1::3] = 0
    use = kernel_peer_counts(net, state)
    assert 0 < use[0, 0] < ties
    assert np.array_equal(use, rules.tie_counts(net, state >= rules.USING))


def kernel_inputs(n: int, n_families: int, n_est: int = 2, deployed_families: int | None = None):
    """The kernel's input objects for ``n`` professionals, nothing adopted, one profession."""
    est_families = n_families if deployed_families is None else deployed_families
    z8, z32, f32 = np.zeros(n, np.uint8), np.zeros(n, np.int32), np.zeros(n, np.float32)
    states = [np.zeros((n, n_families), np.uint8) for _ in range(4)]  # support, state, ...
    pop = _kernels.Professionals(
        z8, z32, f32, f32, f32, f32, z8.copy(), states[0], states[1], f32.copy(), *states[2:]
    )
    est = _kernels.Establishments(
        np.ones((n_est, est_families), np.uint8), np.zeros(n_est, np.uint8)
    )
    net = _kernels.Network(np.zeros(n + 1, np.int32), np.zeros(0, np.int32), False)
    return net, pop, est


@pytest.mark.parametrize("n_families", [0, MAX_FAMILIES + 1])
def test_kernel_refuses_numbers_of_families_it_does_not_handle(n_families):
    with pytest.raises(ValueError, match=r"1 to 4 technology families.*got " + str(n_families)):
        kernel_inputs(10, n_families)
    with pytest.raises(ValueError, match="1 to 4 technology families"):
        z = np.zeros((10, n_families), np.int32)
        state = np.zeros((10, n_families), np.uint8)
        net = _kernels.Network(np.zeros(11, np.int32), np.zeros(0, np.int32), False)
        _kernels.peer_counts(net, state, z)


def test_kernel_refuses_arrays_that_disagree_on_the_families():
    model = AdoptionModel(FOUR_FAMILIES, seed=1, scale=0.002, engine="reference", agents="none")
    par = model.month_params(1)
    n = model.pop.n
    net, pop, est = kernel_inputs(n, 4, deployed_families=3)
    month = engines.kernel_month(par, np.uint64(1), _kernels)
    cube = np.zeros((8, 5, 5, 4, 3), np.int64)

    def tallies(n_fam: int = 4, n_prof: int = 8):
        z = np.zeros((n_prof, n_fam), np.int64)
        return z, z.copy(), np.zeros(n_prof, np.int64)

    with pytest.raises(ValueError, match=r"est\.deployed has 3 families, the states have 4"):
        _kernels.professionals_step(net, pop, est, month, cube, *tallies())
    net, pop, est = kernel_inputs(n, 4)
    with pytest.raises(ValueError, match="cube has shape"):
        _kernels.professionals_step(net, pop, est, month, cube[:, :, :, :3].copy(), *tallies())
    risk, legacy, courses = tallies()
    with pytest.raises(ValueError, match="risk has shape"):
        _kernels.professionals_step(net, pop, est, month, cube, risk[:, :3].copy(), legacy, courses)
    with pytest.raises(ValueError, match="legacy has shape"):
        _kernels.professionals_step(net, pop, est, month, cube, risk, legacy[:7].copy(), courses)
    with pytest.raises(ValueError, match="courses has length 7"):
        _kernels.professionals_step(net, pop, est, month, cube, risk, legacy, courses[:7].copy())
    _kernels.professionals_step(net, pop, est, month, cube, risk, legacy, courses)  # all agree
    three = AdoptionModel(seed=1, scale=0.002, engine="reference", agents="none")
    month3 = engines.kernel_month(three.month_params(1), np.uint64(1), _kernels)
    with pytest.raises(ValueError, match="the month's parameters has 3 families"):
        _kernels.professionals_step(net, pop, est, month3, cube, *tallies())
    # the flags of version 2 have the states' shape
    z8, z32, f32 = np.zeros(n, np.uint8), np.zeros(n, np.int32), np.zeros(n, np.float32)
    s4 = [np.zeros((n, 4), np.uint8) for _ in range(3)]
    with pytest.raises(ValueError, match="support has 3 families, the states have 4"):
        _kernels.Professionals(
            z8, z32, f32, f32, f32, f32, z8, np.zeros((n, 3), np.uint8), s4[0], f32.copy(), *s4[1:]
        )
    with pytest.raises(ValueError, match=f"resist has length {n - 1}, expected {n}"):
        _kernels.Professionals(
            z8, z32, f32, f32, f32, f32, z8[1:].copy(), s4[0].copy(), s4[0], f32.copy(), *s4[1:]
        )
    with pytest.raises(ValueError, match="quit_mult"):
        bad = copy.copy(par)
        bad.quit_mult = par.quit_mult[:, :3]
        engines.kernel_month(bad, np.uint64(1), _kernels)
    with pytest.raises(ValueError, match="risk_keep has length"):
        bad = copy.copy(par)
        bad.risk_keep = par.risk_keep[:3]
        engines.kernel_month(bad, np.uint64(1), _kernels)


# ---------------------------------------------------------------------------------------------
# The complete network (Bass limit)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "q", "seed"), [(0.03, 0.38, 0), (0.011, 0.58, 1), (0.2, 0.0, 2)])
def test_bass_limit_is_bit_identical(p, q, seed):
    a = validation.bass_run(p, q, n_agents=3000, years=15, seed=seed, engine="cython")
    b = validation.bass_run(p, q, n_agents=3000, years=15, seed=seed, engine="reference")
    assert np.array_equal(a, b)
    assert a[-1] > 0.3


@pytest.mark.parametrize("seed", [3, 4])
def test_complete_network_is_bit_identical_with_resisters_and_discontinuance(seed):
    """The complete network (peer counts from totals, not ties) with every family deployed,
    resisters below a threshold share, discontinuance, mastery, training, and mentored and legacy
    flags, in both engines and both kernel modes, every output after every month."""
    n, months = 2000, 120
    rng = np.random.default_rng(seed)
    pop, est = validation.bass_population(n)
    est.deployed[...] = 1
    pop.resist[...] = rng.random(n) < 0.4
    pop.support[...] = rng.integers(0, 4, pop.support.shape, dtype=np.uint8)
    pop.train_prob[...] = rng.uniform(0.0, 0.05, n).astype(np.float32)
    pop.skill[...] = rng.random(n).astype(np.float32)
    pop.skill0[...] = pop.skill * np.float32(0.9)
    net = Network.complete_graph(n)
    par = validation.bass_params(0.03, 0.38)
    n_fam = pop.state.shape[1]
    par.p = np.array([0.03, 0.01, 0.05])[:n_fam]
    par.q = np.array([0.38, 0.6, 0.2])[:n_fam]
    par.master_mult = np.full((1, n_fam), 0.03)
    par.quit_mult = np.full((1, n_fam), 0.02)
    par.skill_effect, par.skill_mastery_effect = 0.5, 0.5
    par.train_adopt_boost = par.train_master_boost = 1.0
    par.train_skill_gain = 0.1
    par.mentor_adopt_boost, par.mentor_master_boost, par.relearn_boost = 1.0, 1.5, 2.0
    par.resist_threshold, par.resist_factor = 0.4, 0.1
    par.quit_trained_keep, par.quit_mentored_keep = 0.5, 0.5
    par.risk_gain = 0.1
    runs = {name: (copy_pop(pop), step) for name, step in steppers().items()}
    key_rng = np.random.default_rng(seed + 50)
    quits = 0
    for month in range(months):
        key = draws.month_key(key_rng)
        old = runs["reference"][0].state.copy()
        out = {}
        for name, (p_, step) in runs.items():
            new_state = np.empty_like(p_.state)
            tally = step(p_, est, net, par, key, new_state)
            out[name] = (new_state, p_.skill.copy(), p_.trained.copy(), *tally)
            p_.state, new_state = new_state, p_.state
        ref = out.pop("reference")
        for name, res in out.items():
            for label, a, b in zip(STEP_FIELDS, ref, res, strict=True):
                assert np.array_equal(a, b), f"{name}: {label} differs (month {month + 1})"
        quits += int(((old == 1) & (ref[0] == 0)).sum())
    final = runs["reference"][0]
    using = (final.state >= 1).mean(axis=0)
    resisters = final.resist == 1
    assert (using > 0.3).all(), using
    # resisters lagged, mastery and discontinuance both happened
    assert (final.state[resisters] >= 1).mean() < (final.state[~resisters] >= 1).mean()
    assert (final.state == 2).any() and quits > 100 and final.trained.any(), quits


# ---------------------------------------------------------------------------------------------
# Engine selection and build errors
# ---------------------------------------------------------------------------------------------
def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown engine 'fortran'.*cython.*reference"):
        engines.get_engine("fortran")


def hide_kernel(monkeypatch) -> None:
    """Make ``from adoption_abm.engines import _kernels`` fail, as in an install without a
    compiler."""
    import adoption_abm.engines

    monkeypatch.setitem(sys.modules, "adoption_abm.engines._kernels", None)
    monkeypatch.delattr(adoption_abm.engines, "_kernels")


def test_missing_kernel_says_how_to_build_it(monkeypatch):
    hide_kernel(monkeypatch)
    assert not engines.kernel_available()
    with pytest.raises(engines.KernelUnavailable, match=r"pip install \.") as err:
        AdoptionModel(scale=0.002, engine="cython")
    assert "build_ext --inplace" in str(err.value) and "engine='reference'" in str(err.value)
    AdoptionModel(scale=0.002, engine="reference").run(2)  # the reference still works


def test_stale_kernel_is_reported_as_stale(monkeypatch):
    monkeypatch.setattr(_kernels, "ABI", engines.KERNEL_ABI - 1)
    with pytest.raises(engines.KernelUnavailable, match=r"stale .*rebuild"):
        engines.get_engine("cython")


def test_kernel_directives_come_from_setup_py_only():
    """The .pyx header sets only the language level, so setup.py's directives apply: no bounds
    checks in the normal build (ADOPTION_ABM_DEBUG unset)."""
    for name in ("_kernels.pyx", "_kernels.pxd"):
        text = (ROOT / "src" / "adoption_abm" / "engines" / name).read_text(encoding="utf-8")
        directives = [line for line in text.splitlines() if line.startswith("# cython:")]
        assert directives == ["# cython: language_level=3"], name
    if os.environ.get("ADOPTION_ABM_DEBUG") == "1":
        pytest.skip("the installed kernel may be a debug build")
    assert _kernels.BOUNDS_CHECKED is False


def build_debug_kernel(directory: Path) -> ModuleType:
    """setup.py's build with ADOPTION_ABM_DEBUG=1, from a copy of the sources in ``directory``,
    imported under its module name (not registered in ``sys.modules``)."""
    pytest.importorskip("Cython", reason="building the kernel needs Cython")
    engines_dir = directory / "src" / "adoption_abm" / "engines"
    engines_dir.mkdir(parents=True)
    for name in ("_kernels.pyx", "_kernels.pxd"):
        shutil.copy(ROOT / "src" / "adoption_abm" / "engines" / name, engines_dir / name)
    for package in (engines_dir.parent, engines_dir):  # Cython finds the .pxd by package
        (package / "__init__.py").touch()
    shutil.copy(ROOT / "setup.py", directory / "setup.py")
    command = [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", "lib"]
    command += ["--build-temp", "tmp"]
    env = os.environ | {"ADOPTION_ABM_DEBUG": "1"}
    proc = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    built = directory / "lib" / "adoption_abm" / "engines"
    (path,) = [
        p for p in built.iterdir() if p.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    ]
    spec = importlib.util.spec_from_file_location("adoption_abm.engines._kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_debug_build_checks_every_index(tmp_path):
    debug = build_debug_kernel(tmp_path)
    assert debug.BOUNDS_CHECKED and debug.ABI == engines.KERNEL_ABI
    step = functools.partial(engines.cython_step, kernels=debug)
    # whole years in lockstep with the reference, every mechanism on and stronger: no index
    # out of range in normal use
    for scenario in ("france-2022", FOUR_FAMILIES):
        kwargs = {"seed": 5, "scale": 0.002, "agents": "none"}
        kwargs["overrides"] = STRONG | {"behaviour.training_rate": 0.2}
        ref = AdoptionModel(scenario, engine="reference", **kwargs)
        checked = AdoptionModel(scenario, engine=step, **kwargs)
        for _ in range(24):
            ref.step()
            checked.step()
            assert_same(ref, checked, f"debug build, {scenario}")
    # and on random support and resist flags in a busy month
    model = AdoptionModel(seed=5, scale=0.002, engine="reference", agents="none")
    random_state(model, 5)
    par = busy_params(model)
    outs = []
    for engine in (rules.professionals_step, step):
        pop = copy_pop(model.pop)
        new_state = np.empty_like(pop.state)
        tally = engine(pop, model.est, model.network, par, np.uint64(3), new_state)
        outs.append((new_state, pop.skill, pop.trained, *tally))
    for label, a, b in zip(STEP_FIELDS, *outs, strict=True):
        assert np.array_equal(a, b), f"debug build: {label} differs on a busy month"
    # an index past the end is an IndexError, not a silent read
    model = AdoptionModel(seed=1, scale=0.002, engine="reference", agents="none")
    par, key = model.month_params(1), np.uint64(1)

    def run(pop=model.pop, net=model.network, threads=1):
        step(pop, model.est, net, par, key, np.empty_like(pop.state), threads=threads)

    run()
    run(threads=2)
    for threads in (1, 2):  # on two threads, raised in the second block (row n - 7)
        for column, bad in (("establishment", model.est.n), ("profession", len(par.p) + 5)):
            pop = copy_pop(model.pop)
            getattr(pop, column)[7 if threads == 1 else pop.n - 7] = bad
            with pytest.raises(IndexError):
                run(pop=pop, threads=threads)
    indices = model.network.indices.copy()
    indices[3] = model.pop.n
    with pytest.raises(IndexError, match="past"):
        run(net=Network(model.network.indptr, indices))


def test_cli_reports_a_missing_kernel_without_traceback(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from adoption_abm.cli.main import app

    hide_kernel(monkeypatch)
    result = CliRunner().invoke(app, ["run", "--scale", "0.002", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "pip install" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(
        app, ["run", "--scale", "0.002", "--engine", "reference", "--out", str(tmp_path / "y")]
    )
    assert result.exit_code == 0, result.output


def test_cli_engines_give_the_same_files(tmp_path):
    from typer.testing import CliRunner

    from adoption_abm.cli.main import app

    outs = {}
    for engine in ("cython", "reference"):
        out = tmp_path / engine
        args = ["run", "--scale", "0.002", "--seed", "3", "--engine", engine, "--out", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        outs[engine] = (out / "indicators.parquet").read_bytes()
    import polars as pl

    a = pl.read_parquet(tmp_path / "cython" / "indicators.parquet")
    b = pl.read_parquet(tmp_path / "reference" / "indicators.parquet")
    assert a.equals(b)


# ---------------------------------------------------------------------------------------------
# Scale without Python objects; Mesa agents as views
# ---------------------------------------------------------------------------------------------
def test_arrays_are_compact_and_ordered_by_establishment():
    m = AdoptionModel(seed=1, scale=0.005, agents="none")
    assert m.pop.state.dtype == np.uint8 and m.pop.trained.dtype == np.uint8
    assert m.pop.profession.dtype == np.uint8 and m.pop.establishment.dtype == np.int32
    assert m.network.indptr.dtype == np.int32 and m.network.indices.dtype == np.int32
    assert np.all(np.diff(m.pop.establishment) >= 0)  # rows grouped by establishment
    own = np.repeat(m.pop.establishment, np.diff(m.network.indptr))
    same = own == m.pop.establishment[m.network.indices]
    profession_ties = m.inputs.network.professional_ties
    # every tie but the few same-profession ties stays inside the establishment
    assert same.mean() > 1.0 - profession_ties / m.network.degree().mean() - 0.02


def test_large_models_create_no_mesa_agents_until_asked():
    n_scale = (AUTO_AGENT_LIMIT + 5_000) / 1_043_000
    m = AdoptionModel(seed=1, scale=n_scale, agents="auto")
    assert m.pop.n > AUTO_AGENT_LIMIT
    assert len(m.agents) == 0
    m.run(3)
    assert len(m.agents) == 0
    a = m.professional(123)  # created on demand, a view on the arrays
    assert len(m.agents) == 1
    assert a.state("ai") == int(m.pop.state[123, 0])
    m2 = AdoptionModel(seed=1, scale=0.005, agents=25)
    assert len(m2.agents_by_type[Professional]) == 25


def test_agentset_operations_reach_the_kernel():
    """Writes through the agents reach the arrays (discontinuance off, so nobody un-adopts)."""
    m = AdoptionModel(seed=2, scale=0.003, overrides={"mechanisms.discontinuance.enabled": False})
    m.run(25)
    people = m.agents_by_type[Professional]
    adopters = people.select(lambda a: a.adopted > 0)
    assert len(adopters) == int((m.pop.state >= 1).any(axis=1).sum())
    assert people.agg("skill", max) == pytest.approx(float(m.pop.skill.max()))
    # writing through the agents writes the arrays the kernel reads
    people.do(lambda a: a.set_state("digital", 1) if a.state("digital") == 0 else None)
    assert (m.pop.state[:, 1] >= 1).all()
    before = int((m.pop.state[:, 1] == 2).sum())
    birth = m.pop.birth.copy()
    m.step()
    stayed = m.pop.birth == birth  # not replaced by an entrant this month
    assert stayed.mean() > 0.99
    assert (m.pop.state[stayed, 1] >= 1).all()  # nobody un-adopts without discontinuance
    assert int((m.pop.state[:, 1] == 2).sum()) > before  # and the new users start mastering


# ---------------------------------------------------------------------------------------------
# The network build: faster and lighter, same arrays for a given seed
# ---------------------------------------------------------------------------------------------
def synthetic_inputs(seed: int = 0, n_est: int = 40):
    """Establishments of 1 to 400 professionals (the first three of 1, 2, 3), teams of 4-12,
    professions 1-8 plus a profession of one (profession 0)."""
    g = np.random.default_rng(seed)
    sizes = g.integers(1, 400, n_est)
    sizes[:3] = [1, 2, 3]
    start = np.zeros(n_est + 1, dtype=np.int32)
    np.cumsum(sizes, out=start[1:])
    establishment = np.repeat(np.arange(n_est, dtype=np.int32), sizes)
    team_size = g.integers(4, 13, n_est)
    profession = g.integers(1, 9, start[-1]).astype(np.uint8)
    profession[0] = 0
    return establishment, start, team_size, profession


def network_digest(net: Network, rng: np.random.Generator) -> str:
    import hashlib

    h = hashlib.sha256()
    for a in (net.indptr, net.indices):
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    h.update(rng.random(4).tobytes())  # and the generator is left where it was
    return h.hexdigest()[:20]


# Digests of the network built by the original whole-population implementation (commit
# 9a9f055): the calibration of the default scenario rests on these arrays.
NETWORK_GOLDEN = [
    (
        dict(team_ties=8, rewiring=0.1, establishment_ties=2, professional_ties=2),
        "95f027a97806bcb7a5bd",
    ),
    (
        dict(team_ties=16, rewiring=0.5, establishment_ties=8, professional_ties=6),
        "b5ef93adfbf04b1bcb62",
    ),
    (
        dict(team_ties=3, rewiring=1.0, establishment_ties=0, professional_ties=0),
        "68835e66fcea6cd83bbd",
    ),
]


@pytest.mark.parametrize(("params", "golden"), NETWORK_GOLDEN)
@pytest.mark.parametrize("block", [97, 1 << 17])
def test_network_build_gives_the_original_arrays_whatever_the_block(
    params, golden, block, monkeypatch
):
    from adoption_abm.model import network

    monkeypatch.setattr(network, "BLOCK", block)
    rng = np.random.default_rng(42)
    net = network.build_network(*synthetic_inputs(), rng=rng, **params)
    assert net.indptr.dtype == np.int32 and net.indices.dtype == np.int32
    assert network_digest(net, rng) == golden


def test_network_build_with_the_last_profession_of_one():
    """The original code indexed past the end when the highest profession had one member."""
    from adoption_abm.model import network

    establishment, start, team_size, profession = synthetic_inputs()
    profession[0], profession[-1] = 1, 9
    net = network.build_network(
        establishment, start, team_size, profession, team_ties=4, rewiring=0.1,
        establishment_ties=2, professional_ties=3, rng=np.random.default_rng(1),
    )  # fmt: skip
    alone = len(profession) - 1
    ties = net.ties(alone)
    assert alone not in ties and len(ties) <= 4 + 2  # team and establishment ties only
    assert np.all(establishment[ties] == establishment[alone])
