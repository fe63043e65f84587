"""What the app draws: ECharts options for the curves and the tie network, from a session.

Pure functions of a :class:`~adoption_abm.app_session.History` (the monthly series) or of a
:class:`NetworkView` (a fixed set of professionals with positions computed once, seeded), so
each step costs a few list comprehensions, never a pass over the whole run or a new layout.
ECharts (served by ``solara-assets``, no CDN) redraws a chart of a few thousand points in a few
milliseconds; animations are off so playing at 10+ months per second stays smooth.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.targets import SEED_TARGETS
from ..i18n import N_, _, label, percent
from ..scenario.schema import Scenario

if TYPE_CHECKING:
    from ..model.model import AdoptionModel
    from .follow import Trace
    from .runs import Band, SideBySide
    from .session import History

TARGET_WORDS = (N_("potential"), N_("realised"), N_("central"), N_("slow"), N_("fast"))
"""Words of the seed targets' names (:data:`adoption_abm.analysis.targets.SEED_TARGETS`)."""

STATE_LABELS: tuple[str, ...] = (N_("not using"), N_("learning"), N_("mastered"))
STATE_COLORS: tuple[str, ...] = ("#b0bec5", "#ffa000", "#2e7d32")
"""Node colours by adoption state: grey not using, amber using (learning), green mastered."""
FAMILY_COLORS = ("#6a1b9a", "#1565c0", "#c62828", "#00838f")
"""Line colours of the technology families, in the scenario's order (cycled)."""
PROFESSION_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
STAR = "path://M0,-10L2.9,-4L9.5,-3.1L4.8,1.5L5.9,8.1L0,5L-5.9,8.1L-4.8,1.5L-9.5,-3.1L-2.9,-4Z"
PROFESSION_SYMBOLS = ("circle", "rect", "triangle", "diamond", "roundRect", "pin", "arrow", STAR)
"""Node shapes by profession (in scenario order; cycled if a scenario has more than eight)."""
NETWORK_MAX_NODES = 300
"""The network view shows at most this many professionals (whole teams of one establishment)."""


def family_label(scenario: Scenario, family: str) -> str:
    """A family's label as the scenario gives it (``technologies.<family>.label``)."""
    return label(scenario.technologies[family].title(family))


def family_color(scenario: Scenario, family: str) -> str:
    return FAMILY_COLORS[scenario.families.index(family) % len(FAMILY_COLORS)]


def colour_choices(scenario: Scenario) -> tuple[str, ...]:
    """Network colouring: the highest state over the families (``any``), or one family's."""
    return ("any", *scenario.families)


def short_label(label: str) -> str:
    """'Care assistants (aides-soignants)' → 'Care assistants'."""
    return label.split(" (")[0]


def profession_labels(scenario: Scenario) -> list[str]:
    return [short_label(label(scenario.professions[p].label)) for p in scenario.profession_ids]


# curves ----------------------------------------------------------------------------------------
def _wrapped_legend(opt: dict[str, Any], rows: int) -> dict[str, Any]:
    """Let the legend wrap over ``rows`` lines (small font) instead of scrolling."""
    opt["legend"] = {
        "top": 24,
        "type": "plain",
        "itemWidth": 14,
        "itemGap": 6,
        "textStyle": {"fontSize": 10},
    }
    opt["grid"]["top"] = 60 + 18 * rows
    return opt


def _base(
    scenario: Scenario, title: str, y_name: str, y_max: float | None = 100.0
) -> dict[str, Any]:
    y_axis: dict[str, Any] = {
        "type": "value",
        "name": y_name,
        "min": 0,
        "nameTextStyle": {"align": "left"},
    }
    if y_max is not None:
        y_axis["max"] = y_max
    return {
        "animation": False,
        "title": {"text": title, "left": 0, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 24, "type": "scroll"},
        "grid": {"left": 52, "right": 16, "top": 84, "bottom": 28},
        "xAxis": {
            "type": "time",
            "min": f"{scenario.start_year}-01-01",
            "max": f"{scenario.end_year + 1}-01-01",
            "splitLine": {"show": False},
        },
        "yAxis": y_axis,
        "series": [],
    }


def _line(
    name: str, data: list, color: str, width: float = 2.0, dashed: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "line",
        "data": data,
        "showSymbol": False,
        "connectNulls": False,
        "color": color,
        "lineStyle": {"width": width, "type": "dashed" if dashed else "solid"},
    }


