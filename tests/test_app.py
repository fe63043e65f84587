"""The Solara app without a browser: session, series, views, and the page rendered with Solara's
testing tools (``solara.render`` + Reacton's ``find``), clicked like a user would."""

from __future__ import annotations

import io
import json
import math
import time
import zipfile

import numpy as np
import polars as pl
import pytest

solara = pytest.importorskip("solara", reason="the app extra is not installed")
v = pytest.importorskip("ipyvuetify")
ipyvue = pytest.importorskip("ipyvue")

from typer.testing import CliRunner  # noqa: E402

from adoption_abm.app import page as app  # noqa: E402
from adoption_abm.app import views as app_views  # noqa: E402
from adoption_abm.app.chart import FrameSync, LiveChart, data_patch, structure_key  # noqa: E402
from adoption_abm.app.export import run_archive, run_frames  # noqa: E402
from adoption_abm.app.facts import facts_text, proposal_facts  # noqa: E402
from adoption_abm.app.follow import Trace  # noqa: E402
from adoption_abm.app.runs import (  # noqa: E402
    Cancelled,
    band_members,
    compare_sets,
    compute_band,
    run_history,
)
from adoption_abm.app.session import (  # noqa: E402
    ENV_PREFIX,
    Proposal,
    Session,
    Settings,
    build_model,
    month_date,
    series_keys,
    settings_from_env,
    speed_from_env,
)
from adoption_abm.app.urlstate import settings_from_query, settings_to_query  # noqa: E402
from adoption_abm.cli.app import app_environment, solara_command  # noqa: E402
from adoption_abm.cli.main import app as cli  # noqa: E402
from adoption_abm.i18n import label, language  # noqa: E402
from adoption_abm.policies.catalogue import catalogue  # noqa: E402
from adoption_abm.policies.priors import priors  # noqa: E402
from adoption_abm.scenario.errors import ScenarioError  # noqa: E402

SMALL = Settings(agents=1_000, seed=3)


# session and series ------------------------------------------------------------------------------
def test_settings_proposals_and_interventions():
    s = SMALL.with_proposal(7, True, 2.0, 2025).with_proposal(6, True)
    assert [p.number for p in s.proposals] == [6, 7]
    assert s.proposal(7) == Proposal(7, 2.0, 2025)
    assert s.interventions() == [
        {"proposal": 6, "start": "2027-01", "intensity": 1.0},  # the scenario's policy_start
        {"proposal": 7, "start": "2025-01", "intensity": 2.0},
    ]
    assert s.with_proposal(6, False).proposals == (Proposal(7, 2.0, 2025),)
    assert "proposals 6, 7" in s.label()
    assert s.build_key() == SMALL.build_key()  # proposals do not change the population
    model = build_model(SMALL)
    assert abs(model.n_professionals - SMALL.agents) <= 0.02 * SMALL.agents


def test_settings_from_environment_and_errors():
    env = {ENV_PREFIX + "AGENTS": "2000", ENV_PREFIX + "SEED": "7", ENV_PREFIX + "RHYTHM": "fast"}
    s = settings_from_env(env)
    assert (s.agents, s.seed, s.rhythm) == (2000, 7, "fast")
    assert settings_from_env({}) == Settings()
    assert speed_from_env({ENV_PREFIX + "SPEED": "25"}) == 25
    bad = {ENV_PREFIX + "RHYTHM": "warp", ENV_PREFIX + "SEED": "x"}
    with pytest.raises(ScenarioError) as err:
        settings_from_env(bad)
    fields = dict(err.value.errors)
    assert "'warp': allowed ['slow', 'central', 'fast']" in fields[ENV_PREFIX + "RHYTHM"]
    assert "expected an integer" in fields[ENV_PREFIX + "SEED"]
    with pytest.raises(ScenarioError, match="zero agents"):
        settings_from_env({ENV_PREFIX + "AGENTS": "100"})
    with pytest.raises(ScenarioError, match=ENV_PREFIX + "SPEED"):
        speed_from_env({ENV_PREFIX + "SPEED": "0"})


