"""Helpers for the operations tests (test_ops_*.py, issue 15).

scrape(server)      GET /metrics, checked (200, Prometheus text content type) and parsed by
                    prometheus_client's own parser into a Metrics
Metrics             .types[family] and .value(sample name, **labels); a missing sample fails
wait_log(server, s) wait until havend's stderr has a line containing s; returns the lines
rewrite_config(server, change)
                    deep-merge change into the config file havend was started with
"""

import json

from prometheus_client.parser import text_string_to_metric_families

import harness
from wsclient import merge


class Metrics:
    def __init__(self, text):
        self.text = text
        self.types = {}
        self.samples = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for s in family.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def value(self, name, **labels):
        key = (name, frozenset(labels.items()))
        assert key in self.samples, f"no sample {name}{labels} in /metrics:\n{self.text}"
        return self.samples[key]

    def has(self, name, **labels):
        return (name, frozenset(labels.items())) in self.samples

    def buckets(self, family):
        """{le: cumulative count} of a histogram."""
        out = {}
        for (name, labels), v in self.samples.items():
            if name == family + "_bucket":
                out[dict(labels)["le"]] = v
        return out


def get_metrics(server, headers=None):
    """(status, headers, body text) of GET /metrics."""
    status, hdrs, body = harness.http_get(server.port, "/metrics", headers=headers)
    return status, hdrs, body.decode("utf-8")


def scrape(server, headers=None):
    status, hdrs, text = get_metrics(server, headers)
    assert status == 200, f"/metrics answered {status}: {text}"
    assert hdrs["content-type"].startswith("text/plain; version=0.0.4"), hdrs
    return Metrics(text)


def wait_log(server, needle, timeout=10.0, count=1):
    """Wait until at least `count` lines of havend's stderr contain needle; return them."""
    def found():
        lines = [l for l in server.log_text().splitlines() if needle in l]
        return lines if len(lines) >= count else None
    try:
        return harness.wait_until(found, timeout, what=f"log line with {needle!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{server.log_text()}") from None


def rewrite_config(server, change):
    """Merge change into the config file of a running havend (for a SIGHUP)."""
    config = json.loads(server.config_path.read_text(encoding="utf-8"))
    server.config_path.write_text(json.dumps(merge(config, change), indent=2) + "\n",
                                  encoding="utf-8")
