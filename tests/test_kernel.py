"""The compiled kernel is the bit-identical twin of the reference rules.

Every state array and every tally is compared after every month, between the reference (NumPy)
and the kernel in both of its modes (``lazy``: ties skipped when the month's uniforms rule out
every transition that reads them; ``scan``: ties read whenever a decision depends on them), over
several seeds, scales, rhythms and networks, with reverse mentoring and boosted training, on the
complete network of the Bass limit, on inputs built to defeat the shortcuts (negative
factors, degrees past the kernel's tables and packed counters), with one to four technology
families, and in a debug build that checks every index.
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
from adoption_abm.scenario.load import scenario_from_dict
from adoption_abm.scenario.schema import MAX_FAMILIES, Scenario

ROOT = Path(__file__).resolve().parents[1]
FOUR_FAMILIES = Path(__file__).resolve().parent / "data" / "four-families.toml"

POP_FIELDS = (
    "state", "skill", "skill0", "trained", "birth", "retire_age", "attitude", "propensity",
    "train_prob", "profession", "establishment",
)  # fmt: skip
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
    }


def assert_same(ref: AdoptionModel, other: AdoptionModel, label: str) -> None:
    where = f"{label}, month {ref.month}"
    for name in POP_FIELDS:
        a, b = getattr(ref.pop, name), getattr(other.pop, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"pop.{name} differs ({where})"
    assert np.array_equal(ref.est.deployed, other.est.deployed), f"est.deployed differs ({where})"
    assert np.array_equal(ref.tallies.cubes[-1], other.tallies.cubes[-1]), (
        f"tally cube differs ({where})"
    )
    assert np.array_equal(ref.tallies.risks[-1], other.tallies.risks[-1]), (
        f"risk tally differs ({where})"
    )


def lockstep(months: int | None = None, **kwargs) -> AdoptionModel:
    """Run one model per stepper side by side, comparing everything after every month."""
    models = {}
    for name, step in steppers().items():
        models[name] = AdoptionModel(engine=step, agents="none", **kwargs)
    ref = models.pop("reference")
    todo = ref.n_months if months is None else months
    labels = {name: f"{name} {kwargs}" for name in models}
    for _ in range(todo):
        ref.step()
        for name, m in models.items():
            m.step()
            assert_same(ref, m, labels[name])
    return ref


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
@pytest.mark.parametrize(
    ("seed", "scale", "rhythm", "overrides"),
    [
        (1, 0.005, "central", {}),
        (2, 0.002, "slow", {}),
        (3, 0.01, "fast", {}),
        (4, 0.004, "central", {"behaviour.mentoring": True}),
        (5, 0.003, "fast", {"behaviour.mentoring": True, "behaviour.training_rate": 0.25}),
        (
            6,
            0.004,
            "central",
            {"behaviour.training_rate": 0.4, "behaviour.training_adoption_boost": 3.0},
        ),
        (7, 0.003, "central", TWENTY_TIES | {"behaviour.mentoring": True}),
    ],
)
def test_kernel_is_bit_identical_over_a_whole_run(seed, scale, rhythm, overrides):
    ref = lockstep(seed=seed, scale=scale, rhythm=rhythm, overrides=overrides)
    assert ref.month == ref.n_months
    # the run did exercise the rules: adoption, mastery and training all happened
    assert (ref.pop.state == 2).mean() > 0.3
    assert ref.pop.trained.any()


def test_kernel_is_bit_identical_with_degrees_past_the_share_table():
    """Degrees of 40 and more: shares are divided, not read from the kernel's table."""
    overrides = {"network.professional_ties": 60, "behaviour.mentoring": True}
    ref = lockstep(months=60, seed=8, scale=0.003, overrides=overrides)
    assert (ref.network.degree() >= 40).mean() > 0.5


