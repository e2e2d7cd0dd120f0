"""A session's lifecycle (issue 8): the waiting room opens before the scheduled start, the
waiting room sees its state and learns when the session starts and ends, greeters write to
people waiting, a session ends by itself after its scheduled end once empty, and the chair,
the co-chairs, mutes and session roles survive a restart of havend.

One havend serves the module with rooms.waiting_opens_minutes 15, rooms.auto_end_minutes 0
and a 2 s reconnect grace period. Meetings are scheduled in UTC relative to the test's clock;
every server frame is validated against proto/schema by wsclient.
"""

import asyncio
import datetime
import time

import pytest

from test_chairing import accounts_site, admitted, arrive, cli, let_in, waiting
from wsclient import Meeting, run

GRACE_SECS = 2
OPENS_MINUTES = 15
CONFIG = {"rooms": {"reconnect_grace_secs": GRACE_SECS,
                    "waiting_opens_minutes": OPENS_MINUTES, "auto_end_minutes": 0}}
_slugs = iter(range(1, 1000))


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    yield from accounts_site(pg_cluster, tmp_path_factory, CONFIG, "lifecycle")


def ms(dt):
    return int(dt.timestamp() * 1000)


def meeting(site, start=None, minutes=60, roles=(("chloe", "chair"), ("casey", "co-chair"))):
    """A meeting with its roles; start (an aware datetime, whole seconds) schedules it once a
    week in UTC on that weekday."""
    slug = f"life{next(_slugs)}"
    if start is None:
        site.db.execute("INSERT INTO meetings(slug, name) VALUES (%s, %s)", (slug, slug))
    else:
        site.db.execute(
            "INSERT INTO meetings(slug, name, time_zone, days, start_time, duration_minutes)"
            " VALUES (%s, %s, 'UTC', %s, %s, %s)",
            (slug, slug, [start.isoweekday() % 7], start.time(), minutes))
    for user, role in roles:
        cli(site.db, "role", "grant", user, slug, role)
    return Meeting(site, slug)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


async def sees_waiting(c, timeout=5.0, **match):
    """Wait for a waiting frame without id whose fields match."""
    return await c.wait_for(
        lambda f: f["type"] == "waiting" and "id" not in f
        and all(f.get(k) == v for k, v in match.items()),
        timeout, f"waiting frame {match}")


