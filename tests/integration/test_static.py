"""Static files: content types, 404s, security headers, and no way out of the web root.

One server for the module, serving a copy of web-client/ from site/www, with a secret file
next to it (site/secret.txt) that no request may ever return. Requests go out over a raw
socket with the exact request target, so the client does not normalise the paths.
"""

import shutil

import pytest

from harness import WEB_ROOT, Havend

CANARY = "CANARY-outside-the-web-root-7f3a9c"
HIDDEN = "hidden-file-in-subdirectory.txt"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("site")
    www = base / "www"
    shutil.copytree(WEB_ROOT, www)
    (www / "sub").mkdir()
    (www / "sub" / HIDDEN).write_text("only in a subdirectory\n", encoding="utf-8")
    (base / "secret.txt").write_text(CANARY + "\n", encoding="utf-8")
    return base


@pytest.fixture(scope="module")
def server(pg_cluster, site, tmp_path_factory):
    database = pg_cluster.create_database("static")
    havend = Havend(tmp_path_factory.mktemp("havend"), database.url, web_root=site / "www")
    try:
        havend.start()
        yield havend
        havend.stop()
    finally:
        havend.kill()


@pytest.fixture(autouse=True)
def server_survives(server):
    yield
    assert server.running, f"havend died during the test:\n{server.log_text()}"


def media_type(headers):
    return headers.get("content-type", "").split(";")[0].strip().lower()


def test_root_serves_index_html(server):
    status, headers, body = server.get("/")
    assert status == 200
    assert media_type(headers) == "text/html"
    assert b"<title>Haven</title>" in body


def test_css_is_text_css(server):
    status, headers, body = server.get("/app.css")
    assert status == 200
    assert media_type(headers) == "text/css"
    assert body == (WEB_ROOT / "app.css").read_bytes()


def test_js_is_javascript(server):
    status, headers, body = server.get("/app.js")
    assert status == 200
    assert media_type(headers) in ("text/javascript", "application/javascript")
    assert body == (WEB_ROOT / "app.js").read_bytes()


def test_unknown_path_is_404(server):
    status, _, _ = server.get("/no-such-page.html")
    assert status == 404


TRAVERSALS = [
    "/../secret.txt",
    "/./../secret.txt",
    "//../secret.txt",
    "/sub/../../secret.txt",
    "/index.html/../../secret.txt",
    "/www/../secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/sub/..%2f..%2fsecret.txt",
    "/%252e%252e/secret.txt",
    "/..%5csecret.txt",
    "/..\\secret.txt",
    "/..;/secret.txt",
    "/....//secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/..%00/secret.txt",
    "/../../../../../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "{abs}",
    "/{abs}",
    "/%2f{abs_enc}",
    "http://127.0.0.1/../secret.txt",
]


@pytest.mark.parametrize("template", TRAVERSALS)
def test_no_file_outside_web_root(server, site, template):
    secret = str(site / "secret.txt")
    path = template.format(abs=secret, abs_enc=secret.lstrip("/").replace("/", "%2f"))
    status, _, body = server.get(path)
    assert status in (400, 403, 404), f"{path} -> {status}"
    assert CANARY.encode() not in body
    assert b"root:x:0:0" not in body


def test_no_directory_listing(server):
    status, _, body = server.get("/sub/")
    assert status in (403, 404)
    assert HIDDEN.encode() not in body


@pytest.mark.parametrize("path", ["/", "/app.css", "/no-such-page.html"])
def test_security_headers(server, path):
    _, headers, _ = server.get(path)
    assert headers.get("x-content-type-options", "").lower() == "nosniff"
    assert "default-src" in headers.get("content-security-policy", "")
    assert headers.get("referrer-policy", "").lower() == "no-referrer"
