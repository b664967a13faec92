#!/usr/bin/env bash
# Live tests of what deferprof profiles: a command it starts (-- COMMAND),
# several processes (-p A,B), a target that exits during set-up, a process
# of 2,000 threads, a cgroup. Names from tests/live/workload.c are checked
# in the stacks. Synchronization polls for conditions with a timeout.
set -uo pipefail
out=${1:-build}
dp=$(realpath "$out/deferprof")
work=$(realpath "$out/dp-live-work")
tmp=$(mktemp -d /tmp/dp-targets.XXXXXX)
pids=()
cg=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$cg" ] && [ -d "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
suite=targets prefix=''
# shellcheck source=tests/live/lib.sh
. "$(dirname "$0")/lib.sh"
# The accounting line: seen by BPF = in stacks + dropped.
accounting_closes() {	# stderr-file
	local l seen instacks dropped
	l=$(grep -m1 "samples seen by BPF" "$1") || return 1
	seen=$(sed -n 's/.* \([0-9]*\) samples seen by BPF.*/\1/p' <<< "$l")
	instacks=$(sed -n 's/.*, \([0-9]*\) in stacks.*/\1/p' <<< "$l")
	dropped=$(sed -n 's/.*, \([0-9]*\) dropped.*/\1/p' <<< "$l")
	[ -n "$seen" ] && [ "$seen" -gt 0 ] && [ "$seen" = $((instacks + dropped)) ]
}

need_root

# --- -- COMMAND: the exit status passed through, a normal code and a signal
"$dp" -f folded -o "$tmp/exit.folded" -- "$work" exit 7 2> "$tmp/exit.err"; rc=$?
if [ $rc = 7 ] && grep -q "live_exit_spin" "$tmp/exit.folded"; then
	pass command-exit-status "exit 7 passed through, live_exit_spin profiled"
else
	fail command-exit-status "exit $rc, expected 7 and live_exit_spin" "$tmp/exit.err"
fi
# --- --nice: the collecting thread at -5 by default; the command it starts keeps its own priority
"$dp" -f folded -o "$tmp/nice.folded" -- sh -c 'echo "cmd-nice $(nice)"; exec sleep 3' \
	> "$tmp/nice.out" 2> "$tmp/nice.err" & dpn=$!
if wait_until 100 grep -q "^cmd-nice" "$tmp/nice.out"; then
	dpnice=$(ps -L -o nice= -p "$dpn" | tr -d ' ' | sort -n | head -n 1)
	cmdnice=$(sed -n 's/^cmd-nice //p' "$tmp/nice.out")
	wait "$dpn"
	if [ "$dpnice" = -5 ] && [ "$cmdnice" = 0 ]; then
		pass reader-nice "deferprof's reader at nice -5, the command at 0"
	else
		fail reader-nice "reader nice '$dpnice' (expected -5), command nice '$cmdnice' (expected 0)" "$tmp/nice.err"
	fi
else
	kill "$dpn" 2>/dev/null; wait "$dpn"
	fail reader-nice "the command never ran" "$tmp/nice.err"
fi
"$dp" -f folded -o "$tmp/sig.folded" -- "$work" signal 10 2> "$tmp/sig.err"; rc=$?
if [ $rc = 138 ] && grep -q "live_exit_spin" "$tmp/sig.folded"; then
	pass command-signal-status "killed by SIGUSR1: 128+10"
else
	fail command-signal-status "exit $rc, expected 138" "$tmp/sig.err"
fi

# --- -- COMMAND: profiled from the exec on (a hot function in its first 0.3 s only)
"$dp" -F 999 -o "$tmp/early.txt" -f folded -o "$tmp/early.folded" -- "$work" early 300 2> "$tmp/early.err"; rc=$?
n=$(grep "live_early_burst" "$tmp/early.folded" | awk '{ s += $NF } END { print s + 0 }')
if [ $rc = 0 ] && [ "$n" -ge 100 ] && grep -q "^deferprof: command .*dp-live-work early 300 (process [0-9]*)" "$tmp/early.txt"; then
	pass command-from-exec "$n samples of live_early_burst (0.3 s at 999 Hz); header names the command"
