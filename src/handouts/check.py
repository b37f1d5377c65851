"""`handouts check`: a content lint a clinic can run on its own edits.

It reports every problem at once, as "file:field: message": schema errors, stale
`last_checked` dates, and reading level per section with the grade gates below. Each
translation (content/es/) is checked too: its own schema and dates, parity with the English
file (parity.py), the termbase, and Spanish reading ease per section (readability_es.py).
Errors fail the check; warnings fail it only with strict=True.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import readability_es
from .content import (
    ContentFile,
    Drug,
    DrugsBlock,
    Library,
    ListBlock,
    NoteBlock,
    StepsBlock,
    editions,
    language_dir,
    load_library,
)
from .errors import ContentError
from .parity import library_pairs, load_termbase, pair_findings, term_findings
from .readability import Score, score, words_in
from .sources import problems as source_problems

GRADE_LIMITS = {"faq": 8.0, "questions": 8.0, "drug-sheet": 9.0, "shared": 8.0}
REVIEW_WARNING_DAYS = 60
LABELS = {"diary"}  # sections of table labels: Spanish reading ease is shown, not gated
# How many ALK inhibitors there are comes from the drug files, never from prose: a new drug
# must be a content-only change.
_DRUG_COUNT = re.compile(r"\b(six|sixth|seven|seventh|five|fifth)\b[^.]{0,40}\b(ALK|inhibitor|"
                         r"medicine|drug|pill)s?\b|\b[5-7]\s+(ALK|approved)\b", re.IGNORECASE)
_DRUG_COUNT_ES = re.compile(r"\b(seis|sexto|siete|séptimo|cinco|quinto)\b[^.]{0,40}\b(ALK|"
                            r"inhibidor|medicina|medicamento|pastilla)(e?s)?\b|\b[5-7]\s+"
                            r"(ALK|aprobad|inhibidor)", re.IGNORECASE)
MEDICAL_WORDS = Path(__file__).with_name("medical_words.txt")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    where: str  # "content/faq.yaml:sections.3"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message}"


@dataclass
class Section:
    name: str
    where: str
    score: Score


@dataclass
class HandoutReport:
    name: str
    limit: float
    sections: list[Section] = field(default_factory=list)

    @property
    def total(self) -> Score:
        total = Score()
        for section in self.sections:
            total.add(section.score)
        return total


@dataclass
class SpanishSection:
    name: str
    where: str
    score: readability_es.SpanishScore


@dataclass
class TranslationReport:
    """Reading ease of one translated handout, section by section."""

    name: str  # "es/drug-sheet-brigatinib"
    sections: list[SpanishSection] = field(default_factory=list)

    @property
    def total(self) -> readability_es.SpanishScore:
        total = readability_es.SpanishScore()
        for section in self.sections:
            total.add(section.score)
        return total

    @property
    def lowest(self) -> SpanishSection | None:
        return min(self.sections, key=lambda s: s.score.fernandez_huerta, default=None)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    handouts: list[HandoutReport] = field(default_factory=list)
    translations: list[TranslationReport] = field(default_factory=list)

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)

    def passed(self, strict: bool = False) -> bool:
        return self.count("error") == 0 and not (strict and self.count("warning"))


def _flatten(blocks) -> list[str]:
    texts: list[str] = []
    for block in blocks:
        if isinstance(block, ListBlock):
            texts.extend(block.list)
        elif isinstance(block, StepsBlock):
            texts.extend(block.steps)
        elif isinstance(block, NoteBlock):
            texts.append(block.note)
        elif isinstance(block, DrugsBlock):
            continue
        else:
            texts.append(block)
    return texts


def _drug_sections(drug: Drug) -> list[tuple[str, str, list[str]]]:
    effects = drug.common_side_effects
    return [
        ("Key points", "key_points", list(drug.key_points)),
        ("What it is for", "what_it_is_for", _flatten(drug.what_it_is_for)),
        ("How to take it", "dose", [drug.dose.example, drug.food_text, *drug.how_to_take,
                                    drug.missed_dose, drug.vomited_dose]),
        ("Common side effects", "common_side_effects",
         [effects.note] + [t for e in effects.items for t in (e.name, e.plain, e.helps) if t]),
        *([("Warning sign notes", "signs", notes)]
          if (notes := [ref.note for ref in drug.signs if ref.note]) else []),
        ("Tests and checks", "checks", list(drug.checks)),
        ("Medicines and foods", "check_with_team", list(drug.check_with_team)),
        *([("Daily life", "daily_life", list(drug.daily_life))] if drug.daily_life else []),
        ("Pregnancy", "pregnancy", list(drug.pregnancy)),
        *([("Side-effect diary", "diary", list(drug.diary.rows))] if drug.diary else []),
    ]


def handout_sections(library: Library) -> dict[str, tuple[ContentFile, list[tuple[str, str,
                                                                                   list[str]]]]]:
    """The text of every handout, section by section: {name: (file, [(title, field, texts)])}."""
    faq, questions, common = library.faq, library.questions, library.common
    handouts = {
        "faq": (faq, [("Introduction", "intro", [faq.intro]),
                      ("Key points", "key_points", list(faq.key_points))]
                + [(s.question, f"sections.{n}", [s.question, *_flatten(s.body)])
                   for n, s in enumerate(faq.sections)]),
        "glossary": (library.glossary, [("Words to know", "terms",
                                         [t.definition for t in library.glossary.terms])]),
        "questions": (questions, [("Introduction", "intro", [questions.intro])]
                      + [(g.heading, f"groups.{n}", [g.heading, *g.questions])
                         for n, g in enumerate(questions.groups)]),
        "shared": (common, [("Shared text", "disclaimer",
                             [common.disclaimer, common.emergency, common.call_team_intro,
                              *common.diary_rows,
                              *(p.alt for p in common.pictograms.values())])]),
        "triage": (library.triage, [("When to call", "signs",
                                     [*library.triage.levels.values(),
                                      *(s.text for s in library.triage.signs)])]),
    }
    for drug in library.drugs.values():
        handouts[f"drug-sheet-{drug.id}"] = (drug, _drug_sections(drug))
    return handouts


def known_words(library: Library) -> frozenset[str]:
    """Words a handout has taught (glossary terms) or that name a medicine."""
    words = set()
    for term in library.glossary.terms:
        words |= words_in([term.term])
    for drug in library.drugs.values():
        words |= words_in([drug.generic, drug.brand])
    return frozenset(words | {w + "s" for w in words} | {w + "es" for w in words})


def _medical_words() -> frozenset[str]:
    lines = MEDICAL_WORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def _limit(name: str) -> float:
    kind = "drug-sheet" if name.startswith("drug-sheet") else name
    return GRADE_LIMITS.get(kind, GRADE_LIMITS["faq"])


def _review_findings(library: Library, today: date) -> list[Finding]:
    """A review due within 60 days warns; one past due fails: a clinic must not hand out
    text nobody has signed off for longer than its own review cycle."""
    findings = []
    for file in [*library.files(), library.sources]:
        where = f"{file.origin.shown}:review.next_review"
        due = file.review.next_review
        if due < today:
            findings.append(Finding("error", where, f"review was due {due}: review the text "
                                    "against the current labels, then update the review record"))
        elif (due - today).days <= REVIEW_WARNING_DAYS:
            findings.append(Finding("warning", where, f"review is due {due} "
                                    f"(in {(due - today).days} days)"))
    return findings


def _source_findings(library: Library) -> list[Finding]:
    findings = []
    shown = library.sources.origin.shown
    for n, source in enumerate(library.sources.entries):
        for field_name, message in source_problems(source):
            findings.append(Finding("error", f"{shown}:entries.{n}.{field_name}",
                                    f"source {source.id!r} {message}"))
    used = {s for f in library.files() for s in f.sources}
    for n, source in enumerate(library.sources.entries):
        if source.id not in used:
            findings.append(Finding("warning", f"{shown}:entries.{n}",
                                    f"source {source.id!r} is cited by no content file"))
    return findings


def _triage_findings(library: Library) -> list[Finding]:
    used = {ref.id for drug in library.drugs.values() for ref in drug.signs}
    used |= set(library.common.urgent_signs)
    shown = library.triage.origin.shown
    return [Finding("warning", f"{shown}:signs.{n}", f"sign {sign.id!r} is used by no handout")
            for n, sign in enumerate(library.triage.signs) if sign.id not in used]


def check_library(library: Library, today: date, max_age_days: int = 365) -> Report:
    report = Report()
    for file in library.files():
        age = (today - file.last_checked).days
        if age > max_age_days:
            report.findings.append(Finding(
                "warning", f"{file.origin.shown}:last_checked",
                f"last checked {file.last_checked} ({age} days ago, limit {max_age_days}); "
                "re-check the facts against the sources, then update the date"))
    report.findings.extend(_review_findings(library, today))
    report.findings.extend(_source_findings(library))
    report.findings.extend(_triage_findings(library))
    known = known_words(library)
    medical = _medical_words()
    for name, (file, sections) in handout_sections(library).items():
        handout = HandoutReport(name, _limit(name))
        for title, where_field, texts in sections:
            where = f"{file.origin.shown}:{where_field}"
            section = Section(title, where, score(texts, known))
            handout.sections.append(section)
            for text in texts:
                if _DRUG_COUNT.search(text):
                    report.findings.append(Finding(
                        "error", where, f"states how many ALK inhibitors there are "
                        f"({_DRUG_COUNT.search(text)[0]!r}): use a {{drugs: approved}} block, "
                        "so a new drug file updates the count"))
            for sentence in section.score.long_sentences:
                report.findings.append(Finding(
                    "warning", where, f"sentence over 25 words: {sentence[:60]!r}…"))
            for word in sorted((words_in(texts) & medical) - known):
                report.findings.append(Finding(
                    "warning", where, f"medical word {word!r} is not in the glossary"))
            for label, grade in (("Flesch-Kincaid", section.score.flesch_kincaid),
                                 ("SMOG", section.score.smog)):
                if grade > handout.limit:
                    report.findings.append(Finding(
                        "error", where, f"{label} grade {grade:.1f} is above {handout.limit:g} "
                        f"in '{title}': use shorter sentences and words"))
        report.handouts.append(handout)
    return report


def _problem_findings(problems: list[str]) -> list[Finding]:
    findings = []
    for problem in problems:
        where, _, message = problem.partition(": ")
        findings.append(Finding("error", where or problem, message))
    return findings


def check(content_dir: Path, today: date, max_age_days: int = 365) -> Report:
    """Check a content folder and its translations; schema problems come back as
    findings, never as exceptions."""
    try:
        library = load_library(content_dir, today)
    except ContentError as exc:
        return Report(findings=_problem_findings(exc.problems))
    report = check_library(library, today, max_age_days)
    for lang in editions(content_dir):
        if lang != "en":
            check_translation(report, library, lang, today, max_age_days)
    return report


def check_translation(report: Report, english: Library, lang: str, today: date,
                      max_age_days: int = 365) -> None:
    """Add one translation's findings and reading-ease tables to the report."""
    folder = language_dir(english.root, lang)
    shown = f"{english.root.name}/{lang}/termbase.yaml"
    terms, problems = load_termbase(folder / "termbase.yaml", shown)
    report.findings.extend(_problem_findings(problems))
    if not terms and not problems:
        report.findings.append(Finding("warning", shown, "no termbase: the known "
                                       "translation traps are not checked"))
    try:
        translation = load_library(english.root, today, lang)
    except ContentError as exc:
        report.findings.extend(_problem_findings(exc.problems))
        return
    for file in translation.files():
        age = (today - file.last_checked).days
        if age > max_age_days:
            report.findings.append(Finding(
                "warning", f"{file.origin.shown}:last_checked",
                f"last checked {file.last_checked} ({age} days ago, limit {max_age_days})"))
        due = file.review.next_review
        where = f"{file.origin.shown}:review.next_review"
        if due < today:
            report.findings.append(Finding("error", where, f"review was due {due}"))
        elif (due - today).days <= REVIEW_WARNING_DAYS:
            report.findings.append(Finding("warning", where, f"review is due {due} "
                                           f"(in {(due - today).days} days)"))
        for level, where_field, message in term_findings(file, terms):
            report.findings.append(Finding(level, f"{file.origin.shown}:{where_field}",
                                           message))
    for english_file, translated in library_pairs(english, translation):
        for level, where_field, message in pair_findings(english_file, translated):
            report.findings.append(Finding(level, f"{translated.origin.shown}:{where_field}",
                                           message))
    known = known_words(translation)
    for name, (file, sections) in handout_sections(translation).items():
        handout = TranslationReport(f"{lang}/{name}")
        for title, where_field, texts in sections:
            where = f"{file.origin.shown}:{where_field}"
            section = SpanishSection(title, where, readability_es.score(texts, known))
            handout.sections.append(section)
            for text in texts:
                if _DRUG_COUNT_ES.search(text):
                    report.findings.append(Finding(
                        "error", where, "states how many ALK inhibitors there are "
                        f"({_DRUG_COUNT_ES.search(text)[0]!r}): use a {{drugs: approved}} "
                        "block"))
            for sentence in section.score.long_sentences:
                report.findings.append(Finding(
                    "warning", where, f"sentence over 25 words: {sentence[:60]!r}…"))
            ease = section.score.fernandez_huerta
            # A diary's rows are one- to three-word table labels ("Adormecimiento u
            # hormigueo"), not prose: a sentence-based formula measures only their word
            # length there, so they are scored and shown but not gated.
            if ease < readability_es.FERNANDEZ_HUERTA_LIMIT and where_field not in LABELS:
                report.findings.append(Finding(
                    "error", where, f"Fernández-Huerta {ease:.1f} is below "
                    f"{readability_es.FERNANDEZ_HUERTA_LIMIT:g} in '{title}': use shorter "
                    "sentences and words"))
        report.translations.append(handout)


