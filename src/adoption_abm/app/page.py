"""Solara page for watching and steering the simulation: ``adoption-abm app`` or
``solara run adoption_abm.app``.

Built on Mesa's SolaraViz conventions where they fit: the same Reset / Play / Pause / Step
controls and a play loop that steps the model in a task and re-renders after each step; the
DataCollector's reporters (``model.MODEL_REPORTERS``) feed the charts; views are components
taking the model's state. It is a custom page rather than ``SolaraViz`` itself because the
proposals need their own controls (a switch, an intensity and a start year for each of twenty),
because the charts must grow by one month per step instead of rebuilding a DataFrame of the
whole run at each render, and because SolaraViz's layout and controller moved between Mesa 3.3
and 3.5 while this page must run on both.

Settings changed while a run is under way rebuild the model with the same seed and replay it to
the current month (a fraction of a second at 20,000 agents); the replaced run stays on the
charts, dashed grey, for comparison.
"""

from __future__ import annotations

import functools
import html
import textwrap
import time
import uuid
from collections.abc import Callable

import solara
import solara.lab

from ..app import views as views
from ..outputs.indicators import month_label
from ..policies.catalogue import PROPOSALS
from ..scenario.errors import ScenarioError
from ..scenario.load import builtin_scenarios
from .chart import FrameSync, LiveChart, structure_key
from .odd import odd_text
from .session import (
    AGENT_CHOICES,
    DEFAULT_SPEED,
    INTENSITY_CHOICES,
    SPEED_RANGE,
    Session,
    Settings,
    settings_from_env,
    speed_from_env,
)

TITLE = "Health professionals adopting AI, digital tools and robotics"
AXES: tuple[tuple[str, range], ...] = (
    ("I. Recruitment and initial training", range(1, 5)),
    ("II. Skills transition of professionals in post", range(5, 10)),
    ("III. Support and inform professionals", range(10, 15)),
    ("IV. Institutional change", range(15, 21)),
)
"""The proposals' four axes [seed 003]."""
CHART_HEIGHT = "340px"
ODD_LINK = (
    'The full model description (ODD protocol) is on the <a href="odd" target="_blank">'
    "Model description (ODD)</a> page."
)

EXPLAIN = {
    "overview": """
**What you are seeing.** Each dot on the left is a health professional of one establishment;
its shape is the profession, its colour whether it uses a technology (amber: learning it,
green: mastered). Lines are the ties through which colleagues influence each other. Professionals
adopt on their own now and then (innovation) and more often when their ties have adopted
(imitation); they can only use what their establishment has deployed. On the right, the share
of all professionals using each family, and the working time freed: the *potential* (if
everyone mastered what is available) against what is *realised* by those who have mastered it.
The diamonds are the think tank's figures for 2025 and 2030.

"""
    + ODD_LINK,
    "professions": """
**Adoption by profession.** One chart per technology family, one line per profession: the share
of the profession that uses or masters the family. Professions differ by their attitude,
their access to training and where they work (establishments deploy at different times).
""",
    "time": """
**Time freed.** *Potential*: the share of working time the technologies available that year
would free if every professional mastered them. *Realised*: what mastered technologies actually
free. The gap between the two is the adoption rhythm, the think tank's central claim. FTE
freed converts realised time into full-time equivalents for the whole health workforce (the
eight professions' gain extrapolated, as the seeds do).
""",
    "gaps": """
**Who is left behind.** The *multi-speed gap* is the spread of realised/potential between the
fastest and slowest group (professions, age bands, establishment types). *Downgrading risk*:
the share of non-medical time freed for professionals whose digital skills did not grow, the
"déclassement" the seeds warn about.
""",
    "roles": """
**Emerging roles.** Adoption creates demand for new roles [seeds 000, 002]: key users,
advanced-practice radiographers, robotic-surgery and telehealth nurses, robotic-flow managers,
health-data and digital-platform roles. Full-time equivalents needed by the eight modelled
professions' adoption, no extrapolation; every ratio is an assumption stated in the role table
(``roles.toml``).
""",
}


