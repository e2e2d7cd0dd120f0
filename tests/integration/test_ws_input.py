"""Bad input, one case per test: each gets an error (with the request id where the frame had
a valid one), the connection stays usable, and other clients see nothing of it.

All cases share one havend; each test has a meeting of its own."""

import json

import pytest

from wsclient import Client, module_server, new_meeting, run

NO = object()   # "this member must be absent from the error"


@pytest.fixture(scope="module")
def server(pg_cluster, tmp_path_factory):
    yield from module_server(pg_cluster, tmp_path_factory, name="ws_input")


def _text(frame):
    return frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False)


def _check_error(err, code, field, req_id):
    assert err["type"] == "error", err
    assert err["code"] == code, err
    if field is NO:
        assert "field" not in err, err
    else:
        assert err.get("field") == field, err
    if req_id is NO:
        assert "id" not in err, err
    else:
        assert err.get("id") == req_id, err
    assert "retry_after_ms" not in err, err


async def refused_when_joined(server, frame, code, field, req_id):
    slug = new_meeting(server)
    a = await Client.joined(server, "Ann", slug=slug)
    b = await Client.joined(server, "Ben", slug=slug)
    await a.wait_type("presence")
    await a.send_text(_text(frame))
    _check_error(await a.expect("error"), code, field, req_id)
    # Still usable: a say goes through, and that is all anybody sees.
    ack = await a.say_ok("still here")
    await b.wait_seq(ack["seq"])
    assert [e["text"] for e in b.events] == ["still here"]
    assert [f["type"] for f in a.log] == ["welcome", "joined", "presence", "error", "event",
                                          "ack"]
    assert [f["type"] for f in b.log] == ["welcome", "joined", "event"]
    assert await b.drain(0.1) == []


async def refused_before_join(server, frame, code, field, req_id, hello_first):
    slug = new_meeting(server)
    watcher = await Client.joined(server, "Wat", slug=slug)
    c = await Client.connect(server, slug)
    if hello_first:
        await c.hello("Cid")
    await c.send_text(_text(frame))
    _check_error(await c.expect("error"), code, field, req_id)
    if not hello_first:
        await c.hello("Cid")
    j = await c.join()
    assert j["type"] == "joined"
    p = await watcher.wait_type("presence")
    assert p["member"]["name"] == "Cid"
    assert await watcher.drain(0.1) == []


