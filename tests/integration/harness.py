"""Test harness: private PostgreSQL clusters and a launcher for the real havend.

Uses only the standard library, psycopg2 and websockets (Debian 12's /usr/bin/python3).

PgCluster   a throwaway cluster: initdb into a temp dir (as the postgres user when run as
            root), -A trust, Unix socket only, fsync off. start()/stop() may be repeated.
Havend      one havend process: writes its config into the test's tmp dir, picks a free port,
            waits for /healthz, and on stop() checks exit status 0 and a clean sanitizer log.
run_havend  runs havend for a one-shot command (--print-config, --check-config, migrate).
"""

import asyncio
import atexit
import glob
import http.client
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WEB_ROOT = REPO / "web-client"
MIGRATIONS_DIR = REPO / "src" / "migrations"
SUBPROTOCOL = "haven.v1"

# Text that only appears in stderr when a sanitizer found something.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: AddressSanitizer",
)


# ---------------------------------------------------------------------------------------------
# Small helpers


def havend_binary():
    """The havend under test: $HAVEND, else build/havend (or build/src/havend)."""
    env = os.environ.get("HAVEND")
    if env:
        return Path(env).resolve()
    for cand in (REPO / "build" / "havend", REPO / "build" / "src" / "havend"):
        if cand.is_file() and os.access(cand, os.X_OK):
            return cand
    return REPO / "build" / "havend"


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sanitizer_reports(text):
    """The lines of text that belong to sanitizer reports (empty list if none)."""
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def clean_env(extra=None):
    """The environment for havend: ours without any HAVEN_* variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Poll predicate() until it returns a true value, which is returned; fail after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def is_root():
    return os.geteuid() == 0


def run_havend(args, env=None, timeout=30, cwd=None, check_sanitizers=True):
    """Run havend with args (one-shot commands) and return the CompletedProcess (text mode)."""
    binary = havend_binary()
    proc = subprocess.run(
        [str(binary), *[str(a) for a in args]],
        env=clean_env(env),
        cwd=str(cwd) if cwd else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check_sanitizers:
        reports = sanitizer_reports(proc.stderr)
        assert not reports, f"sanitizer report from havend {args}:\n{proc.stderr}"
    return proc


# ---------------------------------------------------------------------------------------------
# HTTP


def http_get(port, path, headers=None, timeout=5.0, host="127.0.0.1", method="GET",
             ssl_context=None):
    """Send one request with the exact request target `path` (no client-side normalising),
    over TLS when ssl_context is given.

    Returns (status, headers as a lower-cased dict, body bytes)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if ssl_context:
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
        sock.sendall(request)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        body = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, body
    finally:
        sock.close()


def get_json(port, path, timeout=5.0, ssl_context=None):
    status, headers, body = http_get(port, path, timeout=timeout, ssl_context=ssl_context)
    return status, headers, json.loads(body.decode("utf-8"))


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def pg_bindir():
    """The PostgreSQL server bin directory, or None when PostgreSQL is not installed."""
    env = os.environ.get("HAVEN_PG_BINDIR") or os.environ.get("PG_BINDIR")
    if env and Path(env, "initdb").exists():
        return Path(env)

    def version(path):
        m = re.search(r"/postgresql/(\d+)/", path)
        return int(m.group(1)) if m else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


# Clusters not yet destroyed; removed at interpreter exit if a caller forgot (or crashed).
_LIVE_CLUSTERS = set()


@atexit.register
def _destroy_leftover_clusters():
    for cluster in list(_LIVE_CLUSTERS):
        cluster.destroy()


