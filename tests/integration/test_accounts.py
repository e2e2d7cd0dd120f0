"""Identity and roles: chair/admin accounts, login, tokens, roles in rooms.

Each test drives the real havend and its command line against a fresh database.
"""

import asyncio
import json
import http.client
import subprocess

import pytest

import harness
from protocol import validate_server_frame

PASSWORD = "a calm and long passphrase"


def cli(db, *args, stdin=""):
    """Run `havend user|role ...` on the test database with stdin; return the process."""
    proc = subprocess.run(
        [str(harness.havend_binary()), *args, "--database-url", db.url],
        input=stdin, capture_output=True, text=True, timeout=60, env=harness.clean_env())
    assert not harness.sanitizer_reports(proc.stderr), proc.stderr
    return proc


def add_user(db, name, *flags, password=PASSWORD):
    proc = cli(db, "user", "add", name, *flags, stdin=password + "\n")
    assert proc.returncode == 0, proc.stderr
    return proc


def request(server, method, path, body=None, token=None, raw=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = "Bearer " + token
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    return resp.status, dict(resp.getheaders()), (json.loads(text) if text else None)


def login(server, name, password=PASSWORD):
    return request(server, "POST", "/api/login", {"username": name, "password": password})


async def hello_join(server, slug, token, name="Pat"):
    ws = await harness.ws_connect(server.ws_url(slug))
    await harness.ws_send(ws, {"type": "hello", "id": 1, "name": name, "token": token})
    welcome = await harness.ws_recv(ws)
    validate_server_frame(welcome)
    if welcome["type"] != "welcome":
        await ws.close()
        return welcome, None
    await harness.ws_send(ws, {"type": "join", "id": 2})
    joined = await harness.ws_recv_type(ws, "joined")
    validate_server_frame(joined)
    await ws.close()
    return welcome, joined


def test_password_stored_only_as_argon2id(db, start_havend):
    db.migrate()
    add_user(db, "sam")
    stored = db.scalar("SELECT password_hash FROM accounts WHERE username = 'sam'")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    server = start_havend(db)
    assert login(server, "sam")[0] == 200
    assert login(server, "sam", "a wrong passphrase here")[0] == 401
    server.stop()
    assert PASSWORD not in server.log_text()
    assert "a wrong passphrase here" not in server.log_text()
    dump = "\n".join(str(r) for r in db.query("SELECT * FROM accounts"))
    assert PASSWORD not in dump


def test_password_rules_and_user_commands(db):
    db.migrate()
    short = cli(db, "user", "add", "lee", stdin="short\n")
    assert short.returncode != 0 and "at least 10" in short.stderr
    common = cli(db, "user", "add", "lee", stdin="password123\n")
    assert common.returncode != 0 and "common" in common.stderr
    same = cli(db, "user", "add", "leeleeleelee", stdin="leeleeleelee\n")
    assert same.returncode != 0 and "user name" in same.stderr
    bad_name = cli(db, "user", "add", "Lee Smith", stdin=PASSWORD + "\n")
    assert bad_name.returncode != 0
    assert db.scalar("SELECT count(*) FROM accounts") == 0
    add_user(db, "lee")
    dup = cli(db, "user", "add", "lee", stdin=PASSWORD + "\n")
    assert dup.returncode != 0 and "already exists" in dup.stderr
    add_user(db, "root", "--admin", "--no-password")
    listing = cli(db, "user", "list").stdout
    assert "lee" in listing and "root admin (no password)" in listing
    assert cli(db, "user", "del", "lee").returncode == 0
    assert cli(db, "user", "del", "lee").returncode != 0
    assert db.scalar("SELECT count(*) FROM accounts") == 1


def test_login_answers_alike_for_unknown_user_and_wrong_password(db, start_havend):
    db.migrate()
    add_user(db, "sam")
    server = start_havend(db)
    s1, _, unknown = login(server, "nobody", PASSWORD)
    s2, _, wrong = login(server, "sam", "not the right one")
    assert (s1, s2) == (401, 401)
    assert unknown == wrong == {"error": "invalid_credentials",
                                "message": "unknown user name or wrong password"}


def test_account_without_password_cannot_log_in(db, start_havend):
    db.migrate()
    add_user(db, "root", "--admin", "--no-password")
    server = start_havend(db)
    assert login(server, "root", "")[0] == 400
    assert login(server, "root", "anything at all here")[0] == 401
    proc = cli(db, "user", "passwd", "root", stdin=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    status, _, body = login(server, "root")
    assert status == 200 and body["admin"] is True


def test_login_bad_input(db, start_havend):
    db.migrate()
    server = start_havend(db)
    assert request(server, "POST", "/api/login", raw=b"{not json")[0] == 400
    assert request(server, "POST", "/api/login", [1, 2])[2]["error"] == "bad_request"
    status, _, body = request(server, "POST", "/api/login", {"password": "x"})
    assert status == 400 and body["field"] == "username"
    status, _, body = request(server, "POST", "/api/login", {"username": "a", "password": 5})
    assert status == 400 and body["field"] == "password"
    status, _, body = request(server, "POST", "/api/login",
                              {"username": "a", "password": "p" * 2000})
    assert status == 400 and body["field"] == "password"
    assert request(server, "POST", "/api/login", raw=b"x" * 70000)[0] == 413
    assert request(server, "GET", "/api/login")[0] == 405
    assert request(server, "GET", "/api/me", token="zz")[2]["error"] == "invalid_token"
    assert request(server, "GET", "/api/me")[0] == 401


def test_login_rate_limited_per_account_and_address(db, start_havend):
    db.migrate()
    add_user(db, "sam")
    add_user(db, "kim")
    server = start_havend(db, config={"identity": {"login_failures_per_account": 3,
                                                   "login_failures_per_address": 5}})
    for _ in range(3):
        assert login(server, "sam", "wrong wrong wrong")[0] == 401
    status, headers, body = login(server, "sam")  # right password, but limited now
    assert status == 429 and body["error"] == "rate_limited"
    assert int(headers["Retry-After"]) > 0 and body["retry_after_s"] > 0
    assert login(server, "kim")[0] == 200  # another account from the same address still works
    for _ in range(2):
        assert login(server, "kim", "wrong wrong wrong")[0] == 401
    # five failures from this address in all: the address is limited for every account
    assert login(server, "kim")[0] == 429


def test_login_limits_see_clients_through_a_trusted_proxy(db, start_havend):
    """Behind a proxy every login comes from the proxy's address. With http.trusted_proxies
    naming it, the last X-Forwarded-For address is the client: one client's failures limit
    that client only. Earlier entries (what a client claims) and the header from a peer that
    is not a trusted proxy count for nothing."""
    db.migrate()
    add_user(db, "sam")
    add_user(db, "kim")
    limits = {"identity": {"login_failures_per_account": 100, "login_failures_per_address": 3}}

    def via(server, client, name, password=PASSWORD, claimed="198.51.100.77"):
        return request(server, "POST", "/api/login", {"username": name, "password": password},
                       headers={"X-Forwarded-For": f"{claimed}, {client}"})

    server = start_havend(db, config={**limits, "http": {"trusted_proxies": ["127.0.0.1"]}})
    for i in range(3):  # a different claimed address each time changes nothing
        assert via(server, "192.0.2.1", "sam", "wrong wrong wrong", f"203.0.113.{i}")[0] == 401
    assert via(server, "192.0.2.1", "kim")[0] == 429   # that client is limited
    assert via(server, "192.0.2.2", "kim")[0] == 200   # another client of the same proxy is not
    assert via(server, "2001:db8::7", "kim")[0] == 200
    # A last entry that is not an address (garbage, empty, a host name, too long for the
    # header buffer) is not believed: the request counts as the proxy's own.
    statuses = [via(server, bad, "sam", "wrong wrong wrong")[0]
                for bad in ("not-an-address", "", "proxy.example", "192.0.2.300", "1" * 600)]
    assert statuses == [401, 401, 401, 429, 429]       # all five counted for the proxy
    assert via(server, "127.0.0.1", "kim")[0] == 429   # the proxy's own address is limited
    assert via(server, "192.0.2.3", "kim")[0] == 200   # real clients unaffected
    server.stop()

    # Not a trusted proxy: the header is ignored, and the connection's address is limited.
    server = start_havend(db, config=limits)
    for i in range(3):
        assert via(server, f"192.0.2.{10 + i}", "sam", "wrong wrong wrong")[0] == 401
    assert via(server, "192.0.2.99", "kim")[0] == 429


def test_logout_and_expiry_revoke_tokens(db, start_havend):
    db.migrate()
    db.create_meeting("monday")
    add_user(db, "sam")
    server = start_havend(db)
    token = login(server, "sam")[2]["token"]
    status, _, me = request(server, "GET", "/api/me", token=token)
    assert status == 200 and me == {"kind": "account", "username": "sam", "admin": False,
                                    "roles": []}
    assert request(server, "POST", "/api/logout", token=token)[0] == 200
    assert request(server, "GET", "/api/me", token=token)[0] == 401
    welcome, _ = asyncio.run(hello_join(server, "monday", token))
    assert welcome["type"] == "error" and welcome["code"] == "invalid_token"

    # an expired login token
    token = login(server, "sam")[2]["token"]
    db.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second'"
               " WHERE revoked_at IS NULL")
    assert request(server, "GET", "/api/me", token=token)[0] == 401

    # attendee tokens: logout revokes, expiry ends them
    async def attendee():
        ws = await harness.ws_connect(server.ws_url("monday"))
        await harness.ws_send(ws, {"type": "hello", "name": "Kim"})
        tok = (await harness.ws_recv(ws))["token"]
        await ws.close()
        return tok
    tok = asyncio.run(attendee())
    assert request(server, "GET", "/api/me", token=tok)[2] == {"kind": "attendee", "admin": False}
    assert request(server, "POST", "/api/logout", token=tok)[0] == 200
    welcome, _ = asyncio.run(hello_join(server, "monday", tok))
    assert welcome["code"] == "invalid_token"
    tok = asyncio.run(attendee())
    db.execute("UPDATE attendees SET expires_at = now() - interval '1 second'"
               " WHERE revoked_at IS NULL AND expires_at < 'infinity'")
    welcome, _ = asyncio.run(hello_join(server, "monday", tok))
    assert welcome["code"] == "invalid_token"


def test_roles_follow_the_account_into_the_room(db, start_havend):
    db.migrate()
    db.create_meeting("monday")
    db.create_meeting("friday")
    add_user(db, "sam")
    add_user(db, "root", "--admin")
    assert cli(db, "role", "grant", "sam", "monday", "chair").returncode == 0
    assert cli(db, "role", "grant", "sam", "monday", "boss").returncode != 0
    assert cli(db, "role", "grant", "sam", "nowhere", "chair").returncode != 0
    server = start_havend(db)
    sam = login(server, "sam")[2]["token"]
    root = login(server, "root")[2]["token"]
    me = request(server, "GET", "/api/me", token=sam)[2]
    assert me["roles"] == [{"meeting": "monday", "role": "chair"}]
    assert asyncio.run(hello_join(server, "monday", sam, "Sam"))[1]["you"]["role"] == "chair"
    assert asyncio.run(hello_join(server, "friday", sam, "Sam"))[1]["you"]["role"] == "attendee"
    # an admin is of the chair's rank; nobody holds friday's chair, so the admin takes it
    assert asyncio.run(hello_join(server, "friday", root, "Ro"))[1]["you"]["role"] == "chair"
    assert cli(db, "role", "grant", "sam", "monday", "co-chair").returncode == 0
    assert asyncio.run(hello_join(server, "monday", sam, "Sam"))[1]["you"]["role"] == "co-chair"
    assert cli(db, "role", "revoke", "sam", "monday").returncode == 0
    assert asyncio.run(hello_join(server, "monday", sam, "Sam"))[1]["you"]["role"] == "attendee"
    # a new password ends the sessions of the old one
    assert cli(db, "user", "passwd", "root", stdin="another long passphrase\n").returncode == 0
    assert request(server, "GET", "/api/me", token=root)[0] == 401
