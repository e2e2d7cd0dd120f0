"""Helpers for the transcript tests (test_transcripts_*.py, issue 9).

site()            a module's havend (wsclient.module_server) with the accounts of ACCOUNTS,
                  logged in: site.tokens[user]
new_meeting()     a meeting with its transcript settings and roles (chloe chairs, casey
                  co-chairs, gwen greets, olga chairs a meeting of her own)
TClient           wsclient.Client (every frame checked against proto/schema) with helpers
open_session()    the chair arrives, lets everyone in automatically and starts the session
end_session()     the chair ends it; waits until every connection closed and the database
                  has the end
api()             one HTTP request: (status, headers, parsed JSON or text)
check()           validate a reply against a definition of proto/schema/api/transcript.json
all_rows_text()   every row of every table, as text (to look for words that must not be kept)

Meetings are driven through the WebSocket protocol, so every event is a real one.
"""

import asyncio
import http.client
import itertools
import json
import re
import subprocess
import urllib.parse

import jsonschema

import harness
from wsclient import Client, Meeting, module_server

PASSWORD = "a calm and long passphrase"
READINGS = [
    {"title": "Who is an addict?", "text": "Most of us do not have to think twice about this."},
    {"title": "Just for today", "text": "Just for today my thoughts will be on my recovery."},
]
# user -> (flags of `havend user add`)
ACCOUNTS = {
    "chloe": (),           # chair of every meeting made by new_meeting()
    "casey": (),           # co-chair of them
    "olga": (),            # chair of a meeting of her own only
    "acct": (),            # an account without any role (attends as a person)
    "gwen": (),            # greeter of every meeting made by new_meeting()
    "nina": (),            # an account without any role that attends nothing
    "root": ("--admin",),
}
SCHEMA = json.loads((harness.REPO / "proto" / "schema" / "api" / "transcript.json")
                    .read_text(encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(SCHEMA)


def cli(db, *args, stdin=""):
    proc = subprocess.run(
        [str(harness.havend_binary()), *args, "--database-url", db.url],
        input=stdin, capture_output=True, text=True, timeout=60, env=harness.clean_env())
    assert not harness.sanitizer_reports(proc.stderr), proc.stderr
    assert proc.returncode == 0, f"havend {' '.join(args)}: {proc.stderr}"
    return proc


def api(server, method, path, token=None, body=None, timeout=30.0):
    """(status, headers as a lower-cased dict, parsed JSON or text) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
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
    if hdrs.get("content-type", "").startswith("application/json"):
        return resp.status, hdrs, json.loads(payload)
    return resp.status, hdrs, payload.decode("utf-8")


def get(server, path, token=None, **query):
    if query:
        path += "?" + urllib.parse.urlencode(query)
    return api(server, "GET", path, token)


def check(doc, definition=None):
    """Validate doc against transcript.json (the export) or one of its $defs."""
    schema = SCHEMA if definition is None else {
        "$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"],
        "$ref": f"#/$defs/{definition}"}
    jsonschema.Draft202012Validator(schema).validate(doc)
    return doc


def site(pg_cluster, tmp_path_factory, name, config=None):
    """Generator for a module fixture: the server, its accounts and their tokens."""
    gen = module_server(pg_cluster, tmp_path_factory, config, name=name)
    server = next(gen)
    try:
        for user, flags in ACCOUNTS.items():
            cli(server.db, "user", "add", user, *flags, stdin=PASSWORD + "\n")
        server.tokens = {}
        for user in ACCOUNTS:
            status, _, body = api(server, "POST", "/api/login",
                                  body={"username": user, "password": PASSWORD})
            assert status == 200, body
            server.tokens[user] = body["token"]
        yield server
    finally:
        gen.close()


_slugs = itertools.count(1)


def new_meeting(site, readers="chairs", record=True, retention=30, language="en",
                time_zone="America/Chicago", name=None, fmt=READINGS):
    """A meeting chaired by chloe (casey co-chairs); olga chairs another meeting."""
    slug = f"tr{next(_slugs)}"
    site.db.execute(
        "INSERT INTO meetings (slug, name, types, format, record_transcripts,"
        " transcript_readers, retention_days, language, time_zone)"
        " VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)",
        (slug, name or f"Meeting {slug}", ["O", "D"], json.dumps(fmt), record, readers,
         retention, language, time_zone))
    cli(site.db, "role", "grant", "chloe", slug, "chair")
    cli(site.db, "role", "grant", "casey", slug, "co-chair")
    cli(site.db, "role", "grant", "gwen", slug, "greeter")
    other = f"{slug}-other"
    site.db.execute("INSERT INTO meetings (slug, name) VALUES (%s, %s)", (other, "Other"))
    cli(site.db, "role", "grant", "olga", other, "chair")
    return Meeting(site, slug)


# ---------------------------------------------------------------------------------------------
# WebSocket


class TClient(Client):
    def next_cmid(self):
        return re.sub(r"[^A-Za-z0-9_-]", "_", super().next_cmid())

    async def ok(self, obj, timeout=10.0):
        """A request answered with done (or ack for say/react); returns the answer."""
        f = await self.request(obj, timeout)
        assert f["type"] in ("done", "ack"), f"{self.label}: {obj} -> {f}"
        return f

    async def post(self, text, off_record=False):
        """say, acked as new; waits for the event too; returns its seq."""
        obj = {"type": "say", "client_msg_id": self.next_cmid(), "text": text}
        if off_record:
            obj["off_record"] = True
        ack = await self.request(obj, 10.0)
        assert ack["type"] == "ack" and ack["duplicate"] is False, f"{self.label}: {ack}"
        await self.wait_seq(ack["seq"], 10.0)
        return ack["seq"]

    async def see(self, kind, after=0, timeout=10.0):
        """The first event of this kind with seq > after (waiting for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for e in self.events:
                if e["seq"] > after and e["kind"] == kind:
                    return e
            left = deadline - loop.time()
            assert left > 0, f"{self.label}: no {kind} event after {after}"
            try:
                self.inbox.append(await self._recv_raw(left))
            except asyncio.TimeoutError:
                pass


async def arrive(m, name, token=None):
    """Connect, hello, join; the join must be answered with joined."""
    c = await TClient.connect(m, label=name)
    await c.hello(name, token=token)
    f = await c.request({"type": "join"}, 10.0)
    assert f["type"] == "joined", f"{name}: {f}"
    return c


async def open_session(m, chair_token, name="Chloe"):
    """The chair arrives, sets auto-admit and starts: the session is open to everyone."""
    chair = await arrive(m, name, chair_token)
    await chair.ok({"type": "settings", "settings": {"auto_admit": True}})
    await chair.ok({"type": "start"})
    return chair


def session_id(c):
    return c.joined_frame["session"]["id"]


async def end_session(m, chair, *others):
    """The chair ends m's session; every connection closes; the end is in the database."""
    await chair.ok({"type": "end"})
    for c in (chair, *others):
        await c.wait_closed(10.0)
    sid = session_id(chair)
    db = m.db
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not db.scalar("SELECT ended_at IS NOT NULL FROM sessions WHERE id = %s", (sid,)):
        assert loop.time() < deadline, f"session {sid} not ended in the database"
        await asyncio.sleep(0.05)
    return sid


# ---------------------------------------------------------------------------------------------
# Database


def all_rows_text(db):
    """Every row of every table of the public schema, each as its text form."""
    tables = [r[0] for r in db.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    out = []
    for t in tables:
        out += [f"{t}: {r[0]}" for r in db.query(f'SELECT t::text FROM "{t}" t')]
    return "\n".join(out)


def stored(db, sid):
    """(seq, member_no, kind, client_msg_id, body) of a session's events, by seq."""
    return db.query("SELECT seq, member_no, kind, client_msg_id, body FROM events"
                    " WHERE session_id = %s ORDER BY seq", (sid,))


def entries(page_or_doc):
    """Every entry of a page or export, in order."""
    return [e for b in page_or_doc["blocks"] for e in b["entries"]]


def by_seq(page_or_doc):
    return {e["seq"]: e for e in entries(page_or_doc)}
