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

from ..i18n import N_, _, current_language, number, percent
from ..i18n import label as display_label
from ..outputs.atomic import (
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from ..policies.catalogue import PROPOSALS, catalogue
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
# Human-facing numbers in the report's language (:func:`adoption_abm.i18n.number`: decimal
# comma and narrow no-break spaces in French); the data files keep plain numbers.
def _pct(x: float) -> str:
    return percent(x, 1)


def _pts(x: float, lo: float, hi: float) -> str:
    """A difference of shares in percentage points with its CI."""
    if x is None or math.isnan(x):
        return _("n/a")
    if math.isnan(lo):
        return number(100 * x, 2, sign=True)
    return (
        f"{number(100 * x, 2, sign=True)} "
        f"[{number(100 * lo, 2, sign=True)}, {number(100 * hi, 2, sign=True)}]"
    )


def _g(x: float) -> str:
    """A number as ``f"{x:g}"`` (shortest), with a decimal comma in French."""
    text = f"{x:g}"
    return text.replace(".", ",") if current_language() == "fr" else text


RHYTHM_NAMES = {"slow": N_("slow"), "central": N_("central"), "fast": N_("fast")}
"""The built-in rhythms' names, translated in the title (a scenario's own rhythm as given)."""
FIGURE_NAMES = {
    "realised.png": N_("realised"),
    "fte_difference.png": N_("fte difference"),
    "gaps.png": N_("gaps"),
    "roles.png": N_("roles"),
    "cost_effectiveness.png": N_("cost effectiveness"),
    "effects.png": N_("effects"),
    "ranks.png": N_("ranks"),
    "bands.png": N_("bands"),
}
"""The figures' alternative texts."""


def _figure_name(name: str) -> str:
    return _(FIGURE_NAMES[name]) if name in FIGURE_NAMES else name[:-4].replace("_", " ")


def _num(x: float, digits: int = 0) -> str:
    return number(x, digits)


def _diff_num(x: float, lo: float, hi: float) -> str:
    if x is None or math.isnan(x):
        return _("n/a")
    if math.isnan(lo):
        return number(x, 0, sign=True)
    return f"{number(x, sign=True)} [{number(lo, sign=True)}, {number(hi, sign=True)}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _role(role_id: str) -> str:
    """A role's display name: its id spelt out in English (``key user``), its label from the
    package's role table, translated, in another language."""
    if current_language() == "en":
        return role_id.replace("_", " ")
    from ..outputs.roles import default_roles

    role = default_roles().get(role_id)
    return display_label(role.label) if role is not None else role_id.replace("_", " ")


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
    note = (
        ""
        if len(shown) == len(labels)
        else " " + _("({n} policies freeing the most)").format(n=len(shown) - 1)
    )
    year_label = _("year")
    colours = {p: plt.get_cmap("tab10")(k % 10) for k, p in enumerate(shown)}
    mon = cmp.monthly
    figs: dict[str, bytes] = {}

    def save(name: str, fig) -> None:
        for ax in fig.axes:
            if ax.get_xlabel() == year_label and not isinstance(
                ax.xaxis.get_major_locator(), MaxNLocator
            ):
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
    axes[0].set(title=_("Realised gain, all professions") + note, ylabel=_("% of working time"))
    axes[1].set(title=_("FTE freed and reinvested in care"), ylabel=_("thousand FTE"))
    for ax in axes:
        ax.set_xlabel(year_label)
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
        ax.set(
            title=_("FTE freed vs baseline (95 % CI of paired differences)"),
            xlabel=_("thousand FTE"),
        )
        ax.legend(title=year_label, fontsize=8)
        save("fte_difference.png", fig)

    # 3. multi-speed gap and downgrading risk
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    lines(((axes[0], "multi_speed_gap", 100), (axes[1], "downgrading_risk", 100)), band=False)
    axes[0].set(title=_("Multi-speed gap (largest effectiveness range)") + note, ylabel=_("points"))
    axes[1].set(title=_("Downgrading risk, non-medical freed time"), ylabel="%")
    for ax in axes:
        ax.set_xlabel(year_label)
    axes[0].legend(fontsize=8)
    save("gaps.png", fig)

    # 4. emerging roles: total over time, and by role in the last year
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    lines(((axes[0], "roles_fte", 1e-3),), band=False)
    axes[0].set(
        title=_("Emerging roles: total demand") + note, ylabel=_("thousand FTE"), xlabel=year_label
    )
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
    axes[1].set_xticks(x, [_role(r) for r in role_ids], rotation=40, ha="right", fontsize=8)
    axes[1].set(title=_("Demand by role, {year}").format(year=last), ylabel=_("FTE"))
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
            title=_("Cost per FTE-year freed (cumulative, discounted)"),
            xlabel=_("to the end of"),
            ylabel=_("k€ per FTE-year"),
        )
        ax.legend(fontsize=8)
        save("cost_effectiveness.png", fig)
    if cmp.uncertainty.height:
        _uncertainty_figures(cmp, plt, save)
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
    out.append(
        "# "
        + _("Policy comparison: {scenario}, {rhythm} rhythm").format(
            scenario=meta["scenario"],
            rhythm=_(RHYTHM_NAMES[meta["rhythm"]])
            if meta["rhythm"] in RHYTHM_NAMES
            else meta["rhythm"],
        )
    )
    out.append("")
    out.append(
        _(
            "{n} paired replications per policy (common random numbers: replication *r* uses the "
            "same seed under every policy), scale {scale} agents per professional, engine "
            "`{engine}`, adoption-abm {version}. Differences are to the baseline, with 95 % "
            "confidence intervals of the paired differences (Student's t); figures are read at "
            "the end of December."
        ).format(
            n=n,
            scale=_g(meta["scale"]),
            engine=meta["engine"],
            version=meta["version"],
        )
    )
    if command:
        out += ["", _("Produced by:"), "", "```bash", command, "```"]
    out += ["", "## " + _("Policies"), ""]
    pol = cmp.policies
    rows = []
    for label in labels:
        d = pol.filter(pl.col("policy") == label)
        if d.height == 0:
            rows.append([label, _("none (baseline)")])
            continue
        items = [
            f"{r['proposal']}"
            + (" " + _("from {start}").format(start=r["start"]) if r["start"] else "")
            + (" " + _("to {end}").format(end=r["end"]) if r["end"] else "")
            + (f" ×{_g(r['intensity'])}" if r["intensity"] != 1 else "")
            for r in d.iter_rows(named=True)
        ]
        rows.append([label, ", ".join(items)])
    out.append(_table([_("policy"), _("proposals (start, intensity)")], rows))
    used = sorted({int(p) for p in pol["proposal"].to_list()}) if pol.height else []
    if used:
        out += [
            "",
            _("Proposals used:")
            + " "
            + "; ".join(f"**{k}** {display_label(PROPOSALS[k])}" for k in used)
            + ".",
        ]
    if cmp.uncertainty.height:
        out += uncertainty_markdown(cmp, figures)
    if meta.get("assumptions"):
        out += [
            "",
            _(
                "The sections below pool the {draws} draws × {n} replications of each policy: "
                "their means are expectations over the priors, and their 95 % CIs are those of "
                "pooled paired differences, not the intervals above."
            ).format(draws=meta["assumptions"], n=n),
        ]

    out += ["", "## " + _("Realised gain and FTE freed"), ""]
    out.append(
        _(
            "Realised gain: share of the eight professions' working time freed "
            "(headcount-weighted). FTE freed: extrapolated to the whole health workforce. Δ: "
            "difference to baseline in percentage points / FTE [95 % CI]."
        )
    )
    out.append("")
    header = [
        _("policy"),
        _("year"),
        _("realised gain"),
        _("Δ realised (pts)"),
        _("FTE freed"),
        _("Δ FTE freed"),
    ]
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

    out += ["", "## " + _("Gaps, downgrading risk and value of freed time"), ""]
    out.append(
        _(
            "Multi-speed gap: the largest range of effectiveness (realised / potential) across "
            "professions, age bands or establishment types. Downgrading risk: share of the "
            "non-medical professions' freed time freed for people whose digital skill barely "
            "grew. FTE reinvested: FTE freed that goes to patient care (shares in "
            "docs/POLICIES.md)."
        )
    )
    out.append("")
    header = [
        _("policy"),
        _("year"),
        _("multi-speed gap"),
        _("Δ (pts)"),
        _("downgrading risk"),
        _("Δ (pts)"),
        _("FTE reinvested"),
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

    out += ["", "## " + _("Emerging roles"), ""]
    out.append(
        _(
            "FTE demand for the roles adoption creates (ratios: assumptions in `roles.toml`; "
            "eight professions only). Mean over replications."
        )
    )
    out.append("")
    role_ids = sorted(set(cmp.roles["role"].to_list()))
    header = [_("policy"), _("year"), *[_role(r) for r in role_ids], _("total")]
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

    out += ["", "## " + _("Cost-effectiveness"), ""]
    out.append(
        _(
            "Spending follows activity: courses bought, projects funded, mentoring hours and "
            "programme units at their unit costs (docs/POLICIES.md), within each proposal's "
            "budget ceiling. Cumulative cost discounted at the catalogue's rate; cost per "
            "FTE-year: cumulative discounted cost over the cumulative FTE-years freed vs "
            "baseline, to the end of the year, in thousand euros."
        )
    )
    out.append("")
    header = [
        _("policy"),
        _("year"),
        _("spent (M€)"),
        _("ceiling (M€)"),
        _("courses bought"),
        _("cumulative, discounted (M€)"),
        _("Δ FTE freed"),
        _("FTE-years freed"),
        _("k€ per FTE-year"),
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
    out.append(_table(header, rows) if rows else _("Only the baseline was run."))

    rest = [f for f in figures if f not in UNCERTAINTY_FIGURES]
    if rest:
        out += ["", "## " + _("Figures"), ""]
        for name in rest:
            out += [f"![{_figure_name(name)}]({name})", ""]
    out += proposals_markdown(cmp)

    out += ["", "## " + _("Metrics recorded"), ""]
    out.append(_table([_("column"), _("meaning")], [[k, _(v)] for k, v in METRIC_LABELS.items()]))
    out += [
        "",
        _(
            "Frames: `runs.parquet` (policy × draw × replication × year), `summary.parquet`, "
            "`roles.parquet`, `cost.parquet`, `monthly.parquet`, `policies.parquet`, "
            "`uncertainty.parquet`, `beats.parquet`, `ranks.parquet`, `bands.parquet`, "
            "`draws.parquet`; settings, seeds and priors in `meta.json`."
        ),
        "",
    ]
    return "\n".join(out)


def html(md_text: str, title: str) -> str:
    """Render the Markdown report as a standalone HTML page (markdown-it-py, tables on)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(md_text)
    return (
        f'<!DOCTYPE html>\n<html lang="{current_language()}">\n<head>\n<meta charset="utf-8">\n'
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
    title = _("Policy comparison: {scenario}").format(scenario=cmp.meta["scenario"])
    written.append(write_text_atomic(out_dir / "report.html", html(md_text, title)))
    return written


# ---------------------------------------------------------------------------------------------
# Uncertainty: Monte-Carlo noise and assumptions
# ---------------------------------------------------------------------------------------------
COST_COLUMNS = {
    "cost_per_fte_year": "cost_per_fte_year_keur",
    "discounted_cost": "cumulative_discounted_cost_meur",
}
"""The ``cost`` frame's columns the uncertainty table reads (:func:`policy_costs`)."""

HEADLINE_YEARS = (2030, 2040)
UNCERTAINTY_FIGURES = ("effects.png", "ranks.png", "bands.png")


def policy_costs(cmp: Comparison, policy: str, year: int) -> dict[str, float]:
    """A policy's cost figures to the end of ``year`` from the ``cost`` frame (k€ per FTE-year
    freed, cumulative discounted M€), NaN where the frame has no such column or row."""
    d = cmp.cost.filter((pl.col("policy").cast(pl.String) == policy) & (pl.col("year") == year))
    return {
        key: float(d[col][0]) if d.height and col in d.columns else math.nan
        for key, col in COST_COLUMNS.items()
    }


def headline_years(cmp: Comparison) -> list[int]:
    """2030 and 2040 where the comparison reports them, else its last year."""
    years = [y for y in HEADLINE_YEARS if y in cmp.meta["years"]]
    return years or [cmp.meta["years"][-1]]


def _unc(cmp: Comparison, policy: str, year: int, metric: str = "realised_all") -> dict:
    return _cell(cmp.uncertainty, policy, year, metric)


def _interval(u: dict, scale: float = 100.0, digits: int = 2) -> str:
    """``+1.23 [+0.50, +2.01]``: the draws' mean effect and the interval covering both parts."""
    mid = number(u["mean"] * scale, digits, sign=True, group=False)
    if math.isnan(u["low"]):
        return mid
    low = number(u["low"] * scale, digits, sign=True, group=False)
    high = number(u["high"] * scale, digits, sign=True, group=False)
    return f"{mid} [{low}, {high}]"


def _median_rank(cmp: Comparison, policy: str, year: int) -> float:
    d = cmp.ranks.filter((pl.col("policy").cast(pl.String) == policy) & (pl.col("year") == year))
    return float(d["median_rank"][0]) if d.height else math.nan


def _uncertainty_figures(cmp: Comparison, plt, save) -> None:
    """bands.png (monthly realised gain: draws' band and Monte-Carlo band), effects.png (the
    headline years' effects with both intervals) and ranks.png (rank shares)."""
    labels = cmp.meta["policies"]
    shown = plotted_policies(cmp)
    drawn = bool(cmp.meta.get("assumptions"))
    colours = {p: plt.get_cmap("tab10")(k % 10) for k, p in enumerate(shown)}

    # 1. bands: the levels of the policies shown, then one panel per policy: its difference
    # to baseline, the draws' band and the Monte-Carlo band
    from matplotlib.ticker import MaxNLocator

    panels = ["levels", *shown[1:]]
    cols = min(4, len(panels))
    rows_n = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.8 * cols, 3.0 * rows_n), squeeze=False)
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        for label in shown if panel == "levels" else [panel]:
            d = cmp.bands.filter(pl.col("policy").cast(pl.String) == label)
            key = "realised_all" if panel == "levels" else "realised_all_diff"
            t = d["year"].to_numpy()
            med = 100 * d[key].to_numpy()
            c = colours[label]
            if drawn and label != labels[0]:
                lo = 100 * d[f"{key}_draw_low"].to_numpy()
                hi = 100 * d[f"{key}_draw_high"].to_numpy()
                band = _("95 % of draws") if panel != "levels" else None
                ax.fill_between(t, lo, hi, color=c, alpha=0.3, linewidth=0, label=band)
            if panel != "levels":
                half = 100 * d[f"{key}_mc_half"].to_numpy()
                ax.plot(t, med - half, color="black", linewidth=0.7, linestyle="--")
                ax.plot(
                    t, med + half, color="black", linewidth=0.7, linestyle="--", label=_("MC 95 %")
                )
            ax.plot(t, med, color=c, linewidth=1.4, label=label if panel == "levels" else None)
        if panel == "levels":
            ax.set(title=_("Realised gain (median of draws)"), ylabel=_("% of working time"))
        else:
            ax.axhline(0, color="grey", linewidth=0.6)
            ax.set(title=_("{policy} vs baseline").format(policy=panel), ylabel=_("points"))
        ax.set_xlabel(_("year"))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.legend(fontsize=6, loc="upper left")
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(_("Realised gain: assumption draws (bands) and Monte-Carlo noise (dashed)"))
    fig.tight_layout()
    save("bands.png", fig)

    # 2. effects in the headline years: the combined interval and its Monte-Carlo part
    others = labels[1:]
    if others:
        years = headline_years(cmp)
        fig, axes = plt.subplots(
            1, len(years), figsize=(5 * len(years), max(2.5, 0.35 * len(others) + 1)), squeeze=False
        )
        pos = np.arange(len(others))[::-1]
        for ax, y in zip(axes[0], years, strict=True):
            u = [_unc(cmp, p, y) for p in others]
            med = np.array([100 * r["median"] for r in u])
            lo = np.array([100 * r["low"] for r in u])
            hi = np.array([100 * r["high"] for r in u])
            half = np.array([100 * r["mc_half"] for r in u])
            ax.hlines(
                pos, lo, hi, color="tab:blue", linewidth=5, alpha=0.35, label=_("combined 95 %")
            )
            ax.hlines(pos, med - half, med + half, color="black", linewidth=1.2, label=_("MC 95 %"))
            ax.plot(med, pos, "o", color="black", markersize=4)
            ax.axvline(0, color="grey", linewidth=0.8)
            ax.set_yticks(pos, others)
            ax.set(
                title=_("Realised gain vs baseline, {year}").format(year=y),
                xlabel=_("percentage points"),
            )
        axes[0, 0].legend(fontsize=7)
        save("effects.png", fig)

    # 3. rank shares, as a heat map per headline year
    if len(labels) > 1:
        years = headline_years(cmp)
        n = len(labels)
        fig, axes = plt.subplots(
            1, len(years), figsize=(0.45 * n * len(years) + 2.5, 0.35 * n + 1.5), squeeze=False
        )
        for ax, y in zip(axes[0], years, strict=True):
            d = cmp.ranks.filter(pl.col("year") == y)
            grid = np.zeros((n, n))
            for r in d.iter_rows(named=True):
                grid[labels.index(str(r["policy"])), r["rank"] - 1] = r["share"]
            im = ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
            ax.set_yticks(range(n), labels)
            ax.set_xticks(range(n), [str(k + 1) for k in range(n)], fontsize=7)
            ax.set(
                title=_("Rank by realised gain, {year}").format(year=y),
                xlabel=_("rank (1 = best)"),
            )
        fig.colorbar(im, ax=axes[0].tolist(), label=_("share of draws"))
        save("ranks.png", fig)