# ---------------------------------------------------------------------------------------------
# One step on adversarial inputs, straight through the step functions
# ---------------------------------------------------------------------------------------------
def random_state(model: AdoptionModel, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_fam = model.pop.state.shape
    model.pop.state[...] = rng.choice(3, size=(n, n_fam), p=[0.5, 0.3, 0.2]).astype(np.uint8)
    model.pop.trained[...] = (rng.random((n, n_fam)) < 0.3).astype(np.uint8)
    model.pop.skill[...] = rng.random(n).astype(np.float32)
    model.pop.train_prob[...] = rng.uniform(0.0, 0.5, n).astype(np.float32)
    model.est.deployed[...] = (rng.random(model.est.deployed.shape) < 0.8).astype(np.uint8)


def compare_one_step(
    model: AdoptionModel, par: rules.MonthParams, net: Network, keys=range(1, 6)
) -> dict:
    """Every stepper from copies of the same state with the same keys; returns the reference
    transition counts (so tests can check the case did exercise something)."""
    counts = {"adopted": 0, "mastered": 0, "trained": 0}
    for key in keys:
        results = {}
        for name, step in steppers().items():
            pop = type(model.pop)(**{k: v.copy() for k, v in vars(model.pop).items()})
            new_state = np.empty_like(pop.state)
            cube, risk = step(pop, model.est, net, par, np.uint64(key), new_state)
            results[name] = (new_state, pop.skill, pop.trained, cube, risk)
        ref = results.pop("reference")
        for name, res in results.items():
            for label, a, b in zip(
                ("state", "skill", "trained", "cube", "risk"), ref, res, strict=True
            ):
                assert np.array_equal(a, b), f"{name}: {label} differs (key {key})"
        old = model.pop.state
        counts["adopted"] += int(((old == 0) & (ref[0] == 1)).sum())
        counts["mastered"] += int(((old == 1) & (ref[0] == 2)).sum())
        counts["trained"] += int((ref[2] != model.pop.trained).sum())
    return counts


def busy_params(model: AdoptionModel, **changes) -> rules.MonthParams:
    """A month with large hazards, so that every kind of transition happens."""
    par = model.month_params(1)
    par.adopt_mult = par.adopt_mult * 20.0
    par.master_mult = par.master_mult * 5.0
    par.mentoring = True
    par.mentoring_adoption = 0.8
    par.mentoring_learning = 2.0
    for name, value in changes.items():
        setattr(par, name, value)
    return par


NO_MENTORING = {"mentoring": False, "mentoring_adoption": 0.0, "mentoring_learning": 0.0}
SIGN_FLIP = {"p": np.array([-0.5, -0.5, -0.5]), "q": np.array([1.0, 1.0, 1.0])}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        NO_MENTORING,
        # Factors that make a hazard shrink as the peer shares grow, or change sign: the hazard
        # at shares 1 is then no upper bound, and the lazy kernel must read the ties. Each of
        # these cases fails if the kernel uses the bound regardless of signs (checked by hand).
        NO_MENTORING | {"p": np.array([0.5, 0.5, 0.5]), "q": np.array([-0.49, -0.45, -0.3])},
        {"mentoring_adoption": -2.0, "p": np.array([3.0, 3.0, 3.0])},
        {"mentoring_learning": -0.9},
        SIGN_FLIP | {"skill_effect": 4.0},  # negative ψ (1 + s (skill - 1/2)) for low skill
        SIGN_FLIP | {"train_adopt_boost": -1.5, "train_master_boost": -1.2},
        SIGN_FLIP | {"adopt_mult": "negative"},
    ],
)
def test_kernel_is_bit_identical_on_adversarial_months(changes):
    model = AdoptionModel(seed=11, scale=0.004, engine="reference", agents="none")
    random_state(model, 11)
    par = busy_params(model)
    for name, value in changes.items():
        setattr(par, name, -getattr(par, name) if isinstance(value, str) else value)
    counts = compare_one_step(model, par, model.network)
    assert counts["adopted"] > 1000 and counts["trained"] > 1000, counts


def kernel_peer_counts(
    net: Network, state: np.ndarray, birth: np.ndarray, gap: float, mentoring: bool
):
    use = np.empty(state.shape, dtype=np.int32)
    young = np.empty(state.shape, dtype=np.int32)
    kernel_net = _kernels.Network(net.indptr, net.indices, net.complete)
    _kernels.peer_counts(kernel_net, state, birth, mentoring, gap, use, young)
    return use, young


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
    use, young = kernel_peer_counts(net, pop.state, pop.birth, 10.0, mentoring=True)
    assert np.array_equal(use, rules.tie_counts(net, pop.state >= rules.USING))
    assert np.array_equal(young, rules.mentor_counts(net, pop.state, pop.birth, 10.0))
    assert young.sum() > 0 and (use[0].max() > 2**20 if huge else use.max() > 1)
    use_only, none = kernel_peer_counts(net, pop.state, pop.birth, 10.0, mentoring=False)
    assert np.array_equal(use_only, use) and not none.any()


@pytest.mark.parametrize(
    ("scenario", "ties"),
    [("france-2022", 2**21 + 7), (FOUR_FAMILIES, 2**16 + 7)],
    ids=["three-families", "four-families"],
)
def test_kernel_is_bit_identical_past_its_packed_counters(scenario, ties):
    """Lanes of 64 // F bits: 21 for three families, 16 for four."""
    model = AdoptionModel(scenario, seed=12, scale=0.002, engine="reference", agents="none")
    random_state(model, 12)
    model.pop.state[0] = 0
    model.pop.state[0, 1] = 1
    model.est.deployed[model.pop.establishment[0]] = 1
    counts = compare_one_step(
        model, busy_params(model), huge_network(model.pop.n, ties), keys=range(1, 6)
    )
    assert counts["adopted"] > 0


