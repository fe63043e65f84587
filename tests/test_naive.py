"""The naive Mesa implementation follows the same rules as the reference, in distribution.

The naive model implements the core rules only (every mechanism of version 2 off,
:data:`~adoption_abm.engines.naive.model.CORE_RULES`), so the reference side of every comparison
is an ``AdoptionModel`` with ``overrides=CORE_RULES``. It draws its own random numbers
(Python's ``random``), so it cannot be bit-identical; instead:

* from one seed both start from the same population (same build);
* from the same state, one month of decisions gives the same expected transition counts;
* over seeds, whole runs give the same distribution of outcomes (means and variances).

Tolerances come from the replications: Welch's t statistic of the difference of two means of
``R`` independent replications each is compared with 5 (for ~30 degrees of freedom,
P(|t| > 5) < 2e-5 per statistic, so the ~10 statistics of a test hold together with
probability > 0.999 when the rules agree); variances are compared with the F distribution's
0.05 % and 99.95 % quantiles. A deliberately wrong rule is shown to fail the same check.
"""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from scipy import stats

from adoption_abm import AdoptionModel, rules
from adoption_abm.engines.naive.model import CORE_RULES, NaiveModel, NaiveProfessional
from adoption_abm.rules.stream import month_key

T_LIMIT = 5.0


def welch_t(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    diff = a.mean() - b.mean()
    return 0.0 if se == 0 and diff == 0 else float(diff / se)


def transitions(
    old_state: np.ndarray, new_state: np.ndarray, old_trained, new_trained
) -> np.ndarray:
    """Adoptions per family, masteries per family, courses taken: 7 counts."""
    adopt = ((old_state == 0) & (new_state == 1)).sum(axis=0)
    master = ((old_state == 1) & (new_state == 2)).sum(axis=0)
    courses = (np.asarray(new_trained) != np.asarray(old_trained)).sum()
    return np.concatenate([adopt, master, [courses]])


def one_month_counts(
    model: AdoptionModel, reps: int, q_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(reps, 7) transition counts of the reference and of the naive model, each from
    ``model``'s current state, one month, independent random numbers per replication."""
    par = model.month_params(model.month + 1)
    rng = np.random.default_rng(99)
    ref, naive = [], []
    for r in range(reps):
        pop = type(model.pop)(
            **{k: None if v is None else v.copy() for k, v in vars(model.pop).items()}
        )
        new_state = np.empty_like(pop.state)
        rules.professionals_step(pop, model.est, model.network, par, month_key(rng), new_state)
        ref.append(transitions(model.pop.state, new_state, model.pop.trained, pop.trained))

        nm = NaiveModel.from_model(model, seed=1000 + r)
        if q_scale != 1.0:
            original = nm.month_params

            def scaled(month, original=original):
                par = original(month)
                par.q = [q * q_scale for q in par.q]
                return par

            nm.month_params = scaled
        nm.step_professionals()
        people = list(nm.professionals)
        naive.append(
            transitions(
                model.pop.state,
                np.array([a.state for a in people]),
                model.pop.trained,
                np.array([a.trained for a in people]),
            )
        )
    return np.array(ref), np.array(naive)


@pytest.fixture(scope="module")
def midrun() -> AdoptionModel:
    """A 2027 state under the core rules: every family partly deployed, adopted and mastered."""
    return AdoptionModel(seed=5, scale=0.005, agents="none", overrides=CORE_RULES).run(66)


@pytest.fixture(scope="module")
def midrun_training() -> AdoptionModel:
    """The same under the core rules with a higher training rate (more courses, boosts)."""
    over = CORE_RULES | {"behaviour.training_rate": 0.1}
    return AdoptionModel(seed=6, scale=0.005, agents="none", overrides=over).run(66)


def test_same_seed_same_initial_population():
    naive = NaiveModel(seed=4, scale=0.002)
    ref = AdoptionModel(seed=4, scale=0.002, agents="none", overrides=CORE_RULES)
    assert np.array_equal(naive.state_array(), ref.pop.state)
    for name in ref.tallies._fields:  # cube, risks, legacy, courses, mentoring of month 0
        a, b = getattr(naive.tallies, name)[0], getattr(ref.tallies, name)[0]
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert not ref.pop.resist.any() and not ref.pop.support.any()  # nothing of version 2
    people = list(naive.professionals)
    assert [len(a.ties) for a in people] == ref.network.degree().tolist()
    assert np.allclose([a.propensity for a in people], ref.pop.propensity, rtol=1e-6)
    assert np.allclose([a.train_prob for a in people], ref.pop.train_prob, rtol=1e-6)


def test_naive_model_is_plain_mesa():
    naive = NaiveModel(seed=1, scale=0.001)
    assert isinstance(naive, mesa.Model)
    assert len(naive.agents_by_type[NaiveProfessional]) == len(naive.professionals)
    assert all(isinstance(t, NaiveProfessional) for a in naive.professionals for t in a.ties)
    naive.run(3)
    assert naive.month == 3 and naive.steps == 3


@pytest.mark.parametrize("fixture", ["midrun", "midrun_training"])
def test_one_month_from_the_same_state_matches_in_distribution(fixture, request):
    model = request.getfixturevalue(fixture)
    assert not model.pop.resist.any() and not model.pop.support.any()  # the core rules
    ref, naive = one_month_counts(model, reps=16)
    assert ref.mean(axis=0).min() > 5, ref.mean(axis=0)  # every kind of transition happens
    t = [welch_t(ref[:, k], naive[:, k]) for k in range(ref.shape[1])]
    assert max(abs(x) for x in t) < T_LIMIT, (t, ref.mean(axis=0), naive.mean(axis=0))


def test_a_wrong_peer_rule_would_be_caught(midrun):
    ref, naive = one_month_counts(midrun, reps=16, q_scale=0.0)  # peers ignored
    t = [welch_t(ref[:, k], naive[:, k]) for k in range(3)]
    assert max(abs(x) for x in t) > T_LIMIT, t


def outcomes(model) -> list[float]:
    """Realised gain at the end of 2024 and 2026, adoption and mastery share of each family and
    share of establishments that deployed it at the end of 2026 (months 36 and 60)."""
    out = model.outputs()
    real = out.indicators()["realised_all"].to_numpy()
    cube = out.cube[60]  # (P, B, T, 3, 3)
    by_state = cube.sum(axis=(0, 1, 2))  # (3 families, 3 states)
    share = by_state / by_state.sum(axis=1, keepdims=True)
    return [real[36], real[60], *(1 - share[:, 0]), *share[:, 2]]


@pytest.mark.slow
def test_whole_runs_match_in_distribution():
    seeds = range(1, 13)
    scale, months = 0.001, 60
    ref = np.array(
        [
            outcomes(
                AdoptionModel(seed=s, scale=scale, agents="none", overrides=CORE_RULES).run(months)
            )
            for s in seeds
        ]
    )
    naive = np.array([outcomes(NaiveModel(seed=s, scale=scale).run(months)) for s in seeds])
    t = [welch_t(ref[:, k], naive[:, k]) for k in range(ref.shape[1])]
    assert max(abs(x) for x in t) < T_LIMIT, (t, ref.mean(axis=0), naive.mean(axis=0))
    k = len(seeds) - 1
    lo, hi = stats.f.ppf([0.0005, 0.9995], k, k)
    ratio = ref.var(axis=0, ddof=1) / naive.var(axis=0, ddof=1)
    assert np.all((ratio > lo) & (ratio < hi)), (ratio, lo, hi)
    # the runs did move: adoption grew over the five years
    assert ref[:, 1].mean() > ref[:, 0].mean() > 0.0
