#!/usr/bin/python3
"""make bench: what in-kernel aggregation and deferral buy, side by side.

Runs on the host (classic mode on kernels < 6.19) and in the VM (Debian's
current kernel, deferred mode; bench/vm-guest.sh), and writes
bench/results/bench-DATE.{md,json} and bench/results/latest.{md,json}.
Every figure is measured in this run; slowdowns are ratios to the
unprofiled runs of the same boot, interleaved. A target not met is
reported as such.

  bench/run.py BUILD_DIR              the full run (make bench)
  bench/run.py BUILD_DIR --smoke      tiny sizes, host only, no thresholds
  bench/run.py BUILD_DIR --peers-only the peer section alone (make bench-peers):
                                      merged into the existing latest.{md,json}
  bench/run.py BUILD_DIR --no-peers   everything but the peer section
  bench/run.py BUILD_DIR --cost-only [--cost-bits 17]
                                      section 3 alone (a minute): peak RSS and
                                      bytes per distinct stack, printed only

The peer section (bench/peers.py) boots a Debian sid guest with perf,
bpftrace and bcc (scripts/sid-guest.sh) and measures deferprof, its
--mode classic, the pinned baseline (bench/baseline.sh) and the peers in
one boot, plus a host part on the classic kernel.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Section 3's profile length: 2 threads at 4999 Hz on 2^17 call paths give
# over 100,000 distinct stacks in 24 s (93,000 in 12 s on an idle machine),
# what the RSS target names.
COST_SECS = 24
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import peers as peerbench  # noqa: E402  bench/peers.py


def log(msg):
    print(f"bench: {msg}", flush=True)


def interrupt_after(p, secs, again_s=5, kill_s=30):
    """SIGINT to p after secs, again every again_s while it runs (a tool still
    starting can miss one: bpftrace once slept on for minutes), SIGKILL kill_s
    after the first; returns p's rusage (its own CPU)."""
    t_int = time.monotonic() + secs
    sent = None
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return ru
        t = time.monotonic()
        if sent is not None and t >= t_int + kill_s:
            p.kill()
        elif t >= t_int and (sent is None or t - sent >= again_s):
            p.send_signal(signal.SIGINT)
            sent = t
        time.sleep(0.05)


def field(rep, pattern, conv=int):
    m = re.search(pattern, rep, re.M)
    return conv(m.group(1)) if m else None


def parse_report(rep):
    """The figures of a deferprof report."""
    return {
        "seen": field(rep, r"samples:\s+(\d+)\s"),
        "in_stacks": field(rep, r"= (\d+) in stacks"),
        "ring_records": field(rep, r"ring:\s+(\d+) records"),
        "ring_bytes": field(rep, r"ring:\s+\d+ records, (\d+) bytes"),
        "lost_records": field(rep, r"ring buffer lost (\d+) records"),
        "distinct_stacks": field(rep, r"Top stacks \((\d+) distinct"),
        "user_lost": field(rep, r"\+ (\d+) user stack lost"),
        "mode": field(rep, r"mode:\s+(\w+)", str),
        "bpf_ns": field(rep, r"bpf:\s+\d+ runs, (\d+) ns per run"),
        "log_samples": field(rep, r"logs:\s+(\d+) samples"),
        "log_bytes": field(rep, r"logs:\s+\d+ samples, (\d+) bytes"),
    }


