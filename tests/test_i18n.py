"""French and English: every message extracted from the package has a French translation, the
template is up to date, the compiled catalogue says what the .po says, the language follows
--lang / ADOPTION_ABM_LANG / the locale, and the command line and one compare report speak
French (numbers with a decimal comma and narrow no-break spaces)."""

from __future__ import annotations

import gettext
import json
import string
from pathlib import Path

import polars as pl
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from adoption_abm import i18n
from adoption_abm.cli.main import app
from adoption_abm.i18n import (
    ENV_VAR,
    LOCALE_DIR,
    _,
    compile_catalogues,
    current_language,
    language,
    language_from_env,
    number,
    percent,
    set_language,
)

ROOT = Path(__file__).resolve().parents[1]
PO = LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po"
POT = LOCALE_DIR / "messages.pot"
NNBSP = "\u202f"  # narrow no-break space: French thousands separator (CLDR fr_FR)
runner = CliRunner()


def extracted() -> dict[str, set[str]]:
    """Every message of the package (Python ``_()``/``N_()`` and the data files' labels, as
    ``babel.cfg`` maps them), with the files it comes from: what ``pybabel extract`` finds."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, set()).add(filename)
    return found


@pytest.fixture(scope="module")
def messages() -> dict[str, set[str]]:
    found = extracted()
    assert len(found) > 150, "extraction found almost nothing: babel.cfg paths are wrong"
    return found


def read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


def key(m) -> str:
    """A catalogue entry's msgid (a plural entry's singular)."""
    return m.id if isinstance(m.id, str) else m.id[0]


def pairs(m) -> list[tuple[str, str]]:
    """(English, French) of an entry: each plural form against the English plural."""
    if isinstance(m.id, str):
        return [(m.id, m.string)]
    return [(m.id[min(i, 1)], s) for i, s in enumerate(m.string)]


def test_every_message_has_a_french_translation(messages):
    po = {key(m): m for m in read(PO) if m.id}
    missing = sorted(m for m in messages if m not in po)
    empty = sorted(m for m in messages if m in po and not all(fr for _, fr in pairs(po[m])))
    fuzzy = sorted(m for m in messages if m in po and po[m].fuzzy)
    stale = sorted(m for m in po if m not in messages)
    assert not missing, f"not in the French .po (run pybabel update, see babel.cfg): {missing}"
    assert not empty, f"no French translation: {empty}"
    assert not fuzzy, f"fuzzy (to check, then unmark): {fuzzy}"
    assert not stale, f"in the .po but no longer in the code: {stale}"


def test_the_template_is_up_to_date(messages):
    pot = {key(m): {loc for loc, _ in m.locations} for m in read(POT) if m.id}
    assert set(pot) == set(messages), (
        "messages.pot is stale: re-run pybabel extract (command in babel.cfg); "
        f"new: {sorted(set(messages) - set(pot))}, gone: {sorted(set(pot) - set(messages))}"
    )
    assert pot == messages


def fields(text: str) -> list[str]:
    return sorted(
        f"{name}!{conv}:{spec}"
        for _, name, spec, conv in string.Formatter().parse(text)
        if name is not None
    )


def test_translations_keep_the_placeholders():
    """A French message has the same ``{fields}`` as its English one (else ``.format`` fails
    or drops a value) and keeps its line breaks."""
    for m in read(PO):
        for en, fr in pairs(m) if m.id else []:
            if fr:
                assert fields(fr) == fields(en), m.id
                assert fr.count("\n") == en.count("\n"), m.id


def test_white_paper_terms_and_proposal_titles():
    fr = {m.id: m.string for m in read(PO) if m.id}
    assert (
        "temps libérable" in fr["2030: potential {potential}, realised {realised}, FTE freed {fte}"]
    )
    assert fr["realised gain"] == "gains de productivité réalisés"
    assert fr["Care assistants (aides-soignants)"] == "Aides-soignants"
    assert fr["Hospital nurses"] == "Infirmiers hospitaliers"
    assert (
        "mentoring inversé"
        in fr["Reverse mentoring, recognised as continuing professional development"]
    )
    from adoption_abm.policies.catalogue import PROPOSALS

    with language("fr"):
        titles = {n: i18n.label(t) for n, t in PROPOSALS.items()}
    assert all(titles[n] != PROPOSALS[n] for n in titles), "a proposal has no French title"
    assert titles[5].startswith("Confier à l'ONDPS")  # seed 003's wording


def test_compiled_catalogue_matches_the_po(tmp_path):
    """What setup.py compiles into the wheel (.mo) translates every message as the .po read at
    runtime without one (a source checkout)."""
    (mo,) = compile_catalogues(LOCALE_DIR, tmp_path)
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    from_po = i18n._PoTranslations(PO)
    po = {m.id: m.string for m in read(PO) if m.id}
    assert len(po) > 150
    for msgid, text in po.items():
        if isinstance(msgid, str):
            assert compiled.gettext(msgid) == from_po.gettext(msgid) == text, msgid
            continue
        for n in (0, 1, 2, 5, 1_000_000):  # each plural form the rule picks
            got = compiled.ngettext(*msgid, n)
            assert got == from_po.ngettext(*msgid, n) and got in text, (msgid, n)
    assert compiled.gettext("slow") == "lent"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_CA.UTF-8"}, "fr"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "fr_FR.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "fr_BE.UTF-8"}, "fr"),
        ({"LC_ALL": "", "LANG": "fr_FR"}, "fr"),
        ({ENV_VAR: "fr", "LANG": "en_US.UTF-8"}, "fr"),
        ({ENV_VAR: "EN", "LANG": "fr_FR.UTF-8"}, "en"),
        ({ENV_VAR: "de", "LANG": "fr_FR.UTF-8"}, "fr"),  # not a language: the locale decides
    ],
)
def test_language_from_env(env, expected):
    assert language_from_env(env) == expected


def test_set_language(monkeypatch):
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert current_language() == "fr" and _("year") == "année"
    assert set_language("en") == "en" and _("year") == "year"
    with language("fr"):
        assert _("year") == "année"
    assert current_language() == "en"
    assert set_language(None) == "fr"  # back to the environment's
    with pytest.raises(ValueError, match="allowed en, fr"):
        set_language("de")
    assert _("a message nobody wrote") == "a message nobody wrote"


def test_numbers():
    with language("en"):
        assert number(1234567.891, 1) == "1,234,567.9"
        assert number(-1234.5, 0, sign=True) == "-1,234"
        assert percent(0.1234) == "12.3 %" and percent(0.1234, space=False) == "12.3%"
        assert number(float("nan")) == "n/a"
    with language("fr"):
        assert number(1234567.891, 1) == f"1{NNBSP}234{NNBSP}567,9"
        assert number(1234.5, 2, sign=True) == f"+1{NNBSP}234,50"
        assert number(-0.25, 2, sign=True) == "-0,25"
        assert number(1234.5, 1, group=False) == "1234,5"
        assert percent(0.1234) == "12,3\u00a0%"
        assert number(None) == "n.d."


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------
RUN = ["run", "--scale", "0.002", "--set", "end_year=2030", "--no-progress"]


def test_run_in_french_and_english(tmp_path):
    fr = runner.invoke(app, [*RUN, "--out", str(tmp_path / "fr"), "--lang", "fr"])
    assert fr.exit_code == 0, fr.output
    assert "professionnels" in fr.output and "temps libérable" in fr.output
    assert "gains de productivité réalisés" in fr.output and "ETP libérés" in fr.output
    assert "45,4\u00a0%" in fr.output  # the seed-calibrated potential, decimal comma
    en = runner.invoke(app, [*RUN, "--out", str(tmp_path / "en"), "--lang", "en"])
    assert en.exit_code == 0, en.output
    assert "professionals" in en.output and "2030: potential " in en.output
    # the data files are the same whatever the language (but for the wall time)
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("fr", "en")]
    for summary in summaries:
        summary.pop("seconds")
    assert summaries[0] == summaries[1]
    toml_fr, toml_en = ((tmp_path / d / "scenario.toml").read_text() for d in ("fr", "en"))
    assert toml_fr == toml_en
    assert pl.read_parquet(tmp_path / "fr" / "timeseries.parquet").equals(
        pl.read_parquet(tmp_path / "en" / "timeseries.parquet")
    )


def test_validate_errors_in_french(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nnothing = 1\n')
    res = runner.invoke(app, ["validate", str(bad), "--lang", "fr"])
    assert res.exit_code == 2
    assert "erreur : " in res.output and "champ inconnu" in res.output
    assert "champ obligatoire manquant" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["--lang", "fr", "validate", "nowhere"])  # on the root too
    assert res.exit_code == 2 and "fichier introuvable" in res.output
    ok = runner.invoke(app, ["validate", "france-2022", "--lang", "fr"])
    assert ok.exit_code == 0 and "types d'établissement" in ok.output
    en = runner.invoke(app, ["validate", str(bad), "--lang", "en"])
    assert en.exit_code == 2 and "error: " in en.output and "unknown field" in en.output


def test_schema_and_pydantic_errors_in_french(tmp_path, scenario_dict):
    """The scenario's own checks and Pydantic's commonest messages are said in French; in
    English Pydantic's own words stay."""
    import tomli_w

    scenario_dict["behaviour"]["training_rate"] = -3
    scenario_dict["start_year"] = "abc"
    scenario_dict["network"]["degree_typo"] = 1
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps(scenario_dict))
    fr = runner.invoke(app, ["validate", str(bad), "--lang", "fr"])
    assert fr.exit_code == 2
    assert "behaviour.training_rate: doit être supérieur ou égal à 0 (reçu -3)" in fr.output
    assert "start_year: doit être un entier" in fr.output and "(reçu 'abc')" in fr.output
    assert "network.degree_typo: champ inconnu" in fr.output
    en = runner.invoke(app, ["validate", str(bad), "--lang", "en"])
    assert "Input should be greater than or equal to 0 (got -3)" in en.output
    del scenario_dict["network"]["degree_typo"]  # fields right, the cross-checks run
    scenario_dict["behaviour"]["training_rate"] = 0.012
    scenario_dict["start_year"], scenario_dict["end_year"] = 2022, 2021
    bad.write_text(tomli_w.dumps(scenario_dict))
    fr = runner.invoke(app, ["validate", str(bad), "--lang", "fr"])
    assert "end_year: doit être postérieur à start_year 2022" in fr.output
    res = runner.invoke(app, ["run", "--policy", "25", "--lang", "fr"])
    assert res.exit_code == 2 and "proposition inconnue '25'" in res.output


