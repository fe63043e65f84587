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


def assumption_table(folder: Path, years: tuple[int, ...] = (2030, 2040)) -> str:
    """The closing table of a comparison run with ``--assumptions N``: per policy, its effect on
    the realised gain with the interval covering Monte-Carlo noise and the assumptions, the two
    parts, P(beats baseline), its median rank and the cost per FTE-year freed."""
    unc = pl.read_parquet(folder / "uncertainty.parquet").with_columns(
        pl.col("policy").cast(pl.String)
    )
    ranks = pl.read_parquet(folder / "ranks.parquet").with_columns(pl.col("policy").cast(pl.String))
    cost = pl.read_parquet(folder / "cost.parquet").with_columns(pl.col("policy").cast(pl.String))
    meta = json.loads((folder / "meta.json").read_text())
    years = tuple(y for y in years if y in meta["years"])
    y0 = years[0]

    def cell(frame: pl.DataFrame, policy: str, year: int, **eq) -> dict:
        cond = (pl.col("policy") == policy) & (pl.col("year") == year)
        for k, v in eq.items():
            cond &= pl.col(k) == v
        return frame.filter(cond).row(0, named=True)

    lines = [
        f"{meta['assumptions']} joint draws of the priors x {meta['replications']} paired "
        f"replications (scale {meta['scale']:g}, {meta['rhythm']} rhythm, seed "
        f"{meta.get('assumption_seed')}). Effect: realised gain vs "
        "baseline, points; interval: 2.5-97.5 % of the draws' effects pushed out by the "
        "Monte-Carlo half-width.",
        "",
        "| policy | "
        + " | ".join(f"Δ realised {y} (pts) [interval]" for y in years)
        + f" | MC half-width {y0} | assumption sd {y0} | P(beats baseline) {y0} "
        f"| median rank {y0} | k€ per FTE-year to {y0} | k€ per FTE-year to {years[-1]} |",
        "|---|" + "---|" * (len(years) + 6),
    ]
    for label in meta["policies"][1:]:
        cells = []
        for y in years:
            u = cell(unc, label, y, metric="realised_all")
            cells.append(f"{100 * u['mean']:+.2f} [{100 * u['low']:+.2f}, {100 * u['high']:+.2f}]")
        u = cell(unc, label, y0, metric="realised_all")
        r = ranks.filter(
            (pl.col("policy") == label)
            & (pl.col("year") == y0)
            & (pl.col("metric") == "realised_all")
        )["median_rank"][0]
        per = [cell(cost, label, y)["cost_per_fte_year_keur"] for y in (y0, years[-1])]
        per_txt = ["n/a" if v != v else f"{v:,.1f}" for v in per]
        name = f"{label}. {PROPOSALS[int(label)]}" if label.isdigit() else label
        lines.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {100 * u['mc_half']:.2f} | {100 * u['assumption_sd']:.2f} "
            f"| {u['p_beats_baseline']:.2f} | {r:g} | {per_txt[0]} | {per_txt[1]} |"
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
    has_draws = (folder / "uncertainty.parquet").exists() and json.loads(
        (folder / "meta.json").read_text()
    ).get("assumptions")
    text = assumption_table(folder) if has_draws else table(folder)
    print(text)
    if "--docs" in sys.argv:
        command = json.loads((folder / "meta.json").read_text()).get("command", "")
        again = f"python experiments/policy_table.py {folder} --docs"
        block = f"Produced by:\n\n```bash\n{command}\n{again}\n```\n\n{text}\n"
        doc = fill(DOCS.read_text(), "closing-table", block)
        doc = fill(doc, "catalogue", catalogue_markdown())
        DOCS.write_text(doc)