else
	fail command-from-exec "exit $rc, $n samples of live_early_burst" "$tmp/early.txt"
fi

# --- -- COMMAND that cannot run: one line, 127, no profile
"$dp" -f folded -o "$tmp/none.folded" -- /nonexistent/dp-no-such-cmd 2> "$tmp/none.err"; rc=$?
if [ $rc = 127 ] && [ "$(wc -l < "$tmp/none.err")" = 1 ] &&
   grep -q "cannot run /nonexistent/dp-no-such-cmd: No such file or directory" "$tmp/none.err" &&
   [ ! -e "$tmp/none.folded" ]; then
	pass command-not-found "$(cat "$tmp/none.err")"
else
	fail command-not-found "exit $rc" "$tmp/none.err"
fi

# --- -- COMMAND and SIGTERM: passed on to the command, the profile still written
"$dp" -f folded -o "$tmp/term.folded" -- "$work" a 60 2> "$tmp/term.err" & prof=$!
pids+=("$prof")
child() { pgrep -P "$prof" > "$tmp/child"; }
# exec'ed: the events are on from there
profiled() { [ "$(cat /proc/"$(cat "$tmp/child")"/comm 2>/dev/null)" = dp-live-work ]; }
if wait_until 100 child && wait_until 100 profiled; then
	sleep 0.5	# some samples to write; not a synchronization
	kill -TERM "$prof"
	wait "$prof"; rc=$?
	if [ $rc = 143 ] && grep -q "live_proc_a" "$tmp/term.folded" && ! kill -0 "$(cat "$tmp/child")" 2>/dev/null; then
		pass command-sigterm "the command got SIGTERM (exit 143), the profile was written"
	else
		fail command-sigterm "exit $rc" "$tmp/term.err"
	fi
else
	fail command-sigterm "the command never started"
fi

# --- -- COMMAND and Ctrl-C: SIGINT to the process group, as the terminal sends it
setsid "$dp" -f folded -o "$tmp/int.folded" -- "$work" a 60 2> "$tmp/int.err" & prof=$!
pids+=("$prof")
if wait_until 100 child && wait_until 100 profiled; then
	sleep 0.5	# some samples to write; not a synchronization
	kill -INT -- -"$prof"
	wait "$prof"; rc=$?
	if [ $rc = 130 ] && grep -q "live_proc_a" "$tmp/int.folded" && ! kill -0 "$(cat "$tmp/child")" 2>/dev/null; then
		pass command-ctrl-c "the command ended by SIGINT (exit 130), the profile was written"
	else
		fail command-ctrl-c "exit $rc" "$tmp/int.err"
	fi
else
	fail command-ctrl-c "the command never started"
fi

# --- -p A,B: two processes in one profile, threads listed per process
"$work" a 30 & a=$!; pids+=("$a")
"$work" b 30 & b=$!; pids+=("$b")
"$dp" -p "$a,$b" -d 2 -f folded -o "$tmp/two.folded" -f json -o "$tmp/two.json" 2> "$tmp/two.err"; rc=$?
kill "$a" "$b"; wait "$a" "$b" 2>/dev/null
if [ $rc = 0 ] && grep -q "live_proc_a" "$tmp/two.folded" && grep -q "live_proc_b" "$tmp/two.folded"; then
	pass two-processes "live_proc_a of $a and live_proc_b of $b in one profile"
else
	fail two-processes "exit $rc" "$tmp/two.folded"
fi
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
pids = {int(t["pid"]) for t in d["threads"]}
sys.exit(0 if {int(sys.argv[2]), int(sys.argv[3])} <= pids else 1)' "$tmp/two.json" "$a" "$b" 2> "$tmp/two.py"; then
	pass two-processes-threads "the json lists threads of both pids"
else
	fail two-processes-threads "threads of $a and $b not both in the json" "$tmp/two.py"
