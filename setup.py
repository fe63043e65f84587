"""Builds the Cython step kernel; everything else is in pyproject.toml.

Directives are set here for every .pyx (scikit-learn keeps them in one place too). Set
ADOPTION_ABM_DEBUG=1 to build with bounds checks on.
"""

import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("ADOPTION_ABM_DEBUG") == "1"
directives = {
    "language_level": 3,
    "boundscheck": debug,
    "wraparound": False,
    "initializedcheck": debug,
    "cdivision": True,
}
# -ffp-contract=off: no fused multiply-add, so the kernel rounds exactly as NumPy does.
flags = (
    ["-O3", "-ffp-contract=off", "-fno-fast-math"] if os.name != "nt" else ["/O2", "/fp:precise"]
)

extensions = [
    Extension(
        "adoption_abm._kernels",
        ["src/adoption_abm/_kernels.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=flags,
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives, annotate=False))
