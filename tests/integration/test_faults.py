"""Faults (issue 12), each checked for "nothing lost": every message a sender saw acknowledged
is in the events table exactly once and in seq order, and every client that resumed holds
exactly the stored sequence.

    test_database_stopped_10s_during_a_busy_meeting   PostgreSQL down for 10 s under load
    test_repeated_sigkill_under_load                  havend SIGKILLed three times; clients
                                                      resume and resend their outbox
    test_database_restart_during_a_retention_purge    pg_ctl restart while a purge runs
    test_database_disk_full                           the cluster's tmpfs fills up, then
                                                      space comes back

The helpers (RecordingClient, stored_events, ...) live in harness.py, shared with
test_durability_store.py.  Each test prints its figures (FAULT ...) for RELIABILITY.md.
"""

import asyncio
import json
import os
import shutil
import subprocess
import threading

import pytest
import websockets

import harness
from harness import (FAST_RECONNECT, NO_RATE_LIMIT, RecordingClient, assert_gapless,
                     assert_unique_client_ids, event_tuple, merged, stored_events, wait_until)

PACE = 0.05   # seconds between two says of one sender


class Member:
    """A person across connections: token, every event seen, acks, and the outbox of every
    (client_msg_id, text) meant to be sent, in order."""

    def __init__(self, name):
        self.name = name
        self.token = None
        self.stream = []
        self.acks = {}
        self.outbox = []
        self.member = None
        self.client = None
        self.resumes = 0

    async def connect(self, server, slug):
        """Connect (again): hello with the token, join after what was seen, resend the unacked."""
        c = await RecordingClient.open(server, slug, self.name)
        await c.hello(self.name, token=self.token)
        self.token = c.token
        last = self.stream[-1]["seq"] if self.stream else None
        await c.join(after_seq=last)
        if self.member is not None:
            assert c.member == self.member, "a resumed member got a new member number"
            self.resumes += 1
        self.member = c.member
        c.stream[:0] = self.stream
        c.assert_stream_gapless()
        c.acks = {**self.acks, **c.acks}
        self.client = c
        for cmid, text in self.outbox:
            if cmid not in c.acks:
                await c.say(cmid, text)
        return c

    def keep(self):
        """Take over what the connection saw (after it closed)."""
        c = self.client
        c.check_valid()
        c.assert_stream_gapless()
        self.stream = list(c.stream)
        self.acks = dict(c.acks)

    async def send_until(self, stop, pace=PACE):
        c = self.client
        while not stop.is_set() and not c.closed:
            cmid = f"{self.name}-{len(self.outbox)}"
            text = f"{self.name} says {len(self.outbox)}"
            self.outbox.append((cmid, text))
            try:
                await c.say(cmid, text)
            except websockets.ConnectionClosed:
                return
            await asyncio.sleep(pace)


def check_nothing_lost(database, slug, members):
    """The stored events against what every member sent, saw acked and holds.  Returns the
    number of messages checked."""
    rows = stored_events(database, slug)
    assert_gapless(rows)
    assert_unique_client_ids(rows)
    stored = {(r[1], r[3]): r[0] for r in rows if r[2] == "message"}
    sent = sum(len(m.outbox) for m in members)
    assert len(stored) == sent, f"{len(stored)} messages stored, {sent} sent"
    for m in members:
        seqs = []
        for cmid, _ in m.outbox:
            ack = m.client.acks.get(cmid)
            assert ack is not None, f"{m.name}: {cmid} never acked"
            assert stored[(m.member, cmid)] == ack["seq"], (m.name, cmid, ack)
            seqs.append(ack["seq"])
        assert seqs == sorted(seqs), f"{m.name}: seqs not in the order of sending"
        held = [event_tuple(e) for e in m.client.stream]
        assert held == [r[:5] for r in rows], f"{m.name} holds another sequence than stored"
    return sent


async def wait_all(members, total, timeout=30):
    for m in members:
        await m.client.wait_acks([c for c, _ in m.outbox], timeout=timeout)
    for m in members:
        await m.client.wait_for(lambda m=m: m.client.last_seq() >= total, timeout,
                                what=f"event {total}")
        m.client.assert_stream_gapless()


# ---------------------------------------------------------------------------------------------


