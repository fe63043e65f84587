"""The model's rules reduce to the Bass diffusion model (issue: Bass limit).

Oracles: the discrete monthly recursion (exact mean-field limit of the rules) and the continuous
closed form (adds the monthly step's discretisation error). Tolerances come from the
replications: 4 standard errors of the mean, with the binomial standard error as a floor,
plus one agent's share (1/n), the resolution of a share near 0 or 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from adoption_abm.oracles.bass import (
    bass_closed_form,
    bass_discrete,
    bass_run,
    discretisation_bound,
    discretisation_error,
)

YEARS = 15
REPS = 30
CASES = [  # (p, q, n_agents): corners and the middle of p in [0.001, 0.2], q in [0, 1.5]
    (0.03, 0.38, 10_000),
    (0.001, 1.5, 10_000),
    (0.2, 1.5, 10_000),
    (0.2, 0.0, 10_000),
    (0.001, 0.0, 12_000),
    (0.025, 0.58, 20_000),
    (0.1, 0.8, 10_000),
]


def replicate(p: float, q: float, n: int, engine: str = "cython") -> np.ndarray:
    return np.array([bass_run(p, q, n, YEARS, seed=s, engine=engine) for s in range(REPS)])


def tolerance(runs: np.ndarray, oracle: np.ndarray, n: int) -> np.ndarray:
    se = runs.std(axis=0, ddof=1) / np.sqrt(len(runs))
    binomial = np.sqrt(oracle * (1 - oracle) / n) / np.sqrt(len(runs))
    return 4.0 * np.maximum(se, binomial) + 1.0 / n  # a share moves by steps of one agent


@pytest.mark.slow
@pytest.mark.parametrize(("p", "q", "n"), CASES)
def test_mean_matches_discrete_bass(p, q, n):
    runs = replicate(p, q, n)
    oracle = bass_discrete(p, q, YEARS * 12)
    err = np.abs(runs.mean(axis=0) - oracle)
    assert np.all(err <= tolerance(runs, oracle, n)), float(
        (err / tolerance(runs, oracle, n)).max()
    )


@pytest.mark.slow
@pytest.mark.parametrize(("p", "q", "n"), CASES[:3])
def test_mean_matches_closed_form_within_discretisation(p, q, n):
    runs = replicate(p, q, n)
    months = YEARS * 12
    closed = bass_closed_form(p, q, np.arange(months + 1) / 12)
    disc = np.abs(bass_discrete(p, q, months) - closed)
    assert disc.max() <= discretisation_bound(p, q)
    err = np.abs(runs.mean(axis=0) - closed)
    assert np.all(err <= tolerance(runs, closed, n) + disc)


def test_discretisation_error_is_about_one_point_at_typical_values():
    err = discretisation_error(0.03, 0.38, 12 * 40)
    assert 0.005 < err < 0.015
    assert err <= discretisation_bound(0.03, 0.38)


@pytest.mark.parametrize(
    ("p", "q"), [(0.001, 1.5), (0.2, 1.5), (0.001, 0.01), (0.05, 0.5), (0.2, 0.0)]
)
def test_discretisation_bound_holds(p, q):
    assert discretisation_error(p, q, 12 * 60) <= discretisation_bound(p, q) + 1e-15


def test_wrong_hazard_would_be_caught():
    """The test has power: a model with q off by 10 % is rejected at p = 0.03."""
    runs = replicate(0.03, 0.38, 10_000)
    wrong = bass_discrete(0.03, 0.38 * 1.1, YEARS * 12)
    err = np.abs(runs.mean(axis=0) - wrong)
    assert np.any(err > tolerance(runs, wrong, 10_000))


def test_engines_agree_in_the_bass_limit():
    for seed in (0, 1):
        a = bass_run(0.05, 0.6, 3_000, 5, seed=seed, engine="cython")
        b = bass_run(0.05, 0.6, 3_000, 5, seed=seed, engine="reference")
        assert np.array_equal(a, b)