def adoption_family_option(
    history: History, scenario: Scenario, previous: History | None = None
) -> dict[str, Any]:
    """Share of all professionals using or mastering each family, by month."""
    opt = _base(scenario, _("Adoption by technology family"), _("% of professionals"))
    for fam in scenario.families:
        opt["series"].append(
            _line(
                family_label(scenario, fam),
                history.points(f"adoption_{fam}", 100),
                family_color(scenario, fam),
            )
        )
    if previous is not None and len(previous) > 1:
        for fam in scenario.families:
            opt["series"].append(
                _line(
                    _("{family} (previous run)").format(family=family_label(scenario, fam)),
                    previous.points(f"adoption_{fam}", 100),
                    "#9e9e9e",
                    1.2,
                    True,
                )
            )
    return opt


def adoption_profession_option(history: History, scenario: Scenario, family: str) -> dict[str, Any]:
    """Share of each profession using or mastering ``family``, by month."""
    f = scenario.families.index(family)
    title = _("{family}: adoption by profession").format(family=family_label(scenario, family))
    opt = _base(scenario, title, _("% of the profession"))
    for p, name in enumerate(profession_labels(scenario)):
        color = PROFESSION_COLORS[p % len(PROFESSION_COLORS)]
        opt["series"].append(_line(name, history.profession_points(p, f), color, 1.6))
    return _wrapped_legend(opt, rows=4)


def _target_series(scenario: Scenario, rhythm: str) -> dict[str, Any]:
    data = []
    for t in SEED_TARGETS:
        if not scenario.start_year <= t.year <= scenario.end_year:
            continue
        mine = t.rhythm == rhythm or t.what == "potential"
        data.append(
            {
                "name": f"{_(t.what)} {t.year} ({_(t.rhythm)}) {percent(t.value, 0)}",
                "value": [f"{t.year + 1}-01-01", round(t.value * 100, 3)],
                "symbol": "diamond" if t.rhythm == "central" else "triangle",
                "symbolSize": 13 if mine else 9,
                "itemStyle": {"color": "#000000" if mine else "#9e9e9e"},
                "label": {"show": mine, "formatter": "{b}", "position": "right", "fontSize": 10},
            }
        )
    return {"name": _("seed targets"), "type": "scatter", "data": data, "color": "#000000", "z": 5}


def band_series(band: Band, color: str = "#2e7d32") -> list[dict[str, Any]]:
    """The band as two stacked ECharts lines: the lower quantile (invisible) and the width
    above it, shaded (``areaStyle``)."""
    lows = [[d, float(v) * 100] for d, v in zip(band.dates, band.low, strict=True)]
    widths = [
        [d, float(h - lo) * 100] for d, lo, h in zip(band.dates, band.low, band.high, strict=True)
    ]
    # one legend entry for both (same name); no tooltip (the width is not a figure to read)
    name = _("5-95 % band ({runs} runs)").format(runs=band.runs)
    common = {
        "name": name,
        "type": "line",
        "stack": "band",
        "showSymbol": False,
        "silent": True,
        "z": 1,
        "color": color,
        "lineStyle": {"opacity": 0},
        "tooltip": {"show": False},
    }
    return [
        {**common, "data": lows},
        {**common, "data": widths, "areaStyle": {"color": color, "opacity": 0.18}},
    ]


def time_freed_option(
    history: History,
    scenario: Scenario,
    rhythm: str,
    previous: History | None = None,
    band: Band | None = None,
) -> dict[str, Any]:
    """Potential vs realised time freed (share of working time), with the seed's targets and,
    once computed, the band of realised time freed over seeds and prior draws."""
    opt = _base(
        scenario, _("Time freed: potential vs realised"), _("% of working time"), y_max=60.0
    )
    opt["series"] += [
        _line(_("Potential"), history.points("potential_all", 100), "#546e7a", 2.0),
        _line(_("Realised"), history.points("realised_all", 100), "#2e7d32", 3.0),
        _line(_("medical"), history.points("realised_medical", 100), "#1565c0", 1.2, True),
        _line(
            _("non-medical"),
            history.points("realised_non_medical", 100),
            "#ef6c00",
            1.2,
            True,
        ),
    ]
    if previous is not None and len(previous) > 1:
        opt["series"].append(
            _line(
                _("previous run"),
                previous.points("realised_all", 100),
                "#9e9e9e",
                2.0,
                True,
            )
        )
    if band is not None:
        opt["series"] += band_series(band)
    opt["series"].append(_target_series(scenario, rhythm))
    return opt


