#!/usr/bin/python3
"""make bench-peers: deferprof side by side with its peers on a deferred kernel.

One boot of a Debian sid guest (scripts/sid-guest.sh: Linux >= 6.19, perf,
bpftrace, bcc, bpftool) under QEMU with -icount (guest time counts
instructions), and a short host section (classic kernel). Profilers:

  none                 no profiler (the reference of every ratio)
  deferprof            the current build, default (deferred) mode
  deferprof-classic    the current build, --mode classic
  deferprof@BASE       the pinned baseline build (bench/baseline.sh), deferred
  deferprof-noleaf, deferprof-classic-noleaf
                       the same with --no-leaf-repair (not in the default set:
                       DP_PEERS_PROFILERS names them, to price the leaf capture)
  perf-defer           perf record --call-graph fp,defer
  perf-g               perf record -g
  bpftrace             profile:hz:N /pid == PID/ { @[ustack, kstack] = count(); }
  bcc                  profile-bpfcc -p PID -F N -f

The same file runs in the guest (`peers.py guest CONFIG OUT`) and on the host
(bench/run.py imports it). Python 3 standard library only.

Start-up is the time from launching a profiler to the moment its sampling
events are live, as each tool tells it: deferprof's -v line (printed as it
enables its events: "perf events on ..." or "events enabled after N ms"),
perf's --control ack of an `enable` sent at launch (perf started with -D -1,
so the ack comes once it is set up and has enabled its events), bpftrace's
BEGIN probe (fired after its probes are attached), bcc's attach_perf_event()
returning (a two-line wrapper around profile-bpfcc prints a mark then).
"""
import json
import os
import re
import signal
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASE_COMMIT = os.environ.get("DP_BASELINE_COMMIT", "9d63216")
BASE = f"deferprof@{BASE_COMMIT[:7]}"
PROFILERS = ["none", "deferprof", "deferprof-classic", BASE, "perf-defer", "perf-g", "bpftrace", "bcc"]
NOLEAF = ["deferprof-noleaf", "deferprof-classic-noleaf"]
BPF_PROFILERS = ["deferprof", "deferprof-classic", BASE, "bpftrace", "bcc"] + NOLEAF
PERF_PROFILERS = ["perf-defer", "perf-g"]

