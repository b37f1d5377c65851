"""The dated grids of the calendar and diary kinds: which dose on which day, in which cell.

Every schedule rule lives here, as data the templates only draw. The amounts come only from
the prescriber (--dose steps): the label's usual dose is text on the page, never printed in
a cell a patient ticks, since a patient on a lowered dose would be shown the wrong one. The
dates come from the user's --start; a grid without one has write-in dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from . import i18n
from .content import Common, Drug
from .errors import OptionError
from .i18n import N_, _
from .options import Schedule

# Words in grids are translated when a grid is made, inside i18n.use(lang) (build.py).
DOSE_TIMES = {1: (N_("Dose taken"),), 2: (N_("Morning"), N_("Evening"))}


def weekdays(first: date, width: str = "wide") -> list[str]:
    """The seven weekdays in the current language, from `first`'s: a dated calendar's
    weeks are treatment weeks, so every row starts on day 1's weekday. `width` is
    Babel's ("wide", "abbreviated"): the print profile's (options.Profile)."""
    sunday_based = (first.weekday() + 1) % 7  # i18n counts from Sunday, Python from Monday
    return [i18n.weekday_name((sunday_based + n) % 7, width) for n in range(7)]


def undated_columns() -> list[str]:
    return [_("Day %(n)s of the week") % {"n": n} for n in range(1, 8)]


@dataclass(frozen=True)
class Day:
    """One treatment day: its number from the start, its date, and its tick boxes."""

    number: int
    date: date | None
    amount: str | None  # the prescriber's amount for this day ("600 mg each time"), or None
    change: bool  # the prescribed amount differs from the day before: draw a marker
    boxes: tuple[str, ...]  # one labelled tick box per dose


@dataclass(frozen=True)
class Week:
    number: int
    days: list[Day]  # 7 treatment days


@dataclass(frozen=True)
class CalendarGrid:
    columns: list[str]
    weeks: list[Week]
    dated: bool
    first: date | None
    last: date | None
    prescribed: tuple[str, ...]  # the prescriber's steps in words; empty: a "My dose" write-in
    changes: list[Day]  # days after day 1 where the prescribed amount changes


@dataclass(frozen=True)
class DiaryGrid:
    rows: list[str]
    weeks: list[Week]  # each week's 7 days; the diary draws one table per week
    dated: bool


def require_diary(drug: Drug) -> None:
    if drug.diary is None:
        raise OptionError(f"{drug.generic} has no diary data ({drug.origin.shown}:diary), "
                          "so no side-effect diary can be made for it")


def _days(count: int, start: date | None) -> list[date | None]:
    return [start + timedelta(days=n) if start else None for n in range(count)]


def _weeks(days: list[Day]) -> list[Week]:
    """Lay days into treatment weeks: week 1 is days 1-7, whatever weekday day 1 is.

    Not Sunday-first wall-calendar rows: those would leave blank cells before day 1 and
    a row more (a week 1 that is not 7 days long) whenever day 1 is not a Sunday, so a
    dated grid would not take the pages of its undated self (compose.py replaces only
    the dated pages of a shared render) and "week 2" would not mean the second week of
    treatment. Each dated column is headed with its weekday (weekdays)."""
    return [Week(n // 7 + 1, days[n:n + 7]) for n in range(0, len(days), 7)]


def per_dose(amount: str, times_per_day: int) -> str:
    """A prescribed amount as a patient must read it: twice-daily amounts are per dose."""
    return _("%(amount)s each time") % {"amount": amount} if times_per_day == 2 else amount


def prescribed_steps(schedule: Schedule, times_per_day: int) -> tuple[str, ...]:
    """The prescriber's schedule in words: ('90 mg', '180 mg from day 8')."""
    return tuple(_("%(amount)s from day %(day)s") % {"amount": per_dose(step.amount,
                                                                        times_per_day),
                                                      "day": step.start_day}
                 if step.start_day > 1 else per_dose(step.amount, times_per_day)
                 for step in schedule.dose)


def calendar_grid(drug: Drug, schedule: Schedule, weeks: int,
                  weekday_width: str = "wide") -> CalendarGrid:
    """Every day of `weeks` weeks from day 1, with a box per dose, and the prescriber's
    amount on each day when one was given (none otherwise). Dated columns are headed with
    weekday names of `weekday_width` (weekdays)."""
    times = drug.dose.times_per_day
    boxes = tuple(_(label) for label in DOSE_TIMES[times])
    days: list[Day] = []
    previous = None
    for number, when in enumerate(_days(weeks * 7, schedule.start), start=1):
        amount = schedule.amount_on(number)
        shown = per_dose(amount, times) if amount else None
        days.append(Day(number, when, shown, previous is not None and amount != previous,
                        boxes))
        previous = amount
    columns = (weekdays(schedule.start, weekday_width) if schedule.start
               else undated_columns())
    return CalendarGrid(columns, _weeks(days), schedule.start is not None,
                        days[0].date, days[-1].date, prescribed_steps(schedule, times),
                        [day for day in days if day.change])


def diary_grid(drug: Drug, common: Common, schedule: Schedule, weeks: int) -> DiaryGrid:
    """The drug's own symptom rows, then the general rows every diary has (without repeats)."""
    require_diary(drug)
    assert drug.diary is not None
    rows = list(drug.diary.rows)
    seen = {row.lower() for row in rows}
    rows += [row for row in common.diary_rows if row.lower() not in seen]
    days = [Day(n, when, None, False, ()) for n, when
            in enumerate(_days(weeks * 7, schedule.start), start=1)]
    # One table per treatment week, as the calendar's rows (_weeks).
    return DiaryGrid(rows, _weeks(days), schedule.start is not None)