@functools.cache
def _html(text: str) -> str:
    """Markdown → HTML (Python-Markdown; Solara's own Markdown widget fetches KaTeX from a CDN)."""
    try:
        import markdown
    except ImportError:  # pragma: no cover - markdown ships with the app extra
        return f"<pre>{html.escape(text)}</pre>"
    return markdown.markdown(textwrap.dedent(text), extensions=["tables", "fenced_code", "toc"])


@solara.component
def Prose(text: str):
    """A block of explanatory text written in Markdown."""
    solara.HTML(tag="div", unsafe_innerHTML=_html(text), classes=["abm-prose"])


FrameSyncContext = solara.create_context(None)
"""The page's :class:`~adoption_abm.app.chart.FrameSync` (charts report the frames drawn)."""


def _follow(tick: solara.Reactive[int]) -> int:
    """Read ``tick``, so the calling component re-renders at each change of the run (only the
    components that show the run do; the page around them does not)."""
    return tick.value


# controls ----------------------------------------------------------------------------------------
@solara.component
def RunControls(
    session: Session,
    tick: solara.Reactive[int],
    playing: solara.Reactive[bool],
    speed: solara.Reactive[int],
    on_change,
    sync: FrameSync,
):
    """Step counter, Reset / Play / Pause / Step and the speed (months per second)."""
    frame = _follow(tick)
    # the page's render of this frame is done: the play loop may send the next one
    solara.use_effect(lambda: sync.rendered(frame), [frame])
    month, n_months = session.month, session.n_months
    with solara.Card("Run", margin=0, classes=["mb-2"]):
        solara.Text(f"Month {month} / {n_months}", classes=["abm-step-counter", "text-h6"])
        when = month_label(session.scenario, month) if month else "start"
        solara.Text(f" · {when}", classes=["abm-date"])
        solara.ProgressLinear(value=100 * month / max(n_months, 1))

        def reset():
            playing.set(False)
            on_change(session.reset())

        def toggle():
            playing.set(not playing.value)

        def step():
            session.step()
            on_change(None)

        with solara.Row(justify="space-between"):
            solara.Button(label="Reset", color="primary", outlined=True, on_click=reset)
            solara.Button(
                label="❚❚ Pause" if playing.value else "▶ Play",
                color="primary",
                on_click=toggle,
                disabled=session.finished,
                classes=["abm-play"],
            )
            solara.Button(
                label="Step",
                color="primary",
                outlined=True,
                on_click=step,
                disabled=playing.value or session.finished,
            )
        lo, hi = SPEED_RANGE
        solara.SliderInt(f"Speed: {speed.value} months per second", value=speed, min=lo, max=hi)


@solara.component
def ModelControls(session: Session, settings: Settings, revision: int, on_apply):
    """Scenario, rhythm, size and seed. A change rebuilds and replays to the current month."""
    s = settings
    sc = session.scenario
    with solara.Card("Model", margin=0, classes=["mb-2"]):
        solara.Select(
            "Scenario",
            values=builtin_scenarios(),
            value=s.scenario if s.scenario in builtin_scenarios() else None,
            on_value=lambda v: on_apply(s.replace(scenario=v)),
        )
        solara.Select(
            "Adoption rhythm",
            values=list(sc.rhythms),
            value=s.rhythm,
            on_value=lambda v: on_apply(s.replace(rhythm=v)),
        )
        solara.Text("Agents (live size)", style={"font-size": "0.8em", "color": "#666"})
        choices = sorted({*AGENT_CHOICES, s.agents})
        solara.ToggleButtonsSingle(
            value=s.agents,
            children=[solara.Button(f"{a / 1000:g}k", value=a, text=True) for a in choices],
            on_value=lambda v: on_apply(s.replace(agents=int(v))),
            dense=True,
        )
        solara.InputInt(
            "Seed",
            value=s.seed,
            on_value=lambda v: on_apply(s.replace(seed=int(v))) if v is not None else None,
        )
        m = session.model
        solara.Text(
            f"{m.n_professionals:,} professionals, {m.est.n:,} establishments, engine {s.engine}",
            style={"font-size": "0.8em", "color": "#666"},
        )


