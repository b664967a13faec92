#!/usr/bin/env bash
# Faults injected into live runs: each ends in a whole profile or one clear
# error line, never a crash or a hang.
#   - allocation failure: an LD_PRELOAD shim (failmalloc.c, built as
#     tests/libfailmalloc.so) fails the Nth allocation deferprof's own code
#     makes, for N over the whole run;
#   - the target SIGKILLed in the middle of busy rounds (4999 Hz, two threads):
#     the profile ends there and its accounting closes.
# Other faults have their tests where their feature is: a full counts map,
# stack store, sample log and ring, and a full disk (run.sh), too few file
# descriptors (targets.sh), hostile and rewritten perf maps (hostile.sh).
set -uo pipefail
out=${1:-build}
dp=$(realpath "$out/deferprof")
demo=$out/deferprof-demo
shim=$(realpath "$out/tests/libfailmalloc.so")
bench=$out/dp-bench-work
tmp=$(mktemp -d /tmp/dp-faults.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
suite=faults prefix='faults-'
# shellcheck source=tests/live/lib.sh
. "$(dirname "$0")/lib.sh"

need_root

# --- allocation failure, at each allocation of a short profile
"$demo" -l -1 > /dev/null & d=$!; pids+=("$d")
# One run counts them (the shim fails nothing without DP_FAIL_AT).
DP_FAIL_COUNT=1 LD_PRELOAD="$shim" timeout 60 "$dp" -p "$d" -d 0.3 -o "$tmp/count.txt" 2> "$tmp/count.err"
rc=$?
total=$(sed -n 's/^failmalloc: \([0-9]*\) calls$/\1/p' "$tmp/count.err")
if [ $rc != 0 ] || [ -z "$total" ] || [ "$total" -lt 50 ]; then
	fail alloc-count "exit $rc, ${total:-no} allocations counted" "$tmp/count.err"
else
	# Every one of the first 64 (set-up), then every third to the end and beyond.
	ns=$(seq 1 64; seq 65 3 $((total + 20)))
	bad=0 runs=0 ok=0 errs=0
	for n in $ns; do
		runs=$((runs + 1))
		rm -f "$tmp/f.txt"
		DP_FAIL_AT=$n LD_PRELOAD="$shim" timeout -k 5 60 "$dp" -p "$d" -d 0.3 -o "$tmp/f.txt" 2> "$tmp/f.err"
		rc=$?
		lines=$(grep -c . "$tmp/f.err")
		if [ $rc = 0 ] && [ -s "$tmp/f.txt" ] && grep -q "samples:" "$tmp/f.txt"; then
			ok=$((ok + 1))	# the failure was absorbed (a cache, a retry) or said as a warning
		elif [ $rc = 1 ] && [ "$lines" = 1 ] && grep -q "^deferprof: " "$tmp/f.err" && [ ! -e "$tmp/f.txt" ]; then
			errs=$((errs + 1))
		else
			bad=$((bad + 1))
			echo "  | allocation $n of $total: exit $rc, $lines lines on stderr, report $( [ -s "$tmp/f.txt" ] && echo written || echo absent):"
			sed 's/^/  |   /' "$tmp/f.err" | head -n 4
			[ $bad -ge 5 ] && break
		fi
	done
	if [ $bad = 0 ]; then
		pass alloc-failure "$runs runs, the Nth of $total own allocations failing: $ok whole profiles, $errs one-line errors, no crash or hang"
	else
		fail alloc-failure "$bad of $runs runs crashed, hung or did not say why in one line"
	fi
fi
kill "$d" 2>/dev/null; wait "$d" 2>/dev/null

# --- the target killed in the middle of busy rounds
bad=0 killed=0
for delay in 0.3 0.7 1.1 1.6; do
	"$bench" -m sysdeep -t 2 -s 60 > /dev/null & w=$!; pids+=("$w")
	start_profiling 300 "$tmp/k.err" -p "$w" -F 4999 -d 30 -o "$tmp/k.txt"
	sleep "$delay"	# how far into the profile the kill lands, not a wait for a condition
	kill -KILL "$w"; wait "$w" 2>/dev/null
	t0=$(date +%s)
	wait "$prof"; rc=$?
	secs=$(( $(date +%s) - t0 ))
	acc=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped.*/\1 \2 \3/p' "$tmp/k.txt")
	read -r seen in drop <<< "$acc"
	killed=$((killed + 1))
	if [ $rc = 0 ] && [ "$secs" -lt 15 ] && grep -q "ended by target exited" "$tmp/k.txt" &&
	   [ -n "$seen" ] && [ "$seen" -gt 0 ] && [ "$seen" = $((in + drop)) ] && grep -q "bw_read" "$tmp/k.txt"; then
		continue
	fi
	bad=$((bad + 1))
	echo "  | killed after $delay s: exit $rc, ended $secs s after the kill, samples line: ${acc:-none}"
	sed 's/^/  |   /' "$tmp/k.err" | tail -n 3
done
if [ $bad = 0 ]; then
	pass target-killed "$killed runs, target SIGKILLed 0.3-1.6 s into 4999 Hz on two threads: each ended at once, accounting closed, bw_read named"
else
	fail target-killed "$bad of $killed runs"
fi

finish