class PgCluster:
    """A private PostgreSQL cluster in a fresh temp dir, reachable only by a Unix socket.

    Superuser "haven", trust authentication. As root, the server runs as "postgres"."""

    _ids = itertools.count(1)

    def __init__(self, fsync=False, name="pg"):
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server programs not found")
        self.bindir = bindir
        self.user = "haven"
        self.port = free_port()  # only names the socket file; there is no TCP listener
        self.base = Path(tempfile.mkdtemp(prefix=f"haven-{name}-"))
        _LIVE_CLUSTERS.add(self)
        self.data = self.base / "data"
        self.sockdir = self.base / "sock"
        self.logfile = self.data / "server.log"
        self._db_ids = itertools.count(1)
        self.running = False
        self._owner = None
        if is_root():
            pw = pwd.getpwnam("postgres")
            self._owner = (pw.pw_uid, pw.pw_gid)
            # postgres may pass through base but not list it.
            os.chmod(self.base, 0o711)
        for d in (self.data, self.sockdir):
            d.mkdir(mode=0o700)
            if self._owner:
                os.chown(d, *self._owner)
        self._run_as_owner(
            [
                str(bindir / "initdb"),
                "-D", str(self.data),
                "-A", "trust",
                "-U", self.user,
                "-E", "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            timeout=120,
        )
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.sockdir}'",
            "port": str(self.port),
            "fsync": "on" if fsync else "off",
            "synchronous_commit": "on" if fsync else "off",
            "full_page_writes": "on" if fsync else "off",
            "max_connections": "100",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
            "log_min_error_statement": "panic",
        }
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            for k, v in settings.items():
                conf.write(f"{k} = {v}\n")

    def _run_as_owner(self, argv, timeout=60, check=True):
        if self._owner:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        proc = subprocess.run(
            argv,
            cwd=str(self.base),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
                f"\n{self.server_log()}"
            )
        return proc

    def server_log(self):
        try:
            return self.logfile.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def start(self):
        self._run_as_owner(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile),
             "-w", "-t", "60", "start"],
            timeout=90,
        )
        self.running = True

    def stop(self, mode="fast"):
        self._run_as_owner(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
             "stop"],
            timeout=90,
        )
        self.running = False

    def destroy(self):
        _LIVE_CLUSTERS.discard(self)
        if self.running or (self.data / "postmaster.pid").exists():
            try:
                self.stop(mode="immediate")
            except Exception:  # noqa: BLE001 - best effort, the temp dir goes anyway
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, dbname):
        """A libpq URI for dbname on this cluster."""
        host = urllib.parse.quote(str(self.sockdir), safe="/")
        return f"postgresql:///{dbname}?host={host}&port={self.port}&user={self.user}"

    def connect(self, dbname="postgres", autocommit=True):
        import psycopg2

        conn = psycopg2.connect(
            host=str(self.sockdir), port=self.port, user=self.user, dbname=dbname,
            connect_timeout=10,
        )
        conn.autocommit = autocommit
        return conn

    def create_database(self, hint="db"):
        """Create a fresh, empty database and return a Database for it."""
        safe = re.sub(r"[^a-z0-9_]", "_", hint.lower())[:40]
        name = f"t{next(self._db_ids)}_{safe}"
        conn = self.connect("postgres")
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return Database(self, name)


class Database:
    """One database in a PgCluster, with small query helpers (each opens its own connection)."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.url = cluster.url(name)

    def connect(self, autocommit=True):
        return self.cluster.connect(self.name, autocommit=autocommit)

    def query(self, sql, params=None):
        """Run sql and return all rows (a list of tuples), or [] for statements without rows."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def execute(self, sql, params=None):
        self.query(sql, params)

    def scalar(self, sql, params=None):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def table_exists(self, name):
        return self.scalar("SELECT to_regclass(%s) IS NOT NULL", (name,))

    def migrate(self):
        """Apply havend's migrations with `havend migrate`; fail the test if that fails."""
        proc = run_havend(["migrate", "--database-url", self.url])
        assert proc.returncode == 0, f"havend migrate failed ({proc.returncode}):\n{proc.stderr}"

    def create_meeting(self, slug, name=None):
        """Insert a meeting row (the schema must exist) and return its slug."""
        self.execute("INSERT INTO meetings(slug, name) VALUES (%s, %s)", (slug, name or slug))
        return slug


