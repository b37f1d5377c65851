"""The PDFs themselves: opened with pypdf, checked for the text a patient must see."""

from __future__ import annotations

import pytest

from conftest import page_texts, pdf_text, reader
from handouts.options import Options, load_clinic, personal

USUAL_DOSE = {  # the label example each sheet must show, and its food rule
    "alectinib": ("600 mg each time, two times a day", "with food"),
    "brigatinib": ("start you on 90 mg once a day for 7 days", "with food or without food"),
    "ceritinib": ("450 mg once a day", "with food"),
    "crizotinib": ("250 mg each time, two times a day", "with a meal or on an empty stomach"),
    "ensartinib": ("225 mg once a day", "with food or without food"),
    "lorlatinib": ("100 mg once a day", "with food or without food"),
}


def test_build_all_makes_every_handout(built_all):
    assert set(built_all) == {"faq", "questions", *(f"{kind}-{drug}" for drug in USUAL_DOSE
                                                    for kind in ("drug-sheet", "calendar",
                                                                 "diary"))}


@pytest.mark.parametrize("drug", sorted(USUAL_DOSE))
def test_each_drug_sheet_shows_its_own_dose_and_food_rule(built_all, drug):
    text = pdf_text(built_all[f"drug-sheet-{drug}"])
    dose, food = USUAL_DOSE[drug]
    assert f"Take {drug} exactly as your doctor prescribes." in text
    assert dose in text
    assert food in text
    assert "Call your care team right away if" in text
    assert "My dose:" in text and "When I take it:" in text
    others = set(USUAL_DOSE) - {drug}
    assert not any(f"Take {other} exactly" in text for other in others)


def test_brigatinib_sheet_gives_the_lead_in_dose_as_the_doctors_step(built_all):
    text = pdf_text(built_all["drug-sheet-brigatinib"])
    assert "Your doctor may start you on 90 mg once a day for 7 days" in text
    assert "Go up only when your doctor tells you." in text


def test_every_page_has_page_x_of_y_checked_date_and_disclaimer(built_all):
    for name, path in built_all.items():
        pages = page_texts(path)
        for number, text in enumerate(pages, 1):
            assert f"Page {number} of {len(pages)}" in text, (name, number)
            assert "Reviewed November 26, 2026 · Next review due May 26, 2027" in text, \
                (name, number)
            assert "does not replace advice from your own care team" in text, (name, number)


def test_sources_are_printed_at_the_end(built_all):
    text = pdf_text(built_all["drug-sheet-lorlatinib"])
    assert "Where this information comes from" in text
    assert "LORBRENA (lorlatinib) tablets, US Prescribing Information" in text
    assert "ZYKADIA" not in text  # a drug sheet cites its own sources only


def test_metadata_title_author_subject_language(built_all):
    pdf = reader(built_all["drug-sheet-alectinib"])
    assert pdf.metadata.title == "Alectinib (Alecensa)"
    assert pdf.metadata.author == "handouts"
    assert "Medicine sheet" in pdf.metadata.subject
    assert pdf.trailer["/Root"]["/Lang"] == "en"


def test_fonts_are_embedded_atkinson_hyperlegible(built_all):
    pdf = reader(built_all["faq"])
    fonts = {}
    for page in pdf.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()[
                "/FontDescriptor"]
            descriptor = descriptor.get_object()
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font["/BaseFont"])] = embedded
    assert fonts and all(fonts.values()), fonts
    assert all("Atkinson-Hyperlegible" in name for name in fonts), fonts


def test_faq_covers_the_topics_patients_ask_about(built_all):
    text = pdf_text(built_all["faq"])
    for topic in ["What does ALK-positive mean?", "What does stage IV mean?", "IHC", "FISH",
                  "NGS", "Liquid biopsy", "pneumonitis", "chemotherapy", "Palliative care",
                  "resistance", "clinical trial", "Words to know", "not born with it"]:
        assert topic.lower() in text.lower(), topic
    for drug in ["alectinib", "brigatinib", "ceritinib", "crizotinib", "ensartinib",
                 "lorlatinib"]:
        assert drug in text
    # The 6.8-year figure only ever appears with its context.
    assert "6.8 years" in text and "one study at one cancer center" in text


def test_questions_handout_has_30_questions_in_7_groups_and_write_in_space(builder, built_all):
    questions = builder.library.questions
    assert sum(len(g.questions) for g in questions.groups) >= 30
    assert len(questions.groups) >= 7
    text = pdf_text(built_all["questions"])
    for group in questions.groups:
        assert group.heading in text
        assert group.questions[-1] in text
    assert text.count("My notes:") == len(questions.groups)
    assert "My own questions" in text


def test_combined_pdf_has_parts_in_order_contents_and_new_pages(builder, tmp_path):
    built = builder.build(["faq", "drug-sheet", "questions"], "Alecensa", Options(),
                          tmp_path / "pack.pdf")
    pages = page_texts(built.path)
    first = pages[0]
    assert "In this packet" in first
    for title in ["Stage IV ALK-positive lung cancer", "Alectinib (Alecensa)",
                  "Questions to ask your doctor"]:
        assert title in first
    # Each part starts on a new page, in the order asked for.
    starts = [next(i for i, t in enumerate(pages) if marker in t)
              for marker in ["STAGE IV FAQ", "MEDICINE SHEET", "QUESTIONS TO ASK YOUR DOCTOR"]]
    assert starts == sorted(starts) and starts[0] == 0
    # The contents list gives real page numbers for each part.
    assert f"page {starts[1] + 1}" in first and f"page {starts[2] + 1}" in first
    # Internal links from the contents list work.
    links = [a.get_object() for a in reader(built.path).pages[0].get("/Annots", [])]
    assert sum(1 for a in links if a.get("/Subtype") == "/Link") >= 3


def test_personal_and_clinic_fields_appear(builder, tmp_path, clinic_file):
    options = Options(clinic=load_clinic(clinic_file),
                      personal=personal("Ana Diaz", "Dr. Lee", "2026-12-01"))
    built = builder.build(["drug-sheet"], "brigatinib", options, tmp_path / "ana.pdf")
    text = pdf_text(built.path)
    for value in ["Riverside Lung Clinic", "555-0100", "555-0199", "12 River Road",
                  "Prepared for: Ana Diaz", "Prescriber: Dr. Lee", "Date: December 1, 2026"]:
        assert value in text
    assert reader(built.path).metadata.author == "Riverside Lung Clinic"
    assert built.warnings == ()


def test_without_a_clinic_the_numbers_are_write_in_lines(built_all):
    text = pdf_text(built_all["drug-sheet-crizotinib"])
    assert "Clinic phone:" in text and "Nights and weekends:" in text
    assert "Prepared for:" in text and "Prescriber:" in text


def test_a4_paper(builder, tmp_path):
    from handouts.options import paper

    built = builder.build(["questions"], None, Options(paper=paper("a4")), out_dir=tmp_path)
    assert built.path.name == "questions-a4.pdf"
    box = reader(built.path).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_letter_is_the_default_paper(built_all):
    box = reader(built_all["faq"]).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_same_inputs_give_the_same_bytes(builder, tmp_path):
    first = builder.build(["faq"], None, Options(), tmp_path / "a.pdf")
    second = builder.build(["faq"], None, Options(), tmp_path / "b.pdf")
    assert first.path.read_bytes() == second.path.read_bytes()