@solara.component
def ProposalControls(session: Session, settings: Settings, revision: int, on_apply):
    """The twenty proposals: a switch each, with intensity and start year when on."""
    s = settings
    sc = session.scenario
    years = list(range(sc.start_year, sc.end_year + 1))
    with solara.Card("Proposals", margin=0, classes=["mb-2"]):
        solara.Text(
            "Switch a proposal on to see its effect: the run replays to this month, same seed.",
            style={"font-size": "0.8em", "color": "#666"},
        )
        for title, numbers in AXES:
            active = sum(1 for n in numbers if s.proposal(n))
            with solara.Details(summary=f"{title} ({active} on)", expand=active > 0):
                for n in numbers:
                    p = s.proposal(n)
                    # a plain Vuetify checkbox: its state is the settings' (re-rendered after
                    # a refused change, it switches back)
                    solara.v.Checkbox(
                        label=f"{n}. {PROPOSALS[n]}",
                        v_model=p is not None,
                        on_v_model=lambda on, n=n: on_apply(s.with_proposal(n, bool(on))),
                        hide_details=True,
                        dense=True,
                        class_="abm-proposal",
                    )
                    if p is not None:
                        with solara.Row(style={"margin-left": "32px", "align-items": "center"}):
                            solara.ToggleButtonsSingle(
                                value=p.intensity,
                                children=[
                                    solara.Button(f"{x:g}×", value=x, text=True)
                                    for x in INTENSITY_CHOICES
                                ],
                                on_value=lambda x, p=p: on_apply(
                                    s.with_proposal(p.number, True, x, p.start_year)
                                ),
                                dense=True,
                            )
                            solara.Select(
                                "from",
                                values=years,
                                value=p.start_year,
                                on_value=lambda y, p=p: on_apply(
                                    s.with_proposal(p.number, True, p.intensity, int(y))
                                ),
                                dense=True,
                                style={"max-width": "90px"},
                            )


# views -------------------------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


@solara.component
def Headline(session: Session, tick: solara.Reactive[int]):
    """This month's figures in words and numbers."""
    _follow(tick)
    h = session.history
    keys = (
        ("realised_all", "Time freed"),
        ("potential_all", "Potential"),
        ("fte_freed_all", "FTE freed"),
        *(
            (f"adoption_{f}", f"{views.family_label(session.scenario, f).split()[0]} users")
            for f in session.scenario.families
        ),
        ("multi_speed_gap", "Multi-speed gap"),
        ("downgrading_risk", "Downgrading risk"),
    )
    with solara.Row(style={"flex-wrap": "wrap", "gap": "8px"}, classes=["abm-headline"]):
        for key, label in keys:
            value = h.last(key)
            if value is None:
                text = "n/a"
            elif key.startswith("fte"):
                text = f"{value:,.0f}"
            else:
                text = _pct(value)
            with solara.Card(margin=0, style={"min-width": "84px", "padding": "2px 8px"}):
                solara.Text(
                    label, style={"font-size": "0.75em", "color": "#666", "display": "block"}
                )
                # data-value: the unrounded figure, for the browser test
                solara.HTML(
                    tag="span",
                    unsafe_innerHTML=text,
                    style="font-size: 1.2em; font-weight: 600;",
                    classes=["abm-stat", f"abm-stat-{key}"],
                    attributes={"data-value": "" if value is None else f"{value:.9g}"},
                )


@solara.component
def Chart(
    make_option: Callable[[], dict],
    name: str,
    frame: int,
    points: int | None = None,
    height: str = CHART_HEIGHT,
    structure: object = None,
    background: Callable[[], dict] | None = None,
):
    """A live ECharts chart (see :mod:`adoption_abm.app.chart`).

    The option is built by ``make_option`` and handed to the widget after each render, not as an
    element argument: Reacton walks every nested value of element arguments at each render,
    which for a network of a few thousand ties cost more than the model's step. ``frame`` is the
    run's version, acknowledged by the browser once drawn; ``data-points`` tells the browser
    test how far the chart has grown.
    """
    sync: FrameSync | None = solara.use_context(FrameSyncContext)
    chart_id = solara.use_memo(lambda: f"{name}-{uuid.uuid4().hex}", [])

    def on_ack(drawn: object) -> None:
        if sync is not None:
            sync.ack(chart_id, drawn)

    ack = solara.use_memo(lambda: on_ack, [])
    attributes = {
        "style": f"height: {height}; width: 100%;",
        "class": f"abm-chart abm-chart-{name}",
    }
    if points is not None:
        attributes["data-points"] = str(points)
    element = LiveChart.element(attributes=attributes, on_ack=ack)
    option = make_option()

    def push() -> None:
        widget = solara.get_widget(element)
        widget.show(option, structure_key(option, structure), frame, background)

    solara.use_effect(push, None)
    solara.use_effect(lambda: sync.register(chart_id) if sync is not None else None, [])
    return element


