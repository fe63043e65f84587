"""Documentation that ships with the package is the repository's, not a copy kept by hand."""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

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
