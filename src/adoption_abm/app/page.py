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
from ..i18n import (
    LANGUAGES,
    N_,
    _,
    current_language,
    label,
    language_from_env,
    number,
    set_language,
)
from ..i18n import percent as pct
from ..outputs.indicators import month_label
from ..policies.catalogue import PROPOSALS
from ..scenario.errors import ScenarioError
from ..scenario.load import builtin_scenarios
from .chart import FrameSync, LiveChart, structure_key
from .export import archive_name, run_archive
from .facts import facts_text
from .follow import describe_row, random_row
from .odd import odd_text
from .runs import (
    BAND_RUNS,
    COMPARE_YEAR,
    Band,
    Cancelled,
    SideBySide,
    compare_sets,
    compute_band,
)
from .session import (
    AGENT_CHOICES,
    DEFAULT_SPEED,
    INTENSITY_CHOICES,
    SPEED_RANGE,
    Proposal,
    Session,
    Settings,
    _policy_start_year,
    settings_from_env,
    speed_from_env,
)
from .urlstate import settings_from_query, settings_to_query

TITLE = N_("Health professionals adopting AI, digital tools and robotics")
AXES: tuple[tuple[str, range], ...] = (
    (N_("I. Recruitment and initial training"), range(1, 5)),
    (N_("II. Skills transition of professionals in post"), range(5, 10)),
    (N_("III. Support and inform professionals"), range(10, 15)),
    (N_("IV. Institutional change"), range(15, 21)),
)
"""The proposals' four axes [seed 003]."""
CHART_HEIGHT = "340px"
ODD_LINK = N_(
    'The full model description (ODD protocol) is on the <a href="odd" target="_blank">'
    "Model description (ODD)</a> page."
)

EXPLAIN = {
    "overview": N_(
        "**What you are seeing.** Each dot on the left is a health professional of one "
        "establishment; its shape is the profession, its colour whether it uses a technology "
        "(amber: learning it, green: mastered). Lines are the ties through which colleagues "
        "influence each other. Professionals adopt on their own now and then (innovation) and "
        "more often when their ties have adopted (imitation); they can only use what their "
        "establishment has deployed. On the right, the share of all professionals using each "
        "family, and the working time freed: the *potential* (if everyone mastered what is "
        "available) against what is *realised* by those who have mastered it, with the shaded "
        "5-95 % band of the realised time freed over {runs} runs (other seeds, and draws of the "
        "priors of the proposals switched on). The diamonds are the think tank's figures for "
        "2025 and 2030."
    ),
    "professions": N_(
        "**Adoption by profession.** One chart per technology family, one line per profession: "
        "the share of the profession that uses or masters the family. Professions differ by "
        "their attitude, their access to training and where they work (establishments deploy at "
        "different times)."
    ),
    "time": N_(
        "**Time freed.** *Potential*: the share of working time the technologies available that "
        "year would free if every professional mastered them. *Realised*: what mastered "
        "technologies actually free. The gap between the two is the adoption rhythm, the think "
        "tank's central claim. FTE freed converts realised time into full-time equivalents for "
        "the whole health workforce (the eight professions' gain extrapolated, as the seeds do)."
    ),
    "gaps": N_(
        "**Who is left behind.** The *multi-speed gap* is the spread of realised/potential "
        "between the fastest and slowest group (professions, age bands, establishment types). "
        "*Downgrading risk*: the share of non-medical time freed for professionals whose digital "
        'skills did not grow, the "déclassement" the seeds warn about.'
    ),
    "roles": N_(
        "**Emerging roles.** Adoption creates demand for new roles [seeds 000, 002]: key users, "
        "advanced-practice radiographers, robotic-surgery and telehealth nurses, robotic-flow "
        "managers, health-data and digital-platform roles. Full-time equivalents needed by the "
        "eight modelled professions' adoption, no extrapolation, recorded month by month; every "
        "ratio is an assumption stated in the role table (``roles.toml``)."
    ),
    "compare": N_(
        "**Two policy sets side by side.** Set A is the page's proposals, set B the ones chosen "
        "here; both are run to the end with the page's seed, scenario, rhythm and size (common "
        "random numbers: the difference is the policies', not chance). The table gives the "
        "figures at the end of {year} and B - A."
    ),
    "follow": N_(
        "**One professional, month by month.** A row of the population is a post: when its "
        "holder retires an entrant takes it (marked *new person*). The steps show the state of "
        "each family (0 not using, 1 learning, 2 mastered), the dashed lines the share of the "
        "person's ties using each family, the black line the digital skill, raised by training."
    ),
}
"""The short texts under each view (Markdown, one paragraph each)."""


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


