"""Run the bad-input set (tests/faults/bad_inputs.py) and print a Markdown table by kind: cases,
exit status 2 or a named exception, messages naming the parameter, tracebacks, and cases that
lost or half-wrote a file written before.

    python experiments/bad_input_table.py            # the table
    python experiments/bad_input_table.py --details  # and one line per case not refused cleanly

Needs a checkout (it imports the set from tests/) and the test extra; takes about a minute.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_set():
    path = ROOT / "tests" / "faults" / "bad_inputs.py"
    spec = importlib.util.spec_from_file_location("bad_inputs", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bad_inputs"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list the cases that fail")
    args = parser.parse_args()
    bad = load_set()
    base = bad.base_scenario()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="abm-bad-input-") as tmp:
        tmp = Path(tmp)
        template = tmp / "template"
        template.mkdir()
        bad.prepare(template)
        bad.previous_batch(template)
        with bad.read_only_folder(tmp / "ro") as ro:
            for i, case in enumerate(bad.CASES):
                root = tmp / f"case-{i}"
                shutil.copytree(template, root, symlinks=True)
                outcomes.append(bad.evaluate(case, root, ro, base))
                shutil.rmtree(root, ignore_errors=True)
    print(bad.table(outcomes))
    failing = [o for o in outcomes if not o.ok]
    print(f"\n{len(outcomes) - len(failing)} of {len(outcomes)} cases refused cleanly.")
    if args.details:
        for o in failing:
            last = o.message.strip().splitlines()[-1:] or [""]
            print(
                f"- {o.case.kind}: {o.case.id}: {o.status}, named={o.named}, lost={o.lost}, "
                f"leftovers={o.leftovers}: {last[0][:300]}"
            )


if __name__ == "__main__":
    main()