class Host:
    def __init__(self, build, tmp):
        self.dp = os.path.join(build, "deferprof")
        self.work = os.path.join(build, "dp-bench-work")
        self.tmp = tmp

    def start_work(self, mode, threads=1, secs=None, units=None, bits=None):
        cmd = [self.work, "-m", mode, "-t", str(threads)]
        if secs:
            cmd += ["-s", str(secs)]
        if units:
            cmd += ["-u", str(units)]
        if bits:
            cmd += ["-b", str(bits)]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)

    def profile(self, pid, hz, secs, extra=()):
        """deferprof on pid for secs: its report's figures, its CPU time and peak RSS."""
        out = os.path.join(self.tmp, "rep.txt")
        p = subprocess.Popen([self.dp, "-p", str(pid), "-F", str(hz), "-d", str(secs), "-o", out,
                              *extra], stderr=subprocess.PIPE, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        err = p.stderr.read()
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"deferprof failed: {err.strip()}")
        s = parse_report(open(out, encoding="utf-8").read())
        s["cpu_s"] = round(ru.ru_utime + ru.ru_stime, 4)
        s["max_rss_kib"] = ru.ru_maxrss
        return s

    def leaf_cost(self, hz, secs, reps):
        """The leaf repair's price in the program: BPF ns and log bytes per sample, with it
        and with --no-leaf-repair, interleaved on the same busy target (2 threads)."""
        old = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
        out = {}
        try:
            open("/proc/sys/kernel/bpf_stats_enabled", "w").write("1")
            for wl in ("spin", "sysdeep"):
                w = self.start_work(wl, threads=2)
                time.sleep(0.2)
                runs = {"on": [], "off": []}
                for _ in range(reps):
                    for v, extra in (("on", ("-v",)), ("off", ("-v", "--no-leaf-repair"))):
                        runs[v].append(self.profile(w.pid, hz, secs, extra))
                w.terminate()
                w.wait()
                out[wl] = {}
                for v, rs in runs.items():
                    ns = [r["bpf_ns"] for r in rs if r.get("bpf_ns")]
                    bps = [r["log_bytes"] / r["log_samples"] for r in rs if r.get("log_samples")]
                    out[wl][v] = {"bpf_ns": statistics.median(ns) if ns else None,
                                  "log_bytes_per_sample": round(statistics.median(bps), 1) if bps else None,
                                  "runs": len(rs)}
        finally:
            open("/proc/sys/kernel/bpf_stats_enabled", "w").write(old)
        return out

    def traffic(self, modes, hz, secs):
        res = {}
        for mode in modes:
            for variant, extra in (("deferprof", ()), ("raw", ("--raw",))):
                w = self.start_work(mode)
                time.sleep(0.2)
                s = self.profile(w.pid, hz, secs, extra)
                w.terminate()
                w.wait()
                s["bytes_per_sample"] = round(s["ring_bytes"] / s["seen"], 2) if s["seen"] else None
                s["records_per_sample"] = round(s["ring_records"] / s["seen"], 4) if s["seen"] else None
                res[f"{mode}/{variant}"] = s
        return res

    def timed(self, mode, units, profiler, hz):
        """Wall time of a fixed amount of work, under a profiler attached before it starts."""
        w = subprocess.Popen([self.work, "-W", "-m", mode, "-u", str(units)],
                             stdout=subprocess.PIPE, text=True)
        w.stdout.readline()	# "ready": its SIGUSR1 handler is in place
        prof = None
        if profiler in ("deferprof", "raw"):
            cmd = [self.dp, "-p", str(w.pid), "-F", str(hz), "-o", os.devnull, "-v"]
            if profiler == "raw":
                cmd.append("--raw")
            prof = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
            for line in prof.stderr:	# attached once it says how many events it opened
                if "perf events on" in line:
                    break
        elif profiler == "bpftrace":
            prof = subprocess.Popen(["bpftrace", "-e", f"profile:hz:{hz} /pid == {w.pid}/ "
                                     "{ @[ustack, kstack] = count(); }"],
                                    stdout=subprocess.PIPE, text=True, stderr=subprocess.DEVNULL)
            for line in prof.stdout:
                if line.startswith("Attaching"):
                    break
            time.sleep(0.3)
        w.send_signal(10)	# SIGUSR1: start working
        out, _ = w.communicate()
        if prof:
            prof.send_signal(2)
            prof.communicate()
        return float(out.split()[-1])

    def slowdown(self, mode, units, rates, reps, profilers):
        times = {}
        for _ in range(reps):
            for hz in rates:
                for p in ("none", *profilers):
                    times.setdefault((p, hz), []).append(
                        self.timed(mode, units, None if p == "none" else p, hz))
        res = {}
        for hz in rates:
            base = statistics.median(times[("none", hz)])
            row = {"none_s": round(base, 4)}
            for p in profilers:
                med = statistics.median(times[(p, hz)])
                row[f"{p}_s"] = round(med, 4)
                row[f"{p}_ratio"] = round(med / base, 3)
            res[str(hz)] = row
        return res

    def cost(self, bits_list, hz, threads, secs):
        """deferprof's CPU per 1,000 samples and peak RSS, by distinct stacks."""
        res = {}
        # The fixed cost (probe, BPF load, set-up, symbols) from a target that never runs.
        idle = subprocess.Popen(["sleep", str(secs + 3)])
        base = self.profile(idle.pid, hz, secs)
        idle.terminate()
        idle.wait()
        res["fixed"] = {"cpu_s": base["cpu_s"], "max_rss_kib": base["max_rss_kib"], "seen": base["seen"]}
        # The largest twice: for its full time, and for two thirds of it, nearer the
        # 100,000 distinct stacks the RSS target names (the target is judged at
        # the run with the fewest stacks at or above that).
        runs = [(bits, secs, str(1 << bits)) for bits in bits_list]
        if bits_list and secs >= 4:
            runs.append((bits_list[-1], secs * 2 / 3, f"{1 << bits_list[-1]} ({secs * 2 / 3:g} s)"))
        for bits, run_secs, label in runs:
            w = self.start_work("paths", threads=threads, bits=bits)
            time.sleep(0.2)
            s = self.profile(w.pid, hz, run_secs, ("--max-stacks", "524288", "--top", "1"))
            w.terminate()
            w.wait()
            s["cpu_ms_per_1000_samples"] = round(1e6 * (s["cpu_s"] - base["cpu_s"]) / s["seen"], 2) \
                if s["seen"] else None
            # What each stack costs beyond the fixed part: the figure the stack store is judged by.
            s["bytes_per_stack"] = round(1024 * (s["max_rss_kib"] - base["max_rss_kib"]) /
                                         s["distinct_stacks"], 1) if s["distinct_stacks"] else None
            s["secs"] = run_secs
            res[label] = s
        return res

    def loss(self, rates, threads_list, secs):
        """Lost records at each rate x threads with default settings."""
        res = {}
        for t in threads_list:
            for hz in rates:
                w = self.start_work("sysdeep", threads=t)
                time.sleep(0.2)
                s = self.profile(w.pid, hz, secs)
                w.terminate()
                w.wait()
                res[f"{t}x{hz}"] = {"threads": t, "hz": hz, "lost_records": s["lost_records"],
                                    "user_lost": s["user_lost"], "seen": s["seen"]}
        return res

    def peers(self, hz, secs):
        """bcc's profile and bpftrace on the same workload: completeness and their CPU."""
        res = {}
        # deferprof itself, folded: share of samples whose user stack reaches main
        w = self.start_work("spin")
        time.sleep(0.2)
        out = os.path.join(self.tmp, "dp.folded")
        p = subprocess.Popen([self.dp, "-p", str(w.pid), "-F", str(hz), "-d", str(secs), "-f",
                              "folded", "-o", out], stderr=subprocess.DEVNULL)
        _, _, ru = os.wait4(p.pid, 0)
        w.terminate()
        w.wait()
        tot = main = 0
        for line in open(out, encoding="utf-8"):
            stack, n = line.rsplit(" ", 1)
            tot += int(n)
            main += int(n) if ";main;" in stack else 0
        res["deferprof"] = {"samples": tot, "reach_main": round(main / tot, 4) if tot else None,
                            "cpu_s": round(ru.ru_utime + ru.ru_stime, 4)}
        # bpftrace
        if shutil.which("bpftrace"):
            w = self.start_work("spin")
            time.sleep(0.2)
            outp = os.path.join(self.tmp, "bt.out")
            p = subprocess.Popen(["bpftrace", "-e",
                                  f"profile:hz:{hz} /pid == {w.pid}/ {{ @[ustack] = count(); }}"],
                                 stdout=open(outp, "w"), stderr=subprocess.DEVNULL)
            ru = interrupt_after(p, secs + 1)
            text = open(outp, encoding="utf-8", errors="replace").read()
            w.terminate()
            w.wait()
            tot = main = 0
            for m in re.finditer(r"@\[(.*?)\]: (\d+)", text, re.S):
                n = int(m.group(2))
                tot += n
                main += n if re.search(r"^\s*main\+", m.group(1), re.M) else 0
            res["bpftrace"] = {"samples": tot, "reach_main": round(main / tot, 4) if tot else None,
                               "cpu_s": round(ru.ru_utime + ru.ru_stime, 4)}
        else:
            res["bpftrace"] = {"error": "bpftrace is not installed (make deps)"}
        # bcc's profile compiles its BPF program at run time against kernel headers
        bcc = shutil.which("profile-bpfcc")
        if bcc:
            w = self.start_work("spin")
            time.sleep(0.2)
            p = subprocess.run([bcc, "-F", str(hz), "-p", str(w.pid), "-f", str(secs)],
                               capture_output=True, text=True, check=False)
            w.terminate()
            w.wait()
            if p.returncode:
                lines = p.stderr.strip().splitlines() or ["failed"]
                why = next((l for l in lines if "kernel headers" in l), lines[-1])
                res["bcc_profile"] = {"error": f"cannot run here: {why[:160]}"}
            else:
                tot = main = 0
                for line in p.stdout.splitlines():
                    if " " not in line:
                        continue
                    stack, n = line.rsplit(" ", 1)
                    tot += int(n)
                    main += int(n) if ";main;" in stack else 0
                res["bcc_profile"] = {"samples": tot,
                                      "reach_main": round(main / tot, 4) if tot else None}
        else:
            res["bcc_profile"] = {"error": "bpfcc-tools is not installed (make deps)"}
        return res