LanguageContext = solara.create_context("en")
"""The page's language, for components that take no ``lang`` argument (the charts)."""
FrameSyncContext = solara.create_context(None)
"""The page's :class:`~adoption_abm.app.chart.FrameSync` (charts report the frames drawn)."""


def _follow(tick: solara.Reactive[int]) -> int:
    """Read ``tick``, so the calling component re-renders at each change of the run (only the
    components that show the run do; the page around them does not)."""
    return tick.value


# controls ----------------------------------------------------------------------------------------
SMALL_TEXT = {"font-size": "0.8em", "color": "#666"}


@solara.component
def RunControls(
    session: Session,
    tick: solara.Reactive[int],
    playing: solara.Reactive[bool],
    speed: solara.Reactive[int],
    on_change,
    sync: FrameSync,
    lang: str,
):
    """Step counter, Reset / Play / Pause / Step and the speed (months per second)."""
    set_language(lang)  # this component's words (see Simulation)
    frame = _follow(tick)
    # the page's render of this frame is done: the play loop may send the next one
    solara.use_effect(lambda: sync.rendered(frame), [frame])
    month, n_months = session.month, session.n_months
    with solara.Card(_("Run"), margin=0, classes=["mb-2"]):
        solara.Text(
            _("Month {month} / {months}").format(month=month, months=n_months),
            classes=["abm-step-counter", "text-h6"],
        )
        when = month_label(session.scenario, month) if month else _("start")
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
            solara.Button(label=_("Reset"), color="primary", outlined=True, on_click=reset)
            solara.Button(
                label="❚❚ " + _("Pause") if playing.value else "▶ " + _("Play"),
                color="primary",
                on_click=toggle,
                disabled=session.finished,
                classes=["abm-play"],
            )
            solara.Button(
                label=_("Step"),
                color="primary",
                outlined=True,
                on_click=step,
                disabled=playing.value or session.finished,
                classes=["abm-step"],
            )
        lo, hi = SPEED_RANGE
        solara.SliderInt(
            _("Speed: {speed} months per second").format(speed=speed.value),
            value=speed,
            min=lo,
            max=hi,
        )


@solara.component
def ModelControls(session: Session, settings: Settings, revision: int, on_apply, lang: str):
    """Scenario, rhythm, size and seed. A change rebuilds and replays to the current month."""
    set_language(lang)  # this component's words (see Simulation)
    s = settings
    sc = session.scenario
    with solara.Card(_("Model"), margin=0, classes=["mb-2"]):
        solara.Select(
            _("Scenario"),
            values=builtin_scenarios(),
            value=s.scenario if s.scenario in builtin_scenarios() else None,
            on_value=lambda v: on_apply(s.replace(scenario=v)),
        )
        rhythms = list(sc.rhythms)
        names = {r: _(r) for r in rhythms}
        solara.Select(
            _("Adoption rhythm"),
            values=[names[r] for r in rhythms],
            value=names.get(s.rhythm, s.rhythm),
            on_value=lambda v: on_apply(
                s.replace(rhythm=next(r for r in rhythms if names[r] == v))
            ),
        )
        solara.Text(_("Agents (live size)"), style=SMALL_TEXT)
        choices = sorted({*AGENT_CHOICES, s.agents})
        solara.ToggleButtonsSingle(
            value=s.agents,
            children=[solara.Button(f"{a / 1000:g}k", value=a, text=True) for a in choices],
            on_value=lambda v: on_apply(s.replace(agents=int(v))),
            dense=True,
        )
        solara.InputInt(
            _("Seed"),
            value=s.seed,
            on_value=lambda v: on_apply(s.replace(seed=int(v))) if v is not None else None,
        )
        m = session.model
        solara.Text(
            _("{n} professionals, {e} establishments, engine {engine}").format(
                n=number(m.n_professionals), e=number(m.est.n), engine=s.engine
            ),
            style=SMALL_TEXT,
        )


