"""Attendance slips (issue 14) against the real havend: proof of attendance that keeps anonymity.

Each meeting is run over WebSocket, so the attendance intervals are the server's own; once it
has ended, the session is moved three hours into the past and stretched to 60 minutes
(slip_help.backdate), and the attendance rows are given times within it. The slips are checked
with the published key here (python3-cryptography), with `havend slip verify` and with /verify.
"""

import base64
import datetime
import hashlib
import json
import os
import stat
import zoneinfo

import jsonschema
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import harness
import protocol
from slip_help import (CONFIG, api, backdate, join, meeting, open_meeting, request_ok,
                       session_id, setup_accounts, wait_ended, wait_left)
from wsclient import Client, module_server, run


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    gen = module_server(pg_cluster, tmp_path_factory, CONFIG, name="slips")
    server = next(gen)
    try:
        setup_accounts(server)
        yield server
    finally:
        gen.close()


def canonical(slip):
    """RFC 8785 for what a slip holds: sorted keys, no white space, UTF-8."""
    body = {k: v for k, v in slip.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_key(site):
    status, headers, key = api(site, "GET", "/.well-known/haven-attendance-key")
    assert status == 200, key
    assert headers.get("access-control-allow-origin") == "*"
    return key


def signature_ok(slip, key):
    pk = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
    try:
        pk.verify(base64.b64decode(slip["signature"]), canonical(slip))
        return True
    except InvalidSignature:
        return False


def validate(instance, definition=None):
    """Validate against proto/schema/api/slip.json, or one of its $defs."""
    v = protocol.validator("api/slip.json")
    if definition:
        ref = f"https://haven.invalid/proto/schema/api/slip.json#/$defs/{definition}"
        v = jsonschema.Draft202012Validator({"$ref": ref}, resolver=v.resolver)
    v.validate(instance)


def ask(site, sid, token, fmt=None):
    path = f"/api/sessions/{sid}/slip" + (f"?format={fmt}" if fmt else "")
    return api(site, "POST", path, token=token)


def slip_cli(*args, cwd=None):
    return harness.run_havend(["slip", *args], cwd=cwd)


def local_iso(t, zone="America/Chicago"):
    return t.astimezone(zoneinfo.ZoneInfo(zone)).isoformat()


def test_forty_minutes_with_two_reconnects(site, tmp_path):
    """Present 40 of 60 minutes over three connections (two reconnects), one interval of them
    overlapping another: the slip says 40, names only the attendee and the chair, is signed,
    verifies offline and at /verify, and any changed byte fails both."""
    m = meeting(site, name="Tuesday Hope", group="Lakeside Group")
    tok = site.tokens

    async def scenario():
        chloe = await open_meeting(m, tok["chloe"])
        sam = await join(m, "Sam")
        others = [await join(m, name) for name in ("Blake", "Cam")]
        sid, no, token = session_id(sam), sam.member, sam.token
        for rows in (1, 2):
            await sam.close()
            wait_left(site.db, sid, no, rows)
            sam = await join(m, "Sam", token)
            assert sam.member == no
        # not before the end
        status, _, body = ask(site, sid, token)
        assert status == 409 and body["error"] == "session_in_progress", body
        await request_ok(chloe, {"type": "end"})
        for c in [chloe, sam, *others]:
            assert (await c.wait_closed())[0] == 1000
        return sid, no, token, [c.member for c in others]

    sid, no, token, _ = run(scenario())
    wait_ended(site.db, sid)
    assert site.db.scalar("SELECT count(*) FROM attendance WHERE session_id = %s"
                          " AND member_no = %s", (sid, no)) == 3
    # 15 (clipped at the start) + 18 + 7 (clipped at the end) = 40; the fourth interval lies
    # inside the second and must count once.
    t0 = backdate(site.db, sid, {no: [(-5, 15), (20, 38), (53, 70)]})
    site.db.execute("INSERT INTO attendance (session_id, member_no, joined_at, left_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (sid, no, t0 + datetime.timedelta(minutes=25),
                     t0 + datetime.timedelta(minutes=30)))

    status, _, slip = ask(site, sid, token)
    assert status == 201, slip
    validate(slip)
    assert slip["minutes_present"] == 40  # the issue allows 40 +- 1; merging makes it exact
    assert slip["session_minutes"] == 60
    assert slip["name"] == "Sam" and slip["chair"] == "Chloe"
    assert slip["meeting_name"] == "Tuesday Hope" and slip["meeting_slug"] == m.slug
    assert slip["group"] == "Lakeside Group" and slip["time_zone"] == "America/Chicago"
    assert slip["started_at"] == local_iso(t0)
    assert slip["ended_at"] == local_iso(t0 + datetime.timedelta(minutes=60))
    assert slip["date"] == local_iso(t0)[:10]
    assert slip["issuer"] == site.url
    text = json.dumps(slip)
    for name in ("Blake", "Cam"):
        assert name not in text

    key = public_key(site)
    validate(key, "KeyInfo")
    assert slip["key_id"] == key["key_id"]
    assert key["key_id"] == hashlib.sha256(base64.b64decode(key["public_key"])).hexdigest()[:16]
    assert signature_ok(slip, key)

    # /verify: by id, by id and hash, and the whole slip
    digest = hashlib.sha256(canonical(slip)).hexdigest()
    status, headers, v = api(site, "GET", f"/verify/{slip['slip_id']}")
    assert status == 200, v
    validate(v, "Verification")
    assert v["issued"] and v["valid"] and v["signature_valid"] and v["slip"] == slip
    assert v["sha256"] == digest and "matches" not in v
    status, _, v = api(site, "GET", f"/verify/{slip['slip_id']}?sha256={digest}")
    assert status == 200 and v["matches"] is True and v["valid"] is True
    status, _, v = api(site, "GET", f"/verify/{slip['slip_id']}?sha256={'0' * 64}")
    assert status == 200 and v["matches"] is False and v["valid"] is False
    status, _, v = api(site, "POST", "/verify", body=slip)
    assert status == 200, v
    validate(v, "Check")
    assert v == {"valid": True, "slip_id": slip["slip_id"], "issued": True,
                 "signature_valid": True, "matches": True, "problem": None}

    # offline: with the published key, with the server's key file, with slips.key_file
    original = json.dumps(slip, indent=2, ensure_ascii=False)
    slip_file = tmp_path / "slip.json"
    slip_file.write_text(original, encoding="utf-8")
    key_file = tmp_path / "haven-attendance-key.json"
    key_file.write_text(json.dumps(key))
    server_key = site.workdir / "var" / "haven-attendance.key"
    for args, cwd in (((f"--key={key_file}",), None), (("--key", str(server_key)), None),
                      ((), site.workdir)):
        proc = slip_cli("verify", slip_file, *args, cwd=cwd)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.startswith("valid: slip " + slip["slip_id"])
        assert "Sam" in proc.stdout and "40 of 60" in proc.stdout

    # one changed byte anywhere in a value fails, offline and at /verify
    changes = [
        ('"minutes_present": 40', '"minutes_present": 41'),
        ('"name": "Sam"', '"name": "Sao"'),
        ('"meeting_name": "Tuesday Hope"', '"meeting_name": "Tuesday Hopf"'),
        ('"chair": "Chloe"', '"chair": "Chlod"'),
        (slip["date"], slip["date"][:-1] + str((int(slip["date"][-1]) + 1) % 10)),
        ('"signature": "' + slip["signature"][:4],
         '"signature": "' + slip["signature"][:3] + ("A" if slip["signature"][3] != "A" else "B")),
    ]
    for old, new in changes:
        assert original.count(old) >= 1, old
        changed = original.replace(old, new, 1)
        assert len(changed.encode()) == len(original.encode())
        diff = [i for i, (a, b) in enumerate(zip(changed.encode(), original.encode())) if a != b]
        assert len(diff) == 1, (old, new)
        slip_file.write_text(changed, encoding="utf-8")
        proc = slip_cli("verify", slip_file, "--key", key_file)
        assert proc.returncode == 1 and proc.stdout.startswith("invalid: "), \
            (old, proc.stdout, proc.stderr)
        status, _, v = api(site, "POST", "/verify", body=changed)
        assert status == 200 and v["valid"] is False, (old, v)
        assert v["problem"] in ("bad_signature", "altered"), v
        assert not signature_ok(json.loads(changed), key)

    # the printable page, as issued and as checked
    status, headers, page = ask(site, sid, token, "html")
    assert status == 201 and headers["content-type"].startswith("text/html")
    assert "Sam" in page and "40 of 60" in page and "Tuesday Hope" in page
    assert "Blake" not in page and "Cam" not in page
    assert f'href="{site.url}/slip.css"' in page
    assert "<script" not in page and "style=" not in page and "<style" not in page
    status, headers, page = api(site, "GET", f"/verify/{slip['slip_id']}.html")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "This server issued this slip" in page and slip["slip_id"] in page
    status, headers, css = api(site, "GET", "/slip.css")
    assert status == 200 and headers["content-type"].startswith("text/css")

    # every request made a new slip; the database holds none of them in a readable form
    rows = site.db.query("SELECT id_hash, sealed, issued_on FROM slips")
    assert len(rows) == 2
    for id_hash, sealed, _ in rows:
        assert bytes.fromhex(slip["slip_id"]) not in bytes(id_hash) + bytes(sealed)
        assert b"Sam" not in bytes(sealed) and b"Tuesday" not in bytes(sealed)
    assert [r[0] for r in site.db.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'slips'"
        " ORDER BY ordinal_position")] == ["id_hash", "sealed", "issued_on"]
    dump = "\n".join(str(r) for r in site.db.query(
        "SELECT row_to_json(x)::text FROM (SELECT * FROM slips) x"))
    assert slip["slip_id"] not in dump and digest not in dump

    # the key: 0600, never logged
    mode = stat.S_IMODE(os.stat(server_key).st_mode)
    assert mode == 0o600, oct(mode)
    seed = server_key.read_text().strip()
    assert len(seed) == 64 and seed not in site.log_text()
    assert "haven-attendance.key" in site.log_text()


