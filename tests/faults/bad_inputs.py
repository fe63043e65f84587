"""The bad-input set: invocations a new user might try, on the command line and in Python, each
expected to be refused cleanly.

A case is refused cleanly when it gets exit status 2 (the command line) or a named exception
(:class:`~adoption_abm.scenario.ScenarioError` or another documented ``ValueError`` subclass,
never a bare ``ValueError``, ``TypeError``...), whose message names the parameter (``words``);
with no traceback; and with nothing previously written lost (every file of the work folder,
among them a previous run folder and a previous batch, is byte for byte what it was) nor
half-written (no temporary file or folder left).

:func:`evaluate` runs one case in a work folder made by :func:`workdir`; ``tests/faults/
test_bad_input.py`` asserts each, ``experiments/bad_input_table.py`` tabulates them by kind.
Placeholders in command lines: ``{ro}`` a read-only folder (a read-only tmpfs as root, else a
folder without write permission), ``{file}`` a regular file, ``{prev}`` a previous run folder,
``{batch}`` a previous batch folder, ``{foreign}`` a folder of the user's own files, ``{exp}`` a
valid experiment file, ``{long}`` a file name longer than the file system allows.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import io
import math
import os
import subprocess
import tomllib
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

KINDS = (
    "out",
    "seed",
    "scale",
    "scenario file",
    "--set",
    "choices",
    "executor",
    "experiment file",
    "app",
    "run() API",
    "AdoptionModel() API",
)


@dataclass(frozen=True)
class Case:
    """One bad invocation: ``argv`` (the command line) or ``call`` (Python, given the work
    folder); ``words`` must appear in the message; ``files`` are written into the work folder
    first (text, bytes, or a function of the built-in scenario as a dict returning either)."""

    kind: str
    id: str
    argv: tuple[str, ...] | None = None
    call: Callable[[Path], Any] | None = None
    words: tuple[str, ...] = ()
    files: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    case: Case
    status: str  # "exit 2", "exit 0", "ScenarioError", "TypeError"...
    clean: bool  # exit 2 or a named exception
    named: bool  # the message names the parameter (every word present)
    traceback: bool
    lost: list[str]  # files written before that changed or went
    leftovers: list[str]  # temporary files or folders left behind
    message: str

    @property
    def ok(self) -> bool:
        return (
            self.clean
            and self.named
            and not self.traceback
            and not self.lost
            and not (self.leftovers)
        )


# ----------------------------------------------------------------------------------------------
# scenario files
# ----------------------------------------------------------------------------------------------
def base_scenario() -> dict:
    text = resources.files("adoption_abm.scenario").joinpath("data", "france-2022.toml")
    return tomllib.loads(text.read_text(encoding="utf-8"))


def scenario_with(change: Callable[[dict], None]) -> Callable[[dict], str]:
    def make(base: dict) -> str:
        import tomli_w

        doc = copy.deepcopy(base)
        change(doc)
        return tomli_w.dumps(doc)

    return make


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _drop(path: str) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[p]
        del node[last]

    return change


SCENARIO_FILES: list[tuple[str, Any, tuple[str, ...]]] = [
    # (id, content, words)
    ("empty file", "", ("name",)),
    ("not TOML", "name = [unclosed\n", ("not valid TOML",)),
    ("binary", b"\x00\x01\x02PK\x03\x04", ("bad.toml",)),
    ("not UTF-8", b'name = "caf\xe9"\n', ("cannot read",)),
    (
        "negative headcount",
        scenario_with(_set("professions.surgeon.headcount", -5)),
        ("professions.surgeon.headcount",),
    ),
    (
        "headcount as text",
        scenario_with(_set("professions.surgeon.headcount", "many")),
        ("professions.surgeon.headcount",),
    ),
    ("peer 1e308", scenario_with(_set("technologies.ai.peer", 1e308)), ("technologies.ai.peer",)),
    ("peer negative", scenario_with(_set("technologies.ai.peer", -0.1)), ("technologies.ai.peer",)),
    ("peer NaN", scenario_with(_set("technologies.ai.peer", math.nan)), ("technologies.ai.peer",)),
    (
        "spontaneous inf",
        scenario_with(_set("technologies.ai.spontaneous", math.inf)),
        ("technologies.ai.spontaneous",),
    ),
    ("unknown field", scenario_with(_set("behaviour.charisma", 1.0)), ("behaviour.charisma",)),
    (
        "missing field",
        scenario_with(_drop("behaviour.attitude_effect")),
        ("behaviour.attitude_effect",),
    ),
    ("end before start", scenario_with(_set("end_year", 2000)), ("end_year",)),
    ("rewiring above 1", scenario_with(_set("network.rewiring", 1.5)), ("network.rewiring",)),
    ("team ties negative", scenario_with(_set("network.team_ties", -2)), ("network.team_ties",)),
    (
        "mentoring switch as text",
        scenario_with(_set("mechanisms.mentoring.enabled", "maybe")),
        ("mechanisms.mentoring.enabled",),
    ),
    (
        "mentoring take-up above 1",
        scenario_with(_set("mechanisms.mentoring.take_up", 1.5)),
        ("mechanisms.mentoring.take_up",),
    ),
    (
        "cohort exposure of an unknown family",
        scenario_with(_set("mechanisms.cohorts.exposure.quantum", [0.0] * 5)),
        ("mechanisms.cohorts.exposure.quantum",),
    ),
    (
        "cohort exposure of the wrong length",
        scenario_with(_set("mechanisms.cohorts.exposure.ai", [0.1, 0.2])),
        ("mechanisms.cohorts.exposure.ai",),
    ),
    (
        "resister share of an unknown profession",
        scenario_with(_set("mechanisms.resistance.share.astronaut", 0.1)),
        ("mechanisms.resistance.share.astronaut",),
    ),
    (
        "generation of an unknown family",
        scenario_with(_set("mechanisms.generations.releases.0.family", "quantum")),
        ("mechanisms.generations.releases",),
    ),
    (
        "generation release not a year-month",
        scenario_with(_set("mechanisms.generations.releases.0.release", "2024")),
        ("mechanisms.generations.releases",),
    ),
    (
        "downgrading skill gain zero",
        scenario_with(_set("mechanisms.downgrading.skill_gain", 0.0)),
        ("mechanisms.downgrading.skill_gain",),
    ),
    (
        "mechanism number without a source",
        scenario_with(_drop("mechanisms.learning.sources.hours_per_course")),
        ("mechanisms.learning",),
    ),
    (
        "maturity too short",
        scenario_with(_set("technologies.ai.maturity", [0.3])),
        ("ai.maturity",),
    ),
    (
        "rhythm adoption negative",
        scenario_with(_set("rhythms.fast.adoption", -1.0)),
        ("rhythms.fast.adoption",),
    ),
    ("schema version 99", scenario_with(_set("schema_version", 99)), ("schema_version",)),
]


# ----------------------------------------------------------------------------------------------
# experiment files
# ----------------------------------------------------------------------------------------------
EXPERIMENT = """
name = "bad"
root_seed = 1
replications = 1
[base]
scale = 0.003
end_year = 2023
[design]
kind = "lhs"
samples = 2
[parameters]
adoption_multiplier = { bounds = [0.5, 2.0] }
"""


def experiment_with(old: str, new: str) -> str:
    assert old in EXPERIMENT, old
    return EXPERIMENT.replace(old, new, 1)


EXPERIMENT_FILES: list[tuple[str, str, tuple[str, ...]]] = [
    ("root_seed negative", experiment_with("root_seed = 1", "root_seed = -1"), ("root_seed",)),
    ("root_seed 2**128", experiment_with("root_seed = 1", f"root_seed = {2**128}"), ("root_seed",)),
    ("root_seed text", experiment_with("root_seed = 1", 'root_seed = "one"'), ("root_seed",)),
    ("replications 0", experiment_with("replications = 1", "replications = 0"), ("replications",)),
    ("unknown design", experiment_with('kind = "lhs"', 'kind = "grid"'), ("design.kind",)),
    (
        "sobol samples 3",
        experiment_with('kind = "lhs"', 'kind = "sobol"').replace("samples = 2", "samples = 3"),
        ("samples",),
    ),
    ("bounds reversed", experiment_with("[0.5, 2.0]", "[2.0, 0.5]"), ("adoption_multiplier",)),
    (
        "log of negative",
        experiment_with("bounds = [0.5, 2.0] }", "bounds = [-1.0, 2.0], log = true }"),
        ("adoption_multiplier",),
    ),
    (
        "empty values",
        experiment_with("{ bounds = [0.5, 2.0] }", "{ values = [] }"),
        ("adoption_multiplier",),
    ),
    (
        "unknown top-level key",
        experiment_with('name = "bad"', 'name = "bad"\ncolour = "red"'),
        ("colour",),
    ),
    (
        "unknown parameter",
        experiment_with("adoption_multiplier =", '"behaviour.charisma" ='),
        ("behaviour.charisma",),
    ),
    ("base scale text", experiment_with("scale = 0.003", 'scale = "big"'), ("scale",)),
    ("base scale 1e9", experiment_with("scale = 0.003", "scale = 1e9"), ("scale",)),
    (
        "chunk_size 0",
        experiment_with("replications = 1", "replications = 1\nchunk_size = 0"),
        ("chunk_size",),
    ),
    ("not TOML", "name = [\n", ("bad.toml",)),
    (
        "base rhythm unknown",
        experiment_with("scale = 0.003", 'scale = 0.003\nrhythm = "medium"'),
        ("rhythm",),
    ),
]


# ----------------------------------------------------------------------------------------------
# the cases
# ----------------------------------------------------------------------------------------------
SMALL = ("--scale", "0.003", "--set", "end_year=2023", "--no-progress")
SMALL_COMPARE = ("--scale", "0.003", "--set", "end_year=2025", "--no-progress")
"""``compare`` reports 2025 at the earliest."""


def cli(kind: str, id: str, *argv: str, words: tuple[str, ...] = (), files=None) -> Case:
    return Case(kind, id, argv=tuple(argv), words=words, files=files or {})


def api(kind: str, id: str, call: Callable[[Path], Any], *words: str, files=None) -> Case:
    return Case(kind, id, call=call, words=tuple(words), files=files or {})


def _run(params: Any, seed: Any = 1) -> Callable[[Path], Any]:
    def call(where: Path) -> Any:
        from adoption_abm import run

        return run(params, seed)

    return call


def _model(**kwargs: Any) -> Callable[[Path], Any]:
    def call(where: Path) -> Any:
        from adoption_abm import AdoptionModel

        return AdoptionModel(**{"scale": 0.003, "agents": "none", **kwargs})

    return call


def _cases() -> list[Case]:
    c: list[Case] = []
    # --out ------------------------------------------------------------------------------------
    for cmd, extra in (
        ("run", SMALL),
        ("compare", ("--replications", "1", "--workers", "1", *SMALL_COMPARE)),
    ):
        c += [
            cli(
                "out",
                f"{cmd} onto a file",
                cmd,
                "--out",
                "{file}",
                *extra,
                words=("--out", "file", "not a folder"),
            ),
            cli(
                "out",
                f"{cmd} under a file",
                cmd,
                "--out",
                "{file}/sub",
                *extra,
                words=("--out", "is a file"),
            ),
            cli(
                "out",
                f"{cmd} in a read-only folder",
                cmd,
                "--out",
                "{ro}/x",
                *extra,
                words=("--out", "{ro}"),
            ),
            cli(
                "out",
                f"{cmd} two levels under a read-only folder",
                cmd,
                "--out",
                "{ro}/a/b",
                *extra,
                words=("--out",),
            ),
            cli(
                "out",
                f"{cmd} onto the read-only folder itself",
                cmd,
                "--out",
                "{ro}",
                *extra,
                words=("--out",),
            ),
            cli(
                "out",
                f"{cmd} onto a previous output without --overwrite",
                cmd,
                "--out",
                "{prev}" if cmd == "run" else "{prevreport}",
                *extra,
                words=("--out", "--overwrite"),
            ),
            cli(
                "out",
                f"{cmd} --overwrite onto a folder of other files",
                cmd,
                "--out",
                "{foreign}",
                "--overwrite",
                *extra,
                words=("--out", "not an adoption-abm output"),
            ),
            cli(
                "out",
                f"{cmd} onto the file system root",
                cmd,
                "--out",
                "/",
                *extra,
                words=("--out",),
            ),
            cli(
                "out",
                f"{cmd} name too long",
                cmd,
                "--out",
                "{long}",
                *extra,
                words=("--out", "too long"),
            ),
            cli(
                "out", f"{cmd} onto the current folder", cmd, "--out", ".", *extra, words=("--out",)
            ),
        ]
    for cmd in ("batch", "sensitivity", "calibrate"):
        first = () if cmd == "calibrate" else ("{exp}",)
        c += [
            cli(
                "out",
                f"{cmd} onto a file",
                cmd,
                *first,
                "--out",
                "{file}",
                "--workers",
                "1",
                words=("--out", "not a folder"),
            ),
            cli(
                "out",
                f"{cmd} under a file",
                cmd,
                *first,
                "--out",
                "{file}/x",
                "--workers",
                "1",
                words=("--out", "is a file"),
            ),
            cli(
                "out",
                f"{cmd} in a read-only folder",
                cmd,
                *first,
                "--out",
                "{ro}/x",
                "--workers",
                "1",
                words=("--out",),
            ),
            cli(
                "out",
                f"{cmd} name too long",
                cmd,
                *first,
                "--out",
                "{long}",
                "--workers",
                "1",
                words=("--out", "too long"),
            ),
        ]
    c += [
        cli(
            "out",
            "batch into a previous run folder",
            "batch",
            "{exp}",
            "--out",
            "{prev}",
            "--workers",
            "1",
            words=("--out", "not a batch"),
        ),
        cli(
            "out",
            "batch into a folder of other files",
            "batch",
            "{exp}",
            "--out",
            "{foreign}",
            "--workers",
            "1",
            words=("--out", "not a batch"),
        ),
        cli(
            "out",
            "batch of another experiment into a previous batch",
            "batch",
            "other.toml",
            "--out",
            "{batch}",
            "--workers",
            "1",
            words=("experiment", "cannot resume"),
            files={"other.toml": experiment_with("root_seed = 1", "root_seed = 2")},
        ),
    ]
    # seeds -------------------------------------------------------------------------------------
    for value in ("-1", str(2**64), "1.5", "abc", "", "1e3", "0x10", str(10**30)):
        c.append(
            cli("seed", f"run --seed {value!r}", "run", "--seed", value, *SMALL, words=("--seed",))
        )
    for value in ("-1", str(2**64), "x"):
        c.append(
            cli(
                "seed",
                f"compare --seed {value!r}",
                "compare",
                "--seed",
                value,
                "--replications",
                "1",
                *SMALL_COMPARE,
                words=("--seed",),
            )
        )
    # scale -------------------------------------------------------------------------------------
    for value in ("0", "-1", "nan", "inf", "-inf", "1e9", "1e308", "1e-7", "abc", ""):
        c.append(
            cli(
                "scale",
                f"run --scale {value!r}",
                "run",
                "--scale",
                value,
                "--no-progress",
                words=("scale",),
            )
        )
    for value in ("0", "-0.5", "nan", "1e9"):
        c.append(
            cli(
                "scale",
                f"compare --scale {value!r}",
                "compare",
                "--scale",
                value,
                "--replications",
                "1",
                words=("scale",),
            )
        )
    # scenario files ----------------------------------------------------------------------------
    for id_, content, words in SCENARIO_FILES:
        c.append(
            cli(
                "scenario file",
                f"run: {id_}",
                "run",
                "--scenario",
                "bad.toml",
                *SMALL,
                words=words,
                files={"bad.toml": content},
            )
        )
    for id_, content, words in SCENARIO_FILES[4:10]:
        c.append(
            cli(
                "scenario file",
                f"validate: {id_}",
                "validate",
                "bad.toml",
                words=words,
                files={"bad.toml": content},
            )
        )
    c += [
        cli(
            "scenario file",
            "run: no such file",
            "run",
            "--scenario",
            "nowhere.toml",
            *SMALL,
            words=("nowhere.toml", "built-ins"),
        ),
        cli(
            "scenario file",
            "run: a folder",
            "run",
            "--scenario",
            "{foreign}",
            *SMALL,
            words=("foreign",),
        ),
        cli(
            "scenario file",
            "compare: bad file",
            "compare",
            "--scenario",
            "bad.toml",
            "--replications",
            "1",
            *SMALL_COMPARE,
            words=("professions.surgeon.headcount",),
            files={"bad.toml": SCENARIO_FILES[4][1]},
        ),
        cli(
            "scenario file",
            "run: unknown built-in",
            "run",
            "--scenario",
            "atlantis",
            *SMALL,
            words=("atlantis",),
        ),
    ]
    # --set -------------------------------------------------------------------------------------
    for pair, words in (
        ("nofield", ("--set", "FIELD=VALUE")),
        ("=1", ("--set",)),
        ("behaviour.nope=1", ("behaviour.nope", "no such field")),
        ("nope.deeper.still=1", ("nope",)),
        ("technologies.ai.peer=-1", ("technologies.ai.peer",)),
        ("technologies.ai.peer=1e308", ("technologies.ai.peer",)),
        ("technologies.ai.peer=nan", ("technologies.ai.peer",)),
        ("technologies.ai.peer=inf", ("technologies.ai.peer",)),
        ("technologies.ai.peer=high", ("technologies.ai.peer",)),
        ("end_year=1900", ("end_year",)),
        ("end_year=abc", ("end_year",)),
        ("end_year=2030.5", ("end_year",)),
        ("start_year=3000", ("year",)),
        ("professions.surgeon.headcount=-1", ("professions.surgeon.headcount",)),
        ("mechanisms.mentoring.enabled=maybe", ("mechanisms.mentoring.enabled",)),
        ("mechanisms.discontinuance.rate=-1", ("mechanisms.discontinuance.rate",)),
        ("network.rewiring=2", ("network.rewiring",)),
        ("interventions=5", ("interventions",)),
        ("professions.surgeon=1", ("professions.surgeon",)),
        ("technologies.ai.maturity=[1,2]", ("ai.maturity",)),
        ("behaviour.attitude.alpha=-1", ("behaviour.attitude",)),
        ("technologies.ai.peer=true", ("technologies.ai.peer", "number")),
    ):
        c.append(
            cli(
                "--set",
                f"--set {pair}",
                "run",
                "--set",
                pair,
                "--scale",
                "0.003",
                "--no-progress",
                words=words,
            )
        )
    c.append(
        cli(
            "--set",
            "compare --set end_year=2023 (no report year)",
            "compare",
            "--set",
            "end_year=2023",
            "--replications",
            "1",
            "--scale",
            "0.003",
            "--no-progress",
            words=("end_year", "2025"),
        )
    )
    # choices -----------------------------------------------------------------------------------
    for args, words in (
        (("run", "--rhythm", "medium", *SMALL), ("--rhythm", "slow")),
        (("run", "--rhythm", "", *SMALL), ("--rhythm",)),
        (("run", "--engine", "gpu", *SMALL), ("engine",)),
        (("run", "--policy", "99", *SMALL), ("--policy",)),
        (("run", "--policy", "abc", *SMALL), ("--policy",)),
        (("run", "--policy", "6@2099-01", *SMALL), ("--policy",)),
        (("run", "--policy", "6x-1", *SMALL), ("--policy",)),
        (("run", "--policy", "6@2023-13", *SMALL), ("--policy",)),
        (("run", "--policy", "6,,7", *SMALL), ("--policy",)),
        (("run", "--bogus", *SMALL), ("--bogus",)),
        (("compare", "--policy", "nope", "--replications", "1", *SMALL_COMPARE), ("--policy",)),
        (("compare", "--replications", "0", *SMALL_COMPARE), ("--replications",)),
        (("compare", "--replications", "-3", *SMALL_COMPARE), ("--replications",)),
        (("compare", "--replications", "many", *SMALL_COMPARE), ("--replications",)),
        (("compare", "--rhythm", "medium", "--replications", "1", *SMALL_COMPARE), ("--rhythm",)),
        (("compare", "--engine", "gpu", "--replications", "1", *SMALL_COMPARE), ("engine",)),
        (("batch", "{exp}", "--chunk-size", "0", "--workers", "1"), ("--chunk-size",)),
        (("batch", "{exp}", "--chunk-size", "x", "--workers", "1"), ("--chunk-size",)),
        (("sensitivity", "{exp}", "--out", "s", "--workers", "1"), ("design.kind", "sobol")),
        (("frobnicate",), ("frobnicate",)),
    ):
        c.append(cli("choices", " ".join(a for a in args if a not in SMALL), *args, words=words))
    # executors ---------------------------------------------------------------------------------
    for value in ("0", "-1", "two", "2.5", "5000"):
        c.append(
            cli("executor", f"run --threads {value}", "run", "--threads", value, *SMALL,
                words=("--threads",))
        )  # fmt: skip
    for cmd in ("batch", "compare", "calibrate"):
        first = ("{exp}",) if cmd == "batch" else ()
        extra = ("--replications", "1", *SMALL_COMPARE) if cmd == "compare" else ()
        for args, words in (
            (("--workers", "0"), ("--workers",)),
            (("--workers", "-1"), ("--workers",)),
            (("--workers", "two"), ("--workers",)),
            (("--dask", "remote"), ("--dask", "local")),
            (("--scheduler", "http://example.org"), ("--scheduler", "tcp://")),
            (("--scheduler", "tcp://127.0.0.1:9", "--dask", "local"), ("--scheduler", "--dask")),
        ):
            c.append(
                cli("executor", f"{cmd} {' '.join(args)}", cmd, *first, *args, *extra, words=words)
            )
    # experiment files --------------------------------------------------------------------------
    for id_, text, words in EXPERIMENT_FILES:
        c.append(
            cli(
                "experiment file",
                f"batch: {id_}",
                "batch",
                "bad.toml",
                "--out",
                "b",
                "--workers",
                "1",
                words=words,
                files={"bad.toml": text},
            )
        )
    c += [
        cli(
            "experiment file",
            "batch: no such file",
            "batch",
            "nowhere.toml",
            "--out",
            "b",
            "--workers",
            "1",
            words=("nowhere.toml",),
        ),
        cli(
            "experiment file",
            "batch: a folder",
            "batch",
            "{foreign}",
            "--out",
            "b",
            "--workers",
            "1",
            words=("foreign",),
        ),
        cli(
            "experiment file",
            "calibrate: no such file",
            "calibrate",
            "nowhere.toml",
            "--out",
            "c",
            "--workers",
            "1",
            words=("nowhere.toml",),
        ),
        cli(
            "experiment file",
            "calibrate: not TOML",
            "calibrate",
            "bad.toml",
            "--out",
            "c",
            "--workers",
            "1",
            words=("bad.toml",),
            files={"bad.toml": "x = [\n"},
        ),
        cli(
            "experiment file",
            "sensitivity: root_seed negative",
            "sensitivity",
            "bad.toml",
            "--out",
            "s",
            "--workers",
            "1",
            words=("root_seed",),
            files={"bad.toml": EXPERIMENT_FILES[0][1]},
        ),
    ]
    # app ---------------------------------------------------------------------------------------
    for args, words in (
        (("--port", "70000"), ("--port",)),
        (("--port", "-1"), ("--port",)),
        (("--port", "http"), ("--port",)),
        (("--agents", "-5"), ("agents",)),
        (("--agents", "0"), ("agents",)),
        (("--agents", "x"), ("--agents",)),
        (("--agents", str(10**12)), ("agents",)),
        (("--speed", "0"), ("speed",)),
        (("--speed", "1000"), ("speed",)),
        (("--seed", "-1"), ("--seed",)),
        (("--seed", str(2**64)), ("--seed",)),
        (("--rhythm", "medium"), ("rhythm",)),
        (("--scenario", "atlantis"), ("atlantis",)),
        (("--scenario", "bad.toml"), ("professions.surgeon.headcount",)),
    ):
        files = {"bad.toml": SCENARIO_FILES[4][1]} if "bad.toml" in args else None
        c.append(cli("app", f"app {' '.join(args)}", "app", *args, words=words, files=files))
    # run() -------------------------------------------------------------------------------------
    nan = math.nan
    for id_, params, seed, words in (
        ("scale 'big'", {"scale": "big"}, 1, ("scale",)),
        ("scale None", {"scale": None}, 1, ("scale",)),
        ("scale True", {"scale": True}, 1, ("scale",)),
        ("scale 0", {"scale": 0}, 1, ("scale",)),
        ("scale NaN", {"scale": nan}, 1, ("scale",)),
        ("scale 1e9", {"scale": 1e9}, 1, ("scale",)),
        ("seed 1.5", {}, 1.5, ("seed",)),
        ("seed 1.0", {}, 1.0, ("seed",)),
        ("seed -1", {}, -1, ("seed",)),
        ("seed 2**64", {}, 2**64, ("seed",)),
        ("seed True", {}, True, ("seed",)),
        ("seed '1'", {}, "1", ("seed",)),
        ("seed None", {}, None, ("seed",)),
        ("params None", None, 1, ("dict",)),
        ("params a list", [("scale", 0.003)], 1, ("dict",)),
        ("params a string", "scale=0.003", 1, ("dict",)),
        ("name not a string", {1: 2}, 1, ("1",)),
        ("unknown name", {"speed": 2}, 1, ("speed", "unknown")),
        ("unknown dotted field", {"behaviour.charisma": 1.0}, 1, ("behaviour.charisma",)),
        ("rhythm 5", {"rhythm": 5}, 1, ("rhythm",)),
        ("rhythm 'medium'", {"rhythm": "medium"}, 1, ("rhythm",)),
        ("engine 'gpu'", {"engine": "gpu"}, 1, ("engine",)),
        ("scenario 5", {"scenario": 5}, 1, ("scenario",)),
        ("scenario 'atlantis'", {"scenario": "atlantis"}, 1, ("atlantis",)),
        ("end_year 2025.5", {"end_year": 2025.5}, 1, ("end_year",)),
        ("end_year '2030'", {"end_year": "2030"}, 1, ("end_year",)),
        ("end_year True", {"end_year": True}, 1, ("end_year",)),
        ("end_year 1900", {"end_year": 1900}, 1, ("end_year",)),
        ("policy 5", {"policy": 5}, 1, ("policy",)),
        ("policy '99'", {"policy": "99"}, 1, ("policy",)),
        ("policy [{'bogus': 1}]", {"policy": [{"bogus": 1}]}, 1, ("interventions",)),
        ("peer 1e308", {"technologies.ai.peer": 1e308}, 1, ("technologies.ai.peer",)),
        ("peer None", {"technologies.ai.peer": None}, 1, ("technologies.ai.peer",)),
        ("adoption_multiplier -1", {"adoption_multiplier": -1}, 1, ("adoption_multiplier",)),
        ("adoption_multiplier 'x'", {"adoption_multiplier": "x"}, 1, ("adoption_multiplier",)),
        (
            "deployment_multiplier NaN",
            {"deployment_multiplier": nan},
            1,
            ("deployment_multiplier",),
        ),
        ("rhythms.medium 1.0", {"rhythms.medium": 1.0}, 1, ("rhythms.medium",)),
        ("rhythms.fast 'x'", {"rhythms.fast": "x"}, 1, ("rhythms.fast",)),
        (
            "attitude_effect True",
            {"behaviour.attitude_effect": True},
            1,
            ("behaviour.attitude_effect",),
        ),
        ("adoption_multiplier 1e308", {"adoption_multiplier": 1e308}, 1, ("adoption_multiplier",)),
    ):
        c.append(api("run() API", f"run({id_})", _run(params, seed), *words))
    # AdoptionModel() ---------------------------------------------------------------------------
    for id_, kwargs, words in (
        ("seed=-1", {"seed": -1}, ("seed",)),
        ("seed=1.5", {"seed": 1.5}, ("seed",)),
        ("seed=2**64", {"seed": 2**64}, ("seed",)),
        ("seed='1'", {"seed": "1"}, ("seed",)),
        ("seed=True", {"seed": True}, ("seed",)),
        ("seed and rng", {"seed": 1, "rng": 1}, ("seed", "rng")),
        ("rng='x'", {"rng": "x"}, ("rng",)),
        ("rng=-1", {"rng": -1}, ("rng",)),
        ("scenario=5", {"scenario": 5}, ("scenario",)),
        ("scenario='atlantis'", {"scenario": "atlantis"}, ("atlantis",)),
        ("rhythm=5", {"rhythm": 5}, ("rhythm",)),
        ("rhythm='medium'", {"rhythm": "medium"}, ("rhythm",)),
        ("scale='x'", {"scale": "x"}, ("scale",)),
        ("scale=None", {"scale": None}, ("scale",)),
        ("scale=-1", {"scale": -1}, ("scale",)),
        ("scale=NaN", {"scale": nan}, ("scale",)),
        ("scale=1e9", {"scale": 1e9}, ("scale",)),
        ("engine='gpu'", {"engine": "gpu"}, ("engine",)),
        ("engine=5", {"engine": 5}, ("engine",)),
        ("threads=0", {"threads": 0}, ("threads",)),
        ("threads=1.5", {"threads": 1.5}, ("threads",)),
        ("threads='2'", {"threads": "2"}, ("threads",)),
        ("threads=True", {"threads": True}, ("threads",)),
        ("threads=10**6", {"threads": 10**6}, ("threads",)),
        ("agents=-1", {"agents": -1}, ("agents",)),
        ("agents='some'", {"agents": "some"}, ("agents",)),
        ("agents=True", {"agents": True}, ("agents",)),
        ("agents=2.5", {"agents": 2.5}, ("agents",)),
        ("interventions='6'", {"interventions": "6"}, ("interventions",)),
        ("interventions=[{'bogus': 1}]", {"interventions": [{"bogus": 1}]}, ("interventions",)),
        ("overrides=[1]", {"overrides": [1]}, ("overrides",)),
        ("overrides={'nope': 1}", {"overrides": {"nope": 1}}, ("nope",)),
        (
            "overrides peer 1e308",
            {"overrides": {"technologies.ai.peer": 1e308}},
            ("technologies.ai.peer",),
        ),
    ):
        c.append(api("AdoptionModel() API", f"AdoptionModel({id_})", _model(**kwargs), *words))
    return c


CASES: list[Case] = _cases()


# ----------------------------------------------------------------------------------------------
# the work folder
# ----------------------------------------------------------------------------------------------
LEFTOVER_MARKS = (".partial-", ".replaced-", ".unplaced-", ".tmp", ".adoption-abm-probe-")


@contextlib.contextmanager
def read_only_folder(where: Path) -> Iterator[Path]:
    """A folder nobody can write into: a read-only tmpfs where root may mount one, else a
    folder without write permission (which root would ignore)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k,ro", f"abm-ro-{uuid.uuid4().hex[:6]}",
             str(where)],
            capture_output=True,
        )  # fmt: skip
        mounted = done.returncode == 0
    if not mounted:
        where.chmod(0o555)
    try:
        yield where
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
        else:
            where.chmod(0o755)


