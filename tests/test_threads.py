"""The compiled kernel on several OpenMP threads gives the results of one thread, bit for bit.

The professionals are cut into one contiguous block a thread; each block writes its own rows
and its own copy of the tallies (integer sums), and every uniform is a pure function of (month
key, row): so states, skills, training and every tally must be identical for 1, 2 and 3
threads, and identical to the reference (NumPy) engine. No timing here
(``experiments/bench_threads.py`` measures the speed-up).
"""

from __future__ import annotations

import numpy as np
import pytest

from adoption_abm import AdoptionModel, rules
from adoption_abm.cli import options
from adoption_abm.engines import _kernels
from adoption_abm.engines import registry as engines
from adoption_abm.model.network import Network
from adoption_abm.oracles import bass as validation
from adoption_abm.rules.states import LEGACY, MENTORED
from adoption_abm.scenario import ScenarioError

POP_FIELDS = ("state", "skill", "trained", "birth", "propensity", "train_prob", "support")
TALLY_FIELDS = ("cubes", "risks", "legacy", "courses", "mentoring")
STEP_FIELDS = ("state", "skill", "trained", *rules.MonthTally._fields)


def assert_same(ref: AdoptionModel, other: AdoptionModel, label: str) -> None:
    where = f"{label}, month {ref.month}"
    for name in POP_FIELDS:
        a, b = getattr(ref.pop, name), getattr(other.pop, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"pop.{name} differs ({where})"
    assert np.array_equal(ref.est.deployed, other.est.deployed), f"deployed differs ({where})"
    for name in TALLY_FIELDS:
        a, b = getattr(ref.tallies, name)[-1], getattr(other.tallies, name)[-1]
        assert a.dtype == b.dtype and np.array_equal(a, b), f"tally {name} differs ({where})"


@pytest.mark.parametrize(("seed", "scale", "rhythm"), [(1, 0.004, "central"), (2, 0.003, "fast")])
def test_whole_runs_are_identical_on_one_two_and_three_threads(seed, scale, rhythm):
    """The default scenario (every mechanism on), every month: AdoptionModel(threads=k) for
    k = 1, 2, 3 against the reference engine, and the kernel really ran (not the reference)."""
    kwargs = {"seed": seed, "scale": scale, "rhythm": rhythm, "agents": "none"}
    ref = AdoptionModel(engine="reference", **kwargs)
    runs = {k: AdoptionModel(engine="cython", threads=k, **kwargs) for k in (1, 2, 3)}
    for k, model in runs.items():
        assert model.threads == k
        assert model._step_professionals is not rules.professionals_step
    for _ in range(ref.n_months):
        ref.step()
        for k, model in runs.items():
            model.step()
            assert_same(ref, model, f"{k} threads")
    # the run exercised adoption, mastery, training and the mechanisms' tallies
    assert (ref.pop.state == 2).mean() > 0.3 and ref.pop.trained.any()
    assert sum(int(a.sum()) for a in ref.tallies.legacy) > 0
    assert sum(int(a.sum()) for a in ref.tallies.risks) > 0
    assert sum(int(a.sum()) for a in ref.tallies.courses) > 0


def busy_state(seed: int, scale: float) -> tuple[AdoptionModel, rules.MonthParams]:
    """Random states, training, support and resister flags and a month with large hazards and
    discontinuance: every kind of transition and tally happens in one step."""
    model = AdoptionModel(seed=seed, scale=scale, engine="reference", agents="none")
    rng = np.random.default_rng(seed)
    n, n_fam = model.pop.state.shape
    model.pop.state[...] = rng.choice(3, size=(n, n_fam), p=[0.5, 0.3, 0.2]).astype(np.uint8)
    model.pop.trained[...] = (rng.random((n, n_fam)) < 0.3).astype(np.uint8)
    model.pop.skill[...] = rng.random(n).astype(np.float32)
    model.pop.train_prob[...] = rng.uniform(0.0, 0.5, n).astype(np.float32)
    model.est.deployed[...] = (rng.random(model.est.deployed.shape) < 0.8).astype(np.uint8)
    support = (rng.random((n, n_fam)) < 0.3) * MENTORED | (rng.random((n, n_fam)) < 0.3) * LEGACY
    model.pop.support[...] = support.astype(np.uint8)
    model.pop.resist[...] = (rng.random(n) < 0.3).astype(np.uint8)
    par = model.month_params(1)
    par.adopt_mult = par.adopt_mult * 20.0
    par.master_mult = par.master_mult * 5.0
    par.quit_mult = np.full_like(par.adopt_mult, 0.2)
    par.risk_keep = np.linspace(0.0, 1.0, par.adopt_mult.shape[0])
    return model, par


def one_step(model: AdoptionModel, par, step, key: int) -> tuple[np.ndarray, ...]:
    pop = type(model.pop)(
        **{k: None if v is None else v.copy() for k, v in vars(model.pop).items()}
    )
    new_state = np.empty_like(pop.state)
    tally = step(pop, model.est, model.network, par, np.uint64(key), new_state)
    return (new_state, pop.skill, pop.trained, *tally)


@pytest.mark.parametrize("lazy", [True, False])
def test_one_busy_month_is_identical_for_any_thread_count(lazy):
    """1 to 8 threads, in both kernel modes."""
    model, par = busy_state(seed=4, scale=0.003)
    for key in (1, 2):
        ref = one_step(model, par, rules.professionals_step, key)
        assert ref[0].sum() > 0 and ref[STEP_FIELDS.index("legacy")].sum() > 0
        for threads in (1, 2, 3, 4, 7, 8):
            step = engines.get_engine("cython", lazy=lazy, threads=threads)
            got = one_step(model, par, step, key)
            for label, a, b in zip(STEP_FIELDS, ref, got, strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b), (
                    f"{threads} threads, lazy={lazy}: {label} differs (key {key})"
                )


def test_many_blocks_a_thread_are_identical():
    """More rows than a few blocks (``_kernels.BLOCK_ROWS``), so each thread runs several
    blocks, in whatever order the dynamic schedule hands them out: one busy month, 1, 2 and 3
    threads, against the reference."""
    model, par = busy_state(seed=6, scale=0.04)
    assert model.pop.n > 2 * _kernels.BLOCK_ROWS
    ref = one_step(model, par, rules.professionals_step, 3)
    for threads in (1, 2, 3):
        got = one_step(model, par, engines.get_engine("cython", threads=threads), 3)
        for label, a, b in zip(STEP_FIELDS, ref, got, strict=True):
            assert np.array_equal(a, b), f"{threads} threads: {label} differs"


def test_more_threads_than_professionals():
    """Six professionals on the complete network, every family deployed, 8 threads: one block
    (the rows are not split finer than one a thread), the results of one thread."""
    pop, est = validation.bass_population(6)
    est.deployed[...] = 1
    par = validation.bass_params(0.3, 0.4)
    net = Network.complete_graph(6)
    outs = []
    for threads in (1, 8):
        p_ = type(pop)(**{k: None if v is None else v.copy() for k, v in vars(pop).items()})
        step = engines.get_engine("cython", threads=threads)
        states = []
        for key in range(1, 25):
            new_state = np.empty_like(p_.state)
            tally = step(p_, est, net, par, np.uint64(key), new_state)
            p_.state = new_state
            states.append((new_state.copy(), *tally))
        outs.append(states)
    for month, (a, b) in enumerate(zip(*outs, strict=True)):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y), f"month {month + 1}"
    assert (outs[0][-1][0] >= 1).any()


