"""The two interchangeable implementations of the professionals' monthly step.

``reference``: :func:`adoption_abm.rules.professionals_step`, NumPy, the readable spec.
``cython``: the compiled twin in ``_kernels.pyx``, bit-identical, much faster.
Both take ``(pop, est, net, par, key, new_state)`` and return ``(cube, risk)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import rules
from .network import Network
from .population import N_FAMILIES, Establishments, Population

ENGINES = ("cython", "reference")
BUILD_HINT = (
    "the compiled kernel adoption_abm._kernels is not available: install the package with "
    "`pip install .` (it needs a C compiler and builds the Cython extension), or in a source "
    "checkout run `python setup.py build_ext --inplace`; or pass engine='reference' "
    "(--engine reference), the NumPy implementation, same results, slower"
)


class KernelUnavailable(ImportError):
    """The compiled kernel is not built."""


def kernel_available() -> bool:
    try:
        from . import _kernels  # noqa: F401
    except ImportError:
        return False
    return True


def cython_step(
    pop: Population,
    est: Establishments,
    net: Network,
    par: rules.MonthParams,
    key: np.uint64,
    new_state: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The compiled step, with the reference's signature."""
    from . import _kernels

    n_prof = par.adopt_mult.shape[0]
    cube = np.zeros((n_prof, len(par.age_edges) + 1, par.n_types, N_FAMILIES, 3), dtype=np.int64)
    risk = np.zeros((n_prof, N_FAMILIES), dtype=np.int64)
    _kernels.professionals_step(
        net.indptr, net.indices, net.complete,
        pop.profession, pop.establishment, pop.birth, pop.propensity, pop.train_prob,
        pop.skill0, pop.state, pop.skill, pop.trained, new_state,
        est.deployed, est.type,
        np.ascontiguousarray(par.p, dtype=np.float64),
        np.ascontiguousarray(par.q, dtype=np.float64),
        np.ascontiguousarray(par.adopt_mult, dtype=np.float64),
        np.ascontiguousarray(par.master_mult, dtype=np.float64),
        par.skill_effect, par.skill_mastery_effect, par.train_adopt_boost,
        par.train_master_boost, par.train_skill_gain, par.mentoring,
        par.mentoring_adoption, par.mentoring_learning, par.mentoring_gap, par.risk_gain,
        par.t_end, np.ascontiguousarray(par.age_edges, dtype=np.float64), np.uint64(key),
        cube, risk,
    )  # fmt: skip
    return cube, risk


def get_engine(name: str) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """The step function of engine ``name``; a clear error if it is unknown or not built."""
    if name == "reference":
        return rules.professionals_step
    if name == "cython":
        if not kernel_available():
            raise KernelUnavailable(BUILD_HINT)
        return cython_step
    raise ValueError(f"unknown engine {name!r}; allowed: {list(ENGINES)}")
