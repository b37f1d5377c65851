"""The Spanish edition end to end: every kind and drug builds in Spanish, the PDFs are
tagged /Lang es and pass outloud, the font draws every Spanish letter, no English interface
text is left on a page, and every dose equals the English one."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pdfplumber
import pikepdf
import pytest
from babel.messages.pofile import read_po

from conftest import pdf_text, text_collisions
from handouts import i18n
from handouts.build import Builder
from handouts.content import load_library
from handouts.errors import ContentError
from handouts.kinds import KINDS
from handouts.options import PAPERS, PROFILES, Options, load_clinic, schedule
from spanish import spanish_content
from test_accessibility import _outloud

SPANISH_LETTERS = "áéíóúüñ¿¡ÁÉÍÓÚÑ"
MG = re.compile(r"\b\d+(?:[.,]\d+)?\s*mg\b")


@pytest.fixture(scope="module")
def spanish(tmp_path_factory):
    """The content with its Spanish folder (placeholders only for files not yet written)."""
    root, placeholders = spanish_content(tmp_path_factory.mktemp("es") / "content")
    return root, placeholders


@pytest.fixture(scope="module")
def es_builder(spanish) -> Builder:
    return Builder(spanish[0])


@pytest.fixture(scope="module")
def built_es(es_builder, tmp_path_factory) -> dict[str, object]:
    """Every standalone handout in Spanish, letter and standard print."""
    out = tmp_path_factory.mktemp("built-es")
    results = list(es_builder.build_all(Options(lang="es"), out))
    for result in results:
        assert not hasattr(result, "error"), result
        assert result.warnings == (), result.warnings
    return {r.path.stem: r.path for r in results}


@pytest.fixture(scope="module")
def spanish_clinic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clinica")
    path = folder / "clinic.yaml"
    # Every Spanish letter, in a text that is printed on every page's masthead.
    path.write_text("name: Clínica Güemes de Ávila, Íñigo y Óscar ¿Preguntas? ¡Llámenos! Ñandú\n"
                    "phone: 555-0100\n", encoding="utf-8")
    return load_clinic(path)


@pytest.fixture(scope="module")
def combined_es(es_builder, tmp_path_factory, spanish_clinic):
    """The smaller matrix: every kind in one PDF, A4 × both profiles, dated calendar."""
    out = tmp_path_factory.mktemp("combined-es")
    pdfs = {}
    for name, profile in PROFILES.items():
        options = Options(paper=PAPERS["a4"], profile=profile, clinic=spanish_clinic,
                          schedule=schedule("2026-12-01", 2, ("90 mg", "180 mg from day 8")),
                          lang="es")
        built = es_builder.build(list(KINDS), "brigatinib", options, out / f"{name}.pdf")
        assert built.warnings == ()
        pdfs[name] = built.path
    return pdfs


def test_every_kind_and_drug_builds_in_spanish_with_es_names(built_es, es_builder):
    drugs = list(es_builder.library_for("es").drugs)
    expected = {"faq-es", "questions-es"} | {f"{kind}-{drug}-es" for drug in drugs
                                             for kind in ("drug-sheet", "calendar", "diary")}
    assert set(built_es) == expected


def test_spanish_words_never_run_into_other_text_or_out_of_their_cells(built_es):
    """Spanish words are longer: "Dosis tomada" ran over the next day's tick box in every
    once-daily calendar. Every calendar, diary and drug sheet (letter, standard print;
    large print's are in test_calendar.py)."""
    tables = {name: path for name, path in built_es.items()
              if name.startswith(("calendar", "diary", "drug-sheet"))}
    assert len(tables) == 18
    for name, path in tables.items():
        assert text_collisions(path) == [], name


def test_spanish_pdfs_are_tagged_and_say_lang_es(built_es, combined_es):
    for path in [*built_es.values(), *combined_es.values()]:
        with pikepdf.open(path) as pdf:
            assert str(pdf.Root.Lang) == "es", path.name
            assert pdf.Root.MarkInfo.Marked is True and "/StructTreeRoot" in pdf.Root
            assert pdf.open_metadata().get("{http://www.aiim.org/pdfua/ns/id/}part") == "1"
    with pikepdf.open(combined_es["standard"]) as pdf:
        assert str(pdf.docinfo.Title).startswith("Folletos para pacientes: ")


def test_outloud_finds_no_errors_in_spanish_pdfs(built_es, combined_es):
    report = _outloud([*built_es.values(), *combined_es.values()])
    errors = [(r["path"], f["rule"], f["message"]) for r in report["results"]
              for f in r["findings"] if f["severity"] == "error"]
    assert errors == []


@pytest.mark.parametrize("profile", list(PROFILES))
def test_the_font_draws_every_spanish_letter(combined_es, profile):
    """Each accented letter and ¿ ¡ is drawn in Atkinson Hyperlegible (no fallback font, no
    missing-glyph box)."""
    seen: dict[str, set[str]] = {}
    with pdfplumber.open(combined_es[profile]) as pdf:
        for page in pdf.pages:
            for char in page.chars:
                if char["text"] in SPANISH_LETTERS:
                    seen.setdefault(char["text"], set()).add(char["fontname"].split("+")[-1])
    assert set(SPANISH_LETTERS) <= set(seen), set(SPANISH_LETTERS) - set(seen)
    assert all(fonts <= {"Atkinson-Hyperlegible", "Atkinson-Hyperlegible-Bold"}
               for fonts in seen.values()), seen


def _english_fragments() -> list[str]:
    """Pieces of interface text (placeholders and tags removed) long enough that finding
    one on a Spanish page can only mean an untranslated string."""
    with i18n.po_path("es").open("rb") as handle:
        catalog = read_po(handle)
    fragments = set()
    for message in catalog:
        if not message.id or message.id == message.string:
            continue
        for piece in re.split(r"%\(\w+\)s|<[^>]+>", message.id):
            piece = piece.strip(" .,:;·—()")
            if len(piece) >= 12 and piece not in message.string:
                fragments.add(piece)
    return sorted(fragments)


def test_no_english_interface_text_on_a_spanish_page(built_es, combined_es, es_builder):
    fragments = _english_fragments()
    assert len(fragments) > 80
    # Citations print in the language they were published in (content/sources.yaml).
    cited = [re.sub(r"\s+", " ", text) for source in es_builder.library.sources.entries
             for text in (source.title, source.publisher)]
    for path in [*built_es.values(), *combined_es.values()]:
        text = pdf_text(path)
        for title in cited:
            text = text.replace(title, "")
        found = [f for f in fragments if f in text]
        assert found == [], f"{path.name}: {found}"
    assert "Página 1 de" in pdf_text(combined_es["standard"])


def test_a_dated_spanish_calendar_reads_in_spanish(combined_es):
    text = pdf_text(combined_es["standard"])
    assert "Tome brigatinib una vez al día. Marque una casilla cada vez" in text
    assert "Calendario de Brigatinib, del 1 de diciembre de 2026 al" in text
    assert "Domingo" in text and "Sábado" in text
    assert "180 mg desde el día 8" in text


def test_every_dose_in_a_spanish_pdf_equals_the_english_one(built_es, built_all):
    """Numbers with mg, as a multiset per handout: the Spanish sheet, calendar and diary
    of each drug state the same doses as the English ones."""
    compared = 0
    for stem, spanish_pdf in built_es.items():
        english = built_all[stem.removesuffix("-es")]
        doses = Counter(m.replace(" ", "") for m in MG.findall(pdf_text(english)))
        assert Counter(m.replace(" ", "") for m in MG.findall(pdf_text(spanish_pdf))) == doses, \
            stem
        compared += bool(doses)
    assert compared >= 12  # every drug sheet and calendar states a dose


def test_a_missing_spanish_file_is_an_error_naming_it(spanish, tmp_path):
    import shutil

    root = tmp_path / "content"
    shutil.copytree(spanish[0], root)
    (root / "es" / "drugs" / "alectinib.yaml").unlink()
    with pytest.raises(ContentError) as caught:
        load_library(root, date(2026, 11, 26), "es")
    assert ("content/es/drugs/alectinib.yaml: file not found (no es translation of "
            "content/drugs/alectinib.yaml)") in caught.value.problems


def test_a_spanish_file_must_say_which_english_version_it_translates(spanish, tmp_path):
    import shutil

    root = tmp_path / "content"
    shutil.copytree(spanish[0], root)
    faq = root / "es" / "faq.yaml"
    faq.write_text(re.sub(r"(?m)^translation_of:.*\n", "", faq.read_text(encoding="utf-8")),
                   encoding="utf-8")
    with pytest.raises(ContentError, match="content/es/faq.yaml:translation_of: is required"):
        load_library(root, None, "es")
    with pytest.raises(ContentError, match="translation_of: is not a known field"):
        english = root / "questions.yaml"
        english.write_text(english.read_text(encoding="utf-8") + 'translation_of: "2.0"\n',
                           encoding="utf-8")
        load_library(root)