def uncertainty_markdown(cmp: Comparison, figures: Sequence[str] = ()) -> list[str]:
    """The report's uncertainty section: intervals, P(beats baseline), ranks, costs, and the
    figures of :data:`UNCERTAINTY_FIGURES` among ``figures``."""
    meta = cmp.meta
    labels = meta["policies"]
    n_draws = meta.get("assumptions", 0)
    years = headline_years(cmp)
    metric = meta.get("rank_metric", "realised_all")
    out = ["", "## " + _("Uncertainty: Monte-Carlo noise and assumptions"), ""]
    if n_draws:
        out.append(
            _(
                "Each policy ran under {draws} joint draws of the effect priors of the proposals "
                "compared (Latin hypercube, seed {seed}), each draw on the same {replications} "
                "seeds; the baseline once per seed. Effect: the mean over draws of each draw's "
                "mean paired difference to baseline (percentage points of realised gain); the "
                "interval covers both parts: the 2.5-97.5 % quantiles of the draws' effects "
                "pushed out by the Monte-Carlo half-width (t quantile × the replications' pooled "
                "sd / √R). Assumption sd: the draws' spread net of that noise; share: its part "
                "of the draws' variance. P(beats): share of draws whose effect is above 0; rank: "
                "among all policies, baseline included, within each draw."
            ).format(draws=n_draws, seed=meta["assumption_seed"], replications=meta["replications"])
        )
    else:
        out.append(
            _(
                "Central effect values only (no `--assumptions`): the interval is the "
                "Monte-Carlo 95 % CI of the paired difference, and says nothing of what is "
                "unknown about the effects. P(beats) and ranks are those of the central values "
                "(0 or 1)."
            )
        )
    out.append("")
    header = [_("policy")]
    header += [_("{year} effect (pts) [95 %]").format(year=y) for y in years]
    header += [
        _("MC half-width {year}").format(year=years[0]),
        _("assumption sd {year}").format(year=years[0]),
        _("share"),
        _("P(beats baseline) {year}").format(year=years[0]),
        _("median rank {year}").format(year=years[0]),
        _("k€ per FTE-year to {year}").format(year=years[-1]),
    ]
    rows = []
    for label in labels[1:]:
        u = [_unc(cmp, label, y) for y in years]
        first = u[0]
        rows.append(
            [
                label,
                *[_interval(x) for x in u],
                _num(100 * first["mc_half"], 3),
                _num(100 * first["assumption_sd"], 3),
                _pct(first["share_assumption"]),
                _num(first["p_beats_baseline"], 2),
                _num(_median_rank(cmp, label, years[0]), 1),
                _num(policy_costs(cmp, label, years[-1])["cost_per_fte_year"], 1),
            ]
        )
    out.append(_table(header, rows) if rows else _("Only the baseline was run."))
    out += [
        "",
        _(
            "Ranks by {metric}; costs from the `cost` frame (cumulative discounted cost over "
            "cumulative FTE-years freed vs baseline, pooled over draws and replications)."
        ).format(metric=_(METRIC_LABELS[metric])),
    ]
    if 2 < len(labels) <= 12:
        y = years[0]
        out += [
            "",
            _("P(row beats column) over draws, {metric}, {year}:").format(
                metric=_(METRIC_LABELS[metric]), year=y
            ),
            "",
        ]
        beats = cmp.beats.filter(pl.col("year") == y)
        cells = {
            (str(r["policy"]), str(r["other"])): r["p_beats"] for r in beats.iter_rows(named=True)
        }
        out.append(
            _table(
                ["", *labels],
                [
                    [a, *["" if a == b else number(cells[(a, b)], 2) for b in labels]]
                    for a in labels
                ],
            )
        )
    for name in UNCERTAINTY_FIGURES:
        if name in figures:
            out += ["", f"![{_figure_name(name)}]({name})"]
    return out


