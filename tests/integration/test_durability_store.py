"""Durability of meeting history: restarts, crashes and database outages.

Each test drives the real havend over WebSockets and checks the events table
afterwards. Every server frame is validated against proto/schema.

    test_history_survives_restart              SIGTERM, restart, resume + history
    test_database_outage_pauses_and_recovers   PostgreSQL stopped for a few seconds
    test_outage_backlog_delivered_without_disconnecting  300 queued during an outage
    test_full_queue_refuses_with_store_unavailable  store.queue_max reached while down
    test_sigkill_under_load_loses_nothing_acked     SIGKILL, restart, resend the outbox
    test_idempotent_say_across_restart         same client_msg_id after a restart
    test_participants_are_recorded             participants rows, last_left_at
    test_merged_batch_stores_exact_text_and_isolates_a_failure  multi-row INSERTs
"""

import asyncio

import pytest
import websockets

from harness import (FAST_RECONNECT, NO_RATE_LIMIT, assert_gapless, assert_unique_client_ids,
                     event_tuple, merged, stored_events, wait_until)
from harness import RecordingClient as Client


async def health(server):
    return await asyncio.to_thread(server.health)


# ---------------------------------------------------------------------------------------------
# 1. Restart


def test_history_survives_restart(start_havend, db):
    server = start_havend(db).wait_healthy()
    slug = db.create_meeting("restart-history", "Restart history")

    async def before():
        a = await Client.open(server, slug, "a")
        b = await Client.open(server, slug, "b")
        await a.hello("Ash")
        await b.hello("Bo")
        await a.join()
        await b.join()
        cmids = []
        for i in range(6):
            for c in (a, b):
                cmid = f"{c.label}-{i}"
                await c.say(cmid, f"{c.label} says {i}")
                cmids.append((c, cmid))
        for c in (a, b):
            await c.wait_acks([m for cc, m in cmids if cc is c])
        await a.wait_for(lambda: len(a.stream) == 12, what="12 events")
        await b.wait_for(lambda: len(b.stream) == 12, what="12 events")
        session_id = a.frames_of("joined")[0]["session"]["id"]
        server.terminate()
        await a.wait_closed()
        await b.wait_closed()
        assert a.close_code == 1001 and b.close_code == 1001
        for c in (a, b):
            c.check_valid()
            c.assert_stream_gapless()
        return [(c.token, c.member, list(c.stream)) for c in (a, b)], session_id

    seen, session_id = asyncio.run(before())
    assert server.wait_exit(10) == 0, server.log_text()
    server.assert_clean_log()
    assert seen[0][2] == seen[1][2]
    assert [e["seq"] for e in seen[0][2]] == list(range(1, 13))

    server2 = start_havend(db).wait_healthy()

    async def after():
        clients = []
        for (token, member, stream), label, name in zip(seen, "ab", ("Ash", "Bo")):
            c = await Client.open(server2, slug, label)
            await c.hello(name, token=token)
            joined = await c.join(after_seq=stream[-1]["seq"])
            assert joined["session"]["id"] == session_id
            assert joined["session"]["last_seq"] == 12
            assert joined["you"]["member"] == member
            assert joined["events"] == [] and joined["more"] is False
            hist = await c.request({"type": "history", "after_seq": 0, "limit": 200})
            assert hist["type"] == "history", hist
            assert hist["has_more"] is False
            assert hist["events"] == stream, "history after a restart differs from what was seen"
            clients.append(c)
        a, b = clients
        # seq continues from the database.
        await a.say("a-after", "after the restart")
        (ack,) = await a.wait_acks(["a-after"])
        assert ack["seq"] == 13 and ack["duplicate"] is False
        await b.wait_for(lambda: b.stream and b.stream[-1]["seq"] == 13, what="event 13")
        for c in clients:
            await c.close()

    asyncio.run(after())
    rows = stored_events(db, slug)
    assert_gapless(rows)
    assert len(rows) == 13
    assert [r[:5] for r in rows[:12]] == [event_tuple(e) for e in seen[0][2]]


# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL stopped during a meeting