@solara.component
def NetworkPanel(session: Session, tick: solara.Reactive[int]):
    """One establishment's staff (or a snowball sample) and their ties; layout computed once."""
    _follow(tick)
    model = session.model
    choices = solara.use_memo(
        lambda: views.establishment_choices(model), [session.settings.build_key()]
    )
    default = solara.use_memo(
        lambda: views.default_establishment(model), [session.settings.build_key()]
    )
    selected = solara.use_reactive(default)
    colour_by = solara.use_reactive("any")
    options = sorted({default, *choices})
    current = selected.value if selected.value in (-1, *options) else default
    key = (*session.settings.build_key(), current)
    view = solara.use_memo(
        lambda: (
            views.sample_view(model, seed=session.settings.seed)
            if current == -1
            else views.establishment_view(model, current, seed=session.settings.seed)
        ),
        [key],
    )
    with solara.Row(style={"align-items": "center", "gap": "12px"}):
        labels = {e: views.establishment_label(model, e) for e in options}
        labels[-1] = "Snowball sample across establishments"
        solara.Select(
            "Show",
            values=[labels[e] for e in [*options, -1]],
            value=labels[current],
            on_value=lambda v: selected.set(next(e for e, lab in labels.items() if lab == v)),
            dense=True,
        )
        solara.ToggleButtonsSingle(
            value=colour_by.value,
            children=[
                solara.Button("any", value="any", text=True),
                *(
                    solara.Button(views.family_label(session.scenario, f), value=f, text=True)
                    for f in session.scenario.families
                ),
            ],
            on_value=colour_by.set,
            dense=True,
        )
    if view.establishment is not None:
        deployed = [
            views.family_label(session.scenario, f)
            for k, f in enumerate(session.scenario.families)
            if model.est.deployed[view.establishment, k]
        ]
        solara.Text(
            "Deployed here: " + (", ".join(deployed) if deployed else "nothing yet"),
            style={"font-size": "0.85em", "color": "#444"},
        )
    states = session.states(view.rows)
    colour = colour_by.value
    Chart(
        lambda: views.network_option(view, states, session.scenario, colour),
        "network",
        _follow(tick),
        height="420px",
        structure=key,
        background=lambda: views.network_background(view),
    )
    swatches = " ".join(
        f'<span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
        f'background:{c};margin:0 4px 0 10px"></span>{lab}'
        for c, lab in zip(views.STATE_COLORS, views.STATE_LABELS, strict=True)
    )
    solara.HTML(tag="div", unsafe_innerHTML=f"<small>{swatches}</small>")


@solara.component
def OverviewTab(session: Session, tick: solara.Reactive[int]):
    v = _follow(tick)
    h, sc, prev, rhythm = (
        session.history,
        session.scenario,
        session.previous,
        session.settings.rhythm,
    )
    with solara.Columns([1, 1]):
        with solara.Column():
            NetworkPanel(session, tick)
        with solara.Column():
            Chart(lambda: views.adoption_family_option(h, sc, prev), "adoption", v, len(h))
            Chart(lambda: views.time_freed_option(h, sc, rhythm, prev), "timefreed", v, len(h))
    Prose(EXPLAIN["overview"])


@solara.component
def ProfessionsTab(session: Session, tick: solara.Reactive[int]):
    v = _follow(tick)
    h, sc = session.history, session.scenario
    with solara.Columns([1, 1, 1]):
        for fam in sc.families:
            Chart(
                lambda fam=fam: views.adoption_profession_option(h, sc, fam),
                f"profession-{fam}",
                v,
                len(h),
                height="440px",
            )
    Prose(EXPLAIN["professions"])


