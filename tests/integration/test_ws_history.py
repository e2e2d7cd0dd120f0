"""history before_seq / after_seq with has_more, in memory and beyond the in-memory ring.

With rooms.recent_events 16 and 60 messages, the server holds seqs 45..60 in memory; older
pages come from the database, and pages that straddle the boundary from both."""

import pytest

from wsclient import Client, Meeting, module_server, run, seqs, serve

RING = {"rooms": {"recent_events": 16}}
N = 60


@pytest.fixture(scope="module")
def shared(pg_cluster, tmp_path_factory):
    yield from module_server(pg_cluster, tmp_path_factory, config=RING, name="ws_history")


@pytest.fixture
def meeting(shared):
    return Meeting(shared)


async def _room_with_messages(server, n=N):
    a = await Client.joined(server, "Ann")
    for i in range(n):
        await a.send({"type": "say", "client_msg_id": f"h{i + 1}", "text": f"message {i + 1}"})
    await a.wait_seq(n, timeout=15)
    assert seqs(a.events) == list(range(1, n + 1))
    return a


def _check_page(reply, want_seqs, has_more, live):
    assert reply["type"] == "history", reply
    assert seqs(reply["events"]) == want_seqs
    assert reply["has_more"] is has_more
    # Events from history are the very events delivered live (same ts, from, text, ...).
    by_seq = {e["seq"]: e for e in live}
    for e in reply["events"]:
        assert e == by_seq[e["seq"]]


PAGES = [
    # (request, expected seqs, has_more)
    ({"before_seq": 61, "limit": 10}, list(range(51, 61)), True),      # ring only
    ({"before_seq": 61, "limit": 20}, list(range(41, 61)), True),      # straddles the ring
    ({"before_seq": 41, "limit": 20}, list(range(21, 41)), True),      # database only
    ({"before_seq": 21, "limit": 20}, list(range(1, 21)), False),      # reaches seq 1
    ({"before_seq": 11, "limit": 50}, list(range(1, 11)), False),      # fewer than limit
    ({"before_seq": 1}, [], False),                                     # nothing before 1
    ({"after_seq": 0, "limit": 25}, list(range(1, 26)), True),         # database only
    ({"after_seq": 30, "limit": 20}, list(range(31, 51)), True),       # straddles the ring
    ({"after_seq": 50, "limit": 20}, list(range(51, 61)), False),      # ring, to the end
    ({"after_seq": 40, "limit": 20}, list(range(41, 61)), False),      # exactly to the end
    ({"after_seq": 60}, [], False),                                     # nothing after
    ({"after_seq": 0}, list(range(1, 51)), True),                       # default limit 50
]


@pytest.mark.parametrize("request_fields,want,has_more", PAGES,
                         ids=[",".join(f"{k}={v}" for k, v in p[0].items()) for p in PAGES])
def test_history_page(meeting, request_fields, want, has_more):
    server = meeting

    async def scenario():
        a = await _room_with_messages(server)
        reply = await a.history(**request_fields)
        _check_page(reply, want, has_more, a.events)

    run(scenario())


def test_history_walk_backwards_covers_everything_once(meeting):
    server = meeting

    async def scenario():
        a = await _room_with_messages(server)
        got, before = [], N + 1
        while True:
            reply = await a.history(before_seq=before, limit=7)
            _check_page(reply, seqs(reply["events"]), reply["has_more"], a.events)
            got = reply["events"] + got
            if not reply["has_more"]:
                break
            before = reply["events"][0]["seq"]
        assert seqs(got) == list(range(1, N + 1))

    run(scenario())


def test_history_walk_forwards_covers_everything_once(meeting):
    server = meeting

    async def scenario():
        a = await _room_with_messages(server)
        got, after = [], 0
        while True:
            reply = await a.history(after_seq=after, limit=7)
            _check_page(reply, seqs(reply["events"]), reply["has_more"], a.events)
            got += reply["events"]
            if not reply["has_more"]:
                break
            after = reply["events"][-1]["seq"]
        assert seqs(got) == list(range(1, N + 1))

    run(scenario())


def test_history_echoes_id(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        await a.say_ok("one")
        await a.send({"type": "history", "id": "h-7", "after_seq": 0})
        reply = await a.expect("history")
        assert reply["id"] == "h-7"
        assert seqs(reply["events"]) == [1]

    run(scenario())


def test_history_includes_reactions(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        said = await a.say_ok("first")
        await a.react(said["seq"], "clap")
        for i in range(20):   # push both out of the ring
            await a.send({"type": "say", "client_msg_id": f"x{i}", "text": f"x{i}"})
        await a.wait_seq(22)
        reply = await a.history(after_seq=0, limit=2)
        _check_page(reply, [1, 2], True, a.events)
        r = reply["events"][1]
        assert (r["kind"], r["reaction"], r["target_seq"]) == ("reaction", "clap", 1)

    run(scenario())


def test_history_after_restart_comes_from_database(start_havend, db):
    """A fresh server has nothing in memory but the newest events: the rest is read back."""
    server = serve(start_havend, db, config=RING)

    async def first():
        a = await _room_with_messages(server, 30)
        return a.events

    live = run(first())
    server.stop()
    server2 = start_havend(db, config={**RING, "ws": {"rate_per_sec": 10000,
                                                     "rate_burst": 100000}})
    server2.wait_healthy()

    async def second():
        b = await Client.joined(server2, "Ben")
        assert b.joined_frame["session"]["last_seq"] == 30
        recent = seqs(b.joined_frame["events"])
        first = recent[0] if recent else 31
        assert recent == list(range(first, 31))
        reply = await b.history(before_seq=first, limit=50)
        _check_page(reply, list(range(1, first)), False, live)

    run(second())
