"""Pictures of one run folder (what ``adoption-abm run --out`` writes): ``adoption-abm plot``
and ``run --plot``.

Four figures, each built in two steps so that its data can be checked without drawing:

* ``adoption``: adoption of each technology family, one panel per profession
  (``timeseries.parquet``);
* ``time_freed``: potential against realised working time freed, with the seed targets
  (:data:`~adoption_abm.analysis.targets.SEED_TARGETS`; ``indicators.parquet``);
* ``fte_freed``: full-time equivalents freed (``indicators.parquet``);
* ``gaps``: adoption and realised time freed by age band and by establishment type
  (``breakdown.parquet``).

``<figure>_table(run)`` returns the figure's data as a Polars frame (``time`` is the end of the
month reported, in decimal years: the figures of year ``Y`` sit at ``Y + 1``, as in
``summary.json``); ``<figure>_labels()`` returns every word the figure shows, in one dict (the
place a translation layer wraps). PNG is drawn with Matplotlib (the ``report`` extra), HTML with
Altair (the ``app`` extra; the page loads Vega from its CDN). Files are written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ..i18n import _, about, current_language, general, label, number, percent
from ..outputs.atomic import write_atomic
from ..scenario.calendar import age_band_keys
from ..scenario.schema import RHYTHMS, Scenario
from .targets import SEED_TARGETS

FORMATS: tuple[str, ...] = ("png", "html")
RUN_FILES: tuple[str, ...] = (
    "summary.json",
    "scenario.toml",
    "timeseries.parquet",
    "indicators.parquet",
    "breakdown.parquet",
)
"""What a run folder holds (``summary.json`` first: its presence marks a complete run)."""

PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
"""Okabe and Ito's colour-blind-safe palette (blue first; yellow late, it is pale on white)."""

STYLE: dict[str, Any] = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "figure.dpi": 110,
    "savefig.bbox": "tight",
}
"""Matplotlib settings of every figure (applied in a context, never globally)."""


class PlotError(ValueError):
    """A run folder that cannot be drawn, or a format that cannot be written: ``str()`` names
    the argument or option and says why."""


@dataclass(frozen=True)
class Run:
    """The files of one run folder, read."""

    folder: Path
    summary: dict[str, Any]
    scenario: Scenario
    timeseries: pl.DataFrame
    indicators: pl.DataFrame
    breakdown: pl.DataFrame


def read_run(folder: str | Path, label: str = "RUN_DIR") -> Run:
    """Read a run folder; a :class:`PlotError` naming ``label`` and the file if it is not one."""
    from ..scenario.errors import ScenarioError
    from ..scenario.load import load_scenario

    path = Path(folder)
    if not path.is_dir():
        why = _("does not exist") if not path.exists() else _("is a file, not a run folder")
        raise PlotError(f"{label} {path}: {why}")
    if not (path / "summary.json").is_file():
        raise PlotError(
            about(
                f"{label} {path}",
                _("not a run folder (no summary.json; `adoption-abm run --out` writes one)"),
            )
        )
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise PlotError(
            about(f"{label} {path}", _("missing {files}").format(files=", ".join(missing)))
        )
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        frames = {
            name: pl.read_parquet(path / f"{name}.parquet")
            for name in ("timeseries", "indicators", "breakdown")
        }
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise PlotError(
            about(f"{label} {path}", _("cannot be read: {error}").format(error=exc))
        ) from None
    try:
        scenario = load_scenario(path / "scenario.toml")
    except ScenarioError as exc:
        raise PlotError(
            about(
                f"{label} {path}",
                _("scenario.toml is not a valid scenario: {error}").format(error=exc),
            )
        ) from None
    if not isinstance(summary, dict) or "rhythm" not in summary:
        raise PlotError(about(f"{label} {path}", _("summary.json is not a run's summary")))
    return Run(path, summary, scenario, **frames)


def _time() -> pl.Expr:
    """End of the month reported, in decimal years (the initial state is the start year)."""
    return (pl.col("year") + pl.col("month_of_year") / 12).alias("time")


def short_label(text: str) -> str:
    """A display name in the current language, without its parenthesis: 'Care assistants
    (aides-soignants)' → 'Care assistants' (French: 'Aides-soignants')."""
    return label(text).split(" (")[0]


