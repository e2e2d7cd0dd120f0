"""config/prometheus/haven-alerts.yml: every series it names is one havend serves, and (where
Prometheus's promtool is installed) the rules load and fire when they should, and only then."""

import re
import shutil
import subprocess

import pytest

import harness
from ops_help import scrape
from wsclient import serve

yaml = pytest.importorskip("yaml")

RULES = harness.REPO / "config" / "prometheus" / "haven-alerts.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None,
                                    reason="promtool (Debian package prometheus) not installed")


def _rules():
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r for g in doc["groups"] for r in g["rules"]]


def test_rules_name_only_series_havend_serves(start_havend, db):
    served = scrape(serve(start_havend, db))
    names = {name for name, _ in served.samples}
    labels = {(k, v) for _, ls in served.samples for k, v in ls}
    for rule in _rules():
        expr = rule["expr"]
        for name in re.findall(r"\b((?:haven|process)_[a-z_]+)\b", expr):
            assert name in names, f"{rule['alert']}: {name} is not served"
        for k, v in re.findall(r'(\w+)="([^"]*)"', expr):
            if k not in ("job", "instance"):
                assert (k, v) in labels, f"{rule['alert']}: no series has {k}=\"{v}\""
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_alert_is_explained_in_the_operations_guide():
    guide = (harness.REPO / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    for rule in _rules():
        assert f"`{rule['alert']}`" in guide, f"{rule['alert']} is not in docs/OPERATIONS.md"


@needs_promtool
def test_promtool_accepts_the_rules():
    proc = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


I = 'job="haven",instance="h"'
HEALTHY = {
    f'up{{{I}}}': "1x30",
    f'haven_database_state{{{I},state="ok"}}': "1x30",
    f'haven_store_queue_depth{{{I}}}': "0x30",
    f'haven_store_queue_limit{{{I}}}': "10000x30",
    f'haven_config_last_reload_successful{{{I}}}': "1x30",
    f'process_open_fds{{{I}}}': "40x30",
    f'process_max_fds{{{I}}}': "65536x30",
    f'process_resident_memory_bytes{{{I}}}': "50000000x30",
    f'process_start_time_seconds{{{I}}}': "1700000000x30",
    f'haven_ws_slow_consumer_closes_total{{{I}}}': "0x30",
    f'haven_rate_limited_total{{{I},scope="ws"}}': "0x30",
    f'haven_rate_limited_total{{{I},scope="http"}}': "0x30",
    f'haven_http_responses_total{{{I},class="2xx"}}': "0+60x30",
    f'haven_http_responses_total{{{I},class="5xx"}}': "0x30",
    # 600 probes a minute, all under 1 ms; database round trips under 5 ms. In trouble they
    # move to the next buckets (lag 0.1-0.5 s, round trips 0.25-1 s).
    f'haven_event_loop_lag_seconds_bucket{{{I},le="0.001"}}': "0+600x30",
    f'haven_event_loop_lag_seconds_bucket{{{I},le="0.1"}}': "0+600x30",
    f'haven_event_loop_lag_seconds_bucket{{{I},le="0.5"}}': "0+600x30",
    f'haven_event_loop_lag_seconds_bucket{{{I},le="+Inf"}}': "0+600x30",
    f'haven_database_round_trip_seconds_bucket{{{I},le="0.005"}}': "0+100x30",
    f'haven_database_round_trip_seconds_bucket{{{I},le="0.25"}}': "0+100x30",
    f'haven_database_round_trip_seconds_bucket{{{I},le="1"}}': "0+100x30",
    f'haven_database_round_trip_seconds_bucket{{{I},le="+Inf"}}': "0+100x30",
}

# alert -> (series that differ from HEALTHY, minute by which it must fire, the labels it
# keeps from its expression)
H = {"job": "haven", "instance": "h"}
TROUBLE = {
    "HavenDown": ({f'up{{{I}}}': "1 1 0x28"}, 5, H),
    "HavenDatabaseDown": ({f'haven_database_state{{{I},state="ok"}}': "1 1 0x28"}, 5,
                          {**H, "state": "ok"}),
    "HavenStoreQueueFilling": ({f'haven_store_queue_depth{{{I}}}': "0 0 6000x28"}, 6, H),
    "HavenDatabaseSlow": ({
        f'haven_database_round_trip_seconds_bucket{{{I},le="0.005"}}': "0x30",
        f'haven_database_round_trip_seconds_bucket{{{I},le="0.25"}}': "0x30"}, 20, H),
    "HavenEventLoopLag": ({
        f'haven_event_loop_lag_seconds_bucket{{{I},le="0.001"}}': "0x30",
        f'haven_event_loop_lag_seconds_bucket{{{I},le="0.1"}}': "0x30"}, 15, H),
    "HavenSlowConsumers": ({f'haven_ws_slow_consumer_closes_total{{{I}}}': "0+2x30"}, 10, H),
    "HavenRateLimiting": ({f'haven_rate_limited_total{{{I},scope="ws"}}': "0+300x30"}, 20,
                          {**H, "scope": "ws"}),
    "HavenLoginThrottled": ({f'haven_rate_limited_total{{{I},scope="http"}}': "0+5x30"}, 10,
                            {**H, "scope": "http"}),
    "HavenServerErrors": ({f'haven_http_responses_total{{{I},class="5xx"}}': "0+30x30"}, 20,
                          H),
    "HavenConfigReloadFailed": ({f'haven_config_last_reload_successful{{{I}}}': "1 1 0x28"},
                                10, H),
    "HavenFileDescriptorsRunningOut": ({f'process_open_fds{{{I}}}': "60000x30"}, 10, H),
    "HavenMemoryHigh": ({f'process_resident_memory_bytes{{{I}}}': "3000000000x30"}, 20, H),
    "HavenRestarting": ({f'process_start_time_seconds{{{I}}}': "1 2 3 4 5x26"}, 10, H),
}


def _promtool_test(tmp_path, tests):
    # Annotations are templates checked by `promtool check rules`; here only whether and
    # when each alert fires matters, so a copy without them is tested.
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for g in doc["groups"]:
        for r in g["rules"]:
            r.pop("annotations", None)
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(doc), encoding="utf-8")
    spec = tmp_path / "test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "1m",
                                    "tests": tests}), encoding="utf-8")
    proc = subprocess.run([PROMTOOL, "test", "rules", str(spec)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _series(values):
    return [{"series": k, "values": v} for k, v in values.items()]


@needs_promtool
def test_alerts_fire_on_trouble_and_not_before(tmp_path):
    rules = {r["alert"]: r for r in _rules()}
    assert set(TROUBLE) == set(rules), "every alert needs a scenario here"
    tests = []
    for alert, (changed, at, kept) in TROUBLE.items():
        labels = {**kept, "severity": rules[alert]["labels"]["severity"]}
        tests.append({
            "interval": "1m",
            "input_series": _series({**HEALTHY, **changed}),
            "alert_rule_test": [
                {"eval_time": "1m", "alertname": alert, "exp_alerts": []},
                {"eval_time": f"{at}m", "alertname": alert,
                 "exp_alerts": [{"exp_labels": labels}]},
            ],
        })
    _promtool_test(tmp_path, tests)


@needs_promtool
def test_a_healthy_server_raises_no_alert(tmp_path):
    tests = [{
        "interval": "1m",
        "input_series": _series(HEALTHY),
        "alert_rule_test": [{"eval_time": f"{t}m", "alertname": r["alert"], "exp_alerts": []}
                            for r in _rules() for t in (5, 15, 29)],
    }]
    _promtool_test(tmp_path, tests)
