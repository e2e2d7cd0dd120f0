"""Delivery paths of ws.c: frames are written at once when the socket takes them, and through
the writable callback otherwise. These tests push both paths under fan-out: connections that
vanish in the middle of a burst, a reader that stops reading while others keep up, and the
keepalive's pings interleaved with event frames."""

import asyncio

from wsclient import Client, run, serve

FAST = {"ws": {"rate_per_sec": 1000, "rate_burst": 1000}}


def test_connections_dropped_mid_fanout_leave_the_others_whole(start_havend, db):
    """Twenty listeners, one sender bursting 150 messages; six listeners drop their TCP
    connection (no close frame) in the middle. The others get every event once and in order,
    the server stays healthy and its log clean (checked by the fixture)."""
    server = serve(start_havend, db, config=FAST)

    async def scenario():
        sender = await Client.joined(server, "Sender")
        listeners = [await Client.joined(server, f"L{i}") for i in range(20)]
        first = sender.cursor
        total = 150
        acks = []

        async def burst():
            for i in range(total):
                acks.append(await sender.say(f"burst {i}"))

        task = asyncio.ensure_future(burst())
        await listeners[0].wait_seq(first + 40, timeout=20)
        for c in listeners[:6]:
            c.abort()
        await task
        assert all(a["type"] == "ack" for a in acks), [a for a in acks if a["type"] != "ack"]
        last = acks[-1]["seq"]
        for c in listeners[6:]:
            await c.wait_seq(last, timeout=20)
            got = [e["seq"] for e in c.events if e["seq"] > first and e["kind"] == "message"]
            texts = [e.get("text") for e in c.events if e["seq"] > first
                     and e["kind"] == "message"]
            assert texts == [f"burst {i}" for i in range(total)], c.label
            assert got == sorted(set(got)), f"{c.label}: duplicates or disorder"
        # The dropped ones left the room.
        probe = await Client.joined(server, "Probe")
        members = probe.joined_frame["members"]
        names = sorted(m["name"] for m in members)
        assert not any(n in names for n in ("L0", "L1", "L2", "L3", "L4", "L5")), names
        status, body = server.health()
        assert status == 200, body

    run(scenario(), timeout=90)


def test_pings_interleave_with_a_busy_stream(start_havend, db):
    """With a one-second ping interval, a listener that answers pings (the client library
    does) and receives a steady stream is never dropped, and its stream stays gapless."""
    server = serve(start_havend, db, config={**FAST, "ws": {**FAST["ws"],
                                                            "ping_interval_secs": 1,
                                                            "ping_timeout_secs": 2}})

    async def scenario():
        sender = await Client.joined(server, "Sender")
        listener = await Client.joined(server, "Listener")
        first = sender.cursor
        for i in range(60):
            await sender.say(f"tick {i}")
            await asyncio.sleep(0.05)
        last = sender.cursor
        await listener.wait_seq(last, timeout=10)
        seqs = [e["seq"] for e in listener.events if e["seq"] > first]
        assert seqs == list(range(first + 1, first + 1 + len(seqs)))
        assert listener.ws.close_code is None, "the listener was dropped"

    run(scenario(), timeout=60)


def test_pongs_are_accepted_for_every_session_id(start_havend, db):
    """The keepalive's ping payload is echoed in the pong, and lws checks a pong's payload as
    UTF-8: a payload of raw id bytes broke (1007) for ids with a byte above 127. 160
    connections (ids past 128) answering pings all stay for several ping rounds."""
    server = serve(start_havend, db, config={"ws": {"ping_interval_secs": 1,
                                                    "ping_timeout_secs": 2},
                                             "limits": {"connections_per_address": 0}})

    async def scenario():
        clients = [await Client.connect(server) for _ in range(160)]
        await asyncio.sleep(3.5)  # three ping rounds, answered by the client library
        dropped = [(c.label, c.ws.close_code, c.ws.close_reason) for c in clients
                   if c.ws.close_code is not None]
        assert not dropped, f"{len(dropped)} dropped, e.g. {dropped[:3]}"
        f = await clients[-1].request({"type": "ping", "id": "after"})
        assert f["type"] == "pong"
        for c in clients:
            await c.close()

    run(scenario(), timeout=60)
