"""Chairing a session (issue 8) and who may do what (issue 6), against the real havend.

One havend serves the module (rate limit out of the way, a short reconnect grace period); every
test has meetings of its own. Chair, co-chair, greeter and admin are accounts made with
`havend user add` and `havend role grant`, logged in with POST /api/login; attendees and
visitors are anonymous. Every server frame is validated against proto/schema (wsclient does
it on receipt), and each connection's event stream is checked for order without gaps.

The scripted meeting follows the issue: a chair, a co-chair and six attendees from the
waiting room to the close. A second havend keeps only 16 events of a session in memory, for
deletes of messages that are only in the database.

Tests marked xfail (strict) state behaviour PROTOCOL.md documents that the server does not
have yet: each is a server bug, and its reason says where. They pass once it is fixed; then
drop the mark.
"""

import asyncio
import contextlib
import http.client
import itertools
import json
import subprocess
import time

import pytest

import harness
from wsclient import Client, Meeting, events_of, module_server, run

PASSWORD = "a calm and long passphrase"
GRACE_SECS = 2
CONFIG = {"rooms": {"reconnect_grace_secs": GRACE_SECS}}
READINGS = [
    {"title": "Who is an addict?", "text": "Most of us do not have to think twice about this."},
    {"title": "The Twelve Steps", "text": "We admitted that we were powerless."},
    {"title": "Just for today", "text": "Just for today my thoughts will be on my recovery."},
]
TIMING_TOLERANCE_MS = 100

# The module's accounts and their `havend user add` flags. Their meeting roles are given per
# meeting: by default chloe is the chair and casey a co-chair; gwen is a greeter where a test
# says so; root is a server admin.
ACCOUNTS = {"chloe": (), "casey": (), "gwen": (), "root": ("--admin",)}


# ---------------------------------------------------------------------------------------------
# Set-up


def cli(db, *args, stdin=""):
    proc = subprocess.run(
        [str(harness.havend_binary()), *args, "--database-url", db.url],
        input=stdin, capture_output=True, text=True, timeout=60, env=harness.clean_env())
    assert not harness.sanitizer_reports(proc.stderr), proc.stderr
    assert proc.returncode == 0, f"havend {' '.join(args)}: {proc.stderr}"
    return proc


def login(server, username):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/api/login",
                 body=json.dumps({"username": username, "password": PASSWORD}),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = json.loads(resp.read().decode())
    conn.close()
    assert resp.status == 200, body
    return body["token"]


def accounts_site(pg_cluster, tmp_path_factory, config, name):
    """Generator for a module fixture: a module_server with config whose ACCOUNTS exist and
    are logged in (server.tokens: user -> login token)."""
    gen = module_server(pg_cluster, tmp_path_factory, config, name=name)
    server = next(gen)
    try:
        for user, flags in ACCOUNTS.items():
            cli(server.db, "user", "add", user, *flags, stdin=PASSWORD + "\n")
        server.tokens = {user: login(server, user) for user in ACCOUNTS}
        yield server
    finally:
        gen.close()


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    yield from accounts_site(pg_cluster, tmp_path_factory, CONFIG, "chairing")


_slugs = itertools.count(1)


def meeting(site, roles=(("chloe", "chair"), ("casey", "co-chair")), types=("O", "D"),
            limit=30, fmt=READINGS):
    """A new meeting with its roles; returns a wsclient.Meeting for it."""
    slug = f"chair{next(_slugs)}"
    site.db.execute(
        "INSERT INTO meetings(slug, name, types, share_time_limit_secs, format)"
        " VALUES (%s, %s, %s, %s, %s::jsonb)",
        (slug, f"Meeting {slug}", list(types), limit, json.dumps(fmt)))
    for user, role in roles:
        cli(site.db, "role", "grant", user, slug, role)
    return Meeting(site, slug)


# ---------------------------------------------------------------------------------------------
# A client that knows the waiting room


class Member(Client):
    """A wsclient.Client that also follows the waiting room (a `waiting` frame ends the event
    stream until the next `joined`) and notes when each event arrived (ms, local clock)."""

    def __init__(self, ws, label=None):
        super().__init__(ws, label)
        self.recv_at = {}

    def _track(self, frame):
        if frame["type"] == "waiting":
            self.cursor = None
            self.catching_up = False
        elif frame["type"] in ("joined", "state"):
            self.last_state = frame["state"]
        super()._track(frame)

    async def _recv_raw(self, timeout):
        frame = await super()._recv_raw(timeout)
        now = time.time() * 1000
        for e in events_of(frame):
            self.recv_at.setdefault(e["seq"], now)
        return frame

    @property
    def no(self):
        return self.member

    def ref(self):
        return {"member": self.member, "name": self.joined_frame["you"]["name"]}

    async def ok(self, obj, timeout=10.0):
        """A request that must be answered with done; returns it."""
        f = await self.request(obj, timeout)
        assert f["type"] == "done", f"{self.label}: {obj} -> {f}"
        return f

    async def refused(self, obj, code, timeout=10.0):
        f = await self.request(obj, timeout)
        assert f["type"] == "error" and f["code"] == code, \
            f"{self.label}: {obj} -> {f}, expected {code}"
        return f

    async def see(self, kind, timeout=10.0, after=0, **match):
        """The first event of this kind (with seq > after and the fields given) in the
        stream, waiting for it if need be."""
        def find():
            for e in self.events:
                if e["seq"] > after and e["kind"] == kind and \
                        all(e.get(k) == v for k, v in match.items()):
                    return e
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (found := find()) is None:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"{self.label}: no {kind} event {match} after seq "
                                     f"{after} within {timeout} s; events: {self.events[-8:]}")
            try:
                self.inbox.append(await self._recv_raw(left))
            except asyncio.TimeoutError:
                pass
        return found

    async def frames(self, type_):
        """Round trip a ping; every frame of this type that came before the pong (consumed)."""
        before = await self.sync()
        keep = [f for f in before if f["type"] != type_]
        self.inbox.extend(keep)
        return [f for f in before if f["type"] == type_]

    async def state(self):
        """The newest state this connection has (from joined or a state frame), after a
        round trip."""
        await self.frames("state")
        return self.last_state


async def arrive(m, name, token=None, visitor=None):
    """Connect, hello and join: (client, the join's reply: joined, waiting or error)."""
    c = await Member.connect(m, label=name)
    await c.hello(name, token=token, visitor=visitor)
    reply = await c.request({"type": "join"})
    return c, reply


async def admitted(m, name, token=None, visitor=None):
    c, reply = await arrive(m, name, token, visitor)
    assert reply["type"] == "joined", f"{name}: {reply}"
    return c


async def waiting(m, name, token=None, visitor=None):
    c, reply = await arrive(m, name, token, visitor)
    assert reply["type"] == "waiting", f"{name}: {reply}"
    assert reply["you"]["name"] == name
    c.member = reply["you"]["member"]
    return c, reply


