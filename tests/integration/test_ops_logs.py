"""--log-format json: one JSON object per line, and never a meeting's words, names, tokens,
passwords or client addresses beyond log.client_addresses."""

import asyncio
import http.client
import json

import harness
from wsclient import Client, RawWs, run, serve

TEXTS = ["I kept the porch light on for myself", "ninety days today, quietly",
         "zephyr-marmalade-4471"]
NAMES = ["Quillon Ardent", "Tamsin Vey"]
PASSWORD = "osprey lantern 8812 correct horse"


def _post_login(server, username, password):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", "/api/login",
                     body=json.dumps({"username": username, "password": password}).encode(),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _meeting(server):
    """A scripted meeting: two people join, talk, react, leave; returns their tokens."""
    async def scenario():
        a = await Client.joined(server, NAMES[0])
        b = await Client.joined(server, NAMES[1])
        for i, text in enumerate(TEXTS):
            await (a if i % 2 == 0 else b).say_ok(text)
        await b.react(1)
        await a.sync()
        # A connection from a foreign origin is refused (and logged).
        try:
            raw = await RawWs.open(server, origin="https://evil.example")
            raw.close_now()
        except Exception:  # noqa: BLE001 - the refusal is what we want
            pass
        await asyncio.sleep(0.2)
        return [a.token, b.token]

    return run(scenario())


def _json_lines(text):
    entries = []
    for n, line in enumerate(text.splitlines(), 1):
        entry = json.loads(line)     # every line is a JSON object on its own
        assert isinstance(entry, dict), line
        assert set(entry) == {"ts", "level", "sub", "msg"}, line
        assert entry["level"] in ("debug", "info", "warn", "error"), line
        assert entry["ts"].endswith("Z") and "T" in entry["ts"], line
        entries.append(entry)
    return entries


def test_json_logs_parse_and_keep_the_meeting_private(start_havend, db):
    server = serve(start_havend, db, args=["--log-format", "json", "--log-level", "debug"])
    tokens = _meeting(server)
    assert _post_login(server, "somebody", PASSWORD) == 401
    harness.wait_until(lambda: "failed login" in server.log_text(), 10, what="failed login")
    server.stop()

    text = server.log_text()
    entries = _json_lines(text)
    subs = {e["sub"] for e in entries}
    assert {"server", "store", "ws", "account"} <= subs, subs
    msgs = [e["msg"] for e in entries]
    assert any("refused a connection from a foreign origin" == m for m in msgs), msgs
    assert any(m == "failed login" for m in msgs), msgs
    for secret in TEXTS + NAMES + tokens + [PASSWORD, "somebody", "evil.example"]:
        assert secret not in text, f"{secret!r} is in the log"
    # No client address by default (the listening line names our own address, not a client's).
    for e in entries:
        if not e["msg"].startswith("havend ") or "listening on" not in e["msg"]:
            assert "127.0.0.1" not in e["msg"], e


def test_text_format_stays_the_default(start_havend, db):
    server = serve(start_havend, db)
    server.stop()
    lines = server.log_text().splitlines()
    assert lines and not any(l.startswith("{") for l in lines), lines
    assert any(" info  [server] havend " in l and "listening on" in l for l in lines), lines


def test_client_addresses_truncated_and_full(start_havend, db):
    truncated = serve(start_havend, db, args=["--log-format", "json"],
                      config={"log": {"client_addresses": "truncated"}})
    assert _post_login(truncated, "somebody", PASSWORD) == 401
    harness.wait_until(lambda: "failed login" in truncated.log_text(), 10, what="failed login")
    full = serve(start_havend, db, config={"log": {"client_addresses": "full"}}, slugs=())
    assert _post_login(full, "somebody", PASSWORD) == 401
    harness.wait_until(lambda: "failed login" in full.log_text(), 10, what="failed login")

    msgs = [e["msg"] for e in _json_lines(truncated.log_text())]
    assert "failed login from 127.0.0.0/24" in msgs, msgs
    assert "failed login from 127.0.0.1" in full.log_text()


def test_hostile_bytes_still_give_json_lines(start_havend):
    """A libpq error or an lws line could carry anything; every line must still parse.
    The database URL below is invalid on purpose, with quotes and a backslash in it."""
    server = start_havend(database_url='postgresql:///no"such\\db\tx?host=/nonexistent',
                          args=["--log-format", "json"])
    harness.wait_until(lambda: "database unavailable" in server.log_text(), 10,
                       what="the connection failure")
    server.stop()
    entries = _json_lines(server.log_text())
    assert any(e["sub"] == "store" and e["level"] == "warn" for e in entries)
