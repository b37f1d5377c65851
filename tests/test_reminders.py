"""Dose reminders for the phone: `build calendar --ics` and the download page's calendar file,
parsed back with icalendar: right days, right times, no name unless one was given."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from click.testing import CliRunner
from dateutil.rrule import rrulestr
from icalendar import Calendar

from handouts.cli import cli
from handouts.reminders import reminder_calendar, reminder_times
from handouts.web import create_app


def events(data: bytes) -> list:
    cal = Calendar.from_ical(data)
    assert str(cal["VERSION"]) == "2.0" and "handouts" in str(cal["PRODID"])
    found = list(cal.walk("VEVENT"))
    assert len({str(e["UID"]) for e in found}) == len(found)  # UIDs are unique
    assert all("DTSTAMP" in e for e in found)
    return found


def occurrences(event) -> list[datetime]:
    start = event.decoded("DTSTART")
    return list(rrulestr(event["RRULE"].to_ical().decode(), dtstart=start))


def build(tmp_path, *args: str):
    return CliRunner().invoke(cli, ["build", "calendar", "--out-dir", str(tmp_path), *args])


def test_twice_daily_reminders_at_8_and_20_for_the_calendars_weeks(tmp_path):
    result = build(tmp_path, "--drug", "Alecensa", "--start", "2026-12-01", "--weeks", "2",
                   "--ics")
    assert result.exit_code == 0, result.output
    ics = tmp_path / "calendar-alectinib-from-2026-12-01-2-weeks.ics"
    assert f"wrote {ics}" in result.output
    found = events(ics.read_bytes())
    assert sorted(e.decoded("DTSTART").time() for e in found) == [time(8), time(20)]
    for event in found:
        days = occurrences(event)
        assert len(days) == 14
        assert days[0].date() == date(2026, 12, 1) and days[-1].date() == date(2026, 12, 14)
        assert days[0].tzinfo is None  # floating local time: 8 am wherever the phone is
        assert "mg" not in str(event["SUMMARY"])  # no dose unless the prescriber gave one
        assert list(event.walk("VALARM"))


def test_a_prescribed_dose_shows_and_a_name_only_when_given(tmp_path):
    result = build(tmp_path, "--drug", "lorlatinib", "--start", "2026-12-01", "--ics",
                   "--dose", "75 mg", "--remind", "21:30", "-o", str(tmp_path / "x.pdf"))
    assert result.exit_code == 0, result.output
    (event,) = events((tmp_path / "x.ics").read_bytes())
    assert str(event["SUMMARY"]) == "Take lorlatinib (Lorbrena), 75 mg"
    assert event.decoded("DTSTART").time() == time(21, 30)
    assert len(occurrences(event)) == 28  # the calendar's default 4 weeks
    assert "Ana" not in (tmp_path / "x.ics").read_text()

    result = build(tmp_path, "--drug", "lorlatinib", "--start", "2026-12-01", "--ics",
                   "--patient", "Ana Diaz")
    assert result.exit_code == 0, result.output
    # A filled-in calendar goes to personal/ (never over the blank one), its .ics beside it;
    # the name carries no more of the patient than a pack's packet-ana-diaz.pdf does.
    ics = next(tmp_path.glob("personal/calendar-lorlatinib-*.ics"))
    assert ics.name == "calendar-lorlatinib-from-2026-12-01-ana-diaz.ics"
    assert not list(tmp_path.glob("calendar-lorlatinib-*"))
    (event,) = events(ics.read_bytes())
    assert "For Ana Diaz." in str(event["DESCRIPTION"])


def test_a_dose_change_starts_on_its_day(builder):
    """The lead's schedule steps (from day N, amount) drive separate repeating events."""
    drug = builder.library.drug("brigatinib")
    data = reminder_calendar(drug, date(2026, 12, 1), 4, reminder_times(drug),
                             [(1, "90 mg"), (8, "180 mg")], datetime(2026, 11, 1, tzinfo=UTC))
    first, second = sorted(events(data), key=lambda e: e.decoded("DTSTART"))
    assert str(first["SUMMARY"]).endswith("90 mg") and len(occurrences(first)) == 7
    assert str(second["SUMMARY"]).endswith("180 mg") and len(occurrences(second)) == 21
    assert occurrences(second)[0] == datetime(2026, 12, 8, 8, 0)


