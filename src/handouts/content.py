"""Load and validate the medical content: the schema for each content file, and the reader.

Content is data only (YAML); templates lay it out. Every file is validated when loaded and
all problems in all files are reported together (see content/README.md for the schema).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    PlainValidator,
    PrivateAttr,
    StringConstraints,
    create_model,
    field_validator,
    model_validator,
)

from .errors import ChoiceError, ContentError
from .schema import NonEmptyStr, Slug, Strict, display_path, read_yaml, validate

# ---- paragraph blocks ---------------------------------------------------------------


@dataclass(frozen=True)
class ListBlock:
    """A bulleted list inside a body."""

    list: tuple[str, ...]


@dataclass(frozen=True)
class NoteBlock:
    """A highlighted tip inside a body."""

    note: str


@dataclass(frozen=True)
class StepsBlock:
    """Numbered steps: what a patient does, in order (PEMAT: break an action into steps)."""

    steps: tuple[str, ...]


@dataclass(frozen=True)
class DrugsBlock:
    """The list of ALK inhibitors, drawn from the drug files (never a count typed in prose)."""

    drugs: Literal["approved"]


def _texts(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{what} must be a non-empty list of text")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"every item of {what} must be non-empty text")
    return tuple(item.strip() for item in value)


def _block(value: object) -> str | ListBlock | NoteBlock | StepsBlock | DrugsBlock:
    """A body block: text (a paragraph), {list: [...]}, {steps: [...]}, {note: text} or
    {drugs: approved}."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, dict) and set(value) == {"list"}:
        return ListBlock(_texts(value["list"], "list"))
    if isinstance(value, dict) and set(value) == {"steps"}:
        return StepsBlock(_texts(value["steps"], "steps"))
    if isinstance(value, dict) and set(value) == {"note"} and isinstance(value["note"], str):
        return NoteBlock(value["note"].strip())
    if isinstance(value, dict) and value == {"drugs": "approved"}:
        return DrugsBlock("approved")
    raise ValueError("a block must be a paragraph of text, {list: [...]}, {steps: [...]}, "
                     "{note: text} or {drugs: approved}")


Block = Annotated[str | ListBlock | NoteBlock | StepsBlock | DrugsBlock, PlainValidator(_block)]
Body = Annotated[list[Block], Field(min_length=1)]
Texts = Annotated[list[NonEmptyStr], Field(min_length=1)]


# ---- files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a content file came from, for source lists, manifests and cache keys."""

    path: Path
    shown: str
    sha256: str


class Review(Strict):
    """Who reviewed a file's text, when, and when it is due again (shown on every handout).

    `last_checked` (the day the text was checked against the fact sheet) is a separate,
    honest date: a review is a person's sign-off, a check is the author's own reading.
    """

    reviewed_on: date
    reviewer: NonEmptyStr  # a role ("clinical pharmacist"), never a person's name
    next_review: date

    @model_validator(mode="after")
    def _order(self) -> Review:
        if self.next_review <= self.reviewed_on:
            raise ValueError("next_review must come after reviewed_on")
        return self


class ContentFile(Strict):
    """Fields every content file has: what it is, its version, its review record, and the
    ids (in sources.yaml) of the documents its facts come from."""

    title: NonEmptyStr
    version: NonEmptyStr
    last_checked: date
    review: Review
    sources: Annotated[list[Slug], Field(min_length=1)]
    _origin: Origin | None = PrivateAttr(default=None)

    @property
    def origin(self) -> Origin:
        assert self._origin is not None, "set by the loader"
        return self._origin


def _unique_ids(items: list, what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"{what} id {item.id!r} is used twice")
        seen.add(item.id)


class FaqSection(Strict):
    id: Slug
    question: NonEmptyStr
    body: Body


KeyPoints = Annotated[list[NonEmptyStr], Field(min_length=3, max_length=5)]


