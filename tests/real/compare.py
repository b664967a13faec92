#!/usr/bin/env python3
"""Self shares of one real program's run as deferprof and perf record -g saw it.

  tests/real/compare.py DEFERPROF_JSON PERF_DATA WHAT PATTERN [--min-share P] [--tolerance T]

WHAT is 'function' (PATTERN: a regular expression on frame names) or
'module' (on the object's file name). Prints one line; exit 0 when deferprof
gives the pattern at least P% of the samples (default 20) and, when perf
could read the run, its share is within T points (default 10) of perf's.
perf's shares come from `perf report --no-children --sort dso,sym`, the
same self (leaf) shares the JSON gives per frame.
"""
import argparse
import json
import re
import subprocess
import sys


def deferprof_share(path, what, pat):
    doc = json.load(open(path))
    frames = doc["frames"]
    total = hit = 0
    for st in doc["stacks"]:
        n = st["samples"]
        total += n
        if not st["frames"]:
            continue
        leaf = frames[st["frames"][-1]]
        key = leaf.get("name", "") if what == "function" else leaf.get("module") or ""
        if pat.search(key):
            hit += n
    return total, hit


def perf_share(path, what, pat):
    r = subprocess.run(["perf", "report", "-i", path, "--stdio", "--no-children", "-q",
                        "--sort", "dso,sym", "-g", "none", "--percent-limit", "0"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode:
        return None, r.stderr.strip().splitlines()[-1:] or ["perf report failed"]
    share = 0.0
    for line in r.stdout.splitlines():
        # The object may have spaces ("[JIT] tid 1234"): the [.]/[k] mark ends it.
        m = re.match(r"\s*([\d.]+)%\s+(.*?)\s+\[[.k]\]\s+(.*)$", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        key = sym if what == "function" else dso
        if pat.search(key):
            share += pct
    return share, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("perf_data")
    ap.add_argument("what", choices=["function", "module"])
    ap.add_argument("pattern")
    ap.add_argument("--min-share", type=float, default=20)
    ap.add_argument("--tolerance", type=float, default=10)
    a = ap.parse_args()
    pat = re.compile(a.pattern)
    total, hit = deferprof_share(a.json, a.what, pat)
    if not total:
        print(f"deferprof: no samples in {a.json}")
        return 1
    dp = 100.0 * hit / total
    line = f"{a.what} /{a.pattern}/: deferprof {dp:.1f}% of {total}"
    ok = dp >= a.min_share
    if a.perf_data != "-":
        pf, err = perf_share(a.perf_data, a.what, pat)
        if pf is None:
            line += f"; perf record -g unreadable ({err[0]}): not compared"
        else:
            line += f"; perf record -g {pf:.1f}%"
            ok = ok and abs(dp - pf) <= a.tolerance
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