def test_display_names_in_french():
    """Data labels (English in the files) are shown in French: the scenario's title, the
    professions', families' and establishment types' labels, the proposals' titles."""
    from adoption_abm import load_scenario

    res = runner.invoke(app, ["scenarios", "--lang", "fr"])
    assert "huit professions de santé" in res.output
    sc = load_scenario("france-2022")
    labels = [p.label for p in sc.professions.values()]
    labels += [t.label for t in sc.establishment_types.values()]
    labels += [f.label for f in sc.technologies.families.values()]
    with language("fr"):
        french = [i18n.label(x) for x in labels]
    untranslated = [e for f, e in zip(french, labels, strict=True) if f == e]
    assert untranslated == []
    assert {"Chirurgiens", "Aides-soignants", "Infirmiers hospitaliers", "IA", "EHPAD"} <= set(
        french
    )


def test_option_errors_in_french_whatever_their_order():
    """--lang is eager: an option checked before the command runs already speaks French."""
    res = runner.invoke(app, ["run", "--seed", "-1", "--lang", "fr"])
    assert res.exit_code == 2 and "doit être un entier de 0 à 2^64 - 1" in res.output


def test_language_from_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "fr")
    res = runner.invoke(app, ["validate", "france-2022"])
    assert res.exit_code == 0 and res.output.startswith("ok : ")
    res = runner.invoke(app, ["validate", "france-2022", "--lang", "en"])  # --lang wins
    assert res.output.startswith("ok: ")
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LC_MESSAGES", "fr_FR.UTF-8")
    assert runner.invoke(app, ["validate", "france-2022"]).output.startswith("ok : ")
    monkeypatch.setenv("LC_MESSAGES", "C.UTF-8")
    assert runner.invoke(app, ["validate", "france-2022"]).output.startswith("ok: ")


