"""The architecture is a checked contract: the layers declared in pyproject.toml
(``[tool.importlinter]``), no import cycles, and a package top level of subpackages only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "adoption_abm"


def test_layers_hold():
    """``lint-imports``: every layer imports only from the layers below it."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    res = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_no_import_cycles():
    """No two modules import each other, directly or through others (type-only imports aside;
    a package's ``__init__`` re-exporting its own modules is not a cycle)."""
    grimp = pytest.importorskip("grimp")
    nx = pytest.importorskip("networkx")
    graph = grimp.build_graph("adoption_abm", exclude_type_checking_imports=True)
    g = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if not module.startswith(imported + "."):  # a module importing its own package
                g.add_edge(module, imported)
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert cycles == []


def test_top_level_holds_only_subpackages():
    allowed_files = {"__init__.py", "__main__.py", "py.typed"}
    for entry in PACKAGE.iterdir():
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            assert (entry / "__init__.py").is_file(), f"{entry.name}/ is not a package"
        else:
            assert entry.name in allowed_files, f"{entry.name} at the package top level"


def test_importing_the_package_loads_no_model_stack():
    """``import adoption_abm`` (and so ``adoption-abm --help``) stays light: Mesa, Polars and
    pandas are imported on first use of a name that needs them."""
    code = (
        "import sys, adoption_abm; "
        "print(','.join(m for m in ('mesa', 'polars', 'pandas') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ""
    code = "import adoption_abm; print(adoption_abm.AdoptionModel.__module__)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "adoption_abm.model.model"
