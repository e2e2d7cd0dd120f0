"""A scripted meeting read back (issue 9): the transcript page grouped by share and paged by
seq, the exports (text and Markdown compared with tests/integration/expected/, JSON against
proto/schema/api/transcript.json) and the list of a meeting's sessions.

The meeting is run through the WebSocket protocol: a chair, two attendees, a reading, a
topic, two shares (one ended by its sharer's "[done]", one by the chair), a message off the
record, one taken back by its author and one removed by a chair during the meeting, a
reaction, a vote, a mute, and a message full of Markdown and HTML.
"""

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from transcript_help import (READINGS, api, arrive, by_seq, check, end_session, entries, get,
                             new_meeting, open_session, site as make_site)
from wsclient import run

EXPECTED = Path(__file__).resolve().parent / "expected"
TRICKY = ("# Not a heading\n- not a list\n1. not a list either\n"
          "<script>alert(1)</script> [a link](http://example.org) `code` *star* _under_ | ~x~ "
          "&amp;")


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    yield from make_site(pg_cluster, tmp_path_factory, "transcripts_export")


@pytest.fixture(scope="module")
def scripted(site):
    """Run the scripted meeting once; returns (meeting, session id, facts)."""
    m = new_meeting(site, name="Tuesday Hope", time_zone="America/Chicago")
    tok = site.tokens
    facts = {}

    async def scenario():
        chloe = await open_session(m, tok["chloe"])
        ana = await arrive(m, "Ana")
        ben = await arrive(m, "Ben R.")
        await chloe.ok({"type": "reading", "action": "next"})
        await chloe.ok({"type": "topic", "text": "Gratitude"})
        await chloe.post("Welcome, everyone.")
        await chloe.ok({"type": "call", "member": ana.member})
        facts["scared"] = await ana.post("I was scared to come here.")
        facts["secret"] = await ana.post("My sister's name is Lola.", off_record=True)
        done_seq = await ana.post("Thank you for listening. [done]")
        await ben.see("share_ended", after=done_seq)
        facts["thanks"] = await ben.post("Thank you, Ana.")
        await ben.ok({"type": "react", "client_msg_id": "r1", "seq": facts["scared"],
                      "reaction": "heart"})
        await chloe.ok({"type": "call", "member": ben.member})
        facts["ninety"] = await ben.post("Today I am 90 days clean.")
        facts["taken_back"] = await ben.post("Something I would rather take back.")
        await ben.ok({"type": "delete", "seq": facts["taken_back"]})
        await chloe.ok({"type": "end_share"})
        facts["tricky"] = await ana.post(TRICKY)
        facts["chair_removed"] = await ben.post("Something a chair removes.")
        await chloe.ok({"type": "delete", "seq": facts["chair_removed"]})
        await chloe.ok({"type": "vote_open", "question": "Keep transcripts for 30 days?",
                        "options": ["yes", "no"]})
        vote = (await ana.see("vote_opened"))["seq"]
        await ana.ok({"type": "vote", "vote": vote, "option": 0})
        await ben.ok({"type": "vote", "vote": vote, "option": 0})
        await chloe.ok({"type": "vote_close", "vote": vote})
        await chloe.ok({"type": "mute", "member": ben.member, "muted": True})
        await chloe.ok({"type": "mute", "member": ben.member, "muted": False})
        facts["members"] = {"Chloe": chloe.member, "Ana": ana.member, "Ben R.": ben.member}
        return await end_session(m, chloe, ana, ben)

    sid = run(scenario(), timeout=90)
    return m, sid, facts


def normalise(text):
    """Times and durations vary from run to run: replace them with placeholders."""
    text = re.sub(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{1,2} "
                  r"[A-Z][a-z]+ \d{4}\b", "<date>", text)
    text = re.sub(r"\b\d+ h \d+ min\b|\b\d+ h\b|\b\d+ min \d+ s\b|\b\d+ min\b|\b\d+ s\b",
                  "<duration>", text)
    return re.sub(r"\b([01][0-9]|2[0-3]):[0-5][0-9]\b", "HH:MM", text)


def expected(name):
    return (EXPECTED / name).read_text(encoding="utf-8")


def test_text_export_matches_the_expected_file(site, scripted):
    m, sid, _ = scripted
    status, headers, text = get(site, f"/api/sessions/{sid}/export.txt", site.tokens["chloe"])
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-disposition"].startswith("attachment; filename=")
    assert headers["cache-control"] == "no-store"
    assert normalise(text) == expected("transcript_scripted.txt")


def test_markdown_export_matches_the_expected_file(site, scripted):
    m, sid, _ = scripted
    status, headers, text = get(site, f"/api/sessions/{sid}/export.md", site.tokens["chloe"])
    assert status == 200
    assert headers["content-type"] == "text/markdown; charset=utf-8"
    assert normalise(text) == expected("transcript_scripted.md")


