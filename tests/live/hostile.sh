#!/usr/bin/env bash
# Files a profiled process controls, read by deferprof as root: its perf map
# (/tmp/perf-PID.map) made a symlink to /dev/zero, a FIFO, another user's
# file, a 64 GiB file; a debuglink naming a FIFO. Each run must end on time
# with one warning line and the rest of the profile intact (the workload's
# named functions). The workload (dp-live-work jit) runs code from an
# anonymous executable mapping, which only a perf map can name.
set -uo pipefail
out=${1:-build}
dp=$(realpath "$out/deferprof")
work=$out/dp-live-work
tmp=$(mktemp -d /tmp/dp-hostile.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; rm -f "/tmp/perf-$p.map"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
suite=hostile prefix='hostile-'
# shellcheck source=tests/live/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
if [ "$(uname -m)" != x86_64 ]; then
	skip all "the jit workload's machine code is x86-64; this is $(uname -m)"
	finish
fi

# Start the jit workload (optionally as another user); sets jit_pid, jit_start, jit_size.
start_jit() {	# [setpriv args...]
	# Emptied first: the redirection truncates only once the child runs, and
	# the wait below must not find the last run's line.
	: > "$tmp/jit.out"
	"$@" "$work" jit 120 > "$tmp/jit.out" &
	jit_pid=$!
	pids+=("$jit_pid")
	wait_until 100 grep -q "^jit " "$tmp/jit.out" || return 1
	read -r _ jit_start jit_size < "$tmp/jit.out"
}
stop_jit() { kill "$jit_pid" 2>/dev/null; wait "$jit_pid" 2>/dev/null; rm -f "/tmp/perf-$jit_pid.map"; }

# Profile the workload 2 s; sets rc, secs; output in $tmp/$1.folded, $tmp/$1.err.
profile() {	# name [extra args...]
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	timeout 60 "$dp" -p "$jit_pid" -d 2 -f folded -o "$tmp/$name.folded" "$@" 2> "$tmp/$name.err"
	rc=$?
	secs=$((($(date +%s%N) - t0) / 1000000000))
}

# The run ended on time, warned once with want, and kept the named functions.
check_warned() {	# name want
	local name=$1 want=$2 nwarn
	nwarn=$(grep -c "warning" "$tmp/$name.err")
	if [ $rc = 0 ] && [ "$secs" -lt 30 ] && [ "$nwarn" = 1 ] && grep -q "$want" "$tmp/$name.err" &&
	   grep -Eq "main;(jit;)?live_jit_caller;live_jit_host_spin" "$tmp/$name.folded" &&
	   grep -Eq "main;(jit;)?\[anon\]" "$tmp/$name.folded"; then
		pass "$name" "${secs} s: $(grep warning "$tmp/$name.err")"
	else
		fail "$name" "exit $rc after ${secs} s, $nwarn warnings, wanted '$want' and the workload's functions" \
			"$tmp/$name.err"
		sed 's/^/  | /' "$tmp/$name.folded" 2>/dev/null | head -5
	fi
}

if ! start_jit; then
	fail start "dp-live-work jit printed no address" "$tmp/jit.out"
	finish
fi
map=/tmp/perf-$jit_pid.map

# A good map names the code: the cases below can fail.
echo "$jit_start $jit_size jit_spin_code" > "$map"
profile good
if [ $rc = 0 ] && grep -Eq "main;(jit;)?jit_spin_code [0-9]" "$tmp/good.folded" && ! grep -q warning "$tmp/good.err"; then
	pass perf-map-read "$(grep -m1 "jit_spin_code" "$tmp/good.folded")"
else
	fail perf-map-read "exit $rc, no main;jit_spin_code" "$tmp/good.err"
fi

rm -f "$map"; ln -s /dev/zero "$map"
profile symlink; check_warned symlink "ignoring $map: a symbolic link (not followed)"

rm -f "$map"; mkfifo "$map"
profile fifo; check_warned fifo "ignoring $map: a FIFO, not a regular file"

rm -f "$map"; echo "$jit_start $jit_size not_theirs" > "$map"; chown 65534:65534 "$map"
profile other-owner; check_warned other-owner "ignoring $map: owned by another user than the process's or root"
if grep -q not_theirs "$tmp/other-owner.folded"; then
	fail other-owner-name "a name from the refused map is in the profile" "$tmp/other-owner.folded"
fi

rm -f "$map"; truncate -s 64G "$map"
profile huge; check_warned huge "$map: read its first 256 MiB only"

# The map rewritten while it may be read: emptied, a line cut in half, the
# good line, a page of junk, over and over (perf-map agents rewrite theirs).
rm -f "$map"
(
	while :; do
		: > "$map"
		printf '%s %s jit_spin_c' "$jit_start" "$jit_size" > "$map"
		echo "$jit_start $jit_size jit_spin_code" > "$map"
		head -c 4096 /dev/urandom >> "$map"
	done
) & rw=$!; pids+=("$rw")
profile rewritten
kill "$rw"; wait "$rw" 2>/dev/null
if [ $rc = 0 ] && [ "$secs" -lt 30 ] &&
   grep -Eq "main;(jit;)?live_jit_caller;live_jit_host_spin" "$tmp/rewritten.folded" &&
   grep -Eq "main;(jit;)?(jit_spin_code|\[anon\](\+0x[0-9a-f]+)?)( |;)" "$tmp/rewritten.folded"; then
	pass perf-map-rewritten "${secs} s, the JIT code named $(grep -Eo "main;(jit;)?(jit_spin_code|\[anon\](\+0x[0-9a-f]+)?)" "$tmp/rewritten.folded" | sort -u | sed 's/.*;//' | paste -sd/) as the map stood when read"
else
	fail perf-map-rewritten "exit $rc after ${secs} s" "$tmp/rewritten.err"
	sed 's/^/  | /' "$tmp/rewritten.folded" 2>/dev/null | head -5
fi
stop_jit

# A process running as another user: a map its user owns is read.
if command -v setpriv > /dev/null; then
	if start_jit setpriv --reuid=65534 --regid=65534 --clear-groups; then
		map=/tmp/perf-$jit_pid.map
		echo "$jit_start $jit_size nobody_jit_code" > "$map"
		chown 65534:65534 "$map"
		profile as-user
		if [ $rc = 0 ] && grep -Eq "main;(jit;)?nobody_jit_code [0-9]" "$tmp/as-user.folded" &&
		   ! grep -q warning "$tmp/as-user.err"; then
			pass perf-map-of-its-user "$(grep -m1 nobody_jit_code "$tmp/as-user.folded")"
		else
			fail perf-map-of-its-user "exit $rc, no main;nobody_jit_code" "$tmp/as-user.err"
			sed 's/^/  | /' "$tmp/as-user.folded" 2>/dev/null | head -8
		fi
		stop_jit
	else
		fail perf-map-of-its-user "dp-live-work jit as uid 65534 printed no address" "$tmp/jit.out"
	fi
else
	skip perf-map-of-its-user "no setpriv (util-linux) to run the workload as another user"
fi

# A debuglink naming a FIFO beside the binary: source lines need the debug
# file, so the json export looks it up (libdwfl's own search would block).
dl=$tmp/dl
mkdir -p "$dl"
chmod 755 "$tmp" "$dl"
cp "$work" "$dl/prog"
if objcopy --only-keep-debug "$dl/prog" "$dl/prog.debug" &&
   objcopy --strip-debug --add-gnu-debuglink="$dl/prog.debug" "$dl/prog"; then
	"$dl/prog" a 60 & dl_pid=$!; pids+=("$dl_pid")
	wait_until 100 runs "$dl_pid" "$dl/prog"
	timeout 60 "$dp" -p "$dl_pid" -d 2 -f json -o "$tmp/dl-good.json" 2> "$tmp/dl-good.err"; rc=$?
	if [ $rc = 0 ] && grep -q '"name":"live_proc_a","module":"prog"[^}]*"file":"[^"]*workload.c"' "$tmp/dl-good.json"; then
		pass debuglink-read "live_proc_a with its source file from prog.debug"
	else
		fail debuglink-read "exit $rc, no live_proc_a with workload.c in the json" "$tmp/dl-good.err"
	fi
	rm "$dl/prog.debug"; mkfifo "$dl/prog.debug"
	t0=$(date +%s)
	timeout 60 "$dp" -p "$dl_pid" -d 2 -f json -o "$tmp/dl-fifo.json" 2> "$tmp/dl-fifo.err"; rc=$?
	secs=$(($(date +%s) - t0))
	if [ $rc = 0 ] && [ "$secs" -lt 30 ] && grep -q '"name":"live_proc_a","module":"prog"' "$tmp/dl-fifo.json"; then
		pass debuglink-fifo "${secs} s, live_proc_a named from the binary's own symbols"
	else
		fail debuglink-fifo "exit $rc after ${secs} s" "$tmp/dl-fifo.err"
	fi
	kill "$dl_pid" 2>/dev/null; wait "$dl_pid" 2>/dev/null
else
	skip debuglink-fifo "objcopy (binutils) could not split the workload's debug information"
fi

finish
