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


def test_proposals_activity_and_mechanism_in_french():
    """The catalogue's activity and mechanism texts (English in proposals.toml) are extracted
    and translated: `proposals --lang fr` prints each proposal's activity in French, and every
    activity and mechanism has a French text."""
    from adoption_abm.policies.catalogue import catalogue

    fr = runner.invoke(app, ["proposals", "--lang", "fr"])
    assert fr.exit_code == 0, fr.output
    assert "activité : Heures de mentoring : chaque binôme en cours, dix heures par an" in fr.output
    assert "Mentoring hours:" not in fr.output
    en = runner.invoke(app, ["proposals", "--lang", "en"])
    assert "activity: Mentoring hours: every pairing in force" in en.output
    texts = [t for p in catalogue().proposals.values() for t in (p.activity, p.mechanism)]
    with language("fr"):
        untranslated = [t for t in texts if i18n.label(t) == t]
    assert len(texts) == 40 and untranslated == []


def test_calibration_residuals_in_french_json_reading_in_english():
    """The calibration's residual table and its reading of J are in the chosen language; the
    reading kept in calibration.json (data) stays English."""
    from adoption_abm.batch.calibrate import residual_markdown

    ident = {"parameters": 2, "targets": 3, "degrees_of_freedom": 1, "J": 5.0}
    ident |= {"p_value": 0.0253, "critical_95": 3.841}
    table = pl.DataFrame(
        {
            "rhythm": ["central"],
            "output": ["realised_all_2023"],
            "target": [0.25],
            "simulated": [0.2612],
            "se": [0.0031],
            "residual": [0.0112],
            "tolerance": [0.02],
            "residual_tol": [0.56],
            "source": ["[seed 001]"],
        }
    )
    with language("fr"):
        md = residual_markdown(table, ident)
    assert md.startswith("| rythme | moment | cible | tolérance | simulé (± e.-t.) | résidu ")
    assert "| 0,250 | 0,02 | 0,2612 ± 0,0031 | +0,0112 | +0,56 | [seed 001] |" in md
    assert "J = 5 pour 1 degrés de liberté, au-dessus de la valeur critique à 95 %" in md
    with language("en"):
        en = residual_markdown(table, ident)
    assert "| 0.250 | 0.02 | 0.2612 ± 0.0031 | +0.0112 | +0.56 | [seed 001] |" in en
    assert "J = 5 on 1 degrees of freedom, above the 95 % critical value" in en


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
        # proposals 6 and 7's mechanism and activity texts (English in proposals.toml)
        "Mécanisme : Plus de formations continues en informatique et en IA, qui atteignent",
        "Activité : Heures de mentoring : chaque binôme en cours",
        "une heure d'un binôme de mentoring inversé",  # the unit one mentoring hour is
    ):
        assert words in md, words
    assert "Activity: Mentoring hours: every pairing in force" in en
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


