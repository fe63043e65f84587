"""Options shared by the commands (``Annotated`` aliases, one definition each) and the helpers
that turn them into the package's objects. Importing this module imports nothing of the package:
the helpers import the layers they need when called."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import typer

from ..i18n import _
from .errors import fail

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario.schema import Scenario

# The three rhythms every scenario defines (``scenario.schema.RHYTHMS``, spelled out here so that
# ``--help`` does not import the scenario layer); a scenario file may add others, so ``--rhythm``
# is checked against the loaded scenario (``Scenario.check_rhythm``), not here.
RHYTHMS = ("slow", "central", "fast")
EngineName = Literal["cython", "reference"]  # ``engines.registry.ENGINES``
ENGINES: tuple[str, ...] = get_args(EngineName)

ScenarioName = Annotated[str, typer.Option(help="Built-in scenario name or TOML file.")]
Rhythm = Annotated[
    str,
    typer.Option(
        metavar=f"<{'|'.join(RHYTHMS)}>",
        help="Adoption rhythm (a scenario file may define others).",
    ),
]
Engine = Annotated[
    EngineName, typer.Option(help="cython (compiled) or reference (NumPy); same results.")
]
SEED_BOUND = 2**64  # ``model.limits.SEED_BOUND`` (the same rule; a test keeps them equal)


def _check_seed(value: int | None) -> int | None:
    if value is not None and not 0 <= value < SEED_BOUND:
        fail(_("--seed {value}: must be an integer from 0 to 2^64 - 1").format(value=value))
    return value


check_seed = _check_seed
"""The ``--seed`` check, for a command that declares its own seed option."""

Seed = Annotated[
    int,
    typer.Option(
        help="Random seed, an integer from 0 to 2^64 - 1; same seed, same results.",
        callback=_check_seed,
    ),
]
Scale = Annotated[
    float,
    typer.Option(
        help="Agents per real professional (1 = full scale, about a million professionals); "
        "refused if its memory estimate exceeds the memory available (see --force)."
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force", help="Run even if the memory estimate for --scale exceeds the memory available."
    ),
]
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing --out folder (a previous output) instead of refusing.",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="<FIELD=VALUE>",
        help="Override a scenario field, e.g. mechanisms.mentoring.enabled=false (repeatable).",
    ),
]
Progress = Annotated[bool, typer.Option(help="Show a progress bar (on stderr).")]


MAX_THREADS = 1024  # ``engines.registry.MAX_THREADS`` (a test keeps them equal)


def _check_threads(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_THREADS:
        fail(f"--threads {value}: must be an integer from 1 to {MAX_THREADS}")
    return value


Threads = Annotated[
    int | None,
    typer.Option(
        metavar="<N>",
        help="Threads of the compiled kernel (unset: every available CPU); same results.",
        callback=_check_threads,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        min=1,
        help="Local worker processes (1 = in this process; unset: all CPUs); same results.",
    ),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        metavar="<tcp://HOST:PORT>",
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (runs on that cluster).",
    ),
]
DaskLocal = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="<local>",
        help="'local': start a Dask LocalCluster on 127.0.0.1 with --workers workers "
        "(stopped with this command, even if it is killed).",
    ),
]

SCHEDULER_SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """``["mechanisms.mentoring.enabled=false", "scale=0.02"]`` → typed values (TOML syntax
    for values)."""
    import tomllib

    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            fail(
                _(
                    "--set {pair!r}: expected FIELD=VALUE, e.g. mechanisms.mentoring.enabled=false"
                ).format(pair=pair)
            )
        key, raw = pair.split("=", 1)
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw  # a bare string
    return out


def scenario_from_options(scenario: str, set_: list[str] | None, rhythm: str) -> Scenario:
    """The scenario named by ``--scenario``, with the ``--set`` overrides, checked against
    ``--rhythm``. Raises ScenarioError (reported by the command class)."""
    from ..scenario.load import load_scenario, with_overrides

    sc = load_scenario(scenario)
    overrides = parse_overrides(set_)
    if overrides:
        sc = with_overrides(sc, overrides, label="--set")
    sc.check_rhythm(rhythm, label="--rhythm", field="rhythm")
    return sc


def executor_args(workers: int | None, scheduler: str | None, dask: str | None) -> dict[str, Any]:
    """``--workers``, ``--scheduler`` and ``--dask`` checked, as the keyword arguments of
    ``batch.runner.run_batch`` (``workers``, ``scheduler``, ``dask_local``)."""
    if dask is not None and dask != "local":
        fail(
            _(
                "--dask {dask!r}: allowed 'local' (for a remote cluster use --scheduler "
                "tcp://HOST:PORT)"
            ).format(dask=dask)
        )
    if scheduler and dask:
        fail(_("--scheduler and --dask: give one of them"))
    if scheduler and not scheduler.startswith(SCHEDULER_SCHEMES):
        fail(
            _("--scheduler {scheduler!r}: expected an address such as tcp://HOST:PORT").format(
                scheduler=scheduler
            )
        )
    return {"workers": workers, "scheduler": scheduler, "dask_local": dask == "local"}


@contextmanager
def dask_errors(ex_args: dict[str, Any]) -> Iterator[None]:
    """An unreachable ``--scheduler`` (or a ``--dask local`` cluster that does not start) exits
    2 with one line instead of Dask's traceback."""
    try:
        yield
    except OSError as exc:
        if not (ex_args.get("scheduler") or ex_args.get("dask_local")):
            raise
        if "Timed out" in str(exc) or "connect" in str(exc).lower():
            if ex_args.get("scheduler"):
                fail(_("--scheduler: cannot reach the Dask scheduler: {error}").format(error=exc))
            fail(_("--dask local: cannot start the Dask cluster: {error}").format(error=exc))
        raise


def _raise_interrupt(signum, frame):  # pragma: no cover - exercised by the kill tests
    raise KeyboardInterrupt


def sigterm_interrupts() -> None:
    """Make SIGTERM (``kill``, a stopped container) end the command as Ctrl-C does, so that
    its ``finally`` blocks run: temporary folders removed, workers stopped, locks released."""
    import signal

    signal.signal(signal.SIGTERM, _raise_interrupt)


def command_line() -> str | None:
    """The command as typed (``adoption-abm`` and its arguments, shell-quoted), for reports."""
    import shlex
    import sys

    args = sys.argv[1:]
    return "adoption-abm " + " ".join(shlex.quote(a) for a in args) if args else None
