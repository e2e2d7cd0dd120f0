"""Taking words back (issue 9): an author deletes their own message during the meeting (the
WebSocket `delete`) or after it (DELETE /api/sessions/{id}/events/{seq}); a chair removes
anyone's.  The text is gone from the database, and the transcript page, every export and the
search all show the message as taken back or removed."""

import pytest

from transcript_help import (all_rows_text, api, arrive, by_seq, check, end_session, get,
                             new_meeting, open_session, site as make_site, stored)
from wsclient import run


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    yield from make_site(pg_cluster, tmp_path_factory, "transcripts_delete")


@pytest.fixture(scope="module")
def session(site):
    """A finished session: Ana and Ben (attendee tokens) and Avery (an account) spoke; during
    the meeting Ana took one message back and Chloe removed one of Ben's."""
    m = new_meeting(site, readers="anyone")
    s = {"meeting": m}

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        ana = await arrive(m, "Ana")
        ben = await arrive(m, "Ben")
        avery = await arrive(m, "Avery", site.tokens["acct"])
        s["ana_ws"] = await ana.post("Aardvark: I take this back during the meeting.")
        s["ben_ws"] = await ben.post("Bison: a chair removes this during the meeting.")
        s["ana_http"] = await ana.post("Cheetah: I take this back after the meeting.")
        s["ben_http"] = await ben.post("Dingo: a chair removes this after the meeting.")
        s["ana_kept"] = await ana.post("Echidna: this one stays.")
        s["avery"] = await avery.post("Ferret: an account takes this back.")
        s["reading"] = (await chloe.ok({"type": "reading", "action": "next"}))["seq"]
        d = await ana.ok({"type": "delete", "seq": s["ana_ws"]})
        e = await ben.see("message_deleted", after=s["avery"])
        assert e["target_seq"] == s["ana_ws"] and e["by"] == "author" and e["seq"] == d["seq"]
        await chloe.ok({"type": "delete", "seq": s["ben_ws"]})
        s["tokens"] = {"ana": ana.token, "ben": ben.token}
        s["id"] = await end_session(m, chloe, ana, ben, avery)

    run(scenario(), timeout=60)
    return s


def delete(site, sid, seq, token):
    return api(site, "DELETE", f"/api/sessions/{sid}/events/{seq}", token)


def test_author_takes_back_after_the_meeting(site, session):
    sid, tok = session["id"], session["tokens"]
    status, _, body = delete(site, sid, session["ana_http"], tok["ana"])
    assert status == 200, body
    check(body, "Deleted")
    assert body == {"session": sid, "seq": session["ana_http"], "removed": "author"}
    # again: the same answer, nothing else changes
    assert delete(site, sid, session["ana_http"], tok["ana"])[2] == body
    # an account takes back its own words by its attendee id
    status, _, body = delete(site, sid, session["avery"], site.tokens["acct"])
    assert status == 200 and body["removed"] == "author"


def test_chair_removes_after_the_meeting(site, session):
    sid = session["id"]
    status, _, body = delete(site, sid, session["ben_http"], site.tokens["chloe"])
    assert status == 200 and body["removed"] == "chair", body


def test_nobody_else_may_delete(site, session):
    sid, tok = session["id"], session["tokens"]
    missing = delete(site, sid, 999999, tok["ben"])
    assert missing[0] == 404
    # another attendee, an account that did not write it, the chair of another meeting
    for token in (tok["ben"], site.tokens["acct"], site.tokens["olga"]):
        status, _, body = delete(site, sid, session["ana_kept"], token)
        assert status == 404 and body == missing[2]
    status, _, body = delete(site, sid, session["ana_kept"], None)
    assert status == 401 and body["error"] == "unauthenticated"
    # not a message
    status, _, body = delete(site, sid, session["reading"], site.tokens["chloe"])
    assert status == 404
    for bad in ("x", "0", "-1"):
        assert delete(site, sid, bad, tok["ana"])[0] == 404
        assert delete(site, bad, 1, tok["ana"])[0] == 404
    assert "Echidna" in str(stored(site.db, sid))


