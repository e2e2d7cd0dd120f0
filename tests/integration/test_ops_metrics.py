"""GET /metrics: Prometheus text a real parser reads, counters that follow a meeting, and who
may read it."""

import asyncio
import http.client
import time

import harness
from ops_help import Metrics, get_metrics, scrape
from wsclient import Client, RawWs, run, serve

FAMILIES = {
    "haven_build_info": "gauge",
    "haven_ws_connections": "gauge",
    "haven_rooms_live": "gauge",
    "haven_room_members": "gauge",
    "haven_events_committed": "counter",
    "haven_events_delivered": "counter",
    "haven_ws_frames_received": "counter",
    "haven_ws_dropped_frames": "counter",
    "haven_ws_slow_consumer_closes": "counter",
    "haven_rate_limited": "counter",
    "haven_http_responses": "counter",
    "haven_store_queue_depth": "gauge",
    "haven_store_queue_limit": "gauge",
    "haven_database_state": "gauge",
    "haven_database_round_trip_seconds": "histogram",
    "haven_event_loop_lag_seconds": "histogram",
    "haven_config_reloads": "counter",
    "haven_config_last_reload_successful": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_cpu_seconds": "counter",
    "process_start_time_seconds": "gauge",
}


def test_every_family_parses_with_its_type(start_havend, db):
    server = serve(start_havend, db)
    m = scrape(server)
    for name, typ in FAMILIES.items():
        assert m.types.get(name) == typ, f"{name}: {m.types.get(name)} in\n{m.text}"
    assert m.value("haven_database_state", state="ok") == 1
    for state in ("connecting", "down", "refusing", "stopped"):
        assert m.value("haven_database_state", state=state) == 0
    assert m.value("haven_store_queue_limit") == 10000
    assert m.value("process_resident_memory_bytes") > 1_000_000
    assert m.value("process_open_fds") >= 3
    assert abs(m.value("process_start_time_seconds") - time.time()) < 120
    # Applying the migrations and preparing statements took database round trips.
    assert m.value("haven_database_round_trip_seconds_count") > 0
    # Histograms are cumulative and end with +Inf = count.
    for h in ("haven_database_round_trip_seconds", "haven_event_loop_lag_seconds"):
        b = m.buckets(h)
        ordered = [b[k] for k in sorted(b, key=lambda le: float(le))]
        assert ordered == sorted(ordered), b
        assert b["+Inf"] == m.value(h + "_count")


def test_no_label_names_a_person_a_meeting_or_an_address(start_havend, db):
    server = serve(start_havend, db, slugs=("secret-room",))

    async def scenario():
        await Client.joined(server, "Zelda Quartz", slug="secret-room")
        return scrape(server)

    m = run(scenario())
    labels = {k: v for (_, ls) in m.samples for k, v in ls}
    assert set(labels) <= {"version", "state", "scope", "class", "result", "le"}, labels
    for needle in ("Zelda", "secret-room", "127.0.0.1"):
        assert needle not in m.text


def test_counters_follow_a_scripted_meeting(start_havend, db):
    server = serve(start_havend, db)
    before = scrape(server)
    assert before.value("haven_ws_connections") == 0
    assert before.value("haven_rooms_live") == 0

    async def scenario():
        people = [await Client.joined(server, name) for name in ("Ann", "Ben", "Cy")]
        during = scrape(server)
        for round_ in range(4):
            for p in people:
                await p.say_ok(f"{p.label} shares, round {round_}")
        ack = await people[0].react(1)
        assert ack["type"] == "ack", ack
        last = ack["seq"]
        for p in people:
            await p.wait_seq(last)
        after = scrape(server)
        return people, during, after, last

    people, during, after, last = run(scenario())
    assert during.value("haven_ws_connections") == 3
    assert during.value("haven_rooms_live") == 1
    assert during.value("haven_room_members") == 3

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    # Every event of the meeting committed once; each one was written to each connection.
    assert delta("haven_events_committed_total") == last == 13
    assert delta("haven_events_delivered_total") == sum(len(p.events) for p in people) == 39
    # hello, join, 13 requests and nothing else arrived from the clients.
    assert delta("haven_ws_frames_received_total") == 3 * 2 + 13
    assert delta("haven_database_round_trip_seconds_count") > 0
    assert delta("haven_rate_limited_total", scope="ws") == 0
    assert after.value("haven_store_queue_depth") == 0
    # The scrapes themselves are HTTP responses: the one before counted by now.
    assert delta("haven_http_responses_total", **{"class": "2xx"}) >= 2

    # Everyone gone: the gauges come back down.
    def empty():
        m = scrape(server)
        return m.value("haven_ws_connections") == 0 and m.value("haven_room_members") == 0
    harness.wait_until(empty, 10, what="connections and members back at 0")


