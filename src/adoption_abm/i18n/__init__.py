"""French and English: gettext catalogues managed with Babel, and numbers in the reader's
language.

``_(message)`` translates an English message into the current language (English messages are
their own translation); ``set_language("fr")`` chooses it, ``current_language()`` reads it. The
default comes from the environment (:func:`language_from_env`): ``ADOPTION_ABM_LANG`` if it is
``fr`` or ``en``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the first one set):
French for any ``fr*`` locale, English for anything else.

Display names of the data (professions, families, establishment types, proposals, roles) are
keyed by their English label in the same catalogue: :func:`label`. The TOML files that hold them
are extracted by :func:`extract_labels` (see ``babel.cfg``).

Catalogues, in ``i18n/locale/``: ``messages.pot`` (``pybabel extract -F babel.cfg``, the
command is in ``babel.cfg``), ``fr/LC_MESSAGES/messages.po`` (the French, written by hand) and
its ``messages.mo``, compiled at build time (``setup.py``'s ``build_py`` calls
:func:`compile_catalogues`; nothing binary is committed). A source checkout or an editable
install has no ``.mo``: the ``.po`` is then read with Babel on first use, which gives the same
translations (a test checks that both agree). That fallback is the simplest path that always
works: no cache folder to write, nothing to go stale.

This module imports nothing of the package, so every layer may use it; Babel is imported only
when French is used or a catalogue is compiled.
"""

from __future__ import annotations

import gettext
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "fr")
"""The languages: English (the messages themselves) and French."""
ENV_VAR = "ADOPTION_ABM_LANG"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"
BABEL_LOCALES = {"en": "en_US", "fr": "fr_FR"}
"""The Babel locale of each language, for numbers."""

_current: str | None = None
_catalogues: dict[str, gettext.NullTranslations] = {}


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The default language: ``ADOPTION_ABM_LANG`` when it is ``fr`` or ``en``, else ``fr``
    for a French locale (``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``: the first one set,
    as POSIX reads them) and ``en`` for any other."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_VAR, "").strip().lower()
    if explicit in LANGUAGES:
        return explicit
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "").strip()
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def set_language(lang: str | None) -> str:
    """Choose the language (``"fr"`` or ``"en"``; ``None``: follow the environment's default
    again) and return the language now in use. Raises ValueError for any other value."""
    global _current
    if lang is None:
        _current = None
        return language_from_env()
    chosen = str(lang).strip().lower()
    if chosen not in LANGUAGES:
        raise ValueError(f"language {lang!r}: allowed {', '.join(LANGUAGES)}")
    _current = chosen
    return chosen


def current_language() -> str:
    """The language messages are translated into (the environment's default until
    :func:`set_language` is called)."""
    return _current if _current is not None else language_from_env()


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Translate into ``lang`` inside the ``with`` block, then restore the previous choice."""
    global _current
    before = _current
    try:
        yield set_language(lang)
    finally:
        _current = before


class _PoTranslations(gettext.NullTranslations):
    """Translations read from a ``.po`` file with Babel (no compiled ``.mo`` at hand)."""

    def __init__(self, path: Path):
        super().__init__()
        from babel.messages.pofile import read_po

        with path.open("rb") as fh:
            catalog = read_po(fh)
        self._singular: dict[str, str] = {}
        self._plural: dict[tuple[str, int], str] = {}
        for msg in catalog:
            if not msg.id or msg.fuzzy:
                continue
            if isinstance(msg.id, tuple):
                for k, text in enumerate(msg.string):
                    if text:
                        self._plural[(msg.id[0], k)] = text
            elif msg.string:
                self._singular[msg.id] = msg.string
        self._plural_rule = gettext.c2py(catalog.plural_expr)

    def gettext(self, message: str) -> str:
        return self._singular.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        text = self._plural.get((msgid1, self._plural_rule(n)))
        if text is None:
            return msgid1 if n == 1 else msgid2
        return text


def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``: the compiled ``.mo`` if the build made one, else the ``.po``
    read with Babel; English (no catalogue) returns the messages unchanged."""
    found = _catalogues.get(lang)
    if found is not None:
        return found
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    if (folder / f"{DOMAIN}.mo").is_file():
        with (folder / f"{DOMAIN}.mo").open("rb") as fh:
            found = gettext.GNUTranslations(fh)
    elif (folder / f"{DOMAIN}.po").is_file():
        found = _PoTranslations(folder / f"{DOMAIN}.po")
    else:
        found = gettext.NullTranslations()
    _catalogues[lang] = found
    return found


