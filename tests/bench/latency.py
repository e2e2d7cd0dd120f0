#!/usr/bin/python3
"""Delivery latency of havend under a light meeting load (run by scripts/bench-storage).

    latency.py --port PORT [--rooms 100] [--seconds 20] [--rate 1.0] [--slug-prefix bench-lat-]

Opens two haven.v1 connections per room (meetings <prefix>0 .. <prefix>N-1 must exist), says
hello and joins. Then for --seconds, each room posts --rate messages per second, the two
members taking turns, each room at its own random phase within the second. Right after each
`say` the same connection sends a `ping`. Measured on the client's clock:

    message latency  say sent -> the sender's own copy of the event received
                     (store, commit, then deliver: includes the database transaction)
    ping latency     ping sent -> pong received, on the same connection at the same moment
                     (the same network, WebSocket and server loop path, without storage)
    added latency    message latency - ping latency, for each say/ping pair

and prints p50/p90/p99/max of each. Loopback only; every loop is bounded.
Standard library + python3-websockets (10.4, asyncio API).
"""

import argparse
import asyncio
import json
import random
import sys
import time

import websockets

SUBPROTOCOL = "haven.v1"


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


class Conn:
    def __init__(self, ws, stats):
        self.ws = ws
        self.stats = stats
        self.pending_say = {}   # client_msg_id -> send time
        self.pending_ping = {}  # id -> (send time, client_msg_id of the say it goes with)
        self.replies = {}       # id -> frame, for hello/join
        self.reply_event = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self.read())

    async def read(self):
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                f = json.loads(raw)
                t = f.get("type")
                if t == "event":
                    self.on_events([f["event"]], now)
                elif t == "events":
                    self.on_events(f["events"], now)
                elif t == "pong":
                    sent = self.pending_ping.pop(f.get("id"), None)
                    if sent:
                        self.stats.pong(sent[1], now - sent[0])
                elif t == "error":
                    self.stats.errors.append(f.get("code"))
                elif t == "status":
                    self.stats.statuses.append(f.get("store"))
                if "id" in f and t in ("welcome", "joined", "error"):
                    self.replies[f["id"]] = f
                    self.reply_event.set()
        except websockets.ConnectionClosed:
            self.stats.closed += 1

    def on_events(self, events, now):
        for e in events:
            sent = self.pending_say.pop(e.get("client_msg_id"), None)
            if sent is not None:
                self.stats.event(e["client_msg_id"], now - sent)

    async def request(self, obj, rid, timeout=20.0):
        await self.ws.send(json.dumps({**obj, "id": rid}))
        deadline = time.monotonic() + timeout
        while rid not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no reply to {obj['type']}")
            self.reply_event.clear()
            try:
                await asyncio.wait_for(self.reply_event.wait(), left)
            except asyncio.TimeoutError:
                pass
        reply = self.replies.pop(rid)
        if reply["type"] == "error":
            raise RuntimeError(f"{obj['type']} refused: {reply['code']}")
        return reply

    async def say_and_ping(self, cmid, n):
        t = time.perf_counter()
        self.pending_say[cmid] = t
        await self.ws.send(json.dumps({"type": "say", "client_msg_id": cmid,
                                       "text": f"latency probe {n}: thanks for sharing"}))
        self.pending_ping[f"p-{cmid}"] = (time.perf_counter(), cmid)
        await self.ws.send(json.dumps({"type": "ping", "id": f"p-{cmid}"}))


class Stats:
    def __init__(self):
        self.msg = {}    # cmid -> seconds
        self.ping = {}   # cmid -> seconds
        self.errors = []
        self.statuses = []
        self.closed = 0
        self.sent = 0

    def event(self, cmid, dt):
        self.msg[cmid] = dt

    def pong(self, cmid, dt):
        self.ping[cmid] = dt


async def open_conn(port, slug, name, stats):
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/{slug}", subprotocols=[SUBPROTOCOL],
                                  open_timeout=20, close_timeout=5, max_size=2**22)
    c = Conn(ws, stats)
    await c.request({"type": "hello", "name": name}, 1)
    await c.request({"type": "join"}, 2)
    return c


async def room_loop(conns, room, start, seconds, rate, stats):
    phase = random.random() / rate
    loop = asyncio.get_running_loop()
    for k in range(int(seconds * rate)):  # bounded
        at = start + phase + k / rate
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        c = conns[k % 2]
        stats.sent += 1
        await c.say_and_ping(f"r{room}-m{k}", k)


async def main(args):
    random.seed(args.seed)
    stats = Stats()
    t0 = time.perf_counter()
    rooms = []
    # Connect in groups so the handshakes do not all land at once.
    for first in range(0, args.rooms, 20):
        group = range(first, min(first + 20, args.rooms))
        pairs = await asyncio.gather(*(
            asyncio.gather(open_conn(args.port, f"{args.slug_prefix}{r}", f"A{r}", stats),
                           open_conn(args.port, f"{args.slug_prefix}{r}", f"B{r}", stats))
            for r in group))
        rooms.extend(pairs)
    print(f"connected {2 * len(rooms)} clients in {len(rooms)} rooms in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)

    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    await asyncio.gather(*(room_loop(c, i, start, args.seconds, args.rate, stats)
                           for i, c in enumerate(rooms)))
    # Let the last ones arrive (bounded).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (len(stats.msg) < stats.sent
                                           or len(stats.ping) < stats.sent):
        await asyncio.sleep(0.05)
    for pair in rooms:
        for c in pair:
            await c.ws.close()

    pairs = [(stats.msg[k], stats.ping[k]) for k in stats.msg if k in stats.ping]
    if not pairs:
        print("no samples", file=sys.stderr)
        return 1
    msg = [m * 1000 for m, _ in pairs]
    ping = [p * 1000 for _, p in pairs]
    added = [(m - p) * 1000 for m, p in pairs]
    print(f"rooms {args.rooms}, clients {2 * args.rooms}, {args.rate:g} message/s per room, "
          f"{args.seconds:g} s: {stats.sent} messages sent, {len(stats.msg)} delivered to their "
          f"sender, {len(stats.ping)} pongs, errors {len(stats.errors)}"
          f"{' ' + str(sorted(set(stats.errors))) if stats.errors else ''}, "
          f"status frames {len(stats.statuses)}, connections closed early {stats.closed}")
    print(f"{'latency (ms)':<34} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}")
    for label, values in (("message: say -> own event", msg),
                          ("ping: ping -> pong (baseline)", ping),
                          ("added: message - ping, per pair", added)):
        print(f"{label:<34} {percentile(values, 50):7.2f} {percentile(values, 90):7.2f} "
              f"{percentile(values, 99):7.2f} {max(values):7.2f}")
    p99_gap = percentile(msg, 99) - percentile(ping, 99)
    print(f"p99(message) - p99(ping) = {p99_gap:.2f} ms")
    lost = stats.sent - len(stats.msg)
    return 1 if lost or stats.errors or stats.closed else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rooms", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=1.0, help="messages per second per room")
    ap.add_argument("--slug-prefix", default="bench-lat-")
    ap.add_argument("--seed", type=int, default=1)
    sys.exit(asyncio.run(main(ap.parse_args())))
