"""The two interchangeable implementations of the professionals' monthly step.

``reference``: :func:`adoption_abm.rules.professionals_step`, NumPy, the readable spec.
``cython``: the compiled twin in ``_kernels.pyx``, bit-identical, much faster.
Both take ``(pop, est, net, par, key, new_state)`` and return the month's
:class:`~adoption_abm.rules.tallies.MonthTally` ``(cube, risk, legacy, courses)``.

Both read the month's uniforms from the same counter-based stream (:mod:`adoption_abm.draws`),
so one seed gives the same arrays whichever engine runs. (:mod:`adoption_abm.naive`, the
benchmark's plain-Mesa baseline, is not an engine: it draws from Python's ``random`` and agrees
with these two only in distribution.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from .. import rules
from ..rules.states import N_STATES
from . import months
from .months import MonthWork

if TYPE_CHECKING:
    from ..model.network import Network
    from ..model.state import Establishments, Population

ENGINES = ("cython", "reference")
KERNEL_ABI = 6
"""The ``_kernels.ABI`` this module calls; a compiled file with another one is stale."""
BUILD_HINT = (
    "install the package with `pip install .` (it needs a C compiler and builds the Cython "
    "extension), or in a source checkout run `python setup.py build_ext --inplace`; or pass "
    "engine='reference' (--engine reference), the NumPy implementation, same results, slower"
)

StepFunction = Callable[..., rules.MonthTally]


class KernelUnavailable(ImportError):
    """The compiled kernel is not built, or was built from another version of the source."""


def kernel_status() -> str | None:
    """``None`` if the compiled kernel is usable, else why not (with how to build it)."""
    try:
        from . import _kernels
    except ImportError as exc:
        return (
            "the compiled kernel adoption_abm.engines._kernels is not available "
            f"({exc}): {BUILD_HINT}"
        )
    abi = getattr(_kernels, "ABI", 1)
    if abi != KERNEL_ABI:
        return (
            f"the compiled kernel {_kernels.__file__} is stale (ABI {abi}, this version needs "
            f"{KERNEL_ABI}): rebuild it: {BUILD_HINT}"
        )
    return None


def month_work(engine: str) -> MonthWork:
    """The month's work outside the professionals' step for ``engine`` (see
    :mod:`adoption_abm.engines.months`): the compiled twins with the cython engine, the NumPy
    rules otherwise (the reference, or a custom step function). Bit-identical either way."""
    if engine == "cython" and kernel_available():
        return months.compiled()
    return months.REFERENCE


def kernel_available() -> bool:
    """True if the compiled kernel is built and matches this version."""
    return kernel_status() is None


def cython_step(
    pop: Population,
    est: Establishments,
    net: Network,
    par: rules.MonthParams,
    key: np.uint64,
    new_state: np.ndarray,
    *,
    lazy: bool = True,
    threads: int = 1,
    kernels: ModuleType | None = None,
) -> rules.MonthTally:
    """The compiled step, with the reference's signature.

    ``lazy=False`` reads the ties of every professional whose decision depends on them (what
    the benchmark's worst case measures); ``lazy=True`` skips them when the month's uniforms
    already rule every such transition out. Results are bit-identical either way.
    ``threads`` (an int >= 1): the kernel's OpenMP threads; results are bit-identical for every
    count (contiguous blocks of rows, integer tallies per block, counter-based uniforms).
    ``kernels`` is the compiled module to call: by default the package's ``_kernels``; the
    debug-build test and ``experiments/bench_kernel.py`` pass other builds of it.
    """
    if kernels is None:
        from . import _kernels as kernels

    n_prof, n_fam = par.adopt_mult.shape
    cube = np.zeros((n_prof, len(par.age_edges) + 1, par.n_types, n_fam, N_STATES), dtype=np.int64)
    risk = np.zeros((n_prof, n_fam), dtype=np.int64)
    legacy = np.zeros((n_prof, n_fam), dtype=np.int64)
    courses = np.zeros(n_prof, dtype=np.int64)
    kernels.professionals_step(
        kernels.Network(net.indptr, net.indices, net.complete),
        kernels.Professionals(
            pop.profession,
            pop.establishment,
            pop.birth,
            pop.propensity,
            pop.train_prob,
            pop.skill0,
            pop.resist,
            pop.support,
            pop.state,
            pop.skill,
            pop.trained,
            new_state,
        ),
        kernels.Establishments(est.deployed, est.type),
        kernel_month(par, key, kernels),
        cube,
        risk,
        legacy,
        courses,
        lazy,
        threads,
    )
    return rules.MonthTally(cube, risk, legacy, courses)


def kernel_month(par: rules.MonthParams, key: np.uint64, kernels: ModuleType):
    """The compiled kernel's ``Month`` (its arrays, and the struct of its scalars) from the
    reference's ``MonthParams`` and the month's key."""

    def f64(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=np.float64)

    return kernels.Month(
        f64(par.p),
        f64(par.q),
        f64(par.adopt_mult),
        f64(par.master_mult),
        f64(par.quit_mult),
        f64(par.risk_keep),
        f64(par.age_edges),
        skill_effect=par.skill_effect,
        skill_mastery_effect=par.skill_mastery_effect,
        train_adopt_boost=par.train_adopt_boost,
        train_master_boost=par.train_master_boost,
        train_skill_gain=par.train_skill_gain,
        mentor_adopt_boost=par.mentor_adopt_boost,
        mentor_master_boost=par.mentor_master_boost,
        relearn_boost=par.relearn_boost,
        resist_threshold=par.resist_threshold,
        resist_factor=par.resist_factor,
        quit_trained_keep=par.quit_trained_keep,
        quit_mentored_keep=par.quit_mentored_keep,
        risk_gain=par.risk_gain,
        t_end=par.t_end,
        key=np.uint64(key),
    )


def get_engine(name: str, *, lazy: bool = True, threads: int = 1) -> StepFunction:
    """The step function of engine ``name``; a clear error if it is unknown or not built.

    ``lazy`` and ``threads`` apply to the compiled kernel only (see :func:`cython_step`); the
    reference is NumPy on one thread. Neither changes any result.
    """
    check_threads(threads)
    if name == "reference":
        return rules.professionals_step
    if name == "cython":
        problem = kernel_status()
        if problem is not None:
            raise KernelUnavailable(problem)
        if lazy and threads == 1:
            return cython_step
        return functools.partial(cython_step, lazy=lazy, threads=int(threads))
    raise ValueError(f"unknown engine {name!r}; allowed: {list(ENGINES)}")


MAX_THREADS = 1024
"""More kernel threads than this is taken for a mistake (each is an OpenMP thread)."""


def check_threads(threads: object) -> int:
    """``threads`` as an int if it is an integer from 1 to :data:`MAX_THREADS` (not a bool),
    else ``ValueError`` naming it."""
    ok = isinstance(threads, int | np.integer) and not isinstance(threads, bool)
    if not ok or not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads must be an integer from 1 to {MAX_THREADS}, got {threads!r}")
    return int(threads)
