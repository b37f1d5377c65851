"""Spanish reading ease, computed offline: Fernández-Huerta and INFLESZ (Szigriszt-Pazos).

Spanish spelling maps to syllables by regular rules, so we count them ourselves rather than
use a readability package (some download dictionaries at run time and fail offline):

- vowels are a e i o u (with or without an accent) and ü; "y" is a vowel only at the end
  of a word after a vowel ("hoy", "muy") or as the word "y";
- the u of "que", "qui", "gue", "gui" is silent;
- inside a run of vowels, two strong vowels (a e o) side by side are a hiatus (two
  syllables: "le-er"), and so is an accented í or ú beside any vowel ("dí-a", "ba-úl");
  every other pair is a diphthong or triphthong (one syllable: "pie", "cuan-do", "buey").

Fernández-Huerta (1959) adapts Flesch: L = 206.84 − 0.60·P − 1.02·F, with P the syllables
per 100 words. Printed versions disagree on F; we use words per sentence, as Flesch does
(and textstat): read as "sentences per 100 words", the formula would score a text *easier*
for longer sentences. 70 and above is "fairly easy" (bastante fácil).
INFLESZ = 206.835 − 62.3·(syllables/words) − words/sentences; 65 and above is "fairly easy".

As in readability.py, words a handout teaches (glossary terms, drug names) count as one
syllable: a reader who has been told what "neumonitis" means is not slowed by it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from .readability import sentences as split_sentences

WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+|\d+(?:[.,]\d+)?")
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)»]*\s+(?=[A-ZÁÉÍÓÚÑ0-9¿¡\"“(«])")
LONG_SENTENCE = 25  # words
STRONG = set("aeoáéóíú")  # accented í/ú break a diphthong like a strong vowel
VOWELS = set("aeiouáéíóúü")
FERNANDEZ_HUERTA_LIMIT = 70.0


def syllables(word: str) -> int:
    """Syllables in one Spanish word, by the regular rules above (digits count as one)."""
    word = unicodedata.normalize("NFC", word.lower())
    if not word or word[0].isdigit():
        return 1
    if word == "y":
        return 1
    word = re.sub(r"(?<=[qg])u(?=[eiéí])", "", word)  # que, qui, gue, gui: silent u
    if word.endswith("y") and len(word) > 1 and word[-2] in VOWELS:
        word = word[:-1] + "i"  # hoy, muy, rey: y closes a diphthong
    count = 0
    run = ""
    for letter in word + " ":
        if letter in VOWELS:
            run += letter
            continue
        if run:
            count += 1 + sum(1 for a, b in zip(run, run[1:], strict=False)
                             if a in STRONG and b in STRONG)
            run = ""
    return max(1, count)


def sentences(texts: Iterable[str]) -> list[str]:
    """Split text into sentences as readability.sentences does, at Spanish sentence ends."""
    return split_sentences(texts, SENTENCE_END)


@dataclass
class SpanishScore:
    words: int = 0
    sentences: int = 0
    syllables: int = 0
    long_sentences: list[str] = field(default_factory=list)

    @property
    def fernandez_huerta(self) -> float:
        if not self.words or not self.sentences:
            return 100.0
        return (206.84 - 0.60 * (100 * self.syllables / self.words)
                - 1.02 * (self.words / self.sentences))

    @property
    def inflesz(self) -> float:
        if not self.words or not self.sentences:
            return 100.0
        return 206.835 - 62.3 * self.syllables / self.words - self.words / self.sentences

    def add(self, other: SpanishScore) -> None:
        self.words += other.words
        self.sentences += other.sentences
        self.syllables += other.syllables
        self.long_sentences += other.long_sentences


def score(texts: Iterable[str], known: frozenset[str] = frozenset()) -> SpanishScore:
    """Score Spanish text; words in `known` (lowercase) count as one syllable each."""
    result = SpanishScore()
    for sentence in sentences(texts):
        words = WORD.findall(sentence)
        if not words:
            continue
        result.sentences += 1
        result.words += len(words)
        if len(words) > LONG_SENTENCE:
            result.long_sentences.append(sentence)
        result.syllables += sum(1 if w.lower() in known else syllables(w) for w in words)
    return result


def words_in(texts: Iterable[str]) -> set[str]:
    return {word.lower() for text in texts for word in WORD.findall(text)}