# ---------------------------------------------------------------------------------------------
# plot, scenario new / diff, validate's warnings, the optimise report
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("i18n-plot") / "run"
    res = runner.invoke(app, [*RUN[:-1], "--set", "end_year=2026", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_plot_in_french(run_dir, tmp_path):
    """``plot --lang fr`` writes the four PNG; the words drawn are the French labels (the
    figure's title, the professions' and families' names, the caption, the percent ticks)."""
    pytest.importorskip("matplotlib")
    from adoption_abm.analysis import plots

    res = runner.invoke(app, ["plot", str(run_dir), "--out", str(tmp_path / "fr"), "--lang", "fr"])
    assert res.exit_code == 0, res.output
    for name in plots.FIGURES:
        assert (tmp_path / "fr" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    run = plots.read_run(run_dir)
    with language("fr"):
        words = plots.adoption_labels()
        assert words["title"] == "Adoption par famille de technologies et par profession"
        assert words["x"] == "année" and words["legend"] == "famille de technologies"
        assert plots.time_freed_labels()["potential"] == "temps libérable"
        assert plots.fte_labels()["y"] == "milliers d'ETP"
        assert plots.gaps_labels()["establishment_type"] == "par type d'établissement"
        assert plots.age_band_label("60_plus") == "60 ans et plus"
        table = plots.adoption_table(run)
        assert "Aides-soignants" in table["profession"].dtype.categories.to_list()
        assert "IA" in table["family"].dtype.categories.to_list()
        assert plots.run_caption(run).startswith("france-2022, rythme central, graine 1, échelle ")
        plt = plots._pyplot()
        fig = plots.FIGURES["adoption"].png(run, plt)
        try:
            texts = [t.get_text() for t in fig.texts]
            assert words["title"] in texts
            ax = fig.axes[0]
            assert ax.yaxis.get_major_formatter()(0.5, 0) == "50\u00a0%"
            assert "Aides-soignants" in [a.get_title(loc="left") for a in fig.axes]
        finally:
            plt.close(fig)
    with language("en"):
        assert plots.adoption_labels()["title"] == "Adoption by technology family and profession"
        assert plots.run_caption(run).startswith("france-2022, central rhythm, seed 1, scale ")
    # the run folder's data files are untouched by the plots
    assert not (run_dir / "plots").exists() or (run_dir / "summary.json").is_file()


def test_plot_errors_in_french(tmp_path):
    res = runner.invoke(app, ["plot", str(tmp_path / "nowhere"), "--lang", "fr"])
    assert res.exit_code == 2 and res.output.startswith("erreur : RUN_DIR ")
    assert "n'existe pas" in res.output


def test_scenario_new_and_diff_in_french(tmp_path):
    from adoption_abm import load_scenario
    from adoption_abm.scenario.authoring import commented_toml
    from adoption_abm.scenario.load import with_overrides

    copy = tmp_path / "copie.toml"
    res = runner.invoke(app, ["scenario", "new", str(copy), "--lang", "fr"])
    assert res.exit_code == 0, res.output
    assert "une copie du scénario intégré france-2022" in res.output
    assert "# Scenario 'france-2022'" in copy.read_text(encoding="utf-8")  # comments: English
    again = runner.invoke(app, ["scenario", "new", str(copy), "--lang", "fr"])
    assert again.exit_code == 2 and "existe déjà ; ajoutez --overwrite" in again.output
    edited = with_overrides(
        load_scenario("france-2022"), {"end_year": 2035, "professions.surgeon.headcount": 25_000.0}
    )
    path = tmp_path / "b.toml"
    path.write_text(commented_toml(edited))
    fr = runner.invoke(app, ["scenario", "diff", "france-2022", str(path), "--lang", "fr"])
    en = runner.invoke(app, ["scenario", "diff", "france-2022", str(path), "--lang", "en"])
    assert fr.exit_code == en.exit_code == 0
    assert fr.stdout == en.stdout  # the fields and values: data, the same in both languages
    assert fr.stderr.strip() == "2 champs diffèrent" and en.stderr.strip() == "2 fields differ"
    same = runner.invoke(app, ["scenario", "diff", "france-2022", "france-2022", "--lang", "fr"])
    assert same.stderr.strip() == "aucune différence"


def test_validate_warnings_in_french(tmp_path):
    from adoption_abm import load_scenario
    from adoption_abm.scenario.authoring import commented_toml
    from adoption_abm.scenario.load import with_overrides

    sc = with_overrides(
        load_scenario("france-2022"),
        {"behaviour.training_capacity": 40.5, "rhythms.fast.adoption": 0.6},
    )
    path = tmp_path / "s.toml"
    path.write_text(commented_toml(sc))
    fr = runner.invoke(app, ["validate", str(path), "--lang", "fr"])
    assert fr.exit_code == 0, fr.output
    assert fr.stdout.startswith("ok : ") and "2 avertissements" in fr.stdout
    lines = fr.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"avertissement : {path}: ") for line in lines)
    assert "0,6 est inférieur à rhythms.slow.adoption" in fr.stderr
    assert "40,5 formations par an pour 1 000 professionnels est hors de la plage" in fr.stderr
    assert "[training_capacity_outside_range]" in fr.stderr  # the check's name stays
    en = runner.invoke(app, ["validate", str(path), "--lang", "en"])
    assert "warning: " in en.stderr and "40.5 courses a year per 1,000 professionals" in en.stderr


def test_optimise_report_in_french_same_data_files(tmp_path):
    """The optimise report in French (headers, words, decimal commas) beside the English one,
    from one study; the data files are byte for byte the same."""
    pytest.importorskip("optuna")
    from adoption_abm import load_scenario
    from adoption_abm.analysis.optimise import optimise
    from adoption_abm.analysis.portfolio_report import write_report
    from adoption_abm.scenario.load import with_overrides

    sc = with_overrides(load_scenario("france-2022"), {"end_year": 2030})
    res = optimise(
        sc,
        out=tmp_path / "study",
        budget=120.0,
        horizon=2030,
        trials=1,
        draws=2,
        replications=1,
        scale=0.002,
        seed=3,
        proposals=(6, 7),
        workers=1,
    )
    assert res.best is not None
    for lang in ("fr", "en"):
        with language(lang):
            write_report(res, tmp_path / lang, command="adoption-abm optimise ...")
    md = (tmp_path / "fr" / "report.md").read_text(encoding="utf-8")
    en = (tmp_path / "en" / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Optimisation de portefeuille : france-2022, horizon 2030")
    for words in (
        "| paramètre | valeur |",
        "ETP libérés par rapport à la référence à l'horizon (maximiser)",
        "## Meilleurs portefeuilles",
        "| rang | portefeuille | plus forte année (M€) |",
        "## Valeur marginale de chaque proposition du meilleur portefeuille",
        "M€ par an",
        "tirages d'hypothèses",
    ):
        assert words in md, words
    for english in ("Best portfolios", "assumption draws", "| rank |", "M€ a year"):
        assert english not in md, english
    assert md.count("\n|") == en.count("\n|")  # the same tables, row for row
    # a proposal's French title in the marginal table ("Favoriser les cursus complémentaires")
    assert any(label in md for label in ("Favoriser les cursus", "mentoring inversé"))
    # and what each buys, in French ("ce qu'elle achète")
    assert any(a in md for a in ("Formations : formations continues", "Heures de mentoring :"))
    assert "," in md.split("## Meilleurs portefeuilles")[1].splitlines()[4]  # decimal comma
    html_fr = (tmp_path / "fr" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html_fr and "<title>Optimisation de portefeuille" in html_fr
    for name in ("trials.parquet", "best.json"):
        assert (tmp_path / "fr" / name).read_bytes() == (tmp_path / "en" / name).read_bytes()
    assert pl.read_parquet(tmp_path / "fr" / "trials.parquet").equals(res.trials)


def test_batch_optimise_sensitivity_messages_in_french(tmp_path):
    """The commands' own checks speak French (each exits 2 before any work)."""
    cases = [
        (["optimise", "--budget", "0"], "--budget 0 : doit être un nombre positif de M€ par an"),
        (["optimise", "--budget", "50", "--trials", "-1"], "--trials -1 : doit valoir 0 ou plus"),
        (["sensitivity", "--priors"], "--policy : obligatoire avec --priors"),
        (["sensitivity", "--seed", "3"], "--seed : seulement avec --priors"),
        (["sensitivity"], "EXPERIMENT : manquant ; donnez un fichier d'expérience TOML"),
        (
            ["sensitivity", "--priors", "--policy", "6", "--samples", "6"],
            "--samples 6 : doit être une puissance de 2",
        ),
    ]
    for args, words in cases:
        res = runner.invoke(app, [*args, "--out", str(tmp_path / "x"), "--lang", "fr"])
        assert res.exit_code == 2, (args, res.output)
        assert res.output.startswith("erreur : ") and words in res.output, (args, res.output)
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------------------------
# --help
# ---------------------------------------------------------------------------------------------
def every_help_text() -> list[str]:
    """The help texts the command line shows: every command's and group's, every option's."""
    import typer

    texts: list[str] = []

    def walk(cmd) -> None:
        texts.extend(t for t in (cmd.help, *(getattr(p, "help", None) for p in cmd.params)) if t)
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    return texts


def test_every_help_text_is_in_the_catalogue():
    """What the extraction finds (help="..." and the commands' docstrings, cleaned) is the text
    Typer shows: each one has its French translation."""
    po = {m.id: m.string for m in read(PO) if m.id and isinstance(m.id, str)}
    texts = every_help_text()
    assert len(texts) > 80
    missing = sorted({t for t in texts if not po.get(t)})
    assert not missing, missing


@pytest.mark.parametrize(
    "args",
    [
        ["plot", "--help", "--lang", "fr"],  # --lang after --help (both eager)
        ["plot", "--lang", "fr", "--help"],
        ["--lang", "fr", "plot", "--help"],  # on the root
        ["plot", "--lang=fr", "--help"],
    ],
)
def test_help_in_french(args):
    res = runner.invoke(app, args, env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    assert "Dessiner les quatre figures d'une simulation" in res.output
    assert "Dossier des figures." in res.output and "Afficher ce message et quitter." in res.output
    assert "[par défaut : png]" in res.output and "[obligatoire]" in res.output
    assert "Draw a run's four figures" not in res.output and "[default:" not in res.output


def test_help_follows_the_environment_and_stays_english_by_default(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "fr")
    res = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert "un modèle multi-agents" in res.output and "Commandes" in res.output
    assert "Lister les scénarios intégrés." in res.output  # a command's line in the list
    monkeypatch.setenv(ENV_VAR, "en")
    res = runner.invoke(app, ["scenario", "diff", "--help"], env={"COLUMNS": "120"})
    assert "List the fields in which scenarios A and B differ" in res.output
    assert "Scenario TOML file or built-in name." in res.output and "[required]" in res.output
    # printing the French help left the English texts in place (the shared --lang option's,
    # Typer's layout words)
    from typer import rich_utils

    monkeypatch.setenv(ENV_VAR, "fr")
    assert "Afficher" in runner.invoke(app, ["plot", "--help"]).output
    assert not any("Langue" in t or "Lister" in t for t in every_help_text())
    assert rich_utils.DEFAULT_STRING == "[default: {}]"


@pytest.mark.parametrize(
    ("args", "french", "english"),
    [
        (["run", "--foo"], "option inconnue : --foo", "No such option: --foo"),
        (
            ["run", "--scale", "abc"],
            "valeur non valide pour '--scale' : doit être un nombre",
            "Invalid value for '--scale'",
        ),
        (["run", "--engine", "bogus"], "'bogus' n'est pas l'une des valeurs", "is not one of"),
        (["run", "--rhythm"], "l'option '--rhythm' attend une valeur.", "requires an argument"),
        (["run", "extra"], "argument(s) en trop (extra)", "unexpected extra argument"),
        (["batch"], "argument 'experiment' manquant.", "Missing argument"),
        (["nosuch"], "commande 'nosuch' inconnue.", "No such command"),
    ],
)
def test_click_parse_errors_in_french(args, french, english):
    """Click's own parse errors (an unknown option, a bad value, a missing argument) read in
    French as the command line's other errors do: usage, hint, one ``erreur :`` line, exit 2;
    in English they stay Click's and Typer's own."""
    fr = runner.invoke(app, ["--lang", "fr", *args])
    assert fr.exit_code == 2
    lines = [line for line in fr.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Utilisation : adoption-abm")
    assert lines[1].startswith("Essayez « adoption-abm")
    assert lines[-1].startswith("erreur : ") and french in lines[-1], fr.stderr
    assert english not in fr.stderr and "Usage:" not in fr.stderr
    en = runner.invoke(app, ["--lang", "en", *args])
    assert en.exit_code == 2 and english in en.stderr
