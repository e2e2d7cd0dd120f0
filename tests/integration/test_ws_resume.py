"""Resume: a client that dropped comes back with hello(token) + join(after_seq) and gets
exactly the events it missed, in order, with no gap and no repeat, then live events.

(Client checks on every frame that one connection's event stream has no gap or repeat.)"""

import asyncio

from wsclient import Client, run, seqs, serve

RING = {"rooms": {"recent_events": 16}}


async def _say_many(client, n, prefix, chunk=50):
    """n says, sent `chunk` at a time, each chunk acked before the next goes (a burst of
    hundreds at once would overflow the server's send queue, see test_ws_limits)."""
    for start in range(0, n, chunk):
        ids = []
        for i in range(start, min(n, start + chunk)):
            ids.append(f"{prefix}-{i}")
            await client.send({"type": "say", "id": ids[-1], "client_msg_id": f"{prefix}{i}",
                               "text": f"{prefix} {i}"})
        for i in ids:
            f = await client.reply_to(i, 10)
            assert f["type"] == "ack", f


async def _reconnect(server, old, after_seq):
    c = await Client.connect(server, label=old.label + "'")
    w = await c.hello(old.joined_frame["you"]["name"], token=old.token)
    assert w["token"] == old.token
    await c.join(after_seq=after_seq)
    return c


def test_resume_gets_exactly_the_missed_events(start_havend, db):
    server = serve(start_havend, db)

    async def scenario():
        a = await Client.joined(server, "Ann")
        c = await Client.joined(server, "Cat")
        b = await Client.joined(server, "Ben")
        await _say_many(a, 3, "before")
        await b.wait_seq(3)
        b.abort()
        await _say_many(a, 3, "a-away")
        await _say_many(c, 3, "c-away")
        await a.wait_seq(9)
        b2 = await _reconnect(server, b, after_seq=3)
        j = b2.joined_frame
        assert j["session"]["id"] == b.joined_frame["session"]["id"]
        assert j["more"] is False
        assert seqs(j["events"]) == list(range(4, 10))
        assert j["events"] == a.events[3:9]
        # Then live events, seamlessly.
        ack = await c.say_ok("welcome back")
        await b2.wait_seq(ack["seq"])
        await a.wait_seq(ack["seq"])
        assert seqs(b.events + b2.events) == list(range(1, 11))
        assert b.events + b2.events == a.events

    run(scenario())


def test_resume_keeps_member_number_and_presence_shows_it(start_havend, db):
    server = serve(start_havend, db)

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.wait_type("presence")
        b.abort()
        left = await a.wait_type("presence")
        b2 = await _reconnect(server, b, after_seq=0)
        back = await a.wait_type("presence")
        assert b2.joined_frame["you"] == b.joined_frame["you"]
        assert (left["action"], back["action"]) == ("leave", "join")
        assert left["member"] == back["member"] == b.joined_frame["you"]

    run(scenario())


def test_resume_at_last_seq_gets_nothing(start_havend, db):
    server = serve(start_havend, db)

    async def scenario():
        a = await Client.joined(server, "Ann")
        await _say_many(a, 4, "m")
        await a.wait_seq(4)
        b = await Client.joined(server, "Ben")
        b.abort()
        b2 = await _reconnect(server, b, after_seq=4)
        assert b2.joined_frame["events"] == []
        assert b2.joined_frame["more"] is False
        assert b2.joined_frame["session"]["last_seq"] == 4

    run(scenario())


def test_resume_gets_all_missed_events_beyond_history_on_join(start_havend, db):
    server = serve(start_havend, db, config={"rooms": {"history_on_join": 5}})

    async def scenario():
        a = await Client.joined(server, "Ann")
        await _say_many(a, 30, "m")
        await a.wait_seq(30)
        b = await Client.joined(server, "Ben", after_seq=2)
        assert b.joined_frame["more"] is False
        assert seqs(b.joined_frame["events"]) == list(range(3, 31))

    run(scenario())


def test_resume_older_than_ring_comes_in_events_frames(start_havend, db):
    server = serve(start_havend, db, config=RING)

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await _say_many(a, 5, "early")
        await b.wait_seq(5)
        b.abort()
        await _say_many(a, 40, "away")
        await a.wait_seq(45)
        b2 = await Client.connect(server, label="Ben'")
        await b2.hello("Ben", token=b.token)
        await b2.send({"type": "join", "id": "j", "after_seq": 5})
        j = await b2.expect("joined")
        assert j["more"] is True
        assert j["events"] == []
        frames = []
        while True:
            f = await b2.expect("events")
            frames.append(f)
            if f.get("catchup_done"):
                break
        assert all("catchup_done" not in f for f in frames[:-1])
        caught = [e for f in frames for e in f["events"]]
        assert seqs(caught) == list(range(6, 46))
        assert caught == a.events[5:45]
        # Live events follow the catch-up.
        ack = await a.say_ok("live again")
        await b2.wait_seq(ack["seq"])
        assert seqs(b2.events) == list(range(6, 47))

    run(scenario())


def test_resume_from_zero_older_than_ring_gets_everything(start_havend, db):
    server = serve(start_havend, db, config=RING)

    async def scenario():
        a = await Client.joined(server, "Ann")
        await _say_many(a, 30, "m")
        await a.wait_seq(30)
        b = await Client.joined(server, "Ben", after_seq=0)
        assert seqs(b.events) == list(range(1, 31))
        assert b.events == a.events

    run(scenario())


def test_resume_catch_up_while_others_keep_talking(start_havend, db):
    """A long catch-up (several database pages) races with new events: still no gap, no
    repeat, and nothing missing."""
    server = serve(start_havend, db, config=RING)

    async def scenario():
        a = await Client.joined(server, "Ann")
        await _say_many(a, 1200, "old")
        await a.wait_seq(1200, timeout=30)
        b = await Client.connect(server, label="Ben")
        await b.hello("Ben")
        talk = asyncio.ensure_future(_say_many(a, 100, "new"))
        await b.join(after_seq=3, timeout=30)
        await talk
        await a.wait_seq(1300, timeout=30)
        await b.wait_seq(1300, timeout=30)
        assert seqs(b.events) == list(range(4, 1301))
        assert b.events == a.events[3:]

    run(scenario(), timeout=90)


def test_resume_and_resend_unacked_message_is_stored_once(start_havend, db):
    server = serve(start_havend, db)

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await b.send({"type": "say", "client_msg_id": "maybe-lost", "text": "did it go?"})
        b.abort()   # maybe before, maybe after it was stored
        await asyncio.sleep(0.2)
        b2 = await _reconnect(server, b, after_seq=0)
        ack = await b2.say("did it go?", cmid="maybe-lost")
        assert ack["type"] == "ack" and ack["seq"] == 1, ack
        await b2.wait_seq(1)
        assert [e["client_msg_id"] for e in b2.events] == ["maybe-lost"]
        await a.wait_seq(1)
        await a.drain(0.3)
        assert seqs(a.events) == [1]

    run(scenario())
    assert db.query("SELECT seq, client_msg_id FROM events") == [(1, "maybe-lost")]
