"""Group-conscience votes (issue 14) against the real havend: counts only, never who voted how,
and nothing in the database that links a vote to a person.

The database is compared as a whole before the vote opens and after it closed: every row of
every table, so that a link anywhere (a table of ballots, a column, an event per vote, a
participant row touched by voting) shows up.
"""

import collections
import json

import pytest

from slip_help import CONFIG, join, meeting, open_meeting, request_ok, setup_accounts
from wsclient import Client, module_server, run

QUESTION = "Should the group keep transcripts of this meeting?"
OPTIONS = ["yes", "no", "abstain"]
CHOICES = {"Ash": 0, "Blake": 0, "Cam": 1, "Dana": 0, "Eli": 2}   # three yes, one no, one abstain
VOTE_KEYS = {"seq", "ts", "kind", "from", "vote", "question", "options", "counts", "votes"}


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    gen = module_server(pg_cluster, tmp_path_factory, CONFIG, name="votes")
    server = next(gen)
    try:
        setup_accounts(server)
        yield server
    finally:
        gen.close()


def snapshot(db):
    """Every row of every table, as JSON text, counted per table."""
    tables = [r[0] for r in db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_type = 'BASE TABLE' ORDER BY table_name")]
    return {t: collections.Counter(r[0] for r in db.query(
        f'SELECT row_to_json(x)::text FROM "{t}" x')) for t in tables}


def test_vote_of_five_counts_only_and_no_link_to_a_person(site):
    m = meeting(site, types=("O", "D"), prefix="vote")
    db = site.db

    async def scenario():
        chloe = await open_meeting(m, site.tokens["chloe"])
        voters = {name: await join(m, name) for name in CHOICES}
        visitor = await Client.joined(m, "Val", visitor=True)
        # a round trip through the write queue: every join is stored before the first look
        await request_ok(chloe, {"type": "topic", "text": "Group conscience"})
        before = snapshot(db)

        opened = await request_ok(chloe, {"type": "vote_open", "question": QUESTION,
                                          "options": OPTIONS})
        vote = opened["seq"]
        await voters["Eli"].wait_seq(vote)
        # a member may not open or close a vote
        f = await voters["Ash"].request({"type": "vote_close", "vote": vote})
        assert f["type"] == "error" and f["code"] == "forbidden"
        for n, (name, option) in enumerate(CHOICES.items(), 1):
            await request_ok(voters[name], {"type": "vote", "vote": vote, "option": option})
            state = (await voters["Ash"].wait_for(
                lambda f, n=n: f["type"] == "state" and f["state"]["vote"]
                and f["state"]["vote"]["votes_cast"] == n, what=f"{n} votes cast"))["state"]
            # while open: how many voted, never who or how
            assert set(state["vote"]) == {"id", "question", "options", "votes_cast"}
        f = await voters["Ash"].request({"type": "vote", "vote": vote, "option": 1})
        assert f["type"] == "error" and f["code"] == "already_voted"
        f = await visitor.request({"type": "vote", "vote": vote, "option": 1})
        assert f["type"] == "error" and f["code"] == "forbidden"

        closed = await request_ok(chloe, {"type": "vote_close", "vote": vote})
        results = []
        for c in [chloe, *voters.values()]:
            await c.wait_seq(closed["seq"])
            results.append(c.event(closed["seq"]))
        after = snapshot(db)
        members = {name: c.member for name, c in voters.items()}
        return vote, results, before, after, chloe.member, members

    vote, results, before, after, chair, members = run(scenario())

    # everyone sees the same outcome: question, options and counts; nobody's vote
    for e in results:
        assert e["kind"] == "vote_closed" and set(e) == VOTE_KEYS, e
        assert e["vote"] == vote and e["question"] == QUESTION and e["options"] == OPTIONS
        assert e["counts"] == [3, 1, 1] and e["votes"] == 5
        assert e["from"]["member"] == chair

    # the database: the only change is the two events of the vote, both the chair's
    sid = db.scalar("SELECT s.id FROM sessions s JOIN meetings m ON m.id = s.meeting_id"
                    " WHERE m.slug = %s", (m.slug,))
    changed = {t for t in after if after[t] != before.get(t)}
    assert changed == {"events"}, changed
    added = list((after["events"] - before["events"]).elements())
    removed = list((before["events"] - after["events"]).elements())
    assert removed == []
    rows = sorted((json.loads(r) for r in added), key=lambda r: r["seq"])
    assert [r["kind"] for r in rows] == ["vote_opened", "vote_closed"]
    for r in rows:
        assert r["session_id"] == sid and r["member_no"] == chair, r
        assert r["client_msg_id"] is None
    assert set(rows[0]["body"]) == {"question", "options"}
    assert rows[1]["body"] == {"vote": vote, "question": QUESTION, "options": OPTIONS,
                               "counts": [3, 1, 1], "votes": 5}

    # nowhere a voter's identity next to a vote: no ballot table or column, and no row
    # mentioning a vote carries a voter's attendee id, name or member number
    voter_ids = {no: db.scalar("SELECT attendee_id FROM participants WHERE session_id = %s"
                               " AND member_no = %s", (sid, no)) for no in members.values()}
    assert all(voter_ids.values())
    assert db.query("SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND (table_name ILIKE '%%vote%%'"
                    " OR table_name ILIKE '%%ballot%%' OR column_name ILIKE '%%vote%%')") == []
    for table, rows_of in after.items():
        for text in rows_of:
            if "vote" not in text:
                continue
            for name, no in members.items():
                assert voter_ids[no] not in text and name not in text, (table, text)
            row = json.loads(text)
            assert row.get("member_no") in (None, chair), (table, row)

    # nor in the log
    log = site.log_text()
    for name, no in members.items():
        assert name not in log and voter_ids[no] not in log