def test_history_grows_by_month_and_matches_the_whole_run_outputs():
    """The incremental series the charts draw equal the model's own frames over the run."""
    session = Session(SMALL)
    assert session.step(30) == 30
    h, model = session.history, session.model
    assert h.month == list(range(31)) and len(h) == 31
    assert h.dates[0] == "2022-01-01" and h.dates[12] == "2023-01-01" == month_date(2022, 12)
    ind = model.indicators()
    out = model.outputs()
    families = model.inputs.families
    assert h.keys == series_keys(families)
    for key in h.keys:
        if key.startswith("adoption_"):  # headcount-weighted shares, as model.latest() has them
            share = out.adoption_share()[:, :, families.index(key.removeprefix("adoption_"))]
            expected = share @ out.headcount / out.headcount.sum()
        else:
            expected = ind[key].to_numpy()
        np.testing.assert_allclose(np.array(h.values[key], dtype=float), expected, err_msg=key)
    ts = model.timeseries()
    for p, pid in enumerate(model.inputs.profession_ids):
        for f, fam in enumerate(families):
            rows = ts.filter((ts["profession"] == pid) & (ts["family"] == fam)).sort("month")
            mine = [h.adoption_by_profession[m][p, f] for m in range(31)]
            np.testing.assert_allclose(mine, rows["adoption"].to_numpy(), err_msg=f"{pid} {fam}")
    assert h.points("realised_all", 100)[-1] == [h.dates[-1], h.values["realised_all"][-1] * 100]


def test_apply_replays_to_the_same_month_and_keeps_the_previous_run():
    session = Session(SMALL)
    session.step(24)
    first = {k: list(v) for k, v in session.history.values.items()}
    assert session.apply(SMALL.replace(rhythm="fast")) is None
    assert session.month == 24 and session.settings.rhythm == "fast"
    assert session.previous is not None and session.previous.values == first
    assert session.history.values["realised_all"] != first["realised_all"]
    # same settings, same seed: the replay is the same run, month for month
    assert session.apply(SMALL) is None
    assert session.history.values == first
    assert session.reset() is None and session.month == 0 and len(session.previous) == 25


def test_refused_settings_keep_the_run_and_say_why():
    session = Session(SMALL)
    session.step(5)
    model = session.model
    message = session.apply(SMALL.replace(agents=100))
    assert message is not None and "zero agents" in message
    assert session.model is model and session.month == 5 and session.settings == SMALL


def test_apply_with_a_proposal():
    """Switching a proposal on replays the run with it to the same month, keeping the old run
    as the previous one."""
    session = Session(SMALL)
    session.step(96)
    before = list(session.history.values["realised_all"])
    message = session.apply(SMALL.with_proposal(6, True, 2.0))
    assert message is None and session.settings.proposals == (Proposal(6, 2.0, 2027),)
    assert session.previous is not None and session.month == 96
    assert session.previous.values["realised_all"] == before
    after = session.history.values["realised_all"]
    start = session.scenario.policy_start_month
    assert after[:start] == before[:start]  # nothing changes before the policy starts
    assert after[-1] > before[-1]


# views -------------------------------------------------------------------------------------------
def test_time_freed_chart_draws_the_seed_targets_at_the_end_of_their_year():
    session = Session(SMALL)
    session.step(3)
    opt = app_views.time_freed_option(session.history, session.scenario, "central")
    targets = {d["name"]: d["value"] for d in opt["series"][-1]["data"]}
    assert targets["potential 2030 (central) 45 %"] == ["2031-01-01", 45.0]
    assert targets["realised 2025 (central) 7 %"] == ["2026-01-01", 7.0]
    assert targets["realised 2030 (slow) 17 %"] == ["2031-01-01", 17.0]
    realised = next(s for s in opt["series"] if s["name"] == "Realised")
    assert [p[0] for p in realised["data"]] == session.history.dates
    assert opt["xAxis"]["type"] == "time" and opt["animation"] is False


