"""The interchangeable implementations of the professionals' monthly step.

:mod:`.registry` names them and checks the compiled build; ``_kernels.pyx`` (with its ``.pxd``)
is the compiled kernel, bit-identical to the readable rules (:mod:`adoption_abm.rules`);
:mod:`.naive` is the plain-Mesa baseline the benchmarks compare with (same rules, agents as Python
objects, agreement in distribution only).

The kernel's OpenMP threads wait for work asleep (``OMP_WAIT_POLICY=PASSIVE``) unless the
environment says otherwise: this is set here, before ``_kernels`` (and the OpenMP runtime,
which reads it once, when it is loaded) can be imported. Spinning threads (the runtime's
default) made two threads 3 to 10 times slower than one at 10^5 professionals on a 2-core
machine shared with other jobs (``experiments/bench_threads.py``, docs/PERFORMANCE.md).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .registry import ENGINES, KernelUnavailable, get_engine, kernel_available, kernel_status

__all__ = ["ENGINES", "KernelUnavailable", "get_engine", "kernel_available", "kernel_status"]