def run_caption(run: Run) -> str:
    """The run the figure shows, in one line (scenario, rhythm, seed, scale, policies)."""
    s = run.summary
    text = _run_labels()["run"].format(
        scenario=s.get("scenario", run.scenario.name),
        rhythm=_(s["rhythm"]) if s["rhythm"] in RHYTHMS else s["rhythm"],
        seed=s.get("seed", "?"),
        scale=general(s["scale"]) if "scale" in s else "?",
    )
    if s.get("policy"):
        text += _run_labels()["policy"].format(policy=", ".join(map(str, s["policy"])))
    return text


def _run_labels() -> dict[str, str]:
    return {
        "run": _("{scenario}, {rhythm} rhythm, seed {seed}, scale {scale}"),
        "policy": _("; proposals {policy}"),
    }


# figure 1: adoption by family and profession ---------------------------------------------------
def adoption_labels() -> dict[str, str]:
    """Every word of the adoption figure."""
    return {
        "title": _("Adoption by technology family and profession"),
        "x": _("year"),
        "y": _("% of the profession using it"),
        "legend": _("technology family"),
    }


def adoption_table(run: Run) -> pl.DataFrame:
    """Share of each profession using (or mastering) each family, by month: ``time``,
    ``profession``, ``family`` (labels, in the scenario's order), ``adoption`` (0-1)."""
    sc = run.scenario
    prof = {p: short_label(sc.professions[p].label) for p in sc.profession_ids}
    fam = {f: label(sc.technologies[f].title(f)) for f in sc.families}
    return (
        run.timeseries.select(
            _time(),
            pl.col("profession").cast(pl.String).replace_strict(prof).alias("profession"),
            pl.col("family").cast(pl.String).replace_strict(fam).alias("family"),
            "adoption",
        )
        .with_columns(
            pl.col("profession").cast(pl.Enum(list(prof.values()))),
            pl.col("family").cast(pl.Enum(list(fam.values()))),
        )
        .sort("profession", "family", "time")
    )


# figure 2: potential against realised, with the seed targets ----------------------------------
def time_freed_labels() -> dict[str, str]:
    """Every word of the time-freed figure."""
    return {
        "title": _("Working time freed: potential and realised"),
        "x": _("year"),
        "y": _("% of working time"),
        "potential": _("potential"),
        "realised": _("realised"),
        "target": _("seed target"),
        "other_rhythm": _("seed target, other rhythm"),
        "marker": _("{value} at the end of {year} ({rhythm})"),
    }


def time_freed_table(run: Run) -> pl.DataFrame:
    """Potential and realised time freed, all professions: ``time``, ``series``
    (``potential`` | ``realised``), ``value`` (share of working time, 0-1)."""
    return (
        run.indicators.select(_time(), potential="potential_all", realised="realised_all")
        .unpivot(index="time", variable_name="series", value_name="value")
        .sort("series", "time")
    )


def _marker(words: dict[str, str], row: dict[str, Any]) -> str:
    """A seed target's annotation: '45% at the end of 2030 (central)'."""
    return words["marker"].format(
        value=percent(row["value"], 0, space=False),
        year=row["year"],
        rhythm=_(row["rhythm"]) if row["rhythm"] in RHYTHMS else row["rhythm"],
    )


def target_table(run: Run) -> pl.DataFrame:
    """The seed targets within the run's years: ``time`` (the end of their year), ``series``
    (``potential`` | ``realised``), ``year``, ``rhythm``, ``value`` and ``own`` (the run's
    rhythm, or a potential: the same for every rhythm)."""
    last = float(run.indicators.select(_time().max()).item())
    first = run.scenario.start_year
    rhythm = run.summary["rhythm"]
    rows = [
        {
            "time": float(t.year + 1),
            "series": t.what,
            "year": t.year,
            "rhythm": t.rhythm,
            "value": t.value,
            "own": t.rhythm == rhythm or t.what == "potential",
        }
        for t in SEED_TARGETS
        if first <= t.year and t.year + 1 <= last
    ]
    schema = {"time": pl.Float64, "series": pl.String, "year": pl.Int64, "rhythm": pl.String}
    schema |= {"value": pl.Float64, "own": pl.Boolean}
    return pl.DataFrame(rows, schema=schema)


