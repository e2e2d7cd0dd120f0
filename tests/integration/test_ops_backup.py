"""Back up with pg_dump while havend runs, drop the database, restore it with pg_restore: the
restored database serves the same transcripts and holds the same rows, and the meeting goes
on from where it was (the procedure of docs/OPERATIONS.md)."""

import http.client
import json
import subprocess

import harness
from wsclient import Client, run, serve

PASSWORD = "a calm and long passphrase"


def _api(server, path, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body
    finally:
        conn.close()


def _login(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/api/login",
                     body=json.dumps({"username": "root", "password": PASSWORD}).encode(),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 200, body
        return body["token"]
    finally:
        conn.close()


def _transcripts(server, token):
    """{session id: transcript page JSON} of the meeting "room"."""
    status, body = _api(server, "/api/meetings/room/sessions", token)
    assert status == 200, body
    doc = json.loads(body)
    sessions = doc["sessions"] if isinstance(doc, dict) else doc
    out = {}
    for s in sessions:
        sid = s["id"]
        status, body = _api(server, f"/api/sessions/{sid}/transcript?limit=1000", token)
        assert status == 200, body
        out[sid] = json.loads(body)
    return out


def _all_rows(db):
    """Every row of every table, as text and sorted, and every sequence's position."""
    tables = [r[0] for r in db.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    rows = {t: [r[0] for r in db.query(f'SELECT x::text FROM "{t}" x ORDER BY 1')]
            for t in tables}
    seqs = {r[0]: db.scalar(f'SELECT last_value FROM "{r[0]}"') for r in db.query(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")}
    return rows, seqs


def _pg(db, program, *args):
    cluster = db.cluster
    proc = subprocess.run(
        [str(cluster.bindir / program), "-h", str(cluster.sockdir), "-p", str(cluster.port),
         "-U", cluster.user, *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{program} {args}: {proc.stderr}"
    return proc


def test_backup_drop_restore_serves_the_same_transcript(start_havend, db, tmp_path):
    server = serve(start_havend, db)
    proc = subprocess.run([str(harness.havend_binary()), "user", "add", "root", "--admin",
                           "--database-url", db.url], input=PASSWORD + "\n", text=True,
                          capture_output=True, timeout=60, env=harness.clean_env())
    assert proc.returncode == 0, proc.stderr
    token = _login(server)

    async def meeting():
        ann = await Client.joined(server, "Ann")
        ben = await Client.joined(server, "Ben")
        await ann.say_ok("Welcome, everyone.")
        await ben.say_ok("Thanks for having me.")
        await ann.react(2, "heart")
        ack = await ben.say_ok("Glad I came tonight.")
        await ann.wait_seq(ack["seq"])
        return ack["seq"]

    last = run(meeting())
    before = _transcripts(server, token)
    assert len(before) == 1, before
    [page] = before.values()
    assert "Glad I came tonight." in json.dumps(page), page

    # The backup runs while havend serves (pg_dump reads one consistent snapshot).
    dump = tmp_path / "haven.dump"
    _pg(db, "pg_dump", "--format=custom", "--file", str(dump), db.name)
    rows_before = _all_rows(db)
    server.stop()

    # Disaster: the database is gone. It comes back empty, owned by an ordinary role (as
    # the guide's haven role is: no superuser), which restores the dump.
    owner = f"{db.name}_owner"
    conn = db.cluster.connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE "{db.name}"')
            cur.execute(f'DROP ROLE IF EXISTS "{owner}"')
            cur.execute(f'CREATE ROLE "{owner}" LOGIN')
            cur.execute(f'CREATE DATABASE "{db.name}" OWNER "{owner}"')
    finally:
        conn.close()
    assert not db.table_exists("events")

    _pg(db, "pg_restore", "--role", owner, "--dbname", db.name, "--no-owner",
        "--exit-on-error", str(dump))
    assert _all_rows(db) == rows_before
    assert db.scalar("SELECT tableowner FROM pg_tables WHERE tablename = 'events'") == owner

    restored = start_havend(db)
    restored.wait_healthy()
    # The login token was in the database too: the same admin session goes on.
    after = _transcripts(restored, token)
    assert after == before

    async def go_on():
        cy = await Client.joined(restored, "Cy")
        assert [e["seq"] for e in cy.joined_frame["events"]][-1] == last
        ack = await cy.say_ok("And the meeting goes on.")
        return ack["seq"]

    assert run(go_on()) == last + 1