def fte_option(
    history: History, scenario: Scenario, previous: History | None = None
) -> dict[str, Any]:
    """Full-time equivalents freed, whole workforce (extrapolated) and the eight professions."""
    opt = _base(scenario, _("FTE freed for patient care"), _("thousand FTE"), y_max=None)
    opt["series"] += [
        _line(_("Whole health workforce"), history.points("fte_freed_all", 1e-3), "#2e7d32", 2.5),
        _line(
            _("Eight professions"),
            history.points("fte_freed_eight_professions", 1e-3),
            "#00838f",
            1.6,
        ),
    ]
    if previous is not None and len(previous) > 1:
        opt["series"].append(
            _line(
                _("Whole workforce (previous run)"),
                previous.points("fte_freed_all", 1e-3),
                "#9e9e9e",
                2.0,
                True,
            )
        )
    return opt


def gaps_option(history: History, scenario: Scenario) -> dict[str, Any]:
    """Multi-speed gap (range of realised/potential across groups) and downgrading risk."""
    opt = _base(scenario, _("Multi-speed gap and downgrading risk"), "%", y_max=100.0)
    opt["series"] += [
        _line(
            _("Multi-speed gap (largest)"), history.points("multi_speed_gap", 100), "#6a1b9a", 2.5
        ),
        _line(
            _("gap across professions"), history.points("gap_profession", 100), "#8e24aa", 1.0, True
        ),
        _line(_("gap across age bands"), history.points("gap_age", 100), "#ab47bc", 1.0, True),
        _line(
            _("gap across establishment types"),
            history.points("gap_establishment", 100),
            "#ce93d8",
            1.0,
            True,
        ),
        _line(_("Downgrading risk"), history.points("downgrading_risk", 100), "#d84315", 2.5),
    ]
    return opt


def roles_option(
    history: History, scenario: Scenario, demand: dict[str, tuple[str, Any]]
) -> dict[str, Any]:
    """FTE demand of each emerging role (``{id: (label, values per month)}``)."""
    opt = _base(scenario, _("Demand for emerging roles"), _("FTE (eight professions)"), y_max=None)
    for k, (name, values) in enumerate(demand.values()):
        color = PROFESSION_COLORS[k % len(PROFESSION_COLORS)]
        opt["series"].append(_line(short_label(label(name)), history.series(values), color, 1.8))
    return _wrapped_legend(opt, rows=2)


def side_by_side_option(sbs: SideBySide, scenario: Scenario) -> dict[str, Any]:
    """Two policy sets, same seed: realised and potential time freed of each."""
    opt = _base(scenario, _("Set A and set B, same seed"), _("% of working time"), y_max=60.0)
    opt["series"] += [
        _line(_("Realised, set A"), sbs.a.points("realised_all", 100), "#2e7d32", 2.5),
        _line(_("Realised, set B"), sbs.b.points("realised_all", 100), "#6a1b9a", 2.5),
        _line(_("Potential, set A"), sbs.a.points("potential_all", 100), "#2e7d32", 1.2, True),
        _line(_("Potential, set B"), sbs.b.points("potential_all", 100), "#6a1b9a", 1.2, True),
    ]
    return opt


def trace_option(trace: Trace, scenario: Scenario, start_year: int) -> dict[str, Any]:
    """One professional month by month: each family's state (0-2), the digital skill (0-1,
    ×2 to share the axis) and the share of ties using each family."""
    from .session import month_date

    dates = [month_date(start_year, m) for m in trace.month]
    opt = _base(
        scenario,
        _("Follow one professional"),
        _("state (0 not using, 1 learning, 2 mastered)"),
        y_max=2.1,
    )
    for f, fam in enumerate(scenario.families):
        color = family_color(scenario, fam)
        opt["series"].append(
            {
                **_line(
                    family_label(scenario, fam),
                    [[d, int(s[f])] for d, s in zip(dates, trace.state, strict=True)],
                    color,
                    2.5,
                ),
                "step": "end",
            }
        )
        share = [
            [d, 2.0 * float(u[f]) / t if t else None]
            for d, u, t in zip(dates, trace.tie_users, trace.ties, strict=True)
        ]
        opt["series"].append(
            _line(
                _("{family}: ties using it (share ×2)").format(family=family_label(scenario, fam)),
                share,
                color,
                1.0,
                True,
            )
        )
    opt["series"].append(
        _line(
            _("digital skill (×2)"),
            [[d, 2.0 * v] for d, v in zip(dates, trace.skill, strict=True)],
            "#000000",
            1.5,
        )
    )
    return _wrapped_legend(opt, rows=3)


