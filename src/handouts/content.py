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

from pydantic import Field, PlainValidator, PrivateAttr, field_validator, model_validator

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


def _texts(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"{what} must be a non-empty list of text")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"every item of {what} must be non-empty text")
    return tuple(item.strip() for item in value)


def _block(value: object) -> str | ListBlock | NoteBlock:
    """A body block: text (a paragraph), {list: [...]} or {note: text}."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, dict) and set(value) == {"list"}:
        return ListBlock(_texts(value["list"], "list"))
    if isinstance(value, dict) and set(value) == {"note"} and isinstance(value["note"], str):
        return NoteBlock(value["note"].strip())
    raise ValueError("a block must be a paragraph of text, {list: [...]} or {note: text}")


Block = Annotated[str | ListBlock | NoteBlock, PlainValidator(_block)]
Body = Annotated[list[Block], Field(min_length=1)]
Texts = Annotated[list[NonEmptyStr], Field(min_length=1)]


# ---- files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where a content file came from, for source lists, manifests and cache keys."""

    path: Path
    shown: str
    sha256: str


class ContentFile(Strict):
    """Fields every content file has: what it is, its version, and where its facts come from."""

    title: NonEmptyStr
    version: NonEmptyStr
    last_checked: date
    sources: Texts
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


class Faq(ContentFile):
    kind: Literal["faq"]
    intro: NonEmptyStr
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
    intro: NonEmptyStr
    groups: Annotated[list[QuestionGroup], Field(min_length=1)]
    own_questions_lines: Annotated[int, Field(ge=1, le=20)] = 6

    @model_validator(mode="after")
    def _check_ids(self) -> Questions:
        _unique_ids(self.groups, "group")
        return self


class Common(ContentFile):
    kind: Literal["common"]
    disclaimer: NonEmptyStr
    emergency: NonEmptyStr
    call_team_intro: NonEmptyStr
    urgent_signs: Texts
    diary_rows: Texts  # rows every side-effect diary has, after the drug's own


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
    """The side-effect diary: the drug's own rows, and its symptoms banded by urgency."""

    rows: Texts
    call_now: Texts
    call_today: Texts
    next_visit: Texts


class Drug(ContentFile):
    kind: Literal["drug"]
    id: Slug
    generic: NonEmptyStr
    brand: NonEmptyStr
    maker: NonEmptyStr
    what_it_is_for: Body
    form: NonEmptyStr
    dose: Dose
    food: Literal["with_food", "with_or_without"]
    food_text: NonEmptyStr
    how_to_take: Texts
    missed_dose: NonEmptyStr
    vomited_dose: NonEmptyStr
    common_side_effects: SideEffects
    call_right_away: Texts
    check_with_team: Texts
    pregnancy: Texts
    diary: Diary | None = None


# ---- the library: every content file, loaded and checked together -------------------

SINGLE_FILES: dict[str, tuple[str, type[ContentFile]]] = {
    "faq": ("faq.yaml", Faq),
    "questions": ("questions.yaml", Questions),
    "glossary": ("glossary.yaml", Glossary),
    "common": ("common.yaml", Common),
}


@dataclass(frozen=True)
class Library:
    """All content, validated. Drugs are keyed by generic name, in alphabetical order."""

    root: Path
    faq: Faq
    questions: Questions
    glossary: Glossary
    common: Common
    drugs: dict[str, Drug]

    def drug(self, name: str) -> Drug:
        """Find a drug by generic or brand name, ignoring case."""
        wanted = name.strip().lower()
        for drug in self.drugs.values():
            if wanted in (drug.id, drug.generic.lower(), drug.brand.lower()):
                return drug
        raise ChoiceError("drug", name, list(self.drugs))

    def files(self) -> list[ContentFile]:
        return [self.faq, self.questions, self.glossary, self.common, *self.drugs.values()]


def _load_file(path: Path, model: type[ContentFile], root: Path,
               problems: list[str]) -> ContentFile | None:
    shown = display_path(path, root.parent)
    data, found = read_yaml(path, shown)
    if data is not None:
        obj, found = validate(model, data, shown)
        if obj is not None:
            obj._origin = Origin(path, shown, hashlib.sha256(path.read_bytes()).hexdigest())
            return obj
    problems.extend(found)
    return None


def load_library(root: Path, today: date | None = None) -> Library:
    """Read and validate every content file under root; raise ContentError listing all problems."""
    problems: list[str] = []
    if not root.is_dir():
        raise ContentError([f"{root}: content folder not found"])
    singles = {key: _load_file(root / name, model, root, problems)
               for key, (name, model) in SINGLE_FILES.items()}
    drugs: dict[str, Drug] = {}
    drug_paths = sorted((root / "drugs").glob("*.yaml"))
    if not drug_paths:
        problems.append(f"{display_path(root / 'drugs', root.parent)}: no drug files (*.yaml)")
    for path in drug_paths:
        drug = _load_file(path, Drug, root, problems)
        if drug is None:
            continue
        if drug.id != path.stem:
            problems.append(f"{drug.origin.shown}:id: is {drug.id!r} but the file is named "
                            f"{path.name}; they must match")
        drugs[drug.id] = drug
    for obj in [*singles.values(), *drugs.values()]:
        if obj is not None and today is not None and obj.last_checked > today:
            problems.append(f"{obj.origin.shown}:last_checked: {obj.last_checked} is in the future")
    if problems:
        raise ContentError(problems)
    return Library(root=root, drugs=drugs, **singles)  # type: ignore[arg-type]
