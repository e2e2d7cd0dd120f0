"""GET /api/meeting-guide.json is a Meeting Guide feed: every required field with the
right type, Code for Recovery's day numbering and type codes, conference_url and
attendance_option for online meetings, updated as "YYYY-MM-DD HH:MM:SS" UTC.  The API's
meeting objects match proto/schema/api/meeting.json."""

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest

from directory_help import cli, meeting, request
from harness import REPO

SCHEMAS = REPO / "proto" / "schema" / "api"
PUBLIC = "https://meet.example.org"
# Type codes of the Meeting Guide spec and NA lists that Haven accepts.
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
UPDATED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def validator(name):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture
def server(start_havend, db):
    docs = [
        meeting("one-day", name="One Day", time_zone="America/Chicago", days=[0],
                start_time="23:30", duration_minutes=60, types=["O", "D"],
                region="Chicago, IL, USA", group="Lakeside Group",
                contribution_url="https://paypal.me/lakeside", notes="Cameras are optional."),
        meeting("many-days", name="Many Days", time_zone="Europe/Berlin", days=[1, 3, 5],
                start_time="07:15", duration_minutes=45, types=["C", "BE", "DE"],
                contribution_url="https://cash.app/$MorningGroup", description=""),
        meeting("minimal", name="Minimal", time_zone="Australia/Sydney", days=[6],
                start_time="10:00", types=[], description=""),
    ]
    for doc in docs:
        proc = cli(db, "add", doc=doc)
        assert proc.returncode == 0, proc.stderr
    db.create_meeting("unscheduled", "Unscheduled")
    return start_havend(db, config={"http": {"public_url": PUBLIC}})


def test_feed_items_have_the_required_fields_and_types(server):
    status, headers, feed = request(server, "GET", "/api/meeting-guide.json")
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert headers.get("access-control-allow-origin") == "*"
    assert isinstance(feed, list)
    check = validator("meeting-guide-item.json")
    by_slug = {item["slug"]: item for item in feed}
    assert set(by_slug) == {"one-day", "many-days", "minimal", "unscheduled"}
    now = datetime.now(timezone.utc)
    for item in feed:
        check.validate(item)
        # The spec's two required fields.
        assert isinstance(item["name"], str) and item["name"]
        assert isinstance(item["slug"], str) and re.fullmatch(r"[a-z0-9-]+", item["slug"])
        assert isinstance(item["types"], list)
        assert all(isinstance(t, str) for t in item["types"])
        assert item["conference_url"] == f"{PUBLIC}/m/{item['slug']}"
        assert item["attendance_option"] == "online"
        assert item["url"] == item["conference_url"]
        assert UPDATED.match(item["updated"])
        updated = datetime.strptime(item["updated"], "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=timezone.utc)
        assert abs((now - updated).total_seconds()) < 600
        if item["slug"] != "unscheduled":
            assert HHMM.match(item["time"]) and HHMM.match(item["end_time"])
            assert isinstance(item["timezone"], str)

    one = by_slug["one-day"]
    assert one["day"] == 0 and isinstance(one["day"], int)
    assert (one["time"], one["end_time"]) == ("23:30", "00:30")
    assert one["timezone"] == "America/Chicago"
    assert one["types"] == ["O", "D"]
    assert one["group"] == "Lakeside Group"
    assert one["formatted_address"] == "Chicago, IL, USA"
    assert one["approximate"] == "yes"
    assert one["paypal"] == "lakeside"
    assert one["notes"] == "A calm discussion meeting.\n\nCameras are optional."

    many = by_slug["many-days"]
    assert many["day"] == [1, 3, 5]
    assert (many["time"], many["end_time"]) == ("07:15", "08:00")
    assert many["types"] == ["C", "BE", "DE"]
    assert many["square"] == "$MorningGroup"
    assert "notes" not in many and "formatted_address" not in many and "group" not in many

    minimal = by_slug["minimal"]
    assert minimal["types"] == []
    assert not {"paypal", "venmo", "square"} & set(minimal)

    # A meeting without a schedule is "by appointment": no day or time.
    assert "day" not in by_slug["unscheduled"] and "time" not in by_slug["unscheduled"]


def test_meeting_objects_match_the_schema(server):
    check = validator("meeting.json")
    status, _, body = request(server, "GET", "/api/meetings")
    assert status == 200
    assert len(body["meetings"]) == 4
    for m in body["meetings"]:
        check.validate(m)
        assert "format" not in m and "resources" not in m
        assert m["join_url"] == f"{PUBLIC}/m/{m['slug']}"
        assert m["ics_url"] == f"{PUBLIC}/api/meetings/{m['slug']}.ics"
    status, _, one = request(server, "GET", "/api/meetings/one-day")
    assert status == 200
    check.validate(one)
    assert one["format"] == [] and one["resources"] == []
    assert one["end_time"] == "00:30"
    status, _, unscheduled = request(server, "GET", "/api/meetings/unscheduled")
    check.validate(unscheduled)
    assert unscheduled["next_occurrence"] is None
    assert unscheduled["time_zone"] == "UTC"


def test_meeting_types_table(server):
    status, _, body = request(server, "GET", "/api/meeting-types")
    assert status == 200
    codes = {t["code"]: t["name"] for t in body["types"]}
    for code in ["O", "C", "D", "SP", "BE", "ST", "TR", "LIT", "MED", "H", "CAN", "XT", "POA",
                 "A", "M", "W", "Y", "SEN", "LGBTQ", "POC", "DD", "ASL", "EN", "S", "FR", "DE",
                 "BT", "JFT", "IW", "SPAD", "STEP", "TOP", "QA"]:
        assert code in codes, code
    assert codes["O"] == "Open" and codes["C"] == "Closed"
    assert "ONL" not in codes
