"""Interface text in the reader's language: gettext catalogs, dates and numbers by Babel.

The language of whatever is being made (a PDF, a web page) is a context variable set with
`use(lang)`, so templates, grids and the web layer all translate the same way without
passing a language through every call, and threads (waitress) never see each other's.

English is the source language: its text is the msgid itself. Any other language is
strict: a msgid its catalog lacks raises MissingTranslation, so a Spanish page never
quietly shows an English heading. Catalogs are compiled to .mo when the wheel is built
(hatch_build.py); a source checkout without .mo files reads the .po directly.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path

from .errors import ChoiceError, RenderError

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
DOMAIN = "handouts"
LOCALE_DIR = Path(__file__).with_name("locale")

_current: ContextVar[str] = ContextVar("handouts_lang", default=DEFAULT)


class MissingTranslation(RenderError):
    """Raised when text shown in a non-English edition has no translation in its catalog."""

    def __init__(self, lang: str, msgid: str):
        super().__init__(f"no {LANGUAGES.get(lang, lang)} translation for {msgid!r} "
                         f"(add it to src/handouts/locale/{lang}/LC_MESSAGES/{DOMAIN}.po)")


class Catalog:
    """One language's messages; `gettext` raises on a msgid it does not have."""

    def __init__(self, lang: str, messages: dict[str, str]):
        self.lang = lang
        self.messages = messages

    def gettext(self, msgid: str) -> str:
        if self.lang == DEFAULT:
            return msgid
        text = self.messages.get(msgid)
        if not text:
            raise MissingTranslation(self.lang, msgid)
        return text

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def language(name: str) -> str:
    """A checked language code ('en', 'es')."""
    code = (name or "").strip().lower()
    if code not in LANGUAGES:
        raise ChoiceError("language", name, list(LANGUAGES))
    return code


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_po(path: Path) -> dict[str, str]:
    """msgid → msgstr from a .po file (fuzzy entries count as untranslated)."""
    from babel.messages.pofile import read_po as babel_read_po

    with path.open("rb") as handle:
        po = babel_read_po(handle)
    return {str(m.id): str(m.string) for m in po
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


@cache
def catalog(lang: str) -> Catalog:
    """The compiled catalog of a language (.mo from the wheel, else the .po in a checkout)."""
    if lang == DEFAULT:
        return Catalog(lang, {})
    mo = po_path(lang).with_suffix(".mo")
    if mo.is_file():
        with mo.open("rb") as handle:
            # The parsed messages; gettext's own lookup would fall back to the msgid.
            messages = dict(_gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]
        return Catalog(lang, {k: v for k, v in messages.items() if isinstance(k, str) and k})
    if po_path(lang).is_file():
        return Catalog(lang, read_po(po_path(lang)))
    raise RenderError(f"no catalog for language {lang!r} at {po_path(lang)}")


@contextmanager
def use(lang: str) -> Iterator[None]:
    """Make `lang` the language of everything translated inside the block."""
    token = _current.set(language(lang))
    try:
        yield
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


def gettext(msgid: str) -> str:
    """The current language's text for msgid (msgid itself in English)."""
    return catalog(current()).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(current()).ngettext(singular, plural, n)


_ = gettext


def N_(msgid: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark text for the catalog without translating it yet (module-level labels)."""
    return msgid


def format_date(value: date, form: str = "long") -> str:
    """A date as a reader of the current language writes it: 'December 1, 2026',
    '1 de diciembre de 2026'."""
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, form, locale=current())


def format_skeleton(value: date, skeleton: str) -> str:
    """A short date by CLDR skeleton: 'MMMd' → 'Dec 1' / '1 dic'."""
    from babel.dates import format_skeleton as babel_format_skeleton

    return babel_format_skeleton(skeleton, value, locale=current())


def weekday_name(value: date | int, width: str = "wide") -> str:
    """The weekday's name (Sunday first when given an int 0-6), capitalised for a heading."""
    from babel.dates import get_day_names

    # Grids count from Sunday (0), as US calendars do; Babel, like Python, from Monday (0).
    index = (value - 1) % 7 if isinstance(value, int) else value.weekday()
    name = get_day_names(width, locale=current())[index]
    return name[:1].upper() + name[1:]


def css_string(text: str) -> str:
    """Text as a quoted CSS string, safe inside a <style> element."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
               .replace("<", "\\3c ").replace(">", "\\3e "))
    return f'"{escaped}"'


def css_content(sentence: str, slots: dict[str, str]) -> str:
    """A translated sentence with %(name)s placeholders as a CSS `content` value, each
    placeholder replaced by a CSS function: ('Página %(page)s de %(pages)s',
    {'page': 'counter(page)'}) → '"Página " counter(page) " de " counter(pages)'."""
    import re

    pieces = []
    for n, piece in enumerate(re.split(r"%\((\w+)\)s", sentence)):
        if n % 2:
            pieces.append(slots[piece])
        elif piece:
            pieces.append(css_string(piece))
    return " ".join(pieces)


def css_page_of(page: str = "counter(page)", pages: str = "counter(pages)") -> str:
    """The running footer's page number ('Page 2 of 5') as a CSS content value. A composed
    PDF's cover passes fixed numbers (page=1, pages=its whole PDF's count)."""
    return css_content(_("Page %(page)s of %(pages)s"), {"page": page, "pages": pages})


def css_contents_page(page: str = "target-counter(attr(data-target url), page)") -> str:
    """The page number after each entry of a packet's contents list (' — page 3'); a
    cover rendered alone passes attr(data-page), the number from the shared render."""
    return css_content(_(" — page %(page)s"), {"page": page})
