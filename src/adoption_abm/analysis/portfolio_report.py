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


def _fmt(x: float | None, objective: str) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    if objective == "multi_speed_gap":
        return f"{100 * x:+.2f} pts"
    return f"{x:,.0f}"


def _describe(policy: str) -> str:
    items = from_policy_text(policy)
    if not items:
        return "nothing (baseline)"
    return ", ".join(f"#{it.proposal} x{it.intensity:g} from {it.start}" for it in items)


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

    ok = result.trials.filter(pl.col("value").is_not_null()).unique("policy", keep="first")
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    cost = ok["committed_cumulative_meur"].to_numpy()
    value = ok["value"].to_numpy()
    scale = 100.0 if result.objective == "multi_speed_gap" else 1.0
    front = ok["pareto"].to_numpy()
    ax.scatter(cost[~front], scale * value[~front], s=18, color="#9aa9b8", label="evaluated")
    order = np.argsort(cost[front])
    ax.plot(
        cost[front][order],
        scale * value[front][order],
        "-o",
        color="#c0392b",
        ms=6,
        label="non-dominated",
    )
    if result.best is not None:
        ax.scatter(
            [result.best.cumulative],
            [scale * result.value(result.best)],
            s=140,
            facecolors="none",
            edgecolors="black",
            label="best",
        )
    if result.budget.cumulative is not None:
        ax.axvline(result.budget.cumulative, color="grey", ls="--", lw=1, label="cumulative budget")
    ax.set_xlabel(f"committed cost to {result.settings['horizon']} (M€, cumulative)")
    unit = " (points)" if result.objective == "multi_speed_gap" else ""
    ax.set_ylabel(f"{OBJECTIVE_LABELS[result.objective]}{unit}, {result.robust} over draws")
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
    budget = f"{s['budget']:g} M€ a year"
    if s["cumulative_budget"] is not None:
        budget += f", {s['cumulative_budget']:g} M€ over the horizon"
    trials = result.trials
    n_feasible = int((trials["state"] == "complete").sum())
    n_infeasible = int((trials["state"] == "infeasible").sum())
    lines = [
        f"# Portfolio optimisation: {s['scenario']}, horizon {s['horizon']}",
        "",
    ]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += [
        _table(
            ["setting", "value"],
            [
                ["objective", f"{OBJECTIVE_LABELS[obj]} ({OBJECTIVES[obj]})"],
                ["robust", f"{s['robust']} over {s['draws']} assumption draws"],
                ["budget", budget],
                ["candidates", ", ".join(map(str, s["proposals"]))],
                ["intensities", ", ".join(f"{x:g}" for x in s["intensities"])],
                [
                    "runs per portfolio",
                    f"{result.runs_per_portfolio} ({s['draws']} draws x {s['replications']} "
                    "replications, paired with the baseline of the same seed)",
                ],
                ["scale, seed", f"{s['scale']:g}, {s['seed']}"],
                [
                    "trials",
                    f"{trials.height} ({result.warm_start} warm start: the baseline, the "
                    "singles and pairs within the budget; "
                    f"{n_feasible} feasible, {n_infeasible} over budget and not run)",
                ],
                [
                    "this session",
                    f"{result.trials_this_session} trials, {result.runs} model runs, "
                    f"{result.seconds:.1f} s",
                ],
            ],
        ),
        "",
        "The study was given the baseline and every single candidate and every pair of "
        "candidates within the budget (intensity 1, from the policy start) before the TPE "
        "sampler's own trials, so the best portfolio is never worse than the best single "
        "proposal or pair within the budget. Portfolios over the budget are not run: their "
        "overspend is an Optuna constraint. Committed cost = the budget ceilings in force "
        "(catalogue cost x intensity, from the start); spending never exceeds them. The interval "
        "is the lowest and highest value over the assumption draws (each the mean over the "
        "replications).",
        "",
        "## Best portfolios",
        "",
    ]
    rows = []
    for rank, ev in enumerate(result.top, 1):
        per = ev.per_draw(obj)
        rows.append(
            [
                str(rank),
                _describe(ev.policy),
                f"{max(ev.committed.values()):,.0f}",
                f"{ev.cumulative:,.0f}",
                f"{ev.discounted_cost:,.0f}",
                f"{np.mean(ev.spent):,.0f}" if ev.spent else "n/a",
                _fmt(result.value(ev), obj),
                _fmt(float(np.mean(per)), obj),
                f"[{_fmt(min(per), obj)}, {_fmt(max(per), obj)}]",
            ]
        )
    lines += [
        _table(
            [
                "rank",
                "portfolio",
                "largest year (M€)",
                "cumulative (M€)",
                "committed, discounted (M€)",
                "spent, discounted (M€)",
                f"robust ({s['robust']})",
                "mean",
                "interval over draws",
            ],
            rows,
        )
        if rows
        else "No feasible portfolio was evaluated.",
        "",
    ]
    best = result.best
    if best is not None:
        first = min((y for y, v in best.committed.items() if v > 0), default=s["horizon"])
        years = [y for y in sorted(best.committed) if y >= first]
        cum = np.cumsum([best.committed[y] for y in years])
        lines += [
            f"### Committed cost of the best portfolio ({best.policy})",
            "",
            _table(
                ["year", *map(str, years)],
                [
                    ["M€", *(f"{best.committed[y]:,.1f}" for y in years)],
                    ["cumulative M€", *(f"{c:,.1f}" for c in cum)],
                ],
            ),
            "",
            "## Marginal value of each proposal in the best portfolio",
            "",
            "The robust objective with the proposal minus without it (the rest unchanged), both "
            "evaluated on the same draws and seeds.",
            "",
        ]
        mrows = [
            [
                f"#{m['proposal']} {cat[m['proposal']].title}",
                f"x{m['intensity']:g} from {m['start']}",
                f"{cat[m['proposal']].cost * m['intensity']:,.0f}",
                f"{m['cost_saved_meur']:,.0f}",
                _fmt(m["value_without"], obj),
                _fmt(m["marginal"], obj) if math.isfinite(m["marginal"]) else "n/a",
                cat[m["proposal"]].activity,
            ]
            for m in result.marginals
        ]
        lines += [
            _table(
                [
                    "proposal",
                    "in the portfolio",
                    "ceiling (M€/yr)",
                    "committed to the horizon (M€)",
                    "objective without it",
                    "marginal value",
                    "what it buys",
                ],
                mrows,
            ),
            "",
        ]
    lines += [
        "## Cost against effect",
        "",
        "Every feasible portfolio evaluated; the non-dominated ones (no other is both cheaper "
        "and better) in red.",
        "",
        "![Pareto](pareto.png)",
        "",
        "Files: `trials.parquet` (every trial), `best.json` (the best portfolio as "
        "interventions), `study.db` (the Optuna study: re-running the same command resumes it).",
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
    title = f"Portfolio optimisation: {result.settings['scenario']}"
    written.append(write_text_atomic(out / "report.html", html(md_text, title)))
    return written
