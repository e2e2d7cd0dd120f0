"""Scale-out: three havend nodes behind nginx (config/nginx/haven.conf) on one database.

Each meeting is served by exactly one node (every node's /healthz lists the sessions it owns).
One node is killed with SIGKILL while its meetings are busy: their attendees reconnect through
nginx, are served by another node within 10 s, and every message acknowledged before or after
is stored exactly once (checked against the events table); the meetings of the other nodes
keep their connections. The killed node, restarted, takes new meetings."""

import asyncio
import collections

import pytest
import websockets

import cluster_help
from cluster_help import Nginx, owners
from harness import free_port, wait_until
from wsclient import DEFAULT_CONFIG, Client, merge, run, seqs

MEETINGS = 30
PER_MEETING = 2
MESSAGES = 60        # per attendee of a meeting on the node that is killed
WINDOW = 4           # says in flight at once
FAILOVER_S = 10.0

pytestmark = pytest.mark.skipif(cluster_help.nginx_binary() is None,
                                reason="nginx is not installed (Debian package nginx)")


def node_config(name):
    return merge(DEFAULT_CONFIG, {
        "cluster": {"enabled": True, "node_id": name},
        # Every connection comes from nginx's address.
        "limits": {"connections_per_address": 0},
    })


class Attendee:
    """One person in a meeting, reached through nginx: reconnects (hello with the token,
    join after the last seq seen) whenever the connection drops or is refused with the retry
    hint, and resends what was not acked with the same client_msg_id."""

    def __init__(self, proxy, slug, name):
        self.proxy, self.slug, self.name = proxy, slug, name
        self.token = None
        self.clients = []                       # one Client per connection, in order
        self.outbox = collections.OrderedDict()  # cmid -> text, sent and not acked
        self.acked = {}                         # cmid -> seq
        self.duplicates = 0
        self.refusals = []                      # (close code, reason) of refused attempts
        self.joined_at = []                     # loop time of each connection's joined
        self.n = 0

    @property
    def client(self):
        return self.clients[-1] if self.clients else None

    def events(self):
        out = []
        for c in self.clients:
            out += c.events
        return out

    async def connect(self, timeout=FAILOVER_S + 5):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.1
        after = self.client.cursor if self.client else None
        if self.client and after is None:
            after = self.client.events[-1]["seq"] if self.client.events else 0
        while True:
            c = None
            try:
                c = await Client.connect(self.proxy, self.slug, label=f"{self.slug}-{self.name}")
                await c.hello(self.name, token=self.token)
                self.token = c.token
                await c.join(after_seq=after)
                self.joined_at.append(loop.time())
                self.clients.append(c)
                return c
            except (websockets.WebSocketException, OSError, asyncio.TimeoutError):
                if c is not None:
                    moved = [f for f in c.log if f.get("code") == "moved"]
                    if moved:
                        assert moved[0]["retry_after_ms"] > 0 and "id" not in moved[0]
                    self.refusals.append((c.ws.close_code, c.ws.close_reason))
                    c.close_now()
                if loop.time() > deadline:
                    raise AssertionError(f"{self.slug}/{self.name}: not back within {timeout} s;"
                                         f" refusals {self.refusals[-5:]}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _send_window(self, cmids):
        ids = []
        for cmid in cmids:
            rid = f"{cmid}-{self.n}"
            self.n += 1
            await self.client.send({"type": "say", "id": rid, "client_msg_id": cmid,
                                    "text": self.outbox[cmid]})
            ids.append((rid, cmid))
        for rid, cmid in ids:
            f = await self.client.reply_to(rid, 10)
            assert f["type"] == "ack", f"{self.slug}/{self.name}: {f}"
            if f["duplicate"]:
                self.duplicates += 1
            if cmid in self.acked:
                assert self.acked[cmid] == f["seq"], (cmid, self.acked[cmid], f)
            self.acked[cmid] = f["seq"]
            self.outbox.pop(cmid, None)

    async def talk(self, count, pause=0.02):
        """Say count messages, WINDOW at a time, riding out connection losses."""
        for i in range(count):
            self.outbox[f"{self.slug}-{self.name}-{i}"] = f"{self.name} says {i}"
        while self.outbox:
            window = list(self.outbox)[:WINDOW]
            try:
                await self._send_window(window)
            except (websockets.WebSocketException, OSError, asyncio.TimeoutError):
                await self.connect()
            await asyncio.sleep(pause)


def stored(db, slug):
    """(seq, client_msg_id) of the meeting's events, by seq."""
    return db.query(
        "SELECT e.seq, e.client_msg_id FROM events e JOIN sessions s ON s.id = e.session_id"
        " JOIN meetings m ON m.id = s.meeting_id WHERE m.slug = %s AND s.ended_at IS NULL"
        " ORDER BY e.seq", (slug,))


def test_three_nodes_failover_and_rejoin(start_havend, db, tmp_path):
    nodes = []
    for i in range(3):
        n = start_havend(db, config=node_config(f"node{i + 1}"), port=free_port())
        n.wait_healthy()
        nodes.append(n)
    proxy = Nginx(tmp_path, [n.port for n in nodes], fail_timeout="2s").start()
    slugs = [db.create_meeting(f"meeting-{i:02d}") for i in range(MEETINGS)]
    try:
        _scenario(db, nodes, proxy, slugs, start_havend)
    finally:
        proxy.stop()


def _one_owner_each(nodes, slugs):
    by_node = owners(nodes)
    where = {}
    for i, owned in by_node.items():
        for s in owned:
            assert s not in where, f"{s} served by node{where[s] + 1} and node{i + 1}"
            where[s] = i
    missing = [s for s in slugs if s not in where]
    assert not missing, f"not served by any node: {missing}; /healthz: {by_node}"
    return where


def _scenario(db, nodes, proxy, slugs, start_havend):
    async def scenario():
        people = {s: [Attendee(proxy, s, f"p{k}") for k in range(PER_MEETING)] for s in slugs}
        await asyncio.gather(*(a.connect() for s in slugs for a in people[s]))
        for s in slugs:
            await people[s][0].client.say_ok(f"hello {s}")

        where = _one_owner_each(nodes, slugs)
        per_node = collections.Counter(where.values())
        assert len(per_node) == 3, f"meetings per node: {per_node}"
        victim = per_node.most_common(1)[0][0]
        doomed = [s for s in slugs if where[s] == victim]
        others = [s for s in slugs if where[s] != victim]

        # The doomed node's meetings talk; the node dies in the middle of it.
        talks = [asyncio.create_task(a.talk(MESSAGES)) for s in doomed for a in people[s]]
        loop = asyncio.get_running_loop()
        until = loop.time() + 20
        while not all(sum(len(a.acked) for a in people[s]) >= 8 for s in doomed):
            assert loop.time() < until, "the doomed meetings did not get going"
            await asyncio.sleep(0.02)
        assert not any(t.done() for t in talks), "the talk ended before the kill"
        before = {s: sum(len(a.acked) for a in people[s]) for s in doomed}
        killed_at = asyncio.get_running_loop().time()
        nodes[victim].kill()
        await asyncio.gather(*talks)
        assert all(before.values()), f"acked before the kill: {before}"
        # Every attendee of the dead node's meetings was served again (joined on another
        # node through nginx) within FAILOVER_S.
        back = 0.0
        for s in doomed:
            for a in people[s]:
                assert len(a.clients) >= 2, f"{s}/{a.name} never reconnected"
                back = max(back, a.joined_at[1] - killed_at)
        assert back < FAILOVER_S, f"back after {back:.1f} s"

        # Served by one node each again, the doomed ones elsewhere.
        live = [n if i != victim else None for i, n in enumerate(nodes)]
        where2 = _one_owner_each(live, slugs)
        for s in others:
            assert where2[s] == where[s], f"{s} moved from node{where[s] + 1}"

        # Nothing acknowledged lost or duplicated; no gap in the stored sequence.
        for s in doomed:
            rows = stored(db, s)
            assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), f"{s}: seq gap"
            by_cmid = collections.Counter(r[1] for r in rows if r[1])
            dup = [c for c, k in by_cmid.items() if k > 1]
            assert not dup, f"{s}: stored twice: {dup}"
            seq_of = {r[1]: r[0] for r in rows if r[1]}
            for a in people[s]:
                assert len(a.acked) == MESSAGES and not a.outbox
                for cmid, seq in a.acked.items():
                    assert seq_of.get(cmid) == seq, f"{s}: {cmid} acked as {seq}, stored " \
                                                    f"as {seq_of.get(cmid)}"
                # What each attendee saw, across its connections, is the stored history
                # from its join on, in order, without a gap or a repeat.
                await a.client.wait_seq(rows[-1][0])
                seen = seqs(a.events())
                first = seen[0]
                assert seen == [r[0] for r in rows if r[0] >= first], f"{s}/{a.name}: {seen}"

        # The other meetings were not touched: the same connection still works.
        for s in others:
            for a in people[s]:
                assert len(a.clients) == 1 and a.client.ws.close_code is None, \
                    f"{s}/{a.name}: connection closed ({a.client.ws.close_code})"
            await people[s][1].client.say_ok("still here")

        # The killed node comes back on its port and takes new meetings.
        nodes[victim] = start_havend(db, config=node_config(f"node{victim + 1}"),
                                     port=nodes[victim].port)
        nodes[victim].wait_healthy()
        await asyncio.sleep(2.5)  # nginx's fail_timeout for the dead node (2 s here)
        taken = []
        for i in range(40):
            s = db.create_meeting(f"later-{i:02d}")
            a = Attendee(proxy, s, "late")
            await a.connect()
            await a.client.say_ok("first")
            if s in owners([nodes[victim]]).get(0, set()):
                taken.append(s)
                if len(taken) == 2:
                    break
        assert taken, "the restarted node took no new meeting"
        _one_owner_each(nodes, slugs + taken)
        everyone = [a for s in doomed for a in people[s]]
        return {"victim": victim + 1, "doomed": len(doomed), "back_s": round(back, 2),
                "acked_before_kill": sum(before.values()),
                "resent_acked_as_duplicate": sum(a.duplicates for a in everyone),
                "refused_4503": sum(1 for a in everyone for r in a.refusals if r[0] == 4503),
                "other_refusals": sum(1 for a in everyone for r in a.refusals if r[0] != 4503)}

    result = run(scenario(), timeout=120)
    print("cluster failover:", result)