@solara.component
def TimeTab(session: Session, tick: solara.Reactive[int]):
    v = _follow(tick)
    h, sc, prev, rhythm = (
        session.history,
        session.scenario,
        session.previous,
        session.settings.rhythm,
    )
    with solara.Columns([1, 1]):
        Chart(lambda: views.time_freed_option(h, sc, rhythm, prev), "timefreed", v, len(h))
        Chart(lambda: views.fte_option(h, sc, prev), "fte", v, len(h))
    Prose(EXPLAIN["time"])


@solara.component
def GapsTab(session: Session, tick: solara.Reactive[int]):
    v = _follow(tick)
    h, sc = session.history, session.scenario
    Chart(lambda: views.gaps_option(h, sc), "gaps", v, len(h))
    Prose(EXPLAIN["gaps"])


@solara.component
def RolesTab(session: Session, tick: solara.Reactive[int]):
    v = _follow(tick)
    demand = session.role_demand()
    h, sc = session.history, session.scenario
    Chart(lambda: views.roles_option(h, sc, demand), "roles", v, len(h))
    Prose(EXPLAIN["roles"])


@solara.component
def AboutTab(session: Session):
    Prose(
        f"""
### About this page
An agent-based model of French health professionals adopting AI, digital tools and robotics in
their establishments, and of twenty policy proposals of the think tank #Leplusimportant that
change that adoption and the working time it frees for patients.

* **Run**: *Play* advances the simulation month by month at the chosen speed; *Step* advances
  one month; *Reset* goes back to January {session.scenario.start_year}.
* **Model**: scenario, adoption rhythm (slow / central / fast), number of simulated
  professionals and random seed. Same seed, same run.
* **Proposals**: switch any of the twenty on, with an intensity (1× = default strength) and a
  start year. The run is replayed with the same seed, and the previous run stays on the charts
  (dashed grey) so you can see what the proposal changed.

{ODD_LINK}
"""
    )


TABS = ("Overview", "Professions", "Time freed", "Gaps & risks", "Roles", "About")


@solara.component
def Comparison(session: Session, tick: solara.Reactive[int], on_change):
    """Which run the dashed grey lines are, and a button to drop them."""
    _follow(tick)
    if session.previous is None:
        return
    with solara.Card("Comparison", margin=0):
        solara.Text(
            f"Dashed grey: previous run ({session.previous.label})", style={"font-size": "0.85em"}
        )

        def clear():
            session.clear_previous()
            on_change(None)

        solara.Button("Clear", text=True, on_click=clear)


FRAME_TIMEOUT = 1.0
"""Seconds to wait for the browser to draw a frame before sending the next one anyway."""
MIN_FRAME_INTERVAL = 0.05
"""At most 20 frames a second, whatever the speed: the months in between are still simulated."""


def play(
    session: Session,
    speed: Callable[[], int],
    keep_going: Callable[[], bool],
    show: Callable[[], None],
    sync: FrameSync | None = None,
) -> None:
    """Step ``session`` at ``speed()`` months per second while ``keep_going()``.

    ``show()`` re-renders the page with the run's current version. It is called after a step
    once the server has rendered the previous frame and the browser has drawn it (``sync``,
    waited for until the next step is due; the browser at most :data:`FRAME_TIMEOUT`), and at
    most every :data:`MIN_FRAME_INTERVAL`. The model keeps its pace regardless, so a slow
    browser sees several months per frame (Mesa's "render interval", made adaptive) and never
    falls behind the simulation.
    """
    due = time.perf_counter()
    shown, shown_at, rest_until = -1, 0.0, 0.0
    while keep_going():
        if session.step() == 0:
            break
        period = 1.0 / max(speed(), 1)
        due = max(due + period, time.perf_counter() - 1.0)  # no burst after a stall
        now = time.perf_counter()
        # wait for the last frame into the next period if need be (the next step is then late,
        # and the one after catches up): one frame per month while the browser keeps up
        patience = due - now + 0.5 * period
        if sync is None:
            ready = now >= rest_until
        elif now < rest_until:
            ready = False
        elif now - shown_at > FRAME_TIMEOUT:  # a browser that stopped answering
            ready = sync.wait(shown, patience, browser=False)
        else:
            ready = sync.wait(shown, patience)
        if ready and keep_going():
            shown, shown_at = session.version, time.perf_counter()
            show()
            # leave the page at least as much time as the render took, for the user's clicks
            # (and for renders started by them, which a change of state would restart)
            rest_until = max(2 * time.perf_counter() - shown_at, shown_at + MIN_FRAME_INTERVAL)
        time.sleep(max(0.0, due - time.perf_counter()))
    show()