fi
"$dp" -p "$a,1,x" -d 1 2> "$tmp/badpid.err"; rc=$?
"$dp" -p 1,2147483000 -d 1 2> "$tmp/nopid.err"; rc2=$?
if [ $rc != 0 ] && [ $rc2 != 0 ] && [ "$(wc -l < "$tmp/badpid.err")" = 1 ] &&
   grep -q "invalid pid list" "$tmp/badpid.err" && grep -q "^deferprof: no such process: 2147483000$" "$tmp/nopid.err"; then
	pass bad-pids "$(cat "$tmp/nopid.err")"
else
	fail bad-pids "exit $rc and $rc2" "$tmp/badpid.err"
fi

# --- a target that exits during set-up: a clear line, or the profile of what was caught
for ms in 60 150 400 1500; do
	"$work" short "$ms" & w=$!
	"$dp" -p "$w" -d 3 -f folded -o "$tmp/early-exit.folded" 2> "$tmp/early-exit.err"; rc=$?
	wait "$w"
	if [ $rc = 1 ] && [ "$(wc -l < "$tmp/early-exit.err")" = 1 ] &&
	   grep -q "^deferprof: process $w exited before profiling began" "$tmp/early-exit.err" &&
	   [ ! -e "$tmp/early-exit.folded" ]; then
		pass "exit-during-setup-${ms}ms" "$(cat "$tmp/early-exit.err")"
	elif [ $rc = 0 ] && grep -q "the target exited" "$tmp/early-exit.err" &&
	     { grep -q "live_short_spin" "$tmp/early-exit.folded" || grep -q "before any sample" "$tmp/early-exit.err"; }; then
		pass "exit-during-setup-${ms}ms" "profile of what was caught: $(grep -o "[0-9]* in stacks" "$tmp/early-exit.err")"
	else
		fail "exit-during-setup-${ms}ms" "exit $rc" "$tmp/early-exit.err"
	fi
	rm -f "$tmp/early-exit.folded"
done
# The same in top (its own stderr comes back when the screen is left). A
# process of 60 ms could be gone before tmux has even started top on a busy
# machine ("no such process", rightly): top gets a zombie instead, a process
# that exists when deferprof starts and has exited, whose parent (a sleep
# that exec'd over the subshell) never reaps it.
if command -v tmux >/dev/null; then
	T="tmux -L dp-targets-$$"
	( "$work" short 0 & echo $! > "$tmp/zombie.pid"; exec sleep 60 ) & zparent=$!
	pids+=("$zparent")
	is_zombie() { [ -s "$tmp/zombie.pid" ] && grep -q "^State:.*Z" "/proc/$(cat "$tmp/zombie.pid")/status" 2>/dev/null; }
	wait_until 100 is_zombie
	w=$(cat "$tmp/zombie.pid")
	$T -f /dev/null new-session -d -s t -x 100 -y 30 \
		"$dp top -p $w 2> $tmp/top-exit.err; echo \$? > $tmp/top-exit.rc; sleep 60"
	got_rc() { [ -s "$tmp/top-exit.rc" ]; }
	wait_until 100 got_rc || $T send-keys -t t q
	wait_until 50 got_rc
	kill "$zparent" 2>/dev/null
	rc=$(cat "$tmp/top-exit.rc" 2>/dev/null)
	$T kill-server 2>/dev/null
	if [ "$rc" = 1 ] && grep -q "process $w exited before profiling began" "$tmp/top-exit.err"; then
		pass top-exit-during-setup "exit $rc: $(head -n1 "$tmp/top-exit.err")"
	else
		fail top-exit-during-setup "exit ${rc:-none}" "$tmp/top-exit.err"
	fi
else
	skip top-exit-during-setup "tmux is missing (make deps installs it)"
fi