BCC_WRAPPER = r"""
import sys, runpy, bcc
_attach = bcc.BPF.attach_perf_event
def attach(self, *a, **k):
    r = _attach(self, *a, **k)
    sys.stdout.write("dp-ready\n"); sys.stdout.flush()
    return r
bcc.BPF.attach_perf_event = attach
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def cpu_ns(pid):
    """CPU time of every thread of pid so far (ns, /proc/PID/task/*/schedstat), or None."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue	# a thread that just exited: its time is gone with it
    return total


def now():
    return time.monotonic()


class Watched:
    """A profiler process; its output lines are kept, a ready mark is timed."""

    def __init__(self, cmd, env=None, ready=None, stream="stderr", cwd=None):
        self.t0 = now()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, cwd=cwd)
        self.lines = {"stdout": [], "stderr": []}
        self.ready_t = None
        self.ev = threading.Event()
        self.ready = re.compile(ready) if ready else None
        self.threads = []
        for name, f in (("stdout", self.p.stdout), ("stderr", self.p.stderr)):
            t = threading.Thread(target=self._read, args=(name, f, stream == name), daemon=True)
            t.start()
            self.threads.append(t)

    def _read(self, name, f, watch):
        for raw in f:
            line = raw.decode("utf-8", "replace")
            if watch and self.ready_t is None and self.ready and self.ready.search(line):
                self.ready_t = now()
                self.ev.set()
            self.lines[name].append(line)
        if watch:
            self.ev.set()

    def mark_ready(self):
        if self.ready_t is None:
            self.ready_t = now()
        self.ev.set()

    def wait_ready(self, timeout):
        self.ev.wait(timeout)
        return round(self.ready_t - self.t0, 4) if self.ready_t else None

    def stop(self, timeout=600):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        for t in self.threads:
            t.join(10)
        return self.p.returncode

    def text(self, name):
        return "".join(self.lines[name])


def bpf_stats(bpftool, before=()):
    """run_time_ns and run_cnt summed over the perf_event programs loaded
    since `before` (ids): programs of an earlier profiler may linger a while."""
    try:
        p = subprocess.run([bpftool, "-j", "prog", "show"], capture_output=True, text=True, timeout=120)
        progs = json.loads(p.stdout or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    ns = cnt = n = 0
    for pr in progs:
        if pr.get("type") == "perf_event" and pr.get("run_cnt") and pr.get("id") not in before:
            ns += pr.get("run_time_ns", 0)
            cnt += pr["run_cnt"]
            n += 1
    return {"run_time_ns": ns, "run_cnt": cnt, "progs": n,
            "ns_per_run": round(ns / cnt, 1) if cnt else None}


def reach_main_folded(text):
    """(samples, samples whose user stack reaches main) of folded lines."""
    tot = main = 0
    for line in text.splitlines():
        if " " not in line:
            continue
        stack, n = line.rsplit(" ", 1)
        if not n.isdigit():
            continue
        tot += int(n)
        frames = [f.split("+")[0] for f in stack.split(";")]
        main += int(n) if "main" in frames else 0
    return tot, main


def reach_main_bpftrace(text):
    tot = main = 0
    for m in re.finditer(r"^@\[(.*?)\]: (\d+)$", text, re.M | re.S):
        n = int(m.group(2))
        tot += n
        main += n if re.search(r"^\s*main\+\d+", m.group(1), re.M) else 0
    return tot, main


def reach_main_perf_script(text):
    """perf script -F tid,ip,sym: one block per sample, frames one a line."""
    tot = main = 0
    for block in re.split(r"\n\s*\n", text):
        lines = [l for l in block.splitlines() if l.strip()]
        if not lines:
            continue
        tot += 1
        for l in lines[1:]:
            parts = l.split()
            if len(parts) >= 2 and parts[1].split("+")[0] == "main":
                main += 1
                break
    return tot, main


class Tools:
    def __init__(self, dp, dp_base, work, tmp, perf="perf", bpftool="bpftool", bpftrace="bpftrace",
                 bcc="/usr/sbin/profile-bpfcc", dp_env=None, base_env=None):
        self.dp, self.dp_base, self.work, self.tmp = dp, dp_base, work, tmp
        self.perf, self.bpftool, self.bpftrace, self.bcc = perf, bpftool, bpftrace, bcc
        self.dp_env, self.base_env = dp_env, base_env
        self.seq = 0
        self.filler = False	# timed runs: keep the other CPUs busy with unprofiled work

    def start(self, prof, pid, hz):
        """Launch a profiler on pid; returns (Watched, run dir)."""
        self.seq += 1
        d = os.path.join(self.tmp, f"run{self.seq}")
        os.makedirs(d, exist_ok=True)
        if prof.startswith("deferprof"):
            binary, env = (self.dp_base, self.base_env) if prof == BASE else (self.dp, self.dp_env)
            cmd = [binary, "-v", "-p", str(pid), "-F", str(hz), "-f", "report", "-o", f"{d}/rep.txt",
                   "-f", "folded", "-o", f"{d}/f.folded"]
            if prof.startswith("deferprof-classic"):
                cmd += ["--mode", "classic"]
            if prof in NOLEAF:
                cmd += ["--no-leaf-repair"]
            w = Watched(cmd, env=env, ready=r"events enabled|perf events on")
        elif prof in PERF_PROFILERS:
            ctl, ack = f"{d}/ctl", f"{d}/ack"
            os.mkfifo(ctl)
            os.mkfifo(ack)
            cg = ["--call-graph", "fp,defer"] if prof == "perf-defer" else ["-g"]
            cmd = [self.perf, "record", *cg, "-F", str(hz), "-p", str(pid), "-o", f"{d}/perf.data",
                   "-D", "-1", "--control", f"fifo:{ctl},{ack}"]
            w = Watched(cmd)
            fd = os.open(ctl, os.O_RDWR | os.O_NONBLOCK)
            os.write(fd, b"enable\n")
            w.fifos = [fd]

            def wait_ack():
                afd = os.open(ack, os.O_RDONLY)	# until perf opens its end
                w.fifos.append(afd)
                buf = b""
                while b"ack" not in buf:
                    b = os.read(afd, 64)
                    if not b:
                        break
                    buf += b
                if b"ack" in buf:
                    w.mark_ready()
                else:
                    w.ev.set()
            threading.Thread(target=wait_ack, daemon=True).start()
        elif prof == "bpftrace":
            prog = (f'BEGIN {{ printf("dp-ready\\n"); }} '
                    f"profile:hz:{hz} /pid == {pid}/ {{ @[ustack, kstack] = count(); }}")
            w = Watched([self.bpftrace, "-B", "line", "-e", prog], ready=r"dp-ready", stream="stdout")
        elif prof == "bcc":
            w = Watched([sys.executable, "-c", BCC_WRAPPER, self.bcc, "-p", str(pid), "-F", str(hz), "-f"],
                        env=dict(os.environ, PYTHONUNBUFFERED="1"), ready=r"dp-ready", stream="stdout")
        else:
            raise ValueError(prof)
        w.dir = d
        return w, d

    def finish(self, prof, w, post):
        """Stop the profiler; its figures (post: also stack completeness)."""
        rc = w.stop()
        for fd in getattr(w, "fifos", []):
            try:
                os.close(fd)
            except OSError:
                pass
        d = w.dir
        r = {"rc": rc}
        err = w.text("stderr")
        if prof.startswith("deferprof"):
            rep = open(f"{d}/rep.txt", encoding="utf-8", errors="replace").read() \
                if os.path.exists(f"{d}/rep.txt") else ""
            f = lambda pat: (lambda m: int(m.group(1)) if m else None)(re.search(pat, rep, re.M))
            r["samples"] = f(r"samples:\s+(\d+)\s")
            r["bytes"] = f(r"ring:\s+\d+ records, (\d+) bytes")
            r["log_bytes"] = f(r"logs:\s+\d+ samples, (\d+) bytes")
            r["lost"] = f(r"ring buffer lost (\d+) records")
            r["user_lost"] = f(r"\+ (\d+) user stack lost")
            m = re.search(r"mode:\s+(\w+)", rep)
            r["mode"] = m.group(1) if m else None
            m = re.search(r"events enabled after (\d+(?:\.\d+)?) ms", err)
            r["self_ms"] = float(m.group(1)) if m else None
            if not rep:
                r["error"] = err.strip()[-300:]
            elif r["lost"] or r["user_lost"] or os.environ.get("DP_PEERS_KEEP_HEADER"):
                # A loss is diagnosed from the raw runs: the accounting header and the stderr tail.
                r["report_head"] = "\n".join(rep.splitlines()[:16])
                r["stderr_tail"] = err.strip()[-600:]
            if post and os.path.exists(f"{d}/f.folded"):
                r["stacks"], r["main"] = reach_main_folded(open(f"{d}/f.folded", errors="replace").read())
        elif prof in PERF_PROFILERS:
            m = re.search(r"\((\d+) samples\)", err)
            r["samples"] = int(m.group(1)) if m else None
            data = f"{d}/perf.data"
            if not os.path.exists(data):
                r["error"] = err.strip()[-300:]
                return r
            h = subprocess.run([self.perf, "report", "-i", data, "--header-only"], capture_output=True,
                               text=True)
            m = re.search(r"data size\s*:\s*(\d+)", h.stdout)
            r["bytes"] = int(m.group(1)) if m else os.path.getsize(data)
            r["file_bytes"] = os.path.getsize(data)
            st = subprocess.run([self.perf, "report", "-i", data, "--stats"], capture_output=True, text=True)
            m = re.search(r"^\s*LOST events:\s*(\d+)", st.stdout, re.M)
            ls = re.search(r"^\s*LOST_SAMPLES events:\s*(\d+)", st.stdout, re.M)
            lw = re.search(r"lost (\d+) chunks", st.stdout + st.stderr)
            r["lost_events"] = int(m.group(1)) if m else 0
            r["lost_samples_events"] = int(ls.group(1)) if ls else 0
            r["lost"] = r["lost_events"] + r["lost_samples_events"]
            r["lost_chunks"] = int(lw.group(1)) if lw else 0
            if post:
                s = subprocess.run([self.perf, "script", "-i", data, "-F", "tid,ip,sym"],
                                   capture_output=True, text=True, errors="replace")
                r["stacks"], r["main"] = reach_main_perf_script(s.stdout)
            os.unlink(data)
        elif prof == "bpftrace":
            r["stacks"], r["main"] = reach_main_bpftrace(w.text("stdout"))
            r["samples"] = r["stacks"]
            if not post:
                r.pop("main")
        elif prof == "bcc":
            r["stacks"], r["main"] = reach_main_folded(w.text("stdout"))
            r["samples"] = r["stacks"]
            m = re.search(r"WARNING: (\d+) stack traces", err)
            r["missed_stacks"] = int(m.group(1)) if m else 0
            if not post:
                r.pop("main")
            if rc and not r["samples"]:
                r["error"] = err.strip()[-300:]
        shutil.rmtree(d, ignore_errors=True)
        return r

    # ---- the measurements -------------------------------------------------
    def timed(self, prof, wl, hz, units, post):
        """Guest/host wall time of fixed work under prof, attached before it starts."""
        w = subprocess.Popen([self.work, "-W", "-H", "-m", wl, "-u", str(units)], stdout=subprocess.PIPE,
                             text=True)
        w.stdout.readline()	# "ready": its SIGUSR1 handler is in place
        r = {"kind": "time", "prof": prof, "wl": wl, "hz": hz}
        pw = None
        if prof != "none":
            pw, _ = self.start(prof, w.pid, hz)
            r["startup_s"] = pw.wait_ready(900)
            time.sleep(0.2)
        # Whole-machine cost: an unprofiled process keeps the other CPU(s)
        # busy, so the profiler's own user-space work takes CPU time from the
        # measured work instead of running on an idle CPU.
        fill = [subprocess.Popen([self.work, "-m", "spin", "-t", str(self.filler)], stdout=subprocess.DEVNULL)] \
            if self.filler else []
        # The profiler's own CPU while the work runs (its process, every thread; not
        # what runs in the target's context, such as a BPF program).
        c0 = cpu_ns(pw.p.pid) if pw else None
        w.send_signal(signal.SIGUSR1)
        line = w.stdout.readline()
        c1 = cpu_ns(pw.p.pid) if pw else None
        r["prof_cpu_ms"] = round((c1 - c0) / 1e6, 3) if c0 is not None and c1 is not None else None
        for f in fill:
            f.terminate()
            f.wait()
        try:
            r["s"] = float(line.split()[-1])
        except (ValueError, IndexError):
            r["s"] = None
        if pw:
            r.update(self.finish(prof, pw, post))
        w.terminate()
        w.wait()
        return r

    def saturated(self, prof, wl, hz, secs, threads=2, stats=True, post=False):
        """prof on a target that keeps every CPU busy: start-up, BPF time, loss."""
        # The previous profiler's processes (bcc compiles for 40 s, then tears
        # down) must not share the CPUs with this run: wait until they idle.
        quiet = quiesce()
        w = subprocess.Popen([self.work, "-m", wl, "-t", str(threads)], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        r = {"kind": "sat", "prof": prof, "wl": wl, "hz": hz, "threads": threads, "quiesce_s": quiet}
        before = set()
        if stats and prof in BPF_PROFILERS:
            p = subprocess.run([self.bpftool, "-j", "prog", "show"], capture_output=True, text=True)
            try:
                before = {x.get("id") for x in json.loads(p.stdout or "[]")}
            except ValueError:
                pass
        pw, _ = self.start(prof, w.pid, hz)
        r["startup_s"] = pw.wait_ready(900)
        time.sleep(secs)
        if stats and prof in BPF_PROFILERS:
            r["bpf"] = bpf_stats(self.bpftool, before)
        r.update(self.finish(prof, pw, post))
        w.terminate()
        w.wait()
        return r

    def calibrate(self, wl, target_s):
        """Units of wl that take about target_s here without a profiler."""
        units = 200 if wl == "spin" else 500
        for _ in range(6):
            p = subprocess.run([self.work, "-m", wl, "-u", str(units)], capture_output=True, text=True)
            s = float(p.stdout.split()[-1])
            if s >= target_s / 8:
                break
            units *= 8
        return max(1, int(units * target_s / s))


def cpu_times():
    """(idle, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[3] + (v[4] if len(v) > 4 else 0), sum(v)


def quiesce(limit_s=90, idle=0.9):
    """Seconds until the CPUs were at least idle-fraction idle over 0.3 s, or None."""
    t0 = time.time()
    while time.time() - t0 < limit_s:
        i0, t0_ = cpu_times()
        time.sleep(0.3)
        i1, t1 = cpu_times()
        if t1 > t0_ and (i1 - i0) / (t1 - t0_) >= idle:
            return round(time.time() - t0, 2)
    return None


def emit(out, r):
    line = json.dumps(r, separators=(",", ":"))
    print("PEERS " + line, flush=True)
    with open(os.path.join(out, "runs.jsonl"), "a") as f:
        f.write(line + "\n")


def attempt(out, rep, run, what):
    """One measured run, emitted with its repetition and duration; a run that
    raises is emitted as an error (one broken peer must not end the boot)."""
    t = now()
    try:
        r = run()
    except Exception as e:
        r = dict(what, error=repr(e)[:300])
    r["rep"] = rep
    r["took_s"] = round(now() - t, 2)
    emit(out, r)
    return r


def guest_main(cfg_path, out):
    """In the guest: the whole matrix, every run one PEERS line and one runs.jsonl line."""
    cfg = json.load(open(cfg_path))
    if cfg.get("keep_header"):	# the host's DP_PEERS_KEEP_HEADER, for finish() in here
        os.environ["DP_PEERS_KEEP_HEADER"] = "1"
    io = os.path.dirname(os.path.abspath(cfg_path))
    tmp = "/tmp/peers"
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(out, exist_ok=True)
    lib = lambda sub: dict(os.environ, LD_LIBRARY_PATH=f"{io}/dp/{sub}/lib")
    T = Tools(f"{io}/dp/cur/deferprof", f"{io}/dp/base/deferprof", f"{io}/dp/cur/dp-bench-work", tmp,
              dp_env=lib("cur"), base_env=lib("base"))
    # Off by default: with an unprofiled busy process beside the target the
    # scheduler's placement made times vary by up to x1.5 between runs.
    T.filler = max(0, (os.cpu_count() or 2) - 1) if cfg.get("filler", False) else 0
    t_start = now()
    profs = cfg["profilers"]
    info = {"kind": "info", "release": os.uname().release,
            "perf": subprocess.run(["perf", "--version"], capture_output=True, text=True).stdout.strip(),
            "bpftrace": subprocess.run(["bpftrace", "--version"], capture_output=True, text=True).stdout.strip(),
            "cpus": os.cpu_count(), "cmdline": open("/proc/cmdline").read().strip()}
    for tool in ("deferprof", "base"):
        b = T.dp if tool == "deferprof" else T.dp_base
        p = subprocess.run([b, "--probe"], capture_output=True, text=True,
                           env=T.dp_env if tool == "deferprof" else T.base_env)
        info[f"{tool}_probe"] = (p.stdout + p.stderr).strip().splitlines()[-1:] if p.returncode == 0 else \
            f"failed: {(p.stdout + p.stderr).strip()[-300:]}"
    # Right after boot the clock source may still switch; let it settle.
    time.sleep(5)
    units = {wl: T.calibrate(wl, cfg["work_s"]) for wl in cfg["workloads"]}
    info["units"] = units
    # Runs at 4999 Hz are longer (work_s_top): see guest_config().
    scale = cfg.get("work_s_top", cfg["work_s"]) / cfg["work_s"]
    units_at = lambda wl, hz: max(1, int(units[wl] * scale)) if hz >= 4999 else units[wl]
    info["units_top"] = {wl: units_at(wl, 4999) for wl in cfg["workloads"]}
    emit(out, info)
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"], check=False)
    n = 0
    total = sum(len(profs) * len(cfg["workloads"]) for hz in cfg["rates"] for _ in range(cfg["reps"].get(str(hz), 3)))
    maxrep = max(cfg["reps"].get(str(hz), 3) for hz in cfg["rates"])
    for rep in range(maxrep):
        for wl in cfg["workloads"]:
            for hz in cfg["rates"]:
                if rep >= cfg["reps"].get(str(hz), 3):
                    continue
                for prof in profs:
                    n += 1
                    r = attempt(out, rep, lambda: T.timed(prof, wl, hz, units_at(wl, hz), post=(rep == 0)),
                                {"kind": "time", "prof": prof, "wl": wl, "hz": hz})
                    print(f"peers: time {n}/{total} {wl} {hz} Hz {prof}: {r.get('s')} s "
                          f"(startup {r.get('startup_s')}, guest {now() - t_start:.0f} s)", flush=True)
    # Saturated: 2 busy threads, every profiler at the loss rate, BPF stats on.
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=False)
    for rep in range(cfg["sat_reps"]):
        for wl in cfg["workloads"]:
            for prof in profs:
                if prof == "none":
                    continue
                r = attempt(out, rep, lambda: T.saturated(prof, wl, cfg["loss_hz"], cfg["sat_s"]),
                            {"kind": "sat", "prof": prof, "wl": wl})
                print(f"peers: saturated {wl} {prof}: startup {r.get('startup_s')} lost {r.get('lost')} "
                      f"(guest {now() - t_start:.0f} s)", flush=True)
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"], check=False)
    emit(out, {"kind": "done", "guest_s": round(now() - t_start, 1)})


# ---- host side ---------------------------------------------------------------

def log(msg):
    print(f"bench: {msg}", flush=True)


def ship(binary, dest):
    """Copy binary and its shared libraries (not glibc's: the guest has a newer one)."""
    os.makedirs(f"{dest}/lib", exist_ok=True)
    shutil.copy2(binary, dest)
    p = subprocess.run(["ldd", binary], capture_output=True, text=True)
    glibc = re.compile(r"^(libc|libm|libpthread|libdl|librt|ld-linux.*|libresolv|libutil)\.so")
    for line in p.stdout.splitlines():
        m = re.search(r"=> (/\S+)", line)
        if m and not glibc.match(os.path.basename(m.group(1))):
            shutil.copy(m.group(1), f"{dest}/lib/")


def guest_config(quick=False):
    e = os.environ.get
    rates = [int(x) for x in e("DP_PEERS_HZ", "99,999,4999").split(",")]
    cfg = {"profilers": [p for p in e("DP_PEERS_PROFILERS", ",".join(PROFILERS)).split(",") if p],
           "workloads": ["spin", "sysdeep"], "rates": rates,
           # 3 runs per cell at every rate: single runs at 4999 Hz were seen 0.5% apart
           "reps": {str(h): int(e("DP_PEERS_REPS", "3")) if h < 4999 else int(e("DP_PEERS_REPS_4999", "3"))
                    for h in rates},
           "work_s": float(e("DP_PEERS_WORK_S", "0.6")), "loss_hz": 4999,
           # At 4999 Hz a 0.6 s run ends before a profiler's periodic work settles: whether
           # one 500 ms round of deferprof's falls inside it moved its ratio by up to 0.2%
           # (bench/results/peers-window-*). 3 s runs measure the cost per sample.
           "work_s_top": float(e("DP_PEERS_WORK_S_4999", "3")),
           "keep_header": bool(e("DP_PEERS_KEEP_HEADER")),
           "sat_s": float(e("DP_PEERS_SAT_S", "1.0")), "sat_reps": int(e("DP_PEERS_SAT_REPS", "2"))}
    if quick:
        cfg.update(rates=[999], reps={"999": 1}, work_s=0.2, work_s_top=0.2, sat_s=0.3, sat_reps=1)
    return cfg


def run_guest(build, base, tmp, quick=False):
    """Boot the sid guest once with the whole matrix; the raw runs."""
    t0 = time.time()
    reuse = os.environ.get("DP_PEERS_REUSE")
    if reuse:	# the raw runs of an earlier boot (BUILD/peers-last), not a new boot
        log(f"peers: DP_PEERS_REUSE: the runs of an earlier boot from {reuse}")
        meta = json.load(open(os.path.join(reuse, "meta.json"))) \
            if os.path.exists(os.path.join(reuse, "meta.json")) else {"config": guest_config(quick)}
        runs = [json.loads(l) for l in open(os.path.join(reuse, "runs.jsonl")) if l.strip()]
        meta["reused_from"] = reuse
        return meta, runs
    log("peers: the sid guest (built once, cached: scripts/sid-guest.sh)")
    p = subprocess.run([os.path.join(ROOT, "scripts/sid-guest.sh"), "build"], text=True,
                       stdout=subprocess.PIPE)
    if p.returncode:
        return {"error": "the sid guest could not be built (scripts/sid-guest.sh build)"}, []
    build_s = round(time.time() - t0, 1)
    pl = os.path.join(tmp, "payload")
    shutil.rmtree(pl, ignore_errors=True)
    os.makedirs(pl)
    ship(os.path.join(build, "deferprof"), f"{pl}/dp/cur")
    ship(os.path.join(build, "dp-bench-work"), f"{pl}/dp/cur")
    ship(os.path.join(base, "deferprof"), f"{pl}/dp/base")
    shutil.copy2(os.path.abspath(__file__), f"{pl}/peers.py")
    cfg = guest_config(quick)
    json.dump(cfg, open(f"{pl}/config.json", "w"))
    open(f"{pl}/run.sh", "w").write("python3 /io/peers.py guest /io/config.json /io/out\n")
    out = os.path.join(tmp, "peers-out")
    t1 = time.time()
    log(f"peers: booting the guest for {len(cfg['profilers'])} profilers x {cfg['workloads']} x "
        f"{cfg['rates']} Hz (tens of minutes under TCG)")
    q = subprocess.Popen([os.path.join(ROOT, "scripts/sid-guest.sh"), "run", pl, out],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    for line in q.stdout:
        if line.startswith(("peers:", "sid-guest:", "DPGUEST")) or "Traceback" in line:
            print("  " + line.rstrip(), flush=True)
    q.wait()
    runs = []
    path = os.path.join(out, "guest-out", "runs.jsonl")
    if os.path.exists(path):
        runs = [json.loads(l) for l in open(path) if l.strip()]
    else:	# the console has the same lines
        con = os.path.join(out, "console.log")
        text = open(con, errors="replace").read() if os.path.exists(con) else ""
        runs = [json.loads(m.group(1)) for m in re.finditer(r"^PEERS (\{.*\})$", text, re.M)]
    con = os.path.join(out, "console.log")
    contxt = open(con, errors="replace").read() if os.path.exists(con) else ""
    oops = re.findall(r"^.*(?:Oops|BUG:|WARNING:|Kernel panic|general protection fault).*$", contxt, re.M)
    meta = {"guest_build_s": build_s, "guest_run_s": round(time.time() - t1, 1), "config": cfg,
            "qemu_rc": q.returncode, "kernel_warnings": oops[:10]}
    if not runs:
        meta["error"] = "no results from the guest: " + contxt[-600:]
    shutil.rmtree(pl, ignore_errors=True)
    # Kept beside the build: DP_PEERS_REUSE=BUILD/peers-last re-renders them.
    keep = os.path.join(build, "peers-last")
    shutil.rmtree(keep, ignore_errors=True)
    os.makedirs(keep)
    with open(os.path.join(keep, "runs.jsonl"), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in runs)
    if os.path.exists(con):
        shutil.copy(con, keep)
    json.dump(meta, open(os.path.join(keep, "meta.json"), "w"), indent=1)
    return meta, runs


def med(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 4) if xs else None


def aggregate(runs, profs):
    """Tables from the raw runs of one boot (or of the host)."""
    info = next((r for r in runs if r.get("kind") == "info"), {})
    done = next((r for r in runs if r.get("kind") == "done"), {})
    T = [r for r in runs if r.get("kind") == "time"]
    S = [r for r in runs if r.get("kind") == "sat"]
    res = {"info": info, "guest_s": done.get("guest_s"), "cost": {}, "profcpu": {}, "startup": {}, "bpf": {},
           "bytes": {}, "complete": {}, "loss": {}, "errors": []}
    for r in runs:
        if r.get("error") or (r.get("rc") not in (None, 0, -2, 130) and r.get("kind") in ("time", "sat")):
            res["errors"].append(f"{r.get('kind')} {r.get('wl')} {r.get('hz')} {r.get('prof')}: "
                                 f"rc {r.get('rc')} {r.get('error', '')[:200]}")
    keys = sorted({(r["wl"], r["hz"]) for r in T}, key=lambda k: (k[0], k[1]))
    for wl, hz in keys:
        row = {}
        nones = [r["s"] for r in T if r["wl"] == wl and r["hz"] == hz and r["prof"] == "none" and r.get("s")]
        base = med(nones)
        row["none_s"] = base
        # The unprofiled runs' own spread: differences below it are not resolved.
        row["none_spread"] = round((max(nones) - min(nones)) / base, 4) if len(nones) > 1 and base else None
        for p in profs:
            if p == "none":
                continue
            xs = [r.get("s") for r in T if r["wl"] == wl and r["hz"] == hz and r["prof"] == p]
            m = med(xs)
            row[p] = round(m / base, 4) if m and base else None
            row[p + "_n"] = len([x for x in xs if x is not None])
        res["cost"][f"{wl}/{hz}"] = row
        res["profcpu"][f"{wl}/{hz}"] = {
            p: med([r.get("prof_cpu_ms") for r in T if r["wl"] == wl and r["hz"] == hz and r["prof"] == p])
            for p in profs if p != "none"}
        b, c = {}, {}
        for p in profs:
            rs = [r for r in T if r["wl"] == wl and r["hz"] == hz and r["prof"] == p]
            bps = [r["bytes"] / r["samples"] for r in rs if r.get("bytes") is not None and r.get("samples")]
            if bps:
                b[p] = round(statistics.median(bps), 1)
            lps = [r["log_bytes"] / r["samples"] for r in rs if r.get("log_bytes") is not None and r.get("samples")]
            if lps:
                b[p + " logs"] = round(statistics.median(lps), 1)
            cs = [r for r in rs if r.get("main") is not None and r.get("stacks")]
            if cs:
                c[p] = round(sum(r["main"] for r in cs) / sum(r["stacks"] for r in cs), 4)
        res["bytes"][f"{wl}/{hz}"] = b
        res["complete"][f"{wl}/{hz}"] = c
    for p in profs:
        if p == "none":
            continue
        idle = med([r.get("startup_s") for r in T if r["prof"] == p])
        sat = med([r.get("startup_s") for r in S if r["prof"] == p])
        selfi = med([r.get("self_ms") for r in T if r["prof"] == p])
        res["startup"][p] = {"idle_s": idle, "saturated_s": sat, "idle_self_ms": selfi}
    for wl in sorted({r["wl"] for r in S}):
        bpf, loss, bys = {}, {}, {}
        for p in profs:
            rs = [r for r in S if r["wl"] == wl and r["prof"] == p]
            if not rs:
                continue
            ns = [r["bpf"]["ns_per_run"] for r in rs if r.get("bpf") and r["bpf"].get("ns_per_run")]
            if ns:
                bpf[p] = round(statistics.median(ns), 1)
            ls = [r.get("lost") for r in rs if r.get("lost") is not None]
            loss[p] = {"lost": max(ls) if ls else None, "samples": med([r.get("samples") for r in rs])}
            bps = [r["bytes"] / r["samples"] for r in rs if r.get("bytes") is not None and r.get("samples")]
            if bps:
                bys[p] = round(statistics.median(bps), 1)
        res["bpf"][wl] = bpf
        res["loss"][wl] = loss
        res["bytes"][f"{wl}/{S[0]['hz']}x2 busy"] = bys
    return res


def host_section(build, base, tmp, reps=3, quick=False):
    """Host (classic kernel): start-up of deferprof vs perf record -g, idle and
    saturated; BPF ns per sample of deferprof vs the baseline."""
    perf = shutil.which("perf") or "/usr/bin/perf"
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    T = Tools(os.path.join(build, "deferprof"), os.path.join(base, "deferprof"),
              os.path.join(build, "dp-bench-work"), os.path.join(tmp, "host-peers"), perf=perf, bpftool=bpftool)
    os.makedirs(T.tmp, exist_ok=True)
    runs = [{"kind": "info", "release": os.uname().release, "cpus": os.cpu_count()}]
    # perf is not among make deps: without it, deferprof alone
    profs = ["deferprof"] + (["perf-g"] if shutil.which("perf") or os.path.exists(perf) else []) + \
        ([] if quick else [BASE])
    old = open("/proc/sys/kernel/bpf_stats_enabled").read().strip() \
        if os.path.exists("/proc/sys/kernel/bpf_stats_enabled") else None
    try:
        for rep in range(reps):
            for p in ["none"] + profs:
                if p == BASE:
                    continue
                r = T.timed(p, "spin", 999, 200 if quick else 2000, post=False)
                r["rep"] = rep
                runs.append(r)
        if old is not None and not quick:
            open("/proc/sys/kernel/bpf_stats_enabled", "w").write("1")
        for rep in range(reps):
            for p in profs:
                r = T.saturated(p, "spin", 4999 if not quick else 999, 0.3 if quick else 1.0,
                                stats=not quick)
                r["rep"] = rep
                runs.append(r)
    finally:
        if old is not None:
            open("/proc/sys/kernel/bpf_stats_enabled", "w").write(old)
    res = aggregate(runs, ["none"] + profs)
    res["runs"] = len(runs)
    return res


def get_baseline():
    p = subprocess.run([os.path.join(HERE, "baseline.sh")], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(f"bench/baseline.sh failed: {p.stderr.strip()[-400:]}")
    return p.stdout.strip().splitlines()[-1]


def run_all(build, tmp):
    """The peer section of make bench: the guest boot and the host part."""
    t0 = time.time()
    base = get_baseline()
    log(f"peers: baseline {BASE} in {base}")
    R = {"baseline_build": base}
    meta, runs = run_guest(build, base, tmp)
    R["guest_meta"] = meta
    profs = meta.get("config", {}).get("profilers", PROFILERS)
    R["guest"] = aggregate(runs, profs) if runs else {"error": meta.get("error")}
    R["guest_runs"] = runs
    log("peers: host section (classic kernel)")
    t1 = time.time()
    R["host"] = host_section(build, base, tmp)
    R["host_s"] = round(time.time() - t1, 1)
    R["elapsed_s"] = round(time.time() - t0, 1)
    return R


def fmt(x, pct=False):
    if x is None:
        return "–"
    return f"{x:.1%}" if pct else f"{x}"


def judge(P):
    """The peer targets: (name, met, measured)."""
    t = []
    if not P or "guest" not in P or "cost" not in P.get("guest", {}):
        t.append(("peer benchmark ran (make bench-peers)", False, (P or {}).get("guest", {}).get("error", "not run")))
        return t
    g, h = P["guest"], P.get("host", {})
    cost = g["cost"]
    bad1, bad2, bad3, seen = [], [], [], 0
    noise1, noise2 = [], []
    n99 = 0
    for k, row in cost.items():
        n99 += k.endswith("/99")
        d, pd = row.get("deferprof"), row.get("perf-defer")
        c, pg, bc = row.get("deferprof-classic"), row.get("perf-g"), row.get("bcc")
        # A miss smaller than the unprofiled runs' own spread is not resolved
        # by this boot: listed apart, never hidden.
        spread = row.get("none_spread") or 0
        if d is not None and pd is not None:
            seen += 1
            if d > pd:
                (noise1 if d - pd <= spread else bad1).append(f"{k}: {d} > {pd}")
        peers = [x for x in (pg, bc) if x is not None]
        if c is not None and peers and c > min(peers):
            (noise2 if c - min(peers) <= spread else bad2).append(f"{k}: {c} > {min(peers)}")
        if k.endswith("/99"):
            for p in ("deferprof", "deferprof-classic"):
                if row.get(p) is not None and row[p] > 1.002:
                    bad3.append(f"{k} {p}: x{row[p]}")

    def verdict(bad, noise):
        if bad:
            return "; ".join(bad + [f"{n} (within the unprofiled spread)" for n in noise])
        if noise:
            return "met but for differences within the unprofiled runs' spread: " + "; ".join(noise)
        return "met" if seen else "not measured"
    t.append(("whole-machine cost: deferred <= perf fp,defer at every rate and workload", seen > 0 and not bad1,
              verdict(bad1, noise1)))
    t.append(("whole-machine cost: classic <= min(perf -g, bcc) at every rate and workload",
              seen > 0 and not bad2, verdict(bad2, noise2)))
    t.append(("at 99 Hz within 0.2% of no profiler (deferprof, both modes)", n99 > 0 and not bad3,
              "; ".join(bad3) if bad3 else ("met" if n99 else "not measured")))
    bad, what = [], []
    for src, bpf in (("guest", g.get("bpf", {})), ("host", h.get("bpf", {}))):
        for wl, b in bpf.items():
            d, base = b.get("deferprof"), b.get(BASE)
            if d is None or base is None:
                continue
            what.append(f"{src} {wl}: {d} vs {base} ns ({d / base:.0%})")
            if d > 0.5 * base:
                bad.append(wl)
    t.append((f"BPF run time per sample <= half of {BASE}'s", bool(what) and not bad,
              "; ".join(what) or "not measured"))
    what, ok = [], bool(g.get("startup"))
    for src, st, dp, pf in (("guest", g.get("startup", {}), "deferprof", "perf-defer"),
                            ("host", h.get("startup", {}), "deferprof", "perf-g")):
        for kind in ("idle_s", "saturated_s"):
            a, b = st.get(dp, {}).get(kind), st.get(pf, {}).get(kind)
            if a is None or b is None:
                ok = False
                what.append(f"{src} {kind[:-2]}: not measured")
                continue
            what.append(f"{src} {kind[:-2]}: {a} s vs {pf} {b} s ({a / b:.0%})")
            ok = ok and a <= 0.5 * b
    t.append(("start-up <= half of perf record's (guest and host, idle and saturated)", ok, "; ".join(what)))
    bad, what = [], []
    for k, b in g.get("bytes", {}).items():
        if not k.startswith("spin/"):
            continue
        d, pd = b.get("deferprof"), b.get("perf-defer")
        if d is None or pd is None:
            continue
        what.append(f"{k}: {d} vs {pd} ({d / pd:.0%})")
        if d > 0.6 * pd:
            bad.append(k)
    t.append(("ring bytes/sample <= 60% of perf fp,defer's (CPU-bound)", bool(what) and not bad,
              "; ".join(what) or "not measured"))
    what, ok = [], bool(g.get("loss"))
    for wl, l in g.get("loss", {}).items():
        x = l.get("deferprof", {}).get("lost")
        what.append(f"{wl}: {x}")
        ok = ok and x == 0
    t.append(("zero lost records at 4999 Hz, 2 busy threads (deferprof, deferred)", ok, "; ".join(what)))
    bad, what = [], []
    for k, c in g.get("complete", {}).items():
        d, pd = c.get("deferprof"), c.get("perf-defer")
        if d is None or pd is None:
            continue
        what.append(f"{k}: {d:.1%} vs {pd:.1%}")
        if d < pd - 0.01:
            bad.append(k)
    t.append(("stack completeness equal to perf fp,defer's (reaching main; 1 point allowed)",
              bool(what) and not bad, "; ".join(what) or "not measured"))
    return t


def md(P):
    """The peer section of latest.md."""
    L = []
    if not P:
        return L
    g, h, meta = P.get("guest", {}), P.get("host", {}), P.get("guest_meta", {})
    info = g.get("info", {})
    cfg = meta.get("config", {})
    L.append("\n## 7. Peers side by side, deferred kernel (sid guest under QEMU, -icount)\n")
    if "error" in g:
        L.append(f"error: {g['error']}")
        return L
    profs = [p for p in cfg.get("profilers", PROFILERS) if p != "none"]
    L.append(f"Guest {info.get('release')}, {info.get('perf')}, {info.get('bpftrace')}, "
             f"{info.get('cpus')} vCPUs, TCG with `-icount shift=0,sleep=off` (guest time counts "
             f"instructions: ratios are an emulator's, repeatable; absolute times mean little)" +
             ("; the guest kernel runs with `nohz=off`, so that a profiler woken onto an idle vCPU "
              "runs at once (without it, such a wake-up was seen to wait for that vCPU's next timer, "
              "0.2-0.9 s: bench/results/peers-stall-20261204.md)"
              if "nohz=off" in info.get("cmdline", "").split() else "") + ". "
             f"Fixed work per run: {info.get('units')} units (about {cfg.get('work_s')} s of guest time "
             f"unprofiled" + (f"; at 4999 Hz {info['units_top']}, about {cfg.get('work_s_top')} s, so that "
                             f"the profilers' periodic work settles"
                             if info.get("units_top") and max(cfg.get("rates", [0])) >= 4999 else "") + "), "
             f"one thread; the profilers' own processes run on the other vCPU, and under -icount the "
             f"instructions of both vCPUs advance guest time, so a profiler's work while the target "
             f"runs counts as well as its in-target cost (interrupt, BPF, unwinding): a test build "
             f"whose loop spent 46 ms more CPU per run slowed the target by 46-47 ms), median of "
             f"{', '.join(f'{v} runs at {k} Hz' for k, v in cfg.get('reps', {}).items())} per cell; profilers "
             f"interleaved with unprofiled runs in the same boot. Saturated runs (start-up, BPF time, "
             f"loss): {cfg.get('sat_reps')} per profiler and workload, {cfg.get('sat_s')} s of sampling each. Guest built in {meta.get('guest_build_s')} s (0 when "
             f"cached); this boot took {meta.get('guest_run_s')} s of host time "
             f"({g.get('guest_s')} s of guest time). Baseline {BASE}: {P.get('baseline_build')}.\n")
    hdr = "| workload / Hz | " + " | ".join(profs) + " |\n|" + " --- |" * (len(profs) + 1)
    L.append("### Whole-machine cost (wall time of the fixed work, x ratio to no profiler)\n")
    L.append("| workload / Hz | none s (spread) | " + " | ".join(profs) + " |\n|" + " --- |" * (len(profs) + 2))
    for k, row in g.get("cost", {}).items():
        spread = f" ({row['none_spread']:.2%})" if row.get("none_spread") is not None else ""
        L.append(f"| {k} | {row.get('none_s')}{spread} | " + " | ".join(
            (f"x{row[p]}" if row.get(p) is not None else "–") for p in profs) + " |")
    L.append("\nThe spread is (max - min) / median of the unprofiled runs of that cell: "
             "ratios closer than that are not told apart by this boot.")
    if any(v is not None for row in g.get("profcpu", {}).values() for v in row.values()):
        L.append("\n### The profiler's own CPU while the work runs (ms of guest time, median)\n")
        L.append("Its process's threads (/proc/PID/task/*/schedstat), from the start of the work to its "
                 "end; what runs in the target's context (a BPF program, the kernel's unwinding and "
                 "records) is not in it.\n")
        L.append("| workload / Hz | " + " | ".join(profs) + " |\n|" + " --- |" * (len(profs) + 1))
        for k, row in g["profcpu"].items():
            L.append(f"| {k} | " + " | ".join(fmt(None if row.get(p) is None else round(row[p], 1)) for p in profs) + " |")
    L.append("\n### Start-up (launch to sampling events live), seconds of guest time\n")
    L.append("| profiler | idle target | target saturating both vCPUs | deferprof's own figure (ms) |\n"
             "| --- | --- | --- | --- |")
    for p in profs:
        s = g.get("startup", {}).get(p, {})
        L.append(f"| {p} | {fmt(s.get('idle_s'))} | {fmt(s.get('saturated_s'))} | {fmt(s.get('idle_self_ms'))} |")
    L.append("\nLive means, per tool: deferprof's -v line as it enables its events; perf record "
             "(started with -D -1 --control) acking an `enable` written at launch; bpftrace's BEGIN "
             "probe (fired after its probes are attached); bcc's attach_perf_event() returning. "
             "Idle: median over every timed run (target waiting in usleep); saturated: the target's "
             "2 threads keep both vCPUs busy.")
    L.append(f"\n### BPF run time per sample (ns per program run, bpf_stats; {cfg.get('loss_hz')} Hz, "
             "2 busy threads)\n")
    bp = [p for p in profs if p in BPF_PROFILERS]
    L.append("| workload | " + " | ".join(bp) + " |\n|" + " --- |" * (len(bp) + 1))
    for wl, b in g.get("bpf", {}).items():
        L.append(f"| {wl} | " + " | ".join(fmt(b.get(p)) for p in bp) + " |")
    L.append("\n### Ring bytes per sample (deferprof: its ring counter; perf: perf.data data size / samples; "
             "bpftrace and bcc aggregate in the kernel)\n")
    rp = [p for p in profs if p not in ("bpftrace", "bcc")]
    # deferprof's samples cross through its per-CPU logs (shared memory), not the ring: shown too.
    rp += [k for k in ("deferprof logs", "deferprof-classic logs")
           if any(k in b for b in g.get("bytes", {}).values())]
    L.append("| workload / Hz | " + " | ".join(rp) + " |\n|" + " --- |" * (len(rp) + 1))
    for k, b in g.get("bytes", {}).items():
        L.append(f"| {k} | " + " | ".join(fmt(b.get(p)) for p in rp) + " |")
    L.append("\n### Stack completeness (share of samples whose user stack reaches main; first run of each cell)\n")
    L.append(hdr)
    for k, c in g.get("complete", {}).items():
        L.append(f"| {k} | " + " | ".join(fmt(c.get(p), pct=True) for p in profs) + " |")
    L.append(f"\n### Loss at {cfg.get('loss_hz')} Hz, 2 busy threads, default settings "
             "(lost records; perf: LOST + LOST_SAMPLES events; bpftrace, bcc: no ring)\n")
    lp = [p for p in profs if p not in ("bpftrace", "bcc")]
    L.append("| workload | " + " | ".join(lp) + " |\n|" + " --- |" * (len(lp) + 1))
    for wl, l in g.get("loss", {}).items():
        L.append(f"| {wl} | " + " | ".join(
            f"{fmt(l.get(p, {}).get('lost'))} of {fmt(int(l[p]['samples']) if l.get(p, {}).get('samples') else None)}"
            for p in lp) + " |")
    if h and "startup" in h:
        L.append(f"\n## 7b. Host ({h.get('info', {}).get('release')}, classic only)\n")
        L.append("| profiler | start-up idle s | start-up saturated s | BPF ns/sample (spin, 4999 Hz, 2 threads) | "
                 "cost x (spin 999 Hz) |\n| --- | --- | --- | --- | --- |")
        for p, s in h["startup"].items():
            b = h.get("bpf", {}).get("spin", {}).get(p)
            c = h.get("cost", {}).get("spin/999", {}).get(p)
            L.append(f"| {p} | {fmt(s.get('idle_s'))} | {fmt(s.get('saturated_s'))} | {fmt(b)} | {fmt(c)} |")
    notes = []
    if meta.get("kernel_warnings"):
        notes.append("guest kernel warnings: " + "; ".join(meta["kernel_warnings"][:3]))
    for e in g.get("errors", [])[:12]:
        notes.append("guest run problem: " + e)
    for e in h.get("errors", [])[:6]:
        notes.append("host run problem: " + e)
    if notes:
        L.append("\nProblems seen:\n")
        L += [f"- {n}" for n in notes]
    if meta.get("reused_from"):
        L.append(f"\nGuest runs re-rendered from the saved boot in {meta['reused_from']} "
                 f"(DP_PEERS_REUSE){': ' + meta['note'] if meta.get('note') else ''}.")
    L.append(f"\nPeer section: {P.get('elapsed_s')} s in all (guest boot {meta.get('guest_run_s')} s, "
             f"host part {P.get('host_s')} s).")
    return L


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "guest":
        guest_main(sys.argv[2], sys.argv[3])
    else:
        print("usage: peers.py guest CONFIG OUT   (the host side runs from bench/run.py)", file=sys.stderr)
        sys.exit(2)
