"""What a transcript keeps and shows (issue 9): text said off the record, and everything said
in a meeting that keeps no text, never reaches the database (every column of every table is
searched); transcripts show pseudonyms only, never attendee ids or tokens; the server's log
holds no message text; each message is indexed for search in its meeting's language."""

import pytest

from transcript_help import (all_rows_text, arrive, by_seq, check, end_session, entries, get,
                             new_meeting, open_session, site as make_site, stored)
from wsclient import run


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    yield from make_site(pg_cluster, tmp_path_factory, "transcripts_privacy")


def test_off_the_record_text_never_reaches_the_database(site):
    m = new_meeting(site, readers="anyone")
    secret = "Orchid-7731 is where I used"
    said = {}

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        ana = await arrive(m, "Ana")
        ben = await arrive(m, "Ben")
        said["kept"] = await ana.post("This part may be kept.")
        said["off"] = await ana.post(secret, off_record=True)
        # delivered live, with its text, to everyone in the meeting
        await ben.wait_seq(said["off"])
        live = ben.event(said["off"])
        assert live["text"] == secret and live["off_record"] is True
        said["session"] = await end_session(m, chloe, ana, ben)

    run(scenario(), timeout=60)
    sid = said["session"]
    assert secret not in all_rows_text(site.db)
    assert "Orchid" not in all_rows_text(site.db)
    row = [r for r in stored(site.db, sid) if r[0] == said["off"]][0]
    seq, member_no, kind, cmid, body = row
    assert kind == "message" and body == {"off_record": True}
    # the transcript keeps its place and says what it was
    status, _, doc = get(site, f"/api/sessions/{sid}/export.json")
    assert status == 200
    e = by_seq(doc)[said["off"]]
    assert e["status"] == "off_record" and e["display"] == "(off the record)" and "text" not in e
    for ext in ("txt", "md"):
        _, _, text = get(site, f"/api/sessions/{sid}/export.{ext}")
        assert "(off the record)" in text and "Orchid" not in text
    assert get(site, "/api/search", q="Orchid")[2]["results"] == []
    assert "Orchid" not in site.log_text()


def test_a_meeting_that_keeps_no_text_stores_only_the_outline(site):
    m = new_meeting(site, readers="anyone", record=False)
    said = {}

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        j = chloe.joined_frame["meeting"]["records"]
        assert j["kept"] is False
        ana = await arrive(m, "Ana")
        said["a"] = await ana.post("Quokka words nobody keeps.")
        said["b"] = await ana.post("Quokka again, off the record too.", off_record=True)
        await chloe.ok({"type": "call", "member": ana.member})
        said["c"] = await ana.post("A share about quokkas.")
        await ana.ok({"type": "end_share"})
        said["session"] = await end_session(m, chloe, ana)

    run(scenario(), timeout=60)
    sid = said["session"]
    assert "uokka" not in all_rows_text(site.db)
    status, _, doc = get(site, f"/api/sessions/{sid}/export.json")
    check(doc)
    assert doc["session"]["recorded"] is False and doc["meeting"]["record_transcripts"] is False
    e = by_seq(doc)
    assert e[said["a"]]["status"] == "not_recorded"
    assert e[said["a"]]["display"] == "(not recorded)"
    assert e[said["b"]]["status"] == "not_recorded"  # nothing kept either way
    # the outline is there: the share, who shared and for how long
    share = [b for b in doc["blocks"] if b["type"] == "share"][0]
    assert share["sharer"]["name"] == "Ana" and share["duration_secs"] is not None
    _, _, text = get(site, f"/api/sessions/{sid}/export.txt")
    assert "keeps no record of what is said" in text and "(not recorded)" in text
    assert get(site, "/api/search", q="quokka")[2]["results"] == []


