#!/usr/bin/python3
"""Scale-out benchmark (BENCHMARKS.md, "Scale-out"): havend with 1, 2 and 3 nodes behind nginx
(config/nginx/haven.conf), and 1 node without nginx, driven by tests/bench/loadgen.

    tests/bench/cluster_bench.py [--havend build/havend] [--loadgen build/tests/bench/loadgen]
        [--rooms 100] [--per-room 10] [--senders 2] [--window 4] [--duration 10] [--nodes 1,2,3]

Each configuration gets a fresh database in a throwaway PostgreSQL cluster (the test
harness's: trust authentication, Unix socket, fsync on), meetings bench-0 .. bench-(rooms-1),
its nodes (cluster.enabled, listen 127.0.0.1) and nginx. loadgen connects every attendee
through nginx (the room number in /ws/bench-%d spreads the rooms over the nodes by nginx's
consistent hash), and then its senders send as fast as they are delivered (closed loop,
--window messages outstanding each). Printed per configuration: the connection rate (hello
and join included) and deliveries per second with latency percentiles, and which node served
how many rooms; loadgen's own check (every message to every receiver once, in order) must
pass."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import harness  # noqa: E402
from cluster_help import Nginx  # noqa: E402


def run_config(pg, args, nodes, proxied, workdir):
    db = pg.create_database(f"bench{nodes}{'n' if proxied else 'd'}")
    db.migrate()
    db.execute("INSERT INTO meetings (slug, name) SELECT 'bench-' || i, 'Bench room ' || i"
               " FROM generate_series(0, %s - 1) i", (args.rooms,))
    servers = []
    proxy = None
    try:
        for i in range(nodes):
            cfg = {"cluster": {"enabled": True, "node_id": f"node{i + 1}"},
                   "limits": {"connections_per_address": 0},
                   "ws": {"rate_per_sec": 10000, "rate_burst": 100000}}
            s = harness.Havend(workdir / f"n{nodes}{proxied}", db.url, config=cfg,
                               binary=args.havend, port=harness.free_port())
            s.start()
            s.wait_healthy()
            servers.append(s)
        port = servers[0].port
        if proxied:
            proxy = Nginx(workdir / f"n{nodes}", [s.port for s in servers]).start()
            port = proxy.port
        pids = ",".join(str(s.proc.pid) for s in servers)
        argv = [str(args.loadgen), "--port", str(port), "--mode", "haven",
                "--path", "/ws/bench-%d", "--conns", str(args.rooms * args.per_room),
                "--rooms", str(args.rooms), "--senders", str(args.senders),
                "--rates", f"max:{args.window}", "--duration", str(args.duration),
                "--drain", "2", "--connect-concurrency", "100", "--max-outstanding", "1000",
                "--pid", f"havend={pids}",
                "--label", f"{nodes}-nodes-{'nginx' if proxied else 'direct'}"]
        if proxy:
            workers = subprocess.run(["pgrep", "-P", str(proxy.proc.pid)], capture_output=True,
                                     text=True).stdout.split()
            argv += ["--pid", "nginx=" + ",".join([str(proxy.proc.pid)] + workers)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 120)
        # Who served the rooms (sessions keep their last owner's name).
        rooms = dict(db.query("SELECT owner_node, count(*) FROM sessions GROUP BY 1"))
        return out, rooms
    finally:
        if proxy:
            proxy.stop()
        for s in servers:
            s.stop(timeout=20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--havend", default=str(harness.REPO / "build" / "havend"))
    ap.add_argument("--loadgen", default=str(harness.REPO / "build" / "tests" / "bench" / "loadgen"))
    ap.add_argument("--rooms", type=int, default=100)
    ap.add_argument("--per-room", type=int, default=10)
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--nodes", default="1,2,3")
    args = ap.parse_args()
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}, "
          f"{os.cpu_count()} cores")
    pg = harness.PgCluster(fsync=True, name="clusterbench")
    try:
        pg.start()
        with tempfile.TemporaryDirectory() as tmp:
            configs = [(1, False)] + [(int(n), True) for n in args.nodes.split(",")]
            for nodes, proxied in configs:
                out, rooms = run_config(pg, args, nodes, proxied, Path(tmp))
                text = out.stdout
                conn = re.search(r"connected: (\d+) ready, (\d+) failed, in ([\d.]+) s", text)
                step = re.search(r"RESULT kind=step .*", text)
                check = re.search(r"RESULT kind=check .*", text)
                kv = dict(x.split("=", 1) for x in step.group(0).split()[2:] if "=" in x) if step else {}
                print(json.dumps({
                    "config": f"{nodes} node(s) {'via nginx' if proxied else 'direct'}",
                    "rooms_per_node": rooms,
                    "conns": int(conn.group(1)) if conn else None,
                    "connect_s": float(conn.group(3)) if conn else None,
                    "conns_per_s": round(int(conn.group(1)) / float(conn.group(3)))
                    if conn and float(conn.group(3)) > 0 else None,
                    "deliveries_per_s": kv.get("deliveries_per_s"),
                    "p50_ms": kv.get("p50_ms"), "p99_ms": kv.get("p99_ms"),
                    "havend_cpu_pct": kv.get("cpu_havend"), "nginx_cpu_pct": kv.get("cpu_nginx"),
                    "loadgen_cpu_pct": kv.get("loadgen_cpu"),
                    "check": check.group(0) if check else None, "exit": out.returncode,
                }), flush=True)
                if out.returncode not in (0, 3):
                    print(text[-3000:], out.stderr[-2000:], file=sys.stderr)
    finally:
        pg.destroy()
    print(f"load average at end: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
