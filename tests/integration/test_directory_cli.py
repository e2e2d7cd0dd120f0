"""`havend meeting add|edit|show|del|list` and scripts/demo-data on a fresh database."""

import json
import os
import subprocess

import harness
from directory_help import cli, meeting, request
from harness import REPO


def test_add_show_edit_list_del(db):
    proc = cli(db, "add", doc=meeting("quiet-hour", name="Quiet Hour", days=[6, 0],
                                      time_zone="Europe/Berlin", start_time="08:00"))
    assert proc.returncode == 0, proc.stderr
    assert "meeting quiet-hour added" in proc.stdout
    assert "next: " in proc.stdout and "Europe/Berlin" in proc.stdout

    proc = cli(db, "show", "quiet-hour")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["days"] == [0, 6]
    assert shown["join_url"] == "http://127.0.0.1:8080/m/quiet-hour"
    assert shown["next_occurrence"]["time_zone"] == "Europe/Berlin"

    proc = cli(db, "edit", "quiet-hour", doc={"name": "Quiet Hour (Weekend)", "types": ["C"]})
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(cli(db, "show", "quiet-hour").stdout)
    assert shown["name"] == "Quiet Hour (Weekend)"
    assert shown["types"] == ["C"]
    assert shown["record_transcripts"] is False  # became closed
    assert shown["start_time"] == "08:00"

    proc = cli(db, "list")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        "quiet-hour\tQuiet Hour (Weekend)\tSun,Sat 08:00 Europe/Berlin\tC"]

    proc = cli(db, "del", "quiet-hour")
    assert proc.returncode == 0 and "deleted" in proc.stdout
    assert cli(db, "list").stdout == ""
    assert cli(db, "show", "quiet-hour").returncode == 1


def test_usage(db):
    for args in [(), ("frobnicate",), ("edit",), ("show",), ("list", "extra")]:
        proc = cli(db, *args)
        assert proc.returncode == 2, args
        assert "usage: havend meeting" in proc.stderr
    help_text = harness.run_havend(["--help"]).stdout
    assert "meeting add" in help_text and "meeting list" in help_text


def test_demo_data_fills_an_empty_directory_once(start_havend, db):
    env = dict(harness.clean_env(), HAVEND=str(harness.havend_binary()))
    script = [str(REPO / "scripts" / "demo-data"), "--database-url", db.url]
    proc = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "added 4" in proc.stderr

    server = start_havend(db).wait_healthy()
    status, _, body = request(server, "GET", "/api/meetings")
    assert status == 200
    meetings = body["meetings"]
    assert len(meetings) == 4
    zones = {m["time_zone"] for m in meetings}
    assert {"America/Chicago", "Europe/Berlin", "Australia/Sydney"} <= zones
    kinds = [("O" in m["types"], "C" in m["types"]) for m in meetings]
    assert (True, False) in kinds and (False, True) in kinds
    for m in meetings:
        status, _, full = request(server, "GET", f"/api/meetings/{m['slug']}")
        assert len(full["format"]) >= 3, m["slug"]
        assert full["resources"], m["slug"]
        assert full["contribution_url"].startswith("https://example.org/")
        assert full["next_occurrence"] is not None
        if "C" in full["types"]:
            assert full["record_transcripts"] is False, m["slug"]

    # A second run leaves the directory alone.
    proc = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "leaving it" in proc.stderr
    status, _, body = request(server, "GET", "/api/meetings")
    assert len(body["meetings"]) == 4

    # The demo data's text is the project's own: none of it quotes the usual
    # fellowship literature's opening lines.
    text = (REPO / "scripts" / "demo-data").read_text(encoding="utf-8").lower()
    for phrase in ["we admitted that we were powerless", "just for today", "our common welfare",
                   "we came to believe"]:
        assert phrase not in text
    assert os.access(REPO / "scripts" / "demo-data", os.X_OK)


def test_public_url_setting_is_checked():
    ok = harness.run_havend(["--check-config", "--http-public-url", "https://meet.example.org"])
    assert ok.returncode == 0, ok.stderr
    for bad in ["ftp://meet.example.org", "meet.example.org", "https://", "https://a b"]:
        proc = harness.run_havend(["--check-config", "--http-public-url", bad])
        assert proc.returncode == 2, bad
        assert "http.public_url" in proc.stderr, proc.stderr