def test_database_outage_pauses_and_recovers(start_havend, private_pg):
    database = private_pg.create_database("outage")
    server = start_havend(database, config=FAST_RECONNECT).wait_healthy()
    slug = database.create_meeting("outage", "Outage")

    async def scenario():
        a = await Client.open(server, slug, "a")
        b = await Client.open(server, slug, "b")
        await a.hello("Ash")
        await b.hello("Bo")
        assert (await a.join())["store"] == "ok"
        await b.join()
        await a.say("a-0", "before the outage")
        await b.say("b-0", "me too")
        await a.wait_acks(["a-0"])
        await b.wait_acks(["b-0"])
        wait_until(lambda: server.health()[1]["database"]["queue_depth"] == 0, 5,
                   what="empty write queue")

        mark = {c.label: len(c.frames) for c in (a, b)}
        await asyncio.to_thread(private_pg.stop)
        for c in (a, b):
            await c.wait_for(lambda c=c: c.frames_of("status", mark[c.label]), 10,
                             what="status frame")
            assert c.frames_of("status", mark[c.label])[0]["store"] == "paused"

        outage = {"a": [], "b": []}
        for i in range(1, 4):
            for c in (a, b):
                cmid = f"{c.label}-{i}"
                await c.say(cmid, f"during the outage {i}")
                outage[c.label].append(cmid)

        # Paused: nothing acked, nothing delivered; /healthz says so.
        async def degraded():
            status, body = await health(server)
            return status == 503 and body["database"]["queue_depth"] > 0 and body
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        body = await degraded()
        while not body and loop.time() < deadline:
            await asyncio.sleep(0.1)
            body = await degraded()
        assert body, f"/healthz not degraded with a queue: {await health(server)}"
        assert body["status"] == "degraded"
        assert body["database"]["state"] in ("down", "connecting")
        assert body["database"]["queue_depth"] == 6
        await asyncio.sleep(2.0)
        for c in (a, b):
            assert not any(m in c.acks for m in outage[c.label]), f"{c.label} acked while paused"
            assert not c.frames_of("event", mark[c.label]) \
                and not c.frames_of("events", mark[c.label]), "event delivered while paused"
            assert not c.frames_of("error", mark[c.label]), c.frames_of("error", mark[c.label])
        resumed_at = {c.label: len(c.frames) for c in (a, b)}

        await asyncio.to_thread(private_pg.start)
        for c in (a, b):
            await c.wait_acks(outage[c.label], timeout=15)
            statuses = [f["store"] for f in c.frames_of("status", mark[c.label])]
            assert statuses == ["paused", "ok"], statuses
            # status ok comes before the acks of the queued messages.
            ok_at = next(i for i, f in enumerate(c.frames)
                         if i >= resumed_at[c.label] and f["type"] == "status")
            first_ack = min(i for i, f in enumerate(c.frames)
                            if f["type"] == "ack" and f["client_msg_id"] in outage[c.label])
            assert ok_at < first_ack
        for c in (a, b):
            await c.wait_for(lambda c=c: c.last_seq() == 8, what="all 8 events")
            c.assert_stream_gapless()
            # Each sender's messages got seqs in the order they were sent.
            seqs = [c.acks[m]["seq"] for m in [f"{c.label}-0"] + outage[c.label]]
            assert seqs == sorted(seqs)
        acked = {(c.member, m): c.acks[m]["seq"] for c in (a, b) for m in c.acks}
        streams = [list(c.stream) for c in (a, b)]
        for c in (a, b):
            await c.close()
        return acked, streams

    acked, streams = asyncio.run(scenario())
    assert streams[0] == streams[1]
    body = wait_until(lambda: server.health()[0] == 200 and server.health()[1], 5,
                      what="/healthz 200")
    assert body["database"]["state"] == "ok"
    rows = stored_events(database, slug)
    assert_gapless(rows)
    assert_unique_client_ids(rows)
    assert len(rows) == len(acked) == 8
    assert {(r[1], r[3]): r[0] for r in rows} == acked
    assert [r[:5] for r in rows] == [event_tuple(e) for e in streams[0]]


# ---------------------------------------------------------------------------------------------
# 2b. A larger backlog after an outage