# network ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkView:
    """A fixed set of professionals (``rows``), their ties among themselves and their positions."""

    title: str
    rows: np.ndarray  # int64 (n,), professional rows
    links: np.ndarray  # int64 (k, 2), local indices, each undirected pair once
    x: np.ndarray  # float (n,)
    y: np.ndarray  # float (n,)
    professions: np.ndarray  # int (n,), profession index of each node (fixed for a row)
    establishment: int | None = None

    @property
    def n(self) -> int:
        return len(self.rows)

    @cached_property
    def line_data(self) -> list[dict[str, list[list[float]]]]:
        """The ties as ECharts ``lines`` data (pairs of positions), built once."""
        x, y = self.x.tolist(), self.y.tolist()
        return [{"coords": [[x[a], y[a]], [x[b], y[b]]]} for a, b in self.links.tolist()]


def establishment_label(model: AdoptionModel, e: int) -> str:
    sc = model.inputs
    type_label = short_label(
        label(sc.establishment_types[sc.type_ids[int(model.est.type[e])]].label)
    )
    return _("#{e} {type}, {staff} staff").format(
        e=e, type=type_label, staff=int(model.est.size[e])
    )


def establishment_choices(model: AdoptionModel, per_type: int = 3) -> list[int]:
    """A few establishments of each type, the largest first (what the picker offers)."""
    sizes = model.est.size
    out: list[int] = []
    for t in range(len(model.inputs.type_ids)):
        idx = np.flatnonzero((model.est.type == t) & (sizes >= 2))
        out += idx[np.argsort(-sizes[idx], kind="stable")][:per_type].tolist()
    return out


def default_establishment(model: AdoptionModel, target: int = 150) -> int:
    """The establishment whose staff is closest to ``target`` (a readable network)."""
    sizes = model.est.size.astype(np.int64)
    return int(np.argmin(np.abs(sizes - target)))