def _facts_html(n: int) -> str:
    """The line under proposal ``n``'s switch (cost and prior, always shown) and its details
    (mechanism, channels, activity) in a ``<details>`` element, all from the catalogue."""
    f = {k: html.escape(v) for k, v in facts_text(n).items()}
    words = {
        "prior": _("prior"),
        "how": _("How it works"),
        "mechanism": _("Mechanism"),
        "through": _("Acts through"),
        "buys": _("Buys"),
    }
    return (
        f'<div class="abm-proposal-facts" data-proposal="{n}">'
        f'<span class="abm-proposal-cost">{f["cost"]}</span> · '
        f'<span class="abm-proposal-prior">{words["prior"]} {f["prior"]}</span>'
        f"<details><summary>{words['how']}</summary>"
        f"<b>{words['mechanism']}:</b> {f['mechanism']}<br>"
        f"<b>{words['through']}:</b> {f['channels']}<br>"
        f"<b>{words['buys']}:</b> {f['activity']}</details></div>"
    )


@solara.component
def ProposalControls(session: Session, settings: Settings, revision: int, on_apply, lang: str):
    """The twenty proposals: a switch each, with what it does, costs and how sure the model is
    (from the catalogue), and an intensity and start year when on."""
    set_language(lang)  # this component's words (see Simulation)
    s = settings
    sc = session.scenario
    years = list(range(sc.start_year, sc.end_year + 1))
    with solara.Card(_("Proposals"), margin=0, classes=["mb-2"]):
        solara.Text(
            _("Switch a proposal on to see its effect: the run replays to this month, same seed."),
            style=SMALL_TEXT,
        )
        for title, numbers in AXES:
            active = sum(1 for n in numbers if s.proposal(n))
            summary = _("{axis} ({n} on)").format(axis=_(title), n=active)
            with solara.Details(summary=summary, expand=active > 0):
                for n in numbers:
                    p = s.proposal(n)
                    # a plain Vuetify checkbox: its state is the settings' (re-rendered after
                    # a refused change, it switches back)
                    solara.v.Checkbox(
                        label=f"{n}. {label(PROPOSALS[n])}",
                        v_model=p is not None,
                        on_v_model=lambda on, n=n: on_apply(s.with_proposal(n, bool(on))),
                        hide_details=True,
                        dense=True,
                        class_="abm-proposal",
                    )
                    solara.HTML(
                        tag="div",
                        unsafe_innerHTML=_facts_html(n),
                        style="margin-left: 32px; font-size: 0.78em; color: #555;",
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
                                _("from"),
                                values=years,
                                value=p.start_year,
                                on_value=lambda y, p=p: on_apply(
                                    s.with_proposal(p.number, True, p.intensity, int(y))
                                ),
                                dense=True,
                                style={"max-width": "90px"},
                            )


@solara.component
def DownloadControls(session: Session, tick: solara.Reactive[int], lang: str):
    """The current run as a zip of Parquet (or CSV) frames and its summary (JSON)."""
    set_language(lang)  # this component's words (see Simulation)
    _follow(tick)
    settings, month = session.settings, session.month

    def archive(fmt: str) -> Callable[[], bytes]:
        def make() -> bytes:
            with session.lock:
                return run_archive(session.model, session.settings, fmt)

        return make

    with solara.Card(_("Download"), margin=0, classes=["mb-2"]):
        solara.Text(_("The run so far: its frames and summary.json, in a zip."), style=SMALL_TEXT)
        with solara.Row():
            for fmt in ("parquet", "csv"):
                solara.FileDownload(
                    archive(fmt),
                    filename=archive_name(settings, month, fmt),
                    mime_type="application/zip",
                    children=[
                        solara.Button(
                            f"{fmt.upper()} + JSON",
                            icon_name="mdi-download",
                            outlined=True,
                            color="primary",
                            classes=[f"abm-download-{fmt}"],
                        )
                    ],
                )


