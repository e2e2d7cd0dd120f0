"""GET /api/meetings filters: each one works, and each bad value is a 400 naming it."""

from datetime import datetime, timedelta, timezone

import pytest

from directory_help import cli, meeting, occurrences, request


def slugs(server, query):
    status, _, body = request(server, "GET", "/api/meetings" + query)
    assert status == 200, (query, body)
    return sorted(m["slug"] for m in body["meetings"])


@pytest.fixture
def server(start_havend, db):
    now = datetime.now(timezone.utc)
    soon = now + timedelta(hours=2)
    docs = [
        meeting("chicago-open", name="Chicago Open Hope", time_zone="America/Chicago",
                days=[2, 4], start_time="19:00", types=["O", "D", "BE"],
                description="Newcomers welcome.", notes="Bring a cup of tea."),
        meeting("berlin-closed", name="Abendrunde", time_zone="Europe/Berlin", days=[0],
                start_time="20:00", types=["C", "ST", "DE"], language="de",
                description="Geschlossenes Meeting.", group="Gruppe Spree"),
        meeting("lisbon", name="Esperança", time_zone="Europe/Lisbon", days=[3],
                start_time="21:00", types=["O", "POR"], language="pt-PT", description=""),
        # Starts in about two hours, in UTC, whatever today is.
        meeting("soon", name="Soon", time_zone="UTC", days=[(soon.weekday() + 1) % 7],
                start_time=soon.strftime("%H:%M"), types=["O", "SP"], description="",
                region="Online"),
    ]
    for doc in docs:
        proc = cli(db, "add", doc=doc)
        assert proc.returncode == 0, proc.stderr
    return start_havend(db)


def test_filters(server):
    assert slugs(server, "") == ["berlin-closed", "chicago-open", "lisbon", "soon"]
    assert slugs(server, "?day=0") == ["berlin-closed"] + (
        ["soon"] if (datetime.now(timezone.utc) + timedelta(hours=2)).weekday() == 6 else [])
    assert slugs(server, "?day=4") == ["chicago-open"] + (
        ["soon"] if (datetime.now(timezone.utc) + timedelta(hours=2)).weekday() == 3 else [])
    assert slugs(server, "?type=O") == ["chicago-open", "lisbon", "soon"]
    assert slugs(server, "?type=o,be") == ["chicago-open"]
    assert slugs(server, "?type=C,ST") == ["berlin-closed"]
    assert slugs(server, "?language=de") == ["berlin-closed"]
    assert slugs(server, "?language=pt") == ["lisbon"]
    assert slugs(server, "?language=pt-PT") == ["lisbon"]
    assert slugs(server, "?language=en") == ["chicago-open", "soon"]
    assert slugs(server, "?q=TEA") == ["chicago-open"]
    assert slugs(server, "?q=gruppe%20spree") == ["berlin-closed"]
    assert slugs(server, "?q=Esperan%C3%A7a") == ["lisbon"]
    assert slugs(server, "?q=online") == ["soon"]
    assert slugs(server, "?q=nothing-like-this") == []
    assert slugs(server, "?type=O&language=en&q=hope") == ["chicago-open"]


def test_within_hours(server):
    now = datetime.now(timezone.utc)
    got = slugs(server, "?within_hours=3")
    assert "soon" in got
    status, _, body = request(server, "GET", "/api/meetings?within_hours=3")
    for m in body["meetings"]:
        start = datetime.fromisoformat(m["next_occurrence"]["start_utc"][:-1]).replace(
            tzinfo=timezone.utc)
        assert start < now + timedelta(hours=3, minutes=1)
    # Every meeting meets within a week.
    assert len(slugs(server, "?within_hours=168")) == 4
    expected = occurrences([2, 4], "19:00", 60, "America/Chicago", now, 1)[0]
    if expected > now + timedelta(hours=2):
        assert "chicago-open" not in slugs(server, "?within_hours=1")


def test_limit_and_offset(server):
    status, _, body = request(server, "GET", "/api/meetings")
    order = [m["slug"] for m in body["meetings"]]
    status, _, body = request(server, "GET", "/api/meetings?limit=2")
    assert [m["slug"] for m in body["meetings"]] == order[:2]
    status, _, body = request(server, "GET", "/api/meetings?limit=2&offset=2")
    assert [m["slug"] for m in body["meetings"]] == order[2:]


@pytest.mark.parametrize("query,field", [
    ("day=7", "day"), ("day=-1", "day"), ("day=monday", "day"), ("day=", "day"),
    ("type=ONL", "type"), ("type=O,C", "type"), ("type=", "type"), ("type=,", "type"),
    ("language=english", "language"), ("language=e", "language"),
    ("within_hours=0", "within_hours"), ("within_hours=169", "within_hours"),
    ("within_hours=1.5", "within_hours"),
    ("q=", "q"), ("q=" + "x" * 101, "q"), ("q=a%01b", "q"),
    ("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset"),
])
def test_bad_filters_name_the_field(server, query, field):
    status, _, body = request(server, "GET", "/api/meetings?" + query)
    assert status == 400, (query, body)
    assert body["error"] == "invalid_parameter"
    assert body["field"] == field
    assert body["message"]