class Faq(ContentFile):
    kind: Literal["faq"]
    intro: NonEmptyStr
    key_points: KeyPoints
    sections: Annotated[list[FaqSection], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_ids(self) -> Faq:
        _unique_ids(self.sections, "section")
        return self


class GlossaryTerm(Strict):
    term: NonEmptyStr
    definition: NonEmptyStr


class Glossary(ContentFile):
    kind: Literal["glossary"]
    terms: Annotated[list[GlossaryTerm], Field(min_length=1)]


class QuestionGroup(Strict):
    id: Slug
    heading: NonEmptyStr
    questions: Texts


class Questions(ContentFile):
    kind: Literal["questions"]
    sources: list[Slug] = []  # questions state no facts, so they may cite nothing
    intro: NonEmptyStr
    groups: Annotated[list[QuestionGroup], Field(min_length=1)]
    own_questions_lines: Annotated[int, Field(ge=1, le=20)] = 6

    @model_validator(mode="after")
    def _check_ids(self) -> Questions:
        _unique_ids(self.groups, "group")
        return self


PICTOGRAMS = ("with-food", "with-or-without-food", "swallow-whole", "no-grapefruit",
              "sun-protection", "call-now")
Pictogram = Literal["with-food", "with-or-without-food", "swallow-whole", "no-grapefruit",
                    "sun-protection", "call-now"]


class PictogramText(Strict):
    alt: NonEmptyStr  # what a screen reader says: the instruction, not the drawing
    caption: NonEmptyStr  # the words printed under the picture


class Common(ContentFile):
    kind: Literal["common"]
    disclaimer: NonEmptyStr
    emergency: NonEmptyStr
    call_team_intro: NonEmptyStr
    urgent_signs: Annotated[list[Slug], Field(min_length=1)]  # triage ids for FAQ, questions
    diary_rows: Texts  # rows every side-effect diary has, after the drug's own
    pictograms: dict[Pictogram, PictogramText]

    @field_validator("pictograms")
    @classmethod
    def _every_pictogram(cls, value: dict) -> dict:
        missing = [name for name in PICTOGRAMS if name not in value]
        if missing:
            raise ValueError(f"needs alt text and a caption for: {', '.join(missing)}")
        return value


# ---- sources and triage: each stated once, referred to by id -------------------------

SourceKind = Literal["label", "article", "agency", "guideline"]


class Source(Strict):
    """One primary document. See src/handouts/sources.py for how it is printed and checked."""

    id: Slug
    kind: SourceKind
    title: NonEmptyStr
    publisher: NonEmptyStr  # label holder, journal, or agency
    revised: NonEmptyStr | None = None  # a label's revision, as far as it is known
    date: NonEmptyStr | None = None  # an article's year, a page's date
    setid: Annotated[str, StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")] | None = None
    pmid: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")] | None = None
    doi: Annotated[str, StringConstraints(pattern=r"^10\.[0-9]{4,9}/\S+$")] | None = None
    url: NonEmptyStr | None = None


class Sources(Strict):
    """content/sources.yaml: the bibliography every other file cites by id."""

    kind: Literal["sources"]
    title: NonEmptyStr
    version: NonEmptyStr
    last_checked: date
    review: Review
    entries: Annotated[list[Source], Field(min_length=1)]
    _origin: Origin | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_ids(self) -> Sources:
        _unique_ids(self.entries, "source")
        return self

    @property
    def origin(self) -> Origin:
        assert self._origin is not None, "set by the loader"
        return self._origin

    def by_id(self) -> dict[str, Source]:
        return {entry.id: entry for entry in self.entries}


Level = Literal["emergency", "call_now", "next_visit"]
LEVELS: tuple[Level, ...] = ("emergency", "call_now", "next_visit")


class Sign(Strict):
    """A warning sign with its one triage level, worded once for every handout."""

    id: Slug
    level: Level
    text: NonEmptyStr
    write_in: NonEmptyStr | None = None  # e.g. "Call if my blood pressure is above"


class Triage(ContentFile):
    """content/triage.yaml: one triage rule per sign (see the file's header)."""

    kind: Literal["triage"]
    levels: dict[Level, NonEmptyStr]
    signs: Annotated[list[Sign], Field(min_length=1)]

    @model_validator(mode="after")
    def _check(self) -> Triage:
        _unique_ids(self.signs, "sign")
        texts: set[str] = set()
        for sign in self.signs:
            if sign.text.lower() in texts:
                raise ValueError(f"sign {sign.id!r} repeats another sign's text")
            texts.add(sign.text.lower())
        missing = [level for level in LEVELS if level not in self.levels]
        if missing:
            raise ValueError(f"levels needs a heading for: {', '.join(missing)}")
        return self

    def by_id(self) -> dict[str, Sign]:
        return {sign.id: sign for sign in self.signs}


class DoseStep(Strict):
    start_day: Annotated[int, Field(ge=1)]
    end_day: Annotated[int, Field(ge=1)] | None = None
    amount: NonEmptyStr


class Dose(Strict):
    """The label's usual dose. `schedule` (optional) lets the calendar fill in each day."""

    example: NonEmptyStr
    times_per_day: Literal[1, 2]
    schedule: Annotated[list[DoseStep], Field(min_length=1)] | None = None

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, schedule: list[DoseStep] | None) -> list[DoseStep] | None:
        """Steps must run from day 1 without gaps; only the last may be open-ended."""
        if schedule is None:
            return None
        expected = 1
        for number, step in enumerate(schedule):
            if step.start_day != expected:
                raise ValueError(f"schedule step {number} starts on day {step.start_day}, "
                                 f"expected day {expected}")
            last = number == len(schedule) - 1
            if step.end_day is None:
                if not last:
                    raise ValueError(f"schedule step {number} has no end_day but is not last")
                break
            if step.end_day < step.start_day:
                raise ValueError(f"schedule step {number} ends before it starts")
            expected = step.end_day + 1
        else:
            raise ValueError("the last schedule step must have no end_day (it runs on)")
        return schedule

    def amount_on(self, day: int) -> str:
        """The example dose amount on treatment day `day` (1-based)."""
        assert self.schedule is not None, "callers check for schedule data first"
        for step in self.schedule:
            if step.end_day is None or day <= step.end_day:
                return step.amount
        raise AssertionError("the schedule validator guarantees an open-ended last step")


class SideEffect(Strict):
    name: NonEmptyStr
    plain: NonEmptyStr
    helps: NonEmptyStr | None = None


class SideEffects(Strict):
    note: NonEmptyStr
    items: Annotated[list[SideEffect], Field(min_length=1)]


class Diary(Strict):
    """The side-effect diary's own rows for this drug (bands come from `signs`)."""

    rows: Texts


def _sign_ref(value: object) -> SignRef:
    if isinstance(value, str):
        return SignRef(id=value)
    if isinstance(value, dict):
        return SignRef.model_validate(value)
    raise ValueError("a sign is a triage id, or {id: ..., note: ...}")


class SignRef(Strict):
    """A drug's use of a triage sign, with an optional drug-specific note."""

    id: Slug
    note: NonEmptyStr | None = None


SignRefs = Annotated[list[Annotated[SignRef, PlainValidator(_sign_ref)]], Field(min_length=1)]


class Drug(ContentFile):
    kind: Literal["drug"]
    id: Slug
    generic: NonEmptyStr
    brand: NonEmptyStr
    maker: NonEmptyStr
    status: Literal["approved", "investigational"]
    approved: NonEmptyStr | None = None  # first US approval for ALK+ NSCLC: "April 2017"
    key_points: KeyPoints
    what_it_is_for: Body
    form: NonEmptyStr
    dose: Dose
    food: Literal["with_food", "with_or_without"]
    food_text: NonEmptyStr
    how_to_take: Texts
    missed_dose: NonEmptyStr
    vomited_dose: NonEmptyStr
    pictograms: list[Pictogram] = []
    signs: SignRefs
    common_side_effects: SideEffects
    checks: Texts
    check_with_team: Texts
    daily_life: list[NonEmptyStr] = []
    pregnancy: Texts
    diary: Diary | None = None

    @model_validator(mode="after")
    def _check(self) -> Drug:
        if self.status == "approved" and not self.approved:
            raise ValueError("an approved drug needs `approved` (month and year of first US "
                             "approval)")
        seen: set[str] = set()
        for ref in self.signs:
            if ref.id in seen:
                raise ValueError(f"sign {ref.id!r} is listed twice")
            seen.add(ref.id)
        return self


# ---- the library: every content file, loaded and checked together -------------------

SINGLE_FILES: dict[str, tuple[str, type[ContentFile]]] = {
    "faq": ("faq.yaml", Faq),
    "questions": ("questions.yaml", Questions),
    "glossary": ("glossary.yaml", Glossary),
    "common": ("common.yaml", Common),
    "triage": ("triage.yaml", Triage),
}


def _translated(model: type[ContentFile]) -> type[ContentFile]:
    """The schema of a translated file: the English one plus `translation_of`, the English
    `version` it matches (handouts check compares the two)."""
    return create_model(f"{model.__name__}Translation", __base__=model,
                        translation_of=(NonEmptyStr, ...))


TRANSLATED: dict[type[ContentFile], type[ContentFile]] = {
    model: _translated(model) for model in (Faq, Questions, Glossary, Common, Triage, Drug)}


@dataclass(frozen=True)
class Library:
    """All content, validated. Drugs are keyed by generic name, in alphabetical order.

    `lang` is the language of the text; `root` is always the English content folder (a
    translation lives in root/<lang>/ and shares root/sources.yaml).
    """

    root: Path
    faq: Faq
    questions: Questions
    glossary: Glossary
    common: Common
    triage: Triage
    sources: Sources
    drugs: dict[str, Drug]
    lang: str = "en"

    def drug(self, name: str) -> Drug:
        """Find a drug by generic or brand name, ignoring case."""
        wanted = name.strip().lower()
        for drug in self.drugs.values():
            if wanted in (drug.id, drug.generic.lower(), drug.brand.lower()):
                return drug
        raise ChoiceError("drug", name, list(self.drugs))

    def files(self) -> list[ContentFile]:
        return [self.faq, self.questions, self.glossary, self.common, self.triage,
                *self.drugs.values()]

    def approved_drugs(self) -> list[Drug]:
        return [drug for drug in self.drugs.values() if drug.status == "approved"]

    def signs(self, refs: list[str] | list[SignRef], level: str) -> list[tuple[Sign, str | None]]:
        """The signs of one triage level, in the order listed, with any drug-specific note."""
        catalogue = self.triage.by_id()
        found = []
        for ref in refs:
            sign_id, note = (ref, None) if isinstance(ref, str) else (ref.id, ref.note)
            if catalogue[sign_id].level == level:
                found.append((catalogue[sign_id], note))
        return found

    def cited(self, files: list[ContentFile]) -> list[Source]:
        """The sources a set of files cites, once each, in first-cited order."""
        entries = self.sources.by_id()
        ids = dict.fromkeys(source for file in files for source in file.sources)
        return [entries[source] for source in ids]


def _load_file(path: Path, model, root: Path, problems: list[str]):
    shown = display_path(path, root.parent)
    data, found = read_yaml(path, shown)
    if data is not None:
        obj, found = validate(model, data, shown)
        if obj is not None:
            obj._origin = Origin(path, shown, hashlib.sha256(path.read_bytes()).hexdigest())
            return obj
    problems.extend(found)
    return None


def language_dir(root: Path, lang: str = "en") -> Path:
    """Where a language's content lives: root itself for English, root/<lang>/ otherwise."""
    return root if lang == "en" else root / lang


def editions(root: Path) -> tuple[str, ...]:
    """The languages a content folder has: English, and each translation whose folder
    (content/es/) holds content files. A folder with only its termbase is a translation not
    yet started; one with some files missing is an error when it is loaded."""
    from .i18n import LANGUAGES

    def started(folder: Path) -> bool:
        return (folder / "drugs").is_dir() or any(
            path.name != "termbase.yaml" for path in folder.glob("*.yaml"))

    return tuple(lang for lang in LANGUAGES
                 if lang == "en" or started(language_dir(root, lang)))


def load_library(root: Path, today: date | None = None, lang: str = "en") -> Library:
    """Read and validate every content file of one language; raise ContentError listing all
    problems. A translation must have every file English has: a missing one is an error
    naming it, never a silent fall-back to English text."""
    problems: list[str] = []
    if not root.is_dir():
        raise ContentError([f"{root}: content folder not found"])
    folder = language_dir(root, lang)
    if not folder.is_dir():
        raise ContentError([f"{display_path(folder, root.parent)}: no content for language "
                            f"{lang!r} (a translation of every file in {root.name}/)"])
    schema = (lambda model: model) if lang == "en" else TRANSLATED.__getitem__
    singles = {key: _load_file(folder / name, schema(model), root, problems)
               for key, (name, model) in SINGLE_FILES.items()}
    drugs: dict[str, Drug] = {}
    drug_paths = sorted((folder / "drugs").glob("*.yaml"))
    if lang != "en":
        have = {path.stem for path in drug_paths}
        originals = {path.stem for path in (root / "drugs").glob("*.yaml")}
        for stem in sorted(originals - have):
            problems.append(f"{display_path(folder / 'drugs' / (stem + '.yaml'), root.parent)}: "
                            f"file not found (no {lang} translation of "
                            f"{display_path(root / 'drugs' / (stem + '.yaml'), root.parent)})")
        for stem in sorted(have - originals):
            problems.append(f"{display_path(folder / 'drugs' / (stem + '.yaml'), root.parent)}: "
                            f"translates no English file (content/drugs/{stem}.yaml is missing)")
        drug_paths = [path for path in drug_paths if path.stem in originals]
    if not drug_paths:
        problems.append(f"{display_path(folder / 'drugs', root.parent)}: no drug files (*.yaml)")
    for path in drug_paths:
        drug = _load_file(path, schema(Drug), root, problems)
        if drug is None:
            continue
        if drug.id != path.stem:
            problems.append(f"{drug.origin.shown}:id: is {drug.id!r} but the file is named "
                            f"{path.name}; they must match")
        drugs[drug.id] = drug
    sources = _load_file(root / "sources.yaml", Sources, root, problems)
    for obj in [*singles.values(), *drugs.values()]:
        if obj is not None and today is not None and obj.last_checked > today:
            problems.append(f"{obj.origin.shown}:last_checked: {obj.last_checked} is in the future")
    problems.extend(_dangling_ids(singles, drugs, sources))
    if problems:
        raise ContentError(problems)
    return Library(root=root, drugs=drugs, sources=sources, lang=lang,
                   **singles)  # type: ignore[arg-type]


def _dangling_ids(singles: dict, drugs: dict[str, Drug], sources: Sources | None) -> list[str]:
    """Every source id and sign id a file names must exist: a typo is an error, never a
    silently missing source or warning sign."""
    problems = []
    known_sources = set(sources.by_id()) if sources else None
    triage = singles.get("triage")
    known_signs = set(triage.by_id()) if triage else None
    for obj in [*singles.values(), *drugs.values()]:
        if obj is None:
            continue
        if known_sources is not None:
            for n, source in enumerate(obj.sources):
                if source not in known_sources:
                    problems.append(f"{obj.origin.shown}:sources.{n}: unknown source id "
                                    f"{source!r} (add it to content/sources.yaml)")
        refs = ([r.id for r in obj.signs] if isinstance(obj, Drug)
                else list(obj.urgent_signs) if isinstance(obj, Common) else [])
        field = "signs" if isinstance(obj, Drug) else "urgent_signs"
        if known_signs is not None:
            for n, sign in enumerate(refs):
                if sign not in known_signs:
                    problems.append(f"{obj.origin.shown}:{field}.{n}: unknown sign id "
                                    f"{sign!r} (see content/triage.yaml)")
    return problems
