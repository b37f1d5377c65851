"""Content 2.0: safe by default, one triage rule per sign, primary sources, review dates.

Each story is told through real PDFs (pypdf, pdfplumber, pikepdf) or through `handouts
check` on a broken copy of the content, as a clinic would meet it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pdfplumber
import pikepdf
import pytest
import yaml

from conftest import pdf_text, text_collisions
from handouts.build import Builder
from handouts.check import check
from handouts.content import LEVELS, load_library
from handouts.options import PAPERS, PROFILES, Options, load_clinic, schedule
from handouts.paths import default_content_dir
from test_accessibility import MARGINS, MM, structure
from test_calendar import calendar_cells, day_number

LIBRARY = load_library(default_content_dir())
DRUGS = list(LIBRARY.drugs)
TWICE_DAILY = [d.id for d in LIBRARY.drugs.values() if d.dose.times_per_day == 2]


def calendar(builder, tmp_path, drug, dose=(), start="2026-12-01"):
    options = Options(schedule=schedule(start, None, list(dose)))
    return builder.build(["calendar"], drug, options, tmp_path / f"cal-{drug}.pdf").path


# ---- the calendar never pre-fills the label dose -------------------------------------


@pytest.mark.parametrize("drug", DRUGS)
def test_a_calendar_without_a_prescribed_dose_prints_no_amount_anywhere_a_patient_ticks(
        builder, tmp_path, drug):
    path = calendar(builder, tmp_path, drug)
    cells = calendar_cells(path)
    assert len(cells) == 28
    assert all("mg" not in text for _, text in cells), cells[:3]
    text = pdf_text(path)
    assert "New dose" not in text
    assert "My dose:" in text and "Take the dose your doctor prescribed." in text
    # The label's usual dose is there, as text above the grid, in the drug file's words.
    assert re.sub(r"\s+", " ", LIBRARY.drugs[drug].dose.example) in text


def test_a_prescribed_schedule_is_drawn_day_by_day_with_its_change_marked(builder, tmp_path):
    path = calendar(builder, tmp_path, "brigatinib", ["90 mg", "180 mg from day 8"])
    cells = {day_number(text): text for _, text in calendar_cells(path)}
    for day, text in cells.items():
        assert ("90 mg" if day <= 7 else "180 mg") in text.splitlines(), (day, text)
        assert ("New dose" in text) == (day == 8), (day, text)
    text = pdf_text(path)
    assert "My dose, as prescribed by my doctor: 90 mg; then 180 mg from day 8" in text
    assert "your prescribed dose changes to 180 mg" in text


@pytest.mark.parametrize("drug", TWICE_DAILY)
def test_twice_daily_amounts_say_each_time_everywhere(builder, tmp_path, drug):
    assert "each time" in LIBRARY.drugs[drug].dose.example
    path = calendar(builder, tmp_path, drug, ["200 mg"])
    cells = calendar_cells(path)
    assert all("200 mg each time" in text.replace("\n", " ") for _, text in cells)
    sheet = builder.build(["drug-sheet"], drug, Options(), tmp_path / "sheet.pdf").path
    assert "each time" in pdf_text(sheet)


def test_the_staff_dose_steps_are_checked_in_one_line(tmp_path):
    from click.testing import CliRunner

    from handouts.cli import cli

    result = CliRunner().invoke(cli, ["build", "calendar", "--drug", "brigatinib",
                                      "--dose", "90 mg", "--dose", "180 mg",
                                      "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "each dose after the first needs 'from day N'" in result.output
    assert not (tmp_path / "x.pdf").exists()


# ---- one triage level per sign, the same words everywhere -----------------------------


def test_every_sign_has_one_level_and_its_own_words():
    texts = [sign.text.lower() for sign in LIBRARY.triage.signs]
    assert len(texts) == len(set(texts))
    for drug in LIBRARY.drugs.values():
        ids = [ref.id for ref in drug.signs]
        assert len(ids) == len(set(ids)), drug.id
        assert LIBRARY.signs(drug.signs, "call_now"), f"{drug.id} has no call-now signs"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("drug", DRUGS)
def test_diary_bands_sheet_and_calendar_state_each_sign_at_one_level(builder, tmp_path, drug):
    """The 1.0 diaries put cough under "call today" while every sheet said "right away"."""
    levels = LIBRARY.triage.levels
    diary = builder.build(["diary"], drug, Options(), tmp_path / "diary.pdf").path
    diary_text = pdf_text(diary)
    first_page = diary_text[:diary_text.index("Week 1")]  # the bands come before the grid
    headings = [levels[level] for level in LEVELS if LIBRARY.signs(
        LIBRARY.drugs[drug].signs, level)]
    positions = [first_page.index(heading) for heading in headings]
    assert positions == sorted(positions)
    bands = dict(zip(headings, [first_page[a:b] for a, b in
                                zip(positions, [*positions[1:], len(first_page)], strict=True)],
                     strict=True))
    sheet = pdf_text(builder.build(["drug-sheet"], drug, Options(), tmp_path / "s.pdf").path)
    cal = pdf_text(calendar(builder, tmp_path, drug))
    for level in LEVELS:
        for sign, _ in LIBRARY.signs(LIBRARY.drugs[drug].signs, level):
            words = _flat(sign.text)
            holding = [heading for heading, band in bands.items() if words in band]
            assert holding == [levels[level]], (sign.id, holding)
            if level != "next_visit":
                assert words in sheet and words in cal, sign.id


# ---- sources: primary documents only, printed so a pharmacist can look them up --------

NOT_PRIMARY = re.compile(r"drugs\.com|prescriberpoint|rxreasoner|globalrph|120ty|themeditary|"
                         r"medlibrary|mims|fact sheet|handout authors|\.com/|news", re.I)


def test_printed_sources_are_primary_and_labels_carry_their_set_id(built_all):
    for name, path in built_all.items():
        text = pdf_text(path)
        sources = text[text.rindex("Where this information comes from"):]
        assert not NOT_PRIMARY.search(sources), (name, NOT_PRIMARY.search(sources)[0])
        if name.startswith("drug-sheet-"):
            drug = LIBRARY.drugs[name.removeprefix("drug-sheet-")]
            label = next(s for s in LIBRARY.cited([drug]) if s.kind == "label")
            assert f"DailyMed set ID {label.setid}" in sources
            assert "US Prescribing Information" in sources


def _edit(path, change):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("change, field, words", [
    (lambda e: [e.pop("pmid", None), e.pop("doi", None)], "id", "has no identifier"),
    (lambda e: e.update(url="https://www.drugs.com/pro/x.html"), "url", "not a primary"),
    (lambda e: e.update(title="ALK fact sheet for handout authors"), "title", "fact sheet"),
])
def test_check_fails_a_source_that_is_not_a_primary_document(content_copy, change, field,
                                                              words):
    sources = content_copy / "sources.yaml"
    index = [e["id"] for e in yaml.safe_load(sources.read_text())["entries"]].index("alex-2025")
    _edit(sources, lambda data: change(data["entries"][index]))
    report = check(content_copy, date(2026, 11, 26))
    found = [f for f in report.findings if f.where.endswith(f"entries.{index}.{field}")]
    assert found and found[0].level == "error" and words in found[0].message, report.findings
    assert not report.passed()


def test_an_unknown_source_or_sign_id_names_the_file_and_field(content_copy):
    _edit(content_copy / "drugs/lorlatinib.yaml",
          lambda d: (d["sources"].append("drugs-com"), d["signs"].append("made-up")))
    report = check(content_copy, date(2026, 11, 26))
    messages = [str(f) for f in report.findings]
    assert any("drugs/lorlatinib.yaml:sources." in m and "'drugs-com'" in m for m in messages)
    assert any("drugs/lorlatinib.yaml:signs." in m and "'made-up'" in m for m in messages)


# ---- review records -------------------------------------------------------------------


def test_each_handout_shows_its_review_and_next_review(built_all):
    review = LIBRARY.drugs["alectinib"].review
    text = pdf_text(built_all["drug-sheet-alectinib"])
    assert f"Reviewed {review.reviewed_on:%B} {review.reviewed_on.day}, " in text
    assert f"Next review due {review.next_review:%B} {review.next_review.day}, " in text


def test_check_warns_sixty_days_before_a_review_is_due_and_fails_after():
    due = min(f.review.next_review for f in LIBRARY.files())
    early = check(default_content_dir(), due - timedelta(days=30))
    assert any(f.level == "warning" and f.where.endswith("review.next_review")
               for f in early.findings)
    late = check(default_content_dir(), due + timedelta(days=1))
    assert any(f.level == "error" and f.where.endswith("review.next_review")
               for f in late.findings)
    assert not late.passed()


# ---- a new ALK inhibitor is a content-only change ---------------------------------------


def test_a_new_drug_file_updates_the_faq_list_and_count(content_copy, tmp_path):
    before = len(LIBRARY.approved_drugs())
    new = yaml.safe_load((content_copy / "drugs/lorlatinib.yaml").read_text())
    new.update(id="newtinib", generic="newtinib", brand="Newvia", title="Newtinib (Newvia)",
               approved="November 2026")
    (content_copy / "drugs/newtinib.yaml").write_text(yaml.safe_dump(new, sort_keys=False))
    built = Builder(content_copy).build(["faq"], None, Options(), tmp_path / "faq.pdf")
    text = pdf_text(built.path)
    assert f"the FDA has approved {before + 1} ALK inhibitors" in text
    assert "Newtinib (Newvia), first approved November 2026" in text


def test_check_fails_prose_that_counts_the_drugs(content_copy):
    _edit(content_copy / "faq.yaml",
          lambda d: d["sections"][0]["body"].append("There are six ALK inhibitors today."))
    report = check(content_copy, date(2026, 11, 26))
    assert any(f.level == "error" and "how many ALK inhibitors" in f.message
               for f in report.findings)


def test_no_shipped_prose_counts_the_drugs():
    report = check(default_content_dir(), date(2026, 11, 26))
    assert not [f for f in report.findings if "how many ALK inhibitors" in f.message]


# ---- pictograms are tagged figures that say the instruction ----------------------------


def test_pictograms_are_tagged_figures_with_the_instruction_as_alt_text(builder, tmp_path):
    built = builder.build(["drug-sheet"], "alectinib", Options(), tmp_path / "a.pdf")
    with pikepdf.open(built.path) as pdf:
        alts = [str(e.Alt) for e in structure(pdf) if e.S == "/Figure"]
    pictograms = LIBRARY.common.pictograms
    assert pictograms["with-food"].alt in alts
    assert pictograms["call-now"].alt in alts
    for name in LIBRARY.drugs["alectinib"].pictograms:
        assert pictograms[name].alt in alts


# ---- layout a patient can follow: boxes whole, no stray lines --------------------------

LAYOUTS = [(paper, profile) for paper in PAPERS for profile in PROFILES]


@pytest.fixture(scope="module")
def layouts(builder, tmp_path_factory):
    """Every drug sheet, the FAQ, and one calendar and diary, in both papers and profiles,
    with a clinic so the boxes hold real numbers."""
    from conftest import write_clinic

    out = tmp_path_factory.mktemp("layouts")
    clinic = load_clinic(write_clinic(out))
    built = {}
    for paper, profile in LAYOUTS:
        options = Options(paper=PAPERS[paper], profile=PROFILES[profile], clinic=clinic)
        jobs = [(["drug-sheet"], d) for d in DRUGS] + [(["faq"], None), (["questions"], None),
                                                      (["calendar"], "alectinib"),
                                                      (["diary"], "lorlatinib")]
        for kinds, drug in jobs:
            name = f"{kinds[0]}-{drug or 'all'}-{paper}-{profile}"
            built[name] = (builder.build(kinds, drug, options, out / f"{name}.pdf").path,
                           profile)
    return built


def _body_lines(page, profile) -> list[str]:
    top, bottom = (m * MM for m in MARGINS[profile])
    body = page.crop((0, top - 2, page.width, page.height - bottom + 2))
    return [line for line in (body.extract_text() or "").splitlines() if line.strip()]


def test_the_call_box_is_on_one_page_with_its_phone_numbers(layouts):
    for name, (path, _) in layouts.items():
        with pdfplumber.open(path) as pdf:
            pages = [_flat(page.extract_text() or "") for page in pdf.pages]
        # The diary's call-now band is its call box.
        heading = (LIBRARY.triage.levels["call_now"] if name.startswith("diary")
                   else "Call your care team right away if…")
        holding = [p for p in pages if heading in p]
        assert holding, name
        for page in holding:
            assert "Clinic phone: 555-0100" in page, name
            assert "Nights and weekends: 555-0199" in page, name
            assert "911" in page, name


def test_the_missed_dose_rule_stays_with_its_heading(layouts):
    for name, (path, _) in layouts.items():
        if not name.startswith("drug-sheet"):
            continue
        drug = LIBRARY.drugs[name.split("-")[2]]
        with pdfplumber.open(path) as pdf:
            pages = [_flat(page.extract_text() or "") for page in pdf.pages]
        page = next(p for p in pages if "If you miss a dose or throw up" in p)
        assert _flat(drug.vomited_dose) in page, name


def _write_in_rules(page, profile) -> int:
    top, bottom = (m * MM for m in MARGINS[profile])
    return sum(1 for edge in page.horizontal_edges
               if top < edge["top"] < page.height - bottom and edge["width"] > 100)


def test_no_text_runs_into_other_text_or_out_of_its_cell(layouts):
    """Large print's tables and grids, where columns are tightest (every drug sheet, a
    calendar and a diary, both papers): no character drawn over another, no word over its
    table cell's rule. (Scanning every layout took 25 s of CI: the FAQ's and questions'
    running text has no columns to run into.)"""
    tight = {name: path for name, (path, profile) in layouts.items()
             if profile == "large-print" and not name.startswith(("faq", "questions"))}
    assert len(tight) == 2 * 8
    for name, path in tight.items():
        assert text_collisions(path) == [], name


def test_no_page_holds_a_stray_line(layouts):
    """Every page carries at least three lines of text, or lines drawn to write on."""
    for name, (path, profile) in layouts.items():
        with pdfplumber.open(path) as pdf:
            for number, page in enumerate(pdf.pages, 1):
                lines = _body_lines(page, profile)
                assert len(lines) >= 3 or _write_in_rules(page, profile) >= 3, \
                    (name, number, lines)
