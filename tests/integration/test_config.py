"""Configuration: precedence of the sources, and every kind of invalid input exits 2 naming it.

These run havend as a one-shot command (--print-config / --check-config); no database needed.
"""

import json
import re

import pytest

from harness import run_havend


def lookup(config, key):
    """config["a"]["b"] for key "a.b" (also accepts a flat {"a.b": ...} document)."""
    if key in config:
        return config[key]
    node = config
    for part in key.split("."):
        assert isinstance(node, dict) and part in node, f"{key} missing from {config}"
        node = node[part]
    return node


def write_json(path, obj):
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_precedence_defaults_file_env_flags(tmp_path, havend_binary):
    config = write_json(tmp_path / "haven.json", {
        "listen": {"port": 8100},
        "log": {"level": "warn"},
        "ws": {"max_text_chars": 100, "max_frame_bytes": 2048},
    })
    env = {
        "HAVEN_LISTEN_PORT": "8200",
        "HAVEN_WS_MAX_TEXT_CHARS": "200",
        "HAVEN_WS_MAX_FRAME_BYTES": "3072",
    }
    proc = run_havend(
        ["--config", config, "--listen-port", "8300", "--ws-max-frame-bytes=4096",
         "--print-config"],
        env=env, timeout=15,
    )
    assert proc.returncode == 0, proc.stderr
    effective = json.loads(proc.stdout)

    # Set nowhere: the defaults.
    assert lookup(effective, "listen.address") == "127.0.0.1"
    assert lookup(effective, "ws.rate_burst") == 20
    # File only: the file wins over the default.
    assert lookup(effective, "log.level") == "warn"
    # File and env: env wins.
    assert lookup(effective, "ws.max_text_chars") == 200
    # File, env and flag ("--key value" and "--key=value"): the flag wins.
    assert lookup(effective, "listen.port") == 8300
    assert lookup(effective, "ws.max_frame_bytes") == 4096


def test_check_config_accepts_a_good_file(tmp_path, havend_binary):
    config = write_json(tmp_path / "haven.json", {
        "listen": {"address": "127.0.0.1", "port": 8081},
        "log": {"level": "debug"},
        "http": {"allowed_origins": ["https://haven.example"]},
        "ws": {"rate_per_sec": 2.5, "max_text_chars": 2000},
    })
    proc = run_havend(["--config", config, "--check-config"], timeout=15)
    assert proc.returncode == 0, proc.stderr


INVALID_JSON = '{\n  "listen": {\n    "port": 8080,\n  }\n}\n'

# (id, file contents (dict, text or None), extra args, env, texts stderr must contain)
INVALID = [
    ("file-bad-type", {"listen": {"port": "eighty"}}, [], {}, ["listen.port"]),
    ("file-out-of-range", {"ws": {"max_frame_bytes": 100}}, [], {}, ["ws.max_frame_bytes"]),
    ("file-unknown-nested-key", {"listen": {"prot": 8080}}, [], {}, ["listen.prot"]),
    ("file-unknown-top-key", {"colour": "blue"}, [], {}, ["colour"]),
    ("file-bad-log-level", {"log": {"level": "loud"}}, [], {}, ["log.level"]),
    ("env-bad-value", None, [], {"HAVEN_WS_MAX_FRAME_BYTES": "abc"},
     ["ws.max_frame_bytes", "HAVEN_WS_MAX_FRAME_BYTES"]),
    ("env-out-of-range", None, [], {"HAVEN_LISTEN_PORT": "70000"},
     ["listen.port", "HAVEN_LISTEN_PORT"]),
    ("file-bad-trusted-proxy", {"http": {"trusted_proxies": ["nginx.local"]}}, [], {},
     ["http.trusted_proxies", "nginx.local"]),
    ("flag-bad-trusted-proxy", None, ["--http-trusted-proxies", "10.0.0.0/99"], {},
     ["http.trusted_proxies"]),
    ("flag-bad-value", None, ["--listen-port", "0"], {}, ["listen.port", "--listen-port"]),
    ("flag-bad-enum", None, ["--log-level=loud"], {}, ["log.level", "--log-level"]),
    ("flag-unknown", None, ["--no-such-option", "1"], {}, ["no-such-option"]),
    ("flag-missing-value", None, ["--listen-port"], {}, ["listen-port"]),
]


@pytest.mark.parametrize("contents,args,env,expected",
                         [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_config_exits_2_and_names_the_key(tmp_path, havend_binary,
                                                  contents, args, env, expected):
    argv = []
    if contents is not None:
        path = tmp_path / "haven.json"
        write_json(path, contents)
        argv += ["--config", path]
    # --check-config first, so a wrongly accepted config exits instead of serving; the
    # flag under test comes last (a flag missing its value must be the last argument).
    argv = ["--check-config", *argv, *args]
    proc = run_havend(argv, env=env, timeout=15)
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr:\n{proc.stderr}"
    for text in expected:
        assert text in proc.stderr, f"{text!r} not named in stderr:\n{proc.stderr}"


def test_invalid_json_exits_2_with_line(tmp_path, havend_binary):
    path = tmp_path / "haven.json"
    path.write_text(INVALID_JSON, encoding="utf-8")
    proc = run_havend(["--check-config", "--config", path], timeout=15)
    assert proc.returncode == 2, proc.stderr
    # The trailing comma's error is on line 4 of the file.
    assert re.search(r"\bline\b\D{0,3}4\b", proc.stderr, re.IGNORECASE), proc.stderr


def test_missing_config_file_exits_2(tmp_path, havend_binary):
    path = tmp_path / "no-such-file.json"
    proc = run_havend(["--check-config", "--config", path], timeout=15)
    assert proc.returncode == 2, proc.stderr
    assert "no-such-file.json" in proc.stderr, proc.stderr


def test_print_config_exits_2_on_invalid_value(tmp_path, havend_binary):
    proc = run_havend(["--print-config", "--ws-max-text-chars", "0"], timeout=15)
    assert proc.returncode == 2, proc.stderr
    assert "ws.max_text_chars" in proc.stderr, proc.stderr