async def let_in(c):
    """Wait for the joined frame that lets a waiting client in; the waiting room's updates
    that came before it are done with."""
    f = await c.wait_type("joined")
    assert "id" not in f
    for x in [x for x in c.inbox if x["type"] == "waiting"]:
        c.inbox.remove(x)
    return f


@contextlib.asynccontextmanager
async def pumping(c):
    """Read c's frames continuously (so that their arrival times are exact) while inside."""
    async def pump():
        while True:
            c.inbox.append(await c._recv_raw(3600))
    task = asyncio.ensure_future(pump())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def seen(c, seq, timeout=2.0):
    """Wait until c (being pumped) has received the event seq."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while seq not in c.recv_at:
        assert loop.time() < deadline, f"{c.label}: event {seq} not received"
        await asyncio.sleep(0.01)


def near(actual, expected, what):
    assert abs(actual - expected) <= TIMING_TOLERANCE_MS, \
        f"{what}: {actual:.0f} ms, expected {expected} ms +- {TIMING_TOLERANCE_MS}"


def stored_events(db, slug):
    """(seq, member_no, kind, body) of the meeting's stored events, all sessions, by seq."""
    return db.query(
        "SELECT e.seq, e.member_no, e.kind, e.body FROM events e"
        " JOIN sessions s ON s.id = e.session_id JOIN meetings m ON m.id = s.meeting_id"
        " WHERE m.slug = %s ORDER BY s.id, e.seq", (slug,))


def stored_text(db, slug):
    return "\n".join(json.dumps(r[3]) for r in stored_events(db, slug))


def names(members):
    return [x["name"] for x in members]


# ---------------------------------------------------------------------------------------------
# The scripted meeting


