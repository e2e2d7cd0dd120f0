"""Occurrences are computed in the meeting's own zone: right across daylight-saving
changes in both hemispheres, across week boundaries, and for the repeated and the
missing hour; each is compared with Python's zoneinfo."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from directory_help import (
    cli, iso_local, iso_z, meeting, occurrences, parse_utc, request,
)

# 2026: America/Chicago and America/New_York change on 8 March and 1 November,
# Europe/Berlin on 29 March and 25 October, Australia/Sydney on 5 April (clocks go
# back) and 4 October (clocks go forward).
CASES = [
    ("chicago", "America/Chicago", [2, 4], "19:00", "2026-03-01T00:00:00Z"),
    ("chicago-fall", "America/Chicago", [2, 4], "19:00", "2026-10-20T00:00:00Z"),
    ("new-york", "America/New_York", [1], "19:00", "2026-02-28T00:00:00Z"),
    ("berlin", "Europe/Berlin", [0, 3], "20:00", "2026-03-20T00:00:00Z"),
    ("berlin-fall", "Europe/Berlin", [0, 3], "20:00", "2026-10-18T00:00:00Z"),
    ("sydney", "Australia/Sydney", [1, 5], "07:00", "2026-03-25T00:00:00Z"),
    ("sydney-spring", "Australia/Sydney", [1, 5], "07:00", "2026-09-25T00:00:00Z"),
    ("lord-howe", "Australia/Lord_Howe", [6], "09:00", "2026-03-25T00:00:00Z"),
]


def add(db, slug, tz, days, start, duration=60):
    proc = cli(db, "add", doc=meeting(slug, time_zone=tz, days=days, start_time=start,
                                      duration_minutes=duration))
    assert proc.returncode == 0, proc.stderr


def api_occurrences(server, slug, frm, count):
    status, _, body = request(server, "GET", f"/api/meetings/{slug}/occurrences"
                              f"?from={frm}&count={count}")
    assert status == 200, body
    return body


def check_against_zoneinfo(body, tz, days, start, duration, frm, count):
    after = parse_utc(frm)
    expected = occurrences(days, start, duration, tz, after, count)
    got = body["occurrences"]
    assert [o["start_utc"] for o in got] == [iso_z(s) for s in expected]
    for o, s in zip(got, expected):
        assert o["end_utc"] == iso_z(s + timedelta(minutes=duration))
        assert o["start_local"] == iso_local(s, tz)
        assert o["end_local"] == iso_local(s + timedelta(minutes=duration), tz)
        assert o["time_zone"] == tz
        # The weekday is the local one (0 = Sunday).
        local_day = (s.astimezone(ZoneInfo(tz)).weekday() + 1) % 7
        assert o["day"] == local_day
        assert o["in_progress"] is False
    return got


@pytest.mark.parametrize("slug,tz,days,start,frm", CASES, ids=[c[0] for c in CASES])
def test_occurrences_match_zoneinfo_across_dst(start_havend, db, slug, tz, days, start, frm):
    add(db, slug, tz, days, start)
    server = start_havend(db)
    body = api_occurrences(server, slug, frm, 12)
    assert body["time_zone"] == tz
    got = check_against_zoneinfo(body, tz, days, start, 60, frm, 12)
    # The local wall-clock time stays put while the UTC offset changes.
    assert {o["start_local"][11:16] for o in got} == {start}
    assert len({o["start_local"][19:] for o in got}) == 2, "no offset change in the window"


def test_new_york_example_from_the_issue(start_havend, db):
    """19:00 America/New_York is 00:00Z before the change and 23:00Z after it."""
    add(db, "ny", "America/New_York", [6], "19:00")
    server = start_havend(db)
    got = api_occurrences(server, "ny", "2026-02-28T00:00:00Z", 3)["occurrences"]
    assert [o["start_utc"] for o in got] == [
        "2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z", "2026-03-14T23:00:00Z"]
    assert [o["start_local"] for o in got] == [
        "2026-02-28T19:00:00-05:00", "2026-03-07T19:00:00-05:00", "2026-03-14T19:00:00-04:00"]


def test_week_boundary(start_havend, db):
    """Local Monday 07:00 in Sydney is Sunday in UTC; local Saturday 23:30 in Chicago
    is Sunday in UTC and ends on Sunday locally."""
    add(db, "sydney-monday", "Australia/Sydney", [1], "07:00")
    add(db, "chicago-late", "America/Chicago", [6], "23:30", duration=90)
    server = start_havend(db)
    frm = "2026-06-06T00:00:00Z"
    syd = api_occurrences(server, "sydney-monday", frm, 3)
    check_against_zoneinfo(syd, "Australia/Sydney", [1], "07:00", 60, frm, 3)
    first = syd["occurrences"][0]
    assert first["day"] == 1
    assert first["start_utc"] == "2026-06-07T21:00:00Z"   # a Sunday in UTC
    assert first["start_local"] == "2026-06-08T07:00:00+10:00"

    chi = api_occurrences(server, "chicago-late", frm, 3)
    check_against_zoneinfo(chi, "America/Chicago", [6], "23:30", 90, frm, 3)
    first = chi["occurrences"][0]
    assert first["day"] == 6
    assert first["start_utc"] == "2026-06-07T04:30:00Z"
    assert first["end_local"] == "2026-06-07T01:00:00-05:00"

    # The day filter is the local weekday, not the UTC one.
    status, _, body = request(server, "GET", "/api/meetings?day=1")
    assert status == 200
    assert [m["slug"] for m in body["meetings"]] == ["sydney-monday"]
    status, _, body = request(server, "GET", "/api/meetings?day=0")
    assert [m["slug"] for m in body["meetings"]] == []


def test_repeated_and_missing_hour(start_havend, db):
    """A Sunday 01:30 meeting on the night clocks go back happens once, at the first
    01:30 (RFC 5545 3.3.5); a Sunday 02:30 meeting on the night they go forward is read
    with the offset from before the gap, so it starts at 03:30 daylight time."""
    add(db, "repeated", "America/Chicago", [0], "01:30")
    add(db, "missing", "America/Chicago", [0], "02:30")
    server = start_havend(db)
    frm = "2026-10-25T12:00:00Z"
    rep = api_occurrences(server, "repeated", frm, 2)
    check_against_zoneinfo(rep, "America/Chicago", [0], "01:30", 60, frm, 2)
    assert rep["occurrences"][0]["start_utc"] == "2026-11-01T06:30:00Z"
    assert rep["occurrences"][0]["start_local"] == "2026-11-01T01:30:00-05:00"

    frm = "2026-03-01T12:00:00Z"
    mis = api_occurrences(server, "missing", frm, 3)
    check_against_zoneinfo(mis, "America/Chicago", [0], "02:30", 60, frm, 3)
    assert mis["occurrences"][0]["start_utc"] == "2026-03-08T08:30:00Z"
    assert mis["occurrences"][0]["start_local"] == "2026-03-08T03:30:00-05:00"
    assert mis["occurrences"][0]["day"] == 0
    assert mis["occurrences"][1]["start_local"] == "2026-03-15T02:30:00-05:00"


def test_next_occurrence_is_now_based_and_in_both_forms(start_havend, db):
    add(db, "sydney", "Australia/Sydney", [1, 3, 5], "07:00")
    add(db, "berlin", "Europe/Berlin", [0], "20:00")
    # A meeting in progress right now, in UTC.
    now = datetime.now(timezone.utc)
    begin = (now - timedelta(minutes=10)).replace(second=0, microsecond=0)
    add(db, "now", "UTC", [(begin.weekday() + 1) % 7], begin.strftime("%H:%M"))
    server = start_havend(db)
    before = datetime.now(timezone.utc)
    status, _, body = request(server, "GET", "/api/meetings")
    assert status == 200
    by_slug = {m["slug"]: m for m in body["meetings"]}
    for slug, tz, days, start in [("sydney", "Australia/Sydney", [1, 3, 5], "07:00"),
                                  ("berlin", "Europe/Berlin", [0], "20:00")]:
        nxt = by_slug[slug]["next_occurrence"]
        expected = occurrences(days, start, 60, tz, before, 1)[0]
        assert nxt["start_utc"] == iso_z(expected)
        assert nxt["start_local"] == iso_local(expected, tz)
        assert nxt["time_zone"] == tz
        assert nxt["in_progress"] is False
    nxt = by_slug["now"]["next_occurrence"]
    assert nxt["in_progress"] is True
    assert nxt["start_utc"] == iso_z(begin)
    assert nxt["start_local"] == begin.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"
    # The list is soonest first: the meeting in progress leads.
    assert body["meetings"][0]["slug"] == "now"
    starts = [m["next_occurrence"]["start_utc"] for m in body["meetings"]]
    assert starts == sorted(starts)


def test_occurrence_parameters_are_checked(start_havend, db):
    add(db, "m", "Europe/Berlin", [1], "10:00")
    server = start_havend(db)
    for query, field in [("from=yesterday", "from"), ("from=2026-02-30T00:00:00Z", "from"),
                         ("from=2026-03-01T00:00:00", "from"), ("count=0", "count"),
                         ("count=101", "count"), ("count=x", "count")]:
        status, _, body = request(server, "GET", f"/api/meetings/m/occurrences?{query}")
        assert status == 400, query
        assert body["field"] == field
    status, _, body = request(server, "GET", "/api/meetings/m/occurrences?"
                              "from=2026-03-01T12:00:00%2B01:00&count=100")
    assert status == 200
    assert len(body["occurrences"]) == 100
    assert body["occurrences"][0]["start_utc"] == "2026-03-02T09:00:00Z"
    status, _, _ = request(server, "GET", "/api/meetings/nope/occurrences")
    assert status == 404