def test_outage_backlog_delivered_without_disconnecting(start_havend, private_pg):
    """300 messages queued during an outage (well under store.queue_max) are all delivered and
    acked on the members' open connections once the database is back.

    The rate limit is raised only to queue them quickly; at the default 5 frames/s per
    connection a room of six reaches 300 queued messages in about ten seconds of outage."""
    database = private_pg.create_database("backlog")
    server = start_havend(database, config=merged(FAST_RECONNECT, NO_RATE_LIMIT)).wait_healthy()
    slug = database.create_meeting("backlog", "Backlog")
    names = ["Ash", "Bo", "Cy", "Di", "Ed", "Fay"]
    per_client = 50

    async def scenario():
        clients = []
        for n in names:
            c = await Client.open(server, slug, n)
            await c.hello(n)
            await c.join()
            clients.append(c)
        wait_until(lambda: server.health()[1]["database"]["queue_depth"] == 0, 5,
                   what="empty write queue")
        await asyncio.to_thread(private_pg.stop)
        for c in clients:
            await c.wait_for(lambda c=c: c.frames_of("status"), 10, what="status paused")
        for i in range(per_client):
            for c in clients:
                await c.say(f"{c.label}-{i}", f"queued {i}")
        status, body = await health(server)
        assert body["database"]["queue_depth"] == len(names) * per_client, body
        await asyncio.to_thread(private_pg.start)
        total = len(names) * per_client
        for c in clients:
            await c.wait_acks([f"{c.label}-{i}" for i in range(per_client)], timeout=20)
            await c.wait_for(lambda c=c: c.last_seq() == total, 10, what=f"event {total}")
            c.assert_stream_gapless()
        for c in clients:
            await c.close()

    asyncio.run(scenario())
    rows = stored_events(database, slug)
    assert_gapless(rows)
    assert len(rows) == len(names) * per_client


# ---------------------------------------------------------------------------------------------
# 3. store.queue_max reached while the database is away


def test_full_queue_refuses_with_store_unavailable(start_havend, private_pg):
    database = private_pg.create_database("queue_full")
    config = merged(FAST_RECONNECT, {"store": {"queue_max": 5}})
    server = start_havend(database, config=config).wait_healthy()
    slug = database.create_meeting("queue-full", "Queue full")

    async def scenario():
        a = await Client.open(server, slug, "a")
        await a.hello("Ash")
        await a.join()
        wait_until(lambda: server.health()[1]["database"]["queue_depth"] == 0, 5,
                   what="empty write queue")
        mark = len(a.frames)
        await asyncio.to_thread(private_pg.stop)
        await a.wait_for(lambda: a.frames_of("status", mark), 10, what="status paused")

        for i in range(5):
            await a.say(f"m{i}", f"queued {i}")
        refused = await a.request({"type": "say", "client_msg_id": "m5", "text": "one too many"})
        assert refused["type"] == "error", refused
        assert refused["code"] == "store_unavailable"
        assert isinstance(refused.get("retry_after_ms"), int) and refused["retry_after_ms"] >= 0
        # The five before it are queued, not refused and not acked.
        assert not a.acks
        assert [f["code"] for f in a.frames_of("error", mark)] == ["store_unavailable"]
        status, body = await health(server)
        assert status == 503 and body["database"]["queue_depth"] == 5, body

        await asyncio.to_thread(private_pg.start)
        acks = await a.wait_acks([f"m{i}" for i in range(5)], timeout=15)
        assert [k["seq"] for k in acks] == [1, 2, 3, 4, 5]
        assert not any(k["duplicate"] for k in acks)
        # The refused one was not stored: sent again, it is new.
        again = await a.request({"type": "say", "client_msg_id": "m5", "text": "one too many"})
        assert again["type"] == "ack", again
        assert again["seq"] == 6 and again["duplicate"] is False
        await a.wait_for(lambda: a.last_seq() == 6, what="event 6")
        a.assert_stream_gapless()
        member = a.member
        await a.close()
        return member

    member = asyncio.run(scenario())
    rows = stored_events(database, slug)
    assert_gapless(rows)
    assert [(r[1], r[3]) for r in rows] == [(member, f"m{i}") for i in range(6)]