def test_only_the_attendee_gets_their_own_slip(site):
    """A slip is asked for with one's own token and is about oneself: another attendee gets
    their own, and someone who was not there, or no token, gets none."""
    m = meeting(site)
    tok = site.tokens

    async def scenario():
        chloe = await open_meeting(m, tok["chloe"])
        sam = await join(m, "Sam")
        blake = await join(m, "Blake")
        outsider = await Client.connect(m)  # a token of its own, never in the meeting
        await outsider.hello("Olive")
        await request_ok(chloe, {"type": "end"})
        for c in (chloe, sam, blake):
            await c.wait_closed()
        await outsider.close()
        return session_id(sam), sam.token, blake.token, outsider.token

    sid, sam, blake, outsider = run(scenario())
    wait_ended(site.db, sid)
    backdate(site.db, sid)

    status, _, body = ask(site, sid, outsider)
    assert status == 404 and body["error"] == "not_found", body
    status, _, nothing = ask(site, 999999999, outsider)
    assert (status, nothing) == (404, body)  # the same answer as for a session that is not
    status, _, body = ask(site, sid, None)
    assert status == 401 and body["error"] == "unauthenticated"
    status, _, body = ask(site, sid, "f" * 64)
    assert status == 401 and body["error"] == "invalid_token"

    status, _, mine = ask(site, sid, blake)
    assert status == 201 and mine["name"] == "Blake" and mine["minutes_present"] == 60
    assert "Sam" not in json.dumps(mine)
    status, _, theirs = ask(site, sid, sam)
    assert status == 201 and theirs["name"] == "Sam" and "Blake" not in json.dumps(theirs)
    assert theirs["slip_id"] != mine["slip_id"]
    # the chair's account asks with its own token: a slip of its own
    status, _, chairs = ask(site, sid, tok["chloe"])
    assert status == 201 and chairs["name"] == "Chloe" and chairs["chair"] == "Chloe"


