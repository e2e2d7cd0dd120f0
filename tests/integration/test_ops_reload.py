"""SIGHUP reloads the config: live limits change without dropping anyone, values that need a
restart are reported as such, and an invalid file is refused while the running config stays."""

import json
import signal

import harness
from ops_help import get_metrics, rewrite_config, scrape, wait_log
from wsclient import Client, run, serve

# A bucket that does not refill during a test: every request is one token of the burst.
SLOW_REFILL = {"ws": {"rate_per_sec": 0.01, "rate_burst": 100}}


def reload(server, n):
    """Send SIGHUP and wait for the n-th reload to be done (applied or refused)."""
    server.signal(signal.SIGHUP)
    harness.wait_until(lambda: _reloads(server) >= n, 10, what=f"reload {n}")


def _reloads(server):
    m = scrape(server)
    return (m.value("haven_config_reloads_total", result="applied") +
            m.value("haven_config_reloads_total", result="refused"))


async def pings(client, n):
    """Send n pings; the reply types in order."""
    ids = [client.next_id() for _ in range(n)]
    for i in ids:
        await client.send({"type": "ping", "id": i})
    return [(await client.reply_to(i))["type"] for i in ids]


def test_lower_rate_burst_takes_effect_without_dropping_connections(start_havend, db):
    server = serve(start_havend, db, config=SLOW_REFILL)

    async def scenario():
        ann = await Client.joined(server, "Ann")
        ben = await Client.joined(server, "Ben")
        assert ann.welcome["limits"]["rate_burst"] == 100
        assert await pings(ann, 3) == ["pong"] * 3

        rewrite_config(server, {"ws": {"rate_burst": 3}})
        reload(server, 1)
        wait_log(server, "ws.rate_burst changed (100 -> 3)")

        # The same connections, still open, now under the new limit.
        assert scrape(server).value("haven_ws_connections") == 2
        assert await pings(ann, 5) == ["pong"] * 3 + ["error"] * 2
        await ben.say_ok("still here after the reload")
        await ann.wait_seq(1)
        # A new connection is told the new limit.
        cy = await Client.joined(server, "Cy")
        assert cy.welcome["limits"]["rate_burst"] == 3

    run(scenario())
    m = scrape(server)
    assert m.value("haven_config_reloads_total", result="applied") == 1
    assert m.value("haven_config_last_reload_successful") == 1
    assert "reloaded: 1 change applied, 0 waiting for a restart" in server.log_text()


def test_broken_file_is_refused_and_the_old_limit_stays(start_havend, db):
    server = serve(start_havend, db, config={"ws": {"rate_per_sec": 0.01, "rate_burst": 4}})
    good = server.config_path.read_text(encoding="utf-8")

    async def scenario():
        ann = await Client.joined(server, "Ann")    # 2 of 4 tokens

        server.config_path.write_text('{"ws": {"rate_burst": 50,', encoding="utf-8")
        reload(server, 1)
        wait_log(server, "reload refused, the running configuration stays")
        # Still 4: the 2 tokens left go, then refusals.
        assert await pings(ann, 3) == ["pong", "pong", "error"]
        ben = await Client.joined(server, "Ben")
        assert ben.welcome["limits"]["rate_burst"] == 4

        # Valid JSON with a value out of range is refused the same way, naming the key.
        server.config_path.write_text(good, encoding="utf-8")
        rewrite_config(server, {"ws": {"rate_burst": 0}})
        reload(server, 2)
        [line] = wait_log(server, "ws.rate_burst: expected an integer from 1 to 100000")
        assert "reload refused" in line
        cy = await Client.joined(server, "Cy")
        assert cy.welcome["limits"]["rate_burst"] == 4
        # The connections lived through both refusals.
        assert scrape(server).value("haven_ws_connections") == 3

    run(scenario())
    m = scrape(server)
    assert m.value("haven_config_reloads_total", result="refused") == 2
    assert m.value("haven_config_reloads_total", result="applied") == 0
    assert m.value("haven_config_last_reload_successful") == 0


