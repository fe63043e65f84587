"""How fast the app's page advances while playing, at 10,000 agents (target: >= 10 months/s).

Two measurements, side by side in one run:

1. In-process, no browser: the cost of one month as the page pays it, split into the model's
   step, the session's bookkeeping (one row of series) and the page's re-render (Solara/Reacton,
   the Overview tab: network of one establishment + two charts), by clicking Step on a page
   rendered with ``solara.render``.
2. End to end: ``adoption-abm app`` serving the page, Debian's headless Chromium playing it
   (Overview tab). The step counter shown in the browser is read before and after a fixed
   wall-clock window: months per second *as seen on the page*, and frames (distinct counter
   values drawn) per second. Run at the default speed (12 months/s, a simulated year per
   second) and at the maximum (60).

The browser and the server share this machine's cores, as they would on a student's laptop.
Usage: ``python experiments/bench_app.py [--agents 10000] [--seconds 10] [--json out.json]
[--screenshot docs/screenshots/app.png]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def in_process(agents: int, months: int = 40) -> dict[str, float]:
    """Milliseconds per month: model step, session step, and Step click (step + re-render)."""
    import ipyvuetify as v
    import solara

    from adoption_abm import app
    from adoption_abm.app.session import Session, Settings

    settings = Settings(agents=agents, seed=1)
    session = Session(settings)
    model = session.model
    t = time.perf_counter()
    for _ in range(months):
        model.step()
    model_ms = (time.perf_counter() - t) / months * 1e3

    session = Session(settings)
    t = time.perf_counter()
    session.step(months)
    session_ms = (time.perf_counter() - t) / months * 1e3

    session = Session(settings)
    _, rc = solara.render(solara.AppLayout(children=[app.Simulation(session, 10)]))
    step = rc.find(v.Btn, children=["Step"]).widget
    step.click()  # first render of the views
    t = time.perf_counter()
    for _ in range(months):
        step.click()
    click_ms = (time.perf_counter() - t) / months * 1e3
    return {
        "agents": session.model.n_professionals,
        "model_step_ms": model_ms,
        "session_step_ms": session_ms,
        "step_and_render_ms": click_ms,
        "render_ms": click_ms - session_ms,
        "max_months_per_s_in_process": 1e3 / click_ms,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(agents: int, speed: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [
        sys.executable, "-c", "from adoption_abm.cli import main; main()", "app",
        "--host", "127.0.0.1", "--port", str(port), "--agents", str(agents), "--speed", str(speed),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError("the app server did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


COUNT_FRAMES = """() => {
  window.__frames = 0;
  const el = document.querySelector('.abm-step-counter');
  new MutationObserver(() => { window.__frames += 1; })
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""
MONTH = "() => parseInt(document.querySelector('.abm-step-counter').textContent.split(' ')[1])"


def in_browser(agents: int, speed: int, seconds: float, screenshot: Path | None = None) -> dict:
    """Months and frames per second shown by the page while playing (Overview tab)."""
    from playwright.sync_api import expect, sync_playwright

    proc, url = serve(agents, speed)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(url)
            expect(page.locator(".abm-step-counter")).to_have_text("Month 0 / 228", timeout=60_000)
            expect(page.locator(".abm-chart-network canvas").first).to_be_visible(timeout=60_000)
            time.sleep(1.0)
            page.evaluate(COUNT_FRAMES)
            page.get_by_role("button", name="▶ Play").click()
            time.sleep(1.0)  # warm-up: first frames, JIT
            m0, f0, t0 = (
                page.evaluate(MONTH),
                page.evaluate("() => window.__frames"),
                time.monotonic(),
            )
            time.sleep(seconds)
            m1, f1, t1 = (
                page.evaluate(MONTH),
                page.evaluate("() => window.__frames"),
                time.monotonic(),
            )
            if screenshot is not None and m1 < 228:
                page.get_by_role("button", name="❚❚ Pause").click()
                time.sleep(1.0)
                png = page.screenshot()
                from adoption_abm.outputs.atomic import write_atomic

                write_atomic(screenshot, lambda tmp: tmp.write_bytes(png))
            browser.close()
    finally:
        stop(proc)
    finished = m1 >= 228
    return {
        "speed_setting": speed,
        "months_per_s": (m1 - m0) / (t1 - t0),
        "frames_per_s": (f1 - f0) / (t1 - t0),
        "months": [m0, m1],
        "seconds": t1 - t0,
        "reached_the_end": finished,
    }


def main() -> None:
    from adoption_abm.app.session import DEFAULT_SPEED

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()

    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "in_process": in_process(args.agents),
        "browser": [
            in_browser(args.agents, DEFAULT_SPEED, args.seconds, screenshot=args.screenshot),
            in_browser(args.agents, 60, min(args.seconds, 3.0)),
        ],
    }
    try:
        result["machine"]["load_average"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    ip = result["in_process"]
    print(f"{ip['agents']:,} agents, per month (in process, no browser):")
    print(f"  model step            {ip['model_step_ms']:7.2f} ms")
    print(f"  session step          {ip['session_step_ms']:7.2f} ms  (+ one row of series)")
    print(f"  step + page render    {ip['step_and_render_ms']:7.2f} ms  (Overview tab)")
    print(f"  => at most {ip['max_months_per_s_in_process']:.0f} months/s rendering every month")
    print("in Chromium (Overview tab: network + 2 charts), months/s as shown by the page:")
    for b in result["browser"]:
        note = " (reached the last month)" if b["reached_the_end"] else ""
        print(
            f"  speed {b['speed_setting']:>2}: {b['months_per_s']:5.1f} months/s, "
            f"{b['frames_per_s']:5.1f} frames/s{note}"
        )
    if args.json:
        from adoption_abm.outputs.atomic import write_json_atomic

        write_json_atomic(args.json, result)


if __name__ == "__main__":
    main()
