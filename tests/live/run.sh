#!/usr/bin/env bash
# Live tests on this machine's kernel: the real BPF object, real perf events,
# the demo workload's named functions checked in what comes back. On kernels
# without deferred callchains (< 6.19) this exercises classic mode; the
# deferred path is tested in the VM (tests/vm).
set -uo pipefail
out=${1:-build}
dp=$out/deferprof
demo=$out/deferprof-demo
tmp=$(mktemp -d /tmp/dp-live.XXXXXX)
pids=()
max_stack=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	# EBUSY while any callchain event is open (a profiler ending, another run):
	# retried, as the raise is, so later tests see the kernel's own limit.
	if [ -n "$max_stack" ] && ! wait_until 100 restore_max_stack; then
		echo "run.sh: could not restore kernel.perf_event_max_stack to $max_stack (EBUSY for 10 s)" >&2
	fi
	rm -rf "$tmp"
}
restore_max_stack() { echo "$max_stack" 2>/dev/null > /proc/sys/kernel/perf_event_max_stack; }
trap cleanup EXIT
suite=live prefix=''
# shellcheck source=tests/live/lib.sh
. "$(dirname "$0")/lib.sh"

start_demo() { "$demo" "$@" & demo_pid=$!; pids+=("$demo_pid"); wait_until 100 runs "$demo_pid" "$demo"; }
stop_demo() { kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; }

need_root
need_btf

# --- probe
"$dp" --probe > "$tmp/probe" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "yes  bpf_cast_to_kern_ctx" "$tmp/probe"; then
	if grep -q "yes  defer_callchain" "$tmp/probe"; then
		pass probe "kernel offers deferred callchains: $(uname -r)"
		deferred_host=1
	elif grep -q "no   defer_callchain/defer_output .*rejected (EINVAL): needs Linux >= 6.19" "$tmp/probe" &&
	     grep -q "^mode: classic" "$tmp/probe"; then
		pass probe "deferred callchains reported unsupported on $(uname -r), classic mode"
		deferred_host=0
	else
		fail probe "unexpected probe output" "$tmp/probe"
	fi
else
	fail probe "exit $rc" "$tmp/probe"
fi
mode=classic; [ "${deferred_host:-0}" = 1 ] && mode=deferred

# --- -p: named chains, user then kernel frames, mode in the header
start_demo -l 200
"$dp" -p "$demo_pid" -d 3 -f folded -o "$tmp/p.folded" 2> "$tmp/p.err"; rc=$?
stop_demo
if [ $rc = 0 ] && grep -q "main;demo_spin_outer;demo_spin_middle;demo_spin_inner\(;demo_spin_step\)\? [0-9]" "$tmp/p.folded"; then
	pass user-chain "$(grep -c . "$tmp/p.folded") folded stacks"
else
	fail user-chain "exit $rc, no main;demo_spin_outer;demo_spin_middle;demo_spin_inner" "$tmp/p.folded"
fi
if grep -q "main;demo_sys_outer;demo_sys_middle;demo_sys_inner;entry_SYSCALL_64[^;]*;do_syscall_64;.*vfs_read" "$tmp/p.folded"; then
	pass syscall-chain "user chain continued by read(2)'s kernel frames"
else
	fail syscall-chain "no demo_sys_inner continued by do_syscall_64...vfs_read" "$tmp/p.folded"
fi
grep -q "demo_late_thread;demo_late_work [0-9]" "$tmp/p.folded" && pass second-thread ||
	fail second-thread "the demo's second thread is missing" "$tmp/p.folded"
grep -q "deferprof: $mode mode" "$tmp/p.err" && pass mode-named "$mode" || fail mode-named "stderr does not name $mode mode" "$tmp/p.err"

# --- the report: header, accounting that closes, atomic -o
start_demo -l -1
"$dp" -p "$demo_pid" -d 2 -o "$tmp/report.txt" 2> "$tmp/r.err"; rc=$?
stop_demo
seen=$(grep -m1 "samples:" "$tmp/report.txt" | awk '{ print $2 }')
instacks=$(grep -m1 "samples:" "$tmp/report.txt" | awk '{ print $7 }')
dropped=$(grep -m1 "samples:" "$tmp/report.txt" | awk '{ print $11 }')
if [ $rc = 0 ] && grep -q "mode:      $mode" "$tmp/report.txt" && [ -n "$seen" ] && [ "$seen" -gt 0 ] &&
   [ "$seen" = $((instacks + dropped)) ]; then
	pass report-accounting "$seen seen by BPF = $instacks in stacks + $dropped dropped"
else
	fail report-accounting "exit $rc" "$tmp/report.txt"
fi
ls "$tmp"/report.txt.* >/dev/null 2>&1 && fail atomic-output "temporary file left behind" || pass atomic-output

# --- Ctrl-C and SIGTERM print what was collected
for sig in INT TERM; do
	start_demo -l -1
	start_profiling 300 "$tmp/sig.err" -p "$demo_pid" -f folded -o "$tmp/sig.folded"
	sleep 1	# samples to write: one second of the demo at 99 Hz
	kill -"$sig" "$prof"
	wait "$prof"; rc=$?
	stop_demo
	if [ $rc = 0 ] && grep -q "demo_spin_inner" "$tmp/sig.folded"; then
		pass "sig$sig-writes-output"
	else
		fail "sig$sig-writes-output" "exit $rc" "$tmp/sig.err"
	fi