def vm_bench(build, smoke, tmp):
    """Boot the VM with bench/vm-guest.sh and read its BENCH lines and recording."""
    env = dict(os.environ, DP_VM_SCRIPT=os.path.join(HERE, "vm-guest.sh"),
               DP_VM_EXTRA=os.path.join(build, "dp-bench-work"), DP_VM_TIMEOUT="1200",
               DP_VM_GUEST_ENV="BENCH_SMOKE=1" if smoke else "BENCH_FULL=1")
    p = subprocess.run([os.path.join(ROOT, "tests/vm/vmtest.sh"), build], env=env,
                       capture_output=True, text=True, check=False)
    path = os.path.join(build, "vmtest-console.log")
    text = open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else ""
    raw, bad = {}, []
    for m in re.finditer(r"^BENCH (\S+) (\{.*\})$", text, re.M):
        try:
            raw[m.group(1)] = json.loads(m.group(2))
        except ValueError:	# a run that printed nothing (e.g. a workload that died): said, not fatal
            bad.append(m.group(0)[:120])
    if not raw:
        return {"error": (p.stdout + p.stderr)[-600:]}
    res = {"kernel": raw.get("kernel", {}), "traffic": {}, "loss": {}, "slowdown": {},
           "bad_lines": bad}
    for k, v in raw.items():
        parts = k.split("/")
        if parts[0] == "traffic":
            v["bytes_per_sample"] = round(v["ring_bytes"] / v["seen"], 2) if v.get("seen") else None
            v["records_per_sample"] = round(v["ring_records"] / v["seen"], 4) if v.get("seen") else None
            res["traffic"][f"{parts[1]}/{parts[2]}"] = v
        elif parts[0] == "loss":
            res["loss"][parts[1]] = v
    times = {}
    for k, v in raw.items():
        parts = k.split("/")
        if parts[0] == "time":
            times.setdefault((parts[1], parts[2]), []).append(v["s"])
    for hz in sorted({h for h, _ in times}, key=int):
        base = statistics.median(times[(hz, "none")])
        row = {"none_s": round(base, 4)}
        for prof in ("deferprof", "raw"):
            if (hz, prof) in times:
                med = statistics.median(times[(hz, prof)])
                row[f"{prof}_s"] = round(med, 4)
                row[f"{prof}_ratio"] = round(med / base, 3)
        res["slowdown"][hz] = row
    res["recording"] = raw.get("recording", {})
    m = re.search(r"^VMFILE-BEGIN rec.bin.gz\n(.*?)^VMFILE-END rec.bin.gz", text, re.M | re.S)
    if m:
        import base64
        import gzip
        rec = os.path.join(tmp, "vm-rec.bin")
        open(rec, "wb").write(gzip.decompress(base64.b64decode(m.group(1))))
        res["recording_file"] = rec
    return res


