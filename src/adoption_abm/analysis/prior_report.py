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

from ..i18n import _, about, current_language, general, label, number, percent
from ..outputs.atomic import (
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from ..scenario.schema import RHYTHMS
from .prior_sensitivity import PriorSensitivity

COUNT_METRICS = ("fte_freed_all", "fte_reinvested_all", "roles_fte")
"""Metrics in FTE (the others are shares, shown in points)."""


def fmt_output(metric: str, x: float, sign: bool = True) -> str:
    """An output difference in its unit: FTE, or points of a share."""
    if not math.isfinite(x):
        return _("n/a")
    if metric in COUNT_METRICS:
        return _("{value} FTE").format(value=number(x, 0, sign=sign))
    return _("{points} pts").format(points=number(100 * x, 3, sign=sign))


def short_source(source: str) -> str:
    """The first bracketed reference of a source (``[Forsetlund et al. 2009: ...]``), or
    ``assumption`` / the first words."""
    m = re.search(r"\[([^\]]+)\]", source)
    if m:
        ref = m.group(1)
        return ref if len(ref) <= 48 else ref[:45] + "..."
    return _("assumption") if source.startswith("assumption") else source[:40]


def factor_label(row: dict) -> str:
    """``#6 training 0.25-1 (Forsetlund et al. 2009...)``: proposal, channel(s), range and
    source of a factor (an index row)."""
    lows, highs = row["low"].split(", "), row["high"].split(", ")
    chans = row["channels"].split(", ")
    parts = [f"{c} {_dec(lo)}–{_dec(hi)}" for c, lo, hi in zip(chans, lows, highs, strict=True)]
    sources = sorted({short_source(s) for s in row["source"].split(" | ")})
    return f"#{row['proposal']} {'; '.join(parts)}\n({'; '.join(sources)})"


def _dec(text: str) -> str:
    """A number already written as text (the index table's ``low``, ``high``), with a decimal
    comma in French."""
    return text.replace(".", ",") if current_language() == "fr" else text


def _index(x: float, conf: float, digits: int = 3) -> str:
    """``0.412 ± 0.051``."""
    return f"{number(x, digits)} ± {number(conf, digits)}"


def question(meta: dict) -> str:
    """The question in words."""
    what = _("{metric} ({name}) at the end of {year}").format(
        metric=_(meta["metric_label"]), name=meta["metric"], year=meta["year"]
    )
    if meta["versus"] is None:
        return _("the effect of policy {policy!r} against the baseline on {what}").format(
            policy=meta["policy"], what=what
        )
    return _(
        "the effect of policy {policy!r} minus that of {versus!r} (both against the baseline) "
        "on {what}"
    ).format(policy=meta["policy"], versus=meta["versus"], what=what)


def reading(res: PriorSensitivity) -> str:
    """One paragraph: which prior decides, whether the indices are resolved, and the noise."""
    meta, t = res.meta, res.indices
    rows = t.to_dicts()
    top = rows[0]
    n = meta["samples"]
    name = _("{factor} (proposal {proposal}, {channels})").format(
        factor=top["factor"], proposal=top["proposal"], channels=top["channels"]
    )
    st = "ST = " + _index(top["ST"], top["ST_conf"], 2)
    resolved = [r for r in rows if r["resolved"]]
    text = []
    if not resolved:
        text.append(
            _(
                "No index is resolved: every ST minus its half-width is at most zero, so N = {n} "
                "is too small to say which prior decides {question}; rerun with --samples "
                "{more} or more. The largest point estimate is {name}, {st}."
            ).format(n=n, question=question(meta), more=4 * n, name=name, st=st)
        )
    else:
        second = rows[1] if len(rows) > 1 else None
        clear = second is None or top["ST"] - top["ST_conf"] > second["ST"] + second["ST_conf"]
        if clear:
            text.append(
                _("The prior that decides {question} is {name}: {st}").format(
                    question=question(meta), name=name, st=st
                )
            )
            if second is not None:
                text.append(
                    _(", its interval clear of the next one, {factor} ({st}).").format(
                        factor=second["factor"],
                        st="ST = " + _index(second["ST"], second["ST_conf"], 2),
                    )
                )
            else:
                text.append(_(", the only factor."))
        else:
            text.append(
                _(
                    "{name} has the largest total index ({st}) for {question}, but its interval "
                    "overlaps that of {factor} ({other}): their order is not resolved at "
                    "N = {n}; rerun with --samples {more} to separate them."
                ).format(
                    name=name,
                    st=st,
                    question=question(meta),
                    factor=second["factor"],
                    other="ST = " + _index(second["ST"], second["ST_conf"], 2),
                    n=n,
                    more=4 * n,
                )
            )
        unresolved = [r["factor"] for r in rows if not r["resolved"]]
        text.append(
            " "
            + _(
                "{resolved} of {total} indices are resolved (ST minus its half-width above zero)"
            ).format(resolved=len(resolved), total=len(rows))
            + (
                _("; {factors} cannot be told from zero at N = {n}.").format(
                    factors=", ".join(unresolved), n=n
                )
                if unresolved
                else "."
            )
        )
    share = meta["noise_share"]
    if math.isfinite(share):
        text.append(
            " "
            + _(
                "Monte-Carlo noise ({seeds} seeds per draw) is at most {share} of the output's "
                "variance over the draws, the floor it can add to each ST"
            ).format(seeds=meta["replications"], share=percent(share, 0))
            + (
                _(
                    ": most of the spread is noise, raise --replications or --scale before "
                    "reading the indices."
                )
                if share > 0.5
                else "."
            )
        )
        above = [r["factor"] for r in rows if r["above_noise"]]
        if resolved and len(above) < len(resolved):
            text.append(
                " "
                + _("Above that floor: {factors}.").format(
                    factors=", ".join(above) if above else _("none of them")
                )
            )
    else:
        text.append(
            " "
            + _(
                "With one seed per draw the Monte-Carlo noise is not measured (use "
                "--replications 2 or more)."
            )
        )
    text.append(
        " "
        + _(
            "Over the priors the output is {mean} on average (90 % of draws within {low} to "
            "{high}), above zero in {positive} of the draws"
        ).format(
            mean=fmt_output(meta["metric"], meta["y_mean"]),
            low=fmt_output(meta["metric"], meta["y_q05"]),
            high=fmt_output(meta["metric"], meta["y_q95"]),
            positive=percent(meta["p_positive"], 0),
        )
        + (
            _(": {policy!r} beats {versus!r} in that share of the draws.").format(
                policy=meta["policy"], versus=meta["versus"]
            )
            if meta["versus"] is not None
            else "."
        )
    )
    if resolved:
        # the candidates: the top factor and every factor whose ST interval reaches its own
        lead = top["ST"] - top["ST_conf"]
        cands = [r for r in rows if r is top or r["ST"] + r["ST_conf"] >= lead][:3]
        what = _(" or ").join(
            _("proposal {proposal}'s effect on {channels}").format(
                proposal=r["proposal"], channels=r["channels"]
            )
            for r in cands
        )
        src = top["source"].replace(" | ", "; ")
        text.append(
            " "
            + _("To narrow the answer, measure first {what}").format(what=what)
            + (
                _(" (now, for {factor}: {source}).").format(factor=top["factor"], source=src)
                if len(cands) > 1
                else _(" (now: {source}).").format(source=src)
            )
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
        parts.append(
            _("{low} – {high} ({distribution}, central {central})").format(
                low=_dec(lo), high=_dec(hi), distribution=d, central=_dec(c)
            )
        )
    return "; ".join(parts)


def markdown(res: PriorSensitivity, command: str | None = None, figure: str | None = None) -> str:
    """The report as Markdown."""
    meta = res.meta
    if meta["versus"]:
        title = _("# Which assumption decides: {policy} versus {versus}, {metric} {year}")
    else:
        title = _("# Which assumption decides: {policy}, {metric} {year}")
    lines = [
        title.format(
            policy=meta["policy"], versus=meta["versus"], metric=meta["metric"], year=meta["year"]
        ),
        "",
        _("Sobol indices (SALib) of {question}, over the effect priors of the catalogue.").format(
            question=question(meta)
        ),
        "",
        _("## Reading"),
        "",
        reading(res),
        "",
        _("## Indices, sorted by total index"),
        "",
        _(
            "S1: share of the output's variance due to the factor alone; ST: with all its "
            "interactions; ± the bootstrap half-width at {level}. Resolved: ST minus its "
            "half-width above zero."
        ).format(level=percent(meta["conf_level"], 0)),
        "",
        "| "
        + " | ".join(
            [
                _("factor"),
                _("proposal"),
                _("channel"),
                _("range"),
                "S1",
                "ST",
                _("resolved"),
                _("source"),
            ]
        )
        + " |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in res.indices.iter_rows(named=True):
        src = r["source"].replace("|", "/")
        cells = [
            r["factor"],
            about(str(r["proposal"]), label(r["title"])),
            r["channels"],
            _range(r),
            _index(r["S1"], r["S1_conf"]),
            _index(r["ST"], r["ST_conf"]),
            _("yes") if r["resolved"] else _("no"),
            src,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if figure:
        alt = _("S1 and ST with their intervals")
        lines += ["", f"![{alt}]({figure})"]
    noise = meta["noise_share"]
    grouping = (
        _("one per prior")
        if meta["grouping"] == "effect"
        else _("one per proposal, its priors moved together")
    )
    lines += [
        "",
        _("## Design"),
        "",
        "- "
        + _(
            "scenario {scenario}, rhythm {rhythm}, scale {scale}, engine {engine}; runs stopped "
            "at the end of {year}"
        ).format(
            scenario=meta["scenario"],
            rhythm=_(meta["rhythm"]) if meta["rhythm"] in RHYTHMS else meta["rhythm"],
            scale=general(meta["scale"]),
            engine=meta["engine"],
            year=meta["end_year_run"],
        ),
        "- "
        + _("factors: {n} ({grouping}: {how}) over {priors} priors").format(
            n=len(meta["factors"]),
            grouping=meta["grouping"],
            how=grouping,
            priors=len(meta["priors"]),
        ),
        "- "
        + _(
            "Saltelli's scheme on scrambled Sobol' points: N = {samples} base samples, {rows} "
            "draws, each on {seeds} common seeds, paired with the baseline: {runs} runs"
        ).format(
            samples=meta["samples"],
            rows=meta["rows"],
            seeds=meta["replications"],
            runs=meta["runs"],
        ),
        "- "
        + _("output over the draws: mean {mean}, sd {sd}; Monte-Carlo noise share {noise}").format(
            mean=fmt_output(meta["metric"], meta["y_mean"]),
            sd=fmt_output(meta["metric"], meta["y_sd"], sign=False),
            noise="≤ " + percent(noise, 1)
            if math.isfinite(noise)
            else _("not measured (one seed)"),
        ),
        "- "
        + _("seed {seed} (design, replication seeds, bootstrap of {resamples} resamples)").format(
            seed=meta["seed"], resamples=meta["resamples"]
        ),
        "- "
        + _("executor {executor}; runs {runs} s, total {total} s").format(
            executor=meta["executor"],
            runs=number(meta["seconds_runs"], 1),
            total=number(meta["seconds_total"], 1),
        ),
    ]
    if command:
        lines.append("- " + _("command: `{command}`").format(command=command))
    lines += [
        "",
        _(
            "Files: `indices.parquet` (this table), `draws.parquet` (each draw's unit-cube "
            "point, effect values and output `y`), `runs.parquet` (every run's metrics with its "
            "draw and role): `SALib.analyze.sobol.analyze` on `draws.y` redoes the analysis."
        ),
        "",
    ]
    return "\n".join(lines)


def plot(res: PriorSensitivity, path: str | Path) -> Path:
    """Horizontal bars of S1 and ST with their intervals, sorted by ST; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    t = res.indices
    labels = [factor_label(r) for r in t.iter_rows(named=True)]
    y = np.arange(t.height)
    fig, ax = plt.subplots(figsize=(11, 0.7 * t.height + 1.8))
    ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label=_("first order S1"), capsize=3)
    ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label=_("total ST"), capsize=3)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.5)
    share = res.meta["noise_share"]
    if math.isfinite(share):
        ax.axvline(share, color="grey", lw=0.8, ls="--", label=_("noise floor (upper bound)"))
    ax.set_xlabel(_("Sobol index"))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, pos: general(round(v, 6))))
    ax.legend(loc="lower right", fontsize=8)
    meta = res.meta
    against = f" − {meta['versus']}" if meta["versus"] else " " + _("vs baseline")
    ax.set_title(
        f"{meta['policy']}{against}: {meta['metric']} {meta['year']}, N = {meta['samples']}, "
        f"R = {meta['replications']}",
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
        page = html(md_text, _("Prior sensitivity: {policy}").format(policy=res.meta["policy"]))
    except ImportError:  # pragma: no cover - markdown-it-py absent
        return written
    written.append(write_text_atomic(out_dir / "sensitivity.html", page))
    return written