BAD_FRAMES = [
    # id, frame, code, field, request id in the error
    ("not-json", '{"type": "ping", ', "bad_json", NO, NO),
    ("json-garbage", "hello", "bad_json", NO, NO),
    ("duplicate-key", '{"type": "ping", "id": 1, "id": 2}', "bad_json", NO, NO),
    ("nul-in-string", '{"type": "say", "id": 1, "client_msg_id": "n", "text": "a\\u0000b"}',
     "bad_json", NO, NO),
    ("array", "[1, 2]", "bad_frame", NO, NO),
    ("string", '"hello"', "bad_frame", NO, NO),
    ("number", "42", "bad_frame", NO, NO),
    ("null", "null", "bad_frame", NO, NO),
    ("missing-type", {"id": 5}, "bad_frame", "type", 5),
    ("type-not-string", {"type": 5, "id": 6}, "bad_frame", "type", 6),
    ("unknown-type", {"type": "shout", "id": "u1"}, "unknown_type", "type", "u1"),
    ("say-missing-text", {"type": "say", "id": 1, "client_msg_id": "m1"},
     "missing_field", "text", 1),
    ("say-missing-client-msg-id", {"type": "say", "id": 2, "text": "hi"},
     "missing_field", "client_msg_id", 2),
    ("react-missing-seq", {"type": "react", "id": 3, "client_msg_id": "r", "reaction": "hug"},
     "missing_field", "seq", 3),
    ("react-missing-reaction", {"type": "react", "id": 4, "client_msg_id": "r", "seq": 1},
     "missing_field", "reaction", 4),
    ("say-text-number", {"type": "say", "id": 1, "client_msg_id": "m", "text": 5},
     "bad_field", "text", 1),
    ("say-text-null", {"type": "say", "id": 1, "client_msg_id": "m", "text": None},
     "bad_field", "text", 1),
    ("say-client-msg-id-number", {"type": "say", "id": 1, "client_msg_id": 7, "text": "hi"},
     "bad_field", "client_msg_id", 1),
    ("react-seq-string", {"type": "react", "id": 1, "client_msg_id": "r", "seq": "1",
                          "reaction": "hug"}, "bad_field", "seq", 1),
    ("react-seq-fraction", {"type": "react", "id": 1, "client_msg_id": "r", "seq": 1.5,
                            "reaction": "hug"}, "bad_field", "seq", 1),
    ("react-seq-1.0", '{"type": "react", "id": 1, "client_msg_id": "r", "seq": 1.0, '
                      '"reaction": "hug"}', "bad_field", "seq", 1),
    ("react-reaction-number", {"type": "react", "id": 1, "client_msg_id": "r", "seq": 1,
                               "reaction": 3}, "bad_field", "reaction", 1),
    ("history-limit-fraction", {"type": "history", "id": 1, "after_seq": 0, "limit": 2.5},
     "bad_field", "limit", 1),
    ("history-before-bool", {"type": "history", "id": 1, "before_seq": True},
     "bad_field", "before_seq", 1),
    ("id-fraction", {"type": "ping", "id": 1.5}, "bad_field", "id", NO),
    ("id-1.0", '{"type": "ping", "id": 1.0}', "bad_field", "id", NO),
    ("id-bool", {"type": "ping", "id": True}, "bad_field", "id", NO),
    ("id-null", {"type": "ping", "id": None}, "bad_field", "id", NO),
    ("id-object", {"type": "ping", "id": {"n": 1}}, "bad_field", "id", NO),
    ("id-empty", {"type": "ping", "id": ""}, "bad_field", "id", NO),
    ("id-65-chars", {"type": "ping", "id": "x" * 65}, "bad_field", "id", NO),
    ("id-65-bytes", {"type": "ping", "id": "\u00e9" * 32 + "x"}, "bad_field", "id", NO),
    # out of range
    ("react-seq-0", {"type": "react", "id": 1, "client_msg_id": "r", "seq": 0,
                     "reaction": "hug"}, "bad_field", "seq", 1),
    ("react-seq-negative", {"type": "react", "id": 1, "client_msg_id": "r", "seq": -3,
                            "reaction": "hug"}, "bad_field", "seq", 1),
    ("react-unknown-reaction", {"type": "react", "id": 1, "client_msg_id": "r", "seq": 1,
                                "reaction": "love"}, "bad_field", "reaction", 1),
    ("history-limit-0", {"type": "history", "id": 1, "after_seq": 0, "limit": 0},
     "bad_field", "limit", 1),
    ("history-limit-201", {"type": "history", "id": 1, "after_seq": 0, "limit": 201},
     "bad_field", "limit", 1),
    ("history-before-0", {"type": "history", "id": 1, "before_seq": 0},
     "bad_field", "before_seq", 1),
    ("history-after-negative", {"type": "history", "id": 1, "after_seq": -1},
     "bad_field", "after_seq", 1),
    ("history-neither", {"type": "history", "id": 1, "limit": 5},
     "bad_field", "before_seq", 1),
    ("history-both", {"type": "history", "id": 1, "before_seq": 5, "after_seq": 1},
     "bad_field", "before_seq", 1),
    # unknown field
    ("say-unknown-field", {"type": "say", "id": 9, "client_msg_id": "m", "text": "hi",
                           "colour": "red"}, "bad_field", NO, 9),
    ("ping-unknown-field", {"type": "ping", "id": 9, "room": "x"}, "bad_field", NO, 9),
    # text
    ("text-too-long", {"type": "say", "id": 1, "client_msg_id": "m", "text": "x" * 4001},
     "too_long", "text", 1),
    ("text-too-long-2-byte", {"type": "say", "id": 1, "client_msg_id": "m",
                              "text": "\u00e9" * 4001}, "too_long", "text", 1),
    ("text-empty", {"type": "say", "id": 1, "client_msg_id": "m", "text": ""},
     "bad_field", "text", 1),
    ("text-only-spaces", {"type": "say", "id": 1, "client_msg_id": "m", "text": "     "},
     "bad_field", "text", 1),
    ("text-only-white-space", {"type": "say", "id": 1, "client_msg_id": "m",
                               "text": " \t\r\n "}, "bad_field", "text", 1),
    # client_msg_id
    ("client-msg-id-space", {"type": "say", "id": 1, "client_msg_id": "a b", "text": "hi"},
     "bad_field", "client_msg_id", 1),
    ("client-msg-id-slash", {"type": "say", "id": 1, "client_msg_id": "a/b", "text": "hi"},
     "bad_field", "client_msg_id", 1),
    ("client-msg-id-non-ascii", {"type": "say", "id": 1, "client_msg_id": "caf\u00e9",
                                 "text": "hi"}, "bad_field", "client_msg_id", 1),
    ("client-msg-id-empty", {"type": "say", "id": 1, "client_msg_id": "", "text": "hi"},
     "bad_field", "client_msg_id", 1),
    ("client-msg-id-65", {"type": "say", "id": 1, "client_msg_id": "a" * 65, "text": "hi"},
     "bad_field", "client_msg_id", 1),
    ("react-client-msg-id-bad", {"type": "react", "id": 1, "client_msg_id": "r!", "seq": 1,
                                 "reaction": "hug"}, "bad_field", "client_msg_id", 1),
]


@pytest.mark.parametrize("frame,code,field,req_id", [c[1:] for c in BAD_FRAMES],
                         ids=[c[0] for c in BAD_FRAMES])
def test_bad_frame_when_joined(server, frame, code, field, req_id):
    run(refused_when_joined(server, frame, code, field, req_id))


