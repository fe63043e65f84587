"""Documentation that ships with the package is the repository's, not a copy kept by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import adoption_abm
from adoption_abm.app.odd import odd_text

ROOT = Path(__file__).resolve().parents[1]
ODD = ROOT / "docs" / "ODD.md"


def test_the_app_shows_docs_odd():
    assert odd_text() == ODD.read_text(encoding="utf-8")


def test_one_odd_in_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files", "*ODD.md"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tracked.stdout.split() == ["docs/ODD.md"]


def test_an_installed_package_ships_the_odd():
    """In a regular install (CI's ``pip install .``) ODD.md is inside the package, as built."""
    package_dir = Path(adoption_abm.__file__).resolve().parent
    shipped = resources.files("adoption_abm").joinpath("ODD.md")
    if package_dir == ROOT / "src" / "adoption_abm":  # editable install: read from docs/
        assert not shipped.is_file()
    else:
        assert shipped.read_text(encoding="utf-8") == ODD.read_text(encoding="utf-8")


def test_the_documentation_site_builds_strictly(tmp_path):
    """``mkdocs build --strict`` (mkdocs.yml): every page, link, docstring and notebook renders
    without a warning. The notebooks are rendered, not executed (tests/test_examples.py runs
    them)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocs_jupyter")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "WARNING" not in log, log
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Set up and first run" in home  # the README is the home page
    for page in ("model", "scenario", "policies", "compare", "batch", "outputs"):
        assert "doc-heading" in (site / "api" / page / "index.html").read_text(encoding="utf-8")
    rendered = sorted(p.parent.name for p in (site / "examples").glob("*/index.html"))
    assert rendered == sorted(p.stem for p in (ROOT / "examples").glob("[0-9][0-9]_*.py"))