def test_scripted_meeting(site):
    m = meeting(site)
    tok = site.tokens

    async def scenario():
        # -- the waiting room, before the chair starts the session
        ash, w = await waiting(m, "Ash")
        assert w["phase"] == "waiting" and w["you"]["role"] == "attendee"
        assert w["meeting"]["slug"] == m.slug
        assert w["meeting"]["format_titles"] == [r["title"] for r in READINGS]
        assert w["meeting"]["closed"] is False
        assert w["meeting"]["records"] == {"kept": True, "retention_days": 30,
                                           "readers": "chairs"}
        await ash.refused({"type": "say", "client_msg_id": "w1", "text": "hello?"},
                          "waiting_room")
        await ash.refused({"type": "hand", "raised": True}, "waiting_room")
        # nobody to read it yet
        assert (await ash.ok({"type": "private", "to": "chairs", "text": "anyone there?"}))[
            "delivered"] == 0

        chloe = await admitted(m, "Chloe", tok["chloe"])
        j = chloe.joined_frame
        assert j["you"]["role"] == "chair"
        assert j["state"]["phase"] == "waiting" and j["state"]["chair"] == chloe.no
        assert j["meeting"]["format_titles"] == [r["title"] for r in READINGS]
        taken = await chloe.see("chair_taken")
        assert taken["target"] == chloe.ref() and "from" not in taken
        wr = await chloe.wait_type("waiting_room")
        assert names(wr["members"]) == ["Ash"]

        casey = await admitted(m, "Casey", tok["casey"])
        assert casey.joined_frame["you"]["role"] == "co-chair"
        assert casey.joined_frame["state"]["cochairs"] == [casey.no]
        attendees = {"Ash": ash}
        for name in ("Blake", "Cam", "Dana", "Eli", "Fran"):
            attendees[name], w = await waiting(m, name)
        blake, cam, dana, eli, fran = (attendees[n] for n in ("Blake", "Cam", "Dana", "Eli",
                                                               "Fran"))
        await chloe.wait_for(lambda f: f["type"] == "waiting_room" and len(f["members"]) == 6,
                             what="waiting room of six")
        await casey.wait_for(lambda f: f["type"] == "waiting_room" and len(f["members"]) == 6,
                             what="waiting room of six")

        # a word to the chairs from the waiting room reaches the chair and the co-chair only
        d = await blake.ok({"type": "private", "to": "chairs", "text": "May I just listen?"})
        assert d["delivered"] == 2 and "seq" not in d
        for c in (chloe, casey):
            p = await c.wait_type("private")
            assert p["kind"] == "to_chairs" and p["from"] == {"member": blake.no,
                                                              "name": "Blake"}
            assert p["text"] == "May I just listen?" and "to" not in p

        # admit one
        d = await chloe.ok({"type": "admit", "member": ash.no})
        assert d["seq"] >= 1
        await let_in(ash)
        assert ash.joined_frame["state"]["phase"] == "waiting"
        e = await chloe.see("admitted")
        assert e["seq"] == d["seq"] and e["target"] == ash.ref() and e["from"] == chloe.ref()
        await ash.see("admitted")
        await chloe.refused({"type": "admit", "member": ash.no}, "not_found")

        # start, then admit everyone
        d = await chloe.ok({"type": "start"})
        started = await casey.see("session_started")
        assert started["seq"] == d["seq"] and started["from"] == chloe.ref()
        assert (await casey.state())["phase"] == "open"
        await chloe.refused({"type": "start"}, "already_open")
        d = await chloe.ok({"type": "admit", "all": True})
        assert "seq" not in d
        for c in (blake, cam, dana, eli, fran):
            f = await let_in(c)
            assert f["state"]["phase"] == "open"
            assert f["you"]["role"] == "attendee"
        e = await fran.see("admitted_all")
        assert e["count"] == 5 and e["from"] == chloe.ref()
        everyone = [chloe, casey, ash, blake, cam, dana, eli, fran]
        assert len(fran.joined_frame["members"]) >= 3

        # -- every privileged command tried by an attendee is refused and changes nothing
        said = await ash.say_ok("Glad to be here.")
        await chloe.wait_seq(said["seq"])
        mark = chloe.cursor
        before = await chloe.state()
        for probe in (
                {"type": "start"}, {"type": "end"},
                {"type": "admit", "member": ash.no}, {"type": "admit", "all": True},
                {"type": "send_to_waiting", "member": ash.no},
                {"type": "settings", "settings": {"locked": True}},
                {"type": "call"}, {"type": "call", "member": cam.no},
                {"type": "reading", "action": "next"}, {"type": "topic", "text": "Mine"},
                {"type": "mute", "member": ash.no, "muted": True},
                {"type": "remove", "member": ash.no, "ban": "forever"},
                {"type": "delete", "seq": said["seq"]},
                {"type": "grant", "member": cam.no, "role": "co-chair"},
                {"type": "hand_over", "member": cam.no},
                {"type": "vote_open", "question": "Pizza?", "options": ["yes", "no"]},
                {"type": "private", "to": ash.no, "text": "psst"}):
            await cam.refused(probe, "forbidden")
        await chloe.sync()
        assert chloe.cursor == mark and await chloe.state() == before

        # -- the format: next, next, previous, skip, next, and no more
        mark = chloe.cursor
        await chloe.ok({"type": "reading", "action": "next"})
        await chloe.ok({"type": "reading", "action": "next"})
        await casey.ok({"type": "reading", "action": "previous"})
        await chloe.ok({"type": "reading", "action": "skip"})
        last = await chloe.ok({"type": "reading", "action": "next"})
        await chloe.refused({"type": "reading", "action": "next"}, "not_found")
        await fran.wait_seq(last["seq"])
        got = [(e["kind"], e["index"], e["title"], e.get("text"))
               for e in fran.events if e["seq"] > mark and e["kind"].startswith("reading")]
        r = READINGS
        assert got == [("reading", 0, r[0]["title"], r[0]["text"]),
                       ("reading", 1, r[1]["title"], r[1]["text"]),
                       ("reading", 0, r[0]["title"], r[0]["text"]),
                       ("reading_skipped", 1, r[1]["title"], None),
                       ("reading", 2, r[2]["title"], r[2]["text"])]
        st = await fran.state()
        assert st["reading"] == 2 and st["readings"] == 3

        d = await casey.ok({"type": "topic", "text": "Gratitude"})
        assert (await fran.see("topic"))["text"] == "Gratitude"

        # -- hands and shares with a 3 s limit
        d = await chloe.ok({"type": "settings", "settings": {"share_limit_secs": 3}})
        e = await fran.see("settings_changed", after=d["seq"] - 1)
        assert e["settings"] == {"share_limit_secs": 3} and e["from"] == chloe.ref()
        assert (await fran.state())["settings"]["share_limit_secs"] == 3

        mark = chloe.cursor
        assert "seq" not in await blake.ok({"type": "say", "client_msg_id": "h1", "text": "!"})
        await cam.ok({"type": "hand", "raised": True})
        await dana.ok({"type": "say", "client_msg_id": "h2", "text": " ! "})
        await eli.ok({"type": "hand", "raised": True})
        await blake.ok({"type": "hand", "raised": True})  # already raised: no change
        await cam.ok({"type": "hand", "raised": False})
        await cam.ok({"type": "hand", "raised": True})
        assert names((await fran.state())["queue"]) == ["Blake", "Dana", "Eli", "Cam"]
        assert names((await chloe.state())["queue"]) == ["Blake", "Dana", "Eli", "Cam"]
        await chloe.sync()
        assert chloe.cursor == mark, "a raised hand is not an event"

        # share 1: the first hand; the time events on time; no crosstalk
        async with pumping(fran):
            d = await chloe.ok({"type": "call"})
            assert "seq" not in d
            s1 = await chloe.see("share_started", after=mark)
            assert s1["target"] == blake.ref() and s1["limit_secs"] == 3
            assert s1["from"] == chloe.ref()
            st = await chloe.state()
            assert st["sharing"]["member"] == blake.ref()
            assert abs(st["sharing"]["started_at"] - s1["ts"]) <= 5
            assert names(st["queue"]) == ["Dana", "Eli", "Cam"]
            await cam.refused({"type": "say", "client_msg_id": "x1", "text": "me too!"},
                              "no_crosstalk")
            await cam.ok({"type": "hand", "raised": False})
            await cam.ok({"type": "hand", "raised": True})  # hands are not posts
            await casey.say_ok("Thank you Blake.")
            await blake.say_ok("Hi, I'm Blake. Grateful to be here today.")
            await blake.refused({"type": "end_share", "member": 3}, "bad_field")
            warn = await chloe.see("share_time_warning", after=s1["seq"])
            up = await chloe.see("share_time_up", after=s1["seq"])
            assert warn["target"] == up["target"] == blake.ref()
            assert "from" not in warn and "from" not in up
            assert warn["remaining_secs"] == 2  # 1.5 s left, rounded up
            await seen(fran, up["seq"])
        near(warn["ts"] - s1["ts"], 1500, "warning after share_started (server ts)")
        near(up["ts"] - s1["ts"], 3000, "time up after share_started (server ts)")
        t0 = fran.recv_at[s1["seq"]]
        near(fran.recv_at[warn["seq"]] - t0, 1500, "warning after share_started (received)")
        near(fran.recv_at[up["seq"]] - t0, 3000, "time up after share_started (received)")
        near(fran.recv_at[warn["seq"]] - s1["ts"], 1500, "warning received after share ts")
        near(fran.recv_at[up["seq"]] - s1["ts"], 3000, "time up received after share ts")
        # the share goes on past the limit until it ends: here the sharer's own button
        assert (await chloe.state())["sharing"]["member"] == blake.ref()
        d = await blake.ok({"type": "end_share"})
        e = await chloe.see("share_ended", after=up["seq"])
        assert e["target"] == blake.ref() and e["reason"] == "done" and e["from"] == blake.ref()
        assert e["duration_ms"] >= 3000
        assert (await chloe.state())["sharing"] is None
        await dana.say_ok("Between shares anyone may post.")

        # share 2: a chosen member; share 3 by "next" while share 2 runs
        await chloe.ok({"type": "call", "member": eli.no})
        e = await chloe.see("share_started", target=eli.ref())
        assert names((await chloe.state())["queue"]) == ["Dana", "Cam"]
        await chloe.ok({"type": "call"})
        e2 = await chloe.see("share_ended", after=e["seq"])
        assert e2["target"] == eli.ref() and e2["reason"] == "next" and e2["from"] == chloe.ref()
        e3 = await chloe.see("share_started", after=e2["seq"])
        assert e3["target"] == dana.ref()
        await chloe.say_ok("Chairs may post during a share.")
        await eli.refused({"type": "say", "client_msg_id": "x2", "text": "wait"}, "no_crosstalk")
        # share 3 ended by the co-chair
        await casey.ok({"type": "end_share"})
        e = await chloe.see("share_ended", after=e3["seq"])
        assert e["target"] == dana.ref() and e["reason"] == "chair" and e["from"] == casey.ref()
        await chloe.refused({"type": "end_share"}, "not_found")

        # share 4: ends by itself at the limit
        d = await chloe.ok({"type": "settings", "settings": {"end_share_at_limit": True}})
        async with pumping(fran):
            await chloe.ok({"type": "call"})
            s4 = await chloe.see("share_started", after=d["seq"])
            assert s4["target"] == cam.ref()
            end = await chloe.see("share_ended", after=s4["seq"], timeout=6)
            warn = await chloe.see("share_time_warning", after=s4["seq"])
            up = await chloe.see("share_time_up", after=s4["seq"])
            await seen(fran, end["seq"])
        assert end["target"] == cam.ref() and end["reason"] == "time" and "from" not in end
        assert warn["seq"] < up["seq"] < end["seq"]
        near(warn["ts"] - s4["ts"], 1500, "share 4 warning (server ts)")
        near(up["ts"] - s4["ts"], 3000, "share 4 time up (server ts)")
        near(end["ts"] - s4["ts"], 3000, "share 4 end (server ts)")
        near(fran.recv_at[up["seq"]] - fran.recv_at[s4["seq"]], 3000, "share 4 (received)")
        st = await chloe.state()
        assert st["sharing"] is None and st["queue"] == []
        await chloe.ok({"type": "settings", "settings": {"end_share_at_limit": False}})

        # -- mute
        await chloe.ok({"type": "mute", "member": fran.no, "muted": True})
        assert (await fran.see("muted"))["target"] == fran.ref()
        assert (await chloe.state())["muted"] == [fran.no]
        await fran.refused({"type": "say", "client_msg_id": "f1", "text": "hey"}, "muted")
        await fran.refused({"type": "say", "client_msg_id": "f2", "text": "!"}, "muted")
        await fran.refused({"type": "react", "client_msg_id": "f3", "seq": 1,
                            "reaction": "heart"}, "muted")
        f = await casey.refused({"type": "mute", "member": chloe.no, "muted": True}, "forbidden")
        assert f["field"] == "member"
        await chloe.ok({"type": "mute", "member": fran.no, "muted": False})
        assert (await fran.see("unmuted"))["from"] == chloe.ref()
        await fran.say_ok("Thanks for having me.")

        # -- a deleted message: gone from every client, the database and later joins
        oops = await ash.say_ok("My last name is Smithson and I live on Elm Street.")
        await fran.wait_seq(oops["seq"])
        await cam.refused({"type": "delete", "seq": oops["seq"]}, "forbidden")
        d = await chloe.ok({"type": "delete", "seq": oops["seq"]})
        for c in everyone:
            e = await c.see("message_deleted", after=oops["seq"])
            assert e == {"seq": d["seq"], "ts": e["ts"], "kind": "message_deleted",
                         "from": chloe.ref(), "target_seq": oops["seq"], "by": "chair"}
        await chloe.refused({"type": "delete", "seq": oops["seq"]}, "not_found")
        await chloe.refused({"type": "delete", "seq": d["seq"]}, "not_found")  # not a message
        row = site.db.query(
            "SELECT e.body FROM events e JOIN sessions s ON s.id = e.session_id"
            " JOIN meetings m ON m.id = s.meeting_id WHERE m.slug = %s AND e.seq = %s",
            (m.slug, oops["seq"]))
        assert row == [({"removed": "chair"},)]
        assert "Smithson" not in stored_text(site.db, m.slug)
        ash2 = await Member.joined(m, "Ash", token=ash.token, label="Ash-2")
        gone = ash2.event(oops["seq"])
        assert gone["removed"] == "chair" and "text" not in gone and gone["from"] == ash.ref()
        h = await ash2.history(before_seq=oops["seq"] + 1, limit=1)
        assert h["events"][0]["removed"] == "chair" and "text" not in h["events"][0]
        await ash2.close()
        # the author may delete their own
        mine = await blake.say_ok("Sorry, wrong window.")
        d = await blake.ok({"type": "delete", "seq": mine["seq"]})
        e = await chloe.see("message_deleted", after=mine["seq"])
        assert e["by"] == "author" and e["from"] == blake.ref()

        # -- a report reaches the chairs and co-chairs only, and is not kept
        said = await blake.say_ok("You all should just try harder.")
        d = await cam.ok({"type": "report", "seq": said["seq"],
                          "reason": "That felt like a put-down."})
        assert d["delivered"] == 2
        for c in (chloe, casey):
            p = await c.wait_type("private")
            assert p == {"type": "private", "kind": "report", "from": cam.ref(),
                         "seq": said["seq"], "text": "That felt like a put-down.",
                         "ts": p["ts"]}
        # -- "I need help": to the chairs at once, nobody else, never stored
        d = await eli.ok({"type": "help", "text": "Having a hard night, cravings are bad."})
        assert d["delivered"] == 2
        for c in (chloe, casey):
            p = await c.wait_type("private")
            assert p["kind"] == "help" and p["from"] == eli.ref()
            assert p["text"] == "Having a hard night, cravings are bad."
        for c in (ash, blake, cam, dana, fran):
            assert await c.frames("private") == []
        text = stored_text(site.db, m.slug)
        assert "cravings" not in text and "put-down" not in text
        assert "May I just listen" not in text
        kinds = {r[2] for r in stored_events(site.db, m.slug)}
        assert not kinds & {"help", "report", "private"}

        # -- direct messages: off until the chair allows them; chairs always may
        await ash.refused({"type": "private", "to": blake.no, "text": "hi Blake"}, "forbidden")
        d = await chloe.ok({"type": "private", "to": blake.no, "text": "Welcome, Blake."})
        assert d["delivered"] == 1
        p = await blake.wait_type("private")
        assert p["kind"] == "direct" and p["to"] == blake.no and p["from"] == chloe.ref()
        await chloe.ok({"type": "settings", "settings": {"dms": True}})
        d = await ash.ok({"type": "private", "to": blake.no, "text": "hi Blake"})
        assert d["delivered"] == 1
        p = await blake.wait_type("private")
        assert p["kind"] == "direct" and p["from"] == ash.ref() and p["text"] == "hi Blake"
        assert await cam.frames("private") == []
        await ash.refused({"type": "private", "to": 999, "text": "anyone?"}, "not_found")
        await chloe.ok({"type": "settings", "settings": {"dms": False}})
        assert "hi Blake" not in stored_text(site.db, m.slug)

        # -- back to the waiting room, and in again
        await casey.ok({"type": "send_to_waiting", "member": dana.no})
        w = await dana.wait_type("waiting")
        assert w["phase"] == "open" and "id" not in w
        e = await chloe.see("sent_to_waiting")
        assert e["target"] == dana.ref() and e["from"] == casey.ref()
        await dana.refused({"type": "say", "client_msg_id": "d9", "text": "hello?"},
                           "waiting_room")
        await casey.refused({"type": "send_to_waiting", "member": chloe.no}, "forbidden")
        await chloe.ok({"type": "admit", "member": dana.no})
        await let_in(dana)

        # -- lock: new arrivals are refused, those who run the room still come in
        await chloe.ok({"type": "settings", "settings": {"locked": True}})
        gus, r = await arrive(m, "Gus")
        assert r["type"] == "error" and r["code"] == "meeting_locked"
        await chloe.ok({"type": "settings", "settings": {"locked": False}})
        await gus.close()

        # -- back within the grace period: no waiting room
        token = fran.token
        await fran.close()
        await chloe.wait_for(lambda f: f["type"] == "presence" and f["action"] == "leave"
                             and f["member"]["member"] == fran.no, what="Fran leaves")
        fran = await admitted(m, "Fran", token)
        everyone[-1] = fran

        # -- removals: ban none comes back through the waiting room, ban session does not
        d = await chloe.ok({"type": "remove", "member": eli.no})
        e = await chloe.see("removed", after=d["seq"] - 1)
        assert e["target"] == eli.ref() and e["ban"] == "none"
        code, _ = await eli.wait_closed()
        assert code == 4403
        everyone.remove(eli)
        eli, w = await waiting(m, "Eli", eli.token)
        d = await chloe.ok({"type": "remove", "member": fran.no, "ban": "session"})
        e = await casey.see("removed", after=d["seq"] - 1)
        assert e["target"] == fran.ref() and e["ban"] == "session"
        code, _ = await fran.wait_closed()
        assert code == 4403
        everyone.remove(fran)
        back, r = await arrive(m, "Fran", fran.token)
        assert r["type"] == "error" and r["code"] == "banned"
        code, _ = await back.wait_closed()
        assert code == 4403
        assert (await chloe.state())["muted"] == []

        # -- the chair is handed over; co-chairs take it in order when the chair goes
        await chloe.ok({"type": "hand_over", "member": casey.no})
        e = await ash.see("chair_handed_over")
        assert e["target"] == casey.ref() and e["from"] == chloe.ref()
        st = await ash.state()
        assert st["chair"] == casey.no and st["cochairs"] == [chloe.no]
        await chloe.refused({"type": "grant", "member": ash.no, "role": "co-chair"}, "forbidden")
        await casey.ok({"type": "grant", "member": ash.no, "role": "co-chair"})
        e = await cam.see("role_granted")
        assert e["target"] == ash.ref() and e["role"] == "co-chair" and e["from"] == casey.ref()
        assert (await cam.state())["cochairs"] == [chloe.no, ash.no]
        await ash.ok({"type": "topic", "text": "Hope"})  # a co-chair now
        # the first co-chair in line is away: the next one present takes the chair
        await chloe.close()
        everyone.remove(chloe)
        mark = cam.cursor
        await casey.close()
        everyone.remove(casey)
        e = await cam.see("chair_taken", after=mark)
        assert e["target"] == ash.ref() and "from" not in e
        assert (await cam.state())["chair"] == ash.no
        # the chair account is back: a co-chair now, the chair stays with Ash
        chloe = await admitted(m, "Chloe", tok["chloe"])
        assert chloe.joined_frame["you"]["role"] == "co-chair"
        assert chloe.joined_frame["state"]["chair"] == ash.no
        everyone.append(chloe)

        # -- closing: everyone is closed with 1000, the waiting room too
        session_id = ash.joined_frame["session"]["id"]
        await chloe.refused({"type": "end"}, "forbidden")
        d = await ash.ok({"type": "end"})
        for c in everyone:
            if c is not ash:
                e = await c.see("session_ended")
                assert e["seq"] == d["seq"] and e["from"] == ash.ref()
            code, _ = await c.wait_closed()
            assert code == 1000, c.label
        code, _ = await eli.wait_closed()
        assert code == 1000
        ended = site.db.query("SELECT ended_at IS NOT NULL, phase FROM sessions WHERE id = %s",
                              (session_id,))
        assert ended == [(True, "closed")]
        # the next join opens a new session, with the waiting room again
        async def new_session():
            c, r = await arrive(m, "Chloe", tok["chloe"])
            if r["type"] == "joined":
                return c
            await c.close()
            return None
        for _ in range(50):
            chloe = await new_session()
            if chloe:
                break
            await asyncio.sleep(0.1)
        assert chloe is not None
        assert chloe.joined_frame["session"]["id"] != session_id
        assert chloe.joined_frame["state"]["phase"] == "waiting"
        assert chloe.joined_frame["topic"] is None
        # a session ban ends with the session
        fran, w = await waiting(m, "Fran", fran.token)

    run(scenario(), timeout=120)