# ---------------------------------------------------------------------------------------------
# havend


class Havend:
    """One havend server process for a test.

    config: dict merged into the generated config file (listen.* is always set by us).
    args: extra command-line arguments. env: extra environment (HAVEN_* of ours is dropped).
    port: listen on this port on every start (default: a free port, new at each start)."""

    _ids = itertools.count(1)

    def __init__(self, workdir, database_url, config=None, args=(), env=None,
                 web_root=WEB_ROOT, binary=None, port=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.config = config or {}
        self.args = list(args)
        self.env = env or {}
        self.web_root = Path(web_root)
        self.binary = Path(binary) if binary else havend_binary()
        self.n = next(self._ids)
        self.fixed_port = port  # listen on this port (a node behind a proxy), else a free one
        self.port = None
        self.proc = None
        self.returncode = None
        self.stderr_path = self.workdir / f"havend-{self.n}.stderr"
        self.stdout_path = self.workdir / f"havend-{self.n}.stdout"
        self.config_path = self.workdir / f"havend-{self.n}.json"
        # With tls.cert in the config, every request of ours goes over TLS, trusting that cert.
        self.ssl_context = None
        cert = self.config.get("tls", {}).get("cert")
        if cert:
            import ssl

            self.ssl_context = ssl.create_default_context(cafile=str(cert))

    # -- lifecycle --

    def start(self, ready_timeout=15.0):
        if not self.binary.exists():
            raise AssertionError(f"havend binary not found: {self.binary} (build it, or set HAVEND)")
        self.port = self.fixed_port or free_port()
        config = json.loads(json.dumps(self.config))
        listen = config.setdefault("listen", {})
        listen.setdefault("address", "127.0.0.1")
        listen["port"] = self.port
        self.config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        argv = [
            str(self.binary),
            "--config", str(self.config_path),
            "--http-web-root", str(self.web_root),
        ]
        if self.database_url is not None:
            argv += ["--database-url", self.database_url]
        argv += [str(a) for a in self.args]
        with open(self.stderr_path, "ab") as err, open(self.stdout_path, "ab") as out:
            self.proc = subprocess.Popen(
                argv, cwd=str(self.workdir), env=clean_env(self.env),
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            )
        self.returncode = None
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout=15.0):
        """Wait until GET /healthz answers with any status."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise AssertionError(
                    f"havend exited with {self.proc.returncode} before it was ready:\n"
                    f"{self.log_text()}"
                )
            try:
                http_get(self.port, "/healthz", timeout=1.0, ssl_context=self.ssl_context)
                return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"havend did not answer /healthz within {timeout} s:\n{self.log_text()}"
                )
            time.sleep(0.05)

    def wait_healthy(self, timeout=10.0):
        """Wait until /healthz answers 200 (database connected, migrations applied)."""
        def healthy():
            try:
                status, _, _ = http_get(self.port, "/healthz", timeout=2.0,
                                        ssl_context=self.ssl_context)
            except (OSError, http.client.HTTPException):
                return False
            return status == 200
        try:
            wait_until(healthy, timeout, what="/healthz 200")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.log_text()}") from None
        return self

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        self.proc.send_signal(signum)

    def terminate(self):
        """Send SIGTERM without waiting."""
        self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout=10.0):
        """Wait for the process to exit and return its status (fails after timeout)."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
            raise AssertionError(
                f"havend did not exit within {timeout} s after SIGTERM:\n{self.log_text()}"
            ) from None
        return self.returncode

    def assert_clean_log(self):
        text = self.log_text()
        reports = sanitizer_reports(text)
        assert not reports, f"sanitizer report in havend's stderr:\n{text}"

    def stop(self, timeout=10.0):
        """SIGTERM, then assert exit status 0 within timeout and no sanitizer report."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.terminate()
        rc = self.wait_exit(timeout)
        assert rc == 0, f"havend exited with {rc} after SIGTERM:\n{self.log_text()}"
        self.assert_clean_log()

    def kill(self):
        """SIGKILL and reap; no checks."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.returncode = self.proc.wait()

    # -- access --

    @property
    def url(self):
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    def ws_url(self, slug):
        return f"{'wss' if self.ssl_context else 'ws'}://127.0.0.1:{self.port}/ws/{slug}"

    def get(self, path, **kw):
        kw.setdefault("ssl_context", self.ssl_context)
        return http_get(self.port, path, **kw)

    def health(self, timeout=5.0):
        """(status, parsed JSON) of GET /healthz."""
        status, _, body = get_json(self.port, "/healthz", timeout=timeout,
                                   ssl_context=self.ssl_context)
        return status, body

    def log_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------