def replay(build, rec, loops, callgrind):
    """Replay a recording: records per second, and instructions per record under callgrind."""
    tool = os.path.join(build, "dp-replay")
    p = subprocess.run([tool, rec, "--loops", str(loops)], capture_output=True, text=True, check=False)
    if p.returncode:
        return {"error": p.stderr.strip()[-300:]}
    res = json.loads(p.stdout)
    if callgrind and shutil.which("valgrind"):
        out = rec + ".callgrind"
        v = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                            f"--callgrind-out-file={out}", tool, rec, "--loops", "1", "--no-symbols"],
                           capture_output=True, text=True, check=False)
        m = re.search(r"Collected : (\d+)", v.stderr)
        one = json.loads(v.stdout) if v.returncode == 0 and v.stdout.strip() else {}
        if m and one.get("records"):
            res["callgrind_instructions"] = int(m.group(1))
            res["callgrind_instructions_per_record"] = round(int(m.group(1)) / one["records"], 1)
    return res


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def judge(results):
    """The issue's targets, each met or not, with the figures."""
    t = []
    vm = results.get("vm", {})
    tr = vm.get("traffic", {})
    a, r = tr.get("sysdeep/deferprof", {}), tr.get("sysdeep/raw", {})
    x = ratio(a.get("bytes_per_sample"), r.get("bytes_per_sample"))
    t.append(("ring bytes per sample <= 60% of raw (VM, sysdeep)", x is not None and x <= 0.6,
              f"{x:.1%} of raw" if x is not None else "not measured"))
    rp = results.get("replay", {})
    rp = rp.get("vm") or rp.get("host") or {}
    rate = rp.get("records_per_s_with_warm_symbols")
    t.append(("replay >= 1,000,000 records/s", rate is not None and rate >= 1e6,
              f"{rate:,.0f} records/s" if rate else "not measured"))
    cost = results.get("host_cost", {})
    enough = [v for k, v in cost.items() if k != "fixed" and (v.get("distinct_stacks") or 0) >= 100000]
    big = min(enough, key=lambda s: s["distinct_stacks"], default={})
    rss = big.get("max_rss_kib")
    t.append(("peak RSS <= 40 MiB with 100,000 distinct stacks (defaults: inlined frames on)",
              rss is not None and rss <= 40 * 1024,
              f"{rss / 1024:.1f} MiB at {big.get('distinct_stacks')} distinct stacks" if rss
              else "no run reached 100,000 distinct stacks"))
    worse = []
    for where in ("host_slowdown", "vm"):
        sd = results.get(where, {}) if where == "host_slowdown" else vm.get("slowdown", {})
        for hz, row in sd.items():
            if row.get("deferprof_ratio") and row.get("raw_ratio") and \
               row["deferprof_ratio"] > row["raw_ratio"] * 1.02:
                worse.append(f"{where.split('_')[0]} {hz} Hz: {row['deferprof_ratio']} vs {row['raw_ratio']}")
    measured = bool(results.get("host_slowdown")) or bool(vm.get("slowdown"))
    t.append(("slowdown no worse than raw mode at every rate (2% noise allowed)",
              measured and not worse, "; ".join(worse) if worse else ("met" if measured else "not measured")))
    peers = results.get("host_slowdown", {})
    bcc = results.get("peers", {}).get("bcc_profile", {})
    t.append(("slowdown no worse than bcc's profile on the host", False if "error" in bcc else None,
              bcc.get("error", "see the slowdown table")))
    loss = vm.get("loss", {}) or {}
    hl = results.get("host_loss", {})
    row = hl.get("2x999", {})
    vrow = loss.get("2x999", {})
    ok = row.get("lost_records") == 0 and (not vrow or vrow.get("lost_records") == 0)
    t.append(("zero lost records at 999 Hz on 2 busy threads", bool(row) and ok,
              f"host {row.get('lost_records')}, VM {vrow.get('lost_records', 'n/a')}"))
    ex = results.get("export", {})
    worst = max((ex.get(k, 0) for k in ("json_s", "pprof_s", "speedscope_s", "folded_s")), default=0)
    t.append(("export of 100,000 distinct stacks well under 1 s (each format)",
              "error" not in ex and ex.get("export_stacks", 0) >= 100000 and worst < 0.5,
              f"{ex.get('export_stacks')} stacks, slowest format {worst:.3f} s" if ex and "error" not in ex
              else "not measured"))
    if "peer_bench" in results:
        t += peerbench.judge(results["peer_bench"])
    return t