def prepare(root: Path) -> None:
    """The work folder's previous outputs (copied from a template made once)."""
    (root / "file").write_text("a regular file\n")
    prev = root / "prev"
    prev.mkdir()
    (prev / "summary.json").write_text('{"seed": 1}\n')
    (prev / "timeseries.parquet").write_bytes(b"PAR1 previous run PAR1")
    report = root / "prevreport"
    report.mkdir()
    (report / "meta.json").write_text("{}\n")
    (report / "report.md").write_text("# previous report\n")
    foreign = root / "foreign"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("\\documentclass{article}\n")
    batch = root / "batch"
    (batch / "data").mkdir(parents=True)
    (root / "exp.toml").write_text(EXPERIMENT)


def previous_batch(root: Path) -> None:
    """A real, finished batch of :data:`EXPERIMENT` in ``root/batch``."""
    from adoption_abm.batch.runner import run_batch

    run_batch(root / "exp.toml", root / "batch", workers=1)


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def leftovers(root: Path) -> list[str]:
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if any(mark in p.name for mark in LEFTOVER_MARKS)
    ]


def substitute(arg: str, root: Path, ro: Path) -> str:
    return (
        arg.replace("{ro}", str(ro))
        .replace("{file}", str(root / "file"))
        .replace("{prevreport}", str(root / "prevreport"))
        .replace("{prev}", str(root / "prev"))
        .replace("{batch}", str(root / "batch"))
        .replace("{foreign}", str(root / "foreign"))
        .replace("{exp}", str(root / "exp.toml"))
        .replace("{long}", str(root / ("n" * 300)))
    )


