"""Helpers for the meeting directory tests (test_directory_*.py).

request()         one HTTP request with an optional JSON body and bearer token
add_account()     an account made with `havend user add` (password on stdin), logged in
attendee_token()  an attendee token, stored as havend stores them
cli()             `havend meeting ...` with a JSON document on stdin
meeting()         a valid meeting document, with overrides
occurrences()     the reference: weekly occurrences computed with Python's zoneinfo
table()           every row of meetings, to show that a rejected write changed nothing
"""

import hashlib
import http.client
import json
import secrets
import subprocess
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import harness

UTC = timezone.utc


def request(server, method, path, body=None, token=None, raw=None, timeout=10.0):
    """(status, headers as a lower-cased dict, parsed JSON or text) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    headers = {}
    data = None
    if raw is not None:
        data = raw if isinstance(raw, bytes) else raw.encode()
    elif body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    ctype = hdrs.get("content-type", "")
    if ctype.startswith("application/json"):
        return resp.status, hdrs, json.loads(payload)
    return resp.status, hdrs, payload.decode("utf-8")


def havend_cmd(db, args, stdin_text=None, timeout=60):
    """Run havend with args against db; returns the CompletedProcess (text mode)."""
    proc = subprocess.run(
        [str(harness.havend_binary()), *args, "--database-url", db.url],
        input=stdin_text if stdin_text is not None else "",
        env=harness.clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    reports = harness.sanitizer_reports(proc.stderr)
    assert not reports, f"sanitizer report from havend {args}:\n{proc.stderr}"
    return proc


def cli(db, *args, doc=None):
    """`havend meeting ARGS`, with doc (a dict or text) as JSON on stdin."""
    text = doc if isinstance(doc, str) or doc is None else json.dumps(doc)
    return havend_cmd(db, ["meeting", *args], stdin_text=text)


def add_account(db, server, name, admin=False, password=None):
    """Create an account with the CLI and log it in; returns its token."""
    password = password or f"long-pass-{secrets.token_hex(6)}"
    args = ["user", "add", name] + (["--admin"] if admin else [])
    proc = havend_cmd(db, args, stdin_text=password + "\n")
    assert proc.returncode == 0, proc.stderr
    status, _, body = request(server, "POST", "/api/login",
                              {"username": name, "password": password})
    assert status == 200, body
    return body["token"]


def grant(db, name, slug, role):
    proc = havend_cmd(db, ["role", "grant", name, slug, role])
    assert proc.returncode == 0, proc.stderr


def attendee_token(db, name="Sam"):
    """A valid attendee token: a row in attendees holding the token's BLAKE2b hash."""
    token = secrets.token_hex(32)
    digest = hashlib.blake2b(token.encode(), digest_size=32).hexdigest()
    db.execute(
        "INSERT INTO attendees (id, token_hash, display_name, expires_at)"
        " VALUES (%s, decode(%s, 'hex'), %s, now() + interval '1 day')",
        (secrets.token_hex(16), digest, name),
    )
    return token


def meeting(slug="tuesday-hope", **overrides):
    doc = {
        "slug": slug,
        "name": "Tuesday Hope",
        "description": "A calm discussion meeting.",
        "time_zone": "America/Chicago",
        "days": [2],
        "start_time": "19:00",
        "duration_minutes": 60,
        "types": ["O", "D"],
    }
    doc.update(overrides)
    return doc


def create(server, token, doc):
    status, _, body = request(server, "POST", "/api/meetings", doc, token=token)
    assert status == 201, body
    return body


def table(db):
    """Every meeting row (all columns), in id order."""
    return db.query("SELECT * FROM meetings ORDER BY id")


def parse_utc(text):
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def local_instant(day, start, tz):
    """The instant of local wall time day+start in zone tz, as RFC 5545 reads it:
    the first of a repeated time (fold=0) and, for a time in a gap, the offset from
    before the gap (also fold=0 in zoneinfo)."""
    return datetime.combine(day, start, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def occurrences(days, start, duration_minutes, tz, after, count):
    """The first `count` weekly occurrences (UTC start instants) not ended at `after`."""
    zone = ZoneInfo(tz)
    hh, mm = (int(x) for x in start.split(":"))
    t = time(hh, mm)
    day = after.astimezone(zone).date() - timedelta(days=2)
    out = []
    while len(out) < count:
        # Python: Monday = 0; Meeting Guide: Sunday = 0.
        if (day.weekday() + 1) % 7 in days:
            s = local_instant(day, t, tz)
            if s + timedelta(minutes=duration_minutes) > after:
                out.append(s)
        day += timedelta(days=1)
    return out


def iso_z(dt):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(dt, tz):
    local = dt.astimezone(ZoneInfo(tz))
    off = local.utcoffset()
    minutes = int(off.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


__all__ = [
    "UTC", "request", "havend_cmd", "cli", "add_account", "grant", "attendee_token",
    "meeting", "create", "table", "parse_utc", "local_instant", "occurrences", "iso_z",
    "iso_local", "date", "datetime", "timedelta",
]