def _two_nodes(start_havend, db, extra=None):
    return [start_havend(db, config=merge(node_config(f"node{i + 1}"), extra)).wait_healthy()
            for i in range(2)]


async def _joined_retrying(node, slug, name, token=None, after_seq=None, timeout=15.0):
    """Connect to this node until it serves the meeting (the retry hint says when to)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        c = await Client.connect(node, slug, label=name)
        try:
            await c.hello(name, token=token)
            await c.join(after_seq=after_seq)
            return c
        except websockets.ConnectionClosed:
            assert c.ws.close_code == 4503, (c.ws.close_code, c.log)
            hint = [f for f in c.log if f.get("code") == "moved"]
            assert loop.time() < deadline, f"{name}: still refused after {timeout} s"
            await asyncio.sleep(hint[0]["retry_after_ms"] / 1000 if hint else 0.2)


def test_retry_hint_then_handover_to_the_node_clients_are_sent_to(start_havend, db):
    """A node asked for a meeting another node serves answers with the retry hint; the owner
    hands the meeting over (after owning it 10 s), and everyone is served there."""
    n1, n2 = _two_nodes(start_havend, db)
    db.create_meeting("handover")

    async def scenario():
        loop = asyncio.get_running_loop()
        a = await Client.joined(n1, "Ann", slug="handover")
        owned_since = loop.time()
        first = await a.say_ok("before")

        b = await Client.connect(n2, "handover", label="Ben")
        hint = await b.expect("error")
        assert hint["code"] == "moved" and hint["retry_after_ms"] == 1000 and "id" not in hint
        assert await b.wait_closed() == (4503, "served elsewhere")
        assert owners([n1, n2]) == {0: {"handover"}, 1: set()}
        assert a.ws.close_code is None  # too soon to hand over: nothing happened to Ann

        await asyncio.sleep(max(0.0, owned_since + 10.5 - loop.time()))  # the 10 s minimum
        b = await _joined_retrying(n2, "handover", "Ben")
        # Ann was told to go too, and comes back where the meeting is now.
        hint = await a.wait_for(lambda f: f.get("code") == "moved", 5, "moved")
        assert await a.wait_closed() == (4503, "served elsewhere")
        a2 = await _joined_retrying(n2, "handover", "Ann", token=a.token, after_seq=first["seq"])
        assert a2.joined_frame["session"]["id"] == a.joined_frame["session"]["id"]
        ack = await b.say_ok("after")
        await a2.wait_seq(ack["seq"])
        assert owners([n1, n2]) == {0: set(), 1: {"handover"}}

    run(scenario(), timeout=60)
    assert "meeting handover: handed over to node node2" in n1.log_text()


def test_a_node_that_lost_its_database_connection_cannot_write_a_taken_meeting(start_havend, db):
    """node1's connection drops and it cannot reconnect; node2 takes the meeting over. When
    node1 is back, its claim fails, so it closes the room, and PostgreSQL refuses the writes
    it had queued: none of them is acked, and resent to node2 each is stored exactly once."""
    n1, n2 = _two_nodes(start_havend, db, {"database": {"reconnect_max_ms": 300}})
    db.create_meeting("cut")
    admin = db.cluster.connect("postgres")

    async def scenario():
        a = await Client.joined(n1, "Ann", slug="cut")
        for i in range(3):
            await a.say_ok(f"stored {i}", cmid=f"ann-{i}")
        owner = db.scalar("SELECT s.owner_pid FROM sessions s JOIN meetings m"
                          " ON m.id = s.meeting_id WHERE m.slug = 'cut' AND s.owner_node = 'node1'")
        assert owner
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{db.name}" ALLOW_CONNECTIONS false')
            cur.execute("SELECT pg_terminate_backend(%s)", (owner,))
        await a.wait_for(lambda f: f["type"] == "status" and f["store"] == "paused", 5, "paused")
        # Said while node1 cannot reach the database: queued there, not acked.
        for i in range(3, 6):
            await a.send({"type": "say", "id": f"q{i}", "client_msg_id": f"ann-{i}",
                          "text": f"queued {i}"})
        b = await _joined_retrying(n2, "cut", "Ben")
        taken = await b.say_ok("node2 serves it now")
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{db.name}" ALLOW_CONNECTIONS true')
        await a.wait_for(lambda f: f.get("code") == "moved", 10, "moved")
        assert await a.wait_closed() == (4503, "served elsewhere")
        assert not [f for f in a.log if f["type"] == "ack" and f["seq"] > 3], a.log
        a2 = await _joined_retrying(n2, "cut", "Ann", token=a.token, after_seq=3)
        for i in range(3, 6):
            ack = await a2.say(f"queued {i}", cmid=f"ann-{i}")
            assert ack["type"] == "ack" and ack["duplicate"] is False, ack
        await b.wait_seq(ack["seq"])
        return taken["seq"]

    try:
        taken_seq = run(scenario(), timeout=60)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{db.name}" ALLOW_CONNECTIONS true')
        admin.close()
    rows = stored(db, "cut")
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    cmids = [r[1] for r in rows]
    for i in range(6):
        assert cmids.count(f"ann-{i}") == 1, (i, rows)
    assert rows[taken_seq - 1][0] == taken_seq == 4
    assert "meeting cut: taken over by another node while the database was away" in n1.log_text()
    # The guard refused node1's queued writes (their retries one by one end with it).
    wait_until(lambda: "is not owned by this connection" in n1.log_text(), 10,
               what="node1's queued writes refused by the guard")


def test_a_meeting_deleted_elsewhere_is_closed_by_the_node_serving_it(start_havend, db):
    """Meetings are deleted through any node (or in the database): the node that serves the
    meeting's room hears of it from PostgreSQL and closes it with 4404."""
    n1, _ = _two_nodes(start_havend, db)
    db.create_meeting("gone")

    async def scenario():
        a = await Client.joined(n1, "Ann", slug="gone")
        db.execute("DELETE FROM meetings WHERE slug = 'gone'")
        f = await a.wait_for(lambda g: g.get("code") == "meeting_not_found", 5, "not found")
        assert "id" not in f
        assert await a.wait_closed() == (4404, "no such meeting")

    run(scenario(), timeout=30)
