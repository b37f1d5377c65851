"""Interface text in two languages: the catalog is complete and current, Spanish never falls
back to English, dates read the way each language writes them, and the wheel carries the
compiled catalog."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from handouts import i18n
from handouts.readability_es import score, syllables

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def spanish_po():
    with i18n.po_path("es").open("rb") as handle:
        return read_po(handle)


def test_every_msgid_has_a_spanish_msgstr_with_the_same_placeholders():
    messages = [m for m in spanish_po() if m.id]
    assert len(messages) > 150
    for message in messages:
        assert message.string.strip(), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        assert (sorted(PLACEHOLDER.findall(message.string))
                == sorted(PLACEHOLDER.findall(message.id))), message.id


def test_the_catalog_holds_every_string_the_code_and_templates_use(tmp_path):
    """A string added to a template without re-extracting would fail a Spanish build; this
    catches it before any PDF is made."""
    pot = tmp_path / "fresh.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "extract", "-F", "babel.cfg",
                    "-k", "N_", "--ignore-dirs", ".* __pycache__", "--no-location",
                    "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        used = {m.id for m in read_po(handle) if m.id}
    translated = {m.id for m in spanish_po() if m.id}
    assert used - translated == set(), "run the pybabel commands in babel.cfg"
    assert translated - used == set(), "obsolete messages: run pybabel update"


def test_spanish_is_strict_and_english_is_the_msgid():
    with i18n.use("es"):
        assert i18n.gettext("Key points") == "Puntos clave"
        with pytest.raises(i18n.MissingTranslation, match="no Español translation"):
            i18n.gettext("A heading nobody translated")
    with i18n.use("en"):
        assert i18n.gettext("A heading nobody translated") == "A heading nobody translated"
    assert i18n.current() == "en"


def test_dates_and_weekdays_by_language():
    day = date(2026, 12, 1)
    with i18n.use("en"):
        assert i18n.format_date(day) == "December 1, 2026"
        assert i18n.format_skeleton(day, "MMMd") == "Dec 1"
        assert i18n.weekday_name(0) == "Sunday"
    with i18n.use("es"):
        assert i18n.format_date(day) == "1 de diciembre de 2026"
        assert i18n.weekday_name(0) == "Domingo" and i18n.weekday_name(day) == "Martes"


def test_css_words_are_quoted_and_escaped():
    assert (i18n.css_content("Página %(page)s de %(pages)s", {"page": "counter(page)",
                                                               "pages": "counter(pages)"})
            == '"Página " counter(page) " de " counter(pages)')
    assert i18n.css_string('a"b\\</style>') == '"a\\"b\\\\\\3c /style\\3e "'


def test_an_unknown_language_is_a_choice_error():
    from handouts.errors import ChoiceError

    with pytest.raises(ChoiceError, match="unknown language 'fr'; choose from: en, es"):
        i18n.language("fr")


@pytest.mark.parametrize(("word", "count"), [
    ("día", 2), ("que", 1), ("guitarra", 3), ("pingüino", 3), ("hoy", 1), ("muy", 1),
    ("leer", 2), ("baúl", 2), ("cuando", 2), ("buey", 1), ("medicina", 4), ("aéreo", 4),
    ("embarazada", 5), ("farmacéutico", 5), ("y", 1), ("oído", 3), ("atención", 3),
])
def test_spanish_syllables_follow_the_regular_rules(word, count):
    assert syllables(word) == count


def test_fernandez_huerta_and_inflesz():
    result = score(["Tome la dosis que le recete su médico.", "Llame si tiene fiebre."])
    assert (result.words, result.sentences) == (12, 2)
    per_100 = 100 * result.syllables / result.words
    assert result.fernandez_huerta == pytest.approx(206.84 - 0.60 * per_100 - 1.02 * 6)
    assert result.inflesz == pytest.approx(206.835 - 62.3 * per_100 / 100 - 6)
    assert result.fernandez_huerta > 70


def test_the_wheel_carries_the_compiled_catalog(tmp_path):
    """`pip install .` alone must give a working Spanish edition: the build hook compiles
    each .po into the wheel."""
    pytest.importorskip("hatchling")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                           "--no-build-isolation", "-w", str(tmp_path), "-q"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("handouts-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "handouts/locale/es/LC_MESSAGES/handouts.mo" in names
        mo = archive.read("handouts/locale/es/LC_MESSAGES/handouts.mo")
    assert b"Puntos clave" in mo