# ---- reporting -----------------------------------------------------------------------


def _grades(score: Score) -> dict[str, float]:
    return {"flesch_kincaid": round(score.flesch_kincaid, 1), "smog": round(score.smog, 1)}


def report_json(report: Report, strict: bool) -> dict:
    """The report as plain data, for machines (`handouts check --format json`)."""
    return {
        "passed": report.passed(strict),
        "strict": strict,
        "errors": report.count("error"),
        "warnings": report.count("warning"),
        "findings": [{"level": f.level, "where": f.where, "message": f.message}
                     for f in report.findings],
        "handouts": [
            {"name": h.name, "grade_limit": h.limit, **_grades(h.total),
             "sections": [{"name": s.name, "where": s.where, "words": s.score.words,
                           "sentences": s.score.sentences, **_grades(s.score)}
                          for s in h.sections]}
            for h in report.handouts
        ],
        "translations": [
            {"name": t.name, "fernandez_huerta_limit": readability_es.FERNANDEZ_HUERTA_LIMIT,
             **_ease(t.total),
             "sections": [{"name": s.name, "where": s.where, "words": s.score.words,
                           "sentences": s.score.sentences, **_ease(s.score)}
                          for s in t.sections]}
            for t in report.translations
        ],
    }


def _ease(score: readability_es.SpanishScore) -> dict[str, float]:
    return {"fernandez_huerta": round(score.fernandez_huerta, 1),
            "inflesz": round(score.inflesz, 1)}


