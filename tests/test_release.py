"""Release metadata: the version defined once (``adoption_abm.__version__``) and repeated by
CITATION.cff; the changelog in Keep a Changelog form with the current version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import adoption_abm

ROOT = Path(__file__).resolve().parents[1]


def cff_field(text: str, key: str) -> str:
    m = re.search(rf"^{key}:\s*\"?([^\"\n]+?)\"?\s*$", text, re.MULTILINE)
    assert m, key
    return m.group(1)


def test_citation_version_is_the_package_version():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert cff_field(text, "cff-version") == "1.2.0"
    assert cff_field(text, "version") == adoption_abm.__version__
    assert cff_field(text, "license") == "MIT"
    assert cff_field(text, "title").startswith("adoption-abm")
    assert re.search(r"^authors:\n  - name: \"adoption-abm developers\"$", text, re.MULTILINE)


def test_pyproject_reads_the_version_from_the_one_place():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "adoption_abm.__version__"
    assert project["project"]["license"] == "MIT"


def test_changelog_has_unreleased_and_the_current_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    heads = re.findall(r"^## \[([^\]]+)\]", text, re.MULTILINE)
    assert heads[0] == "Unreleased"
    assert adoption_abm.__version__ in heads
    for version in heads[1:]:
        assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)
