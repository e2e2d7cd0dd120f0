"""Invalid input to every write of the directory (POST, PUT and DELETE over HTTP,
`havend meeting add|edit|del`) gets an error naming the field and changes nothing."""

import pytest

from directory_help import add_account, cli, create, meeting, request, table

# (what is wrong, the fields to set (None removes one), the field the error names)
CREATE_CASES = [
    ("no slug", {"slug": None}, "slug"),
    ("bad slug", {"slug": "Tuesday Hope"}, "slug"),
    ("no name", {"name": None}, "name"),
    ("blank name", {"name": "   "}, "name"),
    ("long name", {"name": "x" * 201}, "name"),
    ("name with a line break", {"name": "a\nb"}, "name"),
    ("long description", {"description": "x" * 4001}, "description"),
    ("language", {"language": "english"}, "language"),
    ("no zone", {"time_zone": None}, "time_zone"),
    ("zone form", {"time_zone": "Chicago time"}, "time_zone"),
    ("unknown zone", {"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ("zone in lower case", {"time_zone": "america/chicago"}, "time_zone"),
    ("posix copy", {"time_zone": "posix/Europe/Berlin"}, "time_zone"),
    ("no days", {"days": None}, "days"),
    ("empty days", {"days": []}, "days"),
    ("weekday 7", {"days": [1, 7]}, "days[1]"),
    ("repeated weekday", {"days": [3, 3]}, "days[1]"),
    ("weekday as text", {"days": ["monday"]}, "days[0]"),
    ("no start", {"start_time": None}, "start_time"),
    ("start 24:00", {"start_time": "24:00"}, "start_time"),
    ("start with seconds", {"start_time": "19:00:00"}, "start_time"),
    ("short duration", {"duration_minutes": 4}, "duration_minutes"),
    ("long duration", {"duration_minutes": 1441}, "duration_minutes"),
    ("unknown type", {"types": ["O", "ONL"]}, "types[1]"),
    ("open and closed", {"types": ["O", "C"]}, "types"),
    ("repeated type", {"types": ["D", "d"]}, "types[1]"),
    ("types as text", {"types": "O,D"}, "types"),
    ("long group", {"group": "g" * 201}, "group"),
    ("record as text", {"record_transcripts": "no"}, "record_transcripts"),
    ("readers", {"transcript_readers": "everyone"}, "transcript_readers"),
    ("retention", {"retention_days": 3651}, "retention_days"),
    ("share limit", {"share_time_limit_secs": 10}, "share_time_limit_secs"),
    ("format not a list", {"format": {"title": "a", "text": "b"}}, "format"),
    ("reading without text", {"format": [{"title": "Welcome"}]}, "format[0].text"),
    ("reading with extra field", {"format": [{"title": "a", "text": "b", "by": "c"}]},
     "format[0].by"),
    ("second reading untitled", {"format": [{"title": "a", "text": "b"},
                                            {"title": "", "text": "c"}]}, "format[1].title"),
    ("too many readings", {"format": [{"title": "a", "text": "b"}] * 31}, "format"),
    ("resource url", {"resources": [{"title": "Help", "url": "javascript:alert(1)"}]},
     "resources[0].url"),
    ("contribution url", {"contribution_url": "paypal.me/x"}, "contribution_url"),
    ("unknown field", {"colour": "blue"}, "colour"),
]

UPDATE_CASES = [
    ("blank name", {"name": ""}, "name"),
    ("unknown zone", {"time_zone": "Atlantis/Capital"}, "time_zone"),
    ("empty days", {"days": []}, "days"),
    ("bad start", {"start_time": "7pm"}, "start_time"),
    ("unknown type", {"types": ["XYZ"]}, "types[0]"),
    ("share limit", {"share_time_limit_secs": 0}, "share_time_limit_secs"),
    ("reading", {"format": [{"title": "a", "text": ""}]}, "format[0].text"),
    ("slug change", {"slug": "another-slug"}, "slug"),
    ("unknown field", {"owner": "me"}, "owner"),
    ("valid field then invalid one", {"name": "New name", "retention_days": -1},
     "retention_days"),
]


def doc_with(changes):
    doc = meeting("new-meeting", format=[{"title": "Welcome", "text": "Hello."}])
    for k, v in changes.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    return doc


@pytest.fixture
def setup(start_havend, db):
    server = start_havend(db).wait_healthy()
    admin = add_account(db, server, "admin", admin=True)
    create(server, admin, meeting("existing", name="Existing"))
    return server, admin, db


def test_create_rejects_each_invalid_field(setup):
    server, admin, db = setup
    before = table(db)
    for what, changes, field in CREATE_CASES:
        status, _, body = request(server, "POST", "/api/meetings", doc_with(changes),
                                  token=admin)
        assert status == 400, (what, body)
        assert body["error"] == "invalid_field", what
        assert body["field"] == field, (what, body)
        assert body["message"], what
        assert table(db) == before, what


def test_create_rejects_bodies_that_are_not_meetings(setup):
    server, admin, db = setup
    before = table(db)
    status, _, body = request(server, "POST", "/api/meetings", raw="{not json", token=admin)
    assert status == 400 and body["error"] == "bad_json"
    for raw in ["[]", "\"meeting\"", "null", "42"]:
        status, _, body = request(server, "POST", "/api/meetings", raw=raw, token=admin)
        assert status == 400, raw
        # The API layer reads only objects and arrays as bodies; the rest is bad_json.
        assert body.get("field") == "" or body["error"] == "bad_json", raw
    status, _, body = request(server, "POST", "/api/meetings", token=admin)
    assert status == 400 and body["field"] == ""
    # A slug that is taken is a conflict on the slug field.
    status, _, body = request(server, "POST", "/api/meetings", meeting("existing"), token=admin)
    assert status == 409 and body["field"] == "slug"
    assert table(db) == before


def test_update_rejects_each_invalid_field(setup):
    server, admin, db = setup
    before = table(db)
    for what, changes, field in UPDATE_CASES:
        status, _, body = request(server, "PUT", "/api/meetings/existing", changes, token=admin)
        assert status == 400, (what, body)
        assert body["field"] == field, (what, body)
        assert table(db) == before, what
    status, _, body = request(server, "PUT", "/api/meetings/existing", raw="[1]", token=admin)
    assert status == 400 and body["field"] == ""
    status, _, body = request(server, "PUT", "/api/meetings/missing", {"name": "x"},
                              token=admin)
    assert status == 404
    assert table(db) == before


def test_delete_of_nothing_changes_nothing(setup):
    server, admin, db = setup
    before = table(db)
    for path in ["/api/meetings/missing", "/api/meetings/Bad_Slug", "/api/meetings/x.ics"]:
        status, _, _ = request(server, "DELETE", path, token=admin)
        assert status in (404, 405), path
    assert table(db) == before


def test_command_line_rejects_the_same_input(setup):
    server, admin, db = setup
    before = table(db)
    for what, changes, field in CREATE_CASES:
        proc = cli(db, "add", doc=doc_with(changes))
        assert proc.returncode == 2, (what, proc.stdout, proc.stderr)
        assert f"invalid {field}:" in proc.stderr, (what, proc.stderr)
    for what, changes, field in UPDATE_CASES:
        proc = cli(db, "edit", "existing", doc=changes)
        assert proc.returncode == 2, (what, proc.stderr)
        assert f"invalid {field}:" in proc.stderr, (what, proc.stderr)
    proc = cli(db, "add", doc="{broken")
    assert proc.returncode == 2 and "JSON" in proc.stderr
    proc = cli(db, "add", doc=meeting("existing"))
    assert proc.returncode != 0 and "invalid slug" in proc.stderr
    proc = cli(db, "del", "missing")
    assert proc.returncode == 1
    proc = cli(db, "edit", "missing", doc={"name": "x"})
    assert proc.returncode == 1
    assert table(db) == before


def test_valid_update_changes_only_the_fields_given(setup):
    server, admin, db = setup
    status, _, before = request(server, "GET", "/api/meetings/existing")
    status, _, after = request(server, "PUT", "/api/meetings/existing",
                               {"name": "Renamed", "days": [5, 1]}, token=admin)
    assert status == 200, after
    assert after["name"] == "Renamed" and after["days"] == [1, 5]
    for key in ["description", "time_zone", "start_time", "types", "record_transcripts"]:
        assert after[key] == before[key], key
    # Sending back what GET returned, read-only fields and all, is accepted.
    status, _, again = request(server, "PUT", "/api/meetings/existing", after, token=admin)
    assert status == 200, again
    assert again["name"] == "Renamed"


def test_becoming_closed_stops_recording_unless_said(setup):
    server, admin, db = setup
    status, _, m = request(server, "GET", "/api/meetings/existing")
    assert m["types"] == ["O", "D"] and m["record_transcripts"] is True
    status, _, m = request(server, "PUT", "/api/meetings/existing", {"types": ["C", "D"]},
                           token=admin)
    assert status == 200 and m["record_transcripts"] is False
    status, _, m = request(server, "PUT", "/api/meetings/existing",
                           {"record_transcripts": True}, token=admin)
    assert m["record_transcripts"] is True
    # Already closed: another change of types leaves the group's choice alone.
    status, _, m = request(server, "PUT", "/api/meetings/existing", {"types": ["C", "SP"]},
                           token=admin)
    assert m["record_transcripts"] is True
    status, _, m = request(server, "POST", "/api/meetings",
                           meeting("closed-one", types=["C"]), token=admin)
    assert status == 201 and m["record_transcripts"] is False
