"""Golden runs: fixed seeds, rhythms, policies and engines give the stored outputs exactly.

The goldens were written before the package was reorganised (``experiments/golden.py``), and
the reorganisation left them byte-identical. They were written again, deliberately, when the
output frames gained real dates, integer years, gains over the initial state and the breakdown
file, and policies started at ``policy_start`` (2027) instead of 2022: the baseline cases kept
every earlier column's values. Any other change to a result, however small, fails here.
Parquet files are compared byte for byte when this Polars version wrote them, else frame for
frame (exact, floats bit for bit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import golden  # noqa: E402

MANIFEST = json.loads((golden.GOLDEN / "MANIFEST.json").read_text(encoding="utf-8"))


def test_manifest_lists_the_cases():
    assert MANIFEST["cases"] == golden.CASES


@pytest.mark.parametrize("case", sorted(golden.CASES))
def test_golden_case(case, tmp_path):
    out = tmp_path / case
    golden.run_case(golden.CASES[case], out)
    stored = golden.GOLDEN / case
    assert golden.stable_summary(out / "summary.json") == golden.stable_summary(
        stored / "summary.json"
    )
    for name in golden.FILES[1:]:
        new, old = pl.read_parquet(out / name), pl.read_parquet(stored / name)
        assert new.schema == old.schema, name
        assert new.equals(old), name
        if MANIFEST["polars"] == pl.__version__:
            assert (out / name).read_bytes() == (stored / name).read_bytes(), name