# WebSocket (websockets 10.4 has only the asyncio client)


async def ws_connect(url, **kw):
    """Open a haven.v1 WebSocket client connection."""
    import websockets

    kw.setdefault("subprotocols", [SUBPROTOCOL])
    kw.setdefault("open_timeout", 10)
    kw.setdefault("close_timeout", 5)
    kw.setdefault("max_size", 2**22)
    return await websockets.connect(url, **kw)


async def ws_send(ws, obj):
    await ws.send(json.dumps(obj))


async def ws_recv(ws, timeout=5.0):
    """The next frame, parsed as JSON."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    return json.loads(raw)


async def ws_recv_type(ws, type_, timeout=5.0):
    """Skip frames until one of the given type arrives; return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"no {type_!r} frame within {timeout} s")
        frame = await ws_recv(ws, left)
        if frame.get("type") == type_:
            return frame


# ---------------------------------------------------------------------------------------------
# Durability: recording clients and stored events

import websockets  # noqa: E402  (Debian's python3-websockets; only the tests below need it)

from protocol import validate_server_frame  # noqa: E402

# Fast reconnects so an outage of a few seconds ends quickly; no rate limit
# in the way of the load tests.
FAST_RECONNECT = {"database": {"reconnect_max_ms": 300, "connect_timeout_ms": 2000}}
NO_RATE_LIMIT = {"ws": {"rate_per_sec": 10000, "rate_burst": 10000}}


def merged(*dicts):
    out = {}
    for d in dicts:
        for k, v in d.items():
            out.setdefault(k, {}).update(v)
    return out


# ---------------------------------------------------------------------------------------------
# A haven.v1 client that records everything it receives, and checks of the stored events
# (the durability and fault tests: test_durability_store.py, test_faults.py)


