"""TLS (issue 12): with tls.cert and tls.key set, the one port serves https:// and wss://
(OpenSSL through libwebsockets, HTTP/1.1), every HTTP response carries
Strict-Transport-Security, and plain HTTP to that port gets no answer but a failed
handshake.  A certificate or key that cannot be read is a config error naming the key
(exit 2).  The certificate is a self-signed one made by `openssl req` for each test run."""

import shutil
import socket
import ssl
import subprocess

import pytest

import harness
from wsclient import Client, run


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """(cert path, key path) of a fresh self-signed certificate for 127.0.0.1."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(crt), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return crt, key


def tls_config(cert):
    crt, key = cert
    return {"tls": {"cert": str(crt), "key": str(key)},
            "ws": {"rate_per_sec": 10000, "rate_burst": 100000}}


def test_https_and_wss_on_one_port(start_havend, db, cert):
    server = start_havend(db, config=tls_config(cert)).wait_healthy()
    db.create_meeting("tls-room", "TLS room")

    status, headers, body = server.get("/healthz")
    assert status == 200, body
    assert headers["strict-transport-security"].startswith("max-age=")
    # A static file (served by lws itself) carries it too, and so does a 404.
    for path in ("/", "/no-such-file.txt", "/api/no-such-route"):
        status, headers, _ = server.get(path)
        assert "strict-transport-security" in headers, (path, status, headers)

    # The certificate is checked by the client: a context that does not trust it fails.
    with pytest.raises(ssl.SSLError):
        harness.http_get(server.port, "/healthz", ssl_context=ssl.create_default_context())

    async def scenario():
        assert server.ws_url("tls-room").startswith("wss://")
        a = await Client.joined(server, "Ann", slug="tls-room", ssl=server.ssl_context)
        b = await Client.joined(server, "Ben", slug="tls-room", ssl=server.ssl_context)
        ack = await a.say_ok("over TLS")
        await b.wait_seq(ack["seq"])
        assert b.event(ack["seq"])["text"] == "over TLS"

    run(scenario())
    assert "listening on https://" in server.log_text()


def test_plain_http_to_the_tls_port_fails_cleanly(start_havend, db, cert):
    server = start_havend(db, config=tls_config(cert)).wait_healthy()
    for request in (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /ws/room HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(request)
            got = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        # No HTTP answer: at most a TLS alert record (content type 21), then the close.
        assert not got.startswith(b"HTTP/"), got[:200]
        assert got == b"" or got[0] == 21, got[:50]
    status, _, _ = server.get("/healthz")
    assert status == 200
    assert server.running


def test_no_hsts_without_tls(havend):
    status, headers, _ = havend.get("/healthz")
    assert status in (200, 503)
    assert "strict-transport-security" not in headers


def test_unreadable_cert_or_key_is_a_config_error(cert, tmp_path, db):
    crt, key = cert
    missing = tmp_path / "missing.pem"
    cases = [
        (["--tls-cert", str(missing), "--tls-key", str(key)], "tls.cert"),
        (["--tls-cert", str(crt), "--tls-key", str(missing)], "tls.key"),
        (["--tls-cert", str(crt)], "tls.key"),
        (["--tls-key", str(key)], "tls.cert"),
    ]
    for args, named in cases:
        proc = harness.run_havend([*args, "--check-config"])
        assert proc.returncode == 2, proc
        assert f"config: {named}:" in proc.stderr, proc.stderr
        # The server itself refuses to start the same way.
        proc = harness.run_havend([*args, "--database-url", db.url,
                                   "--listen-port", str(harness.free_port())], timeout=20)
        assert proc.returncode == 2, proc
        assert named in proc.stderr


def test_garbage_certificate_stops_the_start(tmp_path, db):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    proc = harness.run_havend(["--tls-cert", str(bad), "--tls-key", str(bad),
                               "--database-url", db.url,
                               "--listen-port", str(harness.free_port())], timeout=20)
    assert proc.returncode == 1, proc
    assert "tls.cert" in proc.stderr
