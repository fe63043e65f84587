"""Builds the Cython step kernel; everything else is in pyproject.toml.

Directives are set here for every .pyx (scikit-learn keeps them in one place too); the .pyx
header keeps only ``language_level``. Set ADOPTION_ABM_DEBUG=1 to build with bounds, wraparound
and initialisation checks on.

``docs/ODD.md``, the model description, has one copy in the repository; ``build_py`` copies it
into the package at build time (the app's ODD page reads it from there).
"""

import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

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
        "adoption_abm.engines._kernels",
        ["src/adoption_abm/engines/_kernels.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=flags,
    )
]

ODD = Path(__file__).parent / "docs" / "ODD.md"


class build_py_with_odd(build_py):
    """Copy docs/ODD.md into the built package as adoption_abm/ODD.md."""

    def run(self) -> None:
        super().run()
        if ODD.is_file() and not self.editable_mode:
            target = Path(self.build_lib) / "adoption_abm" / "ODD.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(ODD), str(target))


setup(
    ext_modules=cythonize(extensions, compiler_directives=directives, annotate=False),
    cmdclass={"build_py": build_py_with_odd},
)
