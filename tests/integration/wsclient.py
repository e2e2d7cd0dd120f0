"""haven.v1 WebSocket clients for the test_ws_*.py integration tests.

Client   wraps a websockets 10.4 (asyncio) connection. Every frame it receives is parsed and
         checked with protocol.validate_server_frame; it also checks the delivery guarantee of
         PROTOCOL.md section 6 on its own: from `joined` on, the events of one connection
         (joined.events, then events/event frames) must come in seq order without a gap or a
         repeat. Frames a test has not consumed yet wait in an inbox, so a test can wait for a
         particular frame without losing the others.
RawWs    a hand-made WebSocket client on a plain non-blocking socket, for what a library will
         not do: invalid UTF-8, odd fragmentation, never answering pings, never reading. It
         validates every text frame it reads, too.
serve    starts havend on a fresh database with the rate limit out of the way (unless the
         test sets it), waits until it is healthy and creates the meetings.
module_server / Meeting
         one havend shared by the tests of a module (same config), each test in a meeting
         of its own: this keeps the suite fast.
run      runs a test's coroutine with an overall time limit.
"""

import asyncio
import base64
import collections
import hashlib
import itertools
import json
import os
import socket
import struct

import websockets

import harness
from harness import SUBPROTOCOL, ws_connect
from protocol import validate_server_frame

# The rate limit has tests of its own; everywhere else it must not interfere.
DEFAULT_CONFIG = {"ws": {"rate_per_sec": 10000, "rate_burst": 100000}}

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def merge(base, extra):
    """A deep merge of two config dicts (extra wins)."""
    out = json.loads(json.dumps(base))
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def serve(start_havend, db, config=None, slugs=("room",), **kw):
    """Start havend on db with DEFAULT_CONFIG merged with config; create the meetings."""
    server = start_havend(db, config=merge(DEFAULT_CONFIG, config), **kw)
    server.wait_healthy()
    for slug in slugs:
        db.create_meeting(slug, f"Meeting {slug}")
    return server


_open = []   # clients and raw sockets of the scenario that run() is running


_slugs = itertools.count(1)


def module_server(pg_cluster, tmp_path_factory, config=None, name="ws"):
    """Generator for a module-scoped fixture: one havend (DEFAULT_CONFIG merged with config)
    on a database of its own, stopped and checked (exit 0, clean log) at the end. Tests that
    share it each take a meeting of their own with new_meeting()."""
    database = pg_cluster.create_database(name)
    server = harness.Havend(tmp_path_factory.mktemp(name), database.url,
                            config=merge(DEFAULT_CONFIG, config))
    server.db = database
    try:
        server.start()
        server.wait_healthy()
        yield server
    finally:
        if server.proc is not None:
            server.stop()


def new_meeting(server):
    """Create a meeting with a fresh slug on a module_server; return the slug."""
    slug = f"m{next(_slugs)}"
    return server.db.create_meeting(slug, f"Meeting {slug}")


class Meeting:
    """A meeting of its own on a shared module_server. Clients connect to it by default
    (Client.connect(meeting)), and event_rows() reads back only its events."""

    def __init__(self, server, slug=None):
        self.server = server
        self.slug = slug or new_meeting(server)
        self.port = server.port
        self.db = server.db

    def ws_url(self, slug):
        return self.server.ws_url(slug)

    def log_text(self):
        return self.server.log_text()

    def event_rows(self):
        """(seq, member_no, client_msg_id, text) of this meeting's stored events, by seq."""
        return self.db.query(
            "SELECT e.seq, e.member_no, e.client_msg_id, e.body->>'text' FROM events e"
            " JOIN sessions s ON s.id = e.session_id JOIN meetings m ON m.id = s.meeting_id"
            " WHERE m.slug = %s ORDER BY e.seq", (self.slug,))


def run(coro, timeout=60):
    """Run one test scenario; fail (not hang) after timeout seconds.

    Connections still open at the end are dropped at once (a close handshake with each
    would only make the test slower)."""
    async def bounded():
        try:
            return await asyncio.wait_for(coro, timeout)
        finally:
            for c in _open:
                c.close_now()
            _open.clear()
            await asyncio.sleep(0)
    return asyncio.run(bounded())


def events_of(frame):
    """The events a server frame carries (joined, event, events, history), else []."""
    t = frame.get("type")
    if t == "event":
        return [frame["event"]]
    if t in ("events", "joined", "history"):
        return list(frame["events"])
    return []


def seqs(events):
    return [e["seq"] for e in events]


