"""A throwaway PostgreSQL cluster and the real havend, for the web client's tests.

Run by tests/web/stack.mjs with Debian's /usr/bin/python3; reuses tests/integration/harness.py.

    python3 tests/web/stack.py

Starts a private PostgreSQL cluster and havend (the binary in $HAVEND, else build/havend) serving
web-client/, adds the meetings in MEETINGS with `havend meeting add` (or plain SQL when the
directory is not there), a chair account for the first one, and prints one JSON line on stdout:

    {"ready": true, "url": "http://127.0.0.1:PORT", "port": PORT, "meetings": [...],
     "chair": {"username": ..., "password": ..., "meeting": ...}, "directory": true|false}

Then it reads commands from stdin, one a line, and answers each with one JSON line:

    stop            SIGTERM havend and wait for it (exit status 0, no sanitizer report)
    start           start havend again on the same port
    kill            SIGKILL havend
    pg-stop         stop PostgreSQL (havend keeps running: delivery pauses)
    pg-start        start PostgreSQL again
    health          {"ok": true, "status": HTTP status of /healthz}
    log             {"ok": true, "log": the tail of havend's stderr}
    meeting-add JSON      `havend meeting add` with this one-line meeting object
    grant SLUG ROLE       give the test chair account ROLE (chair, co-chair, greeter) in SLUG

End of input stops havend and removes the cluster. Nothing here prints a database URL or a
password other than the test chair's, which exists only in this throwaway cluster.
"""

import json
import secrets
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import harness  # noqa: E402  (path set just above)

CHAIR_USER = "webchair"
CHAIRED = "saturday-steps"

# Meetings of the test directory. Days and times are chosen relative to now, so that one meeting
# is always in progress and one always starts within the hour, whatever the day.
def meetings_now():
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)

    def local(zone, minutes_from_now):
        from zoneinfo import ZoneInfo

        t = (now + dt.timedelta(minutes=minutes_from_now)).astimezone(ZoneInfo(zone))
        # Meeting Guide numbering: 0 = Sunday.
        return (t.isoweekday() % 7), t.strftime("%H:%M")

    d1, t1 = local("America/Chicago", -10)
    d2, t2 = local("Europe/Berlin", 40)
    return [
        {
            "slug": "tuesday-hope",
            "name": "Hope in the Evening",
            "description": "A calm discussion meeting for anyone who wants to stop using.",
            "language": "en",
            "time_zone": "America/Chicago",
            "days": [d1],
            "start_time": t1,
            "duration_minutes": 90,
            "types": ["O", "D", "BE"],
            "group": "Lakeside Group",
            "region": "Chicago, IL, USA",
            "notes": "A text meeting: no cameras, no microphones.",
            "record_transcripts": True,
            "transcript_readers": "chairs",
            "retention_days": 30,
        },
        {
            "slug": "morgenrunde",
            "name": "Morgenrunde",
            "description": "Eine geschlossene Meditationsrunde.",
            "language": "de",
            "time_zone": "Europe/Berlin",
            "days": [d2],
            "start_time": t2,
            "duration_minutes": 60,
            "types": ["C", "MED"],
        },
        {
            "slug": "saturday-steps",
            "name": "Saturday Step Study",
            "description": "We read a step and share on it.",
            "language": "en",
            "time_zone": "America/New_York",
            "days": [6],
            "start_time": "10:00",
            "duration_minutes": 60,
            "types": ["O", "ST", "LIT"],
            "record_transcripts": False,
        },
    ]


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def havend_cmd(args, database_url, stdin_text=None):
    binary = harness.havend_binary()
    return subprocess.run(
        [str(binary), *args, "--database-url", database_url],
        input=stdin_text, capture_output=True, text=True, timeout=60,
        env=harness.clean_env(), cwd=str(REPO),
    )


class FixedPortHavend(harness.Havend):
    """A Havend that comes back on the same port after stop(), so pages can reconnect."""

    fixed_port = None

    def start(self, ready_timeout=15.0):
        if self.fixed_port is None:
            super().start(ready_timeout)
            self.fixed_port = self.port
            return self
        original = harness.free_port
        harness.free_port = lambda: self.fixed_port
        try:
            return super().start(ready_timeout)
        finally:
            harness.free_port = original


def main():
    cluster = harness.PgCluster(name="web")
    havend = None
    try:
        cluster.start()
        database = cluster.create_database("web")
        workdir = Path(tempfile.mkdtemp(prefix="haven-web-havend-"))
        havend = FixedPortHavend(workdir, database.url, web_root=REPO / "web-client")
        havend.start()
        havend.wait_healthy(20)

        meetings = meetings_now()
        directory = True
        for m in meetings:
            proc = havend_cmd(["meeting", "add"], database.url, json.dumps(m))
            if proc.returncode != 0:
                directory = False
                database.create_meeting(m["slug"], m["name"])
        password = secrets.token_urlsafe(12)
        chair = None
        proc = havend_cmd(["user", "add", CHAIR_USER], database.url, password + "\n")
        if proc.returncode == 0:
            # The chaired meeting starts with a waiting room; the others run themselves.
            grant = havend_cmd(["role", "grant", CHAIR_USER, CHAIRED, "chair"], database.url)
            if grant.returncode == 0:
                chair = {"username": CHAIR_USER, "password": password, "meeting": CHAIRED}
        reply({"ready": True, "url": havend.url, "port": havend.port,
               "meetings": meetings, "chair": chair, "directory": directory})

        for line in sys.stdin:
            command = line.strip()
            try:
                if command == "stop":
                    havend.stop(timeout=20)
                    reply({"ok": True})
                elif command == "start":
                    havend.start()
                    havend.wait_healthy(20)
                    reply({"ok": True})
                elif command == "kill":
                    havend.kill()
                    reply({"ok": True})
                elif command == "pg-stop":
                    cluster.stop()
                    reply({"ok": True})
                elif command == "pg-start":
                    cluster.start()
                    reply({"ok": True})
                elif command == "health":
                    status, _ = havend.health()
                    reply({"ok": True, "status": status})
                elif command == "log":
                    reply({"ok": True, "log": havend.log_text()[-6000:]})
                elif command.startswith("meeting-add "):
                    proc = havend_cmd(["meeting", "add"], database.url, command[len("meeting-add "):])
                    if proc.returncode == 0:
                        reply({"ok": True})
                    else:
                        reply({"ok": False, "error": proc.stderr[-2000:]})
                elif command.startswith("grant "):
                    _, slug, role = command.split()
                    proc = havend_cmd(["role", "grant", CHAIR_USER, slug, role], database.url)
                    if proc.returncode == 0:
                        reply({"ok": True})
                    else:
                        reply({"ok": False, "error": proc.stderr[-2000:]})
                elif command:
                    reply({"ok": False, "error": f"unknown command {command!r}"})
            except Exception as e:  # noqa: BLE001 - reported to the test, which fails
                reply({"ok": False, "error": str(e)[-4000:]})
    except Exception:  # noqa: BLE001
        reply({"ready": False, "error": traceback.format_exc()[-4000:]})
    finally:
        status = 0
        if havend is not None:
            try:
                if havend.running:
                    havend.stop(timeout=20)
            except AssertionError as e:
                # A crash or a sanitizer report at the end: the tests learn it from the status.
                sys.stderr.write(f"stack: {e}\n")
                status = 3
            finally:
                havend.kill()
        cluster.destroy()
    sys.exit(status)


if __name__ == "__main__":
    main()
