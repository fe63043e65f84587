"""The report of a prior sensitivity analysis (:mod:`.prior_sensitivity`): a one-paragraph
reading, the indices as a table and a bar plot (S1 and ST with their intervals, sorted by ST),
each factor named with its proposal, channel, range and source, and the frames as Parquet.

Files, each written atomically (the command writes them into a :class:`~adoption_abm.outputs.
runfolder.RunFolder`, ``meta.json`` its marker): ``indices.parquet``, ``draws.parquet``,
``runs.parquet``, ``meta.json``, ``sensitivity.png``, ``sensitivity.md`` and
``sensitivity.html`` (with the ``report`` extra)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from ..outputs.atomic import (
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from .prior_sensitivity import PriorSensitivity

COUNT_METRICS = ("fte_freed_all", "fte_reinvested_all", "roles_fte")
"""Metrics in FTE (the others are shares, shown in points)."""


def fmt_output(metric: str, x: float, sign: bool = True) -> str:
    """An output difference in its unit: FTE, or points of a share."""
    if not math.isfinite(x):
        return "n/a"
    if metric in COUNT_METRICS:
        return f"{x:+,.0f} FTE" if sign else f"{x:,.0f} FTE"
    return f"{100 * x:+.3f} pts" if sign else f"{100 * x:.3f} pts"


def short_source(source: str) -> str:
    """The first bracketed reference of a source (``[Forsetlund et al. 2009: ...]``), or
    ``assumption`` / the first words."""
    m = re.search(r"\[([^\]]+)\]", source)
    if m:
        ref = m.group(1)
        return ref if len(ref) <= 48 else ref[:45] + "..."
    return "assumption" if source.startswith("assumption") else source[:40]


def factor_label(row: dict) -> str:
    """``#6 training 0.25-1 (Forsetlund et al. 2009...)``: proposal, channel(s), range and
    source of a factor (an index row)."""
    lows, highs = row["low"].split(", "), row["high"].split(", ")
    chans = row["channels"].split(", ")
    parts = [f"{c} {lo}–{hi}" for c, lo, hi in zip(chans, lows, highs, strict=True)]
    sources = sorted({short_source(s) for s in row["source"].split(" | ")})
    return f"#{row['proposal']} {'; '.join(parts)}\n({'; '.join(sources)})"


def question(meta: dict) -> str:
    """The question in words."""
    what = f"{meta['metric_label']} ({meta['metric']}) at the end of {meta['year']}"
    if meta["versus"] is None:
        return f"the effect of policy {meta['policy']!r} against the baseline on {what}"
    return (
        f"the effect of policy {meta['policy']!r} minus that of {meta['versus']!r} "
        f"(both against the baseline) on {what}"
    )


def reading(res: PriorSensitivity) -> str:
    """One paragraph: which prior decides, whether the indices are resolved, and the noise."""
    meta, t = res.meta, res.indices
    rows = t.to_dicts()
    top = rows[0]
    n = meta["samples"]
    name = f"{top['factor']} (proposal {top['proposal']}, {top['channels']})"
    st = f"ST = {top['ST']:.2f} ± {top['ST_conf']:.2f}"
    resolved = [r for r in rows if r["resolved"]]
    text = []
    if not resolved:
        text.append(
            f"No index is resolved: every ST minus its half-width is at most zero, so N = {n} "
            f"is too small to say which prior decides {question(meta)}; rerun with "
            f"--samples {4 * n} or more. The largest point estimate is {name}, {st}."
        )
    else:
        second = rows[1] if len(rows) > 1 else None
        clear = second is None or top["ST"] - top["ST_conf"] > second["ST"] + second["ST_conf"]
        if clear:
            text.append(f"The prior that decides {question(meta)} is {name}: {st}")
            if second is not None:
                text.append(
                    f", its interval clear of the next one, {second['factor']} "
                    f"(ST = {second['ST']:.2f} ± {second['ST_conf']:.2f})."
                )
            else:
                text.append(", the only factor.")
        else:
            text.append(
                f"{name} has the largest total index ({st}) for {question(meta)}, but its "
                f"interval overlaps that of {second['factor']} (ST = {second['ST']:.2f} ± "
                f"{second['ST_conf']:.2f}): their order is not resolved at N = {n}; rerun with "
                f"--samples {4 * n} to separate them."
            )
        unresolved = [r["factor"] for r in rows if not r["resolved"]]
        text.append(
            f" {len(resolved)} of {len(rows)} indices are resolved (ST minus its half-width "
            "above zero)"
            + (
                f"; {', '.join(unresolved)} cannot be told from zero at N = {n}."
                if unresolved
                else "."
            )
        )
    share = meta["noise_share"]
    if math.isfinite(share):
        text.append(
            f" Monte-Carlo noise ({meta['replications']} seeds per draw) is at most "
            f"{100 * share:.0f} % of the output's variance over the draws, the floor it can add "
            "to each ST"
            + (
                ": most of the spread is noise, raise --replications or --scale before "
                "reading the indices."
                if share > 0.5
                else "."
            )
        )
        above = [r["factor"] for r in rows if r["above_noise"]]
        if resolved and len(above) < len(resolved):
            text.append(f" Above that floor: {', '.join(above) if above else 'none of them'}.")
    else:
        text.append(
            " With one seed per draw the Monte-Carlo noise is not measured (use "
            "--replications 2 or more)."
        )
    text.append(
        f" Over the priors the output is {fmt_output(meta['metric'], meta['y_mean'])} on "
        f"average (90 % of draws within {fmt_output(meta['metric'], meta['y_q05'])} to "
        f"{fmt_output(meta['metric'], meta['y_q95'])}), above zero in "
        f"{100 * meta['p_positive']:.0f} % of the draws"
        + (
            f": {meta['policy']!r} beats {meta['versus']!r} in that share of the draws."
            if meta["versus"] is not None
            else "."
        )
    )
    if resolved:
        # the candidates: the top factor and every factor whose ST interval reaches its own
        lead = top["ST"] - top["ST_conf"]
        cands = [r for r in rows if r is top or r["ST"] + r["ST_conf"] >= lead][:3]
        what = " or ".join(f"proposal {r['proposal']}'s effect on {r['channels']}" for r in cands)
        src = top["source"].replace(" | ", "; ")
        text.append(
            f" To narrow the answer, measure first {what}"
            + (f" (now, for {top['factor']}: {src})." if len(cands) > 1 else f" (now: {src}).")
        )
    return "".join(text)


def _range(row: dict) -> str:
    parts = []
    for lo, c, hi, d in zip(
        row["low"].split(", "),
        row["central"].split(", "),
        row["high"].split(", "),
        row["distribution"].split(", "),
        strict=True,
    ):
        parts.append(f"{lo} – {hi} ({d}, central {c})")
    return "; ".join(parts)


def markdown(res: PriorSensitivity, command: str | None = None, figure: str | None = None) -> str:
    """The report as Markdown."""
    meta = res.meta
    lines = [
        f"# Which assumption decides: {meta['policy']}"
        + (f" versus {meta['versus']}" if meta["versus"] else "")
        + f", {meta['metric']} {meta['year']}",
        "",
        f"Sobol indices (SALib) of {question(meta)}, over the effect priors of the catalogue.",
        "",
        "## Reading",
        "",
        reading(res),
        "",
        "## Indices, sorted by total index",
        "",
        "S1: share of the output's variance due to the factor alone; ST: with all its "
        f"interactions; ± the bootstrap half-width at {100 * meta['conf_level']:.0f} %. "
        "Resolved: ST minus its half-width above zero.",
        "",
        "| factor | proposal | channel | range | S1 | ST | resolved | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in res.indices.iter_rows(named=True):
        src = r["source"].replace("|", "/")
        lines.append(
            f"| {r['factor']} | {r['proposal']}: {r['title']} | {r['channels']} | {_range(r)} "
            f"| {r['S1']:.3f} ± {r['S1_conf']:.3f} | {r['ST']:.3f} ± {r['ST_conf']:.3f} "
            f"| {'yes' if r['resolved'] else 'no'} | {src} |"
        )
    if figure:
        lines += ["", f"![S1 and ST with their intervals]({figure})"]
    noise = meta["noise_share"]
    lines += [
        "",
        "## Design",
        "",
        f"- scenario {meta['scenario']}, rhythm {meta['rhythm']}, scale {meta['scale']}, "
        f"engine {meta['engine']}; runs stopped at the end of {meta['end_year_run']}",
        f"- factors: {len(meta['factors'])} ({meta['grouping']}: "
        + (
            "one per prior"
            if meta["grouping"] == "effect"
            else "one per proposal, its priors moved together"
        )
        + f") over {len(meta['priors'])} priors",
        f"- Saltelli's scheme on scrambled Sobol' points: N = {meta['samples']} base samples, "
        f"{meta['rows']} draws, each on {meta['replications']} common seeds, paired with the "
        f"baseline: {meta['runs']} runs",
        f"- output over the draws: mean {fmt_output(meta['metric'], meta['y_mean'])}, sd "
        f"{fmt_output(meta['metric'], meta['y_sd'], sign=False)}; Monte-Carlo noise share "
        + (f"≤ {100 * noise:.1f} %" if math.isfinite(noise) else "not measured (one seed)"),
        f"- seed {meta['seed']} (design, replication seeds, bootstrap of {meta['resamples']} "
        "resamples)",
        f"- executor {meta['executor']}; runs {meta['seconds_runs']:.1f} s, "
        f"total {meta['seconds_total']:.1f} s",
    ]
    if command:
        lines.append(f"- command: `{command}`")
    lines += [
        "",
        "Files: `indices.parquet` (this table), `draws.parquet` (each draw's unit-cube point, "
        "effect values and output `y`), `runs.parquet` (every run's metrics with its draw and "
        "role): `SALib.analyze.sobol.analyze` on `draws.y` redoes the analysis.",
        "",
    ]
    return "\n".join(lines)


def plot(res: PriorSensitivity, path: str | Path) -> Path:
    """Horizontal bars of S1 and ST with their intervals, sorted by ST; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = res.indices
    labels = [factor_label(r) for r in t.iter_rows(named=True)]
    y = np.arange(t.height)
    fig, ax = plt.subplots(figsize=(11, 0.7 * t.height + 1.8))
    ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label="first order S1", capsize=3)
    ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label="total ST", capsize=3)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.5)
    share = res.meta["noise_share"]
    if math.isfinite(share):
        ax.axvline(share, color="grey", lw=0.8, ls="--", label="noise floor (upper bound)")
    ax.set_xlabel("Sobol index")
    ax.legend(loc="lower right", fontsize=8)
    meta = res.meta
    ax.set_title(
        f"{meta['policy']}"
        + (f" − {meta['versus']}" if meta["versus"] else " vs baseline")
        + f": {meta['metric']} {meta['year']}, N = {meta['samples']}, R = "
        f"{meta['replications']}",
        fontsize=10,
    )
    fig.tight_layout()
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return out