# ---------------------------------------------------------------------------------------------
# 4. SIGKILL under load


def test_sigkill_under_load_loses_nothing_acked(start_havend, db):
    server = start_havend(db, config=NO_RATE_LIMIT).wait_healthy()
    slug = db.create_meeting("sigkill-load", "SIGKILL under load")
    names = ["Ash", "Bo", "Cy", "Di"]
    outbox = {n: [] for n in names}   # every (cmid, text) a client meant to send, in order

    async def load():
        clients = []
        for n in names:
            c = await Client.open(server, slug, n)
            await c.hello(n)
            await c.join()
            clients.append(c)
        # The participant rows must be stored before the crash for the events' foreign key
        # (they are queued ahead of every event anyway).
        wait_until(lambda: db.scalar("SELECT count(*) FROM participants") == len(names), 5,
                   what="participant rows")

        async def sender(c):
            for i in range(400):  # bounded; the kill comes long before the end
                if c.closed:
                    return
                cmid = f"{c.label}-{i}"
                text = f"{c.label} message {i}"
                outbox[c.label].append((cmid, text))
                try:
                    await c.say(cmid, text)
                except websockets.ConnectionClosed:
                    return
                if i % 4 == 3:  # about 400 messages/s per client, 1600/s in all
                    await asyncio.sleep(0.01)

        senders = [asyncio.get_running_loop().create_task(sender(c)) for c in clients]
        await clients[0].wait_for(lambda: clients[0].last_seq() >= 200, 20, what="200 events")
        await asyncio.to_thread(server.kill)
        await asyncio.gather(*senders)
        for c in clients:
            await c.wait_closed()
            c.check_valid()
            c.assert_stream_gapless()
        return {c.label: (c.token, list(c.stream), dict(c.acks)) for c in clients}

    before = asyncio.run(load())

    # Every event any client saw is stored, exactly as seen.
    rows = stored_events(db, slug)
    by_seq = {r[0]: r[:5] for r in rows}
    seen = {}
    for _, stream, _ in before.values():
        for e in stream:
            seen.setdefault(e["seq"], event_tuple(e))
    assert seen, "no events were delivered before the kill"
    missing = [s for s, t in sorted(seen.items()) if by_seq.get(s) != t]
    assert not missing, f"events seen by clients but not stored: {missing[:20]}"
    for n, (_, _, acks) in before.items():
        for cmid, ack in acks.items():
            assert by_seq[ack["seq"]][3] == cmid
    unacked_total = sum(len([m for m, _ in outbox[n] if m not in before[n][2]]) for n in names)

    server2 = start_havend(db, config=NO_RATE_LIMIT).wait_healthy()

    async def resume():
        clients = []
        for n in names:
            token, stream, acks = before[n]
            c = await Client.open(server2, slug, n)
            await c.hello(n, token=token)
            last = stream[-1]["seq"] if stream else 0
            await c.join(after_seq=last)
            # The resumed stream continues exactly after what was seen.
            c.stream[:0] = stream
            c.assert_stream_gapless()
            c.acks = {**acks, **c.acks}
            clients.append(c)
        for c in clients:
            for cmid, text in outbox[c.label]:
                if cmid not in c.acks:  # the outbox: sent, never acked
                    await c.say(cmid, text)
        for c in clients:
            await c.wait_acks([m for m, _ in outbox[c.label]], timeout=20)
        total = sum(len(v) for v in outbox.values())
        for c in clients:
            await c.wait_for(lambda c=c: c.last_seq() == total, 10, what=f"event {total}")
            c.assert_stream_gapless()
        acked = {(c.member, m): c.acks[m]["seq"] for c in clients for m in c.acks}
        for c in clients:
            await c.close()
        return acked, total

    acked, total = asyncio.run(resume())
    rows = stored_events(db, slug)
    assert_gapless(rows)
    assert_unique_client_ids(rows)
    assert len(rows) == total, f"{len(rows)} rows for {total} distinct messages"
    assert {(r[1], r[3]): r[0] for r in rows} == acked
    # Nothing any client saw before the crash changed.
    assert all(by_seq[s] == t for s, t in seen.items())
    assert unacked_total > 0, "the kill found no message in flight: the test proved nothing"


