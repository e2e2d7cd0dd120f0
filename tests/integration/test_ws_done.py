"""The issue's "done when": ten clients in a room each send 100 messages while two of them are
dropped (abruptly) and resumed at random moments, resending their unacked messages with the
same client_msg_id after hello(token) + join(after_seq). In the end every client holds the
same 1,000 messages in the same order, each exactly once, and the events table holds exactly
those 1,000 with seq 1..1000.

Each client behaves like the reconnect recipe of PROTOCOL.md section 14: an outbox of unacked
says (at most WINDOW in flight), the last seq seen, and on reconnect hello(token), join
(after_seq = last seq seen), then the outbox again in order."""

import asyncio
import collections
import random
import time

import websockets

from wsclient import Client, run, seqs, serve

CLIENTS = 10
MESSAGES = 100
DROPPED = (0, 1)          # these two are dropped and resumed
DROPS_EACH = 2
WINDOW = 5                # unacked says in flight per client


class Participant:
    def __init__(self, server, k, rng, seed):
        self.server = server
        self.k = k
        self.name = f"P{k}"
        self.rng = rng
        self.seed = seed
        self.token = None
        self.member = None
        self.conn = None
        self.reader = None
        self.earlier = []                       # events of earlier connections
        self.outbox = collections.OrderedDict()  # cmid -> text, unacked, in order sent
        self.acks = {}                           # cmid -> last ack frame
        self.first_sent = []                     # cmids in the order first sent
        self.changed = asyncio.Event()
        self.drops = 0
        points = rng.sample(range(5, MESSAGES - 5), DROPS_EACH) if k in DROPPED else []
        self.drop_at = set(points)

    def where(self):
        return f"{self.name} (seed {self.seed})"

    @property
    def events(self):
        return self.earlier + (self.conn.events if self.conn else [])

    def last_seq(self):
        evs = self.events
        return evs[-1]["seq"] if evs else 0

    async def _read(self, conn):
        while True:
            f = await conn._recv_raw(3600)   # validates, and checks gapless order
            if f["type"] == "ack":
                assert f["client_msg_id"] in self.first_sent, f"{self.where()}: stray ack {f}"
                self.acks[f["client_msg_id"]] = f
                self.outbox.pop(f["client_msg_id"], None)
            elif f["type"] == "error":
                raise AssertionError(f"{self.where()}: error {f}")
            self.changed.set()

    def _check_reader(self):
        if self.reader is not None and self.reader.done():
            exc = self.reader.exception()
            if isinstance(exc, websockets.ConnectionClosed):
                raise AssertionError(
                    f"{self.where()}: connection closed by the server: {exc}") from exc
            if exc:
                raise exc
            raise AssertionError(f"{self.where()}: reader stopped")

    async def _wait(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while not cond():
            self._check_reader()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.where()}: timed out waiting for {what}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass

    async def connect(self):
        conn = await Client.connect(self.server, label=f"{self.name}#{self.drops}")
        w = await conn.hello(self.name, token=self.token)
        if self.token is None:
            self.token = w["token"]
        assert w["token"] == self.token
        j = await conn.join(after_seq=self.last_seq() if self.conn or self.earlier else None,
                            timeout=20)
        if self.member is None:
            self.member = j["you"]["member"]
        assert j["you"]["member"] == self.member, f"{self.where()}: member number changed"
        self.conn = conn
        self.reader = asyncio.ensure_future(self._read(conn))
        # Resend the outbox, in order, with the same client_msg_ids.
        for cmid, text in list(self.outbox.items()):
            await conn.send({"type": "say", "client_msg_id": cmid, "text": text})

    async def drop_and_resume(self):
        self.reader.cancel()
        self.conn.abort()
        try:
            await self.reader
        except (asyncio.CancelledError, websockets.ConnectionClosed):
            pass
        self.earlier += self.conn.events
        self.conn = None
        self.reader = None
        self.drops += 1
        await asyncio.sleep(self.rng.uniform(0.02, 0.3))
        await self.connect()

    async def talk(self):
        await self.connect()
        for j in range(MESSAGES):
            await self._wait(lambda: len(self.outbox) < WINDOW, 20, "room in the window")
            cmid, text = f"p{self.k}-{j}", f"{self.name} says {j}"
            self.outbox[cmid] = text
            self.first_sent.append(cmid)
            await self.conn.send({"type": "say", "client_msg_id": cmid, "text": text})
            if j in self.drop_at:
                # Drop while says are in flight: stored and acked, stored but not acked,
                # or not even received.
                await asyncio.sleep(self.rng.choice((0, 0, 0.001, 0.003)))
                await self.drop_and_resume()
            await asyncio.sleep(self.rng.uniform(0, 0.012))
        await self._wait(lambda: not self.outbox, 30, "all acks")

    async def wait_all(self, total):
        await self._wait(lambda: self.last_seq() >= total, 30, f"seq {total}")


def test_ten_clients_two_dropped_all_hold_the_same_thousand(start_havend, db):
    server = serve(start_havend, db)
    seed = int(time.time() * 1000) % 1_000_000
    rng = random.Random(seed)
    total = CLIENTS * MESSAGES

    async def scenario():
        people = [Participant(server, k, random.Random(rng.random()), seed)
                  for k in range(CLIENTS)]
        await asyncio.gather(*(p.talk() for p in people))
        await asyncio.gather(*(p.wait_all(total) for p in people))
        for p in people:
            p.reader.cancel()
        return people

    people = run(scenario(), timeout=90)

    reference = people[0].events
    assert seqs(reference) == list(range(1, total + 1)), f"seed {seed}"
    for p in people:
        assert p.drops == (DROPS_EACH if p.k in DROPPED else 0)
        assert p.events == reference, f"{p.where()} holds other events than P0"
    # Each message exactly once, from the right member, with its text.
    by_member = {p.member: p for p in people}
    assert len(by_member) == CLIENTS
    seen = collections.Counter((e["from"]["member"], e["client_msg_id"]) for e in reference)
    expected = {(p.member, f"p{p.k}-{j}") for p in people for j in range(MESSAGES)}
    assert set(seen) == expected, f"seed {seed}"
    assert max(seen.values()) == 1, f"seed {seed}"
    for e in reference:
        p = by_member[e["from"]["member"]]
        assert e["kind"] == "message"
        assert e["from"]["name"] == p.name
        assert e["text"] == f"{p.name} says {e['client_msg_id'].split('-')[1]}"
    # Every sender's messages in the order it first sent them; every ack names its event.
    for p in people:
        mine = [e["client_msg_id"] for e in reference if e["from"]["member"] == p.member]
        assert mine == p.first_sent, f"{p.where()}: own messages out of order"
        seq_of = {e["client_msg_id"]: e["seq"] for e in reference
                  if e["from"]["member"] == p.member}
        assert set(p.acks) == set(p.first_sent)
        for cmid, ack in p.acks.items():
            assert ack["seq"] == seq_of[cmid], f"{p.where()}: ack {ack}"
    # The database holds exactly these.
    rows = db.query("SELECT seq, member_no, client_msg_id, body->>'text' FROM events"
                    " ORDER BY seq")
    assert rows == [(e["seq"], e["from"]["member"], e["client_msg_id"], e["text"])
                    for e in reference], f"seed {seed}"
