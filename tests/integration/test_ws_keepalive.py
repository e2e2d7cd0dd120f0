"""Keepalive: the server pings; a peer that never answers is dropped and its presence leave
is sent; a peer that answers stays."""

import asyncio
import time

from wsclient import Client, RawClosed, RawWs, run, serve

FAST_PINGS = {"ws": {"ping_interval_secs": 1, "ping_timeout_secs": 2}}


async def _raw_member(server, name):
    raw = await RawWs.open(server)
    assert raw.status == 101
    assert (await raw.request({"type": "hello", "id": 1, "name": name}))["type"] == "welcome"
    assert (await raw.request({"type": "join", "id": 2}))["type"] == "joined"
    return raw


def test_peer_that_never_answers_pings_is_dropped(start_havend, db):
    server = serve(start_havend, db, config=FAST_PINGS)

    async def scenario():
        watcher = await Client.joined(server, "Wat", ping_interval=None)
        raw = await _raw_member(server, "Mute")
        await watcher.wait_type("presence")
        start = time.monotonic()

        async def read_without_answering():
            try:
                while True:
                    await raw.recv_json(timeout=10, answer_pings=False)
            except RawClosed as e:
                return e.code   # None: no close frame, the client sees 1006

        reader = asyncio.ensure_future(read_without_answering())
        leave = await watcher.wait_for(
            lambda f: f["type"] == "presence" and f["action"] == "leave", timeout=8,
            what="presence leave of the mute peer")
        elapsed = time.monotonic() - start
        assert leave["member"]["name"] == "Mute"
        assert raw.pings >= 1, "the server sent no ping"
        assert 1.0 <= elapsed <= 5.0, f"dropped after {elapsed:.1f} s"
        assert await asyncio.wait_for(reader, 5) is None, "expected no close frame (1006)"
        assert raw.eof

    run(scenario())


def test_peer_that_answers_pings_stays(start_havend, db):
    server = serve(start_havend, db, config=FAST_PINGS)

    async def scenario():
        watcher = await Client.joined(server, "Wat", ping_interval=None)
        raw = await _raw_member(server, "Talkative")
        await watcher.wait_type("presence")

        async def read_answering():
            while True:
                await raw.recv_json(timeout=10, answer_pings=True)

        reader = asyncio.ensure_future(read_answering())
        frames = await watcher.drain(3.5)   # a mute peer is dropped after about 2 s
        assert [f for f in frames if f["type"] == "presence"] == []
        assert raw.pings >= 2
        assert not reader.done(), reader
        reader.cancel()
        f = await watcher.request({"type": "ping"})
        assert f["type"] == "pong"

    run(scenario())


def test_library_client_without_own_pings_stays(start_havend, db):
    """websockets answers the server's pings by itself; with its own pings off, that is all
    the traffic there is."""
    server = serve(start_havend, db, config=FAST_PINGS)

    async def scenario():
        a = await Client.joined(server, "Ann", ping_interval=None)
        b = await Client.joined(server, "Ben", ping_interval=None)
        await a.wait_type("presence")
        await asyncio.sleep(3.5)
        assert a.ws.open and b.ws.open
        ack = await b.say_ok("still here")
        await a.wait_seq(ack["seq"])
        assert [f for f in await a.drain(0.1) if f["type"] == "presence"] == []

    run(scenario())
