"""Builds the Cython step kernel; everything else is in pyproject.toml.

Directives are set here for every .pyx (scikit-learn keeps them in one place too); the .pyx
header keeps only ``language_level``. Set ADOPTION_ABM_DEBUG=1 to build with bounds, wraparound
and initialisation checks on.

``docs/ODD.md``, the model description, has one copy in the repository; ``build_py`` copies it
into the package at build time (the app's ODD page reads it from there).

``build_py`` also compiles the gettext catalogues (``i18n/locale/*/LC_MESSAGES/messages.po``)
into ``.mo`` files in the built package, with Babel (``adoption_abm.i18n.compile_catalogues``,
loaded from its file: the package itself is not importable at build time). Nothing binary is
committed; an editable install or a source checkout reads the ``.po`` at runtime instead (see
``adoption_abm/i18n/__init__.py``).
"""

import importlib.util
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


OPENMP_TEST = """
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel num_threads(2) reduction(+:n)
    n += omp_get_num_threads() > 0;
    return n > 0 ? 0 : 1;
}
"""


def openmp_flags() -> list[str]:
    """The compiler's OpenMP flag if it compiles and links a test program with it, else ``[]``
    (the kernel's ``prange`` then runs its blocks one after the other: same results). As
    scikit-learn's ``check_openmp_support``: try it rather than guess from the compiler's name.
    ``ADOPTION_ABM_OPENMP=0`` builds without it."""
    if os.environ.get("ADOPTION_ABM_OPENMP") == "0":
        return []
    import tempfile
    import warnings

    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.errors import CompileError, LinkError
    from setuptools._distutils.sysconfig import customize_compiler

    flag = "/openmp" if os.name == "nt" else "-fopenmp"
    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "test_openmp.c"
        src.write_text(OPENMP_TEST, encoding="utf-8")
        try:
            objects = compiler.compile([str(src)], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objects, "test_openmp", output_dir=tmp, extra_postargs=[flag])
        except (CompileError, LinkError, OSError):
            warnings.warn(
                "the C compiler does not support OpenMP: building a single-threaded kernel "
                "(--threads then runs the blocks one after the other, same results)",
                stacklevel=1,
            )
            return []
    return [flag]


openmp = openmp_flags()
extensions = [
    Extension(
        "adoption_abm.engines._kernels",
        ["src/adoption_abm/engines/_kernels.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=flags + openmp,
        extra_link_args=openmp if os.name != "nt" else [],
    )
]

ROOT = Path(__file__).parent
ODD = ROOT / "docs" / "ODD.md"
I18N = ROOT / "src" / "adoption_abm" / "i18n" / "__init__.py"


def compile_catalogues(target: Path) -> list[Path]:
    """The package's ``.po`` files compiled into ``target/adoption_abm/i18n/locale`` (.mo)."""
    spec = importlib.util.spec_from_file_location("_adoption_abm_i18n_build", I18N)
    i18n = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(i18n)
    return i18n.compile_catalogues(
        I18N.parent / "locale", target / "adoption_abm" / "i18n" / "locale"
    )


class build_py_with_odd(build_py):
    """Copy docs/ODD.md into the built package as adoption_abm/ODD.md and compile the
    translations (.po → .mo)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if ODD.is_file():
            target = Path(self.build_lib) / "adoption_abm" / "ODD.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            self.copy_file(str(ODD), str(target))
        for mo in compile_catalogues(Path(self.build_lib)):
            self.announce(f"compiled {mo}", level=2)


setup(
    ext_modules=cythonize(extensions, compiler_directives=directives, annotate=False),
    cmdclass={"build_py": build_py_with_odd},
)