def test_header_is_in_the_meetings_zone(site, scripted):
    m, sid, _ = scripted
    _, _, doc = get(site, f"/api/sessions/{sid}/export.json", site.tokens["chloe"])
    s = doc["session"]
    start = datetime.fromisoformat(s["started_at"][:-1] + "+00:00")
    local = start.astimezone(ZoneInfo("America/Chicago"))
    assert s["started_local"] == local.isoformat()
    assert s["date"] == local.strftime("%Y-%m-%d")
    _, _, text = get(site, f"/api/sessions/{sid}/export.txt", site.tokens["chloe"])
    lines = text.splitlines()
    assert lines[0] == "Tuesday Hope"
    assert lines[1] == f"Transcript of the meeting on {local.strftime('%A')}, {local.day} " \
                       f"{local.strftime('%B %Y')}"
    assert lines[2].startswith(f"{local.strftime('%H:%M')} to ")
    assert "(America/Chicago)" in lines[2]
    assert lines[3] == "3 people, 9 messages"


def test_json_export_follows_the_schema(site, scripted):
    m, sid, facts = scripted
    status, headers, doc = get(site, f"/api/sessions/{sid}/export.json", site.tokens["chloe"])
    assert status == 200 and headers["content-type"] == "application/json"
    check(doc)
    assert doc["meeting"]["slug"] == m.slug and doc["meeting"]["name"] == "Tuesday Hope"
    assert doc["session"]["id"] == sid and doc["session"]["in_progress"] is False
    assert doc["session"]["attendee_count"] == 3 and doc["session"]["message_count"] == 9
    assert "stays here" in doc["notice"]
    # every event of the session, once, in seq order
    seqs = [e["seq"] for e in entries(doc)]
    last = site.db.scalar("SELECT max(seq) FROM events WHERE session_id = %s", (sid,))
    assert seqs == list(range(1, last + 1))


def test_entries_show_what_happened(site, scripted):
    m, sid, f = scripted
    _, _, doc = get(site, f"/api/sessions/{sid}/export.json", site.tokens["chloe"])
    e = by_seq(doc)
    names = f["members"]
    assert e[f["scared"]]["text"] == "I was scared to come here."
    assert e[f["scared"]]["from"] == {"member": names["Ana"], "name": "Ana"}
    assert e[f["secret"]]["status"] == "off_record" and "text" not in e[f["secret"]]
    assert e[f["secret"]]["display"] == "(off the record)"
    assert e[f["taken_back"]]["status"] == "removed" and e[f["taken_back"]]["removed"] == "author"
    assert e[f["taken_back"]]["display"] == "(taken back by the author)"
    assert e[f["chair_removed"]]["removed"] == "chair"
    assert e[f["chair_removed"]]["display"] == "(removed by a chair)"
    assert e[f["tricky"]]["text"] == TRICKY
    closed = next(x for x in entries(doc) if x["kind"] == "vote_closed")
    assert closed["counts"] == [2, 0] and closed["votes"] == 2
    assert closed["display"] == "Vote closed: Keep transcripts for 30 days? (yes 2, no 0)"
    kinds = [x["kind"] for x in entries(doc)]
    for k in ("chair_taken", "settings_changed", "session_started", "reading", "topic",
              "share_started", "share_ended", "reaction", "message_deleted", "muted",
              "unmuted", "session_ended"):
        assert k in kinds, k
    reading = next(x for x in entries(doc) if x["kind"] == "reading")
    assert reading["title"] == READINGS[0]["title"] and reading["text"] == READINGS[0]["text"]
    topic = next(x for x in entries(doc) if x["kind"] == "topic")
    assert topic["display"] == "Topic: Gratitude"
    muted = next(x for x in entries(doc) if x["kind"] == "muted")
    assert muted["display"] == "Chloe muted Ben R."


def test_blocks_group_each_share(site, scripted):
    m, sid, f = scripted
    _, _, doc = get(site, f"/api/sessions/{sid}/export.json", site.tokens["chloe"])
    kinds = [b["type"] for b in doc["blocks"]]
    assert kinds == ["chat", "share", "chat", "share", "chat"]
    ana_share, ben_share = doc["blocks"][1], doc["blocks"][3]
    assert ana_share["sharer"]["name"] == "Ana" and ana_share["called_by"]["name"] == "Chloe"
    assert ana_share["end_reason"] == "done" and ana_share["continued"] is False
    assert ana_share["ended_at"] is not None and ana_share["duration_secs"] >= 0
    assert [x["kind"] for x in ana_share["entries"]] == [
        "share_started", "message", "message", "message", "share_ended"]
    assert ben_share["sharer"]["name"] == "Ben R." and ben_share["end_reason"] == "chair"
    assert f["ninety"] in [x["seq"] for x in ben_share["entries"]]
    # the chat between the shares: Ben's thanks and his reaction
    assert [x["seq"] for x in doc["blocks"][2]["entries"]][0] == f["thanks"]


