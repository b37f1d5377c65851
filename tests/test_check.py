"""`handouts check`: schema, freshness and the reading-level gate, as a clinic would run it."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from click.testing import CliRunner

from handouts.check import check
from handouts.cli import cli
from handouts.readability import score, sentences, syllables

TODAY = date(2026, 11, 26)


def run(*args):
    return CliRunner().invoke(cli, ["check", *args], catch_exceptions=False)


def test_our_own_content_passes_the_strict_gate_with_no_exemptions():
    result = run("--strict")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("PASS (strict")


def test_json_report_has_grades_for_every_section_of_every_handout():
    data = json.loads(run("--format", "json").output)
    names = {h["name"] for h in data["handouts"]}
    assert {"faq", "questions", "glossary", "shared", "drug-sheet-brigatinib"} <= names
    for handout in data["handouts"]:
        assert handout["sections"]
        for section in handout["sections"]:
            assert section["flesch_kincaid"] <= handout["grade_limit"]
            assert section["smog"] <= handout["grade_limit"]
    assert data["passed"] is True and data["errors"] == 0


def test_syllables_come_from_the_dictionary_offline():
    assert [syllables(w) for w in ["cat", "water", "medicine", "pneumonitis"]] == [1, 2, 3, 4]
    assert syllables("zorblaxing") == 3  # not in the dictionary: vowel groups


def test_flesch_kincaid_and_smog_match_the_formulas():
    result = score(["The cat sat on the mat.", "It was happy there."])
    assert (result.words, result.sentences, result.syllables) == (10, 2, 11)
    assert round(result.flesch_kincaid, 2) == round(0.39 * 5 + 11.8 * 1.1 - 15.59, 2)


def test_taught_words_count_as_one_syllable():
    plain = score(["Pneumonitis can be serious."])
    taught = score(["Pneumonitis can be serious."], known=frozenset({"pneumonitis"}))
    assert plain.syllables - taught.syllables == 3
    assert taught.polysyllables == plain.polysyllables - 1


def test_list_items_and_sentences_split():
    assert sentences(["One. Two? Three!", "A list item"]) == ["One.", "Two?", "Three!",
                                                             "A list item"]


def test_hard_text_fails_the_gate_and_names_file_and_field(content_copy):
    drug = content_copy / "drugs" / "ensartinib.yaml"
    hard = ("Concomitant administration with pharmacokinetically significant cytochrome "
            "modulators necessitates individualized therapeutic reconsideration.")
    drug.write_text(drug.read_text().replace("pregnancy:\n", f"pregnancy:\n  - {hard}\n", 1))
    result = run("--content-dir", str(content_copy))
    assert result.exit_code == 1
    assert re.search(r"content/drugs/ensartinib.yaml:pregnancy: error: "
                     r"(Flesch-Kincaid|SMOG) grade", result.output)
    assert result.output.strip().splitlines()[-1].startswith("FAIL")


def test_long_sentences_and_unexplained_medical_words_are_warnings(content_copy):
    faq = content_copy / "faq.yaml"
    long = " ".join(["word"] * 26) + "."
    text = faq.read_text().replace("  - id: who-gets-it\n",
                                   f"  - id: tachy\n    question: Why?\n    body:\n"
                                   f"      - {long}\n      - You may get hepatotoxicity.\n"
                                   "  - id: who-gets-it\n", 1)
    faq.write_text(text)
    report = check(content_copy, TODAY)
    messages = [str(f) for f in report.findings]
    assert any("sentences.1" not in m and "sentence over 25 words" in m for m in messages)
    assert ("content/faq.yaml:sections.1: warning: medical word 'hepatotoxicity' is not in "
            "the glossary") in messages
    assert report.passed(strict=False) and not report.passed(strict=True)
    assert run("--content-dir", str(content_copy)).exit_code == 0
    assert run("--content-dir", str(content_copy), "--strict").exit_code == 1


def test_stale_content_is_a_warning_that_strict_turns_into_a_failure(content_copy):
    path = content_copy / "questions.yaml"
    path.write_text(path.read_text().replace("last_checked: 2026-11-26",
                                             "last_checked: 2024-01-15"))
    report = check(content_copy, TODAY, max_age_days=365)
    (stale,) = [f for f in report.findings if "last_checked" in f.where]
    assert stale.where == "content/questions.yaml:last_checked" and stale.level == "warning"
    assert check(content_copy, TODAY, max_age_days=2000).passed(strict=True)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_schema_problems_are_all_reported(content_copy, fmt):
    (content_copy / "glossary.yaml").write_text("kind: glossary\ntitle: G\n")
    result = run("--content-dir", str(content_copy), "--format", fmt)
    assert result.exit_code == 1
    for field in ["version", "last_checked", "sources", "terms"]:
        assert f"content/glossary.yaml:{field}" in result.output
