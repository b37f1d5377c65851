"""Medicine calendar and side-effect diary: open the PDFs and read the grids back.

pdfplumber finds the ruled grid tables; each calendar cell reads "Dec 1 / Day 1 / 90 mg /
Dose taken", so dates, amounts and tick boxes can be checked cell by cell.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pdfplumber
import pytest
import yaml
from click.testing import CliRunner

from conftest import pdf_text
from handouts.cli import cli
from handouts.options import Options, load_clinic, schedule

MM = 72 / 25.4
BOX = 4.5 * MM  # the tick box's side, as drawn by handout.css


def build(builder, tmp_path, kinds, drug, name="out.pdf", **options):
    sched = schedule(options.pop("start", None), options.pop("weeks", None),
                     options.pop("dose", None))
    return builder.build(kinds, drug, Options(schedule=sched, **options), tmp_path / name)


def calendar_cells(path) -> list[tuple[int, str]]:
    """(column 0-6, cell text) for every filled day cell of every calendar grid."""
    cells = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables():
                for row in table:
                    if len(row) == 8 and (row[0] or "").strip().isdigit():
                        cells += [(n, text) for n, text in enumerate(row[1:]) if text]
    return cells


def day_number(text: str) -> int:
    return int(re.search(r"Day (\d+)", text).group(1))


def tick_boxes(path) -> int:
    with pdfplumber.open(path) as pdf:
        return sum(1 for page in pdf.pages for r in page.rects
                   if abs(r["width"] - BOX) < 1.5 and abs(r["height"] - BOX) < 1.5)


def test_dated_calendar_rows_are_treatment_weeks_under_their_weekdays(builder, tmp_path):
    """Week 1 is days 1-7 whatever weekday day 1 is (a Tuesday here): no blank cells, and
    the columns are headed with the weekdays from day 1's."""
    built = build(builder, tmp_path, ["calendar"], "ensartinib", start="2026-12-01", weeks=3)
    cells = calendar_cells(built.path)
    assert [day_number(text) for _, text in cells] == list(range(1, 22))
    for column, text in cells:
        when = date(2026, 12, 1) + timedelta(days=day_number(text) - 1)
        assert text.startswith(f"{when:%b} {when.day}\n"), text
        assert column == (day_number(text) - 1) % 7, (text, column)
    text = pdf_text(built.path)
    assert "December 1, 2026 to December 21, 2026" in text
    assert "Tuesday Wednesday Thursday Friday Saturday Sunday Monday" in text


@pytest.mark.parametrize("profile", ["standard", "large-print"])
def test_a_dated_grid_takes_the_pages_of_its_undated_self(builder, tmp_path, profile):
    """Same rows and header height dated or not, so compose.py can replace only the dated
    pages of a shared render: the missed-dose box lands on the same page either way."""
    from handouts.options import PROFILES

    for drug in ("alectinib", "crizotinib", "lorlatinib"):
        texts = []
        for start in (None, "2026-12-05"):  # a Saturday: a Sunday-first grid had 5 rows
            built = build(builder, tmp_path, ["calendar"], drug, f"{drug}-{start}.pdf",
                          start=start, profile=PROFILES[profile])
            with pdfplumber.open(built.path) as pdf:
                texts.append([("If you miss a dose" in (page.extract_text() or ""))
                              for page in pdf.pages])
        assert texts[0] == texts[1], (drug, texts)


def straddling_words(path, header_lines: int = 3) -> list[str]:
    """Words of a calendar grid's header and cells that run over a column's edge (into the
    next day's cell): the column edges are the day cells' rules; the header is the lines
    above the grid (three in large print, two in standard), the week column's heading on
    the last (handout.css). Fails when it finds no grid, so that it never passes by
    reading nothing."""
    found, grids = [], 0
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for table in page.find_tables():
                edges = sorted({round(cell[0], 1) for cell in table.cells}
                               | {round(cell[2], 1) for cell in table.cells})
                words = page.extract_words()
                if len(edges) != 9:
                    continue  # not a calendar grid
                grids += 1
                # pdfplumber may take the missed-dose box under the grid into its table
                bottom = max(cell[3] for cell in table.cells
                             if round(cell[2] - cell[0]) < round(edges[-1] - edges[0]))
                week = [w for w in words if w["text"] in ("Week", "Semana")
                        and w["x1"] <= edges[1] + 1 and w["bottom"] <= bottom]
                head = week[0]
                top = head["top"] - (header_lines - 1) * 1.2 * (head["bottom"] - head["top"])
                found += [w["text"] for w in words
                          if top - 1 <= w["top"] and w["bottom"] <= bottom
                          and any(w["x0"] < x - 0.5 and w["x1"] > x + 0.5 for x in edges)]
    assert grids, f"no calendar grid found in {path}"
    return found