def test_network_view_ties_layout_once_and_state_colours():
    session = Session(SMALL)
    model = session.model
    e = app_views.default_establishment(model)
    view = app_views.establishment_view(model, e, seed=1)
    lo, hi = int(model.est.start[e]), int(model.est.start[e + 1])
    assert view.rows.min() >= lo and view.rows.max() < hi and view.n == min(hi - lo, 300)
    for a, b in view.links.tolist():
        i, j = int(view.rows[a]), int(view.rows[b])
        assert j in model.network.ties(i) or i in model.network.ties(j)
    again = app_views.establishment_view(model, e, seed=1)
    np.testing.assert_array_equal(view.x, again.x)  # seeded: same network, same picture
    states = session.states(view.rows)
    states[0] = (2, 0, 0)
    states[1] = (0, 1, 0)
    opt = app_views.network_option(view, states, session.scenario, "ai")
    by_profession = opt["series"]
    assert [s["name"] for s in by_profession] == app_views.profession_labels(session.scenario)
    nodes = {int(d[3]): d for s in by_profession for d in s["data"]}  # row -> [x, y, state, row]
    assert len(nodes) == view.n
    first, second = nodes[int(view.rows[0])], nodes[int(view.rows[1])]
    assert first[2] == 2 and second[2] == 0  # mastered AI; learning digital tools, not AI
    assert first[:2] == [float(view.x[0]), float(view.y[0])]  # the view's fixed position
    colours = {p["value"]: p["color"] for p in opt["visualMap"]["pieces"]}
    assert colours == dict(enumerate(app_views.STATE_COLORS))
    ties = app_views.network_background(view)["series"][0]
    assert ties["type"] == "lines" and len(ties["data"]) == len(view.links)
    a, b = view.links[0]
    assert ties["data"][0]["coords"] == [[view.x[a], view.y[a]], [view.x[b], view.y[b]]]
    sample = app_views.sample_view(model, seed=2, size=120)
    assert sample.n == 120 and len(set(sample.rows.tolist())) == 120


def test_live_chart_sends_structure_once_then_data():
    chart = LiveChart()
    opt = {"title": {"text": "t"}, "series": [{"name": "a", "type": "line", "data": [[1, 2]]}]}
    chart.show(opt, structure_key(opt), frame=1)
    assert chart.base == opt and chart.update == {"frame": 1, "option": data_patch(opt)}
    base = chart.base
    opt2 = {
        "title": {"text": "t"},
        "series": [{"name": "a", "type": "line", "data": [[1, 2], [2, 3]]}],
    }
    chart.show(opt2, structure_key(opt2), frame=2)
    assert chart.base is base  # same structure: only the data travel
    assert chart.update["option"]["series"] == [{"data": [[1, 2], [2, 3]]}]
    opt3 = {**opt2, "series": [*opt2["series"], {"name": "b", "type": "line", "data": []}]}
    chart.show(opt3, structure_key(opt3), frame=3)
    assert chart.base == opt3


def test_frame_sync_waits_for_the_server_render_and_a_browser_that_answers():
    sync = FrameSync()
    done = sync.register("a")
    assert not sync.drawn(0)  # not rendered yet
    sync.rendered(5)
    assert sync.drawn(5)  # no browser ever answered: only the server counts
    sync.ack("a", 3)
    assert sync.drawn(3) and not sync.drawn(4)
    assert sync.drawn(4, browser=False)
    sync.register("b")
    assert not sync.drawn(3)  # b has drawn nothing yet
    sync.ack("b", 4)
    assert sync.drawn(3)
    done()
    assert sync.drawn(4)
    assert not sync.wait(6, timeout=0.01)


def test_play_keeps_going_to_the_end_and_shows_the_last_month():
    session = Session(SMALL)
    session.apply(SMALL, month=session.n_months - 3)
    shown = []
    app.play(session, lambda: 60, lambda: True, lambda: shown.append(session.month))
    assert session.finished and shown[-1] == session.n_months


# the page, rendered and clicked without a browser ------------------------------------------------
def render(session: Session, speed: int = 30, band_runs: int = 2, lang: str = "en"):
    """The page; its band over two runs only (the band has its own tests below)."""
    return solara.render(
        solara.AppLayout(children=[app.Simulation(session, speed, lang=lang, band_runs=band_runs)]),
        handle_error=False,
    )