def _links(model: AdoptionModel, rows: np.ndarray) -> np.ndarray:
    """Undirected ties among ``rows`` as local index pairs (each pair once)."""
    net = model.network
    local = {int(r): k for k, r in enumerate(rows)}
    pairs = set()
    for k, r in enumerate(rows):
        for j in net.ties(int(r)):
            m = local.get(int(j))
            if m is not None and m != k:
                pairs.add((min(k, m), max(k, m)))
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def network_layout(n: int, links: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Force-directed positions computed once for a view (seeded; never redone per render)."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(map(tuple, links.tolist()))
    pos = nx.spring_layout(graph, seed=seed, iterations=60)
    xy = np.array([pos[k] for k in range(n)], dtype=np.float64).reshape(n, 2)
    return np.round(xy[:, 0] * 500, 1), np.round(xy[:, 1] * 500, 1)


def establishment_view(
    model: AdoptionModel, e: int, seed: int, max_nodes: int = NETWORK_MAX_NODES
) -> NetworkView:
    """The staff of establishment ``e`` (its first ``max_nodes`` rows, i.e. whole teams)."""
    if not 0 <= e < model.est.n:
        raise IndexError(f"establishment {e} out of range 0..{model.est.n - 1}")
    lo, hi = int(model.est.start[e]), int(model.est.start[e + 1])
    rows = np.arange(lo, min(hi, lo + max_nodes), dtype=np.int64)
    links = _links(model, rows)
    x, y = network_layout(len(rows), links, seed)
    title = establishment_label(model, e)
    if hi - lo > max_nodes:
        title += " " + _("(first {n} shown)").format(n=max_nodes)
    return NetworkView(
        title, rows, links, x, y, model.pop.profession[rows].astype(np.int64), establishment=e
    )


def sample_view(model: AdoptionModel, seed: int, size: int = 250) -> NetworkView:
    """A snowball sample: from one random professional, ties of ties (breadth first)."""
    rng = np.random.default_rng(seed)
    net = model.network
    start = int(rng.integers(model.pop.n))
    seen = {start: None}
    frontier = [start]
    while frontier and len(seen) < size:
        nxt = []
        for i in frontier:
            ties = net.ties(i)
            for j in rng.permutation(ties).tolist():
                if j not in seen and len(seen) < size:
                    seen[j] = None
                    nxt.append(j)
        frontier = nxt
    rows = np.array(sorted(seen), dtype=np.int64)
    links = _links(model, rows)
    x, y = network_layout(len(rows), links, seed)
    professions = model.pop.profession[rows].astype(np.int64)
    return NetworkView(
        _("Snowball sample of {n} professionals").format(n=len(rows)),
        rows,
        links,
        x,
        y,
        professions,
    )


def node_states(states: np.ndarray, colour_by: str, families: tuple[str, ...]) -> np.ndarray:
    """Per-node state 0/1/2 to colour by: one family's, or the highest over the families."""
    if colour_by == "any":
        return states.max(axis=1)
    return states[:, families.index(colour_by)]


def _network_axes(view: NetworkView) -> dict[str, Any]:
    """Grid and hidden axes shared by the network's two layers (same positions on screen)."""
    pad = 30.0
    axis = {"type": "value", "show": False}
    return {
        "grid": {"left": 8, "right": 150, "top": 56, "bottom": 8},
        "xAxis": {**axis, "min": float(view.x.min()) - pad, "max": float(view.x.max()) + pad},
        "yAxis": {**axis, "min": float(view.y.min()) - pad, "max": float(view.y.max()) + pad},
    }


def network_background(view: NetworkView) -> dict[str, Any]:
    """The ties, drawn once per view in a chart underneath the nodes (they never change)."""
    return {
        "animation": False,
        **_network_axes(view),
        "series": [
            {
                "type": "lines",
                "coordinateSystem": "cartesian2d",
                "data": view.line_data,
                "lineStyle": {"color": "#90a4ae", "opacity": 0.35, "width": 0.6},
                "silent": True,
                "large": True,
            }
        ],
    }


def network_option(
    view: NetworkView, states: np.ndarray, scenario: Scenario, colour_by: str = "any"
) -> dict[str, Any]:
    """The professionals as ECharts draws them fast: one ``scatter`` series per profession
    (shape), points as plain ``[x, y, state, row]`` arrays coloured by state through a
    ``visualMap``. Positions are the view's, fixed; the ties are :func:`network_background`."""
    labels = profession_labels(scenario)
    shown = node_states(states, colour_by, scenario.families)
    points: list[list[list[float]]] = [[] for _ in labels]
    for r, x, y, p, s in zip(
        view.rows.tolist(),
        view.x.tolist(),
        view.y.tolist(),
        view.professions.tolist(),
        shown.tolist(),
        strict=True,
    ):
        points[p].append([x, y, s, r])  # plain arrays: ECharts builds no model per point
    what = _("any family") if colour_by == "any" else family_label(scenario, colour_by)
    symbols = [PROFESSION_SYMBOLS[p % len(PROFESSION_SYMBOLS)] for p in range(len(labels))]
    return {
        "animation": False,
        "title": {
            "text": view.title,
            "subtext": _("colour: state for {what}").format(what=what),
            "left": 0,
            "textStyle": {"fontSize": 14},
        },
        "tooltip": {
            "trigger": "item",
            "formatter": "{a} #{@row}: "
            + _("state {state} (0 not using, 1 learning, 2 mastered)").format(state="{@state}"),
        },
        "visualMap": {
            "type": "piecewise",
            "show": False,
            "dimension": 2,
            "seriesIndex": list(range(len(labels))),
            "pieces": [{"value": k, "color": c} for k, c in enumerate(STATE_COLORS)],
        },
        "legend": {
            "data": [{"name": lab, "icon": sym} for lab, sym in zip(labels, symbols, strict=True)],
            "orient": "vertical",
            "right": 0,
            "top": 40,
            "textStyle": {"fontSize": 11},
        },
        **_network_axes(view),
        "series": [
            {
                "name": label,
                "type": "scatter",
                "symbol": symbols[p],
                "symbolSize": 9,
                "color": "#607d8b",  # the legend's; the points take their state's (visualMap)
                "dimensions": ["x", "y", "state", "row"],
                "data": points[p],
            }
            for p, label in enumerate(labels)
        ],
    }