# figure 3: FTE freed ----------------------------------------------------------------------------
FTE_SERIES: tuple[str, ...] = ("all", "eight_professions", "medical", "non_medical")


def fte_labels() -> dict[str, str]:
    """Every word of the FTE figure."""
    return {
        "title": _("Full-time equivalents freed for patient care"),
        "x": _("year"),
        "y": _("thousand FTE"),
        "y_units": _("FTE"),
        "all": _("whole health workforce (extrapolated)"),
        "eight_professions": _("the eight professions modelled"),
        "medical": _("medical professions"),
        "non_medical": _("non-medical professions"),
    }


def fte_freed_table(run: Run) -> pl.DataFrame:
    """FTE freed by month: ``time``, ``group`` (:data:`FTE_SERIES`), ``fte``."""
    cols = {k: f"fte_freed_{k}" for k in FTE_SERIES}
    return (
        run.indicators.select(_time(), **cols)
        .unpivot(index="time", variable_name="group", value_name="fte")
        .with_columns(pl.col("group").cast(pl.Enum(list(FTE_SERIES))))
        .sort("group", "time")
    )


# figure 4: gaps by age band and establishment type ---------------------------------------------
def gaps_labels() -> dict[str, str]:
    """Every word of the gaps figure (age bands through ``under``, ``band`` and ``plus``)."""
    return {
        "title": _("Gaps by age band and by establishment type"),
        "x": _("year"),
        "age_band": _("by age band"),
        "establishment_type": _("by establishment type"),
        "adoption": _("adoption (% of families in use)"),
        "realised": _("realised time freed (% of working time)"),
        "spread": _("range at the end of {year}: {points} pts"),
        "under": _("under {age}"),
        "band": "{low}-{high}",
        "plus": _("{age} and over"),
    }


def age_band_label(key: str, labels: dict[str, str] | None = None) -> str:
    """'under_30' → 'under 30', '30_39' → '30-39', '60_plus' → '60 and over'."""
    words = labels or gaps_labels()
    if key.startswith("under_"):
        return words["under"].format(age=key.removeprefix("under_").replace("p", "."))
    if key.endswith("_plus"):
        return words["plus"].format(age=key.removesuffix("_plus").replace("p", "."))
    low, _, high = key.replace("_to_", "_").partition("_")
    return words["band"].format(low=low.replace("p", "."), high=high.replace("p", "."))


def gaps_table(run: Run) -> pl.DataFrame:
    """Adoption and realised time freed by group: ``time``, ``breakdown`` (``age_band`` |
    ``establishment_type``), ``group`` (label), ``measure`` (``adoption`` | ``realised``),
    ``value`` (0-1). Groups in the scenario's order (age bands youngest first)."""
    sc = run.scenario
    names = {k: age_band_label(k) for k in age_band_keys(sc.indicators.age_bands)}
    names |= {t: short_label(sc.establishment_types[t].label) for t in sc.type_ids}
    return (
        run.breakdown.select(
            _time(),
            pl.col("breakdown").cast(pl.String),
            pl.col("group").replace_strict(names).cast(pl.Enum(list(names.values()))),
            "adoption",
            "realised",
        )
        .unpivot(index=["time", "breakdown", "group"], variable_name="measure")
        .sort("breakdown", "measure", "group", "time")
    )


# drawing: Matplotlib -----------------------------------------------------------------------------
def _pyplot(option: str = "--format png"):
    try:
        import matplotlib
    except ImportError:
        raise PlotError(
            about(
                option,
                _("needs Matplotlib; install it with pip install 'adoption-abm[report]'"),
            )
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _percent(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, pos: percent(v, 0, space=False)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))


def _suptitle(fig: Any, title: str, run: Run) -> None:
    """Title and run caption above the axes (saved with ``bbox_inches="tight"``)."""
    fig.text(0.01, 1.0, run_caption(run), fontsize=9, color="#555555", ha="left", va="bottom")
    fig.text(0.01, 1.035, title, fontsize=12.5, fontweight="bold", ha="left", va="bottom")