# ---------------------------------------------------------------------------------------------
# Who may do what


RANK = {"visitor": 0, "attendee": 1, "greeter": 2, "co-chair": 3, "chair": 4, "admin": 4}
# The lowest role that may run each command (PROTOCOL.md, "Roles and permissions"), a probe
# that has no lasting effect, and what the probe gets when the role may run it.
PROBES = [
    ("co-chair", {"type": "admit", "member": 999}, "not_found"),
    ("co-chair", {"type": "admit", "all": True}, "done"),
    ("co-chair", {"type": "send_to_waiting", "member": 999}, "not_found"),
    ("co-chair", {"type": "settings", "settings": {"slow_mode_secs": 0}}, "done"),
    ("co-chair", {"type": "call", "member": 999}, "not_found"),
    ("co-chair", {"type": "reading", "action": "previous"}, "not_found"),
    ("co-chair", {"type": "topic", "text": "Step one"}, "done"),
    ("co-chair", {"type": "mute", "member": 999, "muted": True}, "not_found"),
    ("co-chair", {"type": "remove", "member": 999, "ban": "forever"}, "not_found"),
    ("co-chair", {"type": "delete", "seq": 1000000}, "not_found"),
    ("chair", {"type": "start"}, "already_open"),
    ("chair", {"type": "grant", "member": 999, "role": "greeter"}, "not_found"),
    ("chair", {"type": "hand_over", "member": 999}, "not_found"),
]