done

# --- the target's exit ends the profile normally. The demo is ended once deferprof
# has its events enabled and has taken samples (on a busy machine start-up can take
# longer than a demo timed to exit by itself would live).
start_demo -l -1
start_profiling 300 "$tmp/exit.err" -p "$demo_pid" -o "$tmp/exit.txt"; exit_prof=$prof
sleep 1	# samples to report: one second of the demo at 99 Hz
stop_demo
wait "$exit_prof"; rc=$?
if [ $rc = 0 ] && grep -q "ended by target exited" "$tmp/exit.txt" && grep -q "demo_spin_inner" "$tmp/exit.txt"; then
	pass target-exit "report kept the exited process's symbols"
else
	fail target-exit "exit $rc" "$tmp/exit.txt"
fi

# --- -t: one thread only
start_demo -l 0
two_threads() { [ "$(ls /proc/"$demo_pid"/task | wc -l)" -ge 2 ]; }
wait_until 100 two_threads
late_tid=$(ls /proc/"$demo_pid"/task | grep -v "^$demo_pid$" | head -n1)
"$dp" -t "$late_tid" -d 2 -f folded -o "$tmp/t.folded" 2> "$tmp/t.err"; rc=$?
stop_demo
if [ $rc = 0 ] && grep -q "demo_late_work" "$tmp/t.folded" && ! grep -q "demo_spin_inner" "$tmp/t.folded"; then
	pass one-thread "-t $late_tid has the late thread only"
else
	fail one-thread "exit $rc" "$tmp/t.folded"
fi

# --- system-wide, kernel only
start_demo -m sys -l -1
"$dp" -a --kernel-only -d 2 -f folded -o "$tmp/a.folded" 2> "$tmp/a.err"; rc=$?
stop_demo
if [ $rc = 0 ] && grep -q "^deferprof-demo;.*vfs_read" "$tmp/a.folded" && ! grep -q "demo_sys_inner" "$tmp/a.folded"; then
	pass system-kernel-only
else
	fail system-kernel-only "exit $rc" "$tmp/a.folded"
fi

# --- user stacks only
start_demo -m sys -l -1
"$dp" -p "$demo_pid" --user-only -d 2 -f folded -o "$tmp/u.folded" 2> "$tmp/u.err"; rc=$?
stop_demo
if [ $rc = 0 ] && grep -q "main;demo_sys_outer;demo_sys_middle;demo_sys_inner [0-9]" "$tmp/u.folded" &&
   ! grep -q "vfs_read" "$tmp/u.folded"; then
	pass user-only
else
	fail user-only "exit $rc" "$tmp/u.folded"
fi

# --- the README's first command: the bundled demo
"$dp" --demo -d 2 > "$tmp/demo.txt" 2> "$tmp/demo.err"; rc=$?
if [ $rc = 0 ] && grep -q "demo_spin_inner" "$tmp/demo.txt" && grep -q "Top functions by self" "$tmp/demo.txt"; then
	pass demo-report
else
	fail demo-report "exit $rc" "$tmp/demo.err"
fi

# --- exports: every format from one run; totals agree; the named chain in each
schema_ss=${DP_SPEEDSCOPE_SCHEMA:-}
start_demo -l -1
"$dp" -p "$demo_pid" -d 2 -f json -o "$tmp/x.json" -f pprof -o "$tmp/x.pb.gz" \
	-f speedscope -o "$tmp/x.speedscope.json" -f folded -o "$tmp/x.folded" -f html -o "$tmp/x.html" \
	2> "$tmp/x.err"; rc=$?
stop_demo
if [ $rc = 0 ] && tests/check-export.py --chain main,demo_spin_outer,demo_spin_middle,demo_spin_inner,demo_spin_step \
	--json "$tmp/x.json" --pprof "$tmp/x.pb.gz" --pprof-first-mapping deferprof-demo \
	--speedscope "$tmp/x.speedscope.json" --folded "$tmp/x.folded" --html "$tmp/x.html" \
	${schema_ss:+--speedscope-schema "$schema_ss"} > "$tmp/x.chk" 2>&1; then
	pass exports-agree "$(cat "$tmp/x.chk")"
else
	cat "$tmp/x.err" >> "$tmp/x.chk"
	fail exports-agree "exit $rc" "$tmp/x.chk"
fi
if grep -q '"name":"demo_spin_step",[^}]*"inlined":true' "$tmp/x.json" &&
   grep -q '"name":"demo_sys_inner",[^}]*"file":"user/demo/demo.c","line":[0-9]' "$tmp/x.json"; then
	pass exports-inline-and-lines "demo_spin_step inlined into demo_spin_inner; demo.c lines"
else
	fail exports-inline-and-lines "no inlined demo_spin_step or no source line" "$tmp/x.json"