def _draw_adoption(run: Run, plt: Any) -> Any:
    words = adoption_labels()
    table = adoption_table(run)
    profs = table["profession"].dtype.categories.to_list()
    fams = table["family"].dtype.categories.to_list()
    cols = min(4, len(profs))
    rows = -(-len(profs) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.9 * cols, 2.5 * rows + 0.9), sharex=True, sharey=True, squeeze=False
    )
    for k, ax in enumerate(axes.flat):
        if k >= len(profs):
            ax.set_visible(False)
            continue
        part = table.filter(pl.col("profession") == profs[k])
        for f, fam in enumerate(fams):
            d = part.filter(pl.col("family") == fam)
            ax.plot(d["time"], d["adoption"], color=PALETTE[f % len(PALETTE)], label=fam)
        ax.set_title(profs[k], loc="left")
        ax.set_ylim(0, 1)
        _percent(ax)
        if k % cols == 0:
            ax.set_ylabel(words["y"])
        if k // cols == rows - 1:
            ax.set_xlabel(words["x"])
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles,
        names,
        title=words["legend"],
        loc="lower right",
        bbox_to_anchor=(1, 1),
        ncol=len(fams),
    )
    fig.tight_layout()
    _suptitle(fig, words["title"], run)
    return fig


def _draw_time_freed(run: Run, plt: Any) -> Any:
    words = time_freed_labels()
    table = time_freed_table(run)
    targets = target_table(run)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    colours = {"potential": PALETTE[1], "realised": PALETTE[0]}
    styles = {"potential": "--", "realised": "-"}
    for series in ("potential", "realised"):
        d = table.filter(pl.col("series") == series)
        ax.plot(d["time"], d["value"], styles[series], color=colours[series], label=words[series])
    for own in (True, False):
        d = targets.filter(pl.col("own") == own)
        if d.is_empty():
            continue
        ax.scatter(
            d["time"],
            d["value"],
            marker="D" if own else "v",
            s=48 if own else 30,
            facecolor="#000000" if own else "none",
            edgecolor="#000000" if own else "#888888",
            zorder=5,
            label=words["target" if own else "other_rhythm"],
        )
        for row in d.iter_rows(named=True):
            ax.annotate(
                _marker(words, row),
                (row["time"], row["value"]),
                xytext=(7, -3),
                textcoords="offset points",
                fontsize=8,
                color="#000000" if own else "#888888",
            )
    ax.set_ylim(0, max(0.5, float(table["value"].max()) * 1.1))
    ax.set_xlabel(words["x"])
    ax.set_ylabel(words["y"])
    _percent(ax)
    ax.legend(loc="upper left")
    fig.tight_layout()
    _suptitle(fig, words["title"], run)
    return fig


def _draw_fte(run: Run, plt: Any) -> Any:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    words = fte_labels()
    table = fte_freed_table(run)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    styles = {"all": "-", "eight_professions": "-", "medical": "--", "non_medical": ":"}
    for k, group in enumerate(FTE_SERIES):
        d = table.filter(pl.col("group") == group)
        ax.plot(d["time"], d["fte"], styles[group], color=PALETTE[k], label=words[group])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, pos: number(v / 1000, 0)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(words["x"])
    ax.set_ylabel(words["y"])
    ax.legend(loc="upper left")
    fig.tight_layout()
    _suptitle(fig, words["title"], run)
    return fig


def _draw_gaps(run: Run, plt: Any) -> Any:
    words = gaps_labels()
    table = gaps_table(run)
    last = float(table["time"].max())
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True, squeeze=False)
    for c, kind in enumerate(("age_band", "establishment_type")):
        for r, measure in enumerate(("adoption", "realised")):
            ax = axes[r, c]
            part = table.filter((pl.col("breakdown") == kind) & (pl.col("measure") == measure))
            groups = part["group"].unique(maintain_order=True).to_list()
            for k, group in enumerate(groups):
                d = part.filter(pl.col("group") == group)
                ax.plot(d["time"], d["value"], color=PALETTE[k % len(PALETTE)], label=group)
            end = part.filter(pl.col("time") == last)["value"]
            spread = words["spread"].format(
                year=int(last) - 1 if last.is_integer() else int(last),
                points=number(100 * float(end.max() - end.min()), 1),
            )
            ax.set_title(about(words[kind], words[measure]) + f"\n{spread}", loc="left")
            ax.set_ylim(bottom=0)
            _percent(ax)
            if r == 1:
                ax.set_xlabel(words["x"])
            if r == 0:
                ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    _suptitle(fig, words["title"], run)
    return fig


