#!/usr/bin/env python3
"""make soak: deferprof for a long run on a churning target, its resources over time.

  bench/soak.py BUILD_DIR [--seconds 600] [--out bench/results]

The target (dp-bench-work -m sysdeep -t 2 -C dp-live-liba.so) keeps two
threads busy in read(2) under deep stacks, creates and joins a short-lived
thread every 10 ms and dlopen()s and dlclose()s a library every 100 ms.
deferprof profiles it at 4999 Hz with -f ndjson -i 10 (defaults otherwise)
while this script samples, every second, deferprof's resident memory and
open descriptors, and every 10 s the entries of its BPF hash maps (bpftool).
It judges: the memory's, descriptors' and map entries' slopes over the run
after its first minute (flat is the target: under 1 MiB, 1 descriptor and 10
entries per 10 minutes),
every interval line's accounting (samples in stacks and dropped against the
samples BPF saw, cumulated: apart by no more than one round's samples in
flight, and equal in the summary), and no lost records. Results:
OUT/soak-DATE.{md,json} and OUT/soak-latest.{md,json}.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time


def slope(points):
    """Least-squares slope of (t, v) points, per second."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def proc_status(pid):
    rss = hwm = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def map_entries():
    """Entries of deferprof's BPF hash maps (counts0, counts1, stacks), of its latest load.

    Debian's bpftool does not say which process holds a map: the maps of one
    load share a BTF id, and the soak's deferprof is the latest load."""
    try:
        maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True,
                                         text=True, timeout=30).stdout or "[]")
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return {}
    ours = [m for m in maps if m.get("name") in ("counts0", "counts1", "stacks")]
    if not ours:
        return {}
    btf = max(m.get("btf_id", 0) for m in ours)
    out = {}
    for m in ours:
        if m.get("btf_id", 0) != btf:
            continue
        try:
            dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(m["id"])],
                                  capture_output=True, text=True, timeout=60).stdout
            out[m["name"]] = len(json.loads(dump or "[]"))
        except (subprocess.TimeoutExpired, json.JSONDecodeError):
            out[m["name"]] = None
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    ap.add_argument("--out", default="bench/results")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    secs = a.seconds
    tmp = tempfile.mkdtemp(prefix="dp-soak.")
    nd = os.path.join(tmp, "soak.ndjson")
    work = subprocess.Popen([os.path.join(build, "dp-bench-work"), "-m", "sysdeep", "-t", "2",
                             "-s", str(secs + 60), "-C", os.path.join(build, "dp-live-liba.so")])
    time.sleep(0.5)
    if work.poll() is not None:
        sys.exit("soak: the workload did not start")
    dp = subprocess.Popen([os.path.join(build, "deferprof"), "-p", str(work.pid), "-F", "4999",
                           "-d", str(secs), "-f", "ndjson", "-i", "10", "-o", nd],
                          stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    mem, fds, maps = [], [], []
    last_maps = -10.0
    while dp.poll() is None:
        t = time.time() - t0
        try:
            rss, hwm = proc_status(dp.pid)
            nfd = len(os.listdir(f"/proc/{dp.pid}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            break
        if rss is not None:
            mem.append((t, rss, hwm))
        fds.append((t, nfd))
        if t - last_maps >= 10:
            last_maps = t
            maps.append((t, map_entries()))
        time.sleep(1)
    err = dp.stderr.read()
    rc = dp.wait()
    work.terminate()
    work.wait()

    lines = [json.loads(x) for x in open(nd)] if os.path.exists(nd) else []
    intervals = [x for x in lines if x.get("type") == "interval"]
    summary = next((x for x in lines if x.get("type") == "summary"), None)
    worst_gap, cum_bpf, cum_acc, lost = 0, 0, 0, 0
    for x in intervals:
        tot, loss = x["totals"], x["losses"]
        cum_bpf += tot["bpf_samples"]
        cum_acc += tot["samples"] + tot["dropped"]
        # One round's samples may be in flight: 4999 Hz x 2 threads x the 0.5 s round.
        worst_gap = max(worst_gap, abs(cum_bpf - cum_acc))
        lost += loss["lost_records"]
    closed_end = bool(summary) and summary["totals"]["bpf_samples"] == \
        summary["totals"]["samples"] + summary["totals"]["dropped"]
    after = 60 if secs >= 180 else secs / 3
    mem_s = slope([(t, r) for t, r, _ in mem if t >= after]) * 600 / 1024   # MiB per 10 min
    fd_s = slope([(t, n) for t, n in fds if t >= after]) * 600
    map_names = sorted({k for _, m in maps for k in m})
    map_s = {n: slope([(t, m[n]) for t, m in maps if t >= after and m.get(n) is not None]) * 600
             for n in map_names}
    res = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": secs, "exit": rc, "stderr": err.strip().splitlines()[-3:],
        "intervals": len(intervals),
        "samples": summary["totals"]["samples"] if summary else None,
        "peak_rss_kib": max((h for _, _, h in mem if h), default=None),
        "rss_first_kib": mem[0][1] if mem else None, "rss_last_kib": mem[-1][1] if mem else None,
        "rss_slope_mib_per_10min": round(mem_s, 3), "fd_slope_per_10min": round(fd_s, 2),
        "fds_first": fds[0][1] if fds else None, "fds_last": fds[-1][1] if fds else None,
        "map_entries": [{"t": round(t, 1), **m} for t, m in maps],
        "worst_interval_gap": worst_gap, "accounting_closed_at_end": closed_end,
        "lost_records": lost,
        "map_entry_slopes_per_10min": {n: round(v, 1) for n, v in map_s.items()},
    }
    checks = [
        ("deferprof ran to its end", rc == 0 and len(intervals) >= max(1, int(secs / 10) - 1),
         f"exit {rc}, {len(intervals)} interval lines"),
        ("resident memory flat (< 1 MiB per 10 min after the first minute)", abs(mem_s) < 1.0,
         f"{mem_s:+.3f} MiB per 10 min; {res['rss_first_kib']} -> {res['rss_last_kib']} KiB, peak {res['peak_rss_kib']} KiB"),
        ("descriptors flat (< 1 per 10 min)", abs(fd_s) < 1.0,
         f"{fd_s:+.2f} per 10 min; {res['fds_first']} -> {res['fds_last']}"),
        ("accounting closed in every interval (cumulated, one round in flight at most)",
         worst_gap <= 4999 * 2 // 2 and closed_end,
         f"worst gap {worst_gap} samples; summary {'equal' if closed_end else 'NOT equal'}"),
        ("no lost records at defaults", lost == 0, f"{lost} lost"),
        ("BPF map entries flat (< 10 per 10 min after the first minute)",
         bool(map_s) and all(abs(v) < 10 for v in map_s.values()),
         "; ".join(f"{n} {v:+.0f} per 10 min" for n, v in map_s.items()) or "not read (bpftool)"),
    ]
    res["checks"] = [{"check": c, "met": bool(ok), "measured": m} for c, ok, m in checks]
    md = [f"# Soak run ({res['date']})", "",
          f"deferprof -p PID -F 4999 -f ndjson -i 10 -d {secs:g} on `dp-bench-work -m sysdeep -t 2 -C "
          f"dp-live-liba.so` (two threads in read(2) under deep stacks; a thread created and joined "
          f"every 10 ms; a library dlopen'd and dlclose'd every 100 ms). Host {os.uname().release}, "
          f"{os.cpu_count()} CPUs; {res['samples']} samples.", "",
          "| check | met | measured |", "| --- | --- | --- |"]
    md += [f"| {c} | {'yes' if ok else '**NO**'} | {m} |" for c, ok, m in checks]
    md += ["", "## Over time", "",
           "| s | RSS KiB | descriptors |" + "".join(f" {n} entries |" for n in map_names),
           "| --- | --- | --- |" + " --- |" * len(map_names)]
    step = max(1, len(mem) // 20)
    fd_at = dict((round(t), n) for t, n in fds)
    for i in range(0, len(mem), step):
        t, r, _ = mem[i]
        near = min(maps, key=lambda x: abs(x[0] - t), default=(0, {}))[1]
        md.append(f"| {t:.0f} | {r} | {fd_at.get(round(t), '')} |" +
                  "".join(f" {near.get(n, '')} |" for n in map_names))
    os.makedirs(a.out, exist_ok=True)
    stamp = res["date"].replace(":", "").replace("-", "")
    for name in (f"soak-{stamp}", "soak-latest"):
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump(res, f, indent=1)
        with open(os.path.join(a.out, name + ".md"), "w") as f:
            f.write("\n".join(md) + "\n")
    print("\n".join(md[:len(checks) + 6]))
    print(f"soak: results in {a.out}/soak-latest.md")
    sys.exit(0 if all(ok for _, ok, _ in checks) else 1)


if __name__ == "__main__":
    main()