def test_bad_language_is_refused(monkeypatch):
    res = runner.invoke(app, ["validate", "france-2022", "--lang", "de"])
    assert res.exit_code == 2 and "--lang" in res.output
    monkeypatch.setenv(ENV_VAR, "de")
    res = runner.invoke(app, ["validate", "france-2022"])
    assert res.exit_code == 2 and f"{ENV_VAR} 'de'" in res.output and "allowed en, fr" in res.output


# ---------------------------------------------------------------------------------------------
# One compare report in French
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_comparison():
    from adoption_abm import load_scenario
    from adoption_abm.analysis.compare import compare
    from adoption_abm.scenario.load import with_overrides

    sc = with_overrides(load_scenario("france-2022"), {"end_year": 2026})
    return compare(
        sc, ["baseline", "6@2025-01,7@2025-01"], replications=2, seed=5, scale=0.002, workers=1
    )


def baseline_row(md: str) -> list[str]:
    """The cells of the baseline's 2025 row of the first table with one."""
    line = next(line for line in md.splitlines() if line.startswith("| baseline | 2025 |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_compare_report_in_french(small_comparison, tmp_path):
    from adoption_abm.analysis.report import write_report

    with language("fr"):
        write_report(small_comparison, tmp_path / "fr")
    with language("en"):
        write_report(small_comparison, tmp_path / "en")
    md = (tmp_path / "fr" / "report.md").read_text(encoding="utf-8")
    en = (tmp_path / "en" / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Comparaison de politiques : france-2022, rythme central")
    for words in (
        "## Gains de productivité réalisés et ETP libérés",
        "Δ réalisés (pts)",
        "risque de déclassement",
        "Développer le mentoring inversé",  # proposal 7's French title
        "Favoriser les cursus complémentaires",  # proposal 6's
        "Super utilisateur",  # a role's French label
        "aucune (référence)",
        "k€ par ETP-année",
    ):
        assert words in md, words
    for english in ("Realised gain", "policy |", "FTE freed", "none (baseline)", "n/a"):
        assert english not in md, english
    # numbers for people: decimal comma, narrow no-break space for thousands
    assert f"{NNBSP}" in md and "\u00a0%" in md
    cells = baseline_row(md)
    assert "," in cells[2] and "." not in cells[2]  # realised gain, e.g. "7,6 %"
    assert NNBSP in cells[4] and "," not in cells[4]  # FTE freed, e.g. "151 234"
    en_cells = baseline_row(en)
    assert cells[4].replace(NNBSP, "") == en_cells[4].replace(",", "")  # same number
    assert md.count("\n|") == en.count("\n|")  # same tables, row for row
    html = (tmp_path / "fr" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html and "<title>Comparaison de politiques" in html
    # the data files are the same in both languages
    assert pl.read_parquet(tmp_path / "fr" / "summary.parquet").equals(
        pl.read_parquet(tmp_path / "en" / "summary.parquet")
    )
    assert (tmp_path / "fr" / "meta.json").read_text() == (
        tmp_path / "en" / "meta.json"
    ).read_text()


def test_compare_command_in_french(tmp_path):
    """``compare --lang fr``: the summary lines and the report it writes are French."""
    out = tmp_path / "rapport"
    args = ["compare", "--policy", "6@2025-01", "--set", "end_year=2026", "--replications", "2"]
    args += ["--scale", "0.002", "--workers", "1", "--no-progress", "--out", str(out)]
    res = runner.invoke(app, [*args, "--lang", "fr"])
    assert res.exit_code == 0, res.output
    assert "2 politiques x 2 réplications" in res.output
    assert "6@2025-01 : gains de productivité réalisés 2025" in res.output
    assert "P(fait mieux que la référence)" in res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Comparaison de politiques")