def test_the_prescribers_cli_schedule_reaches_the_phone_and_twice_daily_says_each_time(
        tmp_path):
    result = build(tmp_path, "--drug", "brigatinib", "--start", "2026-12-01",
                   "--ics", "--dose", "90 mg", "--dose", "180 mg from day 8",
                   "-o", str(tmp_path / "b.pdf"))
    assert result.exit_code == 0, result.output
    summaries = sorted(str(e["SUMMARY"]) for e in events((tmp_path / "b.ics").read_bytes()))
    assert summaries == ["Take brigatinib (Alunbrig), 180 mg", "Take brigatinib (Alunbrig), 90 mg"]
    result = build(tmp_path, "--drug", "alectinib", "--start", "2026-12-01",
                   "--ics", "--dose", "600 mg", "-o", str(tmp_path / "a.pdf"))
    assert result.exit_code == 0, result.output
    assert all(str(e["SUMMARY"]).endswith("600 mg each time")
               for e in events((tmp_path / "a.ics").read_bytes()))


def test_a_time_zone_pins_the_times_and_adds_a_vtimezone(builder):
    drug = builder.library.drug("alectinib")
    data = reminder_calendar(drug, date(2026, 12, 1), 1, reminder_times(drug), [(1, None)],
                             datetime(2026, 11, 1, tzinfo=UTC), tz="America/New_York")
    cal = Calendar.from_ical(data)
    assert [str(z["TZID"]) for z in cal.walk("VTIMEZONE")] == ["America/New_York"]
    assert b"DTSTART;TZID=America/New_York:20261201T080000" in data


@pytest.mark.parametrize("args", [
    ["--drug", "alectinib", "--ics"],                                  # no --start
    ["--drug", "alectinib", "--start", "2026-12-01", "--ics", "--remind", "08:00"],  # twice
    ["--drug", "lorlatinib", "--start", "2026-12-01", "--ics", "--remind", "25:00"],
    ["--drug", "lorlatinib", "--start", "2026-12-01", "--ics", "--remind", "8am"],
    ["--drug", "lorlatinib", "--start", "2026-12-01", "--ics", "--tz", "Mars/Olympus"],
    ["--drug", "lorlatinib", "--start", "2026-12-01", "--remind", "08:00"],  # no --ics
])
def test_bad_reminder_options_are_one_line_and_exit_2(tmp_path, args):
    result = build(tmp_path, *args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())  # checked before any PDF is made


def test_ics_is_for_calendars(tmp_path):
    result = CliRunner().invoke(cli, ["build", "faq", "--ics", "--out-dir", str(tmp_path)])
    assert result.exit_code == 2 and "calendar" in result.output


def test_the_download_page_offers_reminders_for_a_dated_calendar():
    app = create_app(None, workers=1, in_process=True)
    try:
        client = app.test_client()
        page = client.get("/").get_data(as_text=True)
        assert 'formaction="/reminders"' in page
        got = client.get("/reminders?drug=Zykadia&start=2026-12-01&paper=a4")
        assert got.status_code == 200 and got.mimetype == "text/calendar"
        assert 'filename="calendar-ceritinib-from-2026-12-01-a4.ics"' in \
            got.headers["Content-Disposition"]
        (event,) = events(got.data)
        assert len(occurrences(event)) == 28
        assert client.get("/reminders?drug=ceritinib").status_code == 400  # no first day
        assert client.get("/reminders?drug=ceritinib&start=2026-12-01&patient=Ana"
                          ).status_code == 400  # names never travel in a URL
        assert client.get("/reminders?drug=aspirin&start=2026-12-01").status_code == 400
    finally:
        app.extensions["handouts"].close()