def test_database_stopped_10s_during_a_busy_meeting(start_havend, private_pg):
    database = private_pg.create_database("busy_outage")
    server = start_havend(database, config=merged(FAST_RECONNECT, NO_RATE_LIMIT)).wait_healthy()
    slug = database.create_meeting("busy", "Busy meeting")
    senders = [Member(n) for n in ("Ash", "Bo", "Cy", "Di")]
    listener, resumer = Member("Lis"), Member("Res")
    everyone = senders + [listener, resumer]

    async def scenario():
        for m in everyone:
            await m.connect(server, slug)
        wait_until(lambda: database.scalar("SELECT count(*) FROM participants") == 6, 5,
                   what="participant rows")
        stop = asyncio.Event()
        tasks = [asyncio.get_running_loop().create_task(m.send_until(stop)) for m in senders]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(private_pg.stop)
        # One member loses its connection during the outage and comes back after it.
        await resumer.client.wait_for(lambda: resumer.client.frames_of("status"), 10,
                                      what="status paused")
        await resumer.client.close()
        resumer.keep()
        await asyncio.sleep(10)
        status, body = await asyncio.to_thread(server.health)
        assert status == 503 and body["database"]["queue_depth"] > 0, body
        queued = body["database"]["queue_depth"]
        await asyncio.to_thread(private_pg.start)
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*tasks)
        total = sum(len(m.outbox) for m in senders)
        await resumer.connect(server, slug)
        await wait_all(everyone, total)
        for m in everyone:
            statuses = [f["store"] for f in m.client.frames_of("status")]
            assert statuses in ([], ["ok"], ["paused", "ok"]), (m.name, statuses)
        return queued

    queued = asyncio.run(scenario())
    n = check_nothing_lost(database, slug, everyone)
    assert all(m.client.close_code is None for m in everyone), "someone was disconnected"
    print(f"\nFAULT database stopped 10 s: {n} messages checked, {queued} queued during the "
          f"outage, 1 member resumed, lost 0")


def test_repeated_sigkill_under_load(start_havend, db):
    slug = None   # the meeting is made once the first havend has made the schema
    members = [Member(n) for n in ("Ash", "Bo", "Cy")]
    kills = 3
    in_flight = []

    for cycle in range(kills + 1):
        server = start_havend(db, config=NO_RATE_LIMIT).wait_healthy()
        if slug is None:
            slug = db.create_meeting("kills", "SIGKILL meeting")

        async def run_cycle():
            for m in members:
                await m.connect(server, slug)
            if cycle == 0:
                wait_until(lambda: db.scalar("SELECT count(*) FROM participants") == 3, 5,
                           what="participant rows")
            stop = asyncio.Event()
            tasks = [asyncio.get_running_loop().create_task(m.send_until(stop, pace=0.005))
                     for m in members]
            if cycle < kills:
                await asyncio.sleep(1.5)
                await asyncio.to_thread(server.kill)
                await asyncio.gather(*tasks)
                for m in members:
                    await m.client.wait_closed()
                    m.keep()
                in_flight.append(sum(1 for m in members for c, _ in m.outbox
                                     if c not in m.acks))
                return None
            await asyncio.sleep(1.0)
            stop.set()
            await asyncio.gather(*tasks)
            total = sum(len(m.outbox) for m in members)
            await wait_all(members, total)
            return total

        total = asyncio.run(run_cycle())
        if cycle < kills:
            # Everything anyone saw before the kill is stored exactly as seen.
            rows = {r[0]: r[:5] for r in stored_events(db, slug)}
            for m in members:
                for e in m.stream:
                    assert rows.get(e["seq"]) == event_tuple(e), e
    n = check_nothing_lost(db, slug, members)
    assert sum(in_flight) > 0, "no kill found a message in flight: the test proved nothing"
    print(f"\nFAULT SIGKILL x{kills}: {n} messages checked ({total} in all), unacked at the "
          f"kills {in_flight} resent, {sum(m.resumes for m in members)} resumes, lost 0")


