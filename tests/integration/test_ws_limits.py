"""Close codes for bad transport input, rate limits, slow readers, the upgrade (paths,
Origin, subprotocol, unknown meetings) and the order of frames (connection states)."""

import asyncio
import json

import pytest
import websockets

from harness import http_get
from wsclient import DEFAULT_CONFIG, Client, Meeting, RawWs, merge, module_server, run, serve

SMALL_FRAMES = {"ws": {"max_frame_bytes": 1024}}


@pytest.fixture(scope="module")
def shared(pg_cluster, tmp_path_factory):
    """For the tests that need no configuration of their own."""
    yield from module_server(pg_cluster, tmp_path_factory, name="ws_limits")


@pytest.fixture
def meeting(shared):
    return Meeting(shared)


def _say_of_size(size, cmid="m"):
    """A say frame of exactly `size` bytes."""
    base = json.dumps({"type": "say", "client_msg_id": cmid, "text": ""})
    text = "x" * (size - len(base))
    frame = json.dumps({"type": "say", "client_msg_id": cmid, "text": text})
    assert len(frame.encode()) == size
    return frame


# -- transport-level input ---------------------------------------------------------------------


def test_binary_message_closes_with_1003(meeting):
    server = meeting

    async def scenario():
        c = await Client.joined(server, "Ann")
        await c.ws.send(b'{"type": "ping"}')
        code, _ = await c.wait_closed()
        assert code == 1003

    run(scenario())


