"""Global sensitivity analysis of a finished ``sobol`` or ``morris`` batch, with SALib.

* Sobol (Saltelli's sampling): first-order ``S1`` and total ``ST`` indices with bootstrap
  confidence intervals (``*_conf`` = half-width at ``analysis.conf_level``).
* Morris (elementary effects): ``mu_star`` (mean absolute effect) with its confidence interval,
  ``mu`` and ``sigma`` (interactions / non-linearity), in output units per parameter range.

Replications are averaged per design point before the analysis (with common random numbers,
each point sees the same seeds, so the indices are not blurred by seed noise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..i18n import _, number
from ..outputs.atomic import write_atomic, write_parquet_atomic, write_text_atomic
from .designs import salib_problem, sample_matrix
from .experiment import Experiment, ExperimentError


def point_means(exp: Experiment, results: pl.DataFrame, output: str) -> np.ndarray:
    """Mean of ``output`` over replications, one value per design point, in point order."""
    if output not in results.columns:
        allowed = sorted(c for c in results.columns if c[-4:].isdigit())
        raise ExperimentError(
            "analysis", [("analysis.outputs", f"unknown output {output!r}; allowed: {allowed}")]
        )
    n_points = sample_matrix(exp).shape[0]
    means = results.group_by("point").agg(pl.col(output).mean(), pl.len().alias("n")).sort("point")
    if means.height != n_points or (means["n"] < exp.replications).any():
        raise ExperimentError(
            "results",
            [
                (
                    "",
                    f"the batch is incomplete ({results.height} of "
                    f"{n_points * exp.replications} runs); "
                    "run `adoption-abm batch` on it first",
                )
            ],
        )
    return means[output].to_numpy()


def analyse(
    exp: Experiment,
    results: pl.DataFrame,
    outputs: list[str] | None = None,
    seed: int | None = None,
) -> pl.DataFrame:
    """One row per (output, parameter) with the design's indices (see the module docstring)."""
    kind = exp.design.kind
    if kind not in ("sobol", "morris"):
        raise ExperimentError(
            "design", [("design.kind", f"sensitivity needs 'sobol' or 'morris', got {kind!r}")]
        )
    outputs = outputs or exp.analysis.outputs
    problem = salib_problem(exp)
    seed = exp.root_seed % 2**32 if seed is None else seed
    rows: list[dict[str, Any]] = []
    for output in outputs:
        y = point_means(exp, results, output)
        if kind == "sobol":
            from SALib.analyze import sobol

            si = sobol.analyze(
                problem,
                y,
                calc_second_order=exp.design.second_order,
                num_resamples=exp.analysis.resamples,
                conf_level=exp.analysis.conf_level,
                seed=seed,
            )
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            from SALib.analyze import morris

            si = morris.analyze(
                problem,
                sample_matrix(exp),
                y,
                num_resamples=exp.analysis.resamples,
                conf_level=exp.analysis.conf_level,
                num_levels=exp.design.levels,
                seed=seed,
            )
            keys = ("mu", "mu_star", "mu_star_conf", "sigma")
        for j, name in enumerate(problem["names"]):
            rows.append({"output": output, "parameter": name, **{k: si[k][j] for k in keys}})
    return pl.DataFrame(rows).with_columns(pl.selectors.float().cast(pl.Float64))


def markdown(table: pl.DataFrame, digits: int = 3) -> str:
    """The indices as a Markdown table (value ± half-width), in the current language (headers
    and decimal marks; output and parameter names as in the data)."""

    def f(x: float, d: int) -> str:
        return number(x, d, group=False)

    output, parameter = _("output"), _("parameter")
    if "S1" in table.columns:
        cols = (output, parameter, _("S1 (first order)"), _("ST (total)"))
        head = "| " + " | ".join(cols) + " |\n|---|---|---|---|\n"
        body = "".join(
            f"| {r['output']} | {r['parameter']} "
            f"| {f(r['S1'], digits)} ± {f(r['S1_conf'], digits)} "
            f"| {f(r['ST'], digits)} ± {f(r['ST_conf'], digits)} |\n"
            for r in table.iter_rows(named=True)
        )
    else:
        d = digits + 1
        head = f"| {output} | {parameter} | μ* | σ | μ |\n|---|---|---|---|---|\n"
        body = "".join(
            f"| {r['output']} | {r['parameter']} "
            f"| {f(r['mu_star'], d)} ± {f(r['mu_star_conf'], d)} "
            f"| {f(r['sigma'], d)} | {f(r['mu'], d)} |\n"
            for r in table.iter_rows(named=True)
        )
    return head + body


def plot(table: pl.DataFrame, path: str | Path, title: str = "") -> Path:
    """Bar chart of S1 and ST with confidence intervals (Sobol) or μ* against σ (Morris), one
    panel per output; written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = table["output"].unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(
        1,
        len(outputs),
        figsize=(5.5 * len(outputs), 0.5 * table.height / len(outputs) + 2.5),
        squeeze=False,
    )
    for ax, output in zip(axes[0], outputs, strict=True):
        t = table.filter(pl.col("output") == output)
        names = t["parameter"].to_list()
        if "S1" in t.columns:
            y = np.arange(len(names))
            ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label=_("first order S1"), capsize=3)
            ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label=_("total ST"), capsize=3)
            ax.set_yticks(y, names)
            ax.invert_yaxis()
            ax.axvline(0, color="grey", lw=0.5)
            ax.set_xlabel(_("Sobol index"))
            ax.legend(loc="lower right", fontsize=8)
        else:
            ax.errorbar(t["mu_star"], t["sigma"], xerr=t["mu_star_conf"], fmt="o", capsize=3)
            for name, x, s in zip(names, t["mu_star"], t["sigma"], strict=True):
                ax.annotate(name, (x, s), fontsize=7, xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel(_("μ* (mean |elementary effect|)"))
            ax.set_ylabel("σ")
        ax.set_title(output, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return out


def write_report(exp: Experiment, table: pl.DataFrame, folder: str | Path) -> dict[str, Path]:
    """Write ``sensitivity.parquet``, ``.csv``, ``.md`` and ``.png`` into ``folder`` (the data
    files the same in every language, the ``.md`` table and the figure in the current one)."""
    folder = Path(folder)
    paths = {
        "parquet": write_parquet_atomic(folder / "sensitivity.parquet", table),
        "csv": write_atomic(folder / "sensitivity.csv", lambda tmp: table.write_csv(tmp)),
        "md": write_text_atomic(folder / "sensitivity.md", markdown(table)),
    }
    paths["png"] = plot(
        table,
        folder / "sensitivity.png",
        title=_("{name}: {kind} indices, N = {samples}").format(
            name=exp.name, kind=exp.design.kind, samples=exp.design.samples
        ),
    )
    return paths