def outcome(f):
    return f["type"] if f["type"] != "error" else f["code"]


def test_permission_matrix(site):
    m = meeting(site, roles=(("chloe", "chair"), ("casey", "co-chair"), ("gwen", "greeter")))
    tok = site.tokens

    async def scenario():
        # greeters and above come in before the start; attendees and visitors wait
        gwen = await admitted(m, "Gwen", tok["gwen"])
        assert gwen.joined_frame["you"]["role"] == "greeter"
        assert gwen.joined_frame["state"]["phase"] == "waiting"
        ash, _ = await waiting(m, "Ash")
        vic, _ = await waiting(m, "Vic", visitor=True)
        wr = await gwen.wait_for(lambda f: f["type"] == "waiting_room" and len(f["members"]) == 2)
        assert [(x["name"], x["role"]) for x in wr["members"]] == [("Ash", "attendee"),
                                                                  ("Vic", "visitor")]
        casey = await admitted(m, "Casey", tok["casey"])
        await casey.refused({"type": "start"}, "forbidden")  # the chair starts
        chloe = await admitted(m, "Chloe", tok["chloe"])
        root = await admitted(m, "Root", tok["root"])
        assert root.joined_frame["you"]["role"] == "admin"
        assert root.joined_frame["state"]["chair"] == chloe.no
        await chloe.ok({"type": "start"})
        await chloe.ok({"type": "admit", "all": True})
        await let_in(ash)
        await let_in(vic)
        assert vic.joined_frame["you"]["role"] == "visitor"
        people = {"visitor": vic, "attendee": ash, "greeter": gwen, "co-chair": casey,
                  "chair": chloe, "admin": root}

        # every privileged command, by every role
        for needed, probe, allowed_outcome in PROBES:
            for role, c in people.items():
                f = await c.request(dict(probe))
                want = allowed_outcome if RANK[role] >= RANK[needed] else "forbidden"
                assert outcome(f) == want, f"{role} {probe}: {f}"
        for role in ("visitor", "attendee", "greeter", "co-chair"):
            await people[role].refused({"type": "end"}, "forbidden")

        # end_share: the sharer, or co-chairs and above
        await chloe.ok({"type": "call", "member": chloe.no})
        for role in ("visitor", "attendee", "greeter"):
            await people[role].refused({"type": "end_share"}, "forbidden")
        await casey.ok({"type": "end_share"})
        e = await chloe.see("share_ended")
        assert e["reason"] == "chair" and e["from"] == casey.ref()
        # a visitor does not share; an attendee is called and ends their own share
        f = await chloe.request({"type": "call", "member": ash.no})
        assert f["type"] == "done"
        await ash.ok({"type": "end_share"})
        e = await chloe.see("share_ended", target=ash.ref())
        assert e["reason"] == "done" and e["from"] == ash.ref()

        # mute, remove and send back only someone of a lower rank
        for actor, target in ((casey, chloe), (casey, root), (chloe, root), (root, chloe),
                              (chloe, chloe), (gwen, ash)):
            for probe in ({"type": "mute", "member": target.no, "muted": True},
                          {"type": "remove", "member": target.no},
                          {"type": "send_to_waiting", "member": target.no}):
                f = await actor.refused(probe, "forbidden")
        await casey.ok({"type": "mute", "member": gwen.no, "muted": True})
        await casey.ok({"type": "mute", "member": gwen.no, "muted": False})
        await chloe.ok({"type": "mute", "member": casey.no, "muted": True})
        await root.ok({"type": "mute", "member": casey.no, "muted": False})
        await chloe.refused({"type": "grant", "member": root.no, "role": "greeter"}, "forbidden")
        await chloe.refused({"type": "hand_over", "member": vic.no}, "forbidden")
        await chloe.refused({"type": "hand_over", "member": chloe.no}, "forbidden")

        # posting: visitors listen unless the chair lets them post
        await vic.refused({"type": "say", "client_msg_id": "v1", "text": "hello"}, "forbidden")
        await vic.refused({"type": "say", "client_msg_id": "v2", "text": "!"}, "forbidden")
        await vic.refused({"type": "hand", "raised": True}, "forbidden")
        said = await ash.say_ok("Hello from Ash.")
        react = await vic.react(said["seq"], "hug")
        assert react["type"] == "ack"
        await vic.refused({"type": "delete", "seq": said["seq"]}, "forbidden")
        await gwen.refused({"type": "delete", "seq": said["seq"]}, "forbidden")
        await chloe.ok({"type": "settings", "settings": {"visitors_may_post": True}})
        vsaid = await vic.say_ok("Thank you for letting me listen.")
        await vic.ok({"type": "hand", "raised": True})
        await vic.ok({"type": "hand", "raised": False})
        # anyone deletes their own message
        for c, s in ((vic, vsaid), (ash, said)):
            d = await c.ok({"type": "delete", "seq": s["seq"]})
            e = await chloe.see("message_deleted", target_seq=s["seq"])
            assert e["by"] == "author" and e["from"] == c.ref()
        gsaid = await gwen.say_ok("Welcome, everyone.")
        await gwen.ok({"type": "delete", "seq": gsaid["seq"]})
        await chloe.ok({"type": "settings", "settings": {"visitors_may_post": False}})

        # private words: to the chairs from anyone; direct only from greeters and above,
        # or between attendees when the chair allows it
        for c in people.values():
            d = await c.ok({"type": "private", "to": "chairs", "text": "a word"})
            # the chair, the co-chair and the admin; the sender too when among them
            assert d["delivered"] == 3, c.label
        assert await gwen.frames("private") == []
        for c in (chloe, casey, root):
            assert len(await c.frames("private")) == 6
        await vic.refused({"type": "private", "to": ash.no, "text": "hi"}, "forbidden")
        await ash.refused({"type": "private", "to": gwen.no, "text": "hi"}, "forbidden")
        for c in (gwen, casey, chloe, root):
            assert (await c.ok({"type": "private", "to": vic.no, "text": "welcome"}))[
                "delivered"] == 1
        await chloe.ok({"type": "settings", "settings": {"dms": True}})
        assert (await ash.ok({"type": "private", "to": gwen.no, "text": "hi"}))["delivered"] == 1
        assert (await gwen.wait_type("private"))["from"] == ash.ref()
        await ash.refused({"type": "private", "to": vic.no, "text": "hi"}, "forbidden")
        await vic.refused({"type": "private", "to": ash.no, "text": "hi"}, "forbidden")
        # reports and help reach co-chairs and above, not greeters
        for c in (vic, ash):
            assert (await c.ok({"type": "report", "seq": 1}))["delivered"] == 3
            assert (await c.ok({"type": "help"}))["delivered"] == 3
        assert await gwen.frames("private") == []

        # the waiting room: greeters and above see it, attendees and visitors never do
        zed, _ = await waiting(m, "Zed")
        await gwen.wait_for(lambda f: f["type"] == "waiting_room" and names(f["members"])
                            == ["Zed"], what="Zed waiting")
        for c in (ash, vic):
            await c.sync()
            assert not [f for f in c.log if f["type"] == "waiting_room"], c.label
        await gwen.refused({"type": "admit", "member": zed.no}, "forbidden")
        await casey.ok({"type": "admit", "member": zed.no})
        await let_in(zed)

        # an admin ends the session
        await casey.refused({"type": "end"}, "forbidden")
        await root.ok({"type": "end"})
        for c in people.values():
            code, _ = await c.wait_closed()
            assert code == 1000

    run(scenario(), timeout=90)