def test_waiting_room_opens_before_the_start(site):
    start = utc_now() + datetime.timedelta(minutes=OPENS_MINUTES + 5)
    opens = ms(start) - OPENS_MINUTES * 60000
    m = meeting(site, start)
    tok = site.tokens

    async def scenario():
        # too early: told when it opens; the connection stays, a later join may work
        ash, r = await arrive(m, "Ash")
        before = time.time() * 1000
        assert r["type"] == "error" and r["code"] == "not_open_yet", r
        assert r["opens_at"] == opens and r["starts_at"] == ms(start)
        assert abs(r["retry_after_ms"] - (opens - before)) < 2000
        r = await ash.request({"type": "join"})
        assert r["code"] == "not_open_yet"
        await asyncio.sleep(0.3)  # the session row is older than the opening, measurably
        # the chair opens it early; the session starts then, not when Ash first knocked
        opened = time.time() * 1000
        chloe = await admitted(m, "Chloe", tok["chloe"])
        st = chloe.joined_frame["session"]["started_at"]
        assert opened - 50 <= st <= time.time() * 1000 + 50, (opened, st)
        assert chloe.joined_frame["state"]["phase"] == "waiting"
        row = site.db.query("SELECT (extract(epoch FROM started_at) * 1000)::bigint FROM "
                            "sessions s JOIN meetings m ON m.id = s.meeting_id "
                            "WHERE m.slug = %s AND ended_at IS NULL", (m.slug,))
        assert row == [(st,)]

        # now Ash waits, and sees the waiting room's state
        r = await ash.request({"type": "join"})
        assert r["type"] == "waiting", r
        assert r["phase"] == "waiting" and r["position"] == 1 and r["waiting"] == 1
        assert r["chair_present"] is True and r["auto_admit"] is False
        assert r["starts_at"] == ms(start)
        ash.member = r["you"]["member"]
        blake, r = await arrive(m, "Blake")
        assert r["type"] == "waiting" and r["position"] == 2 and r["waiting"] == 2
        blake.member = r["you"]["member"]
        await sees_waiting(ash, waiting=2, position=1)

        # the chair goes and comes back: the waiting room is told
        await chloe.close()
        await sees_waiting(ash, chair_present=False, waiting=2)
        await sees_waiting(blake, chair_present=False, position=2)
        chloe = await admitted(m, "Chloe", tok["chloe"])
        await sees_waiting(ash, chair_present=True)
        await chloe.ok({"type": "settings", "settings": {"auto_admit": True}})
        await sees_waiting(blake, auto_admit=True, phase="waiting")
        await chloe.ok({"type": "settings", "settings": {"auto_admit": False}})
        await sees_waiting(blake, auto_admit=False)

        # the start: those waiting learn it
        await chloe.ok({"type": "start"})
        await sees_waiting(ash, phase="open", position=1)
        await sees_waiting(blake, phase="open", position=2)
        await chloe.ok({"type": "admit", "member": ash.no})
        await let_in(ash)
        await sees_waiting(blake, position=1, waiting=1)

        # the end while waiting: told, then closed
        await chloe.ok({"type": "end"})
        await sees_waiting(blake, phase="closed")
        assert (await blake.wait_closed())[0] == 1000

    run(scenario())


def test_self_run_meeting_is_open_at_any_time(site):
    m = meeting(site, utc_now() + datetime.timedelta(hours=3), roles=())

    async def scenario():
        ash = await admitted(m, "Ash")
        assert ash.joined_frame["state"]["phase"] == "open"

    run(scenario())


def test_co_chair_opens_the_waiting_room(site):
    m = meeting(site, utc_now() + datetime.timedelta(hours=3))
    gwen_m = meeting(site, utc_now() + datetime.timedelta(hours=3),
                     roles=(("chloe", "chair"), ("gwen", "greeter")))

    async def scenario():
        # a greeter does not open it
        gwen, r = await arrive(gwen_m, "Gwen", site.tokens["gwen"])
        assert r["type"] == "error" and r["code"] == "not_open_yet"
        casey = await admitted(m, "Casey", site.tokens["casey"])
        ash, w = await waiting(m, "Ash")
        assert w["chair_present"] is True and w["phase"] == "waiting"
        await casey.ok({"type": "admit", "member": ash.no})
        await let_in(ash)

    run(scenario())


