"""Who may write the directory: each kind of caller against each write endpoint gets
exactly the status of the table in proto/API.md, and a refused write changes nothing."""

import re

import pytest

from directory_help import (
    add_account, attendee_token, create, grant, meeting, request, table,
)
from harness import REPO

API_MD = REPO / "proto" / "API.md"
CALLERS = {
    "anonymous (no token)": "anonymous",
    "attendee token": "attendee",
    "account without a role": "norole",
    "greeter of the meeting": "greeter",
    "co-chair of the meeting": "cochair",
    "chair of the meeting": "chair",
    "chair of another meeting": "otherchair",
    "admin": "admin",
}
ENDPOINTS = ["POST /api/meetings", "PUT /api/meetings/{slug}", "DELETE /api/meetings/{slug}"]


def documented_table():
    """{caller key: {endpoint: status}} from the permissions table in proto/API.md."""
    text = API_MD.read_text(encoding="utf-8")
    block = text.split("<!-- permissions -->")[1].split("<!-- /permissions -->")[0]
    rows = [line for line in block.splitlines() if line.startswith("|")]
    header = [c.strip().strip("`") for c in rows[0].strip("|").split("|")]
    assert header[1:] == ENDPOINTS, header
    out = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        caller = CALLERS[cells[0]]
        out[caller] = {ep: int(re.match(r"\d{3}", cell).group(0))
                       for ep, cell in zip(ENDPOINTS, cells[1:])}
    assert set(out) == set(CALLERS.values())
    return out


def test_table_is_documented():
    t = documented_table()
    assert t["admin"] == {ENDPOINTS[0]: 201, ENDPOINTS[1]: 200, ENDPOINTS[2]: 200}
    assert t["chair"] == {ENDPOINTS[0]: 403, ENDPOINTS[1]: 200, ENDPOINTS[2]: 200}
    assert all(v == 401 for v in t["anonymous"].values())


@pytest.fixture
def world(start_havend, db):
    server = start_havend(db).wait_healthy()
    tokens = {"anonymous": None, "attendee": attendee_token(db)}
    tokens["admin"] = add_account(db, server, "admin", admin=True)
    for name in ["norole", "greeter", "cochair", "chair", "otherchair"]:
        tokens[name] = add_account(db, server, name)
    create(server, tokens["admin"], meeting("target", name="Target"))
    create(server, tokens["admin"], meeting("other", name="Other"))

    def grants():
        grant(db, "greeter", "target", "greeter")
        grant(db, "cochair", "target", "co-chair")
        grant(db, "chair", "target", "chair")
        grant(db, "otherchair", "other", "chair")

    grants()
    # The attendee token is one havend accepts.
    status, _, me = request(server, "GET", "/api/me", token=tokens["attendee"])
    assert status == 200 and me["kind"] == "attendee"
    return server, db, tokens, grants


def attempt(server, endpoint, token, n):
    if endpoint.startswith("POST"):
        return request(server, "POST", "/api/meetings",
                       meeting(f"new-{n}", name=f"New {n}"), token=token)
    if endpoint.startswith("PUT"):
        return request(server, "PUT", "/api/meetings/target", {"notes": f"note {n}"},
                       token=token)
    return request(server, "DELETE", "/api/meetings/target", token=token)


def test_each_caller_against_each_write(world):
    server, db, tokens, grants = world
    expected = documented_table()
    n = 0
    for caller, token in tokens.items():
        for endpoint in ENDPOINTS:
            n += 1
            before = table(db)
            status, _, body = attempt(server, endpoint, token, n)
            want = expected[caller][endpoint]
            assert status == want, (caller, endpoint, body)
            if status >= 400:
                assert body["error"] in ("unauthenticated", "forbidden"), body
                assert table(db) == before, (caller, endpoint)
                continue
            if endpoint.startswith("POST"):
                assert body["slug"] == f"new-{n}"
            elif endpoint.startswith("PUT"):
                assert body["notes"] == f"note {n}"
            else:
                assert body == {"deleted": "target"}
                status, _, _ = request(server, "GET", "/api/meetings/target")
                assert status == 404
                # Roles go with the meeting: put both back for the next caller.
                assert db.scalar("SELECT count(*) FROM meeting_roles r JOIN meetings m"
                                 " ON m.id = r.meeting_id WHERE m.slug = 'target'") == 0
                create(server, tokens["admin"], meeting("target", name="Target"))
                grants()


def test_bad_tokens_are_refused(world):
    server, db, tokens, grants = world
    before = table(db)
    for token in ["0" * 64, "not-a-token"]:
        for method, path, body in [("POST", "/api/meetings", meeting("x")),
                                   ("PUT", "/api/meetings/target", {"name": "x"}),
                                   ("DELETE", "/api/meetings/target", None)]:
            status, _, reply = request(server, method, path, body, token=token)
            assert status == 401, (token, method, reply)
    assert table(db) == before


def test_reads_need_no_token(world):
    server, db, tokens, grants = world
    for path in ["/api/meetings", "/api/meetings/target", "/api/meetings/target/occurrences",
                 "/api/meetings.ics", "/api/meetings/target.ics", "/api/meeting-guide.json",
                 "/api/meeting-types"]:
        status, _, _ = request(server, "GET", path)
        assert status == 200, path
        status, _, _ = request(server, "GET", path, token=tokens["attendee"])
        assert status == 200, path


def test_a_revoked_chair_can_no_longer_edit(world):
    server, db, tokens, grants = world
    status, _, _ = request(server, "PUT", "/api/meetings/target", {"notes": "one"},
                           token=tokens["chair"])
    assert status == 200
    db.execute("DELETE FROM meeting_roles WHERE account_id ="
               " (SELECT id FROM accounts WHERE username = 'chair')")
    before = table(db)
    status, _, _ = request(server, "PUT", "/api/meetings/target", {"notes": "two"},
                           token=tokens["chair"])
    assert status == 403
    assert table(db) == before