# ---------------------------------------------------------------------------------------------
# 5. Idempotency across a restart


def test_idempotent_say_across_restart(start_havend, db):
    server = start_havend(db).wait_healthy()
    slug = db.create_meeting("idem-restart", "Idempotency across restart")

    async def first():
        a = await Client.open(server, slug, "a")
        await a.hello("Ash")
        await a.join()
        await a.say("warm-up", "hello")
        await a.say("same-id", "only once")
        acks = await a.wait_acks(["warm-up", "same-id"])
        await a.close()
        return a.token, acks[1]

    token, ack = asyncio.run(first())
    assert ack["seq"] == 2 and ack["duplicate"] is False
    server.stop()
    rows_before = stored_events(db, slug)

    server2 = start_havend(db).wait_healthy()

    async def second():
        observer = await Client.open(server2, slug, "observer")
        await observer.hello("Obs")
        await observer.join()
        a = await Client.open(server2, slug, "a")
        await a.hello("Ash", token=token)
        await a.join(after_seq=2)
        mark = len(observer.frames)
        again = await a.request({"type": "say", "client_msg_id": "same-id", "text": "retry"})
        assert again == {"type": "ack", "id": again["id"], "client_msg_id": "same-id",
                         "seq": 2, "duplicate": True}, again
        # Nothing is delivered for a duplicate: the next event anyone sees is seq 3.
        await a.say("next", "a new one")
        await observer.wait_for(lambda: observer.frames_of("event", mark)
                                or observer.frames_of("events", mark), what="next event")
        assert [e["seq"] for e in observer.stream if e["seq"] > 2] == [3]
        await a.close()
        await observer.close()

    asyncio.run(second())
    rows = stored_events(db, slug)
    assert rows[:2] == rows_before
    assert [(r[0], r[3], r[4]) for r in rows] == [
        (1, "warm-up", "hello"), (2, "same-id", "only once"), (3, "next", "a new one")]


# ---------------------------------------------------------------------------------------------
# 6. Participants


def test_participants_are_recorded(start_havend, db):
    server = start_havend(db).wait_healthy()
    slug = db.create_meeting("participants", "Participants")

    def rows():
        return db.query(
            "SELECT p.member_no, p.display_name, p.role, p.first_joined_at IS NOT NULL,"
            " p.last_left_at IS NOT NULL, p.attendee_id IS NOT NULL"
            " FROM participants p JOIN sessions s ON s.id = p.session_id"
            " JOIN meetings m ON m.id = s.meeting_id WHERE m.slug = %s ORDER BY member_no",
            (slug,))

    async def scenario():
        a = await Client.open(server, slug, "a")
        b = await Client.open(server, slug, "b")
        await a.hello("Ash")
        await b.hello("Bo")
        await a.join()
        await b.join()
        left = await b.request({"type": "leave"})
        assert left["type"] == "left", left
        await a.wait_for(lambda: any(f["type"] == "presence" and f["action"] == "leave"
                                     for f in a.frames), what="presence leave")
        # The rows are written asynchronously: allow a short wait, while a is still in.
        got = await asyncio.to_thread(
            wait_until, lambda: (r := rows()) and len(r) == 2 and r[1][4] and r, 5,
            what="two participant rows, b's with last_left_at")
        members = (a.member, b.member)
        await a.close()
        await b.close()
        return members, got

    (ma, mb), got = asyncio.run(scenario())
    assert (ma, mb) == (1, 2)
    assert got[0] == (ma, "Ash", "attendee", True, False, True)
    assert got[1] == (mb, "Bo", "attendee", True, True, True)


# ---------------------------------------------------------------------------------------------
# 6. The batching writer's merged statements


# Texts that an array literal must carry exactly: quotes, backslashes, braces, commas, the
# word NULL, blanks, newlines and characters outside ASCII.
TRICKY_TEXTS = ['say "hi"', "back\\slash", "{braces}", "a,b,c", "NULL", "null", "  spaced  ",
                "two\nlines", "tab\there", "\\\"both\\\"", "emoji \U0001F331 and é", "'single'",
                "{\"json\": [1, 2]}", "end\\"]