def test_greeter_welcomes_the_waiting_room(site):
    m = meeting(site, roles=(("chloe", "chair"), ("gwen", "greeter")))
    tok = site.tokens

    async def scenario():
        chloe = await admitted(m, "Chloe", tok["chloe"])
        gwen = await admitted(m, "Gwen", tok["gwen"])
        await chloe.ok({"type": "start"})
        cam, _ = await waiting(m, "Cam")
        await chloe.ok({"type": "admit", "member": cam.no})
        await let_in(cam)
        ash, _ = await waiting(m, "Ash")
        blake, _ = await waiting(m, "Blake")

        d = await gwen.ok({"type": "private", "to": ash.no, "text": "Welcome! First time?"})
        assert d["delivered"] == 1
        p = await ash.wait_type("private")
        assert p["kind"] == "direct" and p["from"] == gwen.ref() and p["to"] == ash.no
        assert p["text"] == "Welcome! First time?"
        # the reply from the waiting room goes to a greeter or above, nobody else
        d = await ash.ok({"type": "private", "to": gwen.no, "text": "Yes, a bit nervous."})
        assert d["delivered"] == 1
        p = await gwen.wait_type("private")
        assert p["from"] == {"member": ash.no, "name": "Ash"} and p["to"] == gwen.no
        await ash.refused({"type": "private", "to": blake.no, "text": "hi"}, "waiting_room")
        await ash.refused({"type": "private", "to": cam.no, "text": "hi"}, "waiting_room")
        # attendees do not write to the waiting room, even with direct messages on
        await chloe.ok({"type": "settings", "settings": {"dms": True}})
        f = await cam.refused({"type": "private", "to": ash.no, "text": "hi"}, "forbidden")
        assert f["field"] == "member"
        assert (await chloe.ok({"type": "private", "to": blake.no, "text": "Hello"}))[
            "delivered"] == 1
        assert (await blake.wait_type("private"))["from"] == chloe.ref()
        # a newcomer let in: the greeter writes to them there too
        await chloe.ok({"type": "admit", "member": ash.no})
        await let_in(ash)
        assert (await gwen.ok({"type": "private", "to": ash.no, "text": "Glad you came"}))[
            "delivered"] == 1
        assert (await ash.wait_type("private"))["text"] == "Glad you came"
        assert await cam.frames("private") == []
        kinds = {r[0] for r in site.db.query(
            "SELECT e.kind FROM events e JOIN sessions s ON s.id = e.session_id"
            " JOIN meetings m ON m.id = s.meeting_id WHERE m.slug = %s", (m.slug,))}
        assert "private" not in kinds

    run(scenario())


def test_session_ends_by_itself_once_empty(site):
    """Scheduled to end a few seconds from now, auto_end_minutes 0: once the last person let
    in has gone (and the grace period passed), the session ends: session_ended with reason
    auto and no author, the waiting room told and closed, the database updated."""
    end = utc_now() + datetime.timedelta(seconds=6)
    start = end - datetime.timedelta(minutes=5)
    m = meeting(site, start, minutes=5)
    tok = site.tokens

    async def scenario():
        chloe = await admitted(m, "Chloe", tok["chloe"])
        await chloe.ok({"type": "start"})
        ash, w = await waiting(m, "Ash")
        assert w["starts_at"] == ms(start)
        await chloe.ok({"type": "admit", "member": ash.no})
        await let_in(ash)
        blake, _ = await waiting(m, "Blake")
        session_id = chloe.joined_frame["session"]["id"]
        await ash.close()
        await chloe.close()
        left = time.time() * 1000
        await sees_waiting(blake, chair_present=False)
        await sees_waiting(blake, phase="closed", timeout=10)
        assert (await blake.wait_closed())[0] == 1000
        due = max(ms(end), left + GRACE_SECS * 1000)
        rows = site.db.query(
            "SELECT kind, member_no, body, (extract(epoch FROM created_at) * 1000)::bigint"
            " FROM events WHERE session_id = %s ORDER BY seq DESC LIMIT 1", (session_id,))
        kind, member_no, body, ts = rows[0]
        assert kind == "session_ended" and member_no is None and body == {"reason": "auto"}
        assert due - 100 <= ts <= due + 500, (ts - due)
        assert site.db.query("SELECT phase, ended_at IS NOT NULL FROM sessions WHERE id = %s",
                             (session_id,)) == [("closed", True)]

    run(scenario())


