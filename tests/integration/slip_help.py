"""Helpers for test_slips.py and test_votes.py: accounts, meetings with roles, members over
WebSocket, plain HTTP calls, and moving a finished session into the past so that its attendance
covers real minutes."""

import datetime
import http.client
import itertools
import json
import subprocess

import harness
from wsclient import Client, Meeting

PASSWORD = "a calm and long passphrase"
# chloe chairs every meeting made here; root is a server admin.
ACCOUNTS = {"chloe": (), "root": ("--admin",)}
CONFIG = {"rooms": {"reconnect_grace_secs": 2}}


def cli(db, *args, stdin=""):
    proc = subprocess.run(
        [str(harness.havend_binary()), *args, "--database-url", db.url],
        input=stdin, capture_output=True, text=True, timeout=60, env=harness.clean_env())
    assert not harness.sanitizer_reports(proc.stderr), proc.stderr
    assert proc.returncode == 0, f"havend {' '.join(args)}: {proc.stderr}"
    return proc


def api(server, method, path, token=None, body=None):
    """One HTTP request: (status, lower-cased headers, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    if hdrs.get("content-type", "").startswith("application/json"):
        return resp.status, hdrs, json.loads(raw.decode())
    return resp.status, hdrs, raw.decode()


def login(server, username):
    status, _, body = api(server, "POST", "/api/login",
                          body={"username": username, "password": PASSWORD})
    assert status == 200, body
    return body["token"]


def setup_accounts(server):
    for user, flags in ACCOUNTS.items():
        cli(server.db, "user", "add", user, *flags, stdin=PASSWORD + "\n")
    server.tokens = {user: login(server, user) for user in ACCOUNTS}


_slugs = itertools.count(1)


def meeting(site, types=("O", "D", "POA"), prefix="slip", name=None, group=""):
    """A new meeting chaired by chloe; returns a wsclient.Meeting."""
    slug = f"{prefix}{next(_slugs)}"
    site.db.execute(
        "INSERT INTO meetings(slug, name, types, time_zone, group_name)"
        " VALUES (%s, %s, %s, 'America/Chicago', %s)",
        (slug, name or f"Meeting {slug}", list(types), group))
    cli(site.db, "role", "grant", "chloe", slug, "chair")
    return Meeting(site, slug)


async def request_ok(c, obj, timeout=10.0):
    f = await c.request(obj, timeout)
    assert f["type"] == "done", f"{c.label}: {obj} -> {f}"
    return f


async def join(m, name, token=None):
    """Connect, hello and join (the meeting must admit at once); returns the client."""
    c = await Client.joined(m, name, token=token)
    return c


async def open_meeting(m, chair_token):
    """The chair arrives, opens the session and lets everyone in at once."""
    chair = await join(m, "Chloe", chair_token)
    await request_ok(chair, {"type": "start"})
    await request_ok(chair, {"type": "settings", "settings": {"auto_admit": True}})
    return chair


def session_id(c):
    return c.joined_frame["session"]["id"]


def wait_left(db, sid, member, rows):
    """Wait until member has `rows` attendance intervals in session sid, all closed."""
    def done():
        got = db.query("SELECT count(*), count(left_at) FROM attendance"
                       " WHERE session_id = %s AND member_no = %s", (sid, member))[0]
        return got == (rows, rows)
    harness.wait_until(done, 10, what=f"{rows} closed attendance rows of member {member}")


def wait_ended(db, sid):
    harness.wait_until(
        lambda: db.scalar("SELECT ended_at IS NOT NULL FROM sessions WHERE id = %s", (sid,))
        and db.scalar("SELECT count(*) FROM attendance WHERE session_id = %s"
                      " AND left_at IS NULL", (sid,)) == 0,
        10, what="the session's end and every attendance row closed")


def backdate(db, sid, presence=None):
    """Move ended session sid to a 60-minute span [T0, T0 + 60 min] three hours ago.

    presence maps member numbers to (from, to) minute pairs relative to T0, one per attendance
    row the member has (in joined_at order): those rows get these times. Every other member's
    rows become one interval covering the whole session. Returns T0."""
    presence = presence or {}
    now = db.scalar("SELECT date_trunc('minute', now())")
    t0 = now - datetime.timedelta(hours=3)

    def at(minutes):
        return t0 + datetime.timedelta(minutes=minutes)

    db.execute("UPDATE sessions SET started_at = %s, ended_at = %s WHERE id = %s",
               (at(-10), at(60), sid))
    db.execute("UPDATE events SET created_at = %s WHERE session_id = %s"
               " AND kind = 'session_started'", (at(0), sid))
    db.execute("UPDATE events SET created_at = %s WHERE session_id = %s"
               " AND kind IN ('chair_taken', 'chair_handed_over')", (at(-5), sid))
    db.execute("UPDATE events SET created_at = %s WHERE session_id = %s"
               " AND kind = 'session_ended'", (at(60), sid))
    members = [r[0] for r in db.query(
        "SELECT DISTINCT member_no FROM attendance WHERE session_id = %s", (sid,))]
    for no in members:
        rows = [r[0] for r in db.query(
            "SELECT joined_at FROM attendance WHERE session_id = %s AND member_no = %s"
            " ORDER BY joined_at", (sid, no))]
        spans = presence.get(no)
        if spans is None:
            db.execute("DELETE FROM attendance WHERE session_id = %s AND member_no = %s"
                       " AND joined_at > %s", (sid, no, rows[0]))
            rows, spans = rows[:1], [(-2, 62)]
        assert len(rows) == len(spans), f"member {no} has {len(rows)} attendance rows"
        for old, (a, b) in zip(rows, spans):
            db.execute("UPDATE attendance SET joined_at = %s, left_at = %s"
                       " WHERE session_id = %s AND member_no = %s AND joined_at = %s",
                       (at(a), at(b), sid, no, old))
    return t0