def test_visitors_and_closed_meetings(site):
    closed = meeting(site, types=("C", "D"))
    m = meeting(site)

    async def scenario():
        vic = await Member.connect(closed, label="Vic")
        await vic.hello("Vic", visitor=True)
        f = await vic.refused({"type": "join"}, "closed_meeting")
        assert "field" not in f
        await vic.sync()  # still connected, not joined
        await vic.refused({"type": "say", "client_msg_id": "a", "text": "hi"}, "join_first")
        ash, w = await waiting(closed, "Ash")
        assert w["meeting"]["closed"] is True
        # in an open meeting a visitor waits like anyone and may write to the chairs
        vic2, w = await waiting(m, "Vic", visitor=True)
        assert w["you"]["role"] == "visitor" and w["meeting"]["closed"] is False
        assert (await vic2.ok({"type": "help", "text": "is this the right place?"}))[
            "delivered"] == 0
        await vic2.refused({"type": "report", "seq": 1}, "waiting_room")
        await vic2.refused({"type": "private", "to": 1, "text": "hi"}, "waiting_room")

    run(scenario())


def test_settings_in_an_open_session(site):
    """auto-admit, chat lock, slow mode and a hidden member list."""
    m = meeting(site)
    tok = site.tokens

    async def scenario():
        chloe = await admitted(m, "Chloe", tok["chloe"])
        d = await chloe.ok({"type": "settings", "settings": {"auto_admit": True}})
        assert d["seq"]
        ash, w = await waiting(m, "Ash")  # auto-admit waits for the start
        assert w["phase"] == "waiting"
        await chloe.ok({"type": "start"})
        await let_in(ash)
        e = await chloe.see("admitted_all")
        assert e["count"] == 1
        blake = await admitted(m, "Blake")  # in at once now

        await chloe.ok({"type": "settings", "settings": {"chat_locked": True}})
        await ash.refused({"type": "say", "client_msg_id": "a1", "text": "hi"}, "chat_locked")
        await chloe.say_ok("The chat is paused for the reading.")
        await ash.ok({"type": "hand", "raised": True})
        await chloe.ok({"type": "settings", "settings": {"chat_locked": False,
                                                         "slow_mode_secs": 1}})
        first = time.monotonic()
        await ash.say_ok("one")
        f = await ash.refused({"type": "say", "client_msg_id": "a2", "text": "two"}, "slow_mode")
        assert 0 < f["retry_after_ms"] <= 1000
        await blake.say_ok("mine is another clock")
        await chloe.say_ok("chairs are not slowed")
        await chloe.say_ok("not at all")
        await asyncio.sleep(max(0.0, 1.05 - (time.monotonic() - first)))
        await ash.say_ok("two, later")
        await chloe.ok({"type": "settings", "settings": {"slow_mode_secs": 0}})

        for c in (ash, blake):
            await c.frames("presence")  # what came before
        await chloe.ok({"type": "settings", "settings": {"hide_members": True}})
        cam = await admitted(m, "Cam")
        assert [x["name"] for x in cam.joined_frame["members"]] == ["Cam"]
        await chloe.wait_for(lambda f: f["type"] == "presence" and f["action"] == "join"
                             and f["member"]["name"] == "Cam", what="Cam's presence")
        await cam.close()
        await chloe.wait_for(lambda f: f["type"] == "presence" and f["action"] == "leave"
                             and f["member"]["name"] == "Cam", what="Cam leaving")
        for c in (ash, blake):
            assert await c.frames("presence") == [], c.label
        cl2 = await Member.joined(m, "Chloe", token=tok["chloe"], label="Chloe-2")
        assert {x["name"] for x in cl2.joined_frame["members"]} == {"Chloe", "Ash", "Blake"}

    run(scenario())