def report_text(report: Report, strict: bool) -> str:
    """A table per handout, then every finding, then a one-line verdict."""
    lines = []
    for handout in report.handouts:
        lines.append(f"{handout.name} (grade limit {handout.limit:g})")
        rows = [*handout.sections, Section("whole handout", "", handout.total)]
        width = max(44, *(len(section.name) for section in rows))  # whole titles, never cut
        lines.append(f"  {'section':<{width}} {'words':>5} {'sent.':>5} {'FK':>5} {'SMOG':>5}")
        for section in rows:
            s = section.score
            flag = "  <- over" if max(s.flesch_kincaid, s.smog) > handout.limit else ""
            lines.append(f"  {section.name:<{width}} {s.words:>5} {s.sentences:>5} "
                         f"{s.flesch_kincaid:>5.1f} {s.smog:>5.1f}{flag}")
        lines.append("")
    limit = readability_es.FERNANDEZ_HUERTA_LIMIT
    for translated in report.translations:
        lines.append(f"{translated.name} (Fernández-Huerta at least {limit:g})")
        lines.append(f"  {'section':<44} {'words':>5} {'sent.':>5} {'F-H':>5} {'INFL.':>5}")
        for section in [*translated.sections,
                        SpanishSection("whole handout", "", translated.total)]:
            s = section.score
            labels = section.where.rsplit(":", 1)[-1] in LABELS
            flag = ("  (labels)" if labels else "  <- under") if s.fernandez_huerta < limit else ""
            lines.append(f"  {section.name[:44]:<44} {s.words:>5} {s.sentences:>5} "
                         f"{s.fernandez_huerta:>5.1f} {s.inflesz:>5.1f}{flag}")
        lines.append("")
    lines.extend(str(finding) for finding in report.findings)
    verdict = "PASS" if report.passed(strict) else "FAIL"
    mode = " (strict: warnings fail)" if strict else ""
    checked = len(report.handouts) + len(report.translations)
    lines.append(f"{verdict}{mode}: {report.count('error')} errors, "
                 f"{report.count('warning')} warnings, {checked} handouts checked")
    return "\n".join(lines)
