"""Who may read a transcript (issue 9): each policy of transcript_readers (chairs, attendees,
anyone) against each kind of caller, on every reading endpoint (the sessions list, the
transcript page, the three exports, search).  A forbidden read is answered exactly like a
session that does not exist: 404, and no search results.

Each policy has a meeting with two sessions: A, attended by Ana (an attendee token) and by
"acct" (an account without a role, which attends under its own attendee id), and B, attended
by Ben.  Chloe chairs every meeting, Casey co-chairs, Gwen greets, Olga chairs a meeting of
her own, Nina is an account without a role that attended nothing.
"""

import pytest

import harness

from transcript_help import (api, arrive, check, end_session, get, new_meeting, open_session,
                             site as make_site)
from wsclient import run

POLICIES = ("chairs", "attendees", "anyone")
CALLERS = ("anonymous", "attendee_here", "attendee_other_session", "account_attended",
           "chair", "cochair", "other_chair", "greeter", "account_without_role", "admin")
ALWAYS = {"chair", "cochair", "admin"}
ATTENDED = {"A": {"attendee_here", "account_attended"}, "B": {"attendee_other_session"}}
COMMON = "lanterns"


def allowed(policy, caller, session):
    return caller in ALWAYS or policy == "anyone" or (
        policy == "attendees" and caller in ATTENDED[session])


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    yield from make_site(pg_cluster, tmp_path_factory, "transcripts_access")


@pytest.fixture(scope="module")
def world(site):
    """Per policy: the meeting, its sessions A and B, and a token per caller."""
    tok = site.tokens
    out = {}

    async def scenario():
        for policy in POLICIES:
            m = new_meeting(site, readers=policy)
            chloe = await open_session(m, tok["chloe"])
            ana = await arrive(m, "Ana")
            acct = await arrive(m, "Avery", tok["acct"])
            await ana.post(f"Ana's words {policy}alpha: we carry {COMMON} together.")
            await acct.post(f"Avery's words {policy}gamma.")
            await ana.post(f"Never kept {policy}secret {COMMON}.", off_record=True)
            a = await end_session(m, chloe, ana, acct)
            chloe = await open_session(m, tok["chloe"])
            ben = await arrive(m, "Ben")
            await ben.post(f"Ben's words {policy}beta: {COMMON} in the dark.")
            b = await end_session(m, chloe, ben)
            out[policy] = {
                "meeting": m, "A": a, "B": b,
                "tokens": {"anonymous": None, "attendee_here": ana.token,
                           "attendee_other_session": ben.token, "account_attended": tok["acct"],
                           "chair": tok["chloe"], "cochair": tok["casey"],
                           "other_chair": tok["olga"], "greeter": tok["gwen"],
                           "account_without_role": tok["nina"], "admin": tok["root"]},
            }

    run(scenario(), timeout=120)
    return out


def not_found_body(site):
    status, _, body = get(site, "/api/sessions/999999999/transcript", site.tokens["root"])
    assert status == 404
    return body


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("policy", POLICIES)
def test_transcript_page(site, world, policy, caller):
    w = world[policy]
    token = w["tokens"][caller]
    for s in ("A", "B"):
        status, _, body = get(site, f"/api/sessions/{w[s]}/transcript", token)
        if allowed(policy, caller, s):
            assert status == 200, (s, body)
            check(body, "Page")
            assert body["session"]["id"] == w[s]
        else:
            assert status == 404, (s, body)
            assert body == not_found_body(site)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("policy", POLICIES)
def test_exports(site, world, policy, caller):
    w = world[policy]
    token = w["tokens"][caller]
    for ext in ("txt", "md", "json"):
        status, headers, body = get(site, f"/api/sessions/{w['A']}/export.{ext}", token)
        if allowed(policy, caller, "A"):
            assert status == 200, (ext, body)
            assert f"{policy}alpha" in (body if isinstance(body, str) else str(body))
            if ext == "json":
                check(body)
        else:
            assert status == 404, (ext, body)
            assert body == not_found_body(site)
            assert "content-disposition" not in headers


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("policy", POLICIES)
def test_sessions_list(site, world, policy, caller):
    w = world[policy]
    status, _, body = get(site, f"/api/meetings/{w['meeting'].slug}/sessions",
                          w["tokens"][caller])
    assert status == 200, body
    check(body, "SessionList")
    listed = {s["id"] for s in body["sessions"]}
    assert listed == {w[s] for s in ("A", "B") if allowed(policy, caller, s)}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("policy", POLICIES)
def test_search_finds_only_what_the_caller_may_read(site, world, policy, caller):
    w = world[policy]
    token = w["tokens"][caller]
    for s, word in (("A", f"{policy}alpha"), ("A", f"{policy}gamma"), ("B", f"{policy}beta")):
        for meeting in (None, w["meeting"].slug):
            query = {"q": word} if meeting is None else {"q": word, "meeting": meeting}
            status, _, body = get(site, "/api/search", token, **query)
            assert status == 200, body
            check(body, "SearchResults")
            found = [(r["session"], r["seq"]) for r in body["results"]]
            if allowed(policy, caller, s):
                assert len(found) == 1 and found[0][0] == w[s], (word, body)
                assert word in body["results"][0]["snippet"]
            else:
                assert found == [], (word, body)
    # off the record is never found, whoever asks
    status, _, body = get(site, "/api/search", token, q=f"{policy}secret")
    assert status == 200 and body["results"] == []


