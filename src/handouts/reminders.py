"""Dose reminders for a phone: an iCalendar (.ics, RFC 5545) file beside a dated calendar.

One daily event per reminder time, repeating (RRULE FREQ=DAILY;COUNT=n) from the start date
for the calendar's weeks, each with an alarm at the time itself. When the prescriber gave
amounts (a list of steps: from day N, amount), each step gets its own repeating events, so a
change of dose shows on the day it happens; otherwise no amount is shown at all.

Time zone: by default the times are *floating* local times (RFC 5545 §3.3.5, form 1, no
TZID): "8 am wherever I am", which is what a person taking a pill each morning wants, and
Google Calendar, Apple Calendar and Outlook all import floating times in the device's or
calendar's own zone. With `tz` (an IANA name such as America/New_York) the times are pinned
to that zone and the file carries a VTIMEZONE for it.

No name unless the caller passes one; UIDs are derived from the choices (not the name), so
re-importing an updated file replaces the old events instead of doubling them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import __version__
from .content import Drug
from .errors import OptionError
from .grids import per_dose
from .options import Schedule

PRODID = f"-//handouts//ALK handouts {__version__}//EN"
DEFAULT_TIMES = {1: ["08:00"], 2: ["08:00", "20:00"]}  # morning; morning and evening
Step = tuple[int, str | None]  # (first treatment day, amount or None)


def steps_from(schedule: Schedule) -> list[Step]:
    """Dose steps from the prescriber's schedule (--dose), or one step with no amount: a
    reminder never shows the label's usual dose as if it were the patient's."""
    return [(step.start_day, step.amount) for step in schedule.dose] or [(1, None)]


def reminder_times(drug: Drug, given: Sequence[str] = ()) -> list[time]:
    """The times of day to remind at: `given` (HH:MM, one per daily dose) or the defaults."""
    per_day = drug.dose.times_per_day
    texts = list(given) or DEFAULT_TIMES[per_day]
    times = []
    for text in texts:
        if not re.fullmatch(r"\d{1,2}:\d{2}", text.strip()):
            raise OptionError(f"--remind {text!r} must be a time written HH:MM, like 08:00")
        hours, minutes = map(int, text.strip().split(":"))
        if hours > 23 or minutes > 59:
            raise OptionError(f"--remind {text!r} is not a time of day (00:00 to 23:59)")
        times.append(time(hours, minutes))
    if len(times) != per_day:
        how = "once a day: give --remind once" if per_day == 1 else \
            "twice a day: give --remind twice (morning and evening)"
        raise OptionError(f"{drug.generic} is taken {how}")
    if len(set(times)) != len(times):
        raise OptionError("--remind times must differ")
    return sorted(times)


def _zone(tz: str | None) -> ZoneInfo | None:
    if tz is None:
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise OptionError(f"--tz {tz!r} is not a time zone name like America/New_York") from None


def _check_steps(steps: Sequence[Step], days: int) -> list[Step]:
    ordered = sorted(steps)
    if not ordered or ordered[0][0] != 1:
        raise OptionError("the dose schedule must start on day 1")
    if len({day for day, _ in ordered}) != len(ordered):
        raise OptionError("two dose steps start on the same day")
    return [(day, amount) for day, amount in ordered if day <= days]


def reminder_calendar(drug: Drug, start: date, weeks: int, times: Sequence[time],
                      steps: Sequence[Step], stamp: datetime, patient: str | None = None,
                      tz: str | None = None) -> bytes:
    """The .ics bytes: daily reminders at `times` from `start` for `weeks` weeks.

    `stamp` is DTSTAMP (when the file was made; the caller owns the clock). `patient`
    appears only in the descriptions, and only when given.
    """
    from icalendar import Alarm, Calendar, Event

    zone = _zone(tz)
    days = weeks * 7
    steps = _check_steps(steps, days)
    name = f"{drug.generic} ({drug.brand})"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Take {drug.generic}")
    seed = hashlib.sha256(f"{drug.id}|{start}|{weeks}|{times}|{steps}|{tz}".encode()).hexdigest()
    for number, (first_day, amount) in enumerate(steps):
        last_day = steps[number + 1][0] - 1 if number + 1 < len(steps) else days
        amount = per_dose(amount, drug.dose.times_per_day) if amount else None
        for when in times:
            begins = datetime.combine(start + timedelta(days=first_day - 1), when, tzinfo=zone)
            summary = f"Take {name}" + (f", {amount}" if amount else "")
            lines = [f"Day {first_day} to day {last_day} of your medicine calendar.",
                     "Take the dose your doctor prescribed." if not amount else
                     f"Your prescribed dose: {amount}.",
                     drug.food_text, drug.missed_dose,
                     "This reminder is information only and does not replace advice from "
                     "your own care team."]
            if patient:
                lines.insert(0, f"For {patient}.")
            event = Event()
            event.add("uid", f"{seed[:24]}-{number}-{when:%H%M}@handouts")
            event.add("dtstamp", stamp)
            event.add("dtstart", begins)
            event.add("duration", timedelta(minutes=15))
            event.add("rrule", {"freq": "daily", "count": last_day - first_day + 1})
            event.add("summary", summary)
            event.add("description", "\n".join(lines))
            event.add("transp", "TRANSPARENT")  # a reminder, not a busy meeting
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", summary)
            alarm.add("trigger", timedelta(0))
            event.add_component(alarm)
            cal.add_component(event)
    if zone is not None:
        cal.add_missing_timezones()
    return cal.to_ical()