def test_rate_limit_refusals_are_counted(start_havend, db):
    server = serve(start_havend, db, config={"ws": {"rate_per_sec": 0.01, "rate_burst": 4}})

    async def scenario():
        c = await Client.joined(server, "Ann")    # hello and join: 2 of the 4 tokens
        for i in range(5):
            await c.send({"type": "ping", "id": i})
        replies = [await c.reply_to(i) for i in range(5)]
        assert [r["type"] for r in replies] == ["pong"] * 2 + ["error"] * 3

    run(scenario())
    assert scrape(server).value("haven_rate_limited_total", scope="ws") == 3


def test_login_limit_refusals_are_counted_as_http(start_havend, db):
    server = serve(start_havend, db,
                   config={"identity": {"login_failures_per_account": 1}})
    body = '{"username": "nobody", "password": "wrong"}'
    statuses = []
    for _ in range(3):
        statuses.append(_post(server, "/api/login", body))
    assert 429 in statuses, statuses
    m = scrape(server)
    assert m.value("haven_rate_limited_total", scope="http") == statuses.count(429)
    assert m.value("haven_http_responses_total", **{"class": "4xx"}) == len(statuses)


def _post(server, path, body):
    """The status of one POST with a JSON body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", path, body=body.encode(),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_slow_consumer_close_and_dropped_frames_are_counted(start_havend, db):
    server = serve(start_havend, db, config={"ws": {"send_queue_max": 8,
                                                    "max_frame_bytes": 65536}})
    text = "\U0001F600" * 4000   # 16 kB per event

    async def scenario():
        talker = await Client.joined(server, "Tal")
        raw = await RawWs.open(server, rcvbuf=4096)
        assert (await raw.request({"type": "hello", "id": 1, "name": "Slow"}))["type"] == \
            "welcome"
        assert (await raw.request({"type": "join", "id": 2}))["type"] == "joined"
        for i in range(600):
            await talker.say_ok(text, cmid=f"f{i}")
            if scrape(server).value("haven_ws_slow_consumer_closes_total") >= 1:
                break
        assert await raw.wait_close(timeout=10) == 1013

    run(scenario(), timeout=120)
    m = scrape(server)
    assert m.value("haven_ws_slow_consumer_closes_total") == 1
    # The frame that did not fit, and the 8 that waited in the queue.
    assert m.value("haven_ws_dropped_frames_total") >= 9


def test_open_files_follow_connections(start_havend, db):
    server = serve(start_havend, db)

    async def scenario():
        before = scrape(server).value("process_open_fds")
        clients = [await Client.connect(server) for _ in range(10)]
        for c in clients:
            await c.request({"type": "ping"})
        await asyncio.sleep(1.1)    # process figures are read at most once a second
        m = scrape(server)
        assert m.value("haven_ws_connections") == 10
        assert m.value("process_open_fds") >= before + 10

    run(scenario())


def test_who_may_read_metrics(start_havend, db):
    server = serve(start_havend, db)
    # A reverse proxy on this host would look like 127.0.0.1: proxied requests are refused.
    for header in ("X-Forwarded-For", "X-Real-IP"):
        status, _, _ = get_metrics(server, headers={header: "203.0.113.9"})
        assert status == 403
    # Methods other than GET are not metrics.
    status, _, _ = harness.http_get(server.port, "/metrics", method="DELETE")
    assert status in (404, 405)

    other = serve(start_havend, db, config={"metrics": {"allow": ["10.0.0.0/8", "fd00::/8"]}},
                  slugs=())
    status, _, body = get_metrics(other)
    assert status == 403, body
    off = serve(start_havend, db, config={"metrics": {"enabled": False}}, slugs=())
    status, _, _ = get_metrics(off)
    assert status == 404


def test_metrics_answer_while_the_database_is_down(start_havend, private_pg):
    database = private_pg.create_database("down")
    server = start_havend(database)
    server.wait_healthy()
    private_pg.stop()

    def down():
        m = scrape(server)
        return m.value("haven_database_state", state="ok") == 0 and m
    m = harness.wait_until(down, 20, what="database state no longer ok")
    assert m.value("haven_database_state", state="down") + \
        m.value("haven_database_state", state="connecting") == 1
    private_pg.start()
    harness.wait_until(lambda: scrape(server).value("haven_database_state", state="ok") == 1,
                       30, what="database state ok again")


def test_parser_sees_no_duplicate_or_unknown_lines(start_havend, db):
    server = serve(start_havend, db)
    m = scrape(server)
    names = [l.split()[2] for l in m.text.splitlines() if l.startswith("# TYPE ")]
    assert len(names) == len(set(names))
    assert Metrics(m.text).types == m.types
