"""hello -> welcome: identity, tokens, two tabs of one member, display-name rules."""

import re

import pytest

from wsclient import Client, Meeting, module_server, run, serve


@pytest.fixture(scope="module")
def shared(pg_cluster, tmp_path_factory):
    yield from module_server(pg_cluster, tmp_path_factory, name="ws_hello")


@pytest.fixture
def meeting(shared):
    return Meeting(shared)


HEX64 = re.compile(r"[0-9a-f]{64}")


def test_hello_gets_welcome_with_new_token(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        await c.send({"type": "hello", "id": 7, "name": "Sam R."})
        w = await c.expect("welcome")
        assert w["id"] == 7
        assert w["protocol"] == "haven.v1"
        assert HEX64.fullmatch(w["token"]), w["token"]
        assert w["name"] == "Sam R."
        assert w["warnings"] == []
        assert w["limits"] == {"max_frame_bytes": 16384, "max_text_chars": 4000,
                               "rate_per_sec": 10000, "rate_burst": 100000}

    run(scenario())


def test_two_hellos_get_different_tokens(meeting):
    server = meeting

    async def scenario():
        a = await Client.connect(server)
        b = await Client.connect(server)
        wa = await a.hello("Ann")
        wb = await b.hello("Ann")
        assert wa["token"] != wb["token"]

    run(scenario())


def test_full_name_is_accepted_with_warning(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        w = await c.hello("Jo Smith")
        assert w["name"] == "Jo Smith"
        assert [x["code"] for x in w["warnings"]] == ["full_name"]
        assert w["warnings"][0]["message"]

    run(scenario())


def test_name_is_trimmed(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        w = await c.hello("   River \t ")
        assert w["name"] == "River"

    run(scenario())


def test_welcome_limits_follow_config(start_havend, db):
    server = serve(start_havend, db, config={"ws": {
        "max_frame_bytes": 2048, "max_text_chars": 300, "rate_per_sec": 2.5, "rate_burst": 7}})

    async def scenario():
        c = await Client.connect(server)
        w = await c.hello("Sam")
        assert w["limits"] == {"max_frame_bytes": 2048, "max_text_chars": 300,
                               "rate_per_sec": 2.5, "rate_burst": 7}

    run(scenario())


def test_hello_with_token_on_second_connection_is_same_member(meeting):
    server = meeting

    async def scenario():
        tab1 = await Client.joined(server, "Dee")
        tab2 = await Client.connect(server, label="Dee-tab2")
        w = await tab2.hello("Dee", token=tab1.token)
        assert w["token"] == tab1.token
        joined = await tab2.join()
        assert joined["you"] == tab1.joined_frame["you"]
        assert [m["member"] for m in joined["members"]] == [tab1.member]

    run(scenario())


def test_two_tabs_announce_presence_join_once(meeting):
    server = meeting

    async def scenario():
        observer = await Client.joined(server, "Obs")
        tab1 = await Client.joined(server, "Dee")
        tab2 = await Client.connect(server, label="Dee-tab2")
        await tab2.hello("Dee", token=tab1.token)
        await tab2.join()
        frames = await observer.sync()
        presences = [f for f in frames if f["type"] == "presence"]
        assert presences == [{"type": "presence", "action": "join",
                              "member": tab1.joined_frame["you"]}]
        # Nor is the member told about its own second tab, on either tab.
        assert [f for f in await tab1.sync() if f["type"] == "presence"] == []
        assert [f for f in await tab2.sync() if f["type"] == "presence"] == []
        # A third connection joining later sees Dee once.
        late = await Client.joined(server, "Late")
        names = sorted(m["name"] for m in late.joined_frame["members"])
        assert names == ["Dee", "Late", "Obs"]

    run(scenario())


def test_two_tabs_presence_leave_only_when_last_tab_goes(meeting):
    server = meeting

    async def scenario():
        observer = await Client.joined(server, "Obs")
        tab1 = await Client.joined(server, "Dee")
        tab2 = await Client.connect(server, label="Dee-tab2")
        await tab2.hello("Dee", token=tab1.token)
        await tab2.join()
        await observer.wait_type("presence")
        await tab1.close()
        frames = await observer.drain(0.5) + await observer.sync()
        assert [f for f in frames if f["type"] == "presence"] == []
        # Still listed while one tab is in.
        probe = await Client.joined(server, "Probe")
        assert "Dee" in [m["name"] for m in probe.joined_frame["members"]]
        await tab2.close()
        leave = await observer.wait_for(
            lambda f: f["type"] == "presence" and f["member"]["name"] == "Dee", 5)
        assert leave["action"] == "leave"
        assert leave["member"]["member"] == tab1.member

    run(scenario())


def test_second_tab_gets_events_of_first(meeting):
    server = meeting

    async def scenario():
        tab1 = await Client.joined(server, "Dee")
        tab2 = await Client.connect(server, label="Dee-tab2")
        await tab2.hello("Dee", token=tab1.token)
        await tab2.join()
        ack = await tab1.say_ok("from tab one")
        await tab2.wait_seq(ack["seq"])
        assert tab2.event(ack["seq"])["text"] == "from tab one"
        assert tab2.event(ack["seq"])["from"]["member"] == tab1.member

    run(scenario())


def test_unknown_token_is_invalid_token(meeting):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        f = await c.hello("Sam", token="ab" * 32, ok=False)
        assert f["type"] == "error" and f["code"] == "invalid_token", f
        # The connection stays in "connected": a hello without a token works.
        w = await c.hello("Sam")
        assert w["token"] != "ab" * 32

    run(scenario())


@pytest.mark.parametrize("token", ["AB" * 32, "ab" * 31, "ab" * 33, "zz" * 32, 5],
                         ids=["upper", "short", "long", "not-hex", "integer"])
def test_malformed_token_is_bad_field(meeting, token):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        f = await c.hello("Sam", token=token, ok=False)
        assert f["type"] == "error", f
        assert (f["code"], f.get("field")) == ("bad_field", "token"), f

    run(scenario())


NAME_ERRORS = [
    ("", "name_empty"),
    ("    ", "name_empty"),
    ("x" * 33, "name_too_long"),
    ("Sa\u200bm", "name_invalid_chars"),
    ("Sa\x07m", "name_invalid_chars"),
    ("Sa\nm", "name_invalid_chars"),
    ("Chair", "name_reserved"),
    ("ADM1N", "name_reserved"),
    ("h a v e n", "name_reserved"),
    ("Host Bob", "name_reserved"),
]


@pytest.mark.parametrize("name,code", NAME_ERRORS,
                         ids=["empty", "spaces", "33-chars", "zero-width-space", "control-char",
                              "newline", "Chair", "ADM1N", "h-a-v-e-n", "Host-Bob"])
def test_bad_name_is_refused(meeting, name, code):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        await c.send({"type": "hello", "id": "h1", "name": name})
        f = await c.expect("error")
        assert f["code"] == code, f
        assert f["id"] == "h1"
        # A refused hello leaves the connection usable for another hello.
        w = await c.hello("Sam")
        assert w["name"] == "Sam"

    run(scenario())


@pytest.mark.parametrize("name", ["x" * 32, "\u00e9" * 32, "\U0001F600" * 32],
                         ids=["ascii", "two-byte", "four-byte"])
def test_name_of_32_characters_is_accepted(meeting, name):
    server = meeting

    async def scenario():
        c = await Client.connect(server)
        w = await c.hello(name)
        assert w["name"] == name

    run(scenario())


def test_visitor_role_shows_in_member_entry(meeting):
    server = meeting

    async def scenario():
        v = await Client.joined(server, "Mom of K", visitor=True)
        a = await Client.joined(server, "Ann")
        assert v.joined_frame["you"]["role"] == "visitor"
        assert a.joined_frame["you"]["role"] == "attendee"
        roles = {m["name"]: m["role"] for m in a.joined_frame["members"]}
        assert roles == {"Mom of K": "visitor", "Ann": "attendee"}

    run(scenario())



def test_second_hello_while_first_is_answered_is_already_hello(meeting):
    server = meeting

    async def scenario():
        first = await Client.joined(server, "Dee")
        c = await Client.connect(server)
        # The token is looked up in the database; the second hello comes meanwhile.
        await c.send({"type": "hello", "id": "one", "name": "Dee", "token": first.token})
        await c.send({"type": "hello", "id": "two", "name": "Other"})
        two = await c.reply_to("two")
        one = await c.reply_to("one")
        assert (two["type"], two["code"]) == ("error", "already_hello"), two
        assert one["type"] == "welcome" and one["token"] == first.token, one

    run(scenario())


def test_name_kept_role_follows_latest_join(meeting):
    """A member keeps the name of its first join in the session; its role is that of its
    latest join (an account's role may change between visits), and what it may do follows."""
    server = meeting

    async def scenario():
        observer = await Client.joined(server, "Obs")
        first = await Client.joined(server, "Dee")
        await first.close()
        again = await Client.connect(server)
        await again.hello("Another Name", token=first.token, visitor=True)
        j = await again.join()
        assert j["you"]["member"] == first.joined_frame["you"]["member"]
        assert j["you"]["name"] == "Dee"
        assert j["you"]["role"] == "visitor"
        await observer.wait_type("presence")
        await observer.wait_type("presence")
        back = await observer.wait_type("presence")
        assert back["member"]["role"] == "visitor" and back["member"]["name"] == "Dee"
        f = await again.request({"type": "say", "client_msg_id": "v", "text": "hi"})
        assert (f["type"], f["code"]) == ("error", "forbidden")

    run(scenario())