# ---------------------------------------------------------------------------------------------
# One to four technology families
# ---------------------------------------------------------------------------------------------
def fewer_families(base: dict, keep: tuple[str, ...]) -> Scenario:
    """The built-in scenario with only the families ``keep`` (the role table follows)."""
    data = copy.deepcopy(base)
    tech = data["technologies"]
    for name in [k for k, v in tech.items() if isinstance(v, dict) and k not in keep]:
        del tech[name]
    tables = [
        *data["deployment"]["base_rate"].values(),
        *data["deployment"]["initial"].values(),
        *data["potential"]["shares"].values(),
    ]
    for table in tables:
        for name in [k for k in table if k not in keep]:
            del table[name]
    return scenario_from_dict(data, label=f"france-2022 with {', '.join(keep)}")


def assert_exercised(ref: AdoptionModel, n_families: int) -> None:
    assert ref.month == ref.n_months
    assert ref.pop.state.shape[1] == n_families
    # every family was adopted and mastered, and trained on
    assert ((ref.pop.state == 2).mean(axis=0) > 0.3).all()
    assert ref.pop.trained.any(axis=0).all()


@pytest.mark.parametrize(
    ("seed", "overrides"), [(21, {}), (22, {"behaviour.mentoring": True})], ids=["", "mentoring"]
)
def test_four_families_are_bit_identical_over_a_whole_run(seed, overrides):
    ref = lockstep(scenario=FOUR_FAMILIES, seed=seed, scale=0.003, overrides=overrides)
    assert_exercised(ref, 4)


@pytest.mark.parametrize(
    ("keep", "overrides"),
    [(("ai",), {}), (("digital", "robotics"), {"behaviour.mentoring": True})],
    ids=["one", "two-mentoring"],
)
def test_fewer_families_are_bit_identical_over_a_whole_run(base_dict, keep, overrides):
    scenario = fewer_families(base_dict, keep)
    ref = lockstep(scenario=scenario, seed=23, scale=0.003, overrides=overrides)
    assert_exercised(ref, len(keep))


@pytest.mark.parametrize("changes", [{}, NO_MENTORING], ids=["mentoring", "no-mentoring"])
def test_four_families_are_bit_identical_on_busy_months(changes):
    model = AdoptionModel(FOUR_FAMILIES, seed=13, scale=0.004, engine="reference", agents="none")
    random_state(model, 13)
    counts = compare_one_step(model, busy_params(model, **changes), model.network)
    assert counts["adopted"] > 1000 and counts["mastered"] > 1000 and counts["trained"] > 1000


@pytest.mark.parametrize("n_families", range(1, MAX_FAMILIES + 1))
def test_kernel_tie_counts_for_any_number_of_families(n_families):
    model = AdoptionModel(seed=14, scale=0.003, engine="reference", agents="none")
    net, birth = model.network, model.pop.birth
    rng = np.random.default_rng(n_families)
    state = rng.choice(3, size=(model.pop.n, n_families), p=[0.4, 0.3, 0.3]).astype(np.uint8)
    use, young = kernel_peer_counts(net, state, birth, 10.0, mentoring=True)
    assert np.array_equal(use, rules.tie_counts(net, state >= rules.USING))
    assert np.array_equal(young, rules.mentor_counts(net, state, birth, 10.0))
    assert use.min() >= 0 and young.sum() > 0 and use.max() > 1


LANE_LIMITS = {1: None, 2: None, 3: 2**21, 4: 2**16}
"""Degrees from which the kernel counts with plain counters instead of lanes of 64 // F bits
(none: the degree is an int32)."""


@pytest.mark.parametrize(
    ("n_families", "ties"),
    [(f, LANE_LIMITS[f] + d) for f in (3, 4) for d in (-1, 0, 7)] + [(1, 2**21 + 7), (2, 2**21)],
)
def test_kernel_tie_counts_at_the_lane_limit(n_families, ties):
    """Professional 0's ties all use and master every family, so each count is the degree: the
    largest that fits a lane (limit - 1), the limit itself and past it (plain counters)."""
    n = 64
    net = huge_network(n, ties)
    state = np.full((n, n_families), 2, dtype=np.uint8)
    birth = np.full(n, 1990.0, dtype=np.float32)
    birth[0] = 1960.0  # everyone else is 30 years younger
    use, young = kernel_peer_counts(net, state, birth, 10.0, mentoring=True)
    assert use[0].tolist() == [ties] * n_families and young[0].tolist() == [ties] * n_families
    assert np.array_equal(use, rules.tie_counts(net, state >= rules.USING))
    assert np.array_equal(young, rules.mentor_counts(net, state, birth, 10.0))