# views -------------------------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return pct(x, 1)


@solara.component
def Headline(session: Session, tick: solara.Reactive[int], lang: str):
    """This month's figures in words and numbers."""
    set_language(lang)  # this component's words (see Simulation)
    _follow(tick)
    h = session.history
    keys = (
        ("realised_all", _("Time freed")),
        ("potential_all", _("Potential")),
        ("fte_freed_all", _("FTE freed")),
        *(
            (
                f"adoption_{f}",
                _("{family} users").format(
                    family=views.family_label(session.scenario, f).split()[0]
                ),
            )
            for f in session.scenario.families
        ),
        ("multi_speed_gap", _("Multi-speed gap")),
        ("downgrading_risk", _("Downgrading risk")),
    )
    with solara.Row(style={"flex-wrap": "wrap", "gap": "8px"}, classes=["abm-headline"]):
        for key, name in keys:
            value = h.last(key)
            if value is None:
                text = _("n/a")
            elif key.startswith("fte"):
                text = number(value)
            else:
                text = _pct(value)
            with solara.Card(margin=0, style={"min-width": "84px", "padding": "2px 8px"}):
                solara.Text(
                    name, style={"font-size": "0.75em", "color": "#666", "display": "block"}
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
    test how far the chart has grown. A change of language is a change of structure (the
    chart's words are sent again).
    """
    sync: FrameSync | None = solara.use_context(FrameSyncContext)
    set_language(solara.use_context(LanguageContext))
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
    key = structure_key(option, (structure, current_language()))

    def push() -> None:
        widget = solara.get_widget(element)
        widget.show(option, key, frame, background)

    solara.use_effect(push, None)
    solara.use_effect(lambda: sync.register(chart_id) if sync is not None else None, [])
    return element


@solara.component
def NetworkPanel(session: Session, tick: solara.Reactive[int], lang: str):
    """One establishment's staff (or a snowball sample) and their ties; layout computed once."""
    set_language(lang)  # this component's words (see Simulation)
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
        [key, lang],
    )
    with solara.Row(style={"align-items": "center", "gap": "12px"}):
        labels = {e: views.establishment_label(model, e) for e in options}
        labels[-1] = _("Snowball sample across establishments")
        solara.Select(
            _("Show"),
            values=[labels[e] for e in [*options, -1]],
            value=labels[current],
            on_value=lambda v: selected.set(next(e for e, lab in labels.items() if lab == v)),
            dense=True,
        )
        solara.ToggleButtonsSingle(
            value=colour_by.value,
            children=[
                solara.Button(_("any"), value="any", text=True),
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
            _("Deployed here: {families}").format(
                families=", ".join(deployed) if deployed else _("nothing yet")
            ),
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
        f'background:{c};margin:0 4px 0 10px"></span>{_(lab)}'
        for c, lab in zip(views.STATE_COLORS, views.STATE_LABELS, strict=True)
    )
    solara.HTML(tag="div", unsafe_innerHTML=f"<small>{swatches}</small>")


@solara.component
def BandStatus(
    band: Band | None,
    progress_r: solara.Reactive[float],
    error: str | None,
    runs: int,
    lang: str,
):
    """Where the band is: computing (with its progress), shown, or failed. Only this
    component reads the progress, so only it re-renders as the band advances."""
    set_language(lang)  # this component's words (see Simulation)
    progress = progress_r.value
    if error:
        text = _("Band not computed: {error}").format(error=error)
    elif band is None:
        done = pct(progress or 0.0, 0)
        text = _("Computing the band over {runs} runs… {done}").format(runs=runs, done=done)
    else:
        text = _("Shaded: 5-95 % band of realised time freed over {runs} runs").format(
            runs=band.runs
        )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=html.escape(text),
        classes=["abm-band-status"],
        style="font-size: 0.8em; color: #666;",
        attributes={"data-ready": "true" if band is not None else "false"},
    )
    if band is None and not error:
        solara.ProgressLinear(value=100 * (progress or 0.0))


@solara.component
def OverviewTab(session: Session, tick: solara.Reactive[int], band_state, lang: str):
    set_language(lang)  # this component's words (see Simulation)
    v = _follow(tick)
    h, sc, prev, rhythm = (
        session.history,
        session.scenario,
        session.previous,
        session.settings.rhythm,
    )
    band = band_state[0]
    with solara.Columns([1, 1]):
        with solara.Column():
            NetworkPanel(session, tick, lang)
        with solara.Column():
            Chart(lambda: views.adoption_family_option(h, sc, prev), "adoption", v, len(h))
            Chart(
                lambda: views.time_freed_option(h, sc, rhythm, prev, band),
                "timefreed",
                v,
                len(h),
            )
            BandStatus(*band_state, lang)
    Prose(_(EXPLAIN["overview"]).format(runs=BAND_RUNS) + "\n\n" + _(ODD_LINK))


@solara.component
def ProfessionsTab(session: Session, tick: solara.Reactive[int], lang: str):
    set_language(lang)  # this component's words (see Simulation)
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
    Prose(_(EXPLAIN["professions"]))


@solara.component
def TimeTab(session: Session, tick: solara.Reactive[int], band_state, lang: str):
    set_language(lang)  # this component's words (see Simulation)
    v = _follow(tick)
    h, sc, prev, rhythm = (
        session.history,
        session.scenario,
        session.previous,
        session.settings.rhythm,
    )
    band = band_state[0]
    with solara.Columns([1, 1]):
        with solara.Column():
            Chart(
                lambda: views.time_freed_option(h, sc, rhythm, prev, band),
                "timefreed",
                v,
                len(h),
            )
            BandStatus(*band_state, lang)
        Chart(lambda: views.fte_option(h, sc, prev), "fte", v, len(h))
    Prose(_(EXPLAIN["time"]))


@solara.component
def GapsTab(session: Session, tick: solara.Reactive[int], lang: str):
    set_language(lang)  # this component's words (see Simulation)
    v = _follow(tick)
    h, sc = session.history, session.scenario
    Chart(lambda: views.gaps_option(h, sc), "gaps", v, len(h))
    Prose(_(EXPLAIN["gaps"]))


@solara.component
def RolesTab(session: Session, tick: solara.Reactive[int], lang: str):
    set_language(lang)  # this component's words (see Simulation)
    v = _follow(tick)
    demand = session.role_demand()
    h, sc = session.history, session.scenario
    Chart(lambda: views.roles_option(h, sc, demand), "roles", v, len(h))
    Prose(_(EXPLAIN["roles"]))


def _figure(key: str, value: float | None, sign: bool = False) -> str:
    if value is None:
        return _("n/a")
    if key.startswith("fte"):
        return number(value, sign=sign)
    return pct(value, 1, sign=sign)


ROW_NAMES = {
    "realised_all": N_("Time freed (realised)"),
    "potential_all": N_("Potential"),
    "fte_freed_all": N_("FTE freed"),
    "multi_speed_gap": N_("Multi-speed gap"),
    "downgrading_risk": N_("Downgrading risk"),
}


@solara.component
def CompareTab(session: Session, settings: Settings, lang: str):
    """Set A (the page's proposals) against a set B chosen here: two runs, same seed."""
    set_language(lang)  # this component's words (see Simulation)
    titles = {n: f"{n}. {label(PROPOSALS[n])}" for n in PROPOSALS}
    chosen = solara.use_reactive([titles[6]])
    request = solara.use_reactive(0)
    key = (settings, tuple(chosen.value), request.value)

    def run() -> SideBySide | None:
        if request.value == 0:
            return None
        numbers = [n for n, t in titles.items() if t in chosen.value]
        year = _policy_start_year(settings.scenario)
        return compare_sets(settings, [Proposal(n, 1.0, year) for n in numbers])

    result = solara.lab.use_task(run, dependencies=[key], prefer_threaded=True)
    a_text = ", ".join(str(p.number) for p in settings.proposals) or _("none")
    solara.Text(_("Set A: the page's proposals ({proposals})").format(proposals=a_text))
    solara.SelectMultiple(
        _("Set B: proposals"),
        values=chosen.value,
        all_values=list(titles.values()),
        on_value=chosen.set,
    )
    solara.Button(
        _("Run both to the end"),
        color="primary",
        on_click=lambda: request.set(request.value + 1),
        classes=["abm-compare-run"],
    )
    if result.pending:
        solara.ProgressLinear(True)
    sbs = result.value
    if sbs is not None:
        sc = session.scenario
        Chart(lambda: views.side_by_side_option(sbs, sc), "compare", request.value, len(sbs.a))
        rows = []
        for key_, a, b, diff in sbs.rows:
            name = (
                _(ROW_NAMES[key_])
                if key_ in ROW_NAMES
                else _("{family} users").format(
                    family=views.family_label(sc, key_.removeprefix("adoption_"))
                )
            )
            rows.append(
                f"<tr><td>{html.escape(name)}</td><td>{_figure(key_, a)}</td>"
                f"<td>{_figure(key_, b)}</td><td>{_figure(key_, diff, sign=True)}</td></tr>"
            )
        head = _("End of {year}").format(year=sbs.year)
        solara.HTML(
            tag="table",
            classes=["abm-compare-table"],
            unsafe_innerHTML=f"<tr><th>{head}</th><th>A</th><th>B</th><th>B - A</th></tr>"
            + "".join(rows),
        )
    Prose(_(EXPLAIN["compare"]).format(year=COMPARE_YEAR))


@solara.component
def FollowTab(session: Session, tick: solara.Reactive[int], on_change, lang: str):
    """Follow one professional: choose a row (or a random one); its trace is recorded as the
    model steps (the run is replayed to this month once, to record the months before)."""
    set_language(lang)  # this component's words (see Simulation)
    v = _follow(tick)
    row = solara.use_reactive(session.followed if session.followed is not None else 0)

    def follow(r: int | None) -> None:
        on_change(session.follow(r))

    with solara.Row(style={"align-items": "center", "gap": "12px"}):
        solara.InputInt(_("Row"), value=row, continuous_update=False)
        solara.Button(_("Follow"), color="primary", on_click=lambda: follow(row.value))
        solara.Button(
            _("Random professional"),
            outlined=True,
            color="primary",
            on_click=lambda: (
                row.set(random_row(session.model, session.version)),
                follow(row.value),
            ),
        )
    trace = session.history.trace
    if trace is None:
        solara.Text(_("Nobody followed yet."), style=SMALL_TEXT)
    else:
        who = describe_row(session.model, trace.row)
        new = sum(trace.entered)
        fam = session.scenario.families
        last_state = ", ".join(
            f"{views.family_label(session.scenario, f)}: {_(views.STATE_LABELS[int(x)])}"
            for f, x in zip(fam, trace.state[-1], strict=True)
        )
        ties = ", ".join(
            f"{views.family_label(session.scenario, f)} {int(u)}"
            for f, u in zip(fam, trace.tie_users[-1], strict=True)
        )
        solara.Text(
            _("Row {row}: {profession}, {age} years old, {type} #{e}; attitude {attitude}.").format(
                row=trace.row,
                profession=label(who["profession"]),
                age=number(who["age"], 0),
                type=label(who["establishment_type"]),
                e=who["establishment"],
                attitude=number(who["attitude"], 2),
            ),
            classes=["abm-follow-who"],
        )
        solara.Text(
            _("Now: {states}. Ties: {ties}, of whom using each family: {users}.").format(
                states=last_state, ties=trace.ties[-1], users=ties
            )
            + (" " + _("New person in the post {n} times.").format(n=new) if new else ""),
            style=SMALL_TEXT,
        )
        trained = ", ".join(
            views.family_label(session.scenario, f)
            for f, t in zip(fam, trace.trained[-1], strict=True)
            if t
        )
        solara.Text(
            _("Trained on: {families}; digital skill {skill}.").format(
                families=trained or _("nothing yet"), skill=number(trace.skill[-1], 2)
            ),
            style=SMALL_TEXT,
        )
        sc, start = session.scenario, session.scenario.start_year
        Chart(lambda: views.trace_option(trace, sc, start), "follow", v, len(trace), height="380px")
    Prose(_(EXPLAIN["follow"]))


@solara.component
def AboutTab(session: Session, lang: str):
    set_language(lang)  # this component's words (see Simulation)
    Prose(
        _(
            "### About this page\n\n"
            "An agent-based model of French health professionals adopting AI, digital tools and "
            "robotics in their establishments, and of twenty policy proposals of the think tank "
            "#Leplusimportant that change that adoption and the working time it frees for "
            "patients.\n\n"
            "* **Run**: *Play* advances the simulation month by month at the chosen speed; "
            "*Step* advances one month; *Reset* goes back to January {year}.\n"
            "* **Model**: scenario, adoption rhythm (slow / central / fast), number of simulated "
            "professionals and random seed. Same seed, same run.\n"
            "* **Proposals**: switch any of the twenty on, with an intensity (1× = default "
            "strength) and a start year. The run is replayed with the same seed, and the "
            "previous run stays on the charts (dashed grey) so you can see what the proposal "
            "changed. Under each switch: its yearly budget ceiling, the prior range of its main "
            "effect, and how it works, from the proposals' catalogue.\n"
            "* **Link**: the page's address holds its settings and language; copy it to share "
            "this view."
        ).format(year=session.scenario.start_year)
        + "\n\n"
        + _(ODD_LINK)
    )


TABS = (
    N_("Overview"),
    N_("Professions"),
    N_("Time freed"),
    N_("Gaps & risks"),
    N_("Roles"),
    N_("Compare two sets"),
    N_("Follow one professional"),
    N_("About"),
)


@solara.component
def Comparison(session: Session, tick: solara.Reactive[int], on_change, lang: str):
    """Which run the dashed grey lines are, and a button to drop them."""
    set_language(lang)  # this component's words (see Simulation)
    _follow(tick)
    if session.previous is None:
        return
    with solara.Card(_("Comparison"), margin=0):
        solara.Text(
            _("Dashed grey: previous run ({label})").format(label=session.previous.label),
            style={"font-size": "0.85em"},
        )

        def clear():
            session.clear_previous()
            on_change(None)

        solara.Button(_("Clear"), text=True, on_click=clear)


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
def LanguageSwitch(lang: solara.Reactive[str]):
    """FR / EN, in the app bar."""
    solara.ToggleButtonsSingle(
        value=lang.value,
        children=[
            solara.Button(code.upper(), value=code, text=True, classes=[f"abm-lang-{code}"])
            for code in LANGUAGES
        ],
        on_value=lang.set,
        dense=True,
    )


@solara.component
def Simulation(
    session: Session,
    speed: int = DEFAULT_SPEED,
    lang: str | None = None,
    notice: str | None = None,
    band_runs: int = BAND_RUNS,
):
    """The whole page for one session (``Page`` makes the session; tests pass their own).

    ``lang``: the page's starting language (default: the environment's); ``notice``: a message
    to show first (what a URL asked for and could not be done).
    """
    tick = solara.use_reactive(session.version)  # every change of the run, steps included
    revision = solara.use_reactive(0)  # settings applied, reset or refused
    playing = solara.use_reactive(False)
    speed_r = solara.use_reactive(speed)
    message = solara.use_reactive(notice)
    tab = solara.use_reactive(0)
    language = solara.use_reactive(lang or language_from_env())
    generation = solara.use_memo(lambda: [0], [])
    sync = solara.use_memo(FrameSync, [])
    FrameSyncContext.provide(sync)
    # the catalogue's language for this render (one process-wide choice: see docs/APP.md)
    set_language(language.value)
    lang_now = language.value
    LanguageContext.provide(lang_now)

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

    # the band: computed in the background for the settings on screen, restarted when they
    # change (the previous computation sees it is no longer current and stops)
    settings = session.settings
    band_progress = solara.use_reactive(0.0)

    def band_job() -> Band:
        band_progress.set(0.0)

        def cancelled() -> bool:
            return not band_task.is_current()

        def progress(fraction: float) -> None:
            # once per run, not per simulated year: each set re-renders the band's status
            step = round(fraction * band_runs)
            if band_task.is_current() and abs(fraction * band_runs - step) < 1e-9:
                band_progress.set(fraction)

        return compute_band(settings, band_runs, cancelled=cancelled, progress=progress)

    band_task = solara.lab.use_task(band_job, dependencies=[settings], prefer_threaded=True)
    band_error = None
    if band_task.error and not isinstance(band_task.exception, Cancelled):
        band_error = str(band_task.exception)
    band = band_task.value if band_task.finished else None
    band_state = (band, band_progress, band_error, band_runs)

    # the URL holds the settings and language: a link reproduces the view
    router = solara.use_router()
    query = settings_to_query(settings, lang_now)

    def sync_url() -> None:
        if router.set_path is not None and (router.search or "") != query:  # no router: tests
            router.push(f"{router.path or '/'}?{query}")

    solara.use_effect(sync_url, [query])

    rev = revision.value
    with solara.AppBar():
        solara.AppBarTitle(_(TITLE))
        LanguageSwitch(language)
    with solara.Sidebar():
        RunControls(session, tick, playing, speed_r, on_change, sync, lang_now)
        ModelControls(session, settings, rev, on_apply, lang_now)
        ProposalControls(session, settings, rev, on_apply, lang_now)
        DownloadControls(session, tick, lang_now)
        Comparison(session, tick, on_change, lang_now)

    if message.value:
        solara.Error(message.value, classes=["abm-error"])
    Headline(session, tick, lang_now)
    tabs = (
        lambda: OverviewTab(session, tick, band_state, lang_now),
        lambda: ProfessionsTab(session, tick, lang_now),
        lambda: TimeTab(session, tick, band_state, lang_now),
        lambda: GapsTab(session, tick, lang_now),
        lambda: RolesTab(session, tick, lang_now),
        lambda: CompareTab(session, settings, lang_now),
        lambda: FollowTab(session, tick, on_change, lang_now),
        lambda: AboutTab(session, lang_now),
    )
    with solara.lab.Tabs(value=tab, lazy=True):
        for k, (name, content) in enumerate(zip(TABS, tabs, strict=True)):
            solara.lab.Tab(_(name), children=[content()] if tab.value == k else [])


@solara.component
def Page():
    """The app's main page; starting values from ``ADOPTION_ABM_APP_*`` (``adoption-abm app``),
    then from the URL's query (see :mod:`adoption_abm.app.urlstate`)."""
    router = solara.use_router()
    start = solara.use_memo(lambda: _start_values(router.search), [])
    session = solara.use_memo(lambda: None if isinstance(start, str) else Session(start[0]), [])
    if session is None:
        solara.Error(str(start))
    else:
        Simulation(session, start[1], lang=start[2], notice=start[3])


def _start_values(query: str | None = None) -> tuple[Settings, int, str | None, str | None] | str:
    """Settings, speed, language and a notice (the URL's values left out) from the
    environment and the URL's query, or the error message."""
    try:
        settings, speed = settings_from_env(), speed_from_env()
    except ScenarioError as exc:
        return str(exc)
    settings, lang, errors = settings_from_query(query, settings)
    with_lang = lang or language_from_env()
    set_language(with_lang)
    notice = None
    if errors:
        notice = _("The link's settings left out: {errors}").format(errors="; ".join(errors))
    return settings, speed, with_lang, notice


@solara.component
def OddPage():
    """The model's ODD description (docs/ODD.md) when the source tree is at hand."""
    text = odd_text()
    solara.HTML(
        tag="div", unsafe_innerHTML='<a href="./">← ' + _("Back to the simulation") + "</a>"
    )
    Prose(
        text
        or _("The model description (ODD protocol) is `docs/ODD.md` in the project's repository.")
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