@pytest.mark.parametrize("profile", ["standard", "large-print"])
@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("drug", ["alectinib", "lorlatinib"])  # "Morning"; "Dose taken"
def test_grid_words_stay_in_their_cells_on_letter(builder, tmp_path, drug, lang, profile):
    """Letter is the narrowest landscape page. In large print "Wednesday" ran into
    "Thursday" and "Semana" into "Día 1" until weekday headers were abbreviated there and
    the columns got their room (profile-large-print.css); in both profiles "Dosis tomada"
    ran into the next day's cell until tick labels could wrap beside their box."""
    from handouts.options import PROFILES

    for start in (None, "2026-12-02"):  # a Wednesday, the widest weekday name
        built = build(builder, tmp_path, ["calendar"], drug, f"{drug}-{lang}-{start}.pdf",
                      start=start, lang=lang, profile=PROFILES[profile])
        assert straddling_words(built.path, 3 if profile == "large-print" else 2) == []
        if start and profile == "large-print":
            text = pdf_text(built.path)
            assert ("Wed Thu Fri Sat Sun Mon Tue" if lang == "en"
                    else "Mié Jue Vie Sáb Dom Lun Mar") in text


@pytest.mark.parametrize("drug, per_day, labels", [
    ("alectinib", 2, ["Morning", "Evening"]), ("crizotinib", 2, ["Morning", "Evening"]),
    ("lorlatinib", 1, ["Dose taken"]),
])
def test_one_tick_box_per_dose(builder, tmp_path, drug, per_day, labels):
    built = build(builder, tmp_path, ["calendar"], drug, weeks=2)
    cells = calendar_cells(built.path)
    assert len(cells) == 14
    assert all(text.splitlines()[-per_day:] == labels for _, text in cells)
    assert tick_boxes(built.path) == 14 * per_day


@pytest.mark.parametrize("drug", ["alectinib", "ceritinib", "lorlatinib"])
def test_food_rule_and_missed_dose_rule_come_from_the_drug_file(builder, tmp_path, drug):
    text = pdf_text(build(builder, tmp_path, ["calendar"], drug).path)
    data = yaml.safe_load(builder.library.drugs[drug].origin.path.read_text())
    missed = data["missed_dose"]
    assert f"Food: {' '.join(data['food_text'].split())}" in text
    assert "If you miss a dose or throw up" in text
    assert " ".join(missed.split()) in text
    # the missed-dose box comes after the grid
    assert text.index("If you miss a dose or throw up") > text.rindex("Day 28")


def test_without_start_the_grid_has_write_in_dates(builder, tmp_path):
    built = build(builder, tmp_path, ["calendar"], "lorlatinib", weeks=1)
    cells = calendar_cells(built.path)
    assert [text.splitlines()[:2] for _, text in cells] == [["Date:", f"Day {n}"]
                                                           for n in range(1, 8)]
    text = pdf_text(built.path)
    assert "Day 1 of the week" in text and "Sunday" not in text


def test_the_prescribers_dose_is_printed_as_typed_text_on_every_day(builder, tmp_path):
    built = build(builder, tmp_path, ["calendar"], "brigatinib", start="2026-12-01",
                  dose="60 mg <b>")
    text = pdf_text(built.path)
    assert "My dose, as prescribed by my doctor: 60 mg <b>" in text
    cells = calendar_cells(built.path)
    assert all("60 mg <b>" in cell and "New dose" not in cell for _, cell in cells)


