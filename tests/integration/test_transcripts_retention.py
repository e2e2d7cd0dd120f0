"""Retention (issue 9): the purge deletes the events of ended sessions older than their
meeting's retention_days, in batches, and keeps only the counts of people and messages on the
session; newer sessions and live ones are left alone.  POST /api/admin/purge runs one pass
now (admins only); the timer runs it every transcripts.purge_interval_secs."""

import json

import pytest

import harness
from transcript_help import (TClient, api, arrive, check, end_session, get, new_meeting,
                             open_session, site as make_site)
from wsclient import run

BATCH = 3


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    yield from make_site(pg_cluster, tmp_path_factory, "transcripts_retention",
                         config={"transcripts": {"purge_batch": BATCH}})


def snapshot(db, sid):
    return {
        "events": db.query("SELECT * FROM events WHERE session_id = %s ORDER BY seq", (sid,)),
        "participants": db.query("SELECT * FROM participants WHERE session_id = %s"
                                 " ORDER BY member_no", (sid,)),
        "session": db.query("SELECT attendee_count, message_count, purged_at, topic"
                            " FROM sessions WHERE id = %s", (sid,))[0],
    }


def age(db, sid, days):
    db.execute("UPDATE sessions SET started_at = started_at - make_interval(days => %s),"
               " ended_at = ended_at - make_interval(days => %s) WHERE id = %s",
               (days, days, sid))


def purge(site, token):
    return api(site, "POST", "/api/admin/purge", token)


async def meeting_with(m, site, people, words, end=True):
    chloe = await open_session(m, site.tokens["chloe"])
    await chloe.ok({"type": "topic", "text": "Words of the session"})
    clients = [await arrive(m, p) for p in people]
    for i, w in enumerate(words):
        await clients[i % len(clients)].post(w)
    if not end:
        for c in (chloe, *clients):
            await c.close()
        return chloe.joined_frame["session"]["id"]
    return await end_session(m, chloe, *clients)


def test_purge_removes_exactly_what_is_due(site):
    week = new_meeting(site, retention=7, readers="anyone")
    zero = new_meeting(site, retention=0, readers="anyone")
    live = new_meeting(site, retention=0, readers="anyone")
    s = {}

    async def scenario():
        s["old"] = await meeting_with(week, site, ["Ana", "Ben"],
                                      [f"Old words {i}" for i in range(7)])
        s["recent"] = await meeting_with(week, site, ["Cal"], ["Recent words"])
        s["zero"] = await meeting_with(zero, site, ["Dee"], ["Zero words", "More zero words"])
        s["live"] = await meeting_with(live, site, ["Eve"], ["Live words"], end=False)

    run(scenario(), timeout=90)
    db = site.db
    # everyone's leaving is written too, before the snapshots
    harness.wait_until(lambda: not db.scalar(
        "SELECT count(*) FROM participants WHERE session_id = ANY(%s) AND last_left_at IS NULL",
        (list(s.values()),)), 10, what="the leaving of everyone")
    age(db, s["old"], 10)        # ended 10 days ago, retention 7: due
    age(db, s["recent"], 3)      # 3 days ago, retention 7: kept
    age(db, s["live"], 30)       # started 30 days ago and never ended: kept
    before = {k: snapshot(db, v) for k, v in s.items()}
    assert before["live"]["session"][2] is None
    assert db.scalar("SELECT ended_at FROM sessions WHERE id = %s", (s["live"],)) is None

    status, _, counts = purge(site, site.tokens["root"])
    assert status == 200, counts
    check(counts, "PurgeCounts")
    due = ("old", "zero")
    assert counts == {
        "sessions": 2,
        "events": sum(len(before[k]["events"]) for k in due),
        "participants": sum(len(before[k]["participants"]) for k in due),
    }
    for k in due:
        after = snapshot(db, s[k])
        assert after["events"] == [] and after["participants"] == []
        attendees, messages, purged_at, topic = after["session"]
        assert attendees == len(before[k]["participants"])
        assert messages == sum(1 for e in before[k]["events"] if e[3] == "message")
        assert purged_at is not None and topic is None
    for k in ("recent", "live"):
        assert snapshot(db, s[k]) == before[k]
    assert "Old words" not in str(db.query("SELECT * FROM events"))

    # what readers see afterwards: the session and its counts, no words
    _, _, listing = get(site, f"/api/meetings/{week.slug}/sessions")
    check(listing, "SessionList")
    old = next(x for x in listing["sessions"] if x["id"] == s["old"])
    assert old["purged"] is True and old["attendee_count"] == 3 and old["message_count"] == 7
    recent = next(x for x in listing["sessions"] if x["id"] == s["recent"])
    assert recent["purged"] is False and recent["message_count"] == 1
    status, _, page = get(site, f"/api/sessions/{s['old']}/transcript")
    assert status == 200 and page["blocks"] == [] and page["session"]["purged"] is True
    _, _, text = get(site, f"/api/sessions/{s['old']}/export.txt")
    assert "were deleted when the time the group keeps them ran out" in text
    assert "3 people, 7 messages" in text
    assert get(site, "/api/search", q="old words")[2]["results"] == []
    assert len(get(site, "/api/search", q="recent words")[2]["results"]) == 1

    # nothing more is due
    status, _, counts = purge(site, site.tokens["root"])
    assert status == 200 and counts == {"sessions": 0, "events": 0, "participants": 0}
    # the recent one becomes due once it is older than the retention
    age(db, s["recent"], 5)
    status, _, counts = purge(site, site.tokens["root"])
    assert counts["sessions"] == 1
    assert snapshot(db, s["recent"])["events"] == []
    assert snapshot(db, s["live"]) == before["live"]
    assert "retention purge: 2 sessions" in site.log_text()


