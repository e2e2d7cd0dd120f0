"""The .ics calendars are RFC 5545 text that Debian's python3-icalendar parses, and
their weekly rules, expanded with dateutil, give the API's occurrences."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

icalendar = pytest.importorskip("icalendar")
rrule_mod = pytest.importorskip("dateutil.rrule")

from directory_help import cli, iso_z, meeting, request  # noqa: E402

MEETINGS = [
    meeting("chicago-hope", name="Chicago Hope", time_zone="America/Chicago", days=[2, 4],
            start_time="19:00", duration_minutes=90, types=["O", "D", "BE"],
            description="Open to all; newcomers welcome, families too.\n"
                        "We read the format, then share in turn (five minutes each)."),
    meeting("berlin-evening", name="Abendrunde Berlin", time_zone="Europe/Berlin", days=[0],
            start_time="20:00", types=["C", "DE", "ST"], language="de",
            description="Geschlossenes Meeting für Menschen, die aufhören möchten. " * 4),
    meeting("sydney-dawn", name="Sydney Dawn", time_zone="Australia/Sydney", days=[1, 3, 5],
            start_time="07:00", types=["O", "MED"]),
    meeting("late-saturday", name="Late Saturday", time_zone="America/Chicago", days=[6],
            start_time="23:30", duration_minutes=60, types=["O"]),
]


@pytest.fixture
def directory(start_havend, db):
    for doc in MEETINGS:
        proc = cli(db, "add", doc=doc)
        assert proc.returncode == 0, proc.stderr
    # A meeting without a schedule (made the old way) has no place in a calendar.
    db.create_meeting("unscheduled", "Unscheduled")
    return start_havend(db, config={"http": {"public_url": "https://meet.example.org/"}})


def get_ics(server, path):
    status, headers, text = request(server, "GET", path)
    assert status == 200, text
    assert headers["content-type"].startswith("text/calendar")
    return text


def check_lines(text):
    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in raw.replace(b"\r\n", b""), "a bare CR"
    for line in raw.split(b"\r\n")[:-1]:
        assert len(line) <= 75, line
        line.decode("utf-8")  # folding never splits a character


def expand(event, count):
    """The first `count` occurrences of an event's RRULE, as UTC instants."""
    start = event["DTSTART"].dt
    tz = event["DTSTART"].params["TZID"]
    rule = event["RRULE"].to_ical().decode()
    naive = start.replace(tzinfo=None)
    local = rrule_mod.rrulestr(rule, dtstart=naive)
    out = []
    for occ in local:
        out.append(occ.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc))
        if len(out) == count:
            break
    return out


def test_directory_calendar_parses_and_matches_the_api(directory):
    text = get_ics(directory, "/api/meetings.ics")
    check_lines(text)
    cal = icalendar.Calendar.from_ical(text)
    assert str(cal["VERSION"]) == "2.0"
    assert "PRODID" in cal
    events = [c for c in cal.walk("VEVENT")]
    zones = {str(c["TZID"]): c for c in cal.walk("VTIMEZONE")}
    assert sorted(str(e["SUMMARY"]) for e in events) == sorted(m["name"] for m in MEETINGS)
    assert len({str(e["UID"]) for e in events}) == len(MEETINGS)

    for event in events:
        uid = str(event["UID"])
        assert uid.endswith("@meet.example.org")
        assert isinstance(event["DTSTAMP"].dt, datetime)
        tz = event["DTSTART"].params["TZID"]
        assert tz in zones, f"no VTIMEZONE for {tz}"
        rule = event["RRULE"]
        assert rule["FREQ"] == ["WEEKLY"]
        url = str(event["URL"])
        slug = url.rsplit("/", 1)[1]
        assert url == f"https://meet.example.org/m/{slug}"
        assert f"Join: {url}" in str(event["DESCRIPTION"])
        doc = next(m for m in MEETINGS if m["slug"] == slug)
        assert str(event["DESCRIPTION"]).startswith(doc["description"])
        assert event["DURATION"].dt == timedelta(minutes=doc["duration_minutes"])

        # The rule's occurrences are the API's, from the rule's first one on.
        first = expand(event, 1)[0]
        frm = iso_z(first - timedelta(seconds=1))
        status, _, body = request(directory, "GET",
                                  f"/api/meetings/{slug}/occurrences?from={frm}&count=40")
        assert status == 200
        assert [iso_z(s) for s in expand(event, 40)] == \
            [o["start_utc"] for o in body["occurrences"]]

        # And the next one is the API's next occurrence.
        status, _, one = request(directory, "GET", f"/api/meetings/{slug}")
        nxt = one["next_occurrence"]
        after = datetime.now(timezone.utc) - timedelta(minutes=doc["duration_minutes"])
        upcoming = [s for s in expand(event, 400) if s > after]
        assert iso_z(upcoming[0]) == nxt["start_utc"]

    # Each VTIMEZONE gives the zone's real offsets over the next years.
    for tz, comp in zones.items():
        pytz_zone = comp.to_tz()
        zone = ZoneInfo(tz)
        t = datetime.now(timezone.utc)
        for _ in range(3 * 52):
            t += timedelta(days=7)
            naive = t.astimezone(zone).replace(tzinfo=None)
            assert pytz_zone.utcoffset(naive, is_dst=None) == zone.utcoffset(naive), (tz, t)


def test_one_meeting_calendar(directory):
    text = get_ics(directory, "/api/meetings/berlin-evening.ics")
    check_lines(text)
    cal = icalendar.Calendar.from_ical(text)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["SUMMARY"]) == "Abendrunde Berlin"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTSTART"].dt.strftime("%H:%M") == "20:00"
    assert event["RRULE"]["BYDAY"] == ["SU"]
    assert [str(c["TZID"]) for c in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    # A long, non-ASCII description comes back whole after unfolding.
    doc = MEETINGS[1]
    assert str(event["DESCRIPTION"]).startswith(doc["description"])
    assert sorted(str(event["CATEGORIES"].to_ical().decode()).split(",")) == \
        sorted(["Closed", "German", "Step Study"])


def test_rrule_byday_lists_every_day(directory):
    cal = icalendar.Calendar.from_ical(get_ics(directory, "/api/meetings/sydney-dawn.ics"))
    event = cal.walk("VEVENT")[0]
    assert event["RRULE"]["BYDAY"] == ["MO", "WE", "FR"]
    # Local 07:00 on Monday, Wednesday and Friday, whatever the UTC day.
    for s in expand(event, 12):
        local = s.astimezone(ZoneInfo("Australia/Sydney"))
        assert local.strftime("%H:%M") == "07:00"
        assert local.strftime("%a") in ("Mon", "Wed", "Fri")


def test_unknown_and_unscheduled(directory):
    status, _, _ = request(directory, "GET", "/api/meetings/nope.ics")
    assert status == 404
    text = get_ics(directory, "/api/meetings/unscheduled.ics")
    cal = icalendar.Calendar.from_ical(text)
    assert cal.walk("VEVENT") == []