def write_report(
    res: PriorSensitivity, out_dir: str | Path, command: str | None = None
) -> list[Path]:
    """Write the frames, ``meta.json``, the plot, ``sensitivity.md`` and, when markdown-it-py
    is installed, ``sensitivity.html``. Returns the paths written."""
    out_dir = Path(out_dir)
    written = [
        write_parquet_atomic(out_dir / "indices.parquet", res.indices),
        write_parquet_atomic(out_dir / "draws.parquet", res.draws),
        write_parquet_atomic(out_dir / "runs.parquet", res.runs),
    ]
    meta = dict(res.meta)
    if command:
        meta["command"] = command
    meta = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in meta.items()
    }
    written.append(write_json_atomic(out_dir / "meta.json", json.loads(json.dumps(meta))))
    written.append(plot(res, out_dir / "sensitivity.png"))
    md_text = markdown(res, command, "sensitivity.png")
    written.append(write_text_atomic(out_dir / "sensitivity.md", md_text))
    try:
        from .report import html
    except ImportError:  # pragma: no cover - the report extra is absent
        return written
    try:
        page = html(md_text, f"Prior sensitivity: {res.meta['policy']}")
    except ImportError:  # pragma: no cover - markdown-it-py absent
        return written
    written.append(write_text_atomic(out_dir / "sensitivity.html", page))
    return written