def write_md(results, targets, path):
    L = []
    L.append(f"# deferprof benchmarks, {results['date']}\n")
    L.append(f"Host: kernel {results['host']['kernel']}, {results['host']['cpus']} CPUs; "
             f"VM: {results.get('vm', {}).get('kernel', {}).get('release', 'not run')}. "
             f"Whole run {results.get('elapsed_s')} s.{' SMOKE RUN: tiny sizes, no thresholds.' if results['smoke'] else ''}\n")
    L.append("## Targets\n\n| target | met | measured |\n| --- | --- | --- |")
    for name, met, what in targets:
        L.append(f"| {name} | {'yes' if met else 'n/a' if met is None else '**NO**'} | {what} |")
    def traffic_table(title, tr):
        L.append(f"\n## {title}\n\n| workload / profiler | mode | samples | ring records | ring bytes | bytes/sample | records/sample | deferprof CPU s |\n| --- | --- | --- | --- | --- | --- | --- | --- |")
        for k, s in tr.items():
            L.append(f"| {k} | {s.get('mode')} | {s.get('seen')} | {s.get('ring_records')} | {s.get('ring_bytes')} | {s.get('bytes_per_sample')} | {s.get('records_per_sample')} | {s.get('cpu_s', '')} |")
    vm = results.get("vm", {})
    if vm.get("traffic"):
        traffic_table("1. Ring-buffer traffic, VM (deferred kernel), 999 Hz", vm["traffic"])
    if results.get("host_traffic"):
        traffic_table("1b. Ring-buffer traffic, host", results["host_traffic"])
    def slow_table(title, sd):
        L.append(f"\n## {title}\n\nMedian wall time of a fixed amount of work; ratios to no profiler.\n\n| Hz | none s | deferprof | raw | bpftrace |\n| --- | --- | --- | --- | --- |")
        for hz, r in sd.items():
            L.append(f"| {hz} | {r.get('none_s')} | {r.get('deferprof_ratio')} | {r.get('raw_ratio')} | {r.get('bpftrace_ratio', '')} |")
    if vm.get("slowdown"):
        slow_table("2. Target slowdown, VM (sysdeep)", vm["slowdown"])
    if results.get("host_slowdown"):
        slow_table("2b. Target slowdown, host (sysdeep)", results["host_slowdown"])
    if results.get("host_cost"):
        L.append("\n## 3. Profiler cost, host (paths workload)\n\n| call paths | distinct stacks | samples | deferprof CPU s | CPU ms / 1,000 samples | peak RSS MiB | bytes / distinct stack |\n| --- | --- | --- | --- | --- | --- | --- |")
        fx = results["host_cost"].get("fixed", {})
        L.append(f"| (fixed: an idle target) | | {fx.get('seen')} | {fx.get('cpu_s')} | | {fx.get('max_rss_kib', 0) / 1024:.1f} | |")
        for k, s in results["host_cost"].items():
            if k == "fixed":
                continue
            L.append(f"| {k} | {s.get('distinct_stacks')} | {s.get('seen')} | {s.get('cpu_s')} | {s.get('cpu_ms_per_1000_samples')} | {s['max_rss_kib'] / 1024:.1f} | {s.get('bytes_per_stack', '')} |")
    lc = results.get("leaf_cost")
    if lc:
        L.append("\n## Leaf repair's cost, host (classic, 4999 Hz, 2 busy threads; medians, interleaved)\n")
        L.append("| workload | BPF ns/sample, repair on | off (--no-leaf-repair) | log bytes/sample on | off |")
        L.append("| --- | --- | --- | --- | --- |")
        for wl, v in lc.items():
            L.append(f"| {wl} | {v['on']['bpf_ns']} | {v['off']['bpf_ns']} | "
                     f"{v['on']['log_bytes_per_sample']} | {v['off']['log_bytes_per_sample']} |")
    ex = results.get("export")
    if ex:
        L.append("\n## Export time (issue 5)\n")
        if "error" in ex:
            L.append(f"error: {ex['error']}")
        else:
            L.append(f"{ex['export_stacks']} distinct stacks, {ex['export_frames']} frames "
                     f"(symbolized in {ex['symbolize_s']:.3f} s): json {ex['json_s']:.3f} s, "
                     f"pprof {ex['pprof_s']:.3f} s, speedscope {ex['speedscope_s']:.3f} s, "
                     f"folded {ex['folded_s']:.3f} s; peak RSS of the replay process "
                     f"{ex['max_rss_kib'] / 1024:.1f} MiB.")
            L.append(f"\nThe live view's model with the same {ex.get('top_stacks')} stacks (issue 4): "
                     f"symbolized into it in {ex.get('top_add_s', 0):.3f} s; each refresh computes the "
                     f"function rows in {ex.get('top_functions_ms', 0):.1f} ms and a caller tree in "
                     f"{ex.get('top_tree_ms', 0):.1f} ms (the terminal then gets only changed cells).")
    rp = results.get("replay")
    if rp:
        L.append("\n## 4. User-space throughput (record once, replay)\n\n"
                 "| recording | records per loop | loops | records/s (join + aggregate) | records/s with warm symbols | callgrind instructions per record | samples joined |\n| --- | --- | --- | --- | --- | --- | --- |")
        for k, v in rp.items():
            if "error" in v:
                L.append(f"| {k} | error: {v['error']} | | | | | |")
                continue
            L.append(f"| {k} | {v['ring_records_per_loop'] + v['samples_entries_per_loop']} | {v['loops']} | {v['records_per_s']:,.0f} | {v['records_per_s_with_warm_symbols']:,.0f} | {v.get('callgrind_instructions_per_record', 'n/a')} | {v['joined']} of {v['samples_in']} |")
    for title, key in (("5. Loss, host (sysdeep, default buffers)", "host_loss"),):
        if results.get(key):
            L.append(f"\n## {title}\n\n| threads x Hz | samples | lost records | user stacks lost |\n| --- | --- | --- | --- |")
            for k, s in results[key].items():
                L.append(f"| {k} | {s.get('seen')} | {s.get('lost_records')} | {s.get('user_lost')} |")
    if vm.get("loss"):
        L.append("\n## 5b. Loss, VM\n\n| threads x Hz | samples | lost records | user stacks lost |\n| --- | --- | --- | --- |")
        for k, s in vm["loss"].items():
            L.append(f"| {k} | {s.get('seen')} | {s.get('lost_records')} | {s.get('user_lost')} |")
    if results.get("peers"):
        L.append("\n## 6. Peers on the host kernel (spin workload, 999 Hz)\n\n| profiler | samples | user stacks reaching main | profiler CPU s (whole run, start-up included) | note |\n| --- | --- | --- | --- | --- |")
        for k, s in results["peers"].items():
            L.append(f"| {k} | {s.get('samples', '')} | {s.get('reach_main', '')} | {s.get('cpu_s', '')} | {s.get('error', '')} |")
    if results.get("peer_bench"):
        L += peerbench.md(results["peer_bench"])
    ps = results.get("peer_startup_smoke")
    if ps:
        L.append("\n## Start-up, host (smoke: one run each)\n\n| profiler | idle s | saturated s |\n| --- | --- | --- |")
        for k, s in ps.get("startup", {}).items():
            L.append(f"| {k} | {s.get('idle_s')} | {s.get('saturated_s')} |")
    if results.get("notes"):
        L.append("\n## Notes\n")
        L += [f"- {n}" for n in results["notes"]]
    open(path, "w").write("\n".join(L) + "\n")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--no-vm", action="store_true")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peers-only", action="store_true")
    ap.add_argument("--cost-only", action="store_true")
    ap.add_argument("--cost-bits", type=int, action="append",
                    help="with --cost-only: log2 of the call paths (repeatable; default 17)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    out = a.out or (os.path.join(build, "bench-smoke") if a.smoke else os.path.join(ROOT, "bench/results"))
    tmp = tempfile.mkdtemp(prefix="dp-bench.")
    h = Host(build, tmp)
    t0 = time.time()
    if a.peers_only:
        peers_only(build, out, tmp, t0)
        return
    if a.cost_only:
        cost_only(h, a.cost_bits or [17], tmp, t0)
        return
    R = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "host": {"kernel": platform.release(), "cpus": os.cpu_count()}, "smoke": a.smoke,
         "notes": []}
    small = a.smoke
    log("host: ring traffic, deferprof vs --raw")
    R["host_traffic"] = h.traffic(["sysdeep", "spin"], 999, 1 if small else 3)
    log("host: target slowdown")
    rates = [99, 999] if small else [99, 999, 4999]
    profs = ["deferprof", "raw"] + ([] if small or not shutil.which("bpftrace") else ["bpftrace"])
    R["host_slowdown"] = h.slowdown("sysdeep", 2000 if small else 120000, rates,
                                    1 if small else 5, profs)
    log("host: profiler cost by distinct stacks")
    R["host_cost"] = h.cost([6] if small else [10, 14, 17], 4999, 2, 1 if small else COST_SECS)
    log("host: loss")
    R["host_loss"] = h.loss([999] if small else [999, 4999, 9999, 19999], [2] if small else [1, 2],
                            1 if small else 3)
    log("host: peers")
    R["peers"] = h.peers(999, 1 if small else 4)
    log("host: the leaf repair's cost per sample")
    R["leaf_cost"] = h.leaf_cost(4999, 1, 1 if small else 5)
    log("host: export of a profile with ~100,000 distinct stacks")
    bits = 6 if small else 17
    w = h.start_work("paths", threads=2, bits=bits)
    time.sleep(0.2)
    rec = os.path.join(tmp, "paths-rec.bin")
    h.profile(w.pid, 4999, 1 if small else 16, ("--max-stacks", "524288", "--record", rec))
    # Replayed while the workload exists, so that its symbols resolve, but
    # stopped, so that it does not take the CPUs the export is timed on.
    w.send_signal(19)	# SIGSTOP
    p = subprocess.run([os.path.join(build, "dp-replay"), rec, "--export", tmp],
                       capture_output=True, text=True, check=False)
    w.send_signal(18)	# SIGCONT
    w.terminate()
    w.wait()
    line = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    R["export"] = json.loads(line) if p.returncode == 0 and line.startswith("{") \
        else {"error": (p.stderr or p.stdout)[-300:]}
    log("host: record once, replay")
    w = h.start_work("sysdeep")
    time.sleep(0.2)
    rec = os.path.join(tmp, "host-rec.bin")
    h.profile(w.pid, 999, 1 if small else 3, ("--record", rec))
    w.terminate()
    w.wait()
    R["replay"] = {"host": replay(build, rec, 2 if small else 200, callgrind=not small)}
    if not small and not a.no_vm:
        log("VM: traffic, slowdown, loss, a recording on the deferred path (minutes under TCG)")
        R["vm"] = vm_bench(build, small, tmp)
        for line in R["vm"].get("bad_lines", []):
            R["notes"].append(f"VM: a run printed no figure, left out: {line}")
        if R["vm"].get("recording_file"):
            R["replay"]["vm"] = replay(build, R["vm"].pop("recording_file"), 200, callgrind=True)
    if not small and not a.no_vm and not a.no_peers:
        log("peers: deferprof, its baseline and perf, bpftrace, bcc in one sid guest boot (about 30 min)")
        try:
            R["peer_bench"] = peerbench.run_all(build, tmp)
        except Exception as e:	# the other sections' results are still written
            R["peer_bench"] = {"guest": {"error": f"peer section failed: {e!r}"[:500]}}
    if small:
        log("host: start-up, deferprof vs perf record -g (one run each)")
        try:
            R["peer_startup_smoke"] = peerbench.host_section(build, build, tmp, reps=1, quick=True)
        except Exception as e:	# perf missing or not permitted: the smoke run goes on
            R["notes"].append(f"host start-up smoke not measured: {e!r}"[:300])
    R["elapsed_s"] = round(time.time() - t0, 1)
    write_results(R, out, tmp)