def test_chair_withholds_and_confirms(site):
    """A chair withholds or confirms a member's slips over HTTP; a removal withholds them
    until a chair confirms. Only chairs, co-chairs and admins decide."""
    m = meeting(site)
    tok = site.tokens

    async def scenario():
        chloe = await open_meeting(m, tok["chloe"])
        people = {name: await join(m, name) for name in ("Eli", "Fran", "Dana", "Gus", "Hal")}
        sid = session_id(chloe)
        await request_ok(chloe, {"type": "remove", "member": people["Eli"].member,
                                 "ban": "session"})
        await request_ok(chloe, {"type": "remove", "member": people["Fran"].member})
        await request_ok(chloe, {"type": "remove", "member": people["Hal"].member})
        for name in ("Eli", "Fran", "Hal"):
            assert (await people[name].wait_closed())[0] == 4403
        no = {name: c.member for name, c in people.items()}
        dana = people["Dana"].token

        def decide(what, member, token):
            return api(site, "POST", f"/api/sessions/{sid}/slips/{what}", token=token,
                       body={"member": member})

        # who may decide
        status, _, body = decide("withhold", no["Gus"], dana)
        assert status == 403 and body["error"] == "forbidden"
        status, _, body = decide("withhold", no["Gus"], None)
        assert status == 401
        status, _, body = decide("withhold", 999, tok["chloe"])
        assert status == 404 and body.get("field") == "member"
        status, _, body = api(site, "POST", f"/api/sessions/{sid}/slips/withhold",
                              token=tok["chloe"], body={"member": "Gus"})
        assert status == 400 and body["field"] == "member"
        status, _, body = decide("withhold", no["Eli"], tok["chloe"])
        assert (status, body["decision"], body["slips"]) == (200, "withheld", "withheld"), body
        status, _, body = decide("withhold", no["Dana"], tok["chloe"])
        assert status == 200
        status, _, body = decide("confirm", no["Fran"], tok["root"])  # an admin
        assert (status, body["decision"], body["slips"]) == (200, "confirmed", "offered"), body

        status, _, listing = api(site, "GET", f"/api/sessions/{sid}/slips", token=tok["chloe"])
        assert status == 200 and listing["offered"] is True and listing["ended"] is False
        got = {e["name"]: (e["removed"], e["decision"], e["slips"]) for e in listing["members"]}
        assert got["Eli"] == (True, "withheld", "withheld")
        assert got["Fran"] == (True, "confirmed", "offered")
        assert got["Hal"] == (True, None, "withheld")
        assert got["Dana"] == (False, "withheld", "withheld")
        assert got["Gus"] == (False, None, "offered")
        status, _, _ = api(site, "GET", f"/api/sessions/{sid}/slips", token=dana)
        assert status == 403

        await request_ok(chloe, {"type": "end"})
        for c in (chloe, people["Dana"], people["Gus"]):
            await c.wait_closed()
        return sid, {name: c.token for name, c in people.items()}, no

    sid, tokens, no = run(scenario())
    wait_ended(site.db, sid)
    backdate(site.db, sid)

    def outcome(name):
        status, _, body = ask(site, sid, tokens[name])
        return status, body.get("error") or body["name"]

    assert outcome("Eli") == (403, "withheld")    # removed and withheld
    assert outcome("Hal") == (403, "withheld")    # removed: withheld until confirmed
    assert outcome("Fran") == (201, "Fran")       # removed, then confirmed
    assert outcome("Dana") == (403, "withheld")   # withheld
    assert outcome("Gus") == (201, "Gus")
    # a decision after the end counts too
    status, _, _ = api(site, "POST", f"/api/sessions/{sid}/slips/confirm",
                       token=site.tokens["root"], body={"member": no["Dana"]})
    assert status == 200
    assert outcome("Dana") == (201, "Dana")
    assert site.db.scalar("SELECT count(*) FROM slip_decisions WHERE session_id = %s",
                          (sid,)) == 3


