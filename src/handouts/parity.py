"""Parity between an English content file and its translation, and the termbase.

A translation says the same thing in another language: the same ids and structure, the same
numbers (doses with units, days, percentages, phone numbers), the same sources, and it
names the English version it matches. Words may differ; facts may not. Each check returns
(level, field, message) so check.py can place it in its report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from .content import ContentFile, Library
from .schema import NonEmptyStr, Strict, read_yaml, validate

# Fields whose values are identifiers or data, not text: they must be equal, not translated.
SAME_VALUE = ("kind", "id", "generic", "brand", "maker", "status", "food", "pictograms",
              "sources", "urgent_signs")
# Fields that are bookkeeping: each file has its own.
OWN = {"title", "version", "last_checked", "review", "translation_of", "approved"}
# A glossary explains the words of its own language: the Spanish one may need more terms.
FREE_LENGTH = {"terms[]"}
NUMBER = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)(?:\s*(mg|mcg|ml|g|%|mmhg))?(?![\w])",
                    re.IGNORECASE)


def numbers(text: str) -> list[str]:
    """Numbers with their unit where there is one: '600 mg', '7', '20%', '8.5'. A decimal
    comma counts as a point ('8,5' = '8.5'); a thousands separator is dropped."""
    found = []
    for match in NUMBER.finditer(text):
        value, unit = match[1], (match[2] or "").lower()
        if re.fullmatch(r"\d{1,3}([.,]\d{3})+", value):
            value = re.sub(r"[.,]", "", value)
        value = value.replace(",", ".")
        found.append(f"{value} {unit}".strip())
    return found


def _walk(value, path: str) -> Iterator[tuple[str, object]]:
    """Every (field path, leaf value) of a content object, in order."""
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    elif hasattr(value, "__dataclass_fields__"):
        value = {name: getattr(value, name) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        for key, item in value.items():
            if not path and key in OWN:
                continue
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        yield (path + "[]", len(value))
        for n, item in enumerate(value):
            yield from _walk(item, f"{path}.{n}")
    else:
        yield path, value


def _ids(obj) -> dict[str, object]:
    """Fields that must match exactly: ids, levels, dose data, and list lengths."""
    same = {}
    for path, value in _walk(obj, ""):
        last = path.rsplit(".", 1)[-1]
        if path in FREE_LENGTH:
            continue
        words = last in ("alt", "caption")  # common.yaml's pictogram texts are translated
        if (path.endswith("[]") or last in ("id", "level", "times_per_day", "start_day",
                                            "end_day", "amount", "own_questions_lines")
                or path.split(".")[0] in SAME_VALUE and not words):
            same[path] = value
    return same


def _texts(obj) -> list[str]:
    return [value for path, value in _walk(obj, "")
            if isinstance(value, str) and (path.split(".")[0] not in SAME_VALUE
                                           or path.endswith((".alt", ".caption")))]


def pair_findings(english: ContentFile, translation: ContentFile) -> list[tuple[str, str, str]]:
    """(level, field, message) for every way the translation differs in substance."""
    found: list[tuple[str, str, str]] = []
    claimed = getattr(translation, "translation_of", None)
    if claimed != english.version:
        found.append(("warning", "translation_of",
                      f"stale: translates English version {claimed}, but "
                      f"{english.origin.shown} is now version {english.version}; update the "
                      "translation, then translation_of"))
    mine, theirs = _ids(english), _ids(translation)
    for path in sorted(set(mine) | set(theirs)):
        if mine.get(path) != theirs.get(path):
            what = "list length" if path.endswith("[]") else "value"
            found.append(("error", path.removesuffix("[]"),
                          f"{what} differs from English: {theirs.get(path)!r} here, "
                          f"{mine.get(path)!r} in {english.origin.shown}"))
    english_numbers = Counter(n for text in _texts(english) for n in numbers(text))
    spanish_numbers = Counter(n for text in _texts(translation) for n in numbers(text))
    if english_numbers != spanish_numbers:
        missing = sorted((english_numbers - spanish_numbers).elements())
        extra = sorted((spanish_numbers - english_numbers).elements())
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"not in English: {', '.join(extra)}"] if extra else [])
        found.append(("error", "(numbers)", "numbers differ from "
                      f"{english.origin.shown}: {'; '.join(parts)}"))
    return found


def library_pairs(english: Library, translation: Library
                  ) -> Iterator[tuple[ContentFile, ContentFile]]:
    """(English file, its translation) for every file both libraries hold."""
    for name in ("faq", "questions", "glossary", "common", "triage"):
        yield getattr(english, name), getattr(translation, name)
    for drug_id, drug in english.drugs.items():
        if drug_id in translation.drugs:
            yield drug, translation.drugs[drug_id]


# ---- termbase ------------------------------------------------------------------------


class TermEntry(Strict):
    pattern: NonEmptyStr
    right: NonEmptyStr
    reason: NonEmptyStr


class Termbase(Strict):
    kind: str
    language: NonEmptyStr
    entries: list[TermEntry]


@dataclass(frozen=True)
class Term:
    pattern: re.Pattern
    right: str
    reason: str


def load_termbase(path: Path, shown: str) -> tuple[list[Term], list[str]]:
    """The traps of one language (content/<lang>/termbase.yaml); (terms, problems)."""
    if not path.is_file():
        return [], []
    data, problems = read_yaml(path, shown)
    model = None
    if data is not None:
        model, problems = validate(Termbase, data, shown)
    if model is None:
        return [], problems
    terms = []
    for n, entry in enumerate(model.entries):
        try:
            terms.append(Term(re.compile(entry.pattern, re.IGNORECASE), entry.right,
                              entry.reason))
        except re.error as exc:
            problems.append(f"{shown}:entries.{n}.pattern: not a valid pattern ({exc})")
    return terms, problems


def term_findings(obj: ContentFile, terms: list[Term]) -> list[tuple[str, str, str]]:
    found = []
    for path, value in _walk(obj, ""):
        if not isinstance(value, str):
            continue
        for term in terms:
            match = term.pattern.search(value)
            if match:
                found.append(("error", path, f"termbase: {match[0]!r}: write "
                              f"{term.right!r} ({term.reason})"))
    return found