def test_meeting_without_chairs_runs_itself(site):
    m = meeting(site, roles=())

    async def scenario():
        ash = await admitted(m, "Ash")
        st = ash.joined_frame["state"]
        assert st["phase"] == "open" and st["chair"] is None
        assert st["settings"]["auto_admit"] is True
        await ash.say_ok("Nobody chairs this one.")
        await ash.refused({"type": "start"}, "forbidden")
        await ash.refused({"type": "call"}, "forbidden")
        # an admin who arrives takes the chair
        root = await admitted(m, "Root", site.tokens["root"])
        e = await ash.see("chair_taken")
        assert e["target"] == root.ref()
        assert (await ash.state())["chair"] == root.no

    run(scenario())


def test_grace_period(site):
    """Back within rooms.reconnect_grace_secs: no waiting room and the hand kept; later:
    the waiting room again and the hand gone."""
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        await chloe.ok({"type": "start"})
        ash, _ = await waiting(m, "Ash")
        blake, _ = await waiting(m, "Blake")
        await chloe.ok({"type": "admit", "all": True})
        for c in (ash, blake):
            await let_in(c)
            await c.ok({"type": "hand", "raised": True})
        assert names((await chloe.state())["queue"]) == ["Ash", "Blake"]
        left = time.monotonic()
        await ash.close()
        await blake.close()
        blake = await admitted(m, "Blake", blake.token)
        assert names(blake.joined_frame["state"]["queue"]) == ["Ash", "Blake"]
        await asyncio.sleep(max(0.0, GRACE_SECS + 0.3 - (time.monotonic() - left)))
        ash, w = await waiting(m, "Ash", ash.token)
        assert w["phase"] == "open"
        assert names((await chloe.state())["queue"]) == ["Blake"]
        await chloe.ok({"type": "admit", "member": ash.no})
        await let_in(ash)

    run(scenario())


def test_ban_forever_survives_a_restart(site):
    """A forever ban holds after a restart and in later sessions; the session's phase,
    settings and topic survive a restart."""
    m = meeting(site)
    tok = site.tokens

    async def scenario(step):
        if step == 1:
            chloe = await admitted(m, "Chloe", tok["chloe"])
            await chloe.ok({"type": "start"})
            await chloe.ok({"type": "settings", "settings": {"auto_admit": True,
                                                             "share_limit_secs": 120}})
            await chloe.ok({"type": "topic", "text": "Surrender"})
            eli = await admitted(m, "Eli")
            d = await chloe.ok({"type": "remove", "member": eli.no, "ban": "forever"})
            e = await chloe.see("removed", after=d["seq"] - 1)
            assert e["ban"] == "forever"
            assert (await eli.wait_closed())[0] == 4403
            back, r = await arrive(m, "Eli", eli.token)
            assert r["type"] == "error" and r["code"] == "banned"
            assert (await back.wait_closed())[0] == 4403
            await chloe.close()
            return eli.token
        if step == 2:
            chloe = await admitted(m, "Chloe", tok["chloe"])
            j = chloe.joined_frame
            assert j["state"]["phase"] == "open" and j["topic"] == "Surrender"
            assert j["state"]["settings"]["auto_admit"] is True
            assert j["state"]["settings"]["share_limit_secs"] == 120
            back, r = await arrive(m, "Eli", token)
            assert r["type"] == "error" and r["code"] == "banned"
            assert (await back.wait_closed())[0] == 4403
            await chloe.ok({"type": "end"})
            assert (await chloe.wait_closed())[0] == 1000
            # a new session: still banned
            for _ in range(50):
                back, r = await arrive(m, "Eli", token)
                if r["code"] != "session_closed":
                    break
                await back.close()
                await asyncio.sleep(0.1)
            assert r["type"] == "error" and r["code"] == "banned"
            assert (await back.wait_closed())[0] == 4403

    token = run(scenario(1))
    site.stop()
    site.start()
    site.wait_healthy()
    run(scenario(2))


def test_auto_call_and_done_marker(site):
    """auto_call calls the next hand when a share ends; "[done]" from someone who is not
    sharing is only a message."""
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        await chloe.ok({"type": "start"})
        await chloe.ok({"type": "settings", "settings": {"auto_admit": True, "auto_call": True,
                                                         "share_limit_secs": 2,
                                                         "end_share_at_limit": True}})
        ash = await admitted(m, "Ash")
        blake = await admitted(m, "Blake")
        cam = await admitted(m, "Cam")
        for c in (ash, blake, cam):
            await c.ok({"type": "hand", "raised": True})
        mark = chloe.cursor
        await chloe.ok({"type": "call"})
        s1 = await chloe.see("share_started", after=mark, target=ash.ref())
        await chloe.say_ok("A chair's [done] ends nothing.")
        await blake.refused({"type": "say", "client_msg_id": "b1", "text": "[done]"},
                            "no_crosstalk")
        assert (await chloe.state())["sharing"]["member"] == ash.ref()
        await chloe.ok({"type": "end_share"})
        e = await chloe.see("share_ended", after=s1["seq"])
        assert e["reason"] == "chair"
        s2 = await chloe.see("share_started", after=e["seq"])
        assert s2["target"] == blake.ref() and "from" not in s2  # called by the server
        # the limit ends it, and the next is called
        e = await chloe.see("share_ended", after=s2["seq"], timeout=5)
        assert e["reason"] == "time" and "from" not in e
        s3 = await chloe.see("share_started", after=e["seq"])
        assert s3["target"] == cam.ref() and "from" not in s3
        await chloe.ok({"type": "settings", "settings": {"auto_call": False}})
        await chloe.ok({"type": "end_share"})
        e = await chloe.see("share_ended", after=s3["seq"])
        await chloe.sync()
        assert (await chloe.state())["sharing"] is None

    run(scenario())