def test_database_restart_during_a_retention_purge(start_havend, private_pg, tmp_path):
    from transcript_help import PASSWORD, api, cli

    database = private_pg.create_database("purge_restart")
    database.migrate()
    due_sessions, per_session, kept_events = 4, 2000, 300
    database.execute("INSERT INTO meetings (slug, name, retention_days) VALUES"
                     " ('old', 'Old', 1), ('keep', 'Keep', 30), ('live', 'Live', 30)")
    for i in range(due_sessions + 1):
        meeting, age = ("old", 3) if i < due_sessions else ("keep", 3)
        sid = database.scalar(
            "INSERT INTO sessions (meeting_id, started_at, ended_at, phase)"
            " SELECT id, now() - make_interval(days => %s), now() - make_interval(days => %s)"
            " + interval '1 hour', 'closed' FROM meetings WHERE slug = %s RETURNING id",
            (age, age, meeting))
        database.execute("INSERT INTO participants (session_id, member_no, display_name, role,"
                         " first_joined_at) SELECT %s, g, 'P' || g, 'attendee', now()"
                         " FROM generate_series(1, 5) g", (sid,))
        n = per_session if meeting == "old" else kept_events
        database.execute("INSERT INTO events (session_id, seq, member_no, kind, body, created_at)"
                         " SELECT %s, g, 1 + g %% 5, 'message', jsonb_build_object('text',"
                         " 'words ' || g), now() - interval '3 days'"
                         " FROM generate_series(1, %s) g", (sid, n))
    kept_before = database.query("SELECT e.* FROM events e JOIN sessions s ON s.id ="
                                 " e.session_id JOIN meetings m ON m.id = s.meeting_id"
                                 " WHERE m.slug = 'keep' ORDER BY seq")
    cli(database, "user", "add", "root", "--admin", stdin=PASSWORD + "\n")
    config = merged(FAST_RECONNECT, NO_RATE_LIMIT,
                    {"transcripts": {"purge_batch": 2, "purge_interval_secs": 604800}})
    server = start_havend(database, config=config).wait_healthy()
    status, _, body = api(server, "POST", "/api/login",
                          body={"username": "root", "password": PASSWORD})
    assert status == 200, body
    token = body["token"]
    talker = Member("Tal")
    answers = []

    def purge():
        answers.append(api(server, "POST", "/api/admin/purge", token, timeout=60)[:3:2])

    async def scenario():
        await talker.connect(server, "live")
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(talker.send_until(stop, pace=0.05))
        t = threading.Thread(target=purge)
        t.start()
        # Restart once the purge is under way (some events gone, many left).
        total = due_sessions * per_session + kept_events
        await asyncio.to_thread(
            wait_until, lambda: database.scalar("SELECT count(*) FROM events") < total - 50, 20,
            0.02, "the purge under way")
        left_at_restart = database.scalar("SELECT count(*) FROM events e JOIN sessions s"
                                          " ON s.id = e.session_id WHERE s.purged_at IS NULL"
                                          " AND s.ended_at IS NOT NULL") - kept_events
        await asyncio.to_thread(private_pg.stop)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(private_pg.start)
        await asyncio.to_thread(t.join, 60)
        await asyncio.to_thread(server.wait_healthy, 15)
        # Run it again until a pass completes (the interrupted one answered 503, or finished).
        for _ in range(10):
            if answers[-1][0] == 200 and answers[-1][1]["sessions"] == 0:
                break
            await asyncio.to_thread(purge)
        stop.set()
        await task
        await wait_all([talker], len(talker.outbox))
        return left_at_restart

    left_at_restart = asyncio.run(scenario())
    assert left_at_restart > 0, "the purge was over before the restart: the test proved nothing"
    statuses = [a[0] for a in answers]
    assert statuses[-1] == 200 and answers[-1][1]["sessions"] == 0, answers
    assert set(statuses) <= {200, 503}, answers
    # Every due session purged, with the counts of before; nothing else touched.
    rows = database.query("SELECT s.attendee_count, s.message_count, s.purged_at IS NOT NULL,"
                          " (SELECT count(*) FROM events e WHERE e.session_id = s.id),"
                          " (SELECT count(*) FROM participants p WHERE p.session_id = s.id)"
                          " FROM sessions s JOIN meetings m ON m.id = s.meeting_id"
                          " WHERE m.slug = 'old'")
    assert rows == [(5, per_session, True, 0, 0)] * due_sessions, rows
    assert database.query("SELECT e.* FROM events e JOIN sessions s ON s.id = e.session_id"
                          " JOIN meetings m ON m.id = s.meeting_id WHERE m.slug = 'keep'"
                          " ORDER BY seq") == kept_before
    n = check_nothing_lost(database, "live", [talker])
    print(f"\nFAULT database restart during a purge: {left_at_restart} due events left at the "
          f"restart, purge answers {statuses}, {due_sessions} sessions purged with their counts, "
          f"{kept_events} kept events intact, {n} live messages checked, lost 0")


# ---------------------------------------------------------------------------------------------
# Disk full


def _mount_tmpfs(path, size):
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(path)], capture_output=True, text=True)
    return proc.returncode == 0, proc.stderr.strip()


