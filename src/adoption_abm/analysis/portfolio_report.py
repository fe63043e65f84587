"""The optimiser's report: ``report.md`` and ``report.html`` (the best portfolios, their
committed cost, robust objective and interval over draws; the marginal value of each proposal
in the best one), the cost-effect Pareto plot ``pareto.png``, ``trials.parquet`` and
``best.json`` (the best portfolio as interventions and as a ``--policy``).

Every file is written atomically beside the resumable ``study.db`` (``report.html`` last).
Needs the ``report`` extra (matplotlib, markdown-it-py).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..i18n import N_, _, general, label, listed, number
from ..outputs.atomic import (
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from ..policies.catalogue import catalogue
from .optimise import OptimiseResult
from .portfolio import OBJECTIVE_LABELS, OBJECTIVES, from_policy_text, interventions
from .report import _table, html

DIRECTIONS = {"maximize": N_("maximize"), "minimize": N_("minimize")}
"""Optuna's directions, for people."""


def robust_name(robust: str) -> str:
    """``--robust`` for people: ``mean`` translated, a quantile ``qNN`` as given."""
    return _("mean") if robust == "mean" else robust


def _fmt(x: float | None, objective: str) -> str:
    if x is None or not math.isfinite(x):
        return _("n/a")
    if objective == "multi_speed_gap":
        return _("{points} pts").format(points=number(100 * x, 2, sign=True))
    return number(x, 0)


def _describe(policy: str) -> str:
    items = from_policy_text(policy)
    if not items:
        return _("nothing (baseline)")
    return ", ".join(
        _("#{n} x{intensity} from {start}").format(
            n=it.proposal, intensity=general(it.intensity), start=it.start
        )
        for it in items
    )


def best_json(result: OptimiseResult) -> dict[str, Any]:
    """The best portfolio as interventions (a scenario's ``interventions`` or ``run --policy``),
    with its committed cost and robust objective."""
    ev = result.best
    if ev is None:
        return {"policy": None, "interventions": [], "settings": result.settings}
    per = ev.per_draw(result.objective)
    return {
        "policy": ev.policy,
        "interventions": interventions(from_policy_text(ev.policy)),
        "objective": result.objective,
        "robust": result.robust,
        "value": _json_num(result.value(ev)),
        "per_draw": [_json_num(v) for v in per],
        "committed_meur_by_year": {str(y): v for y, v in ev.committed.items()},
        "committed_cumulative_meur": ev.cumulative,
        "discounted_cost_meur": ev.discounted_cost,
        "spent_discounted_meur_by_draw": list(ev.spent),
        "settings": result.settings,
    }


