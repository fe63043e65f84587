"""The notebooks of examples/ run from top to bottom at a small scale (jupytext + nbclient).

Each script is converted from jupytext's percent format and executed in a ``python3`` kernel of
this interpreter, with the environment variables that shrink it (each notebook reads its size
from ``ADOPTION_ABM_EXAMPLE_*``, with defaults meant for a user). A cell that raises fails the
test with the cell's error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))

SMALL = {
    "ADOPTION_ABM_EXAMPLE_SCALE": "0.002",
    "ADOPTION_ABM_EXAMPLE_SEEDS": "2",
    "ADOPTION_ABM_EXAMPLE_REPLICATIONS": "2",
    "ADOPTION_ABM_EXAMPLE_DRAWS": "2",
    "ADOPTION_ABM_EXAMPLE_SAMPLES": "4",
    "ADOPTION_ABM_EXAMPLE_TRIALS": "2",
    "ADOPTION_ABM_EXAMPLE_PROPOSALS": "6,7,13",
    "ADOPTION_ABM_EXAMPLE_WORKERS": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",  # figures as PNG outputs
}
"""Sizes for CI: each notebook in seconds (their defaults take minutes)."""


def _runs_this_python(argv0: str) -> bool:
    """jupyter_client runs a Python kernel whose argv[0] is ``python`` with sys.executable."""
    if argv0 in ("python", f"python{sys.version_info[0]}"):
        return True
    return Path(argv0).resolve() == Path(sys.executable).resolve()


@pytest.fixture(scope="module")
def kernel_env():
    """The environment of the kernel: a ``python3`` kernel spec that runs this interpreter.

    ipykernel's own spec (in the venv) normally does. If another one shadows it, a spec is
    installed into this interpreter's prefix (``--sys-prefix``) and put first on JUPYTER_PATH:
    nothing is registered outside the venv.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    env = {**os.environ, **SMALL}
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        ok = _runs_this_python(spec.argv[0])
    except NoSuchKernel:
        ok = False
    if not ok:
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
            check=True,
            capture_output=True,
        )
        jupyter = str(Path(sys.prefix) / "share" / "jupyter")
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [jupyter, env.get("JUPYTER_PATH")]))
    return env


def test_five_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_white_paper_table.py",
        "02_compare_under_uncertainty.py",
        "03_portfolio_under_budget.py",
        "04_sobol_on_dask.py",
        "05_your_own_scenario.py",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, kernel_env: dict, monkeypatch: pytest.MonkeyPatch):
    notebook = jupytext.read(path)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    assert len(markdown) >= 3, f"{path.name}: a worked example explains itself in prose cells"
    for key, value in kernel_env.items():  # the kernel inherits this process's environment
        monkeypatch.setenv(key, value)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        allow_errors=False,
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(o.get("output_type") == "stream" for o in outputs), "no printed result"
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert figures, f"{path.name}: no figure drawn (matplotlib's inline backend)"


def test_the_white_paper_notebook_has_the_tables_rows():
    """Notebook 1 carries its own copy of the seed's figures (a downloaded notebook runs without
    the repository): the same rows and kinds as experiments/calibration_table.py."""
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        import calibration_table as table
    finally:
        sys.path.remove(str(ROOT / "experiments"))
    names: dict = {}
    source = (EXAMPLES / "01_white_paper_table.py").read_text(encoding="utf-8")
    start = source.index("TARGETS = [")
    end = source.index("\n\n\ndef dig")
    exec(source[start:end], names)  # the literal rows and the kinds, nothing else
    assert names["TARGETS"] == table.TARGETS
    assert names["FTE_GAP"] == table.FTE_GAP
    assert names["KIND"] == {label: kind for label, (kind, _why) in table.KIND.items()}
