"""The closing table of the policies issue: each proposal alone and all together, 2030 realised
gain and FTE freed against baseline with 95 % CIs (paired replications), and cost-effectiveness.

Reads the output folder of::

    adoption-abm compare --scenario france-2022 --policy baseline --policy 1 ... --policy 20 \\
        --policy all --replications 30 --scale 0.01 --seed 1 --workers 2 --out report/proposals

and prints the Markdown table; with ``--docs`` it also writes the table and the catalogue
(``adoption_abm.policies.catalogue_markdown()``) into docs/POLICIES.md between their markers:

    python experiments/policy_table.py report/proposals [--docs]
    python experiments/policy_table.py --catalogue   # the catalogue block only
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import polars as pl

from adoption_abm.policies.catalogue import PROPOSALS, catalogue_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "POLICIES.md"


def table(folder: Path, year: int = 2030) -> str:
    summary = pl.read_parquet(folder / "summary.parquet").with_columns(
        pl.col("policy").cast(pl.String)
    )
    cost = pl.read_parquet(folder / "cost.parquet").with_columns(pl.col("policy").cast(pl.String))
    meta = json.loads((folder / "meta.json").read_text())

    def cell(policy: str, metric: str) -> dict:
        return summary.filter(
            (pl.col("policy") == policy) & (pl.col("year") == year) & (pl.col("metric") == metric)
        ).row(0, named=True)

    base_r = cell("baseline", "realised_all")["mean"]
    base_f = cell("baseline", "fte_freed_all")["mean"]
    lines = [
        f"Baseline {year}: realised gain {100 * base_r:.1f} %, FTE freed {base_f:,.0f} "
        f"({meta['replications']} paired replications, scale {meta['scale']:g}, "
        f"{meta['rhythm']} rhythm).",
        "",
        f"| policy | Δ realised gain {year} (pts) [95 % CI] | Δ FTE freed {year} [95 % CI] "
        f"| Δ FTE reinvested in care {year} | spent in {year} (M€) "
        f"| cumulative discounted cost to {year} (M€) | FTE-years freed to {year} "
        f"| k€ per FTE-year to {year} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label in meta["policies"][1:]:
        r = cell(label, "realised_all")
        f = cell(label, "fte_freed_all")
        v = cell(label, "fte_reinvested_all")
        c = cost.filter((pl.col("policy") == label) & (pl.col("year") == year)).row(0, named=True)
        name = f"{label}. {PROPOSALS[int(label)]}" if label.isdigit() else label
        per = c["cost_per_fte_year_keur"]
        per = "n/a" if per != per else f"{per:,.1f}"  # NaN: nothing spent or nothing freed
        lines.append(
            f"| {name} | {100 * r['diff']:+.2f} "
            f"[{100 * r['diff_low']:+.2f}, {100 * r['diff_high']:+.2f}] "
            f"| {f['diff']:+,.0f} [{f['diff_low']:+,.0f}, {f['diff_high']:+,.0f}] "
            f"| {v['diff']:+,.0f} "
            f"| {c['cost_meur']:,.1f} | {c['cumulative_discounted_cost_meur']:,.1f} "
            f"| {c['fte_years_diff']:+,.0f} | {per} |"
        )
    return "\n".join(lines)


def fill(text: str, marker: str, content: str) -> str:
    """Replace what lies between ``<!-- marker:start -->`` and ``<!-- marker:end -->``."""
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOCS}: marker {marker} not found")
    return pattern.sub(lambda m: m.group(1) + content + m.group(2), text)


if __name__ == "__main__":
    if "--catalogue" in sys.argv:  # only the catalogue block (no comparison needed)
        DOCS.write_text(fill(DOCS.read_text(), "catalogue", catalogue_markdown()))
        raise SystemExit(0)
    args = [a for a in sys.argv[1:] if a != "--docs"]
    folder = Path(args[0] if args else "report/proposals")
    text = table(folder)
    print(text)
    if "--docs" in sys.argv:
        command = json.loads((folder / "meta.json").read_text()).get("command", "")
        again = f"python experiments/policy_table.py {folder} --docs"
        block = f"Produced by:\n\n```bash\n{command}\n{again}\n```\n\n{text}\n"
        doc = fill(DOCS.read_text(), "closing-table", block)
        doc = fill(doc, "catalogue", catalogue_markdown())
        DOCS.write_text(doc)