fi
# --- one content whatever the formats: inlined frames are decided once per run
start_demo -l -1
"$dp" -p "$demo_pid" -d 1 -f folded -o "$tmp/alone.folded" 2> "$tmp/alone.err"; rc1=$?
"$dp" -p "$demo_pid" -d 1 -f report -o "$tmp/alone.txt" 2>> "$tmp/alone.err"; rc2=$?
"$dp" -p "$demo_pid" -d 1 --no-inline -f folded -o "$tmp/noinl.folded" -f json -o "$tmp/noinl.json" \
	2>> "$tmp/alone.err"; rc3=$?
stop_demo
hot=$(awk '/^Top functions by self/ { t = 1; next } t && /%/ { print $4; exit }' "$tmp/alone.txt")
if [ $rc1$rc2$rc3 = 000 ] && grep -q "demo_spin_inner;demo_spin_step [0-9]" "$tmp/alone.folded" &&
   [ "$hot" = demo_spin_step ] && grep -q "demo_spin_inner [0-9]" "$tmp/noinl.folded" &&
   ! grep -q demo_spin_step "$tmp/noinl.folded" "$tmp/noinl.json"; then
	pass formats-same-frames "folded alone and the report name the inlined demo_spin_step as with json; --no-inline drops it from every format"
else
	{ echo "exit $rc1 $rc2 $rc3; hottest by self: '$hot'"; grep -c . "$tmp/alone.folded"; cat "$tmp/alone.err"; } > "$tmp/alone.chk"
	fail formats-same-frames "the frames depend on the formats asked for" "$tmp/alone.chk"
fi
if grep -q "demo_sys_inner;entry_SYSCALL_64[^;]*;do_syscall_64;.*vfs_read" "$tmp/x.folded"; then
	pass exports-syscall-chain "user chain continued by the kernel's in every format's source aggregate"
else
	fail exports-syscall-chain "no demo_sys_inner...vfs_read" "$tmp/x.folded"
fi

# --- ndjson: one complete line per interval, flushed as written, then a summary
start_demo -l -1
"$dp" -p "$demo_pid" -d 4 -f ndjson -i 0.5 -o "$tmp/x.ndjson" 2> "$tmp/nd.err" & prof=$!
# Lines reach the file, nameless until the end (O_TMPFILE: read through
# deferprof's descriptor) or a named temporary, while deferprof still runs.
lines_midway=0
for _ in $(seq 40); do
	sleep 0.1
	kill -0 $prof 2>/dev/null || break
	lines_midway=$({ cat "$tmp"/x.ndjson.*
		find "/proc/$prof/fd" -lname "$tmp/#*" -exec cat {} +; } 2>/dev/null | wc -l)
	[ "$lines_midway" -ge 2 ] && break
done
wait $prof; rc=$?
stop_demo
if [ $rc = 0 ] && tests/check-export.py --chain main,demo_sys_outer,demo_sys_middle,demo_sys_inner \
	--ndjson "$tmp/x.ndjson" > "$tmp/nd.chk" 2>&1 && [ "$lines_midway" -ge 2 ]; then
	pass ndjson-stream "$(wc -l < "$tmp/x.ndjson") lines, $lines_midway complete while profiling; $(cat "$tmp/nd.chk")"
else
	fail ndjson-stream "exit $rc, $lines_midway lines while profiling" "$tmp/nd.chk"
fi
# stdout: each line is there as soon as its interval ends
start_demo -l -1
timeout -s INT 1.8 "$dp" -p "$demo_pid" -f ndjson -i 0.5 2>/dev/null | head -n 2 > "$tmp/nd2.out"
stop_demo
if [ "$(wc -l < "$tmp/nd2.out")" = 2 ] && head -1 "$tmp/nd2.out" | grep -q '^{"type":"interval","interval":{"seq":1,'; then
	pass ndjson-stdout "2 interval lines read from a pipe while profiling"
else
	fail ndjson-stdout "expected 2 interval lines" "$tmp/nd2.out"
fi

# --- exports are atomic: SIGTERM writes them whole, SIGKILL leaves no file
start_demo -l -1
start_profiling 300 "$tmp/t.err" -p "$demo_pid" -f json -o "$tmp/t.json"
sleep 1	# samples to write
kill -TERM $prof; wait $prof; rc=$?
if [ $rc = 0 ] && tests/check-export.py --chain main,demo_spin_outer --json "$tmp/t.json" > "$tmp/t.chk" 2>&1; then
	pass export-sigterm "$(cat "$tmp/t.chk")"
else
	fail export-sigterm "exit $rc" "$tmp/t.chk"
fi
start_profiling 300 "$tmp/k.err" -p "$demo_pid" -f json -o "$tmp/k.json"; enabled=$?	# killed while profiling
kill -KILL $prof; wait $prof 2>/dev/null
stop_demo
if [ $enabled != 0 ]; then
	fail export-sigkill "deferprof never enabled its events" "$tmp/k.err"
elif [ ! -e "$tmp/k.json" ]; then
	pass export-sigkill "no half file under the final name"
else
	fail export-sigkill "k.json exists after SIGKILL"
fi