@pytest.mark.parametrize("args, message", [
    (["--weeks", "0"], "--weeks must be from 1 to 12, not 0"),
    (["--weeks", "13"], "--weeks must be from 1 to 12, not 13"),
    (["--start", "2026-02-30"], "--start names a day that does not exist"),
    (["--start", "next monday"], "--start must be a date written YYYY-MM-DD"),
])
def test_bad_calendar_options_exit_2_with_one_line(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["build", "calendar", "--drug", "alectinib", *args,
                                      "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_a_drug_without_diary_data_is_a_clear_error(tmp_path, content_copy):
    path = content_copy / "drugs" / "alectinib.yaml"
    data = yaml.safe_load(path.read_text())
    data.pop("diary")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    runner = CliRunner()
    result = runner.invoke(cli, ["build", "diary", "--drug", "alectinib", "--content-dir",
                                 str(content_copy), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "alectinib has no diary data (content/drugs/alectinib.yaml:diary)" in result.output
    # the drug's own sheet still builds
    result = runner.invoke(cli, ["build", "drug-sheet", "--drug", "alectinib", "--content-dir",
                                 str(content_copy), "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output


DIARY_ROWS = {  # a drug's own rows, for the signs its label names
    "lorlatinib": ["Mood", "Memory or thinking", "Swelling", "Numbness or tingling"],
    "alectinib": ["Muscle pain", "Sunburn"],
    "crizotinib": ["Vision changes"],
    "brigatinib": ["Breathing or cough", "Blood pressure"],
}


def diary_rows(path) -> list[str]:
    """Row headings of the first week's diary table."""
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables():
                heads = [n for n, row in enumerate(table) if "How I feel" in (row[0] or "")]
                if heads:
                    return [" ".join((row[0] or "").split()) for row in table[heads[0] + 1:]]
    raise AssertionError("no diary table found")


@pytest.mark.parametrize("drug", sorted(DIARY_ROWS))
def test_each_diary_lists_its_own_drugs_symptoms_then_the_general_rows(builder, tmp_path, drug):
    built = build(builder, tmp_path, ["diary"], drug)
    rows = diary_rows(built.path)
    own = list(builder.library.drugs[drug].diary.rows)
    assert rows[:len(own)] == own
    assert set(DIARY_ROWS[drug]) <= set(rows)
    assert {"Tiredness", "Appetite", "Bowel habits (loose or hard stools)"} <= set(rows)
    assert len(rows) == len(set(r.lower() for r in rows))  # "Tiredness" only once
    text = pdf_text(built.path)
    assert "Week 1" in text and "Week 2" in text and "Week 3" not in text
    assert text.count("Notes") >= 2


def test_diary_bands_list_the_drugs_signs_with_the_clinics_numbers(builder, tmp_path,
                                                                   clinic_file):
    clinic = load_clinic(clinic_file)
    assert clinic.after_hours_phone and clinic.phone
    built = build(builder, tmp_path, ["diary"], "lorlatinib", clinic=clinic,
                  start="2026-12-01")
    text = pdf_text(built.path)
    library = builder.library
    levels = library.triage.levels
    now = text[text.index(levels["emergency"]):text.index(levels["call_now"])]
    today = text[text.index(levels["call_now"]):text.index(levels["next_visit"])]
    visit = text[text.index(levels["next_visit"]):text.index("Week 1: ")]
    signs = library.drugs["lorlatinib"].signs
    for band, level in ((now, "emergency"), (today, "call_now"), (visit, "next_visit")):
        assert all(" ".join(s.text.split()) in band for s, _ in library.signs(signs, level))
    assert "911" in now
    assert clinic.phone in today and clinic.after_hours_phone in today
    assert "Week 1: December 1, 2026 to December 7, 2026" in text
    assert "Tue Dec 1" in text


def test_diary_bands_print_two_columns_of_signs_each_one_tagged_list(builder, tmp_path):
    """The bands' signs sit in two columns (handout.css .two-columns), yet each band is
    one list of items in the tagged PDF, read left column first."""
    import pikepdf

    from test_accessibility import structure

    built = build(builder, tmp_path, ["diary"], "brigatinib")
    library = builder.library
    signs = library.signs(library.drugs["brigatinib"].signs, "call_now")
    with pdfplumber.open(built.path) as pdf:
        page = next(p for p in pdf.pages if library.triage.levels["call_now"] in p.extract_text())
        bullets = {round(c["x0"]) for c in page.chars if c["text"] == "•"}
    assert len(bullets) == 2, bullets  # a left and a right column of bullets
    with pikepdf.open(built.path) as pdf:
        lists = [e for e in structure(pdf) if e.S == "/L"]
    items = [len(e.K) if isinstance(e.K, pikepdf.Array) else 1 for e in lists]
    assert len(signs) in items
    for element in lists:
        kids = element.K if isinstance(element.K, pikepdf.Array) else [element.K]
        assert all(k.S == "/LI" for k in kids)


def test_diary_without_a_clinic_has_write_in_numbers(builder, tmp_path):
    text = pdf_text(build(builder, tmp_path, ["diary"], "brigatinib").path)
    levels = builder.library.triage.levels
    today = text[text.index(levels["call_now"]):text.index(levels["next_visit"])]
    assert "Nights and weekends:" in today and "Clinic phone:" in today


@pytest.mark.parametrize("paper, size", [("letter", (792, 612)), ("a4", (842, 595))])
@pytest.mark.parametrize("profile", ["standard", "large-print"])
def test_calendar_and_diary_print_landscape_on_every_paper_and_profile(builder, tmp_path,
                                                                       paper, size, profile):
    from handouts.options import PAPERS, PROFILES

    built = build(builder, tmp_path, ["calendar", "diary"], "alectinib", start="2026-12-01",
                  paper=PAPERS[paper], profile=PROFILES[profile])
    assert built.warnings == ()
    with pdfplumber.open(built.path) as pdf:
        assert {(round(p.width), round(p.height)) for p in pdf.pages} == {size}
    cells = calendar_cells(built.path)
    assert [day_number(t) for _, t in cells] == list(range(1, 29))
    assert tick_boxes(built.path) == 28 * 2


def test_a_combined_build_mixes_portrait_and_landscape_pages(builder, tmp_path):
    built = build(builder, tmp_path, ["drug-sheet", "calendar"], "brigatinib",
                  start="2026-12-01")
    with pdfplumber.open(built.path) as pdf:
        sizes = [(round(p.width), round(p.height)) for p in pdf.pages]
    text = pdf_text(built.path)
    page = int(re.search(r"Medicine calendar: Brigatinib \(Alunbrig\) — page (\d+)",
                         text).group(1))  # from the contents list
    assert set(sizes[:page - 1]) == {(612, 792)}  # the drug sheet, portrait
    assert set(sizes[page - 1:]) == {(792, 612)}  # the calendar, from its own page on


def test_cli_names_dated_files_by_start_and_weeks(tmp_path):
    result = CliRunner().invoke(cli, ["build", "calendar", "--drug", "Alunbrig", "--start",
                                      "2026-12-01", "--weeks", "6", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    path = tmp_path / "calendar-brigatinib-from-2026-12-01-6-weeks.pdf"
    assert path.is_file()
    assert len(calendar_cells(path)) == 42


def test_calendar_options_on_other_kinds_are_refused_not_ignored(tmp_path):
    result = CliRunner().invoke(cli, ["build", "drug-sheet", "--drug", "alectinib",
                                      "--start", "2026-12-01", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--start, --weeks and --dose are for the calendar and diary kinds" in result.output
    assert not list(tmp_path.iterdir())


def body_lines(page, top_mm: float = 18, bottom_mm: float = 30) -> int:
    """Lines of text between the running header and footer (large print's margins)."""
    return len({round(w["top"]) for w in page.extract_words()
                if w["top"] > top_mm * MM - 2 and w["bottom"] < page.height - bottom_mm * MM + 2})


@pytest.mark.parametrize("kind, drug, lang, paper_name", [
    ("diary", "ensartinib", "es", "letter"),  # "When to call" was alone on a page
    ("calendar", "ensartinib", "es", "letter"),  # so was the last source (two lines)
    ("diary", "lorlatinib", "en", "a4"),  # the two phone numbers fell on two pages
    ("diary", "brigatinib", "es", "letter"),  # "My diary" and its key alone on a page
])
def test_large_print_pages_hold_more_than_a_stray_line_and_phones_stay_together(
        builder, tmp_path, kind, drug, lang, paper_name):
    from handouts.options import PAPERS, PROFILES

    built = build(builder, tmp_path, [kind], drug, start="2026-12-02", lang=lang,
                  paper=PAPERS[paper_name], profile=PROFILES["large-print"])
    phones = {"en": ("Clinic phone:", "Nights and weekends:"),
              "es": ("Teléfono de la clínica:", "Noches y fines de semana:")}[lang]
    when = {"en": "When to call", "es": "Cuándo llamar"}[lang]
    with pdfplumber.open(built.path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            text = page.extract_text()
            assert body_lines(page) >= 3, (number, text)
            # A band's phone numbers are on one page; "When to call" is above a band.
            assert (phones[0] in text) == (phones[1] in text), (number, text)
            if when in text:
                assert text.index(when) < text.rindex("911"), (number, text)


@pytest.mark.parametrize("paper_name", ["letter", "a4"])
def test_a_large_print_diary_week_fits_one_page_with_the_longest_rows(builder, tmp_path,
                                                                      paper_name):
    """Spanish lorlatinib has eleven rows, five of whose labels wrap: each week's table
    spilled onto a second page under a repeated header (A4 is the shorter page)."""
    from handouts.options import PAPERS, PROFILES

    built = build(builder, tmp_path, ["diary"], "lorlatinib", start="2026-12-02", lang="es",
                  paper=PAPERS[paper_name], profile=PROFILES["large-print"])
    with pdfplumber.open(built.path) as pdf:
        headed = [n for n, page in enumerate(pdf.pages)
                  if "Cómo me siento" in (page.extract_text() or "")]
        last_rows = [n for n, page in enumerate(pdf.pages)
                     if "Evacuaciones" in (page.extract_text() or "")]
    assert len(headed) == 2 and headed == last_rows  # two weeks, each whole on its page
