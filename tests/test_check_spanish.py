"""`handouts check` on the Spanish edition: parity with English, the termbase and Spanish
reading ease each catch a broken copy, and name the file and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from handouts.check import check
from handouts.cli import cli
from spanish import spanish_content

TODAY = date(2026, 11, 26)


@pytest.fixture
def content_es(tmp_path) -> Path:
    return spanish_content(tmp_path / "content")[0]


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def mutate(path: Path, change) -> None:
    """Load a content file, let `change` edit the data, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")


def findings(root: Path, level: str | None = None) -> list[str]:
    return [str(f) for f in check(root, TODAY).findings if level is None or f.level == level]


def parity_and_terms(lines: list[str]) -> list[str]:
    return [line for line in lines if "differ" in line or "termbase" in line
            or "stale" in line]


def test_the_spanish_content_matches_english_and_keeps_the_termbase(content_es):
    assert parity_and_terms(findings(content_es)) == []


def test_a_changed_dose_is_a_parity_error(content_es):
    spanish = content_es / "es" / "drugs" / "alectinib.yaml"
    edit(spanish, "600 mg", "60 mg")
    errors = [f for f in findings(content_es, "error") if "(numbers)" in f]
    assert errors and "content/es/drugs/alectinib.yaml:(numbers)" in errors[0]
    assert "missing 600 mg" in errors[0] and "not in English: 60 mg" in errors[0]


def test_a_dropped_key_point_is_a_parity_error(content_es):
    mutate(content_es / "es" / "drugs" / "brigatinib.yaml",
           lambda data: data["key_points"].pop())
    assert any("content/es/drugs/brigatinib.yaml:key_points: error: list length differs"
               in f for f in findings(content_es))


def test_changed_signs_or_sources_are_parity_errors(content_es):
    def change(data):
        data["sources"] = data["sources"][:1]
        data["signs"][:2] = data["signs"][1::-1]  # two signs swapped: a different order

    mutate(content_es / "es" / "drugs" / "lorlatinib.yaml", change)
    lines = findings(content_es, "error")
    assert any("content/es/drugs/lorlatinib.yaml:sources" in f for f in lines), lines
    assert any("content/es/drugs/lorlatinib.yaml:signs.0" in f and "differs" in f
               for f in lines), lines


def test_a_newer_english_file_makes_the_spanish_one_stale(content_es):
    edit(content_es / "faq.yaml", 'version: "2.0"', 'version: "2.1"')
    stale = [f for f in findings(content_es) if "stale" in f]
    assert stale == ["content/es/faq.yaml:translation_of: warning: stale: translates English "
                     "version 2.0, but content/faq.yaml is now version 2.1; update the "
                     "translation, then translation_of"]
    result = CliRunner().invoke(cli, ["check", "--strict", "--content-dir", str(content_es)])
    assert result.exit_code == 1 and "stale" in result.output


@pytest.mark.parametrize(("sentence", "trap"), [
    ("Tome brigatinib once al día.", "once al día"),
    ("Si puede quedar embarazosa, use métodos anticonceptivos.", "embarazosa"),
    ("Tome la dosificación que le recete su médico.", "dosificación"),
])
def test_termbase_traps_are_errors(content_es, sentence, trap):
    mutate(content_es / "es" / "drugs" / "brigatinib.yaml",
           lambda data: data["how_to_take"].__setitem__(0, sentence))
    hits = [f for f in findings(content_es, "error") if "termbase" in f]
    assert len(hits) == 1 and hits[0].startswith(
        "content/es/drugs/brigatinib.yaml:how_to_take.0: error: termbase: ")
    assert trap in hits[0]


def test_hard_spanish_fails_the_reading_ease_gate(content_es):
    hard = ("La administración concomitante de inhibidores potentes del citocromo "
            "correspondiente incrementa considerablemente las concentraciones plasmáticas "
            "del medicamento.")
    mutate(content_es / "es" / "drugs" / "crizotinib.yaml",
           lambda data: data.update(pregnancy=[hard] * len(data["pregnancy"])))
    hits = [f for f in findings(content_es, "error") if "Fernández-Huerta" in f]
    assert any(f.startswith("content/es/drugs/crizotinib.yaml:pregnancy: error: "
                            "Fernández-Huerta") for f in hits), hits


def test_the_report_shows_spanish_reading_ease_per_section(content_es):
    result = CliRunner().invoke(cli, ["check", "--content-dir", str(content_es),
                                      "--format", "json"])
    import json

    report = json.loads(result.output)
    names = {t["name"] for t in report["translations"]}
    assert {"es/faq", "es/questions", "es/drug-sheet-alectinib"} <= names
    section = report["translations"][0]["sections"][0]
    assert {"fernandez_huerta", "inflesz", "words", "sentences"} <= set(section)


def test_a_missing_spanish_file_is_named_by_check(content_es):
    (content_es / "es" / "questions.yaml").unlink()
    assert any(f.startswith("content/es/questions.yaml: error: file not found")
               for f in findings(content_es))