def test_restart_keys_are_reported_and_kept(start_havend, db):
    server = serve(start_havend, db, config=SLOW_REFILL)
    old_port = server.port
    config = json.loads(server.config_path.read_text(encoding="utf-8"))
    config["listen"]["port"] = harness.free_port()
    config["ws"]["ping_interval_secs"] = 5
    config["ws"]["max_text_chars"] = 10
    server.config_path.write_text(json.dumps(config), encoding="utf-8")
    reload(server, 1)
    wait_log(server, "listen.port changed")
    text = server.log_text()
    assert f"listen.port changed ({old_port} -> {config['listen']['port']}): it needs a " \
        "restart to take effect" in text
    assert "ws.ping_interval_secs changed (30 -> 5): it needs a restart" in text
    assert "ws.max_text_chars changed (4000 -> 10)" in text
    assert "reloaded: 1 change applied, 2 waiting for a restart" in text
    # Still serving on the old port, with the new text limit.

    async def scenario():
        c = await Client.joined(server, "Ann")
        f = await c.say("more than ten characters")
        assert f["type"] == "error", f

    run(scenario())


def test_log_level_and_format_change_live(start_havend, db):
    server = serve(start_havend, db)
    rewrite_config(server, {"log": {"level": "debug", "format": "json"}})
    reload(server, 1)

    async def scenario():
        await Client.joined(server, "Ann")

    run(scenario())
    # A debug line of the ws subsystem, written as JSON after the reload.
    lines = wait_log(server, '"sub":"ws"')
    entry = json.loads(lines[0])
    assert entry["level"] == "debug" and "connected" in entry["msg"]


def test_metrics_switch_off_and_on_by_reload(start_havend, db):
    server = serve(start_havend, db)
    rewrite_config(server, {"metrics": {"enabled": False}})
    server.signal(signal.SIGHUP)
    harness.wait_until(lambda: get_metrics(server)[0] == 404, 10, what="/metrics 404")
    rewrite_config(server, {"metrics": {"enabled": True}})
    server.signal(signal.SIGHUP)
    harness.wait_until(lambda: get_metrics(server)[0] == 200, 10, what="/metrics 200")
    assert scrape(server).value("haven_config_reloads_total", result="applied") == 2


def test_many_hangups_at_once_leave_a_consistent_server(start_havend, db):
    server = serve(start_havend, db, config=SLOW_REFILL)
    rewrite_config(server, {"ws": {"rate_burst": 7}})
    for _ in range(20):
        server.signal(signal.SIGHUP)
    harness.wait_until(lambda: "ws.rate_burst changed (100 -> 7)" in server.log_text(), 10,
                       what="the reload")

    async def scenario():
        c = await Client.joined(server, "Ann")
        assert c.welcome["limits"]["rate_burst"] == 7

    run(scenario())
    # Exactly one of them changed something; the server still stops cleanly (fixture).
    assert server.log_text().count("ws.rate_burst changed") == 1


def _crisis(server):
    status, _, body = harness.http_get(server.port, "/api/crisis-help")
    assert status == 200, body
    return json.loads(body)


def test_crisis_help_entries_reload(start_havend, db, tmp_path):
    crisis = tmp_path / "crisis.json"
    entry = {"name": "Samaritans", "description": "Any time, day or night.",
             "actions": [{"label": "Call 116 123", "href": "tel:116123"}]}
    crisis.write_text(json.dumps({"region": "GB", "entries": [entry]}), encoding="utf-8")
    server = serve(start_havend, db, config={"http": {"crisis_file": str(crisis)}})
    assert _crisis(server)["region"] == "GB"

    # Same path, new contents: a reload serves them.
    entry2 = dict(entry, name="Samaritans (UK and Ireland)")
    crisis.write_text(json.dumps({"region": "GB", "entries": [entry2, entry]}),
                      encoding="utf-8")
    reload(server, 1)
    assert [e["name"] for e in _crisis(server)["entries"]] == [entry2["name"], entry["name"]]
    wait_log(server, "crisis-help entries changed")

    # A broken list (a javascript: link) refuses the whole reload: the old list stays.
    bad = dict(entry, actions=[{"label": "x", "href": "javascript:alert(1)"}])
    crisis.write_text(json.dumps({"region": "GB", "entries": [bad]}), encoding="utf-8")
    rewrite_config(server, {"ws": {"rate_burst": 5}})
    reload(server, 2)
    [line] = wait_log(server, "reload refused")
    assert "http.crisis_file" in line
    assert len(_crisis(server)["entries"]) == 2
    assert "ws.rate_burst changed" not in server.log_text()

    # Back to the built-in list by emptying the key.
    rewrite_config(server, {"http": {"crisis_file": ""}, "ws": {"rate_burst": 100000}})
    reload(server, 3)
    builtin = _crisis(server)
    assert builtin["default"] is True and builtin["region"] == "United States"
