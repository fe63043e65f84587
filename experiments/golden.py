"""Golden run folders: the outputs of a few fixed runs, kept to prove that a refactor changes
no result.

``python experiments/golden.py --write`` runs every case below through the command line and
stores ``summary.json``, ``timeseries.parquet`` and ``indicators.parquet`` under
``tests/golden/<case>/``, with the Polars version that wrote them in ``tests/golden/MANIFEST.json``.
``python experiments/golden.py --check`` runs them again into a temporary folder and compares
byte for byte (``summary.json`` without its ``seconds`` and ``version``, which change from run to
run or release to release). ``tests/test_golden.py`` runs the same cases and compares contents.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from adoption_abm.scenario.mechanisms import CORE_RULES

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
FILES = ("summary.json", "timeseries.parquet", "indicators.parquet", "breakdown.parquet")
VOLATILE = ("seconds", "version")
"""summary.json fields that are not results: wall time and package version."""

CORE_RULES_SET = [a for key in CORE_RULES for a in ("--set", f"{key}=false")]
"""Every mechanism of version 2 off: this case's baseline columns equal version 1's goldens."""

CASES: dict[str, list[str]] = {
    "central-seed1": ["--seed", "1"],
    "slow-seed2": ["--seed", "2", "--rhythm", "slow"],
    "fast-seed3": ["--seed", "3", "--rhythm", "fast"],
    "all-policies-seed1": ["--seed", "1", "--policy", "all"],
    "policies-6-7-seed4": ["--seed", "4", "--policy", "6,7"],
    "core-rules-seed5": ["--seed", "5", *CORE_RULES_SET],
    "reference-seed6": ["--seed", "6", "--engine", "reference", "--scale", "0.005"],
}
"""Case name -> arguments of ``adoption-abm run`` (on top of the defaults)."""


def run_case(args: list[str], out: Path) -> None:
    """Run one case with the installed command line into ``out``."""
    cmd = [sys.executable, "-m", "adoption_abm", "run", *args, "--out", str(out), "--no-progress"]
    subprocess.run(cmd, check=True, capture_output=True)


def stable_summary(path: Path) -> dict:
    """summary.json without the fields that are not results."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in VOLATILE:
        data.pop(key, None)
    return data


def write() -> None:
    import polars as pl

    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, args in CASES.items():
        target = GOLDEN / name
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tmp:
            run_case(args, Path(tmp) / "run")
            target.mkdir()
            for f in FILES:
                shutil.copy(Path(tmp) / "run" / f, target / f)
        print(f"wrote {target.relative_to(ROOT)}")
    manifest = {"polars": pl.__version__, "cases": CASES, "volatile_summary_fields": VOLATILE}
    (GOLDEN / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def check() -> int:
    import polars as pl

    manifest = json.loads((GOLDEN / "MANIFEST.json").read_text(encoding="utf-8"))
    same_writer = manifest["polars"] == pl.__version__
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in CASES.items():
            out = Path(tmp) / name
            run_case(args, out)
            for f in FILES:
                new, old = out / f, GOLDEN / name / f
                if f == "summary.json":
                    ok = stable_summary(new) == stable_summary(old)
                elif same_writer:
                    ok = new.read_bytes() == old.read_bytes()
                else:
                    ok = pl.read_parquet(new).equals(pl.read_parquet(old))
                print(f"{'same' if ok else 'DIFFERENT'}  {name}/{f}")
                bad += not ok
    how = "bytes" if same_writer else f"contents (goldens written by Polars {manifest['polars']})"
    print(f"{len(CASES) * len(FILES) - bad} of {len(CASES) * len(FILES)} files identical ({how})")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="store the golden outputs")
    group.add_argument("--check", action="store_true", help="compare a fresh run with them")
    ns = parser.parse_args()
    if ns.write:
        write()
        return 0
    return check()


if __name__ == "__main__":
    sys.exit(main())