def test_binary_message_closes_only_that_connection(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await b.ws.send(b"\x00\x01")
        await b.wait_closed()
        p = await a.wait_for(lambda f: f["type"] == "presence" and f["action"] == "leave")
        assert p["member"] == b.joined_frame["you"]
        await a.say_ok("unaffected")

    run(scenario())


def test_invalid_utf8_closes_with_1007(meeting):
    server = meeting

    async def scenario():
        raw = await RawWs.open(server)
        assert raw.status == 101
        await raw.send_frame(RawWs.TEXT, b'{"type": "ping", "id": "\xff\xfe"}')
        assert await raw.wait_close() == 1007

    run(scenario())


def test_invalid_utf8_across_fragments_closes_with_1007(meeting):
    server = meeting

    async def scenario():
        raw = await RawWs.open(server)
        # "\xc3" starts a two-byte sequence; the next fragment does not continue it.
        await raw.send_frame(RawWs.TEXT, b'{"type": "ping", "id": "\xc3', fin=False)
        await raw.send_frame(RawWs.CONT, b'("}', fin=True)
        assert await raw.wait_close() == 1007

    run(scenario())


def test_utf8_sequence_split_across_fragments_is_fine(meeting):
    server = meeting

    async def scenario():
        raw = await RawWs.open(server)
        await raw.send_frame(RawWs.TEXT, b'{"type": "ping", "id": "caf\xc3', fin=False)
        await raw.send_frame(RawWs.CONT, b'\xa9"}', fin=True)
        f = await raw.recv_json()
        assert f == {"type": "pong", "id": "caf\u00e9", "server_time_ms": f["server_time_ms"]}

    run(scenario())


def test_frame_of_max_frame_bytes_is_accepted(start_havend, db):
    server = serve(start_havend, db, config=SMALL_FRAMES)

    async def scenario():
        c = await Client.joined(server, "Ann")
        await c.send_text(_say_of_size(1024))
        ack = await c.wait_type("ack")
        assert ack["seq"] == 1

    run(scenario())


def test_frame_over_max_frame_bytes_closes_with_1009(start_havend, db):
    server = serve(start_havend, db, config=SMALL_FRAMES)

    async def scenario():
        c = await Client.joined(server, "Ann")
        await c.send_text(_say_of_size(1025))
        code, _ = await c.wait_closed()
        assert code == 1009

    run(scenario())
    assert db.scalar("SELECT count(*) FROM events") == 0


def test_much_larger_frame_closes_with_1009(meeting):
    server = meeting

    async def scenario():
        c = await Client.joined(server, "Ann")
        await c.send_text(_say_of_size(200_000))
        code, _ = await c.wait_closed()
        assert code == 1009

    run(scenario())


def test_many_small_fragments_over_max_frame_bytes_close_with_1009(start_havend, db):
    server = serve(start_havend, db, config=SMALL_FRAMES)

    async def scenario():
        raw = await RawWs.open(server)
        frame = _say_of_size(2000).encode()
        chunks = [frame[i:i + 50] for i in range(0, len(frame), 50)]
        await raw.send_frame(RawWs.TEXT, chunks[0], fin=False)
        for chunk in chunks[1:-1]:
            await raw.send_frame(RawWs.CONT, chunk, fin=False)
        await raw.send_frame(RawWs.CONT, chunks[-1], fin=True)
        assert await raw.wait_close() == 1009

    run(scenario())


def test_endless_fragments_close_with_1009_before_the_end(start_havend, db):
    server = serve(start_havend, db, config=SMALL_FRAMES)

    async def scenario():
        raw = await RawWs.open(server)
        await raw.send_frame(RawWs.TEXT, b'{"type": "say", "text": "', fin=False)
        for _ in range(40):   # 4000 bytes, never final
            try:
                await raw.send_frame(RawWs.CONT, b"y" * 100, fin=False)
            except (BrokenPipeError, ConnectionResetError):
                break
        assert await raw.wait_close() == 1009

    run(scenario())


def test_fragmented_frame_under_limit_is_one_frame(start_havend, db):
    server = serve(start_havend, db, config=SMALL_FRAMES)

    async def scenario():
        c = await Client.joined(server, "Ann")
        frame = json.dumps({"type": "say", "id": "frag", "client_msg_id": "f",
                            "text": "in ten pieces " * 40})
        await c.ws.send([frame[i:i + len(frame) // 10 + 1]
                         for i in range(0, len(frame), len(frame) // 10 + 1)])
        ack = await c.reply_to("frag")
        assert ack["type"] == "ack", ack
        await c.wait_seq(ack["seq"])
        assert c.event(ack["seq"])["text"] == "in ten pieces " * 40

    run(scenario())


def test_bad_frames_up_to_max_are_answered_then_1008(start_havend, db):
    server = serve(start_havend, db, config={"ws": {"max_bad_frames": 3}})

    async def scenario():
        c = await Client.joined(server, "Ann")
        for i in range(3):
            f = await c.request({"type": "nonsense", "id": i})
            assert (f["type"], f["code"]) == ("error", "unknown_type")
        await c.send({"type": "nonsense", "id": "last"})
        code, _ = await c.wait_closed()
        assert code == 1008
        assert [f for f in c.log if f.get("id") == "last"] == []

    run(scenario())


def test_default_max_bad_frames_is_ten(meeting):
    server = meeting

    async def scenario():
        c = await Client.joined(server, "Ann")
        for i in range(10):
            await c.send_text("{not json")
        for i in range(10):
            assert (await c.expect("error"))["code"] == "bad_json"
        assert (await c.request({"type": "ping"}))["type"] == "pong"
        await c.send_text("{not json")
        code, _ = await c.wait_closed()
        assert code == 1008

    run(scenario())


def test_state_errors_do_not_count_as_bad_frames(start_havend, db):
    server = serve(start_havend, db, config={"ws": {"max_bad_frames": 3}})

    async def scenario():
        c = await Client.connect(server)
        for i in range(10):
            f = await c.request({"type": "say", "client_msg_id": "m", "text": "hi"})
            assert f["code"] == "hello_first"
        for name in ("", "Chair", "x" * 40):
            f = await c.request({"type": "hello", "name": name})
            assert f["type"] == "error"
        assert (await c.request({"type": "ping"}))["type"] == "pong"
        await c.hello("Ann")

    run(scenario())


# -- rate limit --------------------------------------------------------------------------------

RATE = {"ws": {"rate_per_sec": 2, "rate_burst": 3}}


async def _full_bucket_client(server, name="Ann"):
    c = await Client.joined(server, name)
    await asyncio.sleep(1.6)   # hello and join took 2 tokens; 2/s refills all 3
    return c


def test_rate_limit_answers_every_say(start_havend, db):
    server = serve(start_havend, db, config=RATE)

    async def scenario():
        c = await _full_bucket_client(server)
        for i in range(8):
            await c.send({"type": "say", "id": i, "client_msg_id": f"r{i}", "text": f"t{i}"})
        replies = [await c.reply_to(i) for i in range(8)]
        acked = [r for r in replies if r["type"] == "ack"]
        limited = [r for r in replies if r["type"] == "error"]
        assert len(acked) + len(limited) == 8
        # The burst of 3 goes through; the rest is refused (a slow machine may have refilled
        # one token meanwhile).
        assert [r["id"] for r in acked][:3] == [0, 1, 2] and len(acked) <= 4, replies
        for r in limited:
            assert r["code"] == "rate_limited", r
            assert 0 < r["retry_after_ms"] <= 501, r
        await c.wait_seq(len(acked))
        assert await c.drain(0.5) == []
        # Exactly the acked ones were stored and delivered.
        assert [e["client_msg_id"] for e in c.events] == [r["client_msg_id"] for r in acked]
        return len(acked)

    n = run(scenario())
    assert db.scalar("SELECT count(*) FROM events") == n


def test_rate_limited_say_succeeds_after_retry_after(start_havend, db):
    server = serve(start_havend, db, config=RATE)

    async def scenario():
        c = await _full_bucket_client(server)
        for i in range(5):
            await c.send({"type": "say", "id": i, "client_msg_id": f"r{i}", "text": f"t{i}"})
        replies = [await c.reply_to(i) for i in range(5)]
        err = next(r for r in replies if r["type"] == "error")
        assert err["code"] == "rate_limited"
        await asyncio.sleep(err["retry_after_ms"] / 1000 + 0.05)
        f = await c.request({"type": "say", "client_msg_id": f"r{err['id']}", "text": "again"})
        assert (f["type"], f["duplicate"]) == ("ack", False), f

    run(scenario())


def test_ping_takes_a_token(start_havend, db):
    server = serve(start_havend, db, config=RATE)

    async def scenario():
        c = await _full_bucket_client(server)
        for i in range(6):
            await c.send({"type": "ping", "id": i})
        replies = [await c.reply_to(i) for i in range(6)]
        assert [r["type"] for r in replies[:3]] == ["pong"] * 3
        limited = [r for r in replies[3:] if r["type"] == "error"]
        assert len(limited) >= 2, replies
        assert {r["code"] for r in limited} == {"rate_limited"}

    run(scenario())


def test_bad_frames_take_no_token(start_havend, db):
    server = serve(start_havend, db, config={"ws": {"rate_per_sec": 2, "rate_burst": 3,
                                                    "max_bad_frames": 100}})

    async def scenario():
        c = await _full_bucket_client(server)
        for i in range(10):
            await c.send({"type": "nonsense", "id": i})
        for i in range(3):
            await c.send({"type": "ping", "id": f"p{i}"})
        codes = [(await c.reply_to(i))["code"] for i in range(10)]
        assert codes == ["unknown_type"] * 10
        assert [(await c.reply_to(f"p{i}"))["type"] for i in range(3)] == ["pong"] * 3

    run(scenario())


def test_rate_limit_is_per_connection(start_havend, db):
    server = serve(start_havend, db, config=RATE)

    async def scenario():
        a = await _full_bucket_client(server, "Ann")
        b = await Client.joined(server, "Ben")
        await asyncio.sleep(1.6)
        for i in range(6):
            await a.send({"type": "ping", "id": i})
        assert [(await a.reply_to(i))["type"] for i in range(6)][-1] == "error"
        f = await b.request({"type": "say", "client_msg_id": "b", "text": "mine"})
        assert f["type"] == "ack"

    run(scenario())


# -- slow readers ------------------------------------------------------------------------------

SLOW = {"ws": {"send_queue_max": 8, "max_frame_bytes": 65536}}


def test_client_that_never_reads_is_closed_with_1013(start_havend, db):
    server = serve(start_havend, db, config=SLOW)
    text = "\U0001F600" * 4000   # 16 kB per event

    def gone(watcher):
        return [f for f in watcher.inbox if f["type"] == "presence" and f["action"] == "leave"]

    async def scenario():
        watcher = await Client.joined(server, "Wat")
        talker = await Client.joined(server, "Tal")
        raw = await RawWs.open(server, rcvbuf=4096)
        assert (await raw.request({"type": "hello", "id": 1, "name": "Slow"}))["type"] == \
            "welcome"
        assert (await raw.request({"type": "join", "id": 2}))["type"] == "joined"
        await watcher.wait_type("presence")
        # The slow client reads nothing from here on. 600 events of 16 kB are far more
        # than the socket buffers and 8 queued frames hold.
        for i in range(600):
            ack = await talker.say_ok(text, cmid=f"f{i}")
            await watcher.wait_seq(ack["seq"])
            if gone(watcher):
                break
        else:
            await watcher.drain(5)
        assert gone(watcher), "the client that never reads was not closed"
        assert gone(watcher)[0]["member"]["name"] == "Slow"
        # What the slow client finds when it reads at last: the close, with 1013.
        assert await raw.wait_close(timeout=10) == 1013

    run(scenario(), timeout=120)


def test_listeners_survive_the_queue_commit_after_a_database_outage(start_havend,
                                                                      private_pg):
    """While the database is away ten members post 40 messages each (at the default rate
    limit, eight seconds of typing); they are queued. When it is back the queue is stored
    and delivered: everybody, reading as fast as it can, gets all 400 events and every
    sender its 40 acks; nobody is taken for a slow reader and closed with 1013."""
    database = private_pg.create_database("outage_burst")
    server = start_havend(database, config=merge(DEFAULT_CONFIG, {
        "database": {"reconnect_max_ms": 300, "connect_timeout_ms": 2000}}))
    server.wait_healthy()
    database.create_meeting("room")

    async def scenario():
        listener = await Client.joined(server, "Listener")
        senders = [await Client.joined(server, f"S{i}") for i in range(10)]
        private_pg.stop()
        assert (await listener.wait_type("status", timeout=10))["store"] == "paused"
        for s in senders:
            for i in range(40):
                await s.send({"type": "say", "id": i, "client_msg_id": f"q{i}", "text": f"{i}"})
        await asyncio.sleep(0.3)
        private_pg.start()
        assert (await listener.wait_type("status", timeout=15))["store"] == "ok"
        await asyncio.sleep(2)   # every socket is read all the while
        closed = [(c.label, c.ws.close_code) for c in [listener] + senders
                  if c.ws.close_code is not None]
        assert closed == []
        await listener.wait_seq(400, timeout=10)
        for s in senders:
            assert [(await s.reply_to(i))["type"] for i in range(40)] == ["ack"] * 40

    run(scenario())
    assert database.scalar("SELECT count(*) FROM events") == 400


# -- the upgrade -------------------------------------------------------------------------------


def test_foreign_origin_gets_403(start_havend, db):
    server = serve(start_havend, db,
                   config={"http": {"allowed_origins": ["https://meet.example.org"]}})

    async def scenario():
        raw = await RawWs.open(server, origin="https://evil.example.com")
        assert raw.status == 403

    run(scenario())


def test_listed_origin_is_allowed(start_havend, db):
    server = serve(start_havend, db,
                   config={"http": {"allowed_origins": ["https://meet.example.org"]}})

    async def scenario():
        c = await Client.connect(server, origin="https://meet.example.org")
        assert (await c.hello("Ann"))["type"] == "welcome"

    run(scenario())


def test_same_origin_is_allowed_when_no_origins_listed(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server, origin=f"http://127.0.0.1:{server.port}")
        assert (await c.hello("Ann"))["type"] == "welcome"

    run(scenario())


def test_other_origin_gets_403_when_no_origins_listed(meeting):
    server = meeting

    async def scenario():
        for origin in ("http://evil.example.com", f"http://127.0.0.1:{server.port + 1}",
                       f"http://127.0.0.1:{server.port}.evil.example.com", "null"):
            raw = await RawWs.open(server, origin=origin)
            assert raw.status == 403, origin

    run(scenario())


def test_listed_origins_replace_same_origin(start_havend, db):
    server = serve(start_havend, db,
                   config={"http": {"allowed_origins": ["https://meet.example.org"]}})

    async def scenario():
        raw = await RawWs.open(server, origin=f"http://127.0.0.1:{server.port}")
        assert raw.status == 403

    run(scenario())


def test_no_origin_is_allowed(start_havend, db):
    server = serve(start_havend, db,
                   config={"http": {"allowed_origins": ["https://meet.example.org"]}})

    async def scenario():
        raw = await RawWs.open(server)
        assert raw.status == 101
        assert raw.headers.get("sec-websocket-protocol") == "haven.v1"
        f = await raw.request({"type": "hello", "id": 1, "name": "Ann"})
        assert f["type"] == "welcome"

    run(scenario())


@pytest.mark.parametrize("path", ["/ws/../x", "/ws/UPPER", "/ws/", "/ws", "/ws/a/b",
                                  "/ws/-room", "/ws/room-", "/ws/r%20m", "/ws/" + "a" * 65,
                                  "/wss/room", "/ws/ro_om"])
def test_malformed_path_gets_404(meeting, path):
    server = meeting
    headers = {"Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Protocol": "haven.v1"}
    status, _, _ = http_get(server.port, path, headers=headers)
    assert status == 404


def test_slug_of_64_chars_is_well_formed(start_havend, db):
    slug = "a" * 64
    server = serve(start_havend, db, slugs=(slug,))

    async def scenario():
        c = await Client.joined(server, "Ann", slug=slug)
        assert c.joined_frame["meeting"]["slug"] == slug

    run(scenario())


def test_unknown_meeting_closes_with_4404(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server, "no-such-meeting")
        code, reason = await c.wait_closed()
        assert (code, reason) == (4404, "no such meeting")

    run(scenario())


def test_unknown_meeting_answers_no_hello(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server, "no-such-meeting")
        try:
            await c.send({"type": "hello", "id": "h", "name": "Ann"})
            await c.send({"type": "join", "id": "j"})
        except websockets.ConnectionClosed:
            pass
        code, _ = await c.wait_closed()
        assert code == 4404
        assert [f for f in c.log if f["type"] in ("welcome", "joined")] == []

    run(scenario())


def test_unknown_meeting_sends_meeting_not_found_before_close(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server, "no-such-meeting")
        code, _ = await c.wait_closed()
        assert code == 4404
        assert [(f["type"], f.get("code")) for f in c.log] == [("error", "meeting_not_found")]
        assert "id" not in c.log[0] and "field" not in c.log[0]

    run(scenario())


def test_no_subprotocol_offered(meeting):
    """The client must offer haven.v1. A client that offers no subprotocol should be refused
    before the upgrade (a 4xx answer, or at least no 101), or else be served as haven.v1;
    what it must not get is an open WebSocket that never answers."""
    server = meeting

    async def scenario():
        raw = await RawWs.open(server, protocol=None)
        if raw.status is None or 400 <= raw.status < 500:
            return
        assert raw.status == 101, raw.status
        f = await raw.request({"type": "hello", "id": 1, "name": "Ann"}, timeout=2)
        assert f["type"] == "welcome"

    run(scenario())


def test_other_subprotocol_only_is_never_upgraded(meeting):
    """Offering only a protocol the server does not speak is never upgraded, and the server
    carries on.  Debian's libwebsockets 4.1.6 refuses it inside its own protocol matching,
    before any callback of ours runs, by closing the connection: it cannot answer with an
    HTTP status there (PROTOCOL.md says so)."""
    server = meeting

    async def scenario():
        raw = await RawWs.open(server, protocol="chat.v2")
        assert raw.status is None or 400 <= raw.status < 500, raw.status
        again = await RawWs.open(server, protocol="haven.v1")
        assert again.status == 101
        f = await again.request({"type": "hello", "id": 1, "name": "Ann"})
        assert f["type"] == "welcome"

    run(scenario())


def test_haven_v1_among_other_subprotocols_is_selected(meeting):
    server = meeting

    async def scenario():
        raw = await RawWs.open(server, protocol="chat.v2, haven.v1")
        assert raw.status == 101
        assert raw.headers.get("sec-websocket-protocol") == "haven.v1"
        f = await raw.request({"type": "hello", "id": 1, "name": "Ann"})
        assert f["type"] == "welcome"

    run(scenario())


# -- order of frames ---------------------------------------------------------------------------

ORDER = [
    # (setup: "connected" | "hello" | "joined" | "left"), frame, code
    ("say-before-hello", "connected", {"type": "say", "client_msg_id": "m", "text": "hi"},
     "hello_first"),
    ("react-before-hello", "connected", {"type": "react", "client_msg_id": "m", "seq": 1,
                                         "reaction": "hug"}, "hello_first"),
    ("join-before-hello", "connected", {"type": "join"}, "hello_first"),
    ("history-before-hello", "connected", {"type": "history", "after_seq": 0},
     "hello_first"),
    ("leave-before-hello", "connected", {"type": "leave"}, "join_first"),
    ("say-before-join", "hello", {"type": "say", "client_msg_id": "m", "text": "hi"},
     "join_first"),
    ("react-before-join", "hello", {"type": "react", "client_msg_id": "m", "seq": 1,
                                    "reaction": "hug"}, "join_first"),
    ("history-before-join", "hello", {"type": "history", "after_seq": 0}, "join_first"),
    ("leave-before-join", "hello", {"type": "leave"}, "join_first"),
    ("hello-twice", "hello", {"type": "hello", "name": "Again"}, "already_hello"),
    ("hello-when-joined", "joined", {"type": "hello", "name": "Again"}, "already_hello"),
    ("join-twice", "joined", {"type": "join"}, "already_joined"),
    ("say-after-leave", "left", {"type": "say", "client_msg_id": "m", "text": "hi"},
     "join_first"),
    ("leave-after-leave", "left", {"type": "leave"}, "join_first"),
    ("hello-after-leave", "left", {"type": "hello", "name": "Again"}, "already_hello"),
]


@pytest.mark.parametrize("state,frame,code", [o[1:] for o in ORDER], ids=[o[0] for o in ORDER])
def test_frame_in_wrong_state(meeting, state, frame, code):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        if state != "connected":
            await c.hello("Ann")
        if state in ("joined", "left"):
            await c.join()
        if state == "left":
            assert (await c.request({"type": "leave"}))["type"] == "left"
        f = await c.request({**frame, "id": "wrong"})
        assert (f["type"], f["code"], f["id"]) == ("error", code, "wrong"), f
        assert "field" not in f
        # The state did not change: what the state allows still works.
        if state == "connected":
            await c.hello("Ann")
        elif state in ("hello", "left"):
            await c.join()
        else:
            await c.say_ok("still joined")

    run(scenario())
    assert [r for r in meeting.event_rows() if r[2] == "m"] == []


def test_ping_is_allowed_before_hello(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        f = await c.request({"type": "ping", "id": 6})
        assert f["type"] == "pong" and f["id"] == 6
        assert isinstance(f["server_time_ms"], int)

    run(scenario())


def test_join_again_after_leave(meeting):
    server = meeting

    async def scenario():
        c = await Client.joined(server, "Ann")
        await c.request({"type": "leave"})
        j = await c.join()
        assert j["you"] == c.joined_frame["you"]
        await c.say_ok("back")

    run(scenario())
