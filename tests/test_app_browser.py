"""The app in a real browser: ``adoption-abm app`` serves the page on 127.0.0.1, Debian's headless
Chromium (driven by Playwright) loads it, presses Play, sees the step counter and a chart
advance, switches a proposal on and sees the curves change, finds no error in the console, and
saves a screenshot under build/screenshots/ (or $ADOPTION_ABM_SCREENSHOTS).

Needs Chromium: ``$ADOPTION_ABM_CHROMIUM``, ``chromium`` on PATH or ``/usr/bin/chromium``
(``apt-get install -y chromium chromium-driver``; .ci/run installs it). Without one the tests
skip with the reason, except under ``CI=true``, where they fail. Playwright's own browser
download does not work here, hence ``executable_path``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the app extra is not installed")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

import io  # noqa: E402
import json  # noqa: E402
import zipfile  # noqa: E402

import polars as pl  # noqa: E402

from adoption_abm.app.facts import facts_text  # noqa: E402
from adoption_abm.app.page import AXES  # noqa: E402
from adoption_abm.app.runs import BAND_RUNS  # noqa: E402
from adoption_abm.i18n import _, language  # noqa: E402
from adoption_abm.outputs.atomic import write_atomic  # noqa: E402
from adoption_abm.policies.catalogue import PROPOSALS  # noqa: E402

AXIS_II = AXES[1][0]


def _t(lang: str, message: str) -> str:
    with language(lang):
        return _(message)


pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
# build/ is ignored by git: a test run does not dirty the checkout (docs/screenshots/ keeps a copy)
SCREENSHOT = (
    Path(os.environ.get("ADOPTION_ABM_SCREENSHOTS", ROOT / "build" / "screenshots"))
    / "app-browser-test.png"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AGENTS, SEED = 2_000, 1
TIMEOUT_MS = 60_000


CHROMIUM_ENV = "ADOPTION_ABM_CHROMIUM"


def find_chromium() -> str | None:
    """``$ADOPTION_ABM_CHROMIUM``, else ``chromium`` on PATH, else ``/usr/bin/chromium``: the
    first that is an executable file, or None."""
    given = os.environ.get(CHROMIUM_ENV)
    candidates = [given] if given else [shutil.which("chromium"), "/usr/bin/chromium"]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def chromium() -> str:
    """The Chromium to drive; without one the tests skip, saying why and how to install it,
    except under ``CI=true``, where they fail (CI must run them)."""
    path = find_chromium()
    if path is None:
        given = os.environ.get(CHROMIUM_ENV)
        where = (
            f"${CHROMIUM_ENV}={given} is not an executable file"
            if given
            else f"no chromium on PATH, no /usr/bin/chromium, ${CHROMIUM_ENV} unset"
        )
        why = (
            f"the browser test needs Chromium ({where}): apt-get install -y chromium "
            f"chromium-driver, or set ${CHROMIUM_ENV} to a Chromium binary"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (CI=true: required)")
        pytest.skip(why)
    return path


@pytest.fixture(scope="module", autouse=True)
def needs_chromium() -> str:
    """Checked first (autouse), before the app server starts."""
    return chromium()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``adoption-abm app`` on 127.0.0.1 and a free port; yields the page's URL."""
    port = free_port()
    folder = tmp_path_factory.mktemp("app")
    log = folder / "server.log"
    # policies act from the first month, so that a proposal shows within the months stepped
    text = resources.files("adoption_abm.scenario").joinpath("data", "france-2022.toml")
    scenario = folder / "france-2022-policies-from-2022.toml"
    scenario.write_text(
        text.read_text(encoding="utf-8").replace(
            'policy_start = "2027-01"', 'policy_start = "2022-01"'
        )
    )
    cmd = [
        sys.executable, "-c", "from adoption_abm.cli import main; main()", "app",
        "--host", "127.0.0.1", "--port", str(port), "--scenario", str(scenario),
        "--agents", str(AGENTS), "--seed", str(SEED), "--speed", "20",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the CLI and the solara server it started
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def browser(needs_chromium):
    executable = needs_chromium
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Console:
    """Errors seen by a page: console errors, uncaught exceptions, failed or refused requests."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"),
        )


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    console = Console(page)
    page.goto(url)
    sync_api.expect(page.locator(".abm-step-counter")).to_have_text(
        "Month 0 / 228", timeout=TIMEOUT_MS
    )
    return page, console


def month(page) -> int:
    return int(re.match(r"Month (\d+)", page.locator(".abm-step-counter").inner_text()).group(1))


def wait_for_month(page, at_least: int) -> None:
    page.wait_for_function(
        "n => parseInt(document.querySelector('.abm-step-counter').textContent.split(' ')[1]) >= n",
        arg=at_least,
        timeout=TIMEOUT_MS,
    )


def chart_drawn(page, name: str):
    """The chart's container once ECharts has drawn into it."""
    chart = page.locator(f".abm-chart-{name}")
    sync_api.expect(chart.locator("canvas").first).to_be_visible(timeout=TIMEOUT_MS)
    return chart


def headline(page) -> dict[str, float]:
    values = {}
    for stat in page.locator(".abm-stat").all():
        key = next(c for c in stat.get_attribute("class").split() if c.startswith("abm-stat-"))
        values[key] = float(stat.get_attribute("data-value") or "nan")
    return values


def test_play_advances_the_counter_and_the_charts(server, browser):
    page, console = open_page(browser, server)
    chart = chart_drawn(page, "timefreed")
    chart_drawn(page, "network")
    assert chart.get_attribute("data-points") == "1"
    time.sleep(0.5)  # let the first frame settle before taking the reference picture
    before = chart.screenshot()

    page.get_by_role("button", name="▶ Play").click()
    wait_for_month(page, 24)
    page.get_by_role("button", name="❚❚ Pause").click()
    sync_api.expect(page.get_by_role("button", name="▶ Play")).to_be_visible(timeout=TIMEOUT_MS)
    time.sleep(0.5)
    paused = month(page)
    assert paused >= 24
    assert int(chart.get_attribute("data-points")) == paused + 1  # one point per month
    assert chart.screenshot() != before  # the curves were drawn further
    time.sleep(1.0)
    assert month(page) == paused  # paused means paused

    page.get_by_role("button", name="Step").click()
    sync_api.expect(page.locator(".abm-step-counter")).to_have_text(
        f"Month {paused + 1} / 228", timeout=TIMEOUT_MS
    )
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
    png = page.screenshot()
    write_atomic(SCREENSHOT, lambda tmp: tmp.write_bytes(png))
    assert console.errors == []
    page.close()


def test_a_proposal_changes_the_curves(server, browser):
    page, console = open_page(browser, server)
    adoption = chart_drawn(page, "adoption")
    step = page.get_by_role("button", name="Step")
    for _i in range(24):
        step.click()
    sync_api.expect(page.locator(".abm-step-counter")).to_have_text(
        "Month 24 / 228", timeout=TIMEOUT_MS
    )
    time.sleep(0.5)
    baseline, picture = headline(page), adoption.screenshot()

    page.get_by_text("II. Skills transition of professionals in post").click()
    page.get_by_text(f"6. {PROPOSALS[6]}").click()
    sync_api.expect(page.get_by_text("Dashed grey: previous run")).to_be_visible(timeout=TIMEOUT_MS)
    sync_api.expect(page.locator(".abm-step-counter")).to_have_text("Month 24 / 228")
    time.sleep(0.5)
    changed = headline(page)
    assert changed != baseline, "switching proposal 6 on changed none of the headline figures"
    assert adoption.screenshot() != picture
    assert console.errors == []
    page.close()


# the band, the proposal panel, the URL, the download and the language switch, in both languages
def say(lang: str, message: str, **fields) -> str:
    """``message`` as the page shows it in ``lang`` (from the catalogue)."""
    with language(lang):
        return _(message).format(**fields)


def counter(lang: str, month: int) -> str:
    return say(lang, "Month {month} / {months}", month=month, months=228)


def open_at(browser, url: str, lang: str, query: str = ""):
    page = browser.new_page(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    console = Console(page)
    page.goto(url + "?" + (query or f"lang={lang}"))
    sync_api.expect(page.locator(".abm-step-counter")).to_have_text(
        counter(lang, 0), timeout=TIMEOUT_MS
    )
    return page, console


def steps(page, lang: str, n: int, start: int = 0) -> None:
    step = page.locator(".abm-step")
    for _k in range(n):
        step.click()
    sync_api.expect(page.locator(".abm-step-counter")).to_have_text(
        counter(lang, start + n), timeout=TIMEOUT_MS
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_band_proposal_panel_download_and_language(server, browser, lang, tmp_path):
    page, console = open_at(browser, server, lang)
    assert f"lang={lang}" in page.url  # the page writes its state into the URL
    # the band: computed in the background, then shaded on the time-freed chart
    status = page.locator(".abm-band-status")
    sync_api.expect(status).to_have_attribute("data-ready", "true", timeout=TIMEOUT_MS)
    sync_api.expect(status).to_have_text(
        say(lang, "Shaded: 5-95 % band of realised time freed over {runs} runs", runs=BAND_RUNS)
    )
    # the proposal panel: proposal 6's cost and prior, from the catalogue
    with language(lang):
        facts = facts_text(6)
    page.get_by_text(say(lang, "{axis} ({n} on)", axis=_t(lang, AXIS_II), n=0)).click()
    panel = page.locator('.abm-proposal-facts[data-proposal="6"]')
    sync_api.expect(panel.locator(".abm-proposal-cost")).to_have_text(facts["cost"])
    sync_api.expect(panel.locator(".abm-proposal-prior")).to_contain_text(facts["prior"])
    # the download: a zip whose Parquet frames Polars reads, as many months as stepped
    steps(page, lang, 6)
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.locator(".abm-download-parquet").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.endswith("-m6-parquet.zip")
    with zipfile.ZipFile(path) as zf:
        indicators = pl.read_parquet(io.BytesIO(zf.read("indicators.parquet")))
        timeseries = pl.read_parquet(io.BytesIO(zf.read("timeseries.parquet")))
        summary = json.loads(zf.read("summary.json"))
    assert indicators.height == 7 and timeseries.height > 0
    assert summary["months"] == 6 and summary["seed"] == SEED
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
    png = page.screenshot()
    write_atomic(SCREENSHOT.with_name(f"app-browser-test-{lang}.png"), lambda t: t.write_bytes(png))
    # the language switch: the other language, the counter and the URL follow
    other = "fr" if lang == "en" else "en"
    page.locator(f".abm-lang-{other}").click()
    sync_api.expect(page.locator(".abm-step-counter")).to_have_text(
        counter(other, 6), timeout=TIMEOUT_MS
    )
    page.wait_for_function("l => location.search.includes('lang=' + l)", arg=other)
    assert console.errors == []
    page.close()


def test_a_url_with_state_reproduces_the_view(server, browser):
    """The same link in English, then in French: the same settings on screen and the same run
    (the headline's unrounded figures), whatever the language; a change is written back."""
    state = "seed=7&rhythm=fast&proposals=6,9:2:2023"
    views = []
    for lang in ("en", "fr"):
        page, console = open_at(browser, server, lang, f"{state}&lang={lang}")
        sync_api.expect(page.get_by_label(say(lang, "Seed"))).to_have_value("7")
        for n in (6, 9):
            box = page.locator(".abm-proposal").filter(has_text=re.compile(rf"^{n}\. "))
            sync_api.expect(box.locator("input")).to_be_checked()
        steps(page, lang, 12)
        time.sleep(0.3)
        views.append(headline(page))
        assert console.errors == []
        if lang == "fr":
            # a change of setting is written back into the URL (once the band has reported: its
            # thread re-renders the page, which must not land between the edit and the Enter)
            status = page.locator(".abm-band-status")
            sync_api.expect(status).to_have_attribute("data-ready", "true", timeout=TIMEOUT_MS)
            page.get_by_label(say(lang, "Seed")).fill("8")
            page.get_by_label(say(lang, "Seed")).press("Enter")
            page.wait_for_function("() => location.search.includes('seed=8')", timeout=TIMEOUT_MS)
        page.close()
    assert views[0] == views[1] and views[0]  # the same link, the same run
