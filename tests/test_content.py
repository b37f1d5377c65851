"""Content files: the shipped ones pass, broken ones are reported with file and field."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from handouts.check import handout_sections
from handouts.content import load_library
from handouts.errors import ChoiceError, ContentError
from handouts.paths import default_content_dir


def problems_for(root) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_library(root)
    return caught.value.problems


def test_shipped_content_is_valid_and_has_six_drugs():
    library = load_library(default_content_dir(), today=date(2026, 11, 26))
    assert list(library.drugs) == ["alectinib", "brigatinib", "ceritinib", "crizotinib",
                                   "ensartinib", "lorlatinib"]
    for file in library.files():
        assert file.sources and file.last_checked and file.version


def test_every_drug_frames_the_dose_as_the_prescribers_not_as_an_order():
    for drug in load_library(default_content_dir()).drugs.values():
        example = drug.dose.example.lower()
        assert "usual dose" in example or "may start you" in example, drug.id
        assert "doctor" in example, drug.id
        if drug.dose.times_per_day == 2:
            assert "each time" in example, drug.id


def test_drugs_are_found_by_generic_or_brand_name_in_any_case():
    library = load_library(default_content_dir())
    assert library.drug("ALUNBRIG").id == "brigatinib"
    assert library.drug(" lorlatinib ").id == "lorlatinib"
    with pytest.raises(ChoiceError) as caught:
        library.drug("gefitinib")
    assert caught.value.exit_code == 2 and "ensartinib" in str(caught.value)


def test_every_problem_in_every_file_is_reported_together(content_copy):
    faq = content_copy / "faq.yaml"
    faq.write_text(faq.read_text().replace("last_checked: 2026-11-26", "last_checked: soon"))
    drug = content_copy / "drugs" / "crizotinib.yaml"
    text = drug.read_text().replace("\nsigns:", "\nsigns_list:")
    drug.write_text(text.replace('version: "2.0"', "version: 2.0"))
    problems = problems_for(content_copy)
    assert "content/faq.yaml:last_checked: must be a date written YYYY-MM-DD" in problems
    assert "content/drugs/crizotinib.yaml:signs: is required but missing" in problems
    assert any(p.startswith("content/drugs/crizotinib.yaml:signs_list: is not a known field")
               for p in problems)
    assert any(p.startswith("content/drugs/crizotinib.yaml:version: must be text")
               for p in problems)


def test_yaml_syntax_errors_name_the_line(content_copy):
    (content_copy / "common.yaml").write_text("kind: common\ntitle: [oops\n")
    (problem,) = problems_for(content_copy)
    assert problem.startswith("content/common.yaml:line ") and "YAML syntax error" in problem


def test_a_schedule_with_a_gap_is_rejected(content_copy):
    drug = content_copy / "drugs" / "brigatinib.yaml"
    drug.write_text(drug.read_text().replace("{start_day: 8,", "{start_day: 9,"))
    (problem,) = problems_for(content_copy)
    assert problem == ("content/drugs/brigatinib.yaml:dose.schedule: schedule step 1 starts "
                       "on day 9, expected day 8")


def test_a_drug_id_must_match_its_file_name(content_copy):
    (content_copy / "drugs" / "brigatinib.yaml").rename(content_copy / "drugs" / "brig.yaml")
    (problem,) = problems_for(content_copy)
    assert "content/drugs/brig.yaml:id:" in problem


def test_an_empty_section_body_is_rejected(content_copy):
    faq = content_copy / "faq.yaml"
    lines = faq.read_text().splitlines()
    start = lines.index("  - id: symptoms")
    # Keep the section's id and question; drop its body.
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id:"))
    faq.write_text("\n".join(lines[:start + 2] + ["    body: []"] + lines[end:]) + "\n")
    (problem,) = problems_for(content_copy)
    assert problem == "content/faq.yaml:sections.3.body: must not be empty"


def test_last_checked_in_the_future_is_an_error(content_copy):
    problems = problems_for_today(content_copy, date(2026, 1, 1))
    assert "content/faq.yaml:last_checked: 2026-11-26 is in the future" in problems


def problems_for_today(root, today):
    with pytest.raises(ContentError) as caught:
        load_library(root, today=today)
    return caught.value.problems


def test_brigatinib_schedule_gives_the_dose_for_each_day():
    dose = load_library(default_content_dir()).drug("brigatinib").dose
    assert [dose.amount_on(day) for day in (1, 7, 8, 30)] == ["90 mg", "90 mg", "180 mg",
                                                              "180 mg"]


SHARED = Path(__file__).resolve().parents[2] / "shared"


def _runs(text: str, length: int = 10) -> set[str]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i:i + length]) for i in range(len(words) - length + 1)}


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="../shared is not beside the repo")
def test_no_patient_facing_sentence_is_copied_from_the_sources():
    # Short factual runs ("for 3 months after your last dose") are expected; ten identical
    # words in a row is a copied sentence.
    sources = [*sorted((SHARED / "seeds").glob("*.txt")), SHARED / "facts" / "alk-facts.md"]
    copied_from = {path.name: _runs(path.read_text(encoding="utf-8")) for path in sources}
    library = load_library(default_content_dir())
    found = []
    for name, (_file, sections) in handout_sections(library).items():
        for title, _field, texts in sections:
            runs = _runs(" ".join(texts))
            found += [(name, title, source, sorted(runs & seen)[0])
                      for source, seen in copied_from.items() if runs & seen]
    assert found == []


def test_the_copy_check_would_catch_a_pasted_seed_sentence():
    seed = "It's OK to ask questions if you're not sure how a medicine or therapy might affect you"
    assert _runs(seed) & _runs("Remember: " + seed + ".")