# drawing: Altair -------------------------------------------------------------------------------
def _altair(option: str = "--format html"):
    try:
        import altair as alt
    except ImportError:
        raise PlotError(
            about(
                option,
                _(
                    "needs Altair; install it with pip install 'adoption-abm[app]', or use "
                    "--format png"
                ),
            )
        ) from None
    return alt


def _chart_title(alt: Any, title: str, run: Run) -> Any:
    return alt.TitleParams(title, subtitle=run_caption(run), anchor="start")


def _x(alt: Any, words: dict[str, str]) -> Any:
    return alt.X("time:Q", title=words["x"], axis=alt.Axis(format="d", tickMinStep=1))


def _scale(alt: Any, domain: list[str]) -> Any:
    return alt.Scale(domain=domain, range=[PALETTE[k % len(PALETTE)] for k in range(len(domain))])


def _localised(chart: Any, alt: Any) -> Any:
    """The chart with Vega's number locale of the current language: in French, decimal comma,
    narrow no-break space for thousands, no-break space before %."""
    if current_language() != "fr":
        return chart
    number_locale = alt.NumberLocale(
        decimal=",", thousands="\u202f", grouping=[3], currency=["", "\u00a0€"], percent="\u00a0%"
    )
    return chart.configure(locale=alt.Locale(number=number_locale))


def _html_adoption(run: Run, alt: Any) -> Any:
    words = adoption_labels()
    t = adoption_table(run)
    fams = t["family"].dtype.categories.to_list()
    profs = t["profession"].dtype.categories.to_list()
    data = t.with_columns(pl.col("profession", "family").cast(pl.String))
    base = (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=_x(alt, words),
            y=alt.Y("adoption:Q", title=words["y"], axis=alt.Axis(format="%")),
            color=alt.Color("family:N", title=words["legend"], scale=_scale(alt, fams)),
        )
        .properties(width=180, height=140)
    )
    return base.facet(
        facet=alt.Facet("profession:N", title=None, sort=profs), columns=4
    ).properties(title=_chart_title(alt, words["title"], run))


def _html_time_freed(run: Run, alt: Any) -> Any:
    words = time_freed_labels()
    t = time_freed_table(run).with_columns(
        pl.col("series").replace_strict(
            {"potential": words["potential"], "realised": words["realised"]}
        )
    )
    targets = target_table(run).with_columns(
        label=pl.struct("value", "year", "rhythm").map_elements(
            lambda r: _marker(words, r), return_dtype=pl.String
        ),
        kind=pl.when("own").then(pl.lit(words["target"])).otherwise(pl.lit(words["other_rhythm"])),
    )
    series = [words["potential"], words["realised"]]
    lines = (
        alt.Chart(t)
        .mark_line()
        .encode(
            x=_x(alt, words),
            y=alt.Y("value:Q", title=words["y"], axis=alt.Axis(format="%")),
            color=alt.Color("series:N", title=None, scale=_scale(alt, series)),
            strokeDash=alt.StrokeDash("series:N", legend=None),
        )
    )
    points = (
        alt.Chart(targets)
        .mark_point(filled=True, size=70, shape="diamond")
        .encode(
            x="time:Q",
            y="value:Q",
            opacity=alt.Opacity("own:N", legend=None),
            shape=alt.Shape("kind:N", title=None),
            tooltip=["label:N"],
        )
    )
    text = points.mark_text(align="left", dx=8, fontSize=10).encode(text="label:N")
    return (
        alt.layer(lines, points, text)
        .properties(width=560, height=320, title=_chart_title(alt, words["title"], run))
        .resolve_scale(color="independent", shape="independent")
    )


