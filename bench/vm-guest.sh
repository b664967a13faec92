#!/bin/sh
# make bench, inside the VM (deferred kernel): prints "BENCH <name> <json>"
# lines that bench/run.py reads off the console, and hands a recording to
# the host (gzip + base64 between VMFILE markers) for the replay benchmark.
T=/tmp/b
mkdir -p $T
secs=3; reps=3; units=20000
[ -n "${BENCH_SMOKE:-}" ] && secs=1 reps=1 units=2000
echo "VMTEST bench-started: PASS"
# Right after boot the kernel may still switch clock sources, and the
# monotonic clock jumps: timed workloads would end at once. Let it settle.
sleep 5

num() { grep -m1 "$1" "$2" | sed -n "s/$3/\1/p"; }
figures() {	# report file -> json fields
	seen=$(num "samples:" "$1" '.*samples: *\([0-9]*\) .*')
	instacks=$(num "samples:" "$1" '.*= \([0-9]*\) in stacks.*')
	rrec=$(num "ring:" "$1" '.*ring: *\([0-9]*\) records.*')
	rbytes=$(num "ring:" "$1" '.*records, \([0-9]*\) bytes.*')
	lost=$(num "ring buffer lost" "$1" '.*ring buffer lost \([0-9]*\) records.*')
	ulost=$(num "stacks:" "$1" '.*+ \([0-9]*\) user stack lost.*')
	mode=$(num "mode:" "$1" '.*mode: *\([a-z]*\).*')
	echo "\"seen\":${seen:-null},\"in_stacks\":${instacks:-null},\"ring_records\":${rrec:-null},\"ring_bytes\":${rbytes:-null},\"lost_records\":${lost:-null},\"user_lost\":${ulost:-null},\"mode\":\"$mode\""
}

echo "BENCH kernel {\"release\":\"$(uname -r)\"}"

# --- 1. ring-buffer traffic: aggregated in BPF vs every sample through the ring
for w in sysdeep spin; do
	for v in deferprof raw; do
		dp-bench-work -m $w & wp=$!	# until killed: deferprof's start takes seconds under TCG
		extra=""; [ $v = raw ] && extra=--raw
		deferprof -p $wp -F 999 -d $secs $extra -o $T/r.txt 2> $T/r.err
		kill $wp; wait $wp 2>/dev/null
		echo "BENCH traffic/$w/$v {$(figures $T/r.txt)}"
	done
done

# --- 2. target slowdown: fixed work, profiler attached first, interleaved
timed() {	# hz profiler -> seconds
	dp-bench-work -W -m sysdeep -u $units > $T/w.out & wp=$!
	pp=""
	if [ "$2" != none ]; then
		extra=""; [ "$2" = raw ] && extra=--raw
		deferprof -v -p $wp -F $1 $extra -o /dev/null 2> $T/p.err & pp=$!
		i=0
		while ! grep -q "perf events on" $T/p.err 2>/dev/null && [ $i -lt 600 ]; do
			sleep 0.1; i=$((i + 1))
		done
	fi
	i=0
	while ! grep -q ready $T/w.out && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -USR1 $wp
	wait $wp
	[ -n "$pp" ] && { kill -INT $pp; wait $pp; }
	tail -n1 $T/w.out
}
for r in $(seq $reps); do
	for hz in 99 999 4999; do
		for p in none deferprof raw; do
			echo "BENCH time/$hz/$p/$r {\"s\":$(timed $hz $p)}"
		done
	done
done

# --- 5. loss with default buffers: threads x Hz
for tx in 1x999 2x999 2x4999; do
	t=${tx%x*}; hz=${tx#*x}
	dp-bench-work -m sysdeep -t $t & wp=$!
	deferprof -p $wp -F $hz -d $secs -o $T/l.txt 2> $T/l.err
	kill $wp; wait $wp 2>/dev/null
	echo "BENCH loss/$tx {\"threads\":$t,\"hz\":$hz,$(figures $T/l.txt)}"
done

# --- 4. a recording of the deferred path for the replay benchmark
dp-bench-work -m sysdeep & wp=$!
deferprof -p $wp -F 999 -d $secs --record $T/rec.bin -o $T/rec.txt 2> $T/rec.err
kill $wp; wait $wp 2>/dev/null
gzip -1 $T/rec.bin
echo "BENCH recording {$(figures $T/rec.txt),\"gz_bytes\":$(wc -c < $T/rec.bin.gz)}"
echo "VMFILE-BEGIN rec.bin.gz"
base64 $T/rec.bin.gz
echo "VMFILE-END rec.bin.gz"
echo "VMTEST bench-done: PASS"
exit 0
