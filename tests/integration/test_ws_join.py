"""join -> joined snapshot, leave -> left, presence of others, clients that vanish."""

import pytest

from wsclient import Client, Meeting, module_server, run, seqs, serve


@pytest.fixture(scope="module")
def shared(pg_cluster, tmp_path_factory):
    yield from module_server(pg_cluster, tmp_path_factory, name="ws_join")


@pytest.fixture
def meeting(shared):
    return Meeting(shared)


def test_joined_snapshot_of_empty_session(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        await c.hello("Sam")
        await c.send({"type": "join", "id": 12})
        j = await c.expect("joined")
        assert j["id"] == 12
        assert (j["meeting"]["slug"], j["meeting"]["name"]) == (meeting.slug,
                                                                f"Meeting {meeting.slug}")
        assert j["session"]["last_seq"] == 0
        assert j["session"]["id"] >= 1
        assert j["you"] == {"member": j["you"]["member"], "name": "Sam", "role": "attendee"}
        assert j["members"] == [j["you"]]
        assert j["topic"] is None
        assert j["store"] == "ok"
        assert j["events"] == []
        assert j["more"] is False

    run(scenario())


def test_joined_lists_members_with_roles(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        v = await Client.joined(server, "Mom of K", visitor=True)
        b = await Client.joined(server, "Ben")
        members = b.joined_frame["members"]
        assert sorted((m["name"], m["role"]) for m in members) == [
            ("Ann", "attendee"), ("Ben", "attendee"), ("Mom of K", "visitor")]
        by_name = {m["name"]: m["member"] for m in members}
        assert by_name["Ann"] == a.member and by_name["Mom of K"] == v.member
        assert b.joined_frame["you"] in members
        assert len({m["member"] for m in members}) == 3

    run(scenario())


def test_joined_carries_recent_events_and_last_seq(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        for i in range(3):
            await a.say_ok(f"message {i}")
        b = await Client.joined(server, "Ben")
        j = b.joined_frame
        assert j["session"]["last_seq"] == 3
        assert j["more"] is False
        assert seqs(j["events"]) == [1, 2, 3]
        assert [e["text"] for e in j["events"]] == ["message 0", "message 1", "message 2"]
        assert j["events"] == a.events

    run(scenario())


def test_joined_events_limited_by_history_on_join(start_havend, db):
    server = serve(start_havend, db, config={"rooms": {"history_on_join": 5}})

    async def scenario():
        a = await Client.joined(server, "Ann")
        for i in range(12):
            await a.say_ok(f"message {i}")
        b = await Client.joined(server, "Ben")
        j = b.joined_frame
        assert j["session"]["last_seq"] == 12
        assert seqs(j["events"]) == [8, 9, 10, 11, 12]
        assert j["more"] is False

    run(scenario())


def test_joined_events_empty_with_history_on_join_zero(start_havend, db):
    server = serve(start_havend, db, config={"rooms": {"history_on_join": 0}})

    async def scenario():
        a = await Client.joined(server, "Ann")
        for i in range(3):
            await a.say_ok(f"message {i}")
        b = await Client.joined(server, "Ben")
        assert b.joined_frame["events"] == []
        assert b.joined_frame["session"]["last_seq"] == 3
        # The live stream continues right after last_seq.
        ack = await a.say_ok("after")
        await b.wait_seq(ack["seq"])
        assert seqs(b.events) == [4]

    run(scenario())


def test_two_members_share_one_session_with_own_numbers(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        assert a.joined_frame["session"]["id"] == b.joined_frame["session"]["id"]
        assert a.member != b.member

    run(scenario())


def test_leave_gets_left_with_id(meeting):
    server = meeting

    async def scenario():
        c = await Client.joined(server, "Sam")
        await c.send({"type": "leave", "id": "bye"})
        f = await c.expect("left")
        assert f == {"type": "left", "id": "bye"}

    run(scenario())


def test_after_leave_no_events_arrive(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        f = await b.request({"type": "leave"})
        assert f["type"] == "left"
        await a.say_ok("you are gone")
        assert await b.drain(0.3) + await b.sync() == []

    run(scenario())


def test_leave_then_join_again_with_after_seq_catches_up(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.say_ok("one")
        await b.wait_seq(1)
        assert (await b.request({"type": "leave"}))["type"] == "left"
        await a.say_ok("two")
        await a.say_ok("three")
        j = await b.join(after_seq=1)
        assert seqs(j["events"]) == [2, 3]
        assert j["you"]["member"] == b.member

    run(scenario())


def test_presence_join_seen_by_others(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben", visitor=True)
        p = await a.wait_type("presence")
        assert p == {"type": "presence", "action": "join", "member": b.joined_frame["you"]}
        assert p["member"]["role"] == "visitor"

    run(scenario())


def test_no_presence_about_own_join(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.wait_type("presence")
        assert [f for f in await b.sync() if f["type"] == "presence"] == []

    run(scenario())


def test_presence_leave_on_leave(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.wait_type("presence")
        await b.request({"type": "leave"})
        p = await a.wait_type("presence")
        assert p == {"type": "presence", "action": "leave", "member": b.joined_frame["you"]}

    run(scenario())


def test_presence_leave_on_close(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.wait_type("presence")
        await b.close()
        p = await a.wait_type("presence")
        assert (p["action"], p["member"]) == ("leave", b.joined_frame["you"])

    run(scenario())


def test_killed_client_gets_presence_leave(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.wait_type("presence")
        b.abort()  # the TCP connection goes, without a close frame
        p = await a.wait_type("presence", timeout=5)
        assert (p["action"], p["member"]) == ("leave", b.joined_frame["you"])

    run(scenario())


def test_killed_client_is_removed_from_members(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        await a.wait_type("presence")
        b.abort()
        await a.wait_type("presence", timeout=5)
        c = await Client.joined(server, "Cat")
        assert sorted(m["name"] for m in c.joined_frame["members"]) == ["Ann", "Cat"]

    run(scenario())


def test_killed_client_does_not_disturb_others(meeting):
    server = meeting

    async def scenario():
        a = await Client.joined(server, "Ann")
        b = await Client.joined(server, "Ben")
        c = await Client.joined(server, "Cat")
        b.abort()
        ack = await a.say_ok("still here")
        await c.wait_seq(ack["seq"])
        assert c.event(ack["seq"])["text"] == "still here"

    run(scenario())


def test_member_keeps_name_of_first_join(meeting):
    server = meeting

    async def scenario():
        first = await Client.joined(server, "Dee")
        await first.close()
        again = await Client.connect(server)
        w = await again.hello("Deedee", token=first.token)
        assert w["name"] == "Deedee"
        j = await again.join()
        assert j["you"] == first.joined_frame["you"]

    run(scenario())