@solara.component
def Simulation(session: Session, speed: int = DEFAULT_SPEED):
    """The whole page for one session (``Page`` makes the session; tests pass their own)."""
    tick = solara.use_reactive(session.version)  # every change of the run, steps included
    revision = solara.use_reactive(0)  # settings applied, reset or refused
    playing = solara.use_reactive(False)
    speed_r = solara.use_reactive(speed)
    message = solara.use_reactive(None)
    tab = solara.use_reactive(0)
    generation = solara.use_memo(lambda: [0], [])
    sync = solara.use_memo(FrameSync, [])
    FrameSyncContext.provide(sync)

    def callbacks():
        # made once, so the controls' arguments compare equal and they re-render only when
        # their inputs change (Reacton skips a component whose arguments are unchanged)
        def on_change(error: str | None) -> None:
            message.set(error)
            revision.set(revision.value + 1)
            tick.set(session.version)

        def on_apply(settings: Settings) -> None:
            on_change(session.apply(settings))

        return on_change, on_apply

    on_change, on_apply = solara.use_memo(callbacks, [])

    def play_loop() -> None:
        generation[0] += 1
        mine = generation[0]

        def keep_going() -> bool:
            return playing.value and generation[0] == mine

        def show() -> None:
            tick.set(session.version)

        play(session, lambda: speed_r.value, keep_going, show, sync)
        if generation[0] == mine:
            playing.set(False)

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    rev = revision.value
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        RunControls(session, tick, playing, speed_r, on_change, sync)
        ModelControls(session, session.settings, rev, on_apply)
        ProposalControls(session, session.settings, rev, on_apply)
        Comparison(session, tick, on_change)

    if message.value:
        solara.Error(message.value, classes=["abm-error"])
    Headline(session, tick)
    tabs = (
        lambda: OverviewTab(session, tick),
        lambda: ProfessionsTab(session, tick),
        lambda: TimeTab(session, tick),
        lambda: GapsTab(session, tick),
        lambda: RolesTab(session, tick),
        lambda: AboutTab(session),
    )
    with solara.lab.Tabs(value=tab, lazy=True):
        for k, (label, content) in enumerate(zip(TABS, tabs, strict=True)):
            solara.lab.Tab(label, children=[content()] if tab.value == k else [])


@solara.component
def Page():
    """The app's main page; starting values from ``ADOPTION_ABM_APP_*`` (``adoption-abm app``)."""
    start = solara.use_memo(_start_values, [])
    session = solara.use_memo(lambda: None if isinstance(start, str) else Session(start[0]), [])
    if session is None:
        solara.Error(str(start))
    else:
        Simulation(session, start[1])


def _start_values() -> tuple[Settings, int] | str:
    """Settings and speed from the environment, or the error message."""
    try:
        return settings_from_env(), speed_from_env()
    except ScenarioError as exc:
        return str(exc)


@solara.component
def OddPage():
    """The model's ODD description (docs/ODD.md) when the source tree is at hand."""
    text = odd_text()
    solara.HTML(tag="div", unsafe_innerHTML='<a href="./">← Back to the simulation</a>')
    Prose(
        text or "The model description (ODD protocol) is `docs/ODD.md` in the project's repository."
    )


@solara.component
def Layout(children: list | None = None):
    """Solara's app layout without route tabs (the page links to the ODD page itself)."""
    return solara.AppLayout(children=children or [], navigation=False)


routes = [
    solara.Route(path="/", component=Page, label="Simulation", layout=Layout),
    solara.Route(path="odd", component=OddPage, label="Model description (ODD)"),
]

__all__ = ["Layout", "OddPage", "Page", "Simulation", "play", "routes"]
