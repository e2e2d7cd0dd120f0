"""say and react: store then deliver, one order for everyone, idempotency, roles."""

import pytest

from wsclient import Client, Meeting, module_server, run, seqs


@pytest.fixture(scope="module")
def shared(pg_cluster, tmp_path_factory):
    yield from module_server(pg_cluster, tmp_path_factory, name="ws_say")


@pytest.fixture
def meeting(shared):
    return Meeting(shared)


def test_say_is_acked_and_delivered(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.send({"type": "say", "id": 3, "client_msg_id": "k3v9QeT1x0bWmZ2a",
                      "text": "Just for today."})
        ack = await a.wait_type("ack")
        assert ack == {"type": "ack", "id": 3, "client_msg_id": "k3v9QeT1x0bWmZ2a", "seq": 1,
                       "duplicate": False}
        await b.wait_seq(1)
        e = b.event(1)
        assert (e["kind"], e["text"], e["client_msg_id"]) == (
            "message", "Just for today.", "k3v9QeT1x0bWmZ2a")
        assert e["from"] == {"member": a.member, "name": "Ann"}
        assert "reaction" not in e and "target_seq" not in e

    run(scenario())


def test_sender_gets_own_event_before_ack(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        await a.send({"type": "say", "id": "s1", "client_msg_id": "m1", "text": "hello all"})
        await a.wait_type("ack")
        kinds = [f["type"] for f in a.log]
        assert kinds.index("ack") > kinds.index("event"), kinds
        assert a.event(1)["client_msg_id"] == "m1"

    run(scenario())


def test_ack_means_stored(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        ack = await a.say("stored before the ack", cmid="durable-1")
        assert ack["type"] == "ack"
        return ack["seq"]

    seq = run(scenario())
    assert [(r[0], r[2], r[3]) for r in meeting.event_rows()] == [
        (seq, "durable-1", "stored before the ack")]


def test_everyone_sees_same_order(meeting):
    server = meeting

    async def scenario():
        clients = [await Client.joined(server, f"P{i}") for i in range(3)]
        # All at once: the server decides the order.
        for n in range(10):
            for c in clients:
                await c.send({"type": "say", "client_msg_id": f"{c.label}-{n}",
                              "text": f"{c.label} says {n}"})
        for c in clients:
            await c.wait_seq(30, timeout=10)
        first = clients[0].events
        assert seqs(first) == list(range(1, 31))
        for c in clients[1:]:
            assert c.events == first
        # Each sender's own messages keep the order it sent them in.
        for c in clients:
            mine = [e["text"] for e in first if e["from"]["member"] == c.member]
            assert mine == [f"{c.label} says {n}" for n in range(10)]

    run(scenario())


def test_two_rooms_stay_separate(shared):
    room_a, room_b = Meeting(shared), Meeting(shared)

    async def scenario():
        a1 = await Client.joined(room_a, "Ann")
        a2 = await Client.joined(room_a, "Art")
        b1 = await Client.joined(room_b, "Bea")
        b2 = await Client.joined(room_b, "Bob")
        assert a1.joined_frame["session"]["id"] != b1.joined_frame["session"]["id"]
        assert [m["name"] for m in b2.joined_frame["members"]] == ["Bea", "Bob"]
        await a1.say_ok("in a")
        await b1.say_ok("in b")
        await a1.say_ok("in a again")
        await a2.wait_seq(2)
        await b2.wait_seq(1)
        assert [e["text"] for e in a2.events] == ["in a", "in a again"]
        assert [e["text"] for e in b2.events] == ["in b"]
        assert await b2.drain(0.3) == []

    run(scenario())


def test_same_client_msg_id_again_is_duplicate(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        first = await a.say_ok("only once", cmid="once-1")
        await b.wait_seq(first["seq"])
        again = await a.request({"type": "say", "id": "again", "client_msg_id": "once-1",
                                 "text": "different text is ignored"})
        assert again == {"type": "ack", "id": "again", "client_msg_id": "once-1",
                         "seq": first["seq"], "duplicate": True}
        # Nothing new for anyone.
        assert [f for f in await a.drain(0.3) if f["type"] != "presence"] == []
        assert await b.drain(0.1) + await b.sync() == []
        assert len(a.events) == len(b.events) == 1

    run(scenario())
    assert len(meeting.event_rows()) == 1


def test_duplicate_from_other_connection_of_same_member(meeting):
    server = meeting

    async def scenario():
        tab1 = await Client.joined(server, "Ann")
        first = await tab1.say_ok("from tab 1", cmid="shared-1")
        tab2 = await Client.connect(server)
        await tab2.hello("Ann", token=tab1.token)
        await tab2.join()
        again = await tab2.say("from tab 2", cmid="shared-1")
        assert (again["type"], again["seq"], again["duplicate"]) == ("ack", first["seq"], True)

    run(scenario())
    assert len(meeting.event_rows()) == 1


def test_same_client_msg_id_of_other_member_is_new(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        one = await a.say_ok("Ann's", cmid="same-id")
        two = await b.say_ok("Ben's", cmid="same-id")
        assert (one["seq"], two["seq"]) == (1, 2)

    run(scenario())


def test_say_and_react_share_client_msg_ids(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        said = await a.say_ok("a message", cmid="shared")
        f = await a.react(said["seq"], "heart", cmid="shared")
        assert (f["type"], f["seq"], f["duplicate"]) == ("ack", said["seq"], True)
        assert await a.drain(0.3) == []

    run(scenario())


def test_react_makes_reaction_event(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        said = await a.say_ok("share")
        ack = await b.react(said["seq"], "strength", cmid="r-1")
        assert (ack["type"], ack["client_msg_id"], ack["seq"], ack["duplicate"]) == (
            "ack", "r-1", said["seq"] + 1, False)
        await a.wait_seq(ack["seq"])
        e = a.event(ack["seq"])
        assert e["kind"] == "reaction"
        assert (e["reaction"], e["target_seq"], e["client_msg_id"]) == (
            "strength", said["seq"], "r-1")
        assert e["from"] == {"member": b.member, "name": "Ben"}
        assert "text" not in e

    run(scenario())


def test_each_reaction_kind_is_accepted(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        said = await a.say_ok("share")
        for r in ("thanks", "heart", "hug", "strength", "clap"):
            f = await a.react(said["seq"], r)
            assert f["type"] == "ack", f
        await a.wait_seq(6)
        assert [e["reaction"] for e in a.events[1:]] == [
            "thanks", "heart", "hug", "strength", "clap"]

    run(scenario())


def test_react_to_nonexistent_seq_is_not_found(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        await a.say_ok("only message")
        f = await a.request({"type": "react", "id": 9, "client_msg_id": "r-x", "seq": 2,
                             "reaction": "hug"})
        assert (f["type"], f["code"], f["id"]) == ("error", "not_found", 9)
        assert f.get("field") == "seq"
        assert await a.drain(0.3) == []

    run(scenario())
    assert len(meeting.event_rows()) == 1


def test_react_in_empty_session_is_not_found(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        f = await a.react(1, "hug")
        assert (f["type"], f["code"]) == ("error", "not_found")

    run(scenario())


def test_visitor_say_is_forbidden(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        v = await Client.joined(server, "Mom of K", visitor=True)
        f = await v.request({"type": "say", "id": "v1", "client_msg_id": "v-1", "text": "hi"})
        assert (f["type"], f["code"], f["id"]) == ("error", "forbidden", "v1")
        assert [x for x in await a.drain(0.3) if x["type"] != "presence"] == []

    run(scenario())
    assert meeting.event_rows() == []


def test_visitor_may_react(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        v = await Client.joined(server, "Mom of K", visitor=True)
        said = await a.say_ok("share")
        f = await v.react(said["seq"], "thanks")
        assert f["type"] == "ack" and f["duplicate"] is False, f

    run(scenario())


def test_text_is_stored_as_sent(meeting):
    server = meeting
    text = "  <b>not bold</b> & \"quoted\"\n\tsecond line \u2764\ufe0f \U0001F600  "

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        ack = await a.say_ok(text)
        await b.wait_seq(ack["seq"])
        assert b.event(ack["seq"])["text"] == text

    run(scenario())
    assert [r[3] for r in meeting.event_rows()] == [text]


def test_text_of_max_chars_in_four_byte_characters_is_accepted(meeting):
    server = meeting
    text = "\U0001F600" * 4000   # 4000 characters, 16000 bytes: under 16384 with the frame

    async def scenario():
        a = await Client.joined(server, "Ann")
        ack = await a.say_ok(text)
        assert a.event(ack["seq"])["text"] == text

    run(scenario())


def test_event_ts_is_server_time(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        p1 = await a.request({"type": "ping"})
        ack = await a.say_ok("when")
        p2 = await a.request({"type": "ping"})
        ts = a.event(ack["seq"])["ts"]
        assert p1["server_time_ms"] <= ts <= p2["server_time_ms"]

    run(scenario())


def test_concurrent_says_from_one_client_are_all_acked_in_order(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        for n in range(50):
            await a.send({"type": "say", "id": n, "client_msg_id": f"c{n}", "text": f"n{n}"})
        acks = [await a.reply_to(n, 10) for n in range(50)]
        assert [x["seq"] for x in acks] == list(range(1, 51))
        await a.wait_seq(50)
        assert [e["text"] for e in a.events] == [f"n{n}" for n in range(50)]

    run(scenario())
    assert len(meeting.event_rows()) == 50