def _json_num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def pareto_png(result: OptimiseResult) -> bytes:
    """Committed cumulative cost against the robust objective, every evaluated feasible trial;
    the non-dominated ones highlighted and joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import polars as pl
    from matplotlib.ticker import FuncFormatter

    ok = result.trials.filter(pl.col("value").is_not_null()).unique("policy", keep="first")
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    cost = ok["committed_cumulative_meur"].to_numpy()
    value = ok["value"].to_numpy()
    scale = 100.0 if result.objective == "multi_speed_gap" else 1.0
    front = ok["pareto"].to_numpy()
    ax.scatter(cost[~front], scale * value[~front], s=18, color="#9aa9b8", label=_("evaluated"))
    order = np.argsort(cost[front])
    ax.plot(
        cost[front][order],
        scale * value[front][order],
        "-o",
        color="#c0392b",
        ms=6,
        label=_("non-dominated"),
    )
    if result.best is not None:
        ax.scatter(
            [result.best.cumulative],
            [scale * result.value(result.best)],
            s=140,
            facecolors="none",
            edgecolors="black",
            label=_("best"),
        )
    if result.budget.cumulative is not None:
        ax.axvline(
            result.budget.cumulative, color="grey", ls="--", lw=1, label=_("cumulative budget")
        )
    ax.set_xlabel(
        _("committed cost to {horizon} (M€, cumulative)").format(horizon=result.settings["horizon"])
    )
    unit = _(" (points)") if result.objective == "multi_speed_gap" else ""
    ax.set_ylabel(
        _("{objective}{unit}, {robust} over draws").format(
            objective=_(OBJECTIVE_LABELS[result.objective]),
            unit=unit,
            robust=robust_name(result.robust),
        )
    )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, pos: general(v, group=True)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, pos: general(v, group=True)))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def markdown(result: OptimiseResult, command: str | None = None) -> str:
    """The report as Markdown."""
    s, obj = result.settings, result.objective
    cat = catalogue().proposals
    budget = _("{budget} M€ a year").format(budget=general(s["budget"]))
    if s["cumulative_budget"] is not None:
        budget += ", " + _("{budget} M€ over the horizon").format(
            budget=general(s["cumulative_budget"])
        )
    trials = result.trials
    n_feasible = int((trials["state"] == "complete").sum())
    n_infeasible = int((trials["state"] == "infeasible").sum())
    lines = [
        _("# Portfolio optimisation: {scenario}, horizon {horizon}").format(
            scenario=s["scenario"], horizon=s["horizon"]
        ),
        "",
    ]
    if command:
        lines += [_("Command: `{command}`").format(command=command), ""]
    lines += [
        _table(
            [_("setting"), _("value")],
            [
                [
                    _("objective"),
                    f"{_(OBJECTIVE_LABELS[obj])} ({_(DIRECTIONS[OBJECTIVES[obj]])})",
                ],
                [
                    _("robust"),
                    _("{robust} over {draws} assumption draws").format(
                        robust=robust_name(s["robust"]), draws=s["draws"]
                    ),
                ],
                [_("budget"), budget],
                [_("candidates"), ", ".join(map(str, s["proposals"]))],
                [_("intensities"), listed(general(x) for x in s["intensities"])],
                [
                    _("runs per portfolio"),
                    _(
                        "{runs} ({draws} draws x {replications} replications, paired with the "
                        "baseline of the same seed)"
                    ).format(
                        runs=result.runs_per_portfolio,
                        draws=s["draws"],
                        replications=s["replications"],
                    ),
                ],
                [_("scale, seed"), listed([general(s["scale"]), str(s["seed"])])],
                [
                    _("trials"),
                    _(
                        "{trials} ({warm} warm start: the baseline, the singles and pairs within "
                        "the budget; {feasible} feasible, {infeasible} over budget and not run)"
                    ).format(
                        trials=trials.height,
                        warm=result.warm_start,
                        feasible=n_feasible,
                        infeasible=n_infeasible,
                    ),
                ],
                [
                    _("this session"),
                    _("{trials} trials, {runs} model runs, {seconds} s").format(
                        trials=result.trials_this_session,
                        runs=result.runs,
                        seconds=number(result.seconds, 1),
                    ),
                ],
            ],
        ),
        "",
        _(
            "The study was given the baseline and every single candidate and every pair of "
            "candidates within the budget (intensity 1, from the policy start) before the TPE "
            "sampler's own trials, so the best portfolio is never worse than the best single "
            "proposal or pair within the budget. Portfolios over the budget are not run: their "
            "overspend is an Optuna constraint. Committed cost = the budget ceilings in force "
            "(catalogue cost x intensity, from the start); spending never exceeds them. The "
            "interval is the lowest and highest value over the assumption draws (each the mean "
            "over the replications)."
        ),
        "",
        _("## Best portfolios"),
        "",
    ]
    rows = []
    for rank, ev in enumerate(result.top, 1):
        per = ev.per_draw(obj)
        rows.append(
            [
                str(rank),
                _describe(ev.policy),
                number(max(ev.committed.values()), 0),
                number(ev.cumulative, 0),
                number(ev.discounted_cost, 0),
                number(float(np.mean(ev.spent)), 0) if ev.spent else _("n/a"),
                _fmt(result.value(ev), obj),
                _fmt(float(np.mean(per)), obj),
                f"[{_fmt(min(per), obj)}, {_fmt(max(per), obj)}]",
            ]
        )
    lines += [
        _table(
            [
                _("rank"),
                _("portfolio"),
                _("largest year (M€)"),
                _("cumulative (M€)"),
                _("committed, discounted (M€)"),
                _("spent, discounted (M€)"),
                _("robust ({robust})").format(robust=robust_name(s["robust"])),
                _("mean"),
                _("interval over draws"),
            ],
            rows,
        )
        if rows
        else _("No feasible portfolio was evaluated."),
        "",
    ]
    best = result.best
    if best is not None:
        first = min((y for y, v in best.committed.items() if v > 0), default=s["horizon"])
        years = [y for y in sorted(best.committed) if y >= first]
        cum = np.cumsum([best.committed[y] for y in years])
        lines += [
            _("### Committed cost of the best portfolio ({policy})").format(policy=best.policy),
            "",
            _table(
                [_("year"), *map(str, years)],
                [
                    ["M€", *(number(best.committed[y], 1) for y in years)],
                    [_("cumulative M€"), *(number(float(c), 1) for c in cum)],
                ],
            ),
            "",
            _("## Marginal value of each proposal in the best portfolio"),
            "",
            _(
                "The robust objective with the proposal minus without it (the rest unchanged), "
                "both evaluated on the same draws and seeds."
            ),
            "",
        ]
        mrows = [
            [
                f"#{m['proposal']} {label(cat[m['proposal']].title)}",
                _("x{intensity} from {start}").format(
                    intensity=general(m["intensity"]), start=m["start"]
                ),
                number(cat[m["proposal"]].cost * m["intensity"], 0),
                number(m["cost_saved_meur"], 0),
                _fmt(m["value_without"], obj),
                _fmt(m["marginal"], obj) if math.isfinite(m["marginal"]) else _("n/a"),
                label(cat[m["proposal"]].activity),
            ]
            for m in result.marginals
        ]
        lines += [
            _table(
                [
                    _("proposal"),
                    _("in the portfolio"),
                    _("ceiling (M€/yr)"),
                    _("committed to the horizon (M€)"),
                    _("objective without it"),
                    _("marginal value"),
                    _("what it buys"),
                ],
                mrows,
            ),
            "",
        ]
    lines += [
        _("## Cost against effect"),
        "",
        _(
            "Every feasible portfolio evaluated; the non-dominated ones (no other is both "
            "cheaper and better) in red."
        ),
        "",
        "![Pareto](pareto.png)",
        "",
        _(
            "Files: `trials.parquet` (every trial), `best.json` (the best portfolio as "
            "interventions), `study.db` (the Optuna study: re-running the same command resumes "
            "it)."
        ),
        "",
    ]
    return "\n".join(lines)


def write_report(
    result: OptimiseResult, out_dir: str | Path, command: str | None = None
) -> Sequence[Path]:
    """Write ``trials.parquet``, ``best.json``, ``pareto.png``, ``report.md`` and
    ``report.html`` (last) into ``out_dir``, each atomically. Returns the paths."""
    out = Path(out_dir)
    written = [
        write_parquet_atomic(out / "trials.parquet", result.trials),
        write_json_atomic(out / "best.json", best_json(result)),
    ]
    data = pareto_png(result)
    written.append(write_atomic(out / "pareto.png", lambda tmp: tmp.write_bytes(data)))
    md_text = markdown(result, command)
    written.append(write_text_atomic(out / "report.md", md_text))
    title = _("Portfolio optimisation: {scenario}").format(scenario=result.settings["scenario"])
    written.append(write_text_atomic(out / "report.html", html(md_text, title)))
    return written