# --- 2,000 threads: threads x CPUs descriptors; the soft limit raised, the accounting closed
wout=$tmp/threads.out
"$work" threads 2000 120 > "$wout" & w=$!; pids+=("$w")
ready() { grep -q "^ready 2000$" "$wout"; }
if wait_until 300 ready; then
	(ulimit -n 1000; "$dp" -p "$w" -d 1 -o "$tmp/nofile.txt" 2> "$tmp/nofile.err"); rc=$?
	if [ $rc = 1 ] && [ "$(wc -l < "$tmp/nofile.err")" = 1 ] &&
	   grep -q "2001 threads x [0-9]* CPUs need about [0-9]* file descriptors, above the hard limit of 1000: raise it" "$tmp/nofile.err"; then
		pass threads-fd-limit "$(cat "$tmp/nofile.err")"
	else
		fail threads-fd-limit "exit $rc" "$tmp/nofile.err"
	fi
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -lt 12000 ]; then
		skip threads-2000 "the hard open-file limit ($hard) is below what 2,000 threads x CPUs need"
	else
		(ulimit -Sn 1024; "$dp" -v -F 999 -p "$w" -d 3 -f folded -o "$tmp/threads.folded" 2> "$tmp/threads.err"); rc=$?
		nthreads=$(grep "live_thread_main;live_thread_spin" "$tmp/threads.folded" | wc -l)
		if [ $rc = 0 ] && [ "$nthreads" -gt 0 ] && accounting_closes "$tmp/threads.err" &&
		   grep -q "open-file limit raised" "$tmp/threads.err"; then
			pass threads-2000 "$(grep -o "[0-9][0-9]* perf events on [0-9]* CPUs" "$tmp/threads.err" | head -n1), $(grep -o "[0-9]* samples seen by BPF, [0-9]* in stacks, [0-9]* dropped" "$tmp/threads.err")"
		else
			fail threads-2000 "exit $rc, $nthreads stacks in live_thread_spin" "$tmp/threads.err"
		fi
	fi
else
	fail threads-2000 "the workload never started its 2,000 threads" "$wout"
fi
kill "$w" 2>/dev/null; wait "$w" 2>/dev/null

# --- --cgroup: one process inside the group, one outside; only the inside one profiled
mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -z "$mnt" ]; then
	skip cgroup "no cgroup2 mount in /proc/mounts (cgroup v1 only): --cgroup untested"
elif ! mkdir "$mnt/dp-live-$$" 2> "$tmp/cg.err"; then
	skip cgroup "cannot create a cgroup under $mnt ($(cat "$tmp/cg.err")): --cgroup untested"
else
	cg=$mnt/dp-live-$$
	"$work" a 60 & a=$!; pids+=("$a")
	"$work" b 60 & b=$!; pids+=("$b")
	if echo "$a" > "$cg/cgroup.procs"; then
		"$dp" --cgroup "dp-live-$$" -d 2 -f folded -o "$tmp/cg.folded" -f report -o "$tmp/cg.txt" 2> "$tmp/cg.err"; rc=$?
		if [ $rc = 0 ] && grep -q "live_proc_a" "$tmp/cg.folded" && ! grep -q "live_proc_b" "$tmp/cg.folded" &&
		   grep -q "^deferprof: cgroup $cg" "$tmp/cg.txt" && accounting_closes "$tmp/cg.err"; then
			pass cgroup "live_proc_a inside $cg profiled, live_proc_b outside not ($mnt from /proc/mounts)"
		else
			fail cgroup "exit $rc" "$tmp/cg.folded"
		fi
	else
		fail cgroup "cannot move $a into $cg"
	fi
	kill "$a" "$b"; wait "$a" "$b" 2>/dev/null
	# A process joining after the start is profiled too.
	"$dp" --cgroup "$cg" -d 3 -f folded -o "$tmp/cg-late.folded" 2> "$tmp/cg-late.err" & prof=$!
	pids+=("$prof")
	started() { [ -d /proc/"$prof" ] && ls -l /proc/"$prof"/fd 2>/dev/null | grep -q perf_event; }
	wait_until 100 started
	"$work" b 30 & b=$!; pids+=("$b")
	echo "$b" > "$cg/cgroup.procs"
	wait "$prof"; rc=$?
	kill "$b"; wait "$b" 2>/dev/null
	if [ $rc = 0 ] && grep -q "live_proc_b" "$tmp/cg-late.folded"; then
		pass cgroup-joins-later "a process moved in after the start is profiled (absolute path)"
	else
		fail cgroup-joins-later "exit $rc" "$tmp/cg-late.err"
	fi
	rmdir "$cg" && cg=
fi

finish
