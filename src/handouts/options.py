"""The user's choices as typed data: clinic profile, personal fields, paper and print profile.

Everything here is untrusted text typed by a person; templates escape it (autoescape is on),
and the only file it may name is the clinic's own logo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from .errors import ChoiceError, ClinicError, OptionError
from .i18n import N_
from .links import check_site_url
from .schema import FIRST_DATE, LAST_DATE, FileRef, OneLine, Strict, read_yaml, validate


@dataclass(frozen=True)
class Paper:
    """A paper size; `label` is an English msgid (show it through i18n.gettext)."""

    name: str
    css_size: str
    label: str


PAPERS = {
    "letter": Paper("letter", "letter", N_("US Letter (8.5 × 11 in)")),
    "a4": Paper("a4", "A4", N_("A4 (210 × 297 mm)")),
}


@dataclass(frozen=True)
class Profile:
    """A print profile: the stylesheet that sets type size and layout, and the width of a
    calendar's weekday headers ("wide": "Wednesday"; "abbreviated": "Wed"). Eight columns
    of 18 pt type do not fit a landscape Letter page with "Wednesday" in one of them, and
    a smaller header would break large print's 18 pt floor."""

    name: str
    stylesheet: str
    label: str
    weekday_width: str = "wide"


PROFILES = {
    "standard": Profile("standard", "profile-standard.css", N_("Standard print (13 pt body)")),
    "large-print": Profile("large-print", "profile-large-print.css",
                           N_("Large print (18 pt body, 22 pt+ headings, one column)"),
                           weekday_width="abbreviated"),
}

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                      OneLine]
# YAML reads `phone: 5550100` as a number; a clinic should not have to quote its phone.
Phone = Annotated[ShortText, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
LOGO_SUFFIXES = {".png", ".svg", ".jpg", ".jpeg"}
CLINIC_DOC = "docs/clinic-file.md"  # where every clinic-file field is described
SiteUrl = Annotated[ShortText, AfterValidator(check_site_url)]


class ClinicFile(Strict):
    """The clinic YAML file (see README: "Your clinic's details")."""

    name: ShortText
    phone: Phone | None = None
    after_hours_phone: Phone | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=400),
                       OneLine] | None = None
    website: ShortText | None = None
    logo: FileRef | None = None
    logo_alt: ShortText | None = None
    site_url: SiteUrl | None = None  # where handouts are published: a QR code on each


@dataclass(frozen=True)
class Clinic:
    """A clinic's details as handouts show them; the logo is an absolute, checked path."""

    name: str
    phone: str | None = None
    after_hours_phone: str | None = None
    address: str | None = None
    website: str | None = None
    logo: Path | None = None
    logo_alt: str | None = None
    site_url: str | None = None  # no trailing slash; None prints no QR code


def load_clinic(path: Path) -> Clinic:
    """Read a clinic YAML file; the logo path is relative to the file itself."""
    shown = str(path)
    data, problems = read_yaml(path, shown)
    if data is not None:
        model, problems = validate(ClinicFile, data, shown, see=CLINIC_DOC)
    if problems:
        raise ClinicError("; ".join(problems))
    assert model is not None
    logo = None
    if model.logo:
        logo = (path.parent / model.logo).resolve()  # FileRef: no NUL byte can reach here
        if logo.suffix.lower() not in LOGO_SUFFIXES:
            raise ClinicError(f"{shown}:logo: {model.logo!r} must be a PNG, SVG or JPEG file")
        if logo.exists() and not logo.is_file():
            raise ClinicError(f"{shown}:logo: {logo} is not a file (a folder or a device?)")
        if not logo.is_file():
            raise ClinicError(f"{shown}:logo: file not found: {logo}")
    values = model.model_dump(exclude={"logo"})
    return Clinic(**values, logo=logo)


@dataclass(frozen=True)
class Personal:
    """Optional fields shown on the first page; blank write-in lines when absent."""

    patient: str | None = None
    prescriber: str | None = None
    date: date | None = None


MAX_NAME = 100


def _parse_date(label: str, text: str | None) -> date | None:
    """A typed YYYY-MM-DD date, or None when blank; the message never repeats the text.

    Three different mistakes, three messages: the wrong form (22/11/2026), a day that does
    not exist (2026-02-30), a year no handout is for (9999-12-25, which would also overflow
    the calendar's date arithmetic).
    """
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise OptionError(f"{label} must be a date written YYYY-MM-DD")
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise OptionError(f"{label} names a day that does not exist (check the day of the "
                          "month)") from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise OptionError(f"{label} must be from {FIRST_DATE} to {LAST_DATE}")
    return value


def _check_typed(label: str, value: str | None, limit: int) -> None:
    """Typed text must fit the page and stay on one line; the message never repeats it."""
    if value is not None and len(value) > limit:
        raise OptionError(f"{label} is longer than {limit} characters")
    if value is not None and any(ord(ch) < 32 for ch in value):
        raise OptionError(f"{label} contains control characters")