def test_only_admins_may_purge(site):
    assert purge(site, None)[0] == 401
    for user in ("chloe", "casey", "acct"):
        status, _, body = purge(site, site.tokens[user])
        assert status == 403 and body["error"] == "forbidden"
    m = new_meeting(site)

    async def attendee():
        c = await TClient.connect(m, label="Flo")
        await c.hello("Flo")
        return c.token

    token = run(attendee(), timeout=30)
    assert purge(site, token)[0] == 403
    assert api(site, "GET", "/api/admin/purge", site.tokens["root"])[0] == 405


def test_the_timer_purges_by_itself(start_havend, db):
    """With purge_interval_secs 10 the first pass runs after 10 s, on its own."""
    db.migrate()
    db.execute("INSERT INTO meetings (slug, name, retention_days) VALUES ('t', 'T', 1)")
    sid = db.scalar("INSERT INTO sessions (meeting_id, started_at, ended_at, phase)"
                    " SELECT id, now() - interval '3 days', now() - interval '2 days', 'closed'"
                    " FROM meetings RETURNING id")
    db.execute("INSERT INTO participants (session_id, member_no, display_name, role,"
               " first_joined_at) VALUES (%s, 1, 'Gus', 'attendee', now())", (sid,))
    for seq in range(1, 6):
        db.execute("INSERT INTO events (session_id, seq, member_no, kind, body, created_at)"
                   " VALUES (%s, %s, 1, 'message', %s, now() - interval '2 days')",
                   (sid, seq, json.dumps({"text": f"timer words {seq}"})))
    server = start_havend(db, config={"transcripts": {"purge_interval_secs": 10,
                                                      "purge_batch": 2}})
    server.wait_healthy()
    harness.wait_until(
        lambda: db.scalar("SELECT purged_at IS NOT NULL FROM sessions WHERE id = %s", (sid,)),
        30, interval=0.5, what="the timer's purge")
    assert db.scalar("SELECT count(*) FROM events") == 0
    assert db.query("SELECT attendee_count, message_count FROM sessions") == [(1, 5)]
    assert "retention purge: 1 sessions, 5 events, 1 participants" in server.log_text()
    assert "timer words" not in server.log_text()
