"""The policy comparison report: Markdown, HTML (rendered from the Markdown), PNG plots and the
frames as Parquet, every file written atomically (``report.html`` last: its presence means the
report is complete).

Needs the ``report`` extra (matplotlib, markdown-it-py).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from ..outputs.atomic import (
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from ..policies.catalogue import PROPOSALS
from .compare import METRIC_LABELS, Comparison

HTML_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead { background: #f3f3f3; }
img { max-width: 100%; }
code { background: #f6f6f6; padding: 0 0.2rem; }
"""


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.1f} %"


def _pts(x: float, lo: float, hi: float) -> str:
    """A difference of shares in percentage points with its CI."""
    if x is None or math.isnan(x):
        return "n/a"
    if math.isnan(lo):
        return f"{100 * x:+.2f}"
    return f"{100 * x:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}]"


def _num(x: float, digits: int = 0) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:,.{digits}f}"


def _diff_num(x: float, lo: float, hi: float) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    if math.isnan(lo):
        return f"{x:+,.0f}"
    return f"{x:+,.0f} [{lo:+,.0f}, {hi:+,.0f}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cell(summary: pl.DataFrame, policy: str, year: int, metric: str) -> dict:
    rows = summary.filter(
        (pl.col("policy").cast(pl.String) == policy)
        & (pl.col("year") == year)
        & (pl.col("metric") == metric)
    )
    return rows.row(0, named=True)


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------
MAX_LINES = 8
"""Time-series plots show at most this many policies (baseline + those that free the most)."""


