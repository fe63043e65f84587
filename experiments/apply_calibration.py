"""Write a calibration's fitted values into a scenario file, keeping its comments.

    python experiments/apply_calibration.py results/calibration/calibration.json \
        [src/adoption_abm/scenario/data/france-2022.toml]

The multipliers are applied to the values in the file (which must be the ones the calibration
started from), then each changed number is replaced in place, rounded to 4 significant digits.
docs/CALIBRATION.md records the run that produced the defaults.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from adoption_abm.batch.params import scenario_overrides
from adoption_abm.scenario.load import load_scenario

DEFAULT = Path(__file__).resolve().parents[1] / "src/adoption_abm/scenario/data/france-2022.toml"


def apply(calibration: Path, scenario_file: Path = DEFAULT) -> dict[str, float]:
    fitted = json.loads(calibration.read_text())["fitted"]
    sc = load_scenario(scenario_file)
    overrides = scenario_overrides(sc, fitted)
    text = scenario_file.read_text(encoding="utf-8")
    for dotted, value in overrides.items():
        text = _replace(text, dotted, float(f"{value:.4g}"))
    scenario_file.write_text(text, encoding="utf-8")
    load_scenario(scenario_file)  # still valid
    return overrides


def _replace(text: str, dotted: str, value: float) -> str:
    """Replace ``key = number`` under the right table for ``a.b.key`` / ``a.b.c.key`` paths."""
    parts = dotted.split(".")
    if parts[0] == "deployment" and parts[1] == "base_rate":  # inline table per type
        table, row, key = "[deployment.base_rate]", parts[2], parts[3]
        start = text.index(table)
        m = re.compile(rf"^{row} = \{{[^}}]*\}}", re.M).search(text, start)
        line = re.sub(rf"\b{key} = [0-9.eE+-]+", f"{key} = {value:g}", m.group(0))
        return text[: m.start()] + line + text[m.end() :]
    table, key = "[" + ".".join(parts[:-1]) + "]", parts[-1]
    start = text.index(table)
    m = re.compile(rf"^{key} = [0-9.eE+-]+$", re.M).search(text, start)
    return text[: m.start()] + f"{key} = {value:g}" + text[m.end() :]


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    for k, v in apply(*args).items():
        print(f"{k} = {v:.4g}")