def test_pseudonyms_only(site):
    m = new_meeting(site, readers="anyone")
    out = {}

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        ana = await arrive(m, "Ana")
        acct = await arrive(m, "Avery", site.tokens["acct"])
        await ana.post("Pangolin day one.")
        await acct.post("Pangolin from an account.")
        await chloe.ok({"type": "mute", "member": ana.member, "muted": True})
        out["tokens"] = [ana.token, acct.token, site.tokens["chloe"], site.tokens["acct"]]
        out["session"] = await end_session(m, chloe, ana, acct)

    run(scenario(), timeout=60)
    sid = out["session"]
    ids = [r[0] for r in site.db.query(
        "SELECT attendee_id FROM participants WHERE session_id = %s", (sid,))]
    hashes = [r[0] for r in site.db.query("SELECT encode(token_hash, 'hex') FROM attendees")]
    assert len(ids) == 3 and all(ids)
    replies = [
        get(site, f"/api/sessions/{sid}/transcript")[2],
        get(site, f"/api/sessions/{sid}/export.txt")[2],
        get(site, f"/api/sessions/{sid}/export.md")[2],
        get(site, f"/api/sessions/{sid}/export.json")[2],
        get(site, f"/api/meetings/{m.slug}/sessions")[2],
        get(site, "/api/search", q="pangolin")[2],
    ]
    for reply in replies:
        text = str(reply)
        for secret in ids + hashes + out["tokens"]:
            assert secret not in text
    doc = replies[3]
    names = {e["from"]["name"] for e in entries(doc) if "from" in e}
    assert names == {"Chloe", "Ana", "Avery"}
    assert {r["from"]["name"] for r in replies[5]["results"]} == {"Ana", "Avery"}


@pytest.mark.parametrize("language, config, said, query", [
    ("de", "german", "Die Gruppen haben mir geholfen.", "gruppe"),
    ("es", "spanish", "Las reuniones me ayudaron mucho.", "reunión"),
    ("pt-BR", "portuguese", "As reuniões me ajudaram.", "ajudar"),
    ("en", "english", "The meetings helped me.", "meeting"),
    ("sw", "simple", "Mikutano ilinisaidia.", "mikutano"),
])
def test_search_uses_the_meetings_language(site, language, config, said, query):
    m = new_meeting(site, readers="anyone", language=language)
    out = {}

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        out["seq"] = await chloe.post(said)
        out["session"] = await end_session(m, chloe)

    run(scenario(), timeout=60)
    assert site.db.scalar("SELECT ts_config::text FROM events WHERE session_id = %s AND seq = %s",
                          (out["session"], out["seq"])) == config
    status, _, body = get(site, "/api/search", q=query, meeting=m.slug)
    assert status == 200
    assert [(r["session"], r["seq"]) for r in body["results"]] == [(out["session"], out["seq"])]
    assert "[[" in body["results"][0]["snippet"]


def test_the_gin_index_is_used(site):
    conn = site.db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SET enable_seqscan = off")
            cur.execute(
                "EXPLAIN SELECT 1 FROM events e WHERE e.ts_config = 'english'::regconfig"
                " AND e.ts_config IS NOT NULL AND to_tsvector(e.ts_config, e.body ->> 'text')"
                " @@ websearch_to_tsquery('english'::regconfig, 'meeting')")
            plan = "\n".join(r[0] for r in cur.fetchall())
    finally:
        conn.close()
    assert "events_search" in plan, plan


def test_snippets_mark_matches_safely(site):
    m = new_meeting(site, readers="anyone")
    text = "I said [[brackets]] and <b>tags</b> before the walrus came \ue000 in"
    out = {}

    async def scenario():
        chloe = await open_session(m, site.tokens["chloe"])
        out["seq"] = await chloe.post(text)
        out["session"] = await end_session(m, chloe)

    run(scenario(), timeout=60)
    _, _, body = get(site, "/api/search", q="walrus", meeting=m.slug)
    r = body["results"][0]
    assert "[[walrus]]" in r["snippet"]
    assert [p["text"] for p in r["parts"] if p["match"]] == ["walrus"]
    # the parts are the excerpt itself: the text's own "[[" stays text, and the private-use
    # characters that mark matches inside the server never show
    joined = "".join(p["text"] for p in r["parts"])
    assert "[[brackets]]" in joined and "\ue000" not in joined and "\ue001" not in joined
    assert all(w in text for w in joined.split())


def test_no_message_text_in_the_log(site):
    """After every test above: none of the words said is in havend's log."""
    log = site.log_text()
    for word in ("Pangolin", "Quokka", "quokkas", "Orchid", "walrus", "Gruppen", "reuniones"):
        assert word not in log