# ----------------------------------------------------------------------------------------------
# evaluating a case
# ----------------------------------------------------------------------------------------------
NAMED_ERRORS = ("ScenarioError", "ExperimentError", "OutPathError")
"""The documented ``ValueError`` subclasses the library raises for bad input."""


class ServerWouldStart(Exception):
    """``adoption-abm app`` accepted its options (raised instead of replacing the process)."""


def _write_files(case: Case, root: Path, base: dict) -> None:
    for name, content in case.files.items():
        if callable(content):
            content = content(base)
        path = root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def evaluate(case: Case, root: Path, ro: Path, base: dict | None = None) -> Outcome:
    """Run ``case`` with the work folder ``root`` as the current folder (prepared by
    :func:`prepare`, with ``ro`` read-only) and judge the outcome."""
    _write_files(case, root, base or base_scenario())
    before = snapshot(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        if case.argv is not None:
            status, clean, message, tb = _invoke([substitute(a, root, ro) for a in case.argv])
        else:
            status, clean, message, tb = _call(case, root)
    finally:
        os.chdir(cwd)
    after = snapshot(root)
    lost = [name for name, digest in before.items() if after.get(name) != digest]
    words = [substitute(w, root, ro) for w in case.words]
    named = all(w in message for w in words)
    return Outcome(case, status, clean, named, tb, lost, leftovers(root), message.strip())


def _invoke(argv: list[str]) -> tuple[str, bool, str, bool]:
    from typer.testing import CliRunner

    from adoption_abm.cli.main import app

    app_module = importlib.import_module("adoption_abm.cli.app")  # the package shadows the name

    def become(cmd, env):  # never replace the test process with a server
        raise ServerWouldStart(" ".join(cmd))

    saved, app_module.become = app_module.become, become
    try:
        result = CliRunner().invoke(app, argv, catch_exceptions=True)
    finally:
        app_module.become = saved
    try:
        err = result.stderr
    except ValueError:  # pragma: no cover - older Click mixes the streams
        err = result.output
    text = err + result.stdout
    tb = "Traceback" in text
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = True
        text += "".join(traceback.format_exception(result.exception))
        return type(result.exception).__name__, False, text, tb
    return f"exit {result.exit_code}", result.exit_code == 2, text, tb


def _call(case: Case, root: Path) -> tuple[str, bool, str, bool]:
    assert case.call is not None
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            case.call(root)
    except Exception as exc:
        name = type(exc).__name__
        named_error = isinstance(exc, ValueError) and name in NAMED_ERRORS
        text = str(exc)
        if not named_error:
            text += "\n" + "".join(traceback.format_exception(exc))
        return name, named_error, text, not named_error
    return "returned", False, buffer.getvalue(), False


def table(outcomes: list[Outcome]) -> str:
    """The outcomes as a Markdown table by kind: cases, clean refusals, tracebacks, losses."""
    rows = ["| kind | cases | exit 2 / named error | names the parameter | traceback | lost |"]
    rows.append("|---|---:|---:|---:|---:|---:|")
    totals = [0, 0, 0, 0, 0]
    for kind in KINDS:
        mine = [o for o in outcomes if o.case.kind == kind]
        counts = [
            len(mine),
            sum(o.clean for o in mine),
            sum(o.named for o in mine),
            sum(o.traceback for o in mine),
            sum(bool(o.lost or o.leftovers) for o in mine),
        ]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        rows.append(f"| {kind} | " + " | ".join(map(str, counts)) + " |")
    rows.append("| **all** | " + " | ".join(f"**{n}**" for n in totals) + " |")
    return "\n".join(rows)