def write_results(R, out, tmp):
    targets = judge(R)
    R["targets"] = [{"target": n, "met": m, "measured": w} for n, m, w in targets]
    os.makedirs(out, exist_ok=True)
    stamp = R["date"].replace(":", "").replace("-", "")
    for name in (f"bench-{stamp}", "latest"):
        json.dump(R, open(os.path.join(out, name + ".json"), "w"), indent=1)
        md = write_md(R, targets, os.path.join(out, name + ".md"))
    print(md)
    log(f"results in {out}/latest.md and latest.json ({R['elapsed_s']} s)")
    shutil.rmtree(tmp, ignore_errors=True)


def cost_only(h, bits, tmp, t0):
    """Section 3 alone, with make bench's settings: printed, no results file written."""
    R = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "host": {"kernel": platform.release(), "cpus": os.cpu_count()}, "smoke": False}
    log(f"host: profiler cost by distinct stacks (paths 2^{bits})")
    R["host_cost"] = h.cost(bits, 4999, 2, COST_SECS)
    R["elapsed_s"] = round(time.time() - t0, 1)
    print(json.dumps(R["host_cost"], indent=1))
    print(write_md(R, [], os.path.join(tmp, "cost.md")))
    shutil.rmtree(tmp, ignore_errors=True)


def peers_only(build, out, tmp, t0):
    """make bench-peers: the peer section, merged into the last full results."""
    prev = os.path.join(out, "latest.json")
    R = None
    if os.path.exists(prev):
        try:
            R = json.load(open(prev))
        except ValueError:
            R = None
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not R or R.get("smoke"):
        R = {"date": now, "host": {"kernel": platform.release(), "cpus": os.cpu_count()}, "smoke": False,
             "notes": ["peer section only (make bench-peers): no other section was run"]}
    else:
        R.setdefault("sections_date", R["date"])
        R["notes"] = [n for n in R.get("notes", []) if not n.startswith("peer section")] + \
            [f"peer section from make bench-peers at {now}; the other sections from the run of {R['sections_date']}"]
        R["date"] = now
    R.pop("targets", None)
    try:
        R["peer_bench"] = peerbench.run_all(build, tmp)
    except Exception as e:
        R["peer_bench"] = {"guest": {"error": f"peer section failed: {e!r}"[:500]}}
    R["elapsed_s"] = round(time.time() - t0, 1)
    write_results(R, out, tmp)


if __name__ == "__main__":
    main()