def proposals_markdown(cmp: Comparison) -> list[str]:
    """Each proposal compared: mechanism, activity, budget ceiling, and its priors' ranges and
    sources (from the catalogue)."""
    pol = cmp.policies
    used = sorted({int(p) for p in pol["proposal"].to_list()}) if pol.height else []
    if not used:
        return []
    cat = catalogue().proposals
    drawn = {p["name"] for p in cmp.meta.get("priors", [])}
    out = ["", "## " + _("The proposals compared: mechanism, activity, budget and priors"), ""]
    drawn_mark = " " + _("(drawn)")
    for n in used:
        p = cat[n]
        out += [
            _("**{n}. {title}** (budget ceiling {cost} M€ a year at intensity 1)").format(
                n=n, title=display_label(p.title), cost=_g(p.cost)
            ),
            "",
            "* " + _("Mechanism: {text}").format(text=display_label(p.mechanism)),
            "* " + _("Activity: {text}").format(text=display_label(p.activity)),
        ]
        for a in p.activities:
            key = f"p{n}.u.programme" if a.kind == "programme" else f"u.{a.kind}"
            mark = drawn_mark if key in drawn else ""
            out.append(
                "* "
                + _(
                    "Unit cost ({kind}){mark}: {cost} € a unit, one unit being {unit} (range "
                    "{low}-{high}; {source})"
                ).format(
                    kind=a.kind,
                    mark=mark,
                    cost=number(a.unit_cost),
                    unit=display_label(a.unit),
                    low=number(a.low),
                    high=number(a.high),
                    source=a.source,
                )
            )
        for k, e in enumerate(p.effects):
            name = f"p{n}.e{k}.{e.channel}"
            mark = drawn_mark if name in drawn else ""
            out.append(
                "* "
                + _(
                    "Prior `{name}`{mark}: {distribution} {low} / {value} / {high} (low / "
                    "central / high); {source}"
                ).format(
                    name=name,
                    mark=mark,
                    distribution=e.distribution,
                    low=_g(e.low),
                    value=_g(e.value),
                    high=_g(e.high),
                    source=e.source,
                )
            )
        out.append("")
    return out