def _(message: str) -> str:
    """``message`` (English) in the current language."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the current language."""
    return translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (a module-level constant whose
    text is translated where it is shown, with ``_(constant)``)."""
    return message


def about(subject: str, message: str) -> str:
    """``subject: message`` with the language's punctuation (``subject : message`` in French):
    a message about an option, an argument or a file, ``message`` already translated."""
    return _("{subject}: {message}").format(subject=subject, message=message)


def label(text: str) -> str:
    """A data display name (a profession's, family's, establishment type's, proposal's or
    role's English label) or a proposal's mechanism or activity text in the current language;
    unknown texts are returned as given."""
    return _(text) if text else text


# ---------------------------------------------------------------------------------------------
# Numbers: "1,234.5" and "12.3 %" in English, "1 234,5" and "12,3 %" in French (narrow
# no-break space for thousands, decimal comma, Babel's fr_FR); for people, never for data files
# ---------------------------------------------------------------------------------------------
def number(x: float | None, digits: int = 0, *, sign: bool = False, group: bool = True) -> str:
    """``x`` with ``digits`` decimals, thousands grouped, ``+`` shown if ``sign``; ``n/a``
    (translated) for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return _("n/a")
    lang = current_language()
    if lang == "en":
        spec = f"{'+' if sign else ''}{',' if group else ''}.{digits}f"
        return format(x, spec)
    from babel.numbers import format_decimal

    body = ("#,##0" if group else "0") + ("." + "0" * digits if digits else "")
    pattern = f"+{body};-{body}" if sign else body
    return format_decimal(x, pattern, locale=BABEL_LOCALES[lang], decimal_quantization=True)


def general(x: float, precision: int | None = None, *, group: bool = False) -> str:
    """``x`` as ``format(x, "g")`` writes it (``.{precision}g`` if given: shortest form;
    thousands grouped if ``group``), with a decimal comma (and a narrow no-break space for
    thousands) in French: ``0.002`` → ``0,002``."""
    spec = ("," if group else "") + (f".{precision}" if precision is not None else "") + "g"
    text = format(x, spec)
    if current_language() == "fr":
        return text.translate({ord(","): "\u202f", ord("."): ","})
    return text


def listed(items: Iterable[str]) -> str:
    """Numbers written as text, listed: ``0.5, 1, 1.5`` in English, ``0,5 ; 1 ; 1,5`` in French
    (where the comma is the decimal mark)."""
    return (" ; " if current_language() == "fr" else ", ").join(items)


def percent(share: float | None, digits: int = 1, *, sign: bool = False, space: bool = True) -> str:
    """A share (0.123) as a percentage: ``12.3 %`` (``12.3%`` without ``space``) in English,
    ``12,3 %`` in French (always a no-break space before %)."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return _("n/a")
    if current_language() == "en":
        return number(100 * share, digits, sign=sign) + (" %" if space else "%")
    return number(100 * share, digits, sign=sign) + "\u00a0%"


# ---------------------------------------------------------------------------------------------
# Catalogues: extraction of the data's labels, compilation
# ---------------------------------------------------------------------------------------------
LABEL_KEYS = ("label", "title", "mechanism", "activity", "unit")
"""Keys of the TOML data files whose values are shown to people and translated with
:func:`label`: display names (``label``, ``title``), the proposals' ``mechanism`` and
``activity`` texts and their activities' ``unit`` (what one unit bought is). Sources
(``source``, ``cost_source``: references and the reasons for an assumed range) and the
effects' ``representation`` notes are not extracted and stay English."""


def extract_labels(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Mapping[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """A Babel extraction method for TOML data files: every string under one of
    :data:`LABEL_KEYS`, with its line number (``babel.cfg`` maps the package's data files to it)."""
    import tomllib

    text = fileobj.read().decode("utf-8")
    lines = text.splitlines()

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if key in LABEL_KEYS and isinstance(value, str):
                    yield where, value
                else:
                    yield from walk(value, where)
        elif isinstance(node, list):
            for k, item in enumerate(node):
                yield from walk(item, f"{path}.{k}")

    for where, value in walk(tomllib.loads(text), ""):
        key = where.rsplit(".", 1)[-1]
        lineno = next(
            (
                i + 1
                for i, line in enumerate(lines)
                if line.lstrip().startswith(f"{key} =") and value in line
            ),
            1,
        )
        yield lineno, None, value, [where]


def extract_python_and_help(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Mapping[str, Any]
) -> Iterator[tuple[int, str | None, Any, list[str]]]:
    """A Babel extraction method for the command-line modules: their ``_()`` messages (Babel's
    Python extractor) and their help texts, which are written in English and translated when
    the help is printed (``cli.errors.translated_help``): every ``help="..."`` keyword given a
    literal string, and the docstring of every function decorated by ``.command(...)`` or
    ``.callback(...)``, cleaned as ``inspect.getdoc`` (and so Typer) cleans it."""
    import ast
    import io

    from babel.messages.extract import extract_python

    data = fileobj.read()
    yield from extract_python(io.BytesIO(data), keywords, comment_tags, options)

    def is_command(decorator: ast.expr) -> bool:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        return isinstance(func, ast.Attribute) and func.attr in ("command", "callback")

    for node in ast.walk(ast.parse(data)):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                value = kw.value
                if kw.arg == "help" and isinstance(value, ast.Constant):
                    if isinstance(value.value, str) and value.value:
                        yield value.lineno, None, value.value, []
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any(is_command(d) for d in node.decorator_list):
                doc = ast.get_docstring(node, clean=True)
                if doc:
                    yield node.body[0].lineno, None, doc, []


def compile_catalogues(source: Path = LOCALE_DIR, target: Path | None = None) -> list[Path]:
    """Compile every ``<lang>/LC_MESSAGES/messages.po`` under ``source`` into a ``.mo`` beside
    it, or at the same place under ``target``; fuzzy entries are left out. Returns the ``.mo``
    files written. Used by ``setup.py`` at build time."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(Path(source).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh)
        mo = (Path(target) / po.relative_to(source)) if target else po
        mo = mo.with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(mo)
    return written