@pytest.mark.parametrize("caller", CALLERS)
def test_search_across_meetings_returns_only_readable_sessions(site, world, caller):
    readable = {world[p][s] for p in POLICIES for s in ("A", "B")
                if allowed(p, caller, s)}
    token = world["chairs"]["tokens"][caller]
    if caller in ("attendee_here", "attendee_other_session"):
        # attendee tokens differ per meeting: look with each policy's own token
        for p in POLICIES:
            _, _, body = get(site, "/api/search", world[p]["tokens"][caller], q=COMMON,
                             limit=50)
            mine = {world[p][s] for s in ("A", "B") if allowed(p, caller, s)} | \
                {world[q][s] for q in POLICIES for s in ("A", "B") if q == "anyone"}
            assert {r["session"] for r in body["results"]} == mine
        return
    status, _, body = get(site, "/api/search", token, q=COMMON, limit=50)
    assert status == 200
    assert {r["session"] for r in body["results"]} == readable
    for r in body["results"]:
        assert "[[" in r["snippet"] and any(p["match"] for p in r["parts"])
        assert "secret" not in r["snippet"]


def test_not_found_and_forbidden_look_the_same(site, world):
    w = world["chairs"]
    anon = get(site, f"/api/sessions/{w['A']}/transcript")
    missing = get(site, "/api/sessions/987654321/transcript")
    assert anon[0] == missing[0] == 404 and anon[2] == missing[2]
    for path in ("export.txt", "export.md", "export.json"):
        a = get(site, f"/api/sessions/{w['A']}/{path}", w["tokens"]["other_chair"])
        b = get(site, f"/api/sessions/987654321/{path}", w["tokens"]["other_chair"])
        assert a[0] == b[0] == 404 and a[2] == b[2]


def test_search_parameters(site, world):
    for q in ({}, {"q": ""}, {"q": "x" * 201}, {"q": "a\u0001b"}):
        status, _, body = get(site, "/api/search", **q)
        assert status == 400 and body["field"] == "q", (q, body)
    assert get(site, "/api/search", q="x", limit=0)[0] == 400
    assert get(site, "/api/search", q="x", limit=51)[0] == 400
    assert get(site, "/api/search", q="x", offset=1001)[0] == 400
    status, _, body = get(site, "/api/search", q="lanterns", meeting="Not A Slug!")
    assert status == 200 and body["results"] == []
    status, _, body = get(site, "/api/search", q="lanterns", meeting="no-such-meeting")
    assert status == 200 and body["results"] == []
    # only stop words: no results, no error
    status, _, body = get(site, "/api/search", world["anyone"]["tokens"]["admin"], q="the and")
    assert status == 200 and body["results"] == []


def test_search_pages(site, world):
    token = world["chairs"]["tokens"]["admin"]
    _, _, whole = get(site, "/api/search", token, q=COMMON, limit=50)
    assert len(whole["results"]) == 6 and whole["has_more"] is False
    seen = []
    for offset in range(0, 6, 4):
        _, _, page = get(site, "/api/search", token, q=COMMON, limit=4, offset=offset)
        seen += page["results"]
        assert page["has_more"] is (offset + 4 < 6)
    assert [(r["session"], r["seq"]) for r in seen] == \
        [(r["session"], r["seq"]) for r in whole["results"]]
    r = whole["results"][0]
    status, _, page = get(site, r["url"], token)
    assert status == 200 and page["blocks"][0]["entries"][0]["seq"] == r["seq"]


def test_invalid_token_is_refused(site, world):
    status, _, body = api(site, "GET", f"/api/sessions/{world['anyone']['A']}/transcript",
                          token="0" * 64)
    assert status == 401 and body["error"] == "invalid_token"


def test_the_table_in_api_md_says_the_same():
    """proto/API.md's "Who may read" table is what these tests check."""
    text = (harness.REPO / "proto" / "API.md").read_text(encoding="utf-8")
    table = text.split("<!-- transcript-readers -->")[1].split("<!-- /transcript-readers -->")[0]
    rows = [line.strip("|").split("|") for line in table.strip().splitlines()[2:]]
    callers = {
        "anonymous (no token)": ["anonymous"],
        "attendee token of someone in that session": ["attendee_here"],
        "attendee token of someone in another session only": ["attendee_other_session"],
        "account that took part in that session (by its own attendee id)":
            ["account_attended"],
        "account with the chair or co-chair role in the meeting": ["chair", "cochair"],
        "chair of another meeting, greeter, account without a role":
            ["other_chair", "greeter", "account_without_role"],
        "admin": ["admin"],
    }
    seen = set()
    for label, *cells in rows:
        for caller in callers[label.strip()]:
            seen.add(caller)
            for policy, cell in zip(POLICIES, cells):
                assert cell.strip() == ("200" if allowed(policy, caller, "A") else "404"), \
                    (label, policy)
    assert seen == set(CALLERS)
