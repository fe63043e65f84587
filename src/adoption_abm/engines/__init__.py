"""The interchangeable implementations of the professionals' monthly step.

:mod:`.registry` names them and checks the compiled build; ``_kernels.pyx`` (with its ``.pxd``)
is the compiled kernel, bit-identical to the readable rules (:mod:`adoption_abm.rules`);
:mod:`.naive` is the plain-Mesa baseline the benchmarks compare with (same rules, agents as Python
objects, agreement in distribution only).
"""

from .registry import ENGINES, KernelUnavailable, get_engine, kernel_available, kernel_status

__all__ = ["ENGINES", "KernelUnavailable", "get_engine", "kernel_available", "kernel_status"]