# --- kernels without bpf_loop() (< 5.17): no program, every sample stitched in user space.
# 999 Hz: the demo's system-call path gets about 2% of the samples; at 99 Hz
# for 2 s with every CPU busy that was 1-3 samples, and none once in a while.
start_demo -l 200
DEFERPROF_TEST_NO_BPF_LOOP=1 "$dp" -p "$demo_pid" -F 999 -d 2 -o "$tmp/nl.rep" -f folded -o "$tmp/nl.folded" 2> "$tmp/nl.err"; rc=$?
stop_demo
if [ $rc = 0 ] && grep -q "no BPF aggregation: this kernel lacks bpf_loop()" "$tmp/nl.rep" &&
   grep -q "main;demo_spin_outer;demo_spin_middle;demo_spin_inner\(;demo_spin_step\)\? [0-9]" "$tmp/nl.folded" &&
   grep -q "main;demo_sys_outer;demo_sys_middle;demo_sys_inner;entry_SYSCALL_64" "$tmp/nl.folded"; then
	pass no-bpf-loop-fallback "$(grep -o 'samples: .* in stacks' "$tmp/nl.rep")"
else
	fail no-bpf-loop-fallback "exit $rc" "$tmp/nl.rep"
fi

# --- an idle target costs no wake-ups: the loop sleeps until something happens
sleep 60 & idle_pid=$!; pids+=("$idle_pid")
/usr/bin/time -f "%w %e" -o "$tmp/idle.time" "$dp" -p "$idle_pid" -d 4 -o "$tmp/idle.rep" 2> "$tmp/idle.err"; rc=$?
kill "$idle_pid" 2>/dev/null
read -r idle_waits idle_secs < "$tmp/idle.time"
# The old loop woke every 100 ms (40 times here); start-up and the end rounds wait a few times.
if [ $rc = 0 ] && [ "${idle_waits:-999}" -le 12 ]; then
	pass idle-no-wakeups "$idle_waits voluntary waits in ${idle_secs} s on a sleeping target"
else
	fail idle-no-wakeups "exit $rc, $idle_waits voluntary waits in ${idle_secs:-?} s" "$tmp/idle.err"
fi

# --- a counts map that fills up is drained early, on the program's word, before it
# overflows. Chains longer than a log entry takes are the ones aggregated in the
# kernel: the kernel cuts chains at kernel.perf_event_max_stack (127 by default), so
# it is raised for these tests, and 130 frames of padding go under the paths. The
# kernel refuses the change (EBUSY) while any callchain event exists: another
# profiler on this machine. Wait for it a while, else say so.
max_stack=$(cat /proc/sys/kernel/perf_event_max_stack)
raised=0
for _ in $(seq 1 100); do
	if echo 300 2>/dev/null > /proc/sys/kernel/perf_event_max_stack; then
		raised=1
		break
	fi
	sleep 0.2
done
if [ $raised = 0 ]; then
	max_stack=
	skip counts-map-early-drain "kernel.perf_event_max_stack cannot be raised: another profiler holds callchain events (EBUSY)"
	skip long-chains-in-kernel "kernel.perf_event_max_stack cannot be raised: another profiler holds callchain events (EBUSY)"
	skip store-ages-out "kernel.perf_event_max_stack cannot be raised: another profiler holds callchain events (EBUSY)"
	skip limits-store-full "kernel.perf_event_max_stack cannot be raised: another profiler holds callchain events (EBUSY)"