def test_tallies_are_summed_over_the_blocks():
    """With several blocks, the returned tallies count every professional once (not block 0's
    share only): the cube's total is the headcount times the families."""
    model, par = busy_state(seed=5, scale=0.003)
    for threads in (1, 2, 3):
        tally = one_step(model, par, engines.get_engine("cython", threads=threads), 1)[3:]
        cube = tally[0]
        assert cube.sum() == model.pop.n * model.pop.state.shape[1]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None, engines.MAX_THREADS + 1])
def test_bad_thread_counts_are_named_errors(bad):
    if bad is not None:
        with pytest.raises(ScenarioError, match="threads"):
            AdoptionModel(scale=0.001, threads=bad)
    with pytest.raises(ValueError, match="threads"):
        engines.get_engine("cython", threads=bad)


def test_kernel_refuses_zero_threads():
    model = AdoptionModel(seed=1, scale=0.001, agents="none")
    par = model.month_params(1)
    kernels = _kernels
    with pytest.raises(ValueError, match="threads"):
        engines.cython_step(
            model.pop, model.est, model.network, par, np.uint64(1),
            np.empty_like(model.pop.state), threads=0, kernels=kernels,
        )  # fmt: skip


def test_default_is_one_thread():
    assert AdoptionModel(scale=0.001, agents="none").threads == 1
    assert AdoptionModel(scale=0.001, agents="none", threads=np.int64(2)).threads == 2


def test_build_reports_openmp():
    """The installed kernel says whether it was built with OpenMP (a bool, either is valid)."""
    assert isinstance(_kernels.OPENMP, bool)


def test_cli_and_engine_agree_on_the_thread_bound():
    assert options.MAX_THREADS == engines.MAX_THREADS


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "--threads 0: must be an integer from 1"), ("-3", "--threads -3"),
     ("2.5", "'--threads'"), ("two", "'--threads'"), ("5000", "--threads 5000")],
)  # fmt: skip
def test_cli_refuses_bad_thread_counts(tmp_path, value, message):
    from typer.testing import CliRunner

    from adoption_abm.cli.main import app

    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "--scale", "0.001", "--out", str(out), "--threads", value]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_threads_give_the_same_files(tmp_path):
    """``adoption-abm run --threads 1`` and ``--threads 2``: identical output files (the
    ``seconds`` of summary.json aside)."""
    import json

    from typer.testing import CliRunner

    from adoption_abm.cli.main import app

    outs = {}
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}"
        args = ["run", "--scale", "0.002", "--seed", "3", "--out", str(out), "--threads", threads]
        result = CliRunner().invoke(app, [*args, "--no-progress"])
        assert result.exit_code == 0, result.output
        outs[threads] = out
    for name in ("timeseries.parquet", "indicators.parquet", "breakdown.parquet", "scenario.toml"):
        assert (outs["1"] / name).read_bytes() == (outs["2"] / name).read_bytes(), name
    a, b = (json.loads((outs[t] / "summary.json").read_text()) for t in ("1", "2"))
    a.pop("seconds"), b.pop("seconds")
    assert a == b


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_threads_wait_asleep_unless_the_environment_says_otherwise(given, expected):
    """``adoption_abm.engines`` sets OMP_WAIT_POLICY=PASSIVE before the OpenMP runtime loads
    (spinning threads were several times slower on a shared machine), and keeps a user's
    value."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, adoption_abm.engines._kernels; print(os.environ['OMP_WAIT_POLICY'])"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected
