"""An earlier revision of the package, built apart, for benchmarks that time today's code
against it side by side (``bench_compare.py``, ``bench_batch.py --rev``).

``build(rev, root)`` exports ``rev``'s tree with ``git archive`` into ``root/rev``, compiles its
kernel in place with the same compiler and flags as ``setup.py`` (its own ``setup.py``), and
returns the folder to put on ``PYTHONPATH`` (its ``src``). The working tree is not touched.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(rev: str, root: Path) -> Path:
    """``rev`` exported and its kernel built under ``root``; returns its ``src`` folder."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True
    )
    if sha.returncode != 0:
        raise SystemExit(f"--rev {rev}: not a git revision of {ROOT} ({sha.stderr.strip()})")
    dest = root / sha.stdout.strip()
    if not (dest / "src").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        subprocess.run(
            [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
            cwd=dest,
            check=True,
            capture_output=True,
        )
    return dest / "src"
