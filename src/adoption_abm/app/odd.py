"""The model description (ODD protocol) the app shows at ``/odd``.

``docs/ODD.md`` is the one copy in the repository; building the package (``setup.py``'s
``build_py``) copies it into the package as ``adoption_abm/ODD.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[3] / "docs" / "ODD.md"
"""``docs/ODD.md`` in a source checkout (an editable install reads it from there)."""


def odd_text() -> str | None:
    """The ODD description: the copy shipped in the package, else the source tree's."""
    shipped = resources.files("adoption_abm").joinpath("ODD.md")
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    return SOURCE.read_text(encoding="utf-8") if SOURCE.is_file() else None