def _html_fte(run: Run, alt: Any) -> Any:
    words = fte_labels()
    t = fte_freed_table(run).with_columns(
        pl.col("group").cast(pl.String).replace_strict({g: words[g] for g in FTE_SERIES}),
    )
    groups = [words[g] for g in FTE_SERIES]
    return (
        alt.Chart(t)
        .mark_line()
        .encode(
            x=_x(alt, words),
            y=alt.Y("fte:Q", title=words["y_units"]),
            color=alt.Color("group:N", title=None, scale=_scale(alt, groups), sort=groups),
            tooltip=["group:N", alt.Tooltip("fte:Q", format=",.0f")],
        )
        .properties(width=560, height=320, title=_chart_title(alt, words["title"], run))
    )


def _html_gaps(run: Run, alt: Any) -> Any:
    words = gaps_labels()
    t = gaps_table(run)
    charts = []
    for kind in ("age_band", "establishment_type"):
        part = t.filter(pl.col("breakdown") == kind)
        groups = part["group"].unique(maintain_order=True).cast(pl.String).to_list()
        data = part.with_columns(
            pl.col("group").cast(pl.String),
            pl.col("measure").replace_strict({m: words[m] for m in ("adoption", "realised")}),
        )
        charts.append(
            alt.Chart(data, title=words[kind])
            .mark_line()
            .encode(
                x=_x(alt, words),
                y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%")),
                color=alt.Color("group:N", title=words[kind], scale=_scale(alt, groups)),
            )
            .properties(width=280, height=160)
            .facet(row=alt.Row("measure:N", title=None))
        )
    return (
        alt.hconcat(*charts)
        .resolve_scale(color="independent")
        .properties(title=_chart_title(alt, words["title"], run))
    )


@dataclass(frozen=True)
class Figure:
    """One figure: its table (the data drawn) and its two renderers."""

    table: Callable[[Run], pl.DataFrame]
    labels: Callable[[], dict[str, str]]
    png: Callable[[Run, Any], Any]
    html: Callable[[Run, Any], Any]


FIGURES: dict[str, Figure] = {
    "adoption": Figure(adoption_table, adoption_labels, _draw_adoption, _html_adoption),
    "time_freed": Figure(time_freed_table, time_freed_labels, _draw_time_freed, _html_time_freed),
    "fte_freed": Figure(fte_freed_table, fte_labels, _draw_fte, _html_fte),
    "gaps": Figure(gaps_table, gaps_labels, _draw_gaps, _html_gaps),
}
"""The figures, by file name (``<name>.png`` or ``<name>.html``)."""


def check_format(fmt: str, option: str = "--format") -> str:
    """``fmt`` if it is a known format whose library is installed, else a :class:`PlotError`."""
    if fmt not in FORMATS:
        raise PlotError(
            about(
                f"{option} {fmt!r}",
                _("unknown format; allowed: {allowed}").format(allowed=", ".join(FORMATS)),
            )
        )
    named = option if option != "--format" else f"--format {fmt}"
    if fmt == "png":
        _pyplot(named)
    else:
        _altair(named)
    return fmt


def _save_png(fig: Any, path: Path) -> Path:
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))


def _html_writer(chart: Any) -> Callable[[Path], None]:
    return lambda tmp: chart.save(tmp, format="html")


def write_plots(
    run_dir: str | Path | Run,
    out: str | Path | None = None,
    fmt: str = "png",
    *,
    label: str = "RUN_DIR",
) -> list[Path]:
    """Draw the four figures of the run folder ``run_dir`` (a path, or a :class:`Run` already
    read) into ``out`` (default ``run_dir/plots``), one file each (``<name>.<fmt>``), each
    written atomically."""
    check_format(fmt)
    run = run_dir if isinstance(run_dir, Run) else read_run(run_dir, label)
    folder = Path(out) if out is not None else run.folder / "plots"
    written = []
    if fmt == "png":
        plt = _pyplot()
        with plt.rc_context(STYLE):
            for name, figure in FIGURES.items():
                fig = figure.png(run, plt)
                try:
                    written.append(_save_png(fig, folder / f"{name}.png"))
                finally:
                    plt.close(fig)
    else:
        alt = _altair()
        for name, figure in FIGURES.items():
            chart = _localised(figure.html(run, alt), alt)
            written.append(write_atomic(folder / f"{name}.html", _html_writer(chart)))
    return written