def plotted_policies(cmp: Comparison, limit: int = MAX_LINES) -> list[str]:
    """Baseline, then the policies with the largest FTE freed vs baseline in the middle year
    (all of them when there are at most ``limit``)."""
    labels = cmp.meta["policies"]
    if len(labels) <= limit:
        return list(labels)
    years = cmp.meta["years"]
    year = years[len(years) // 2]
    diff = {p: _cell(cmp.summary, p, year, "fte_freed_all")["diff"] for p in labels[1:]}
    top = sorted(diff, key=lambda p: -diff[p])[: limit - 1]
    return [labels[0], *[p for p in labels[1:] if p in top]]


def _figures(cmp: Comparison) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    labels = cmp.meta["policies"]
    years = cmp.meta["years"]
    shown = plotted_policies(cmp)
    note = "" if len(shown) == len(labels) else f" ({len(shown) - 1} policies freeing the most)"
    colours = {p: plt.get_cmap("tab10")(k % 10) for k, p in enumerate(shown)}
    mon = cmp.monthly
    figs: dict[str, bytes] = {}

    def save(name: str, fig) -> None:
        for ax in fig.axes:
            if ax.get_xlabel() == "year":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        figs[name] = buf.getvalue()

    def series(policy: str, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = mon.filter(pl.col("policy").cast(pl.String) == policy)
        return d["year"].to_numpy(), d[key].to_numpy(), d[f"{key}_ci"].to_numpy()

    def lines(axes_keys, band: bool = True) -> None:
        for label in shown:
            for ax, key, scale in axes_keys:
                t, m, h = series(label, key)
                ax.plot(t, m * scale, label=label, color=colours[label])
                if band and not np.all(np.isnan(h)):
                    lo, hi = (m - h) * scale, (m + h) * scale
                    ax.fill_between(t, lo, hi, alpha=0.2, color=colours[label])

    # 1. realised gain and FTE reinvested over time
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    lines(((axes[0], "realised_all", 100), (axes[1], "fte_reinvested_all", 1e-3)))
    axes[0].set(title="Realised gain, all professions" + note, ylabel="% of working time")
    axes[1].set(title="FTE freed and reinvested in care", ylabel="thousand FTE")
    for ax in axes:
        ax.set_xlabel("year")
    axes[0].legend(fontsize=8)
    save("realised.png", fig)

    # 2. FTE freed vs baseline with 95 % CI, by year: every policy, horizontal bars
    others = labels[1:]
    if others:
        height = min(24.0, max(3.0, 0.22 * len(others) * len(years) + 1.0))
        fig, ax = plt.subplots(figsize=(9, height))
        bar = 0.8 / max(len(years), 1)
        pos = np.arange(len(others))[::-1]
        for j, y in enumerate(years):
            cells = [_cell(cmp.summary, p, y, "fte_freed_all") for p in others]
            mean = np.array([c["diff"] for c in cells])
            err = np.array([[c["diff"] - c["diff_low"], c["diff_high"] - c["diff"]] for c in cells])
            ax.barh(
                pos - (j - (len(years) - 1) / 2) * bar,
                mean / 1e3,
                bar,
                xerr=np.nan_to_num(err.T) / 1e3,
                capsize=2,
                label=str(y),
            )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(pos, others)
        ax.set(title="FTE freed vs baseline (95 % CI of paired differences)", xlabel="thousand FTE")
        ax.legend(title="year", fontsize=8)
        save("fte_difference.png", fig)

    # 3. multi-speed gap and downgrading risk
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    lines(((axes[0], "multi_speed_gap", 100), (axes[1], "downgrading_risk", 100)), band=False)
    axes[0].set(title="Multi-speed gap (largest effectiveness range)" + note, ylabel="points")
    axes[1].set(title="Downgrading risk, non-medical freed time", ylabel="%")
    for ax in axes:
        ax.set_xlabel("year")
    axes[0].legend(fontsize=8)
    save("gaps.png", fig)

    # 4. emerging roles: total over time, and by role in the last year
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    lines(((axes[0], "roles_fte", 1e-3),), band=False)
    axes[0].set(title="Emerging roles: total demand" + note, ylabel="thousand FTE", xlabel="year")
    axes[0].legend(fontsize=8)
    last = years[-1]
    roles = cmp.roles.filter(pl.col("year") == last)
    role_ids = sorted(set(roles["role"].to_list()))
    width = 0.8 / max(len(shown), 1)
    x = np.arange(len(role_ids))
    for j, label in enumerate(shown):
        d = roles.filter(pl.col("policy").cast(pl.String) == label)
        fte = dict(zip(d["role"].to_list(), d["fte"].to_list(), strict=True))
        axes[1].bar(
            x + (j - (len(shown) - 1) / 2) * width,
            [fte.get(r, 0.0) for r in role_ids],
            width,
            label=label,
            color=colours[label],
        )
    axes[1].set_xticks(
        x, [r.replace("_", " ") for r in role_ids], rotation=40, ha="right", fontsize=8
    )
    axes[1].set(title=f"Demand by role, {last}", ylabel="FTE")
    save("roles.png", fig)

    # 5. cost-effectiveness
    paid = [
        p
        for p in shown[1:]
        if cmp.cost.filter(pl.col("policy").cast(pl.String) == p)["cost_meur"].sum() > 0
    ]
    if paid:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for label in paid:
            d = cmp.cost.filter(pl.col("policy").cast(pl.String) == label)
            ax.plot(
                d["year"].to_numpy(),
                d["cost_per_fte_year_keur"].to_numpy(),
                marker="o",
                label=label,
                color=colours[label],
            )
        if (cmp.cost["cost_per_fte_year_keur"].drop_nans().drop_nulls() > 0).all():
            ax.set_yscale("log")
        ax.set(
            title="Cost per FTE-year freed (cumulative, discounted)",
            xlabel="to the end of",
            ylabel="k€ per FTE-year",
        )
        ax.legend(fontsize=8)
        save("cost_effectiveness.png", fig)
    return figs


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
def markdown(cmp: Comparison, command: str | None = None, figures: Sequence[str] = ()) -> str:
    """The report as Markdown (figures referenced by file name)."""
    meta = cmp.meta
    labels = meta["policies"]
    years = meta["years"]
    s = cmp.summary
    n = meta["replications"]
    out: list[str] = []
    out.append(f"# Policy comparison: {meta['scenario']}, {meta['rhythm']} rhythm")
    out.append("")
    out.append(
        f"{n} paired replications per policy (common random numbers: replication *r* uses the same "
        f"seed under every policy), scale {meta['scale']:g} agents per professional, engine "
        f"`{meta['engine']}`, adoption-abm {meta['version']}. Differences are to the baseline, "
        "with "
        "95 % confidence intervals of the paired differences (Student's t); figures are read at "
        "the end of December."
    )
    if command:
        out += ["", "Produced by:", "", "```bash", command, "```"]
    out += ["", "## Policies", ""]
    pol = cmp.policies
    rows = []
    for label in labels:
        d = pol.filter(pl.col("policy") == label)
        if d.height == 0:
            rows.append([label, "none (baseline)"])
            continue
        items = [
            f"{r['proposal']}"
            + (f" from {r['start']}" if r["start"] else "")
            + (f" to {r['end']}" if r["end"] else "")
            + (f" ×{r['intensity']:g}" if r["intensity"] != 1 else "")
            for r in d.iter_rows(named=True)
        ]
        rows.append([label, ", ".join(items)])
    out.append(_table(["policy", "proposals (start, intensity)"], rows))
    used = sorted({int(p) for p in pol["proposal"].to_list()}) if pol.height else []
    if used:
        out += ["", "Proposals used: " + "; ".join(f"**{k}** {PROPOSALS[k]}" for k in used) + "."]

    out += ["", "## Realised gain and FTE freed", ""]
    out.append(
        "Realised gain: share of the eight professions' working time freed (headcount-weighted). "
        "FTE freed: extrapolated to the whole health workforce. Δ: difference to baseline in "
        "percentage points / FTE [95 % CI]."
    )
    out.append("")
    header = ["policy", "year", "realised gain", "Δ realised (pts)", "FTE freed", "Δ FTE freed"]
    rows = []
    for label in labels:
        for y in years:
            r = _cell(s, label, y, "realised_all")
            f = _cell(s, label, y, "fte_freed_all")
            rows.append(
                [
                    label,
                    str(y),
                    _pct(r["mean"]),
                    _pts(r["diff"], r["diff_low"], r["diff_high"]) if label != labels[0] else "",
                    _num(f["mean"]),
                    _diff_num(f["diff"], f["diff_low"], f["diff_high"])
                    if label != labels[0]
                    else "",
                ]
            )
    out.append(_table(header, rows))

    out += ["", "## Gaps, downgrading risk and value of freed time", ""]
    out.append(
        "Multi-speed gap: the largest range of effectiveness (realised / potential) across "
        "professions, age bands or establishment types. Downgrading risk: share of the "
        "non-medical professions' freed time freed for people whose digital skill barely grew. "
        "FTE reinvested: FTE freed that goes to patient care (shares in docs/POLICIES.md)."
    )
    out.append("")
    header = [
        "policy",
        "year",
        "multi-speed gap",
        "Δ (pts)",
        "downgrading risk",
        "Δ (pts)",
        "FTE reinvested",
        "Δ",
    ]
    rows = []
    for label in labels:
        for y in years:
            g = _cell(s, label, y, "multi_speed_gap")
            d = _cell(s, label, y, "downgrading_risk")
            v = _cell(s, label, y, "fte_reinvested_all")
            base = label == labels[0]
            rows.append(
                [
                    label,
                    str(y),
                    _pct(g["mean"]),
                    "" if base else _pts(g["diff"], g["diff_low"], g["diff_high"]),
                    _pct(d["mean"]),
                    "" if base else _pts(d["diff"], d["diff_low"], d["diff_high"]),
                    _num(v["mean"]),
                    "" if base else _diff_num(v["diff"], v["diff_low"], v["diff_high"]),
                ]
            )
    out.append(_table(header, rows))

    out += ["", "## Emerging roles", ""]
    out.append(
        "FTE demand for the roles adoption creates (ratios: assumptions in `roles.toml`; eight "
        "professions only). Mean over replications."
    )
    out.append("")
    role_ids = sorted(set(cmp.roles["role"].to_list()))
    header = ["policy", "year", *[r.replace("_", " ") for r in role_ids], "total"]
    rows = []
    for label in labels:
        for y in years:
            d = cmp.roles.filter(
                (pl.col("policy").cast(pl.String) == label) & (pl.col("year") == y)
            )
            fte = dict(zip(d["role"].to_list(), d["fte"].to_list(), strict=True))
            rows.append(
                [
                    label,
                    str(y),
                    *[_num(fte.get(r, math.nan)) for r in role_ids],
                    _num(sum(fte.values())),
                ]
            )
    out.append(_table(header, rows))

    out += ["", "## Cost-effectiveness", ""]
    out.append(
        "Spending follows activity: courses bought, projects funded, mentoring hours and "
        "programme units at their unit costs (docs/POLICIES.md), within each proposal's budget "
        "ceiling. Cumulative cost discounted at the catalogue's rate; cost per FTE-year: "
        "cumulative discounted cost over the cumulative FTE-years freed vs baseline, to the end "
        "of the year, in thousand euros."
    )
    out.append("")
    header = [
        "policy",
        "year",
        "spent (M€)",
        "ceiling (M€)",
        "courses bought",
        "cumulative, discounted (M€)",
        "Δ FTE freed",
        "FTE-years freed",
        "k€ per FTE-year",
    ]
    rows = []
    for label in labels[1:]:
        d = cmp.cost.filter(pl.col("policy").cast(pl.String) == label)
        for r in d.iter_rows(named=True):
            rows.append(
                [
                    label,
                    str(r["year"]),
                    _num(r["cost_meur"], 1),
                    _num(r["budget_meur"], 1),
                    _num(r["courses_bought"], 0),
                    _num(r["cumulative_discounted_cost_meur"], 0),
                    _diff_num(
                        r["fte_freed_diff"], r["fte_freed_diff_low"], r["fte_freed_diff_high"]
                    ),
                    _diff_num(
                        r["fte_years_diff"], r["fte_years_diff_low"], r["fte_years_diff_high"]
                    ),
                    _num(r["cost_per_fte_year_keur"], 1),
                ]
            )
    out.append(_table(header, rows) if rows else "Only the baseline was run.")

    if figures:
        out += ["", "## Figures", ""]
        for name in figures:
            out += [f"![{name[:-4].replace('_', ' ')}]({name})", ""]

    out += ["", "## Metrics recorded", ""]
    out.append(_table(["column", "meaning"], [[k, v] for k, v in METRIC_LABELS.items()]))
    out += [
        "",
        "Frames: `runs.parquet` (policy × replication × year), `summary.parquet`, `roles.parquet`, "
        "`cost.parquet`, `monthly.parquet`, `policies.parquet`; settings and seeds in `meta.json`.",
        "",
    ]
    return "\n".join(out)


def html(md_text: str, title: str) -> str:
    """Render the Markdown report as a standalone HTML page (markdown-it-py, tables on)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(md_text)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def write_report(cmp: Comparison, out_dir: str | Path, command: str | None = None) -> list[Path]:
    """Write the report to ``out_dir``: frames (Parquet), ``meta.json``, PNG plots,
    ``report.md`` and ``report.html`` (last). Returns the paths written."""
    out_dir = Path(out_dir)
    written: list[Path] = []
    for name, frame in cmp.frames().items():
        written.append(write_parquet_atomic(out_dir / f"{name}.parquet", frame))
    meta = dict(cmp.meta)
    if command:
        meta["command"] = command
    written.append(write_json_atomic(out_dir / "meta.json", json.loads(json.dumps(meta))))
    figs = _figures(cmp)
    for name, data in figs.items():
        written.append(write_atomic(out_dir / name, lambda tmp, data=data: tmp.write_bytes(data)))
    md_text = markdown(cmp, command, list(figs))
    written.append(write_text_atomic(out_dir / "report.md", md_text))
    title = f"Policy comparison: {cmp.meta['scenario']}"
    written.append(write_text_atomic(out_dir / "report.html", html(md_text, title)))
    return written