def kernel_inputs(n: int, n_families: int, n_est: int = 2, deployed_families: int | None = None):
    """The kernel's input objects for ``n`` professionals, nothing adopted, one profession."""
    est_families = n_families if deployed_families is None else deployed_families
    z8, z32, f32 = np.zeros(n, np.uint8), np.zeros(n, np.int32), np.zeros(n, np.float32)
    states = [np.zeros((n, n_families), np.uint8) for _ in range(3)]
    pop = _kernels.Professionals(z8, z32, f32, f32, f32, f32, states[0], f32.copy(), *states[1:])
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
        _kernels.peer_counts(net, state, np.zeros(10, np.float32), False, 10.0, z, z.copy())


def test_kernel_refuses_arrays_that_disagree_on_the_families():
    model = AdoptionModel(FOUR_FAMILIES, seed=1, scale=0.002, engine="reference", agents="none")
    par = model.month_params(1)
    net, pop, est = kernel_inputs(model.pop.n, 4, deployed_families=3)
    month = engines.kernel_month(par, np.uint64(1), _kernels)
    cube = np.zeros((8, 5, 5, 4, 3), np.int64)
    with pytest.raises(ValueError, match=r"est\.deployed has 3 families, the states have 4"):
        _kernels.professionals_step(net, pop, est, month, cube, np.zeros((8, 4), np.int64))
    net, pop, est = kernel_inputs(model.pop.n, 4)
    with pytest.raises(ValueError, match="cube has shape"):
        risk = np.zeros((8, 4), np.int64)
        _kernels.professionals_step(net, pop, est, month, cube[:, :, :, :3].copy(), risk)
    three = AdoptionModel(seed=1, scale=0.002, engine="reference", agents="none")
    month3 = engines.kernel_month(three.month_params(1), np.uint64(1), _kernels)
    with pytest.raises(ValueError, match="the month's parameters has 3 families"):
        _kernels.professionals_step(net, pop, est, month3, cube, np.zeros((8, 4), np.int64))


# ---------------------------------------------------------------------------------------------
# The complete network (Bass limit)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "q", "seed"), [(0.03, 0.38, 0), (0.011, 0.58, 1), (0.2, 0.0, 2)])
def test_bass_limit_is_bit_identical(p, q, seed):
    a = validation.bass_run(p, q, n_agents=3000, years=15, seed=seed, engine="cython")
    b = validation.bass_run(p, q, n_agents=3000, years=15, seed=seed, engine="reference")
    assert np.array_equal(a, b)
    assert a[-1] > 0.3


def test_complete_network_refuses_mentoring_in_both_engines():
    pop, est = validation.bass_population(50)
    net = Network.complete_graph(50)
    par = validation.bass_params(0.03, 0.38)
    par.mentoring = True
    for step in steppers().values():
        with pytest.raises(NotImplementedError, match="complete network"):
            step(pop, est, net, par, np.uint64(1), np.empty_like(pop.state))


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
    # whole years in lockstep with the reference: no index out of range in normal use
    for scenario in ("france-2022", FOUR_FAMILIES):
        kwargs = {"seed": 5, "scale": 0.002, "agents": "none"}
        kwargs["overrides"] = {"behaviour.mentoring": True, "behaviour.training_rate": 0.2}
        ref = AdoptionModel(scenario, engine="reference", **kwargs)
        checked = AdoptionModel(scenario, engine=step, **kwargs)
        for _ in range(24):
            ref.step()
            checked.step()
            assert_same(ref, checked, f"debug build, {scenario}")
    # an index past the end is an IndexError, not a silent read
    model = AdoptionModel(seed=1, scale=0.002, engine="reference", agents="none")
    par, key = model.month_params(1), np.uint64(1)

    def run(pop=model.pop, net=model.network):
        step(pop, model.est, net, par, key, np.empty_like(pop.state))

    run()
    for column, bad in (("establishment", model.est.n), ("profession", len(par.p) + 5)):
        pop = type(model.pop)(**{k: v.copy() for k, v in vars(model.pop).items()})
        getattr(pop, column)[7] = bad
        with pytest.raises(IndexError):
            run(pop=pop)
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
    m = AdoptionModel(seed=2, scale=0.003)
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
    assert (m.pop.state[stayed, 1] >= 1).all()  # nobody un-adopts
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
