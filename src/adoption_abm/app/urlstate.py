"""The page's state in its URL: scenario, rhythm, size, seed, proposals and language as query
parameters, so that a link reproduces a view, e.g.
``?scenario=france-2022&rhythm=fast&seed=7&agents=10000&proposals=6,7:2:2025&lang=fr``.

A proposal is ``N`` (intensity 1, the scenario's policy start) or ``N:INTENSITY:YEAR``. Only
built-in scenarios, or the one the server started with, are accepted from a URL (a link does
not read the server's files). Bad values are reported, one message each, and left out.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from ..i18n import LANGUAGES
from ..policies.catalogue import MAX_INTENSITY, N_PROPOSALS
from ..scenario.load import builtin_scenarios
from .session import AGENT_CHOICES, Proposal, Settings, _policy_start_year, scenario_for

KEYS = ("scenario", "rhythm", "agents", "seed", "proposals", "lang")


def _proposal_text(p: Proposal, default_year: int) -> str:
    if p.intensity == 1.0 and p.start_year == default_year:
        return str(p.number)
    return f"{p.number}:{p.intensity:g}:{p.start_year}"


def settings_to_query(settings: Settings, lang: str | None = None) -> str:
    """The query string (without ``?``) of ``settings`` and ``lang``."""
    year = _policy_start_year(settings.scenario)
    params = {
        "scenario": settings.scenario,
        "rhythm": settings.rhythm,
        "agents": str(settings.agents),
        "seed": str(settings.seed),
    }
    if settings.proposals:
        params["proposals"] = ",".join(_proposal_text(p, year) for p in settings.proposals)
    if lang:
        params["lang"] = lang
    return urlencode(params, safe=",:/")


def settings_from_query(
    query: str | None, base: Settings
) -> tuple[Settings, str | None, list[str]]:
    """Settings read from ``query`` over ``base`` (what the URL does not say stays as in
    ``base``), the language if given, and one message per value left out."""
    params = dict(parse_qsl((query or "").lstrip("?"), keep_blank_values=True))
    values: dict = {}
    errors: list[str] = []
    lang = None
    if "scenario" in params:
        name = params["scenario"]
        if name in builtin_scenarios() or name == base.scenario:
            values["scenario"] = name
        else:
            errors.append(f"scenario={name!r}: allowed {builtin_scenarios()}")
    scenario = values.get("scenario", base.scenario)
    if "rhythm" in params:
        allowed = list(scenario_for(scenario).rhythms)
        if params["rhythm"] in allowed:
            values["rhythm"] = params["rhythm"]
        else:
            errors.append(f"rhythm={params['rhythm']!r}: allowed {allowed}")
    for key, low, high in (
        ("agents", min(AGENT_CHOICES), max(AGENT_CHOICES)),
        ("seed", 0, 2**63 - 1),
    ):
        if key in params:
            try:
                value = int(params[key])
            except ValueError:
                value = None
            if value is None or not low <= value <= high:
                errors.append(f"{key}={params[key]!r}: expected an integer in {low}..{high}")
            else:
                values[key] = value
    if "proposals" in params:
        year = _policy_start_year(scenario)
        sc = scenario_for(scenario)
        chosen: dict[int, Proposal] = {}
        for item in filter(None, params["proposals"].split(",")):
            parts = item.split(":")
            try:
                n = int(parts[0])
                intensity = float(parts[1]) if len(parts) > 1 else 1.0
                start = int(parts[2]) if len(parts) > 2 else year
                ok = (
                    len(parts) <= 3
                    and 1 <= n <= N_PROPOSALS
                    and 0 < intensity <= MAX_INTENSITY
                    and sc.start_year <= start <= sc.end_year
                )
            except ValueError:
                ok = False
            if ok:
                chosen[n] = Proposal(n, intensity, start)
            else:
                errors.append(
                    f"proposals: {item!r}: expected N or N:INTENSITY:YEAR (N in 1..{N_PROPOSALS}, "
                    f"intensity in (0, {MAX_INTENSITY:g}], year in {sc.start_year}..{sc.end_year})"
                )
        values["proposals"] = tuple(sorted(chosen.values()))
    if "lang" in params:
        if params["lang"] in LANGUAGES:
            lang = params["lang"]
        else:
            errors.append(f"lang={params['lang']!r}: allowed {', '.join(LANGUAGES)}")
    return base.replace(**values), lang, errors