@pytest.mark.parametrize("batch_max", [3, 500])
def test_merged_batch_stores_exact_text_and_isolates_a_failure(start_havend, db, batch_max):
    """A burst queued behind a locked table goes out as merged multi-row INSERTs: every text
    comes back byte for byte, and one event the database refuses (a CHECK constraint added for
    the test) fails alone: its sender gets an error, every other event commits in order. With
    store.batch_max 3 the burst is cut into many merged statements at the limit."""
    server = start_havend(db, config=merged(NO_RATE_LIMIT, {"store": {"batch_max": batch_max}}))
    server.wait_healthy()
    slug = db.create_meeting("merged-batch", "Merged batches")
    db.execute("ALTER TABLE events ADD CONSTRAINT test_no_boom"
               " CHECK (body->>'text' IS DISTINCT FROM 'boom') NOT VALID")
    try:
        async def run():
            a = await Client.open(server, slug, "Ana")
            b = await Client.open(server, slug, "Ben")
            await a.hello("Ana")
            await b.hello("Ben")
            await a.join()
            await b.join()
            wait_until(lambda: db.scalar("SELECT count(*) FROM participants") == 2, 5,
                       what="participant rows")
            base = a.last_seq()
            # Hold the events table so the whole burst queues behind one blocked segment.
            blocker = db.connect(autocommit=False)
            cur = blocker.cursor()
            cur.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            texts = TRICKY_TEXTS + ["boom"] + [f"after {i}" for i in range(40)]
            start = len(a.frames)
            for i, t in enumerate(texts):
                await (a if i % 2 == 0 else b).say(f"m{i}", t)
            await asyncio.sleep(0.5)  # let every say reach the server's queue
            assert len(a.frames_of("event", start)) == 0 and not a.frames_of("events", start), \
                "events were delivered while their table was locked"
            blocker.rollback()
            blocker.close()
            mine = {0: a, 1: b}
            boom = texts.index("boom")
            boom_client = mine[boom % 2]
            await boom_client.wait_for(
                lambda: any(f["type"] == "error" for f in boom_client.frames[start:]), 15,
                what="the refused event's error")
            for k, c in mine.items():
                await c.wait_acks([f"m{i}" for i in range(len(texts)) if i % 2 == k and i != boom])
            await a.wait_for(lambda: len([e for e in a.stream if e["seq"] > base]) ==
                             len(texts) - 1, 10, what="every committed event")
            err = next(f for f in boom_client.frames[start:] if f["type"] == "error")
            assert err["code"] == "internal", err
            delivered = [(e["client_msg_id"], e.get("text")) for e in a.stream
                         if e["seq"] > base]
            for c in (a, b):
                c.check_valid()
                await c.close()
            return delivered
        delivered = asyncio.run(run())
    finally:
        db.execute("ALTER TABLE events DROP CONSTRAINT test_no_boom")
    assert "retrying one by one" in server.log_text(), "the refused event was not in a batch"
    texts = TRICKY_TEXTS + ["boom"] + [f"after {i}" for i in range(40)]
    expected = {f"m{i}": t for i, t in enumerate(texts) if t != "boom"}
    # Each connection's messages keep their order; the two interleave as they arrived.
    assert dict(delivered) == expected and len(delivered) == len(expected)
    for k in (0, 1):
        mine = [int(c[1:]) for c, _ in delivered if int(c[1:]) % 2 == k]
        assert mine == sorted(mine)
    rows = stored_events(db, slug)
    stored = [(r[3], r[4]) for r in rows if r[2] == "message"]
    assert stored == delivered
    # Seqs stay in order; the refused event's seq is never reused for another event.
    seqs = [r[0] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert db.scalar("SELECT count(*) FROM events WHERE ts_config IS NULL AND kind = 'message'"
                     " AND session_id = (SELECT s.id FROM sessions s JOIN meetings m"
                     " ON m.id = s.meeting_id WHERE m.slug = %s)", (slug,)) == 0