class RecordingClient:
    """One WebSocket connection. A reader task validates and records every server frame."""

    _ids = itertools.count(1)

    def __init__(self, ws, label):
        self.ws = ws
        self.label = label
        self.frames = []   # every server frame, in arrival order
        self.stream = []   # the delivered events in order: joined.events, events, event
        self.acks = {}     # client_msg_id -> the last ack for it
        self.invalid = []  # schema violations
        self.closed = False
        self.close_code = None
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, server, slug, label="client"):
        ws = await ws_connect(server.ws_url(slug))
        return cls(ws, label)

    async def _read(self):
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                try:
                    validate_server_frame(frame)
                except AssertionError as e:
                    self.invalid.append(f"{e}\n  frame: {raw[:500]}")
                self.frames.append(frame)
                kind = frame.get("type")
                if kind in ("joined", "events"):
                    self.stream.extend(frame["events"])
                elif kind == "event":
                    self.stream.append(frame["event"])
                elif kind == "ack":
                    self.acks[frame["client_msg_id"]] = frame
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True
            self.close_code = self.ws.close_code
            self._changed.set()

    def check_valid(self):
        assert not self.invalid, f"{self.label}: invalid server frames:\n" + "\n".join(self.invalid)

    async def wait_for(self, predicate, timeout=10.0, what="a frame"):
        """Wait until predicate() is true (re-checked after every frame); return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.check_valid()
            value = predicate()
            if value:
                return value
            if self.closed:
                raise AssertionError(
                    f"{self.label}: connection closed ({self.close_code}) while waiting for "
                    f"{what}; last frames: {self.frames[-5:]}")
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"{self.label}: no {what} within {timeout} s; last frames: {self.frames[-5:]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def wait_closed(self, timeout=10.0):
        await asyncio.wait_for(asyncio.shield(self._task), timeout)

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def request(self, obj, timeout=10.0):
        """Send obj with a fresh id and return the reply (or error) carrying that id."""
        rid = next(self._ids)
        start = len(self.frames)
        await self.send({**obj, "id": rid})
        return await self.wait_for(
            lambda: next((f for f in self.frames[start:] if f.get("id") == rid), None),
            timeout, what=f"reply to {obj['type']} (id {rid})")

    async def hello(self, name, token=None):
        msg = {"type": "hello", "name": name}
        if token:
            msg["token"] = token
        reply = await self.request(msg)
        assert reply["type"] == "welcome", f"{self.label}: {reply}"
        self.token = reply["token"]
        return reply

    async def join(self, after_seq=None):
        msg = {"type": "join"}
        if after_seq is not None:
            msg["after_seq"] = after_seq
        reply = await self.request(msg)
        assert reply["type"] == "joined", f"{self.label}: {reply}"
        self.member = reply["you"]["member"]
        if reply["more"]:
            await self.wait_for(
                lambda: any(f["type"] == "events" and f.get("catchup_done") for f in self.frames),
                what="catchup_done")
        return reply

    async def say(self, cmid, text):
        """Send a say without waiting for anything."""
        await self.send({"type": "say", "client_msg_id": cmid, "text": text})

    async def wait_acks(self, cmids, timeout=15.0):
        cmids = list(cmids)
        await self.wait_for(lambda: all(c in self.acks for c in cmids), timeout,
                            what=f"acks for {len(cmids)} messages")
        return [self.acks[c] for c in cmids]

    def last_seq(self):
        return self.stream[-1]["seq"] if self.stream else 0

    def assert_stream_gapless(self):
        seqs = [e["seq"] for e in self.stream]
        for a, b in zip(seqs, seqs[1:]):
            assert b == a + 1, f"{self.label}: delivered seqs not gapless/in order: {seqs}"

    def frames_of(self, type_, start=0):
        return [f for f in self.frames[start:] if f["type"] == type_]

    async def close(self):
        await self.ws.close()
        await self.wait_closed()
        self.check_valid()


# ---------------------------------------------------------------------------------------------
# Database checks


def stored_events(database, slug):
    """[(seq, member_no, kind, client_msg_id, text)] of the meeting's live session, by seq."""
    return database.query(
        "SELECT e.seq, e.member_no, e.kind, e.client_msg_id, e.body->>'text'"
        " FROM events e JOIN sessions s ON s.id = e.session_id"
        " JOIN meetings m ON m.id = s.meeting_id"
        " WHERE m.slug = %s AND s.ended_at IS NULL ORDER BY e.seq", (slug,))


def assert_gapless(rows):
    seqs = [r[0] for r in rows]
    assert seqs == list(range(1, len(seqs) + 1)), f"stored seqs are not 1..N: {seqs}"


def assert_unique_client_ids(rows):
    keys = [(r[1], r[3]) for r in rows]
    dupes = {k for k in keys if keys.count(k) > 1}
    assert not dupes, f"(member_no, client_msg_id) stored more than once: {sorted(dupes)}"


def event_tuple(e):
    return (e["seq"], e["from"]["member"], e["kind"], e["client_msg_id"], e.get("text"))