def test_stale_session_ends_at_load(site):
    """A session left open past its scheduled end while nobody was there ends when the meeting
    is next loaded, at the time it would have ended; the arrival gets a new session."""
    start = utc_now() - datetime.timedelta(minutes=10)
    m = meeting(site, start, minutes=5, roles=())
    end_ms = ms(start) + 5 * 60000
    old = site.db.scalar(
        "INSERT INTO sessions (meeting_id, started_at, phase)"
        " SELECT id, %s, 'open' FROM meetings WHERE slug = %s RETURNING id",
        (start + datetime.timedelta(minutes=1), m.slug))

    async def scenario():
        ash = await admitted(m, "Ash")
        assert ash.joined_frame["session"]["id"] != old
        assert ash.joined_frame["session"]["last_seq"] == 0

    run(scenario())
    rows = site.db.query(
        "SELECT e.seq, e.kind, e.member_no, e.body, s.phase,"
        " (extract(epoch FROM s.ended_at) * 1000)::bigint,"
        " (extract(epoch FROM e.created_at) * 1000)::bigint"
        " FROM sessions s JOIN events e ON e.session_id = s.id WHERE s.id = %s", (old,))
    assert rows == [(1, "session_ended", None, {"reason": "auto"}, "closed", end_ms, end_ms)]


def test_restart_keeps_the_chair_mutes_and_roles(site):
    """The chair holder, the line of co-chairs, mutes and session grants survive a restart;
    the chair waits for its holder for the grace period, then passes on."""
    m = meeting(site)
    tok = site.tokens
    nos = {}

    async def before():
        chloe = await admitted(m, "Chloe", tok["chloe"])
        casey = await admitted(m, "Casey", tok["casey"])
        await chloe.ok({"type": "start"})
        await chloe.ok({"type": "settings", "settings": {"auto_admit": True}})
        ash = await admitted(m, "Ash")
        blake = await admitted(m, "Blake")
        cam = await admitted(m, "Cam")
        await chloe.ok({"type": "mute", "member": ash.no, "muted": True})
        await chloe.ok({"type": "grant", "member": blake.no, "role": "co-chair"})
        await chloe.ok({"type": "hand_over", "member": casey.no})
        await chloe.ok({"type": "settings", "settings": {"auto_admit": False}})
        st = await ash.state()
        assert st["chair"] == casey.no and st["cochairs"] == [blake.no, chloe.no]
        assert st["muted"] == [ash.no]
        nos.update(chloe=chloe.no, casey=casey.no, ash=ash.no, blake=blake.no,
                   ash_token=ash.token, blake_token=blake.token, cam_token=cam.token)
        # a restart with everyone connected: the server closes them all (1001)
        await asyncio.get_running_loop().run_in_executor(None, site.stop)

    async def after():
        # the chair account is back first, within the grace period: the chair waits for
        # its holder
        chloe = await admitted(m, "Chloe", tok["chloe"])
        j = chloe.joined_frame
        assert j["you"]["role"] == "co-chair"
        assert j["state"]["chair"] == nos["casey"]
        assert j["state"]["cochairs"] == [nos["blake"], nos["chloe"]]
        assert j["state"]["muted"] == [nos["ash"]]
        # let in before the restart and back within the grace period: no waiting room
        ash = await admitted(m, "Ash", nos["ash_token"])
        await ash.refused({"type": "say", "client_msg_id": "a1", "text": "hi"}, "muted")
        # the holder is not back after the grace period: the next arrival finds the chair
        # passed on, to the first co-chair in line who is here
        mark = ash.cursor
        await asyncio.sleep(GRACE_SECS + 0.3)
        blake = await admitted(m, "Blake", nos["blake_token"])
        assert blake.joined_frame["you"]["role"] == "co-chair"  # the session grant
        e = await ash.see("chair_taken", after=mark)
        assert e["target"]["member"] == nos["chloe"] and e["reason"] and "from" not in e
        st = await ash.state()
        assert st["chair"] == nos["chloe"] and st["cochairs"] == [nos["blake"]]
        await blake.ok({"type": "topic", "text": "Acceptance"})
        # an attendee back after the grace period goes through the waiting room
        cam, _ = await waiting(m, "Cam", nos["cam_token"])
        await blake.ok({"type": "admit", "member": cam.no})
        await let_in(cam)
        casey = await admitted(m, "Casey", tok["casey"])
        assert casey.joined_frame["you"]["role"] == "co-chair"

    run(before())
    site.start()
    site.wait_healthy()
    run(after())
