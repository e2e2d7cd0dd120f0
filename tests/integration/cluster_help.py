"""Several havend nodes behind nginx on loopback, for test_cluster.py and tests/bench.

nginx_config() turns config/nginx/haven.conf (the example operators start from) into a
complete nginx.conf for an unprivileged nginx in a directory of its own: the example's
upstream servers are replaced by the given ports, its listen port by ours, and nothing else
changes, so the test exercises the routing that the example documents. Nginx runs that
config in the foreground and stops it again."""

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import harness

TEMPLATE = harness.REPO / "config" / "nginx" / "haven.conf"


def nginx_binary():
    for cand in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def site_config(ports, listen_port, fail_timeout=None):
    """The example site with our upstream servers and listen port."""
    text = TEMPLATE.read_text(encoding="utf-8")
    servers = re.findall(r"^( *)server 127\.0\.0\.1:\d+ (.*);$", text, re.M)
    assert servers, "config/nginx/haven.conf has no upstream server lines"
    indent, params = servers[0]
    if fail_timeout is not None:
        params = re.sub(r"fail_timeout=\S+", f"fail_timeout={fail_timeout}", params)
    lines = "".join(f"{indent}server 127.0.0.1:{p} {params};\n" for p in ports)
    text = re.sub(r"^ *server 127\.0\.0\.1:\d+ .*;\n", "", text, flags=re.M)
    text = re.sub(r"^( *)hash (.*);\n", lambda m: m.group(0) + lines, text, count=1, flags=re.M)
    text, n = re.subn(r"^( *)listen \d+;", rf"\g<1>listen 127.0.0.1:{listen_port};", text,
                      count=1, flags=re.M)
    assert n == 1, "config/nginx/haven.conf has no listen line"
    return text


def nginx_config(prefix, site_path):
    prefix = Path(prefix)
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\n"
        f"pid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\n"
        "events { worker_connections 8192; }\n"
        "http {\n"
        "    access_log off;\n"
        f"    client_body_temp_path {prefix}/tmp/body;\n"
        f"    proxy_temp_path {prefix}/tmp/proxy;\n"
        f"    fastcgi_temp_path {prefix}/tmp/fastcgi;\n"
        f"    uwsgi_temp_path {prefix}/tmp/uwsgi;\n"
        f"    scgi_temp_path {prefix}/tmp/scgi;\n"
        f"    include {site_path};\n"
        "}\n"
    )


class Nginx:
    """nginx in the foreground with its own prefix: start(), then stop()."""

    def __init__(self, workdir, node_ports, fail_timeout=None):
        self.dir = Path(workdir) / "nginx"
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.node_ports = list(node_ports)
        self.fail_timeout = fail_timeout
        self.port = None
        self.proc = None

    def start(self, timeout=10.0):
        binary = nginx_binary()
        assert binary, "nginx is not installed"
        self.port = harness.free_port()
        site = self.dir / "haven.conf"
        site.write_text(site_config(self.node_ports, self.port, self.fail_timeout))
        conf = self.dir / "nginx.conf"
        conf.write_text(nginx_config(self.dir, site))
        with open(self.dir / "stderr", "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c",
                 str(conf), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited with {self.proc.returncode}:\n"
                                     f"{self.log_text()}")
            try:
                harness.http_get(self.port, "/healthz", timeout=1.0)
                return True
            except OSError:
                return False
        harness.wait_until(up, timeout, what="nginx answering")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def ws_url(self, slug):
        return f"ws://127.0.0.1:{self.port}/ws/{slug}"

    def log_text(self):
        out = []
        for name in ("stderr", "error.log"):
            try:
                out.append((self.dir / name).read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(out)


def owners(nodes):
    """{node index: set of slugs} from every running node's /healthz."""
    out = {}
    for i, n in enumerate(nodes):
        if n is None or not n.running:
            continue
        status, body = n.health()
        out[i] = {s["slug"] for s in body["cluster"]["sessions"]}
    return out
