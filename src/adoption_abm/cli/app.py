"""``adoption-abm app``: serve the Solara page (:mod:`adoption_abm.app`) with ``solara run``,
which replaces this process (:func:`become`): killing ``adoption-abm app``, even by ``kill -9``,
stops the server; no child is left serving the port."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from typing import Annotated

import typer

from ..i18n import ENV_VAR, current_language
from .errors import Commands, fail
from .options import Rhythm, ScenarioName, Seed

app = Commands()


def solara_command(
    host: str, port: int, *, dev: bool = False, open_browser: bool = False
) -> list[str]:
    """The ``solara run`` command line that serves the app."""
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "adoption_abm.app",
        "--host",
        host,
        "--port",
        str(port),
    ]
    cmd += [] if dev else ["--production"]
    cmd += ["--open"] if open_browser else ["--no-open"]
    return cmd


def app_environment(
    scenario: str,
    rhythm: str,
    agents: int,
    seed: int,
    speed: int,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """Environment for the server: the page's starting values (checked here, so a bad value is
    reported before the server starts)."""
    from ..app.session import ENV_PREFIX, settings_from_env, speed_from_env

    env = dict(os.environ if base is None else base)
    env.update(
        {
            ENV_PREFIX + "SCENARIO": scenario,
            ENV_PREFIX + "RHYTHM": rhythm,
            ENV_PREFIX + "AGENTS": str(agents),
            ENV_PREFIX + "SEED": str(seed),
            ENV_PREFIX + "SPEED": str(speed),
        }
    )
    # the page's language: the one this command resolved (--lang, else $ADOPTION_ABM_LANG,
    # else the locale), so that `app --lang fr` serves a French page (a URL's lang= wins)
    env[ENV_VAR] = current_language()
    # Solara reports usage to Mixpanel by default; a teaching tool that must run offline
    # should not phone home (set the variable to true to allow it)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    # Solara warns about cookies on every page load over plain http (fine on 127.0.0.1)
    env.setdefault("PYTHONWARNINGS", "ignore::UserWarning:solara.server.starlette")
    settings_from_env(env)
    speed_from_env(env)
    return env


def options_environment(scenario: str, rhythm: str, agents: int, seed: int, speed: int):
    """:func:`app_environment` for the command line: an error names the option given
    (``--agents``), not the environment variable it travels in."""
    from ..app.session import ENV_PREFIX
    from ..scenario.errors import ScenarioError

    try:
        return app_environment(scenario, rhythm, agents, seed, speed)
    except ScenarioError as exc:
        errors = [
            (f"--{path.removeprefix(ENV_PREFIX).lower()}", msg)
            if path.startswith(ENV_PREFIX)
            else (path, msg)
            for path, msg in exc.errors
        ]
        raise ScenarioError("adoption-abm app", errors) from None


@app.command("app")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).", min=0, max=65535)] = 8765,
    scenario: ScenarioName = "france-2022",
    rhythm: Rhythm = "central",
    agents: Annotated[
        int, typer.Option(help="Starting number of simulated professionals.")
    ] = 10_000,
    seed: Seed = 1,
    speed: Annotated[int, typer.Option(help="Starting speed, months per second (1-60).")] = 12,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open a browser tab.")
    ] = False,
    dev: Annotated[bool, typer.Option(help="Solara development mode (reload on edits).")] = False,
) -> None:
    """Serve the interactive page (Solara) at http://HOST:PORT: watch the simulation, switch
    proposals on and off, compare runs. The scenario, rhythm and seed are the page's starting
    values (checked before the server starts)."""
    if importlib.util.find_spec("solara") is None:
        fail("the app needs Solara: pip install 'adoption-abm[app]'")
    env = options_environment(scenario, rhythm, agents, seed, speed)
    where = f"http://{host}:{port}/" if port else f"{host}, on a free port (see below)"
    typer.echo(f"Serving the adoption-abm app at {where} (Ctrl+C to stop)")
    raise typer.Exit(become(solara_command(host, port, dev=dev, open_browser=open_browser), env))


def become(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``cmd`` as this very process, so that nothing is left behind whatever kills it: on
    POSIX the process is replaced (``os.execve``: same pid, the server gets every signal sent
    to ``adoption-abm app``, even SIGKILL). Elsewhere the server runs as a child that gets the
    signals this process receives; returns its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        try:
            os.execve(cmd[0], cmd, env)
        except OSError as exc:
            fail(f"cannot start the server {cmd[0]}: {exc.strerror}")
    proc = subprocess.Popen(cmd, env=env)  # pragma: no cover - Windows

    def forward(signum, frame):  # pragma: no cover - Windows
        proc.send_signal(signum)

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):  # pragma: no cover - Windows
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), forward)
    while True:  # pragma: no cover - Windows
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue
