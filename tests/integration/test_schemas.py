"""Self-test of proto/schema and proto/PROTOCOL.md. Needs no server.

Run: /usr/bin/python3 -m pytest tests/integration/test_schemas.py -q
"""

import json
import os
import re
import sys

import jsonschema
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

PROTO_DIR = os.path.dirname(protocol.SCHEMA_DIR)
PROTOCOL_MD = os.path.join(PROTO_DIR, "PROTOCOL.md")

# The frames and their required fields as fixed in the design notes.
CLIENT_REQUIRED = {
    "hello": {"type", "name"},
    "join": {"type"},
    "leave": {"type"},
    "say": {"type", "client_msg_id", "text"},
    "react": {"type", "client_msg_id", "seq", "reaction"},
    "history": {"type"},
    "ping": {"type"},
    # running a session
    "start": {"type"},
    "end": {"type"},
    "admit": {"type"},
    "send_to_waiting": {"type", "member"},
    "settings": {"type", "settings"},
    "hand": {"type", "raised"},
    "call": {"type"},
    "end_share": {"type"},
    "reading": {"type", "action"},
    "topic": {"type", "text"},
    "mute": {"type", "member", "muted"},
    "remove": {"type", "member"},
    "delete": {"type", "seq"},
    "grant": {"type", "member", "role"},
    "hand_over": {"type", "member"},
    "private": {"type", "to", "text"},
    "report": {"type", "seq"},
    "help": {"type"},
    # group conscience
    "vote_open": {"type", "question", "options"},
    "vote": {"type", "vote", "option"},
    "vote_close": {"type", "vote"},
}
SERVER_REQUIRED = {
    "welcome": {"type", "protocol", "server", "token", "name", "limits", "warnings"},
    "joined": {"type", "meeting", "session", "you", "members", "topic", "store", "state", "events",
               "more"},
    "event": {"type", "event"},
    "events": {"type", "events"},
    "ack": {"type", "client_msg_id", "seq", "duplicate"},
    "presence": {"type", "action", "member"},
    "history": {"type", "events", "has_more"},
    "status": {"type", "store"},
    "left": {"type"},
    "pong": {"type", "server_time_ms"},
    "error": {"type", "code", "message"},
    "waiting": {"type", "meeting", "you", "phase", "position", "waiting", "chair_present",
                "auto_admit", "starts_at"},
    "state": {"type", "state"},
    "waiting_room": {"type", "members"},
    "private": {"type", "kind", "from", "text", "ts"},
    "done": {"type"},
}
# Server frames that answer a request and so may echo its id.
SERVER_WITH_ID = {"welcome", "joined", "ack", "history", "left", "pong", "error", "waiting", "done"}
REQUIRED = {"client": CLIENT_REQUIRED, "server": SERVER_REQUIRED}

ALL_FILES = sorted(protocol.schemas().by_rel)
# The WebSocket protocol's files; api/ holds the HTTP API's schemas (proto/API.md).
PROTOCOL_FILES = [rel for rel in ALL_FILES if not rel.startswith("api/")]
FRAME_FILES = sorted(f"{d}/{t}.json" for d, req in REQUIRED.items() for t in req)


def load(rel):
    return protocol.schemas().by_rel[rel]


# ---------------------------------------------------------------- the files

def test_expected_files_exist():
    expected = set(FRAME_FILES) | {"common.json", "client.json", "server.json"}
    assert set(PROTOCOL_FILES) == expected


@pytest.mark.parametrize("rel", ALL_FILES)
def test_schema_is_valid_against_metaschema(rel):
    schema = load(rel)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("rel", ALL_FILES)
def test_every_ref_resolves_locally(rel):
    schema = load(rel)
    resolver = protocol.validator(rel).resolver
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    for ref in refs:
        assert not ref.startswith(("http:", "https:")), f"{rel}: absolute $ref {ref}"
        url, _resolved = resolver.resolve(ref)
        assert url.startswith(protocol.BASE_URI), f"{rel}: {ref} resolved to {url}"


@pytest.mark.parametrize("rel", FRAME_FILES)
def test_frame_schema_shape(rel):
    direction, name = rel[:-len(".json")].split("/")
    schema = load(rel)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["type"] == {"const": name}
    assert set(schema["required"]) == REQUIRED[direction][name]
    has_id = "id" in schema["properties"]
    assert has_id == (direction == "client" or name in SERVER_WITH_ID)