else
	"$out/dp-bench-work" -m paths -b 12 -P 130 -s 30 > /dev/null & paths_pid=$!; pids+=("$paths_pid")
	"$dp" -p "$paths_pid" -F 4999 -d 3 --max-entries 1024 -o "$tmp/full.rep" 2> "$tmp/full.err"; rc=$?
	# A store far too small for 4096 paths: said on stderr, named in the stacks, counted.
	"$dp" -p "$paths_pid" -F 4999 -d 1 --max-stacks 16 -o "$tmp/store.rep" 2> "$tmp/store.err"; rc_st=$?
	# A store a quarter the size of the paths: it ages what the last drain did not use.
	"$dp" -p "$paths_pid" -F 4999 -d 3 --max-stacks 1024 --max-entries 512 -o "$tmp/age.rep" 2> "$tmp/age.err"; rc_age=$?
	kill "$paths_pid" 2>/dev/null
	wait "$paths_pid" 2>/dev/null
	if wait_until 100 restore_max_stack; then	# else the cleanup tries again
		max_stack=
	fi

	full_seen=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped (counts map full \([0-9]*\).*/\1 \2 \4/p' "$tmp/full.rep")
	read -r f_seen f_in f_full <<< "$full_seen"
	if [ $rc = 0 ] && [ -n "$f_seen" ] && [ "$f_full" = 0 ] && [ "$f_seen" = "$f_in" ] && [ "$f_seen" -gt 1024 ]; then
		pass counts-map-early-drain "$f_seen samples over 4096 call paths through a 1024-entry map, 0 dropped"
	else
		fail counts-map-early-drain "exit $rc: seen/in stacks/map full = ${full_seen:-none}" "$tmp/full.rep"
	fi
	st=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped.*/\1 \2 \3/p' "$tmp/store.rep")
	read -r st_seen st_in st_drop <<< "$st"
	st_ns=$(sed -n 's/.*not stored (store full or allocation failed): kernel \([0-9]*\), user \([0-9]*\).*/\1 \2/p' "$tmp/store.rep")
	if [ $rc_st = 0 ] && [ -n "$st_seen" ] && [ "$st_seen" = $((st_in + st_drop)) ] &&
	   [ "$(echo $st_ns | awk '{ print $1 + $2 }')" -gt 0 ] &&
	   grep -q "stack store is full (16 stacks).*raise --max-stacks" "$tmp/store.err" &&
	   grep -q "stack not stored\]" "$tmp/store.rep" && ! grep -q "user stack lost\]" "$tmp/store.rep"; then
		pass limits-store-full "--max-stacks 16: said on stderr, parts not stored (kernel/user) $st_ns shown as [... stack not stored], $st_seen = $st_in + $st_drop"
	else
		cat "$tmp/store.err" >> "$tmp/store.rep"
		fail limits-store-full "exit $rc_st: seen/in/dropped ${st:-none}, not stored ${st_ns:-none}" "$tmp/store.rep"
	fi
	ag=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped.*/\1 \2 \3/p' "$tmp/age.rep")
	read -r ag_seen ag_in ag_drop <<< "$ag"
	ag_ns=$(sed -n 's/.*not stored (store full or allocation failed): kernel \([0-9]*\), user \([0-9]*\).*/\1 \2/p' "$tmp/age.rep" | awk '{ print $1 + $2 }')
	ag_aged=$(sed -n 's/.*store: .*, \([0-9]*\) aged out unused.*/\1/p' "$tmp/age.rep")
	# Without ageing, 3 of 4 paths would find the store full.
	if [ $rc_age = 0 ] && [ -n "$ag_seen" ] && [ "$ag_seen" = $((ag_in + ag_drop)) ] &&
	   [ "${ag_aged:-0}" -gt 0 ] && [ "${ag_ns:-1}" -le $((ag_seen / 10)) ] && grep -q "bw_leaf" "$tmp/age.rep"; then
		pass store-ages-out "4096 paths through a 1024-stack store: ${ag_aged} aged out, ${ag_ns} of $ag_seen samples not stored, $ag_seen = $ag_in + $ag_drop"
	else
		cat "$tmp/age.err" >> "$tmp/age.rep"
		fail store-ages-out "exit $rc_age: seen/in/dropped ${ag:-none}, aged ${ag_aged:-none}, not stored ${ag_ns:-none}" "$tmp/age.rep"
	fi
	full_trunc=$(sed -n 's/.*truncated: kernel [0-9]*, user \([0-9]*\);.*/\1/p' "$tmp/full.rep")
	if [ "${full_trunc:-0}" -gt 0 ] && grep -q "bw_leaf" "$tmp/full.rep"; then
		pass long-chains-in-kernel "$full_trunc samples with user stacks cut at 127 frames, leaf named"
	else
		fail long-chains-in-kernel "no truncated user stacks, or no bw_leaf" "$tmp/full.rep"
	fi

fi

# --- the per-CPU sample logs wake user space when half full: with drains otherwise
# 10 s apart, 40-deep syscall stacks at 4999 Hz (about 500 bytes an entry) lose
# nothing while more than two 1 MiB logs' worth passes. On a busy machine the
# workload gets fewer samples: the profile is taken again, longer (3, 8, 20 s),
# until that much has passed, or until one is dropped.
"$out/dp-bench-work" -m sysdeep -s 120 > /dev/null & deep_pid=$!; pids+=("$deep_pid")
for secs in 3 8 20; do
	"$dp" -p "$deep_pid" -F 4999 -d $secs --drain-ms 10000 -o "$tmp/logfull.rep" 2> "$tmp/logfull.err"; rc=$?
	lf=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped.*/\1 \2 \3/p' "$tmp/logfull.rep")
	read -r l_seen l_in l_drop <<< "$lf"
	l_bytes=$(sed -n 's/.*logs: *[0-9]* samples, \([0-9]*\) bytes.*/\1/p' "$tmp/logfull.rep")
	[ $rc = 0 ] && [ "${l_drop:-1}" = 0 ] && [ "${l_bytes:-0}" -le $((2 * 1048576)) ] || break
done
kill "$deep_pid" 2>/dev/null
if [ $rc = 0 ] && [ -n "$l_seen" ] && [ "$l_drop" = 0 ] && [ "$l_seen" = "$l_in" ] &&
   [ "${l_bytes:-0}" -gt $((2 * 1048576)) ]; then
	pass log-early-drain "$l_seen samples in $secs s, $l_bytes bytes through the logs, 0 dropped"
else
	fail log-early-drain "exit $rc: seen/in stacks/dropped = ${lf:-none}, log bytes ${l_bytes:-none} in $secs s" "$tmp/logfull.rep"
fi

# --- a frame chain broken into text: cut there, under one counted [bad frame]
"$out/dp-live-work" badframe 60 & bf_pid=$!; pids+=("$bf_pid")
wait_until 100 runs "$bf_pid" "$out/dp-live-work"
"$dp" -p "$bf_pid" -d 1 -F 999 -f folded -o "$tmp/bf.folded" -f json -o "$tmp/bf.json" \
	-f report -o "$tmp/bf.rep" 2> "$tmp/bf.err"; rc=$?
kill "$bf_pid" 2>/dev/null
wait "$bf_pid" 2>/dev/null
bf_n=$(sed -n 's/.*user chains cut at a \[bad frame\] \([0-9]*\).*/\1/p' "$tmp/bf.rep")
bf_j=$(grep -o '"bad_frame_samples":[0-9]*' "$tmp/bf.json" | cut -d: -f2)
if [ $rc = 0 ] && grep -q "\[bad frame\];live_bf_outer;live_bf_break;live_bf_leaf [0-9]" "$tmp/bf.folded" &&
   [ "${bf_n:-0}" -gt 0 ] && [ "$bf_n" = "$bf_j" ] &&
   ! grep -qi "3133343638\|unmapped" "$tmp/bf.folded" "$tmp/bf.rep" "$tmp/bf.json"; then
	pass bad-frame "a chain broken into text cut under [bad frame] ($bf_n samples, in the header and the json totals); no 0x3133... frame anywhere"
else
	fail bad-frame "exit $rc: header ${bf_n:-none}, json ${bf_j:-none}" "$tmp/bf.folded"
fi

# --- a return address that looks like a perf context marker (PERF_CONTEXT_KERNEL's
# value): code without frame pointers leaves any word in rbp, and the kernel stores
# what it reads. Cut under [bad frame] like any other; the samples after it in the
# log still counted (a chain that did not split made the reader skip the rest).
"$out/dp-live-work" badframe 60 ffffffffffffff80 & bm_pid=$!; pids+=("$bm_pid")
wait_until 100 runs "$bm_pid" "$out/dp-live-work"
"$dp" -p "$bm_pid" -d 1 -F 999 -f folded -o "$tmp/bm.folded" -f report -o "$tmp/bm.rep" 2> "$tmp/bm.err"; rc=$?
kill "$bm_pid" 2>/dev/null
wait "$bm_pid" 2>/dev/null
bm=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped.*/\1 \2 \3/p' "$tmp/bm.rep")
read -r bm_seen bm_in bm_drop <<< "$bm"
bm_mal=$(sed -n 's/.* \([0-9]*\) malformed$/\1/p' "$tmp/bm.rep")
if [ $rc = 0 ] && [ -n "$bm_seen" ] && [ "$bm_seen" = $((bm_in + bm_drop)) ] && [ "${bm_mal:-1}" = 0 ] &&
   grep -q "\[bad frame\];live_bf_outer;live_bf_break;live_bf_leaf [0-9]" "$tmp/bm.folded" &&
   ! grep -q "malformed chain\|ffffffffffffff80" "$tmp/bm.folded"; then
	pass bad-frame-marker-word "a return address of 0xffffffffffffff80 cut under [bad frame]; $bm_seen = $bm_in + $bm_drop, 0 malformed"
else
	fail bad-frame-marker-word "exit $rc: seen/in/dropped ${bm:-none}, malformed ${bm_mal:-none}" "$tmp/bm.folded"
fi

# --- the same with PERF_CONTEXT_USER_DEFERRED's value, next to last, where a
# deferred chain has its marker and the cookie follows. In classic mode it is
# a bad frame like any other: the program once took the chain for a deferred
# one, and the sample waited for a record that never came (lost to the timeout).
if [ "$mode" = classic ]; then
	"$out/dp-live-work" badframe 60 fffffffffffffd80 next & bd_pid=$!; pids+=("$bd_pid")
	wait_until 100 runs "$bd_pid" "$out/dp-live-work"
	"$dp" -p "$bd_pid" -d 1 -F 999 -f folded -o "$tmp/bd.folded" -f report -o "$tmp/bd.rep" 2> "$tmp/bd.err"; rc=$?
	kill "$bd_pid" 2>/dev/null
	wait "$bd_pid" 2>/dev/null
	bd_lost=$(sed -n 's/.* \([0-9]*\) user stack lost.*/\1/p' "$tmp/bd.rep")
	if [ $rc = 0 ] && [ "${bd_lost:-1}" = 0 ] &&
	   grep -q "\[bad frame\];live_bf_outer;live_bf_break;live_bf_leaf [0-9]" "$tmp/bd.folded"; then
		pass bad-frame-deferred-word "classic: a return address of PERF_CONTEXT_USER_DEFERRED's value, next to last, cut under [bad frame]; 0 user stacks lost"
	else
		fail bad-frame-deferred-word "exit $rc: user stacks lost ${bd_lost:-none}" "$tmp/bd.rep"
	fi
fi

# --- a stripped executable: functions delimited by its unwind tables (FDEs), named
# object+0xSTART, so the samples of one function add up under one name
if ! command -v nm > /dev/null; then
	skip stripped-functions "nm (binutils) is missing: cannot find live_proc_a's address"
else
	a_start=$(nm "$out/dp-live-work" | awk '$3 == "live_proc_a" { sub(/^0+/, "", $1); print $1 }')
	"$out/dp-live-work-stripped" a 60 & sp_pid=$!; pids+=("$sp_pid")
	wait_until 100 runs "$sp_pid" "$out/dp-live-work-stripped"
	"$dp" -p "$sp_pid" -d 1 -F 999 -f folded -o "$tmp/strip.folded" 2> "$tmp/strip.err"; rc=$?
	kill "$sp_pid" 2>/dev/null
	wait "$sp_pid" 2>/dev/null
	sp_all=$(awk '{ n += $NF } END { print n + 0 }' "$tmp/strip.folded")
	sp_fn=$(grep "dp-live-work-stripped+0x$a_start [0-9]*$" "$tmp/strip.folded" | awk '{ n += $NF } END { print n + 0 }')
	sp_names=$(grep -o "dp-live-work-stripped+0x[0-9a-f]* [0-9]*$" "$tmp/strip.folded" | cut -d' ' -f1 | sort -u | wc -l)
	if [ $rc = 0 ] && [ -n "$a_start" ] && [ "$sp_fn" -gt $((sp_all * 8 / 10)) ] && [ "$sp_names" -le 3 ]; then
		pass stripped-functions "$sp_fn of $sp_all samples under dp-live-work-stripped+0x$a_start (live_proc_a's start), $sp_names leaf names"
	else
		fail stripped-functions "exit $rc: live_proc_a at 0x${a_start:-?}: $sp_fn of $sp_all samples, $sp_names leaf names" "$tmp/strip.folded"
	fi
fi

# --- a reader that falls behind (stopped here with SIGSTOP) overflows the per-CPU logs,
# and, with --raw and a one-page ring, the ring: each said once on stderr while the run
# goes on, counted in the header, the equation closed. Stopped longer each time
# (1, 3, 6 s) until something overflowed: a busy machine gives the target less time.
"$out/dp-bench-work" -m sysdeep -t 2 -s 120 > /dev/null & of_pid=$!; pids+=("$of_pid")
overflow_run() {	# report stderr stop-seconds options...
	local rep=$1 err=$2 secs=$3
	shift 3
	local prof
	start_profiling 200 "$err" -p "$of_pid" -F 4999 "$@" -o "$rep"
	kill -STOP $prof
	sleep "$secs"
	kill -CONT $prof
	kill -INT $prof
	wait $prof
}
for secs in 1 3 6; do
	overflow_run "$tmp/lof.rep" "$tmp/lof.err" $secs; rc=$?
	lo=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped.*sample log full \([0-9]*\).*/\1 \2 \3 \4/p' "$tmp/lof.rep")
	read -r lo_seen lo_in lo_drop lo_full <<< "$lo"
	[ "${lo_full:-0}" -gt 0 ] && break
done
if [ $rc = 0 ] && [ "${lo_full:-0}" -gt 0 ] && [ "$lo_seen" = $((lo_in + lo_drop)) ] &&
   [ "$(grep -c "sample log overflowed" "$tmp/lof.err")" = 1 ]; then
	pass limits-log-full "reader stopped $secs s: said once on stderr, $lo_full dropped as sample log full, $lo_seen = $lo_in + $lo_drop"
else
	cat "$tmp/lof.err" >> "$tmp/lof.rep"
	fail limits-log-full "exit $rc: seen/in/dropped/log full ${lo:-none}" "$tmp/lof.rep"
fi
for secs in 1 3 6; do
	overflow_run "$tmp/rof.rep" "$tmp/rof.err" $secs --raw --ring-pages 1; rc=$?
	ro=$(sed -n 's/.*samples: *\([0-9]*\) = \([0-9]*\) in stacks + \([0-9]*\) lost in the ring.*/\1 \2 \3/p' "$tmp/rof.rep")
	read -r ro_all ro_in ro_lost <<< "$ro"
	[ "${ro_lost:-0}" -gt 0 ] && break
done
kill "$of_pid" 2>/dev/null
wait "$of_pid" 2>/dev/null
ro_rec=$(sed -n 's/.*ring buffer lost \([0-9]*\) records.*/\1/p' "$tmp/rof.rep")
if [ $rc = 0 ] && [ "${ro_lost:-0}" -gt 0 ] && [ "$ro_all" = $((ro_in + ro_lost)) ] && [ "$ro_lost" = "$ro_rec" ] &&
   grep -q "ring buffer overflowed: .*raise --ring-pages (now 1)" "$tmp/rof.err"; then
	pass limits-raw-ring "--raw, 1-page ring, reader stopped $secs s: said on stderr; $ro_all = $ro_in in stacks + $ro_lost lost in the ring"
else
	cat "$tmp/rof.err" >> "$tmp/rof.rep"
	fail limits-raw-ring "exit $rc: all/in/lost ${ro:-none}, ring lost ${ro_rec:-none}" "$tmp/rof.rep"
fi

# --- --raw (every sample through the ring) and --record + dp-replay (make bench's tools)
start_demo -l -1
"$dp" -p "$demo_pid" -d 2 --raw -o "$tmp/raw.txt" 2> "$tmp/raw.err"; rc=$?
"$dp" -p "$demo_pid" -d 2 --record "$tmp/rec.bin" -o "$tmp/rec.txt" 2>> "$tmp/raw.err"; rc2=$?
stop_demo
rs=$(grep -m1 "samples:" "$tmp/raw.txt" | awk '{ print $2 }')
rr=$(grep -m1 "ring:" "$tmp/raw.txt" | awk '{ print $2 }')
if [ $rc = 0 ] && [ -n "$rs" ] && [ "$rs" -gt 0 ] && [ "$rr" -ge "$rs" ] && grep -q "demo_spin_inner" "$tmp/raw.txt"; then
	pass raw-mode "$rs samples, $rr ring records: every sample through the ring, stacks named"
else
	fail raw-mode "exit $rc" "$tmp/raw.txt"
fi
seen=$(grep -m1 "samples:" "$tmp/rec.txt" | awk '{ print $2 }')
"$out/dp-replay" "$tmp/rec.bin" > "$tmp/replay.json" 2>> "$tmp/raw.err"; rc3=$?
if [ $rc2 = 0 ] && [ $rc3 = 0 ] && grep -q "\"samples_in\":$seen," "$tmp/replay.json"; then
	pass record-replay "$seen samples recorded and replayed: $(cut -c1-120 "$tmp/replay.json")"
else
	fail record-replay "exit $rc2/$rc3, $seen samples in the report" "$tmp/replay.json"
fi

# --- devices and FIFOs are written in place, never replaced by a renamed file
start_demo -l -1
"$dp" -p "$demo_pid" -d 1 -f json -o /dev/null 2> "$tmp/devnull.err"; rc=$?
mkfifo "$tmp/fifo"
cat "$tmp/fifo" > "$tmp/fifo.out" & catp=$!
"$dp" -p "$demo_pid" -d 1 -f folded -o "$tmp/fifo" 2>> "$tmp/devnull.err"; rc2=$?
wait $catp
stop_demo
if [ $rc = 0 ] && [ $rc2 = 0 ] && [ -c /dev/null ] && [ -p "$tmp/fifo" ] &&
   grep -q "demo_spin_inner" "$tmp/fifo.out"; then
	pass output-device-fifo "-o /dev/null leaves the device; -o FIFO streams into the pipe"
else
	fail output-device-fifo "exit $rc/$rc2, /dev/null: $(stat -c %F /dev/null)" "$tmp/devnull.err"
fi

# --- a full disk: a clear error, non-zero exit, no file
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=64k dpfull "$tmp/full" 2>/dev/null; then
	dd if=/dev/zero of="$tmp/full/fill" bs=4k 2>/dev/null
	"$dp" --demo -d 1 -f json -o "$tmp/full/out.json" > /dev/null 2> "$tmp/full.err"; rc=$?
	umount "$tmp/full"
	if [ $rc = 1 ] && grep -q "No space left on device" "$tmp/full.err" && [ ! -e "$tmp/full/out.json" ]; then
		pass error-disk-full "$(grep -m1 "No space" "$tmp/full.err")"
	else
		fail error-disk-full "exit $rc" "$tmp/full.err"
	fi
else
	skip error-disk-full "cannot mount a small tmpfs here"
fi

# --- bad input: one line on stderr, non-zero exit, no hang
bad() {	# name, expected message, args...
	local name=$1 want=$2
	shift 2
	timeout 20 "$dp" "$@" > "$tmp/bad.out" 2> "$tmp/bad.err"; local rc=$?
	if [ $rc != 0 ] && [ $rc != 124 ] && [ "$(wc -l < "$tmp/bad.err")" = 1 ] && grep -q "$want" "$tmp/bad.err"; then
		pass "error-$name" "$(cat "$tmp/bad.err")"
	else
		fail "error-$name" "exit $rc, wanted one line with '$want'" "$tmp/bad.err"
	fi
}
if nopid=$(free_pid); then
	bad no-such-pid "no such process: $nopid" -p "$nopid" -d 1
else
	skip error-no-such-pid "every pid below kernel.pid_max is in use"
fi
if kpid=$(kernel_thread_pid); then
	bad kernel-thread "$kpid is a kernel thread" -p "$kpid" -d 1
else
	skip error-kernel-thread "no kernel thread visible in /proc (a container?)"
fi
bad bad-number "invalid frequency 'abc'" -F abc
bad bad-duration "invalid duration" -d -3
bad unwritable-output "cannot write /nonexistent/dir/out" -o /nonexistent/dir/out -d 1
bad unknown-format "unknown format 'xml'" -f xml -d 1
bad interval-no-ndjson "applies to -f ndjson" -f json -i 1 -d 1
bad ndjson-two-outputs "takes a single output" -f ndjson -o "$tmp/a" -f json -o "$tmp/b" -d 1
# pprof to a terminal: refused (script gives the command a terminal)
timeout 20 script -qec "$dp -f pprof -d 1" /dev/null > "$tmp/tty.out" 2>&1; rc=$?
if [ $rc = 2 ] && grep -q "pprof output is binary (gzip): give -o FILE or redirect stdout" "$tmp/tty.out"; then
	pass error-pprof-terminal "$(tr -d '\r' < "$tmp/tty.out")"
else
	fail error-pprof-terminal "exit $rc" "$tmp/tty.out"
fi
if [ "$mode" = classic ]; then
	bad deferred-unsupported "lacks deferred user callchains" --mode=deferred -d 1
	bad verify-unsupported "needs deferred mode" --verify -d 1
fi
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$dp" -p 1 -d 1 > /dev/null 2> "$tmp/np.err"; rc=$?
	if [ $rc != 0 ] && [ "$(wc -l < "$tmp/np.err")" = 1 ] && grep -q "run with sudo" "$tmp/np.err"; then
		pass error-not-root-profile "$(cat "$tmp/np.err")"
	else
		fail error-not-root-profile "exit $rc" "$tmp/np.err"
	fi
fi

finish