class Client:
    """One haven.v1 connection. See the module docstring."""

    _labels = itertools.count(1)

    def __init__(self, ws, label=None):
        self.ws = ws
        self.label = label or f"client{next(self._labels)}"
        self.log = []                      # every frame received, in order
        self.inbox = collections.deque()   # received, not yet consumed by the test
        self.events = []                   # every event of the stream on this connection
        self.cursor = None                 # last seq of the stream; None while not joined
        self.catching_up = False
        self.joined_frame = None
        self.welcome = None
        self.token = None
        self.member = None                 # our member number in the session
        self._join_after = None            # after_seq of the join in flight
        self._ids = itertools.count(1)
        self._cmids = itertools.count(1)
        _open.append(self)

    def close_now(self):
        if self.ws.transport is not None and not self.ws.transport.is_closing():
            self.ws.transport.abort()

    # -- connecting --

    @classmethod
    async def connect(cls, server, slug=None, label=None, **kw):
        """Connect to /ws/{slug}: by default the Meeting's own slug, or "room" on a server
        started with serve()."""
        slug = slug or getattr(server, "slug", "room")
        # Buffer without limit on our side: a test that reads late must not look to the
        # server like a slow reader (those have tests of their own, with RawWs).
        kw.setdefault("max_queue", None)
        ws = await ws_connect(server.ws_url(slug), **kw)
        assert ws.subprotocol == SUBPROTOCOL, f"subprotocol {ws.subprotocol!r}"
        return cls(ws, label)

    @classmethod
    async def joined(cls, server, name, slug=None, label=None, token=None, visitor=None,
                     after_seq=None, **kw):
        """Connect, hello and join; returns the client (its joined frame in .joined_frame)."""
        c = await cls.connect(server, slug, label or name, **kw)
        await c.hello(name, token=token, visitor=visitor)
        await c.join(after_seq)
        return c

    # -- sending --

    def next_id(self):
        return f"{self.label}-{next(self._ids)}"

    def next_cmid(self):
        return f"{self.label.replace(' ', '_')}-m{next(self._cmids)}"

    async def send(self, obj):
        """Send one JSON frame (UTF-8 as is, not \\u-escaped)."""
        if isinstance(obj, dict) and obj.get("type") == "join":
            a = obj.get("after_seq")
            self._join_after = a if isinstance(a, int) and not isinstance(a, bool) else None
        await self.ws.send(json.dumps(obj, ensure_ascii=False))

    async def send_text(self, text):
        await self.ws.send(text)

    # -- receiving --

    def _track(self, frame):
        t = frame["type"]
        if t == "joined":
            assert self.cursor is None, f"{self.label}: joined while already joined"
            self.joined_frame = frame
            self.member = frame["you"]["member"]
            last = frame["session"]["last_seq"]
            evs = frame["events"]
            if self._join_after is not None:
                self.cursor = min(self._join_after, last)
            elif evs:
                self.cursor = evs[0]["seq"] - 1
            else:
                self.cursor = last
            self.catching_up = frame["more"]
            self._append(evs, frame)
            if not self.catching_up and self._join_after is None and evs:
                assert evs[-1]["seq"] == last, (
                    f"{self.label}: joined.events end at {evs[-1]['seq']}, last_seq is {last}")
        elif t in ("event", "events"):
            assert self.cursor is not None, f"{self.label}: {t} frame while not joined: {frame}"
            if "catchup_done" in frame:
                assert self.catching_up, f"{self.label}: catchup_done without a catch-up"
                self.catching_up = False
            self._append(events_of(frame), frame)
        elif t == "left":
            self.cursor = None
            self.catching_up = False
        elif t == "presence":
            assert self.cursor is not None, f"{self.label}: presence while not joined: {frame}"
        elif t == "welcome":
            self.welcome = frame
            self.token = frame["token"]

    def _append(self, evs, frame):
        for e in evs:
            assert e["seq"] == self.cursor + 1, (
                f"{self.label}: event seq {e['seq']} follows {self.cursor} on one connection "
                f"(gap or repeat) in {frame['type']} frame")
            self.cursor = e["seq"]
            self.events.append(e)

    async def _recv_raw(self, timeout):
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(raw, str), f"{self.label}: server sent a binary message"
        frame = json.loads(raw)
        validate_server_frame(frame)
        self.log.append(frame)
        self._track(frame)
        return frame

    async def recv(self, timeout=5.0):
        """The next frame not consumed yet."""
        if self.inbox:
            return self.inbox.popleft()
        return await self._recv_raw(timeout)

    async def expect(self, type_, timeout=5.0):
        """The next frame, which must be of type_."""
        frame = await self.recv(timeout)
        assert frame["type"] == type_, f"{self.label}: expected {type_!r}, got {frame}"
        return frame

    async def wait_for(self, pred, timeout=5.0, what="frame"):
        """The first unconsumed frame with pred(frame) true; others stay in the inbox."""
        for i, f in enumerate(self.inbox):
            if pred(f):
                del self.inbox[i]
                return f
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"{self.label}: no {what} within {timeout} s; unconsumed: {list(self.inbox)}")
            try:
                f = await self._recv_raw(left)
            except asyncio.TimeoutError:
                continue
            if pred(f):
                return f
            self.inbox.append(f)

    async def wait_type(self, type_, timeout=5.0):
        return await self.wait_for(lambda f: f["type"] == type_, timeout, f"{type_!r} frame")

    async def reply_to(self, req_id, timeout=5.0):
        """The reply or error carrying this request id."""
        return await self.wait_for(lambda f: f.get("id") == req_id, timeout,
                                   f"reply with id {req_id!r}")

    async def request(self, obj, timeout=5.0):
        """Send obj with a fresh id (unless it has one) and return the frame answering it."""
        obj = dict(obj)
        obj.setdefault("id", self.next_id())
        await self.send(obj)
        return await self.reply_to(obj["id"], timeout)

    async def drain(self, seconds=0.3):
        """Receive for `seconds`; return (and consume) every unconsumed frame."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                self.inbox.append(await self._recv_raw(left))
            except asyncio.TimeoutError:
                break
        out = list(self.inbox)
        self.inbox.clear()
        return out

    async def sync(self, timeout=5.0):
        """Round trip a ping; return (and consume) every frame that arrived before the pong."""
        req = self.next_id()
        await self.send({"type": "ping", "id": req})
        before = []
        while True:
            f = await self.recv(timeout)
            if f["type"] == "pong" and f.get("id") == req:
                return before
            before.append(f)

    async def wait_seq(self, seq, timeout=5.0):
        """Wait until the stream of this connection reached seq. The event and events frames
        received so far count as consumed (their events are in .events); other frames stay
        in the inbox."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.cursor is None or self.cursor < seq:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"{self.label}: stream at {self.cursor}, waited for seq {seq}")
            try:
                self.inbox.append(await self._recv_raw(left))
            except asyncio.TimeoutError:
                pass
        self.inbox = collections.deque(
            f for f in self.inbox if f["type"] not in ("event", "events"))
        return self.events

    def event(self, seq):
        for e in self.events:
            if e["seq"] == seq:
                return e
        raise AssertionError(f"{self.label}: no event {seq} in the stream")

    # -- requests --

    async def hello(self, name="Sam", token=None, visitor=None, ok=True):
        obj = {"type": "hello", "name": name}
        if token is not None:
            obj["token"] = token
        if visitor is not None:
            obj["visitor"] = visitor
        f = await self.request(obj)
        if ok:
            assert f["type"] == "welcome", f"{self.label}: hello refused: {f}"
        return f

    async def join(self, after_seq=None, ok=True, timeout=10.0):
        """join; with a catch-up (more: true), also waits for the frame with catchup_done."""
        obj = {"type": "join"}
        if after_seq is not None:
            obj["after_seq"] = after_seq
        f = await self.request(obj, timeout)
        if ok:
            assert f["type"] == "joined", f"{self.label}: join refused: {f}"
            if f["more"]:
                await self.wait_for(lambda g: g["type"] == "events" and g.get("catchup_done"),
                                    timeout, "events frame with catchup_done")
        return f

    async def say(self, text, cmid=None, timeout=10.0):
        """say; returns the frame answering it (ack or error)."""
        return await self.request(
            {"type": "say", "client_msg_id": cmid or self.next_cmid(), "text": text}, timeout)

    async def say_ok(self, text, cmid=None, timeout=10.0):
        """say that must be acked as new; waits for our own event too; returns the ack."""
        ack = await self.say(text, cmid, timeout)
        assert ack["type"] == "ack" and ack["duplicate"] is False, f"{self.label}: {ack}"
        await self.wait_seq(ack["seq"], timeout)
        return ack

    async def react(self, seq, reaction="heart", cmid=None, timeout=10.0):
        return await self.request({"type": "react", "client_msg_id": cmid or self.next_cmid(),
                                   "seq": seq, "reaction": reaction}, timeout)

    async def history(self, timeout=10.0, **fields):
        return await self.request({"type": "history", **fields}, timeout)

    # -- closing --

    async def close(self):
        await self.ws.close()

    def abort(self):
        """Drop the TCP connection without a close frame."""
        self.ws.transport.abort()

    async def wait_closed(self, timeout=10.0):
        """Read (and validate) until the connection closes; return (code, reason)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    raise AssertionError(f"{self.label}: still open after {timeout} s")
                try:
                    self.inbox.append(await self._recv_raw(left))
                except asyncio.TimeoutError:
                    pass
        except websockets.ConnectionClosed:
            return self.ws.close_code, self.ws.close_reason


# ---------------------------------------------------------------------------------------------
# A raw client


class RawClosed(Exception):
    def __init__(self, code, reason=""):
        super().__init__(f"closed with {code} {reason!r}")
        self.code = code
        self.reason = reason


def _mask(data, key):
    n = len(data)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


class RawWs:
    """A WebSocket client that does exactly what it is told, on a non-blocking socket.

    open() sends the upgrade request and reads the answer: .status (101 when upgraded; None
    when the server closed without answering) and .headers (lower-cased). It reads from the socket only inside read_* calls."""

    TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0

    def __init__(self, sock):
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self.buf = b""
        self.status = None
        self.headers = {}
        self.pings = 0
        self.eof = False
        self.frames = []   # every text frame received (parsed)
        _open.append(self)

    def close_now(self):
        self.close()

    @classmethod
    async def open(cls, server, path=None, protocol=SUBPROTOCOL, origin=None,
                   headers=None, rcvbuf=None, timeout=5.0):
        """Upgrade on server (a Havend, or a Meeting for its own slug) at path, by default
        /ws/{slug}."""
        port = server.port
        path = path or f"/ws/{getattr(server, 'slug', 'room')}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        raw = cls(sock)
        await asyncio.wait_for(raw.loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        if protocol:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}")
        if origin:
            lines.append(f"Origin: {origin}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        await raw.loop.sock_sendall(sock, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        while b"\r\n\r\n" not in raw.buf:
            if not await raw._fill(timeout):
                break
        head, _, rest = raw.buf.partition(b"\r\n\r\n")
        raw.buf = rest
        if not head:
            return raw   # closed without an answer: status None
        head_lines = head.decode("latin-1").split("\r\n")
        parts = head_lines[0].split(" ")
        assert len(parts) >= 2 and parts[0].startswith("HTTP/"), f"bad status line {head!r:.200}"
        raw.status = int(parts[1])
        for line in head_lines[1:]:
            k, _, v = line.partition(":")
            raw.headers[k.strip().lower()] = v.strip()
        if raw.status == 101:
            want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            assert raw.headers.get("sec-websocket-accept") == want, raw.headers
        return raw

    async def _fill(self, timeout):
        try:
            chunk = await asyncio.wait_for(self.loop.sock_recv(self.sock, 1 << 20), timeout)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    async def _need(self, n, timeout):
        while len(self.buf) < n:
            if not await self._fill(timeout):
                return False
        return True

    # -- writing --

    async def send_frame(self, opcode, payload=b"", fin=True):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        key = os.urandom(4)
        await self.loop.sock_sendall(self.sock, head + key + _mask(payload, key))

    async def send_json(self, obj):
        await self.send_frame(self.TEXT, json.dumps(obj, ensure_ascii=False))

    async def send_close(self, code=1000):
        await self.send_frame(self.CLOSE, struct.pack("!H", code))

    # -- reading --

    async def read_frame(self, timeout=5.0):
        """(fin, opcode, payload), or None at the end of the stream."""
        if not await self._need(2, timeout):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        assert not (b1 & 0x80), "the server masked a frame"
        n, off = b1 & 0x7F, 2
        if n == 126:
            if not await self._need(4, timeout):
                return None
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            if not await self._need(10, timeout):
                return None
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        if not await self._need(off + n, timeout):
            return None
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    async def recv_json(self, timeout=5.0, answer_pings=True):
        """The next text message, parsed and validated. Raises RawClosed on a close frame
        (code, reason) or at the end of the stream (code None)."""
        parts = []
        while True:
            fr = await self.read_frame(timeout)
            if fr is None:
                raise RawClosed(None, "end of stream")
            fin, op, payload = fr
            if op == self.PING:
                self.pings += 1
                if answer_pings:
                    await self.send_frame(self.PONG, payload)
                continue
            if op == self.PONG:
                continue
            if op == self.CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise RawClosed(code, payload[2:].decode("utf-8", "replace"))
            assert op in (self.TEXT, self.CONT), f"server sent opcode {op}"
            parts.append(payload)
            if fin:
                frame = json.loads(b"".join(parts).decode("utf-8"))
                validate_server_frame(frame)
                self.frames.append(frame)
                return frame

    async def request(self, obj, timeout=5.0):
        """Send obj (with its id) and return the frame with the same id, skipping others."""
        await self.send_json(obj)
        while True:
            f = await self.recv_json(timeout)
            if f.get("id") == obj.get("id"):
                return f

    async def wait_close(self, timeout=5.0, answer_pings=True):
        """Read until the connection closes: the close code, or None for no close frame."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"raw connection still open after {timeout} s")
            try:
                await self.recv_json(left, answer_pings)
            except RawClosed as e:
                return e.code
            except asyncio.TimeoutError:
                pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