@pytest.mark.parametrize("direction", ["client", "server"])
def test_union_lists_every_frame_once(direction):
    refs = [entry["$ref"] for entry in load(f"{direction}.json")["oneOf"]]
    assert sorted(refs) == sorted(f"{direction}/{t}.json" for t in REQUIRED[direction])


def test_nested_objects_are_closed():
    """Every object schema with properties forbids unlisted fields."""
    open_objects = []

    def walk(rel, node, path):
        if isinstance(node, dict):
            if "properties" in node and node.get("type") == "object":
                if node.get("additionalProperties") is not False:
                    open_objects.append(f"{rel}{path}")
            for k, v in node.items():
                walk(rel, v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(rel, v, f"{path}/{i}")

    for rel in ALL_FILES:
        walk(rel, load(rel), "#")
    assert open_objects == []


def test_no_network_is_needed(monkeypatch):
    def refuse(self, uri):
        raise AssertionError(f"tried to fetch {uri}")
    monkeypatch.setattr(jsonschema.RefResolver, "resolve_remote", refuse)
    for direction, frame in _examples_of_kind():
        (protocol.validate_client_frame if direction == "client"
         else protocol.validate_server_frame)(frame)


# ---------------------------------------------------------------- PROTOCOL.md

EXAMPLE_RE = re.compile(
    r"<!-- example: (client|server)/([a-z_]+) -->\s*\n```json\n(.*?)\n```", re.S)


def _read_md():
    with open(PROTOCOL_MD, encoding="utf-8") as f:
        return f.read()


def _examples():
    md = _read_md()
    found = []
    for m in EXAMPLE_RE.finditer(md):
        line = md.count("\n", 0, m.start()) + 1
        found.append((m.group(1), m.group(2), m.group(3), line))
    return found


def _examples_of_kind():
    return [(d, json.loads(text)) for d, _t, text, _l in _examples()]


def test_every_example_marker_has_a_json_block():
    markers = re.findall(r"<!-- example: ([^ ]+) -->", _read_md())
    assert len(markers) == len(_examples()), "an example marker is not followed by a ```json block"


def test_every_frame_has_an_example():
    have = {(d, t) for d, t, _x, _l in _examples()}
    want = {(d, t) for d, req in REQUIRED.items() for t in req}
    assert want - have == set()


@pytest.mark.parametrize("direction,name,text,line",
                         _examples(), ids=[f"{d}/{t}@{l}" for d, t, _x, l in _examples()])
def test_example_is_valid(direction, name, text, line):
    frame = json.loads(text)
    assert frame.get("type") == name, f"PROTOCOL.md line {line}: marker says {name}"
    if direction == "client":
        protocol.validate_client_frame(frame)
    else:
        protocol.validate_server_frame(frame)


def test_error_code_table_matches_schema():
    md = _read_md()
    section = md.split("## 12. Error codes", 1)[1].split("\n## ", 1)[0]
    in_doc = re.findall(r"^\| `([a-z_]+)` \|", section, re.M)
    enum = load("common.json")["$defs"]["error_code"]["enum"]
    assert sorted(in_doc) == sorted(enum)
    assert len(in_doc) == len(set(in_doc))


def test_close_code_table():
    md = _read_md()
    section = md.split("## 13. Close codes", 1)[1].split("\n## ", 1)[0]
    in_doc = re.findall(r"^\| (\d{4}) \|", section, re.M)
    assert sorted(in_doc) == ["1000", "1001", "1003", "1006", "1007", "1008", "1009", "1013",
                              "4403", "4404", "4503"]


# ---------------------------------------------------------------- valid edge cases

EVENT_MSG = {"seq": 1, "ts": 0, "kind": "message", "from": {"member": 1, "name": "Jo"},
             "client_msg_id": "a", "text": "hi"}
EVENT_REACTION = {"seq": 2, "ts": 0, "kind": "reaction", "from": {"member": 1, "name": "Jo"},
                  "client_msg_id": "b", "reaction": "hug", "target_seq": 1}
LIMITS = {"max_frame_bytes": 16384, "max_text_chars": 4000, "rate_per_sec": 0.5, "rate_burst": 20}
TOKEN = "0" * 64
WELCOME_BASE = {"type": "welcome", "protocol": "haven.v1", "server": "0.1.0", "token": TOKEN,
                "name": "Jo", "limits": LIMITS, "warnings": []}
MEETING = {"slug": "x", "name": "X", "closed": False, "resources": [], "format_titles": [],
           "contribution_url": "", "records": {"kept": True, "retention_days": 30,
                                               "readers": "chairs"}}
SETTINGS = {"auto_admit": False, "locked": False, "hide_members": False, "crosstalk": False,
            "chat_locked": False, "dms": False, "visitors_may_post": False,
            "end_share_at_limit": False, "auto_call": False, "slow_mode_secs": 0,
            "share_limit_secs": 300}
STATE = {"phase": "waiting", "chair": None, "cochairs": [], "queue": [], "sharing": None,
         "muted": [], "settings": SETTINGS, "reading": -1, "readings": 0}
JOINED = {"type": "joined", "meeting": MEETING,
          "session": {"id": 1, "started_at": 0, "last_seq": 0},
          "you": {"member": 1, "name": "Jo", "role": "visitor"}, "members": [],
          "topic": None, "store": "paused", "state": STATE, "events": [], "more": False}
JO = {"member": 1, "name": "Jo"}
DEE = {"member": 2, "name": "Dee"}


def ev(kind, seq=3, **fields):
    """An Event of a chairing kind; from is Jo unless given (None: no from)."""
    e = {"seq": seq, "ts": 5, "kind": kind, "from": JO}
    for k, v in fields.items():
        if k == "from_":
            k = "from"
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return e


# One valid event of each chairing kind.
CHAIR_EVENTS = [
    ev("chair_taken", from_=None, target=JO),
    ev("chair_taken", from_=None, target=DEE, reason="the chair left"),
    ev("session_started"),
    ev("session_ended", reason="chair"),
    ev("session_ended", from_=None, reason="auto"),
    ev("admitted", target=DEE),
    ev("admitted_all", count=5),
    ev("sent_to_waiting", target=DEE),
    ev("settings_changed", settings={"share_limit_secs": 180, "dms": True}),
    ev("share_started", target=DEE, limit_secs=300),
    ev("share_started", from_=None, target=DEE, limit_secs=2),
    ev("share_ended", target=DEE, reason="chair", duration_ms=61234),
    ev("share_ended", from_=None, target=DEE, reason="time", duration_ms=300001),
    ev("share_time_warning", from_=None, target=DEE, remaining_secs=60),
    ev("share_time_up", from_=None, target=DEE),
    ev("reading", index=0, title="Who is an addict?", text="Most of us do not have to think twice"),
    ev("reading", index=3, title="Empty", text=""),
    ev("reading_skipped", index=1, title="The Twelve Steps"),
    ev("topic", text="Gratitude"),
    ev("topic", text=""),
    ev("muted", target=DEE),
    ev("unmuted", target=DEE),
    ev("removed", target=DEE, ban="forever"),
    ev("message_deleted", target_seq=2, by="chair"),
    ev("role_granted", target=DEE, role="co-chair"),
    ev("chair_handed_over", target=DEE),
    # a message whose text was removed
    {"seq": 2, "ts": 0, "kind": "message", "from": DEE, "client_msg_id": "m", "removed": "author"},
]

VALID = [
    ("client", {"type": "hello", "name": "Jo"}),
    ("client", {"type": "hello", "id": "x" * 64, "name": "n" * 32, "token": TOKEN, "visitor": True}),
    ("client", {"type": "join", "after_seq": 0}),
    ("client", {"type": "join", "id": -5}),
    ("client", {"type": "say", "client_msg_id": "A-z_0" * 12 + "abcd", "text": "x" * 4000}),
    ("client", {"type": "say", "client_msg_id": "a", "text": " \u00e9 "}),
    ("client", {"type": "react", "client_msg_id": "a", "seq": 1, "reaction": "clap"}),
    ("client", {"type": "history", "after_seq": 0}),
    ("client", {"type": "history", "before_seq": 1, "limit": 200}),
    ("server", {"type": "welcome", "protocol": "haven.v1", "server": "1.2.3-dev",
                "token": TOKEN, "name": "Jo", "limits": LIMITS, "warnings": []}),
    ("server", JOINED),
    ("server", dict(JOINED, topic="Acceptance", events=[EVENT_MSG, EVENT_REACTION], more=True)),
    ("server", {"type": "events", "events": [], "catchup_done": True}),
    ("server", {"type": "events", "events": [EVENT_MSG]}),
    ("server", {"type": "event", "event": EVENT_REACTION}),
    ("server", {"type": "ack", "client_msg_id": "a", "seq": 1, "duplicate": True}),
    ("server", {"type": "history", "events": [], "has_more": False}),
    ("server", {"type": "presence", "action": "leave",
                "member": {"member": 2, "name": "Dee", "role": "attendee"}}),
    ("server", {"type": "status", "store": "ok"}),
    ("server", {"type": "presence", "action": "join",
                "member": {"member": 3, "name": "Pat", "role": "co-chair"}}),
    ("server", {"type": "left"}),
    ("server", {"type": "pong", "id": "p", "server_time_ms": 1}),
    ("server", {"type": "error", "code": "store_unavailable", "message": "m", "retry_after_ms": 0}),
    ("server", {"type": "error", "code": "missing_field", "message": "m", "field": "text"}),
    # An unknown field in a client frame: bad_field without "field".
    ("server", {"type": "error", "id": 7, "code": "bad_field", "message": 'unknown field "room"'}),
    ("server", {"type": "error", "code": "bad_field", "message": "m", "field": "id"}),
    ("server", {"type": "error", "id": 1, "code": "not_found", "message": "m", "field": "seq"}),
    ("server", {"type": "error", "code": "meeting_not_found", "message": "m"}),
    ("server", {"type": "error", "code": "store_unavailable", "message": "m", "retry_after_ms": 1000}),
    # The server trims and checks only ASCII white space: other spaces are characters.
    ("server", dict(WELCOME_BASE, name="\u00a0Jo\u3000")),
    ("client", {"type": "say", "client_msg_id": "a", "text": "\u00a0"}),
    ("client", {"type": "hello", "name": "\u00e9l\u00e8ve \u2603"}),
    # running a session: client frames
    ("client", {"type": "start", "id": 1}),
    ("client", {"type": "end"}),
    ("client", {"type": "end_share"}),
    ("client", {"type": "admit", "member": 4}),
    ("client", {"type": "admit", "member": 4, "all": False}),
    ("client", {"type": "admit", "all": True}),
    ("client", {"type": "send_to_waiting", "member": 1000000}),
    ("client", {"type": "settings", "settings": {"slow_mode_secs": 0}}),
    ("client", {"type": "settings", "settings": dict(SETTINGS, share_limit_secs=2)}),
    ("client", {"type": "hand", "raised": False}),
    ("client", {"type": "call"}),
    ("client", {"type": "call", "member": 3}),
    ("client", {"type": "reading", "action": "previous"}),
    ("client", {"type": "topic", "text": ""}),
    ("client", {"type": "topic", "text": "t" * 200}),
    ("client", {"type": "mute", "member": 2, "muted": True}),
    ("client", {"type": "remove", "member": 2}),
    ("client", {"type": "remove", "member": 2, "ban": "session"}),
    ("client", {"type": "delete", "seq": 9}),
    ("client", {"type": "grant", "member": 2, "role": "greeter"}),
    ("client", {"type": "hand_over", "member": 2}),
    ("client", {"type": "private", "to": "chairs", "text": "Can I share first? I have to leave early."}),
    ("client", {"type": "private", "to": 3, "text": "Welcome!"}),
    ("client", {"type": "report", "seq": 12}),
    ("client", {"type": "report", "seq": 12, "reason": ""}),
    ("client", {"type": "help"}),
    ("client", {"type": "help", "text": "h" * 500}),
    # running a session: server frames
    ("server", dict(JOINED, meeting=dict(MEETING, closed=True, resources=[
        {"title": "Crisis line", "url": "https://988lifeline.org"}], format_titles=["Preamble"],
        contribution_url="https://example.org/give", records={"kept": False, "retention_days": 0,
                                                             "readers": "anyone"}))),
    ("server", dict(JOINED, state=dict(STATE, phase="open", chair=1, cochairs=[2, 5],
                                        queue=[DEE], sharing={"member": JO, "started_at": 1,
                                                              "limit_secs": 300},
                                        muted=[4], reading=2, readings=3))),
    ("server", {"type": "waiting", "id": 2, "meeting": MEETING,
                "you": {"member": 4, "name": "Ash", "role": "attendee"}, "phase": "waiting",
                "position": 1, "waiting": 1, "chair_present": False, "auto_admit": False,
                "starts_at": None}),
    ("server", {"type": "waiting", "meeting": MEETING,
                "you": {"member": 4, "name": "Ash", "role": "attendee"}, "phase": "open",
                "position": 2, "waiting": 3, "chair_present": True, "auto_admit": True,
                "starts_at": 1795383000000}),
    ("server", {"type": "waiting", "meeting": MEETING,
                "you": {"member": 4, "name": "Ash", "role": "attendee"}, "phase": "closed",
                "position": 1, "waiting": 1, "chair_present": False, "auto_admit": False,
                "starts_at": 1795383000000}),
    ("server", {"type": "error", "id": 1, "code": "not_open_yet", "message": "not yet",
                "retry_after_ms": 60000, "opens_at": 1795382100000,
                "starts_at": 1795383000000}),
    ("server", {"type": "state", "state": dict(STATE, phase="closed")}),
    ("server", {"type": "waiting_room", "members": []}),
    ("server", {"type": "waiting_room",
                "members": [{"member": 4, "name": "Ash", "role": "visitor"}]}),
    ("server", {"type": "private", "kind": "to_chairs", "from": JO, "text": "hi", "ts": 1}),
    ("server", {"type": "private", "kind": "direct", "from": JO, "to": 2, "text": "hi", "ts": 1}),
    ("server", {"type": "private", "kind": "report", "from": JO, "seq": 7, "text": "", "ts": 1}),
    ("server", {"type": "private", "kind": "help", "from": JO, "text": "", "ts": 1}),
    ("server", {"type": "done"}),
    ("server", {"type": "done", "id": "x", "seq": 4}),
    ("server", {"type": "done", "id": 9, "delivered": 0}),
    ("server", {"type": "error", "id": 3, "code": "slow_mode", "message": "m",
                "retry_after_ms": 1200}),
    ("server", {"type": "error", "id": 3, "code": "forbidden", "message": "m", "field": "member"}),
    ("server", {"type": "error", "id": 3, "code": "not_found", "message": "m", "field": "member"}),
    ("server", {"type": "error", "id": 3, "code": "not_found", "message": "m"}),
    *[("server", {"type": "event", "event": e}) for e in CHAIR_EVENTS],
    ("server", {"type": "events", "events": [EVENT_MSG, *CHAIR_EVENTS]}),
]


@pytest.mark.parametrize("direction,frame", VALID, ids=[f"{d}/{f['type']}-{i}" for i, (d, f) in enumerate(VALID)])
def test_valid_frame_is_accepted(direction, frame):
    (protocol.validate_client_frame if direction == "client" else protocol.validate_server_frame)(frame)


# ---------------------------------------------------------------- invalid frames

def _with(base, **changes):
    out = dict(base)
    for k, v in changes.items():
        if v is _DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


_DROP = object()
SAY = {"type": "say", "client_msg_id": "abc", "text": "hello"}
REACT = {"type": "react", "client_msg_id": "abc", "seq": 3, "reaction": "heart"}
HELLO = {"type": "hello", "name": "Jo"}
ACK = {"type": "ack", "client_msg_id": "abc", "seq": 3, "duplicate": False}
WELCOME = {"type": "welcome", "protocol": "haven.v1", "server": "0.1.0", "token": TOKEN,
           "name": "Jo", "limits": LIMITS, "warnings": []}

# (direction, frame, a string the error message must contain)
INVALID = [
    # missing required field
    ("client", _with(SAY, text=_DROP), "'text' is a required property"),
    ("client", _with(REACT, reaction=_DROP), "'reaction' is a required property"),
    ("client", {"type": "hello"}, "'name' is a required property"),
    ("server", _with(ACK, duplicate=_DROP), "'duplicate' is a required property"),
    ("server", _with(JOINED, topic=_DROP), "'topic' is a required property"),
    ("server", {"type": "pong"}, "'server_time_ms' is a required property"),
    ("server", {"type": "error", "code": "rate_limited", "message": "m"},
     "'retry_after_ms' is a required property"),
    # extra field
    ("client", _with(SAY, room="x"), "'room' was unexpected"),
    ("client", _with(HELLO, email="a@b.c"), "'email' was unexpected"),
    ("server", _with(ACK, text="hello"), "'text' was unexpected"),
    ("server", {"type": "event", "event": _with(EVENT_MSG, ip="10.0.0.1")}, "'ip' was unexpected"),
    ("server", {"type": "event", "event": _with(EVENT_MSG, **{"from": {"member": 1, "name": "Jo", "token": TOKEN}})},
     "'token' was unexpected"),
    ("server", {"type": "status", "store": "ok", "id": 1}, "'id' was unexpected"),
    ("server", _with(WELCOME, limits=dict(LIMITS, secret=1)), "'secret' was unexpected"),
    # wrong type
    ("client", _with(SAY, text=42), "/text"),
    ("client", _with(REACT, seq="3"), "/seq"),
    ("client", _with(HELLO, visitor="yes"), "/visitor"),
    ("client", _with(SAY, id=True), "/id"),
    ("client", _with(SAY, id=1.5), "/id"),
    ("server", _with(ACK, seq="3"), "/seq"),
    ("server", _with(JOINED, more="no"), "/more"),
    ("server", {"type": "events", "events": {"seq": 1}}, "/events"),
    # lengths and ranges
    ("client", _with(SAY, client_msg_id="a" * 65), "/client_msg_id"),
    ("client", _with(SAY, client_msg_id=""), "/client_msg_id"),
    ("client", _with(SAY, client_msg_id="has space"), "/client_msg_id"),
    ("client", _with(SAY, text=""), "/text"),
    ("client", _with(SAY, text=" \n\t "), "/text"),
    ("client", _with(SAY, text="x" * 4001), "/text"),
    ("client", _with(SAY, id="i" * 65), "/id"),
    ("client", _with(SAY, id=""), "/id"),
    ("client", _with(HELLO, name="n" * 33), "/name"),
    ("client", _with(HELLO, name="   "), "/name"),
    ("client", _with(HELLO, token=TOKEN.upper().replace("0", "A")), "/token"),
    ("client", _with(HELLO, token="abc"), "/token"),
    ("client", _with(REACT, seq=0), "/seq"),
    ("client", {"type": "join", "after_seq": -1}, "/after_seq"),
    ("client", {"type": "history", "before_seq": 5, "limit": 201}, "/limit"),
    ("client", {"type": "history", "before_seq": 5, "limit": 0}, "/limit"),
    ("client", {"type": "history", "before_seq": 5, "after_seq": 1}, "history"),
    ("client", {"type": "history"}, "history"),
    ("server", _with(ACK, seq=0), "/seq"),
    ("server", _with(WELCOME, name=" Jo"), "/name"),
    ("server", _with(WELCOME, limits=dict(LIMITS, max_frame_bytes=100)), "/limits/max_frame_bytes"),
    ("server", {"type": "events", "events": []}, "/events"),
    # bad enum values
    ("client", _with(REACT, reaction="thumbsup"), "/reaction"),
    ("client", _with(REACT, reaction="Heart"), "/reaction"),
    ("server", {"type": "event", "event": _with(EVENT_REACTION, reaction="laugh")}, "/event/reaction"),
    ("server", _with(WELCOME, protocol="haven.v2"), "/protocol"),
    ("server", _with(WELCOME, warnings=[{"code": "bad_vibes", "message": "m"}]), "/warnings/0/code"),
    ("server", {"type": "error", "code": "oops", "message": "m"}, "/code"),
    ("server", {"type": "presence", "action": "arrive",
                "member": {"member": 2, "name": "Dee", "role": "attendee"}}, "/action"),
    ("server", {"type": "presence", "action": "join",
                "member": {"member": 2, "name": "Dee", "role": "moderator"}}, "/member/role"),
    ("server", {"type": "status", "store": "down"}, "/store"),
    # error: which codes carry field, id and retry_after_ms
    ("server", {"type": "error", "code": "too_long", "message": "m"}, "'field' is a required property"),
    ("server", {"type": "error", "code": "too_long", "message": "m", "field": "id"}, "/field"),
    ("server", {"type": "error", "code": "missing_field", "message": "m"},
     "'field' is a required property"),
    ("server", {"type": "error", "code": "bad_field", "message": "m", "retry_after_ms": 5},
     "/retry_after_ms"),
    ("server", {"type": "error", "id": 1, "code": "meeting_not_found", "message": "m"}, "/id"),
    ("server", {"type": "events", "events": [EVENT_MSG], "catchup_done": False}, "/catchup_done"),
    # names: no control characters, no ASCII white space at either end
    ("server", _with(WELCOME, name="Jo\u0007"), "/name"),
    ("server", _with(WELCOME, name="Jo\t"), "/name"),
    ("client", _with(HELLO, name="Jo\nDee"), "/name"),
    ("client", _with(HELLO, name=" Jo"), "/name"),
    # event kind rules
    ("server", {"type": "event", "event": _with(EVENT_MSG, text=_DROP)}, "'text' is a required property"),
    ("server", {"type": "event", "event": _with(EVENT_MSG, reaction="hug")},
     "'reaction' is not one of"),
    ("server", {"type": "event", "event": _with(EVENT_REACTION, target_seq=_DROP)},
     "'target_seq' is a required property"),
    ("server", {"type": "event", "event": _with(EVENT_REACTION, text="hi")},
     "'text' is not one of"),
    # not a frame at all
    ("client", {"type": "shout", "text": "x"}, "unknown client frame type 'shout'"),
    ("server", {"type": "say", "client_msg_id": "a", "text": "x"}, "unknown server frame type 'say'"),
    ("client", {"text": "x"}, "no string \"type\""),
    ("client", ["hello"], "not a JSON object"),
    # running a session: client frames
    ("client", {"type": "start", "member": 1}, "'member' was unexpected"),
    ("client", {"type": "admit"}, "admit"),
    ("client", {"type": "admit", "all": False}, "admit"),
    ("client", {"type": "admit", "member": 3, "all": True}, "admit"),
    ("client", {"type": "admit", "member": 0}, "/member"),
    ("client", {"type": "send_to_waiting", "member": 1000001}, "/member"),
    ("client", {"type": "send_to_waiting"}, "'member' is a required property"),
    ("client", {"type": "settings", "settings": {}}, "/settings"),
    ("client", {"type": "settings", "settings": {"share_limit_secs": 1}}, "/settings/share_limit_secs"),
    ("client", {"type": "settings", "settings": {"slow_mode_secs": 3601}}, "/settings/slow_mode_secs"),
    ("client", {"type": "settings", "settings": {"locked": "yes"}}, "/settings/locked"),
    ("client", {"type": "settings", "settings": {"recording": True}}, "'recording' was unexpected"),
    ("client", {"type": "hand"}, "'raised' is a required property"),
    ("client", {"type": "reading", "action": "first"}, "/action"),
    ("client", {"type": "topic", "text": "t" * 201}, "/text"),
    ("client", {"type": "mute", "member": 2}, "'muted' is a required property"),
    ("client", {"type": "remove", "member": 2, "ban": "week"}, "/ban"),
    ("client", {"type": "delete", "seq": 0}, "/seq"),
    ("client", {"type": "grant", "member": 2, "role": "chair"}, "/role"),
    ("client", {"type": "private", "to": "everyone", "text": "hi"}, "/to"),
    ("client", {"type": "private", "to": 0, "text": "hi"}, "/to"),
    ("client", {"type": "private", "to": "chairs", "text": "  "}, "/text"),
    ("client", {"type": "private", "to": "chairs"}, "'text' is a required property"),
    ("client", {"type": "report", "seq": 3, "reason": "r" * 501}, "/reason"),
    ("client", {"type": "help", "text": "h" * 501}, "/text"),
    ("client", {"type": "help", "seq": 3}, "'seq' was unexpected"),
    # running a session: server frames
    ("server", _with(JOINED, state=_DROP), "'state' is a required property"),
    ("server", _with(JOINED, meeting={"slug": "x", "name": "X"}), "/meeting"),
    ("server", _with(JOINED, state=dict(STATE, phase="ended")), "/state/phase"),
    ("server", _with(JOINED, state=dict(STATE, settings={"dms": True})), "/state/settings"),
    ("server", _with(JOINED, meeting=dict(MEETING, records={"kept": True})), "/meeting/records"),
    ("server", {"type": "state", "id": 1, "state": STATE}, "'id' was unexpected"),
    ("server", {"type": "waiting", "meeting": MEETING,
                "you": {"member": 4, "name": "Ash", "role": "attendee"}, "phase": "ended",
                "position": 1, "waiting": 1, "chair_present": False, "auto_admit": False,
                "starts_at": None},
     "/phase"),
    ("server", {"type": "waiting", "meeting": MEETING,
                "you": {"member": 4, "name": "Ash", "role": "attendee"}, "phase": "open"},
     "'position' is a required property"),
    ("server", {"type": "error", "code": "not_open_yet", "message": "not yet",
                "retry_after_ms": 1}, "'opens_at' is a required property"),
    ("server", {"type": "error", "code": "meeting_locked", "message": "locked",
                "opens_at": 1, "starts_at": 2}, "False schema"),
    ("server", {"type": "event", "event": ev("session_ended", reason="auto")},
     "False schema"),
    ("server", {"type": "event", "event": ev("session_ended", reason="later")}, "/reason"),
    ("server", {"type": "waiting_room", "members": [JO]}, "'role' is a required property"),
    ("server", {"type": "private", "kind": "direct", "from": JO, "text": "hi", "ts": 1},
     "'to' is a required property"),
    ("server", {"type": "private", "kind": "report", "from": JO, "text": "", "ts": 1},
     "'seq' is a required property"),
    ("server", {"type": "private", "kind": "help", "from": JO, "to": 2, "text": "", "ts": 1},
     "/to"),
    ("server", {"type": "private", "kind": "whisper", "from": JO, "text": "x", "ts": 1}, "/kind"),
    ("server", {"type": "done", "seq": 3, "delivered": 1}, "done"),
    ("server", {"type": "error", "code": "slow_mode", "message": "m"},
     "'retry_after_ms' is a required property"),
    ("server", {"type": "error", "code": "banned", "message": "m", "retry_after_ms": 5},
     "/retry_after_ms"),
    ("server", {"type": "event", "event": ev("share_ended", target=DEE, reason="bored",
                                             duration_ms=1)}, "/event/reason"),
    ("server", {"type": "event", "event": ev("share_ended", reason="done", duration_ms=1)},
     "'target' is a required property"),
    ("server", {"type": "event", "event": ev("share_time_up", target=DEE)}, "/event"),
    ("server", {"type": "event", "event": ev("muted")}, "'target' is a required property"),
    ("server", {"type": "event", "event": ev("muted", from_=None, target=DEE)},
     "'from' is a required property"),
    ("server", {"type": "event", "event": ev("removed", target=DEE, ban="week")}, "/event/ban"),
    ("server", {"type": "event", "event": ev("removed", target=DEE, ban="none", text="x")},
     "/event"),
    ("server", {"type": "event", "event": ev("role_granted", target=DEE, role="admin")},
     "/event/role"),
    ("server", {"type": "event", "event": ev("topic", text="t" * 201)}, "/event/text"),
    ("server", {"type": "event", "event": ev("settings_changed", settings={})}, "/event/settings"),
    ("server", {"type": "event", "event": ev("message_deleted", target_seq=2, by="admin")},
     "/event/by"),
    ("server", {"type": "event", "event": ev("admitted_all", count=0)}, "/event/count"),
    ("server", {"type": "event", "event": ev("share_started", target=DEE, limit_secs=1)},
     "/event/limit_secs"),
    ("server", {"type": "event", "event": ev("meeting_exploded")}, "/event/kind"),
    ("server", {"type": "event", "event": _with(EVENT_MSG, removed="chair")}, "/event/text"),
    ("server", {"type": "event", "event": _with(EVENT_MSG, removed="moderator", text=_DROP)},
     "/event/removed"),
    ("server", {"type": "event", "event": _with(EVENT_MSG, **{"from": _DROP})},
     "'from' is a required property"),
    ("server", {"type": "event", "event": _with(EVENT_REACTION, removed="chair")}, "/event"),
]


@pytest.mark.parametrize("direction,frame,expect", INVALID,
                         ids=[f"{d}-{i}" for i, (d, _f, _e) in enumerate(INVALID)])
def test_invalid_frame_is_rejected(direction, frame, expect):
    check = protocol.validate_client_frame if direction == "client" else protocol.validate_server_frame
    with pytest.raises(AssertionError) as info:
        check(frame)
    message = str(info.value)
    assert expect in message, message
    if isinstance(frame, dict) and isinstance(frame.get("type"), str):
        assert repr(frame["type"]) in message, message
    # The union schema must reject it too.
    assert not protocol.validator(f"{direction}.json").is_valid(frame)