def _fill(path):
    """Write zeros to path until the file system is full."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 512):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass


def _cluster_running(cluster):
    proc = cluster._run_as_owner([str(cluster.bindir / "pg_ctl"), "-D", str(cluster.data),
                                  "status"], check=False)
    return proc.returncode == 0


@pytest.fixture(scope="module")
def disk_full(tmp_path_factory):
    """One run of the scenario for the tests below: a cluster whose whole data directory
    (tables and WAL) is on a 160 MB tmpfs; havend on it with two members, Ash sending 50
    messages a second; the tmpfs is filled up for 5 s, then emptied again.  Yields
    (figures, database rows, members)."""
    if harness.pg_bindir() is None:
        pytest.skip("PostgreSQL server programs are not installed")
    if not harness.is_root():
        pytest.skip("mounting a small tmpfs for the cluster needs root")
    cluster = harness.PgCluster(name="diskfull")
    mnt = cluster.base / "small"
    mnt.mkdir()
    ok, why = _mount_tmpfs(mnt, "160m")
    if not ok:
        cluster.destroy()
        pytest.skip(f"cannot mount a tmpfs here: {why}")
    filler = mnt / "filler"
    server = None
    try:
        # The server log stays outside, so that it can still say what happens.
        shutil.copytree(cluster.data, mnt / "data", symlinks=True)
        cluster.data = mnt / "data"
        cluster.logfile = cluster.sockdir / "server.log"
        if cluster._owner:
            for root, dirs, files in os.walk(mnt):
                os.chown(root, *cluster._owner)
                for n in files:
                    os.chown(os.path.join(root, n), *cluster._owner)
        cluster.start()
        database = cluster.create_database("diskfull")
        server = harness.Havend(tmp_path_factory.mktemp("diskfull"), database.url,
                                config=merged(FAST_RECONNECT, NO_RATE_LIMIT))
        server.start()
        server.wait_healthy()
        yield _disk_full_scenario(server, cluster, database, filler)
        server.stop()
        server = None
    finally:
        if server is not None:
            server.kill()
        if filler.exists():
            filler.unlink()
        if cluster.running or (cluster.data / "postmaster.pid").exists():
            try:
                cluster.stop(mode="immediate")
            except Exception:  # noqa: BLE001 - it may have stopped by itself
                pass
        subprocess.run(["umount", str(mnt)], capture_output=True)
        cluster.destroy()


def _disk_full_scenario(server, cluster, database, filler):
    slug = database.create_meeting("full", "Disk full")
    a, b = Member("Ash"), Member("Bo")
    figures = {}

    async def scenario():
        for m in (a, b):
            await m.connect(server, slug)
        stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(a.send_until(stop, pace=0.02))
        await a.client.wait_for(lambda: a.client.last_seq() >= 20, 10, what="20 events")
        mark = len(a.client.frames)
        await asyncio.to_thread(_fill, filler)
        await asyncio.sleep(5)
        status, body = await asyncio.to_thread(server.health)
        figures["health_during"] = (status, body["status"], body["database"]["state"])
        figures["running_during"] = server.running
        stop.set()
        await task
        figures["frames_during"] = sorted({f.get("code") or f.get("store") or f["type"]
                                           for f in a.client.frames[mark:]
                                           if f["type"] in ("error", "status")})
        # Space comes back; the database recovers (restarted if it gave up); havend by itself.
        filler.unlink()
        if not _cluster_running(cluster):
            figures["pg_restarted"] = True
            await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(server.wait_healthy, 30)
        # Resend what was refused with an error, as a client would, and say more.
        refused = [(c, t) for c, t in a.outbox if c not in a.client.acks]
        figures["refused"] = len(refused)
        for cmid, text in refused:
            await a.client.say(cmid, text)
        for i in range(5):
            cmid, text = f"Ash-after-{i}", f"after {i}"
            a.outbox.append((cmid, text))
            await a.client.say(cmid, text)
        await a.client.wait_acks([c for c, _ in a.outbox], timeout=30)
        await b.client.wait_for(lambda: b.client.last_seq() >= a.client.last_seq(), 10,
                                what="Bo up to date")
        figures["sent"] = len(a.outbox)

    asyncio.run(scenario())
    rows = stored_events(database, slug)
    return figures, rows, (a, b)


def test_database_disk_full_no_crash_nothing_acked_lost(disk_full):
    """havend stays up while the database cannot write, and every message acked before,
    during and after is stored exactly once; it works again when space comes back."""
    figures, rows, (a, b) = disk_full
    print(f"\nFAULT disk full: {figures}, stored {len(rows)}")
    assert figures["running_during"]
    assert_unique_client_ids(rows)
    stored = {(r[1], r[3]): r[0] for r in rows}
    for cmid, _ in a.outbox:
        ack = a.client.acks[cmid]
        assert stored[(a.member, cmid)] == ack["seq"], (cmid, ack)
    assert figures["sent"] == len(stored)
    # The members were told something while writes failed.
    assert figures["frames_during"], figures


def test_database_disk_full_pauses_and_keeps_the_sequence(disk_full):
    """What the protocol promises when the database cannot write: members are told the
    store is paused (or store_unavailable), /healthz is degraded, and the seqs stay gapless
    for the stored events and every member's stream."""
    figures, rows, (a, b) = disk_full
    assert figures["health_during"][0] == 503, figures
    assert set(figures["frames_during"]) <= {"paused", "ok", "store_unavailable"}, figures
    assert_gapless(rows)
    for m in (a, b):
        m.client.assert_stream_gapless()
        assert [event_tuple(e) for e in m.client.stream] == [r[:5] for r in rows]