# ---------------------------------------------------------------------------------------------
# Server bugs found while writing this file (see the report in the change). Each test states
# the behaviour PROTOCOL.md documents; they fail until the server is fixed.


def test_done_marker_ends_the_share(site):
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        await chloe.ok({"type": "start"})
        await chloe.ok({"type": "settings", "settings": {"auto_admit": True}})
        ash = await admitted(m, "Ash")
        await chloe.ok({"type": "call", "member": ash.no})
        s = await chloe.see("share_started")
        said = await ash.say_ok("That's all I have tonight. [DONE]  ")
        e = await chloe.see("share_ended", after=said["seq"])
        assert e["target"] == ash.ref() and e["reason"] == "done" and e["from"] == ash.ref()
        assert e["seq"] == said["seq"] + 1 and e["duration_ms"] >= 0
        assert (await chloe.state())["sharing"] is None
        assert ash.event(said["seq"])["text"] == "That's all I have tonight. [DONE]  "
        assert s["seq"] < said["seq"]

    run(scenario())


def test_done_marker_with_auto_call(site):
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        await chloe.ok({"type": "start"})
        await chloe.ok({"type": "settings", "settings": {"auto_admit": True, "auto_call": True}})
        ash = await admitted(m, "Ash")
        blake = await admitted(m, "Blake")
        await ash.ok({"type": "hand", "raised": True})
        await blake.ok({"type": "hand", "raised": True})
        await chloe.ok({"type": "call"})
        await chloe.see("share_started", target=ash.ref())
        said = await ash.say_ok("Thanks. [done]")
        await chloe.see("share_started", after=said["seq"], target=blake.ref(), timeout=2)

    run(scenario())


def test_delivered_counts_members_not_connections(site):
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        casey = await admitted(m, "Casey", site.tokens["casey"])
        chloe2 = await Member.joined(m, "Chloe", token=site.tokens["chloe"], label="Chloe-2")
        await chloe.ok({"type": "start"})
        ash, _ = await waiting(m, "Ash")
        d = await ash.ok({"type": "help"})
        for c in (chloe, chloe2, casey):
            assert (await c.wait_type("private"))["kind"] == "help"
        assert d["delivered"] == 2

    run(scenario())


def test_call_refuses_someone_waiting(site):
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        await chloe.ok({"type": "start"})
        ash, _ = await waiting(m, "Ash")
        f = await chloe.request({"type": "call", "member": ash.no})
        assert f["type"] == "error" and f["code"] == "not_found", f

    run(scenario())


def test_grant_greeter_to_a_cochair_account(site):
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        casey = await admitted(m, "Casey", site.tokens["casey"])
        await chloe.ok({"type": "grant", "member": casey.no, "role": "greeter"})
        assert (await chloe.see("role_granted"))["role"] == "greeter"
        await casey.refused({"type": "topic", "text": "x"}, "forbidden")

    run(scenario())


@pytest.fixture(scope="module")
def small_ring(pg_cluster, tmp_path_factory):
    """A havend that keeps only 16 events of a session in memory, with a chair account."""
    gen = module_server(pg_cluster, tmp_path_factory, {"rooms": {"recent_events": 16}},
                        name="chairring")
    server = next(gen)
    try:
        cli(server.db, "user", "add", "chloe", stdin=PASSWORD + "\n")
        server.tokens = {"chloe": login(server, "chloe")}
        yield server
    finally:
        gen.close()


async def _past_the_ring(m, token):
    """A started session with Ash's message at seq 4 and 20 messages after it."""
    chloe = await admitted(m, "Chloe", token)        # seq 1: chair_taken
    await chloe.ok({"type": "start"})                 # 2: session_started
    await chloe.ok({"type": "settings", "settings": {"auto_admit": True}})  # 3
    ash = await admitted(m, "Ash")
    said = await ash.say_ok("Something I said early on.")  # 4
    for i in range(20):
        await chloe.say_ok(f"filler {i}")
    return chloe, ash, said


def test_delete_in_memory_and_in_the_database(small_ring):
    """Deleting works the same for a message still in memory and for one only in the
    database (a chair's delete)."""
    m = meeting(small_ring, roles=(("chloe", "chair"),))

    async def scenario():
        chloe, ash, said = await _past_the_ring(m, small_ring.tokens["chloe"])
        d = await chloe.ok({"type": "delete", "seq": said["seq"]})
        e = await ash.see("message_deleted")
        assert e["seq"] == d["seq"] and e["target_seq"] == said["seq"] and e["by"] == "chair"
        h = await ash.history(before_seq=said["seq"] + 1, limit=1)
        assert h["events"][0]["removed"] == "chair" and "text" not in h["events"][0]
        assert "Something I said" not in stored_text(small_ring.db, m.slug)

    run(scenario())


def test_delete_refuses_an_old_event_that_is_not_a_message(small_ring):
    m = meeting(small_ring, roles=(("chloe", "chair"),))

    async def scenario():
        chloe, ash, said = await _past_the_ring(m, small_ring.tokens["chloe"])
        f = await chloe.request({"type": "delete", "seq": 2})  # session_started
        assert f["type"] == "error" and f["code"] == "not_found", f

    run(scenario())


def test_author_deletes_an_old_message(small_ring):
    m = meeting(small_ring, roles=(("chloe", "chair"),))

    async def scenario():
        chloe, ash, said = await _past_the_ring(m, small_ring.tokens["chloe"])
        await ash.ok({"type": "delete", "seq": said["seq"]})

    run(scenario())


def test_resent_message_is_acked_after_a_mute(site):
    m = meeting(site)

    async def scenario():
        chloe = await admitted(m, "Chloe", site.tokens["chloe"])
        await chloe.ok({"type": "start"})
        await chloe.ok({"type": "settings", "settings": {"auto_admit": True}})
        ash = await admitted(m, "Ash")
        ack = await ash.say_ok("Stored before the mute.", cmid="same-1")
        await chloe.ok({"type": "mute", "member": ash.no, "muted": True})
        again = await ash.say("Stored before the mute.", cmid="same-1")
        assert again["type"] == "ack" and again["duplicate"] is True, again
        assert again["seq"] == ack["seq"]

    run(scenario())