def test_meeting_without_poa_offers_none(site):
    m = meeting(site, types=("O", "D"))

    async def scenario():
        chloe = await open_meeting(m, site.tokens["chloe"])
        sam = await join(m, "Sam")
        await request_ok(chloe, {"type": "end"})
        await sam.wait_closed()
        return session_id(sam), sam.token

    sid, token = run(scenario())
    wait_ended(site.db, sid)
    backdate(site.db, sid)
    issued = site.db.scalar("SELECT count(*) FROM slips")
    status, _, body = ask(site, sid, token)
    assert status == 403 and body["error"] == "not_offered", body
    assert site.db.scalar("SELECT count(*) FROM slips") == issued


def test_verify_what_was_never_issued(site):
    unknown = "0123456789abcdef" * 2
    status, _, body = api(site, "GET", f"/verify/{unknown}")
    assert status == 404 and body["issued"] is False and body["valid"] is False
    status, _, body = api(site, "GET", "/verify/not-a-slip")
    assert status == 404 and body["issued"] is False
    status, headers, page = api(site, "GET", f"/verify/{unknown}.html")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "No such slip" in page
    status, _, body = api(site, "POST", "/verify", body={"slip_id": unknown})
    assert status == 200 and body["valid"] is False and body["problem"] == "not_issued"
    status, _, body = api(site, "POST", "/verify", body={"hello": 1})
    assert status == 200 and body["problem"] == "malformed"
    status, _, body = api(site, "POST", "/verify", body=[1, 2])
    assert status == 400
    status, _, body = api(site, "GET", f"/verify/{unknown}?sha256=xyz")
    assert status == 400 and body["field"] == "sha256"


def test_key_file_is_made_once_and_must_be_private(tmp_path, db):
    """The key is made on the first start with mode 0600 and kept across restarts; a key file
    that others may read stops the start."""
    key = tmp_path / "keys" / "slip.key"
    args = ["--slips-key-file", str(key)]
    first = harness.Havend(tmp_path / "a", db.url, args=args).start()
    _, _, pub1 = harness.get_json(first.port, "/.well-known/haven-attendance-key")
    first.stop()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key.parent).st_mode) == 0o700
    second = harness.Havend(tmp_path / "b", db.url, args=args).start()
    _, _, pub2 = harness.get_json(second.port, "/.well-known/haven-attendance-key")
    second.stop()
    assert pub1 == pub2

    proc = harness.run_havend(["slip", "key", "--key", str(key)])
    assert proc.returncode == 0 and json.loads(proc.stdout) == pub1

    os.chmod(key, 0o644)
    proc = harness.run_havend(["--database-url", db.url, "--listen-port", harness.free_port(),
                               "--http-web-root", harness.WEB_ROOT, *args])
    assert proc.returncode == 1
    assert "slips.key_file" in proc.stderr and "chmod 600" in proc.stderr
    assert key.read_text().strip() not in proc.stderr