def test_pages_by_seq_cursor_give_the_same_transcript(site, scripted):
    m, sid, f = scripted
    tok = site.tokens["chloe"]
    _, _, whole = get(site, f"/api/sessions/{sid}/export.json", tok)
    seen, after, pages = [], 0, 0
    while True:
        status, _, page = get(site, f"/api/sessions/{sid}/transcript", tok, after_seq=after,
                              limit=3)
        assert status == 200, page
        check(page, "Page")
        assert page["after_seq"] == after
        got = entries(page)
        assert len(got) <= 3
        seen += got
        pages += 1
        if page["blocks"] and page["blocks"][0]["type"] == "share" and \
                page["blocks"][0]["continued"]:
            # a page that starts inside a share still says whose share it is
            assert page["blocks"][0]["sharer"] is not None
            assert got[0]["kind"] != "share_started"
        if not page["has_more"]:
            assert page["next_after_seq"] == (got[-1]["seq"] if got else after)
            break
        after = page["next_after_seq"]
    assert seen == entries(whole)
    assert pages >= len(seen) // 3
    # a page starting just after Ana's share began is a continued share block
    start = next(x["seq"] for x in entries(whole) if x["kind"] == "share_started")
    _, _, page = get(site, f"/api/sessions/{sid}/transcript", tok, after_seq=start, limit=2)
    first = page["blocks"][0]
    assert first["type"] == "share" and first["continued"] is True
    assert first["sharer"]["name"] == "Ana" and first["end_reason"] == "done"


def test_page_parameters_are_checked(site, scripted):
    m, sid, _ = scripted
    tok = site.tokens["chloe"]
    for q in ("after_seq=-1", "after_seq=x", "limit=0", "limit=1001", "limit=two"):
        status, _, body = get(site, f"/api/sessions/{sid}/transcript?{q}", tok)
        assert status == 400 and body["error"] == "invalid_parameter", (q, body)
    status, _, page = get(site, f"/api/sessions/{sid}/transcript", tok, after_seq=100000)
    assert status == 200 and page["blocks"] == [] and page["has_more"] is False
    for bad in ("0", "abc", "99999999999", "1.5"):
        status, _, body = get(site, f"/api/sessions/{bad}/transcript", tok)
        assert status == 404 and body["error"] == "not_found"


def test_sessions_list_newest_first_with_counts_and_paging(site):
    m = new_meeting(site, time_zone="Pacific/Auckland")
    tok = site.tokens

    async def scenario():
        ids = []
        for i in range(3):
            chloe = await open_session(m, tok["chloe"])
            people = [await arrive(m, f"P{i}-{k}") for k in range(i + 1)]
            for p in people:
                await p.post(f"hello from {p.label}")
            ids.append(await end_session(m, chloe, *people))
        return ids

    ids = run(scenario(), timeout=90)
    status, _, body = get(site, f"/api/meetings/{m.slug}/sessions", tok["chloe"])
    assert status == 200
    check(body, "SessionList")
    assert [s["id"] for s in body["sessions"]] == ids[::-1]
    assert body["next_before"] is None
    for s, i in zip(body["sessions"], (2, 1, 0)):
        assert s["attendee_count"] == i + 2  # the chair and i + 1 attendees
        assert s["message_count"] == i + 1
        assert s["in_progress"] is False and s["purged"] is False and s["recorded"] is True
        assert s["time_zone"] == "Pacific/Auckland"
        start = datetime.fromisoformat(s["started_at"][:-1] + "+00:00")
        local = start.astimezone(ZoneInfo("Pacific/Auckland"))
        assert s["started_local"] == local.isoformat() and s["date"] == str(local.date())
        end = datetime.fromisoformat(s["ended_at"][:-1] + "+00:00")
        assert abs(s["duration_secs"] - (end - start).total_seconds()) <= 1
        assert s["links"]["transcript"] == f"/api/sessions/{s['id']}/transcript"
    # pages of two
    _, _, p1 = get(site, f"/api/meetings/{m.slug}/sessions", tok["chloe"], limit=2)
    assert [s["id"] for s in p1["sessions"]] == ids[:0:-1]
    assert p1["next_before"] == ids[1]
    _, _, p2 = get(site, f"/api/meetings/{m.slug}/sessions", tok["chloe"], limit=2,
                   before=p1["next_before"])
    assert [s["id"] for s in p2["sessions"]] == [ids[0]] and p2["next_before"] is None
    # errors
    assert get(site, "/api/meetings/no-such-meeting/sessions")[0] == 404
    assert get(site, f"/api/meetings/{m.slug}/sessions", limit=101)[0] == 400
    assert get(site, f"/api/meetings/{m.slug}/sessions", before="x")[0] == 400


def test_a_live_session_is_listed_in_progress(site):
    m = new_meeting(site)

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        await chloe.post("We are still here.")
        status, _, body = get(site, f"/api/meetings/{m.slug}/sessions", site.tokens["chloe"])
        assert status == 200
        s = body["sessions"][0]
        assert s["in_progress"] is True and s["ended_at"] is None
        assert s["duration_secs"] is None and s["ended_local"] is None
        status, _, text = get(site, f"/api/sessions/{s['id']}/export.txt", site.tokens["chloe"])
        assert status == 200 and "still going" in text and "We are still here." in text
        await chloe.close()

    run(scenario(), timeout=60)


def test_method_not_allowed(site, scripted):
    m, sid, _ = scripted
    status, _, body = api(site, "POST", f"/api/sessions/{sid}/transcript",
                          site.tokens["chloe"])
    assert status == 405