def personal(patient: str | None, prescriber: str | None, when: str | None,
             labels: tuple[str, str, str] = ("--patient", "--prescriber", "--date")) -> Personal:
    """Check the personal fields a user typed and return them as data.

    `labels` name the fields in messages (CLI options, CSV columns or form fields); messages
    never repeat the value, so a patient's name never reaches a log.
    """
    for label, value in zip(labels, (patient, prescriber), strict=False):
        _check_typed(label, value, MAX_NAME)
    return Personal(patient=(patient or "").strip() or None,
                    prescriber=(prescriber or "").strip() or None,
                    date=_parse_date(labels[2], when))


WEEKS = range(1, 13)  # a calendar or diary covers 1 to 12 weeks
MAX_DOSE_TEXT = 100
MAX_DOSE_STEPS = 6
# "180 mg from day 8", or in Spanish "180 mg desde el día 8" (staff of a Spanish clinic).
_FROM_DAY = re.compile(r"^(?P<amount>.+?)\s+(?:from\s+day|desde\s+el\s+d[ií]a)\s+"
                       r"(?P<day>\d{1,3})$", re.IGNORECASE)


@dataclass(frozen=True)
class DoseStep:
    """One step of the prescriber's schedule: this amount, from this treatment day on."""

    start_day: int
    amount: str


@dataclass(frozen=True)
class Schedule:
    """Choices for the dated kinds (calendar, diary): start date, length, prescribed dose.

    start None draws an undated grid with write-in dates; weeks None means the kind's own
    default. `dose` is the prescriber's schedule; empty means no amount is printed anywhere
    a patient ticks (a "My dose" write-in instead): the label's usual dose is not theirs.
    """

    start: date | None = None
    weeks: int | None = None
    dose: tuple[DoseStep, ...] = ()

    def amount_on(self, day: int) -> str | None:
        """The prescribed amount on treatment day `day` (1-based), or None."""
        amount = None
        for step in self.dose:
            if step.start_day <= day:
                amount = step.amount
        return amount


def dose_steps(texts: tuple[str, ...] | list[str], label: str = "--dose"
               ) -> tuple[DoseStep, ...]:
    """Parse the prescriber's schedule: '90 mg', then '180 mg from day 8', and so on.

    The first step starts on day 1; each later one names its first day, later than the one
    before. The amount is the prescriber's own text, checked like any typed text.
    """
    steps: list[DoseStep] = []
    texts = [text.strip() for text in texts if text and text.strip()]
    if len(texts) > MAX_DOSE_STEPS:
        raise OptionError(f"{label}: give at most {MAX_DOSE_STEPS} dose steps")
    for number, text in enumerate(texts):
        _check_typed(label, text, MAX_DOSE_TEXT)
        match = _FROM_DAY.match(text)
        amount, day = (match["amount"].strip(), int(match["day"])) if match else (text, 1)
        if number == 0 and day != 1:
            raise OptionError(f"{label}: the first dose starts on day 1; write it without "
                              "'from day N', e.g. --dose \"90 mg\" --dose \"180 mg from day 8\"")
        if number > 0 and not match:
            raise OptionError(f"{label}: each dose after the first needs 'from day N', e.g. "
                              "--dose \"180 mg from day 8\"")
        if steps and day <= steps[-1].start_day:
            raise OptionError(f"{label}: dose steps must start on later days "
                              f"(day {day} comes after day {steps[-1].start_day})")
        steps.append(DoseStep(day, amount))
    return tuple(steps)


def schedule(start: str | None = None, weeks: int | None = None,
             dose: str | tuple[str, ...] | list[str] | None = None,
             start_label: str = "--start") -> Schedule:
    """Check the calendar and diary options a user typed and return them as data."""
    parsed = _parse_date(start_label, start)
    if weeks is not None and weeks not in WEEKS:
        raise OptionError(f"--weeks must be from {WEEKS.start} to {WEEKS.stop - 1}, not {weeks}")
    texts = (dose,) if isinstance(dose, str) else tuple(dose or ())
    return Schedule(parsed, weeks, dose_steps(texts))


@dataclass(frozen=True)
class Options:
    """Everything that shapes one rendered handout besides the content itself."""

    paper: Paper = PAPERS["letter"]
    profile: Profile = PROFILES["standard"]
    clinic: Clinic | None = None
    personal: Personal = field(default_factory=Personal)
    schedule: Schedule = field(default_factory=Schedule)
    lang: str = "en"  # the edition: interface text and content in this language (i18n.py)


def paper(name: str) -> Paper:
    try:
        return PAPERS[name.lower()]
    except KeyError:
        raise ChoiceError("paper size", name, list(PAPERS)) from None


def profile(name: str) -> Profile:
    try:
        return PROFILES[name.lower()]
    except KeyError:
        raise ChoiceError("print profile", name, list(PROFILES)) from None