BAD_HELLOS = [
    ("hello-missing-name", {"type": "hello", "id": "h"}, "missing_field", "name", "h"),
    ("hello-name-number", {"type": "hello", "id": "h", "name": 5}, "bad_field", "name", "h"),
    ("hello-visitor-string", {"type": "hello", "id": "h", "name": "Cid", "visitor": "yes"},
     "bad_field", "visitor", "h"),
    ("hello-unknown-field", {"type": "hello", "id": "h", "name": "Cid", "email": "x@y"},
     "bad_field", NO, "h"),
    ("not-json-before-hello", "{", "bad_json", NO, NO),
]


@pytest.mark.parametrize("frame,code,field,req_id", [c[1:] for c in BAD_HELLOS],
                         ids=[c[0] for c in BAD_HELLOS])
def test_bad_frame_before_hello(server, frame, code, field, req_id):
    run(refused_before_join(server, frame, code, field, req_id, hello_first=False))


BAD_JOINS = [
    ("join-after-seq-string", {"type": "join", "id": 2, "after_seq": "3"},
     "bad_field", "after_seq", 2),
    ("join-after-seq-negative", {"type": "join", "id": 2, "after_seq": -1},
     "bad_field", "after_seq", 2),
    ("join-after-seq-fraction", {"type": "join", "id": 2, "after_seq": 0.5},
     "bad_field", "after_seq", 2),
    ("join-unknown-field", {"type": "join", "id": 2, "room": "other"}, "bad_field", NO, 2),
]


@pytest.mark.parametrize("frame,code,field,req_id", [c[1:] for c in BAD_JOINS],
                         ids=[c[0] for c in BAD_JOINS])
def test_bad_join(server, frame, code, field, req_id):
    run(refused_before_join(server, frame, code, field, req_id, hello_first=True))


def test_unknown_field_error_names_it_in_message(server):
    async def scenario():
        c = await Client.connect(server, new_meeting(server))
        f = await c.request({"type": "ping", "colour": "red"})
        assert f["code"] == "bad_field"
        assert 'unknown field "colour"' in f["message"]

    run(scenario())


def test_client_msg_id_of_64_allowed_chars_is_accepted(server):
    async def scenario():
        a = await Client.joined(server, "Ann", slug=new_meeting(server))
        cmid = ("AZaz09_-" * 8)
        ack = await a.say_ok("long id", cmid=cmid)
        assert ack["client_msg_id"] == cmid

    run(scenario())


def test_text_of_max_chars_is_accepted(server):
    async def scenario():
        a = await Client.joined(server, "Ann", slug=new_meeting(server))
        ack = await a.say_ok("x" * 4000)
        assert a.event(ack["seq"])["text"] == "x" * 4000

    run(scenario())


def test_id_of_64_chars_is_echoed(server):
    async def scenario():
        c = await Client.connect(server, new_meeting(server))
        f = await c.request({"type": "ping", "id": "i" * 64})
        assert f["type"] == "pong" and f["id"] == "i" * 64

    run(scenario())


def test_large_integer_id_is_echoed(server):
    async def scenario():
        c = await Client.connect(server, new_meeting(server))
        for rid in (0, -5, 2 ** 53 - 1, -(2 ** 53 - 1)):
            f = await c.request({"type": "ping", "id": rid})
            assert f["type"] == "pong" and f["id"] == rid

    run(scenario())


def test_error_message_does_not_quote_text(server):
    secret = "my-sponsor-is-called-" + "z" * 4000

    async def scenario():
        a = await Client.joined(server, "Ann", slug=new_meeting(server))
        f = await a.request({"type": "say", "client_msg_id": "m", "text": secret})
        assert f["code"] == "too_long"
        assert "sponsor" not in f["message"]

    run(scenario())


PRIVATE_BAD_JSON = [
    ("text-bad-escape", '{"type": "say", "client_msg_id": "m", "text": "my sponsor Bob \\x"}'),
    ("text-unterminated", '{"type": "say", "client_msg_id": "m", "text": "my sponsor Bob'),
    ("text-control-char", '{"type": "say", "client_msg_id": "m", "text": "my sponsor\tBob"}'),
    ("token-unterminated", '{"type": "hello", "name": "Ann", "token": "' + "5e" * 32),
]


@pytest.mark.parametrize("raw", [c[1] for c in PRIVATE_BAD_JSON],
                         ids=[c[0] for c in PRIVATE_BAD_JSON])
def test_bad_json_error_does_not_quote_text_or_token(server, raw):
    async def scenario():
        c = await Client.connect(server, new_meeting(server))
        await c.send_text(raw)
        f = await c.expect("error")
        assert f["code"] == "bad_json"
        assert "sponsor" not in f["message"] and "Bob" not in f["message"], f["message"]
        assert "5e5e5e" not in f["message"], f["message"]

    run(scenario())
    log = server.log_text()
    assert "sponsor" not in log and "5e5e5e" not in log