def settled(rc, deadline: float = 120.0) -> None:
    """Wait (polled, not timed) until the page's background band is ready: its thread
    re-renders the page when it reports, which a click's re-render must not race."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        status = html(rc, "abm-band-status")
        if status and status[0].attributes.get("data-ready") == "true":
            return
        time.sleep(0.05)
    raise AssertionError("the band never became ready")


def texts(rc, class_: str) -> list[str]:
    """Texts of the solara.Text elements with CSS classes ``class_`` (exactly)."""
    return [w.children[0] for w in rc.find(ipyvue.Html, class_=class_).widgets]


def html(rc, css: str) -> list:
    """The solara.HTML widgets with CSS class ``css``."""
    found = rc.find(solara.widgets.HTML).widgets
    return [w for w in found if css in w.attributes.get("class", "").split()]


def charts(rc) -> dict[str, LiveChart]:
    out = {}
    for w in rc.find(LiveChart).widgets:
        name = w.attributes["class"].split()[-1].removeprefix("abm-chart-")
        out[name] = w
    return out


def test_page_steps_resets_and_updates_every_view():
    session = Session(SMALL)
    _box, rc = render(session)
    settled(rc)
    assert texts(rc, "abm-step-counter text-h6") == ["Month 0 / 228"]
    step = rc.find(v.Btn, children=["Step"]).widget
    for _ in range(2):
        step.click()
    assert texts(rc, "abm-step-counter text-h6") == ["Month 2 / 228"]
    shown = charts(rc)
    assert set(shown) == {"network", "adoption", "timefreed"}
    network = shown["network"]
    assert network.background["series"][0]["type"] == "lines"  # the ties, drawn underneath once
    background = network.background
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert network.background is background  # not resent with the next frame
    assert texts(rc, "abm-step-counter text-h6") == ["Month 3 / 228"] and session.month == 3
    adoption = charts(rc)["adoption"]
    assert adoption.attributes["data-points"] == "4"
    assert [len(s["data"]) for s in adoption.update["option"]["series"]] == [4, 4, 4]
    assert adoption.update["frame"] == session.version
    (realised,) = html(rc, "abm-stat-realised_all")
    assert float(realised.attributes["data-value"]) == pytest.approx(
        session.history.last("realised_all")
    )

    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert texts(rc, "abm-step-counter text-h6") == ["Month 0 / 228"]
    assert len(session.previous) == 4
    assert rc.find(ipyvue.Html, children=[f"Dashed grey: previous run ({SMALL.label()})"]).widgets
    assert len(charts(rc)["adoption"].update["option"]["series"]) == 6  # + previous run, dashed


def test_page_plays_and_pauses():
    session = Session(SMALL)
    _box, rc = render(session, speed=60)
    rc.find(v.Btn, children=["▶ Play"]).widget.click()
    deadline = time.monotonic() + 30
    shown = []  # months the page showed while playing
    while (not shown or shown[-1] < 5) and time.monotonic() < deadline:
        (text,) = texts(rc, "abm-step-counter text-h6")
        month = int(text.split()[1])
        if month and (not shown or month != shown[-1]):
            shown.append(month)
        time.sleep(0.01)
    rc.find(v.Btn, children=["❚❚ Pause"]).widget.click()
    assert shown and shown[-1] >= 5, "the page did not show the months while playing"
    time.sleep(0.3)  # let the loop see the pause
    month = session.month
    time.sleep(0.3)
    assert session.month == month  # paused: no more steps
    assert texts(rc, "abm-step-counter text-h6") == [f"Month {month} / 228"]


def test_page_settings_and_proposal_toggle():
    session = Session(SMALL)
    _box, rc = render(session)
    settled(rc)  # each report of the band's thread re-renders the page: not between two events
    for _ in range(2):
        rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Select, label="Adoption rhythm").widget.v_model = "slow"
    assert session.settings.rhythm == "slow" and session.month == 2
    settled(rc)  # the new rhythm restarted the band
    seed = rc.find(v.TextField, label="Seed").widget
    seed.v_model = "11"
    seed.fire_event("focusout")
    assert session.settings.seed == 11 and session.month == 2

    title = f"6. {app.PROPOSALS[6]}"
    box6 = rc.find(v.Checkbox, label=title).widget
    box6.v_model = True
    assert session.settings.proposal(6) is not None
    assert rc.find(v.BtnToggle).widgets  # intensity buttons shown for the proposal


@pytest.mark.parametrize(
    ("tab", "expect"),
    [
        ("Professions", {"profession-ai", "profession-digital", "profession-robotics"}),
        ("Time freed", {"timefreed", "fte"}),
        ("Gaps & risks", {"gaps"}),
        ("Roles", {"roles"}),
        ("Compare two sets", set()),  # drawn once both runs are asked for (tested below)
        ("Follow one professional", set()),  # drawn once someone is followed
        ("About", set()),
    ],
)
def test_every_tab_renders(tab, expect):
    session = Session(SMALL)
    session.step(2)
    _box, rc = render(session)
    settled(rc)  # the band's thread re-renders the page when it reports: not during the click
    rc.find(v.Tabs).widget.v_model = app.TABS.index(tab)  # what clicking the tab does
    assert set(charts(rc)) == expect
    for chart in charts(rc).values():
        for series in chart.update["option"]["series"]:
            assert all(
                p[1] is None or math.isfinite(p[1]) for p in series["data"] if isinstance(p, list)
            )
    prose = " ".join(w.unsafe_innerHTML for w in html(rc, "abm-prose"))
    assert {"Roles": "Emerging roles", "About": 'href="odd"'}.get(tab, "<p>") in prose


def test_roles_chart_draws_the_model_role_demand_month_by_month():
    from adoption_abm.outputs.roles import role_demand

    session = Session(SMALL)
    session.step(14)
    _box, rc = render(session)
    settled(rc)
    rc.find(v.Tabs).widget.v_model = app.TABS.index("Roles")
    drawn = [[p[1] for p in s["data"]] for s in charts(rc)["roles"].update["option"]["series"]]
    expected = role_demand(session.model.outputs(), session.model.inputs)
    assert len(drawn) == len(expected) > 0
    for values, want in zip(drawn, expected.values(), strict=True):
        np.testing.assert_allclose(values, want)
    assert len(drawn[0]) == 15


def test_odd_page_shows_the_model_description(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # served from the package, whatever the working directory
    _box, rc = solara.render(app.OddPage(), handle_error=False)
    prose = " ".join(w.unsafe_innerHTML for w in html(rc, "abm-prose"))
    assert "<h1" in prose and "ODD protocol" in prose and "Purpose and patterns" in prose


# command line ------------------------------------------------------------------------------------
def test_app_command_checks_its_options_before_serving():
    runner = CliRunner()
    result = runner.invoke(cli, ["app", "--agents", "100", "--port", "0"])
    assert result.exit_code == 2
    assert "--agents" in result.output and "zero agents" in result.output  # the option given
    result = runner.invoke(cli, ["app", "--rhythm", "warp"])
    assert result.exit_code == 2 and "allowed" in result.output
    assert runner.invoke(cli, ["app", "--help"]).exit_code == 0


def test_app_command_line_and_environment():
    cmd = solara_command("127.0.0.1", 9000)
    assert cmd[1:5] == ["-m", "solara", "run", "adoption_abm.app"]
    assert "--production" in cmd and "--no-open" in cmd and "9000" in cmd
    env = app_environment("france-2022", "slow", 2000, 5, 20, base={})
    assert env[ENV_PREFIX + "RHYTHM"] == "slow" and env[ENV_PREFIX + "SPEED"] == "20"
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"  # no usage reports from a class
    kept = app_environment(
        "france-2022", "slow", 2000, 5, 20, base={"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "true"}
    )
    assert kept["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "true"


# the band, proposal facts, side by side, following, downloads, the URL, French ------------------
WITH_6 = SMALL.with_proposal(6, True, 1.0, 2022)


def test_band_is_deterministic_for_a_seed_and_spans_seeds_and_prior_draws():
    members = band_members(WITH_6, 3)
    assert len({m.seed for m in members}) == 3
    (p6_training, p6_reach) = priors([6])
    drawn = [m.interventions[0]["effects"] for m in members]
    for effects in drawn:  # each run draws proposal 6's two effects within their priors
        assert p6_training.low <= effects[0] <= p6_training.high
        assert p6_reach.low <= effects[1] <= p6_reach.high
    assert len({tuple(e) for e in drawn}) == 3  # three different draws (Latin hypercube)
    assert band_members(SMALL, 3)[0].interventions == []  # no proposal: seeds only
    seen: list[float] = []
    band = compute_band(WITH_6, 3, progress=seen.append)
    again = compute_band(WITH_6, 3)
    np.testing.assert_array_equal(band.low, again.low)
    np.testing.assert_array_equal(band.high, again.high)
    assert band.runs == 3 and len(band.dates) == 229 and band.dates[0] == "2022-01-01"
    assert np.all(band.low <= band.median) and np.all(band.median <= band.high)
    assert band.high[-1] > band.low[-1]  # seeds and draws differ: the band has a width
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    other = compute_band(WITH_6.replace(seed=4), 3)
    assert not np.array_equal(other.low, band.low)
    # the band's runs are ordinary runs: the median of 3 is one of them, month by month
    from adoption_abm.app.runs import build_member

    curves = [build_member(WITH_6, m).run().indicator_series()["realised_all"] for m in members]
    np.testing.assert_allclose(band.median, np.median(np.vstack(curves), axis=0))
    with pytest.raises(Cancelled):
        compute_band(WITH_6, 3, cancelled=lambda: True)
    with pytest.raises(ValueError, match="at least 2"):
        band_members(SMALL, 1)


def test_time_freed_chart_shades_the_band():
    band = compute_band(SMALL, 2)
    session = Session(SMALL)
    opt = app_views.time_freed_option(session.history, session.scenario, "central", None, band)
    low, width = (s for s in opt["series"] if s.get("stack") == "band")
    assert "areaStyle" in width and "areaStyle" not in low
    assert [p[1] for p in low["data"]] == pytest.approx(list(band.low * 100))
    tops = [lo[1] + w[1] for lo, w in zip(low["data"], width["data"], strict=True)]
    assert tops == pytest.approx(list(band.high * 100))


@pytest.mark.parametrize("n", range(1, 21))
def test_proposal_panel_text_comes_from_the_catalogue(n):
    p = catalogue().proposals[n]
    facts = proposal_facts(n)
    assert (facts.cost, facts.mechanism, facts.activity) == (p.cost, p.mechanism, p.activity)
    assert facts.channels == tuple(dict.fromkeys(e.channel for e in p.effects))
    assert (facts.low, facts.value, facts.high) == (
        p.effects[0].low,
        p.effects[0].value,
        p.effects[0].high,
    )
    with language("en"):
        text = facts_text(n)
    assert text["cost"] == f"at most {p.cost:,.{1 if p.cost % 1 else 0}f} M€ a year"
    assert text["mechanism"] == p.mechanism and text["activity"] == p.activity
    with language("fr"):  # the catalogue's texts are translated like its titles
        fr = facts_text(n)
        assert (fr["mechanism"], fr["activity"]) == (label(p.mechanism), label(p.activity))
    assert fr["mechanism"] != p.mechanism and fr["activity"] != p.activity
    main = p.effects[0]
    if main.channel in ("entrant_skill", "entrant_attitude", "entry_age", "entrant_exposure",
                        "task_opening", "reinvestment", "training_capacity"):  # fmt: skip
        assert f"{main.low:+.2f} to {main.high:+.2f}" in text["prior"]
    else:
        assert f"{100 * main.low:+.0f} % to {100 * main.high:+.0f} %" in text["prior"]


def test_page_shows_each_proposal_cost_and_prior_beside_its_switch():
    session = Session(SMALL)
    _box, rc = render(session)
    panels = [
        w
        for w in rc.find(solara.widgets.HTML).widgets
        if "abm-proposal-facts" in (w.unsafe_innerHTML or "")
    ]
    assert len(panels) == 20
    six = next(w.unsafe_innerHTML for w in panels if 'data-proposal="6"' in w.unsafe_innerHTML)
    assert "at most 50 M€ a year" in six and "training: +25 % to +100 % (central +50 %)" in six
    assert html_escape(catalogue().proposals[6].mechanism) in six


def html_escape(text: str) -> str:
    import html as html_module

    return html_module.escape(text)


def test_the_page_in_french():
    session = Session(SMALL)
    _box, rc = render(session, lang="fr")
    try:
        settled(rc)
        assert texts(rc, "abm-step-counter text-h6") == ["Mois 0 / 228"]
        rc.find(v.Btn, children=["Pas"]).widget.click()
        assert texts(rc, "abm-step-counter text-h6") == ["Mois 1 / 228"]
        assert rc.find(v.Btn, children=["▶ Lecture"]).widgets
        panels = " ".join(w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets)
        assert "au plus 50 M€ par an" in panels and "formation : de +25\u00a0%" in panels
        assert charts(rc)["timefreed"].base["title"]["text"] == (
            "Temps libérable : potentiel et réalisé"
        )
        # (the FR / EN switch sits in the app bar, which Solara's test renderer leaves out:
        # tests/test_app_browser.py clicks it)
    finally:
        from adoption_abm.i18n import set_language

        set_language(None)


def test_two_policy_sets_side_by_side_same_seed():
    sbs = compare_sets(SMALL, WITH_6.proposals)
    _, a = run_history(SMALL)
    _, b = run_history(WITH_6)
    assert sbs.a.values == a.values and sbs.b.values == b.values  # the same runs, same seed
    session = Session(SMALL)
    session.step(228)
    assert sbs.a.values == session.history.values  # read at the end = recorded month by month
    month = 9 * 12  # end of December 2030
    rows = {key: (va, vb, d) for key, va, vb, d in sbs.rows}
    va, vb, d = rows["realised_all"]
    assert (va, vb) == (a.values["realised_all"][month], b.values["realised_all"][month])
    assert d == pytest.approx(vb - va) and d > 0  # proposal 6 from 2022 raises realised gain
    assert {"adoption_ai", "fte_freed_all", "downgrading_risk"} <= set(rows)


def test_follow_one_professional_records_its_states_ties_and_training():
    row = 123
    session = Session(SMALL)
    session.step(5)
    assert session.follow(row) is None  # replays the 5 months, recording the row
    session.step(20)
    trace = session.history.trace
    assert trace.row == row and trace.month == list(range(26))
    twin = build_model(SMALL)  # the same run, read directly from the model month by month
    expected = Trace(row)
    expected.record(twin)
    for _ in range(25):
        twin.step()
        states = twin.pop.state
        ties = twin.network.ties(row)
        expected.record(twin)
        np.testing.assert_array_equal(expected.tie_users[-1], (states[ties] >= 1).sum(axis=0))
    np.testing.assert_array_equal(np.array(trace.state), np.array(expected.state))
    np.testing.assert_array_equal(np.array(trace.trained), np.array(expected.trained))
    assert trace.skill == expected.skill and trace.ties == expected.ties
    np.testing.assert_array_equal(np.array(trace.tie_users), np.array(expected.tie_users))
    assert session.follow(10**9).startswith("row 1000000000: expected 0..")


def test_role_demand_recorded_monthly_equals_the_recomputed_one():
    session = Session(WITH_6)
    session.step(40)
    session.apply(WITH_6.with_proposal(9, True, 1.0, 2022))  # a replay records it too
    session.step(8)
    recorded = session.role_demand()
    recomputed = session.role_demand_recomputed()
    assert set(recorded) == set(recomputed) and recorded
    for rid, (_label, values) in recorded.items():
        assert len(values) == 49
        np.testing.assert_allclose(values, recomputed[rid], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_download_reads_back_as_the_run_frames(fmt):
    session = Session(WITH_6)
    session.step(30)
    data = run_archive(session.model, session.settings, fmt)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert names == {f"{n}.{fmt}" for n in ("timeseries", "indicators", "breakdown")} | {
            "summary.json",
            "scenario.toml",
        }
        frames = run_frames(session.model)
        for name, frame in frames.items():
            raw = io.BytesIO(zf.read(f"{name}.{fmt}"))
            back = pl.read_parquet(raw) if fmt == "parquet" else pl.read_csv(raw)
            if fmt == "parquet":
                assert back.equals(frame)
            else:
                assert back.columns == frame.columns and back.height == frame.height
                for col in frame.columns:
                    if frame[col].dtype.is_float():
                        np.testing.assert_allclose(
                            back[col].to_numpy(), frame[col].to_numpy(), rtol=1e-12
                        )
        summary = json.loads(zf.read("summary.json"))
    assert summary["seed"] == SMALL.seed and summary["months"] == 30
    assert summary["policy"] == session.settings.interventions()
    assert summary["years"] == json.loads(json.dumps(session.model.summary()))
    with pytest.raises(ValueError, match="format 'xlsx'"):
        run_archive(session.model, session.settings, "xlsx")


def test_url_state_round_trip_and_refusals():
    s = SMALL.replace(rhythm="fast").with_proposal(6, True).with_proposal(7, True, 2.0, 2025)
    query = settings_to_query(s, "fr")
    assert query == (
        "scenario=france-2022&rhythm=fast&agents=1000&seed=3&proposals=6,7:2:2025&lang=fr"
    )
    assert settings_from_query(query, Settings()) == (s, "fr", [])
    assert settings_from_query("?" + query, Settings())[0] == s
    assert settings_from_query("", s) == (s, None, [])  # nothing said: the base stays
    back, lang, errors = settings_from_query(
        "scenario=/etc/passwd&rhythm=warp&seed=-1&agents=x&proposals=6,99,3:9,4:1:1900&lang=de",
        SMALL,
    )
    assert back == SMALL.with_proposal(6, True) and lang is None
    assert [e.split("=")[0].split(":")[0] for e in errors] == [
        "scenario", "rhythm", "agents", "seed", "proposals", "proposals", "proposals", "lang",
    ]  # fmt: skip
    # the page reads the URL at start (a link reproduces the view) and reports what it left out
    started = app._start_values("seed=7&proposals=6&lang=fr")
    assert started[0].seed == 7 and started[0].proposal(6) is not None and started[2] == "fr"
    assert app._start_values("seed=x")[3].startswith("The link's settings left out: seed='x'")
    from adoption_abm.i18n import set_language

    set_language(None)


def test_app_command_passes_its_language_to_the_server():
    """``adoption-abm app --lang fr`` serves a French page: the language the command resolved
    goes to the server as $ADOPTION_ABM_LANG (the page's default; a URL's lang= wins)."""
    for lang in ("fr", "en"):
        with language(lang):
            env = app_environment("france-2022", "central", 2000, 1, 12, base={})
        assert env["ADOPTION_ABM_LANG"] == lang


def test_page_computes_the_band_in_the_background_and_restarts_it_on_a_change():
    session = Session(SMALL)
    _box, rc = render(session, band_runs=2)

    def shown_band(deadline: float = 120.0) -> list[float]:
        """The band's lower curve once the page says it is ready (polled, not timed)."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            (status,) = html(rc, "abm-band-status")
            if status.attributes["data-ready"] == "true":
                series = charts(rc)["timefreed"].update["option"]["series"]
                lows = [s for s in charts(rc)["timefreed"].base["series"] if s.get("stack")]
                assert len(lows) == 2  # the band's two stacked series
                k = charts(rc)["timefreed"].base["series"].index(lows[0])
                return [p[1] for p in series[k]["data"]]
            time.sleep(0.05)
        raise AssertionError("the band never became ready")

    (status,) = html(rc, "abm-band-status")
    assert status.attributes["data-ready"] == "false"  # the page is up before the band
    first = shown_band()
    assert first == pytest.approx(list(compute_band(SMALL, 2).low * 100))
    rc.find(v.Btn, children=["Step"]).widget.click()  # stepping does not restart it
    assert html(rc, "abm-band-status")[0].attributes["data-ready"] == "true"
    session.apply(SMALL.replace(seed=4))  # what a change of seed on the page does
    rc.find(v.Btn, children=["Step"]).widget.click()  # re-render with the new settings
    second = shown_band()
    assert second == pytest.approx(list(compute_band(SMALL.replace(seed=4), 2).low * 100))
    assert second != first