def test_cochair_and_admin_may_remove(site):
    m = new_meeting(site, readers="chairs")
    s = {}

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        ana = await arrive(m, "Ana")
        s["a"] = await ana.post("Gecko one.")
        s["b"] = await ana.post("Gecko two.")
        s["id"] = await end_session(m, chloe, ana)

    run(scenario(), timeout=60)
    assert delete(site, s["id"], s["a"], site.tokens["casey"])[2]["removed"] == "chair"
    assert delete(site, s["id"], s["b"], site.tokens["root"])[2]["removed"] == "chair"
    assert "Gecko" not in all_rows_text(site.db)


def test_a_live_session_is_changed_from_the_meeting(site):
    """While the session goes on, the meeting itself takes words back (so that everyone in it
    is told); the HTTP delete answers 409 to whoever may delete, 404 to others."""
    m = new_meeting(site, readers="anyone")

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        ana = await arrive(m, "Ana")
        seq = await ana.post("Hedgehog, still live.")
        sid = ana.joined_frame["session"]["id"]
        status, _, body = delete(site, sid, seq, ana.token)
        assert status == 409 and body["error"] == "session_live", body
        status, _, body = delete(site, sid, seq, site.tokens["chloe"])
        assert status == 409
        assert delete(site, sid, seq, site.tokens["olga"])[0] == 404
        await ana.ok({"type": "delete", "seq": seq})
        await end_session(m, chloe, ana)

    run(scenario(), timeout=60)


def test_removals_show_everywhere(site, session):
    """After the deletes above (module order), every way of reading agrees."""
    sid, tok = session["id"], session["tokens"]
    delete(site, sid, session["ana_http"], tok["ana"])
    delete(site, sid, session["ben_http"], site.tokens["chloe"])
    delete(site, sid, session["avery"], site.tokens["acct"])
    gone = {"Aardvark": "author", "Bison": "chair", "Cheetah": "author", "Dingo": "chair",
            "Ferret": "author"}
    seqs = {"Aardvark": session["ana_ws"], "Bison": session["ben_ws"],
            "Cheetah": session["ana_http"], "Dingo": session["ben_http"],
            "Ferret": session["avery"]}
    # the database: the text is gone, the body says who removed it
    rows = {r[0]: r for r in stored(site.db, sid)}
    everything = all_rows_text(site.db)
    for word, by in gone.items():
        assert rows[seqs[word]][4] == {"removed": by}
        assert word not in everything
    # the page
    _, _, page = get(site, f"/api/sessions/{sid}/transcript")
    e = by_seq(page)
    for word, by in gone.items():
        x = e[seqs[word]]
        assert x["status"] == "removed" and x["removed"] == by and "text" not in x
        assert x["display"] == ("(taken back by the author)" if by == "author"
                                else "(removed by a chair)")
    assert e[session["ana_kept"]]["text"] == "Echidna: this one stays."
    # the exports
    _, _, doc = get(site, f"/api/sessions/{sid}/export.json")
    check(doc)
    assert by_seq(doc) == e
    for ext in ("txt", "md"):
        _, _, text = get(site, f"/api/sessions/{sid}/export.{ext}")
        for word in gone:
            assert word not in text
        assert text.count("taken back by the author") == 3
        assert text.count("removed by a chair") == 2
        assert "Echidna" in text
    # the search
    for word in gone:
        assert get(site, "/api/search", q=word)[2]["results"] == []
    assert len(get(site, "/api/search", q="Echidna")[2]["results"]) == 1
    # the message_deleted events of the meeting itself stay, as what happened
    kinds = [x["kind"] for x in page["blocks"][0]["entries"]]
    assert kinds.count("message_deleted") == 2
