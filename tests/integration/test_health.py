"""GET /healthz: reports the database state, and havend outlives a database outage."""

import re

from harness import wait_until

FAST_RECONNECT = {"database": {"reconnect_max_ms": 500, "connect_timeout_ms": 2000}}


def wait_health(server, code, states, timeout):
    """Poll /healthz until it answers `code` with database.state in `states`; return the body.

    On timeout the failure shows the last answer and havend's log."""
    last = []

    def check():
        status, body = server.health()
        last[:] = [status, body]
        if status == code and body.get("database", {}).get("state") in states:
            return body
        return None

    try:
        return wait_until(check, timeout, what=f"/healthz {code} with database {states}")
    except AssertionError as e:
        raise AssertionError(f"{e}; last answer {last}\n{server.log_text()[-3000:]}") from None


def test_healthz_ok_with_database(havend):
    body = wait_health(havend, 200, ("ok",), 10)
    status, headers, _ = havend.get("/healthz")
    assert status == 200
    assert headers.get("content-type", "").startswith("application/json")
    assert body["status"] == "ok"
    assert body["database"]["state"] == "ok"
    assert isinstance(body["database"]["queue_depth"], int)
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["version"]), body["version"]
    assert isinstance(body["uptime_s"], int) and not isinstance(body["uptime_s"], bool)
    assert body["uptime_s"] >= 0


def test_healthz_degraded_while_database_down(start_havend, private_pg):
    database = private_pg.create_database("health_down")
    server = start_havend(database, config=FAST_RECONNECT)
    wait_health(server, 200, ("ok",), 10)

    private_pg.stop()
    body = wait_health(server, 503, ("down", "connecting"), 10)
    assert body["status"] == "degraded"

    # Still alive and still serving files.
    assert server.running
    status, headers, page = server.get("/")
    assert status == 200
    assert b"<title>Haven</title>" in page


def test_healthz_recovers_when_database_returns(start_havend, private_pg):
    database = private_pg.create_database("health_back")
    server = start_havend(database, config=FAST_RECONNECT)
    wait_health(server, 200, ("ok",), 10)
    pid = server.proc.pid

    private_pg.stop()
    wait_health(server, 503, ("down", "connecting"), 10)

    private_pg.start()
    body = wait_health(server, 200, ("ok",), 15)
    assert body["status"] == "ok"
    assert server.running and server.proc.pid == pid
