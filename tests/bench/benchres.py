#!/usr/bin/python3
"""Reads the RESULT lines that tests/bench/loadgen prints (used by scripts/bench).

    benchres.py best LOG...          the step with the most deliveries/s and nothing missing,
                                     over all LOGs: prints "MSGS_PER_S DELIVERIES_PER_S LOG STEP"
    benchres.py get LOG KIND STEP KEY
                                     one value (STEP '-' for lines without a step)
    benchres.py curve OUT LOG...     writes a gnuplot data file: one block per LOG (offered
                                     deliveries/s, p50, p90, p99, max, delivered/s), and prints
                                     a table
    benchres.py first-over LOG MS    the first step whose p99 passes MS milliseconds, and the
                                     rate of the step before it: prints "STEP RATE PREV_RATE"
                                     (-1 when none passes)

Standard library only.
"""

import sys


def results(path):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            d = {}
            for tok in line.split()[1:]:
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    d[k] = v
            out.append(d)
    return out


def steps(path):
    return [d for d in results(path) if d.get("kind") == "step"]


def best(logs):
    top = None
    for log in logs:
        for d in steps(log):
            if d.get("missing") != "0" or float(d.get("deliveries_per_s", 0)) <= 0:
                continue
            v = float(d["deliveries_per_s"])
            if top is None or v > top[1]:
                top = (float(d["msgs_per_s"]), v, log, d["step"])
    if top is None:
        print("0 0 - -")
        return 1
    print("%.1f %.1f %s %s" % top)
    return 0


def get(log, kind, step, key):
    for d in results(log):
        if d.get("kind") == kind and (step == "-" or d.get("step") == step):
            print(d.get(key, ""))
            return 0
    print("")
    return 1


def curve(out, logs):
    with open(out, "w", encoding="utf-8") as f:
        for log in logs:
            f.write("# %s\n" % log)
            for d in steps(log):
                conns = int(d["conns"])
                rooms = int(d["rooms"])
                per_room = conns // rooms
                offered = float(d["rate"]) * rooms * per_room
                delivered = float(d["deliveries_per_s"])
                f.write("%.1f %s %s %s %s %.1f %s %s\n" % (
                    offered, d["p50_ms"], d["p90_ms"], d["p99_ms"], d["max_ms"], delivered,
                    d.get("skipped", "0"), d.get("missing", "0")))
                cpu = " ".join("%s %s%%" % (k[4:], v) for k, v in d.items()
                               if k.startswith("cpu_"))
                print("%-22s offered %7.0f/s: delivered %7.0f/s, ms p50 %7s p99 %8s max %8s; "
                      "skipped %s, missing %s; CPU %s, loadgen %s%%" % (
                          d.get("label", "-"), offered, delivered, d["p50_ms"], d["p99_ms"],
                          d["max_ms"], d.get("skipped", "0"), d.get("missing", "0"), cpu,
                          d.get("loadgen_cpu", "?")))
            f.write("\n\n")
    return 0


def first_over(log, ms):
    prev = None
    for d in steps(log):
        if float(d["p99_ms"]) > ms or d.get("missing") != "0":
            print("%s %s %s" % (d["step"], d["rate"], prev if prev is not None else "0"))
            return 0
        prev = d["rate"]
    print("-1 - %s" % (prev if prev is not None else "0"))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "best":
        return best(argv[1:])
    if len(argv) == 5 and argv[0] == "get":
        return get(*argv[1:])
    if len(argv) >= 3 and argv[0] == "curve":
        return curve(argv[1], argv[2:])
    if len(argv) == 3 and argv[0] == "first-over":
        return first_over(argv[1], float(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
