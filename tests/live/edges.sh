#!/usr/bin/env bash
# The rough edges a new user hit: -o - and a closed stdout, -o through a
# symlink, onto a read-only file or one the sudo user could not write, onto
# /proc/version; SIGKILL leaving nothing behind; SIGINT inherited as
# ignored; --probe as non-root; -t and -p on a zombie; options that
# contradict each other. Each against the demo workload's named functions.
set -uo pipefail
out=${1:-build}
dp=$(realpath "$out/deferprof")
demo=$out/deferprof-demo
tmp=$(mktemp -d /tmp/dp-edges.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
suite=edges prefix='edge-'
# shellcheck source=tests/live/lib.sh
. "$(dirname "$0")/lib.sh"

need_root

"$demo" -l 600 & demo_pid=$!; pids+=("$demo_pid")
wait_until 100 runs "$demo_pid" "$demo"
chain="main;demo_spin_outer;demo_spin_middle;demo_spin_inner\(;demo_spin_step\)\? [0-9]"
run() { timeout 60 "$dp" -p "$demo_pid" -d 1 -f folded "$@"; }

# A check that bad input gets one line on stderr and a non-zero exit.
bad() {	# name, expected message, args...
	local name=$1 want=$2
	shift 2
	timeout 20 "$dp" "$@" > "$tmp/bad.out" 2> "$tmp/bad.err"; local rc=$?
	if [ $rc != 0 ] && [ $rc != 124 ] && [ "$(wc -l < "$tmp/bad.err")" = 1 ] && grep -qF -- "$want" "$tmp/bad.err"; then
		pass "$name" "$(cat "$tmp/bad.err")"
	else
		fail "$name" "exit $rc, wanted one line with '$want'" "$tmp/bad.err"
	fi
}

# --- -o - is standard output, no file named "-"
mkdir "$tmp/dash" && cd "$tmp/dash" || exit 1
run -o - > "$tmp/dash.out" 2> "$tmp/dash.err"; rc=$?
cd - > /dev/null || exit 1
if [ $rc = 0 ] && grep -q "$chain" "$tmp/dash.out" && [ ! -e "$tmp/dash/-" ]; then
	pass dash-is-stdout "$(grep -c . "$tmp/dash.out") folded lines on stdout"
else
	fail dash-is-stdout "exit $rc, or a file named '-'" "$tmp/dash.err"
fi

# --- stdout closed: one line, non-zero exit, before profiling
run >&- 2> "$tmp/closed.err"; rc=$?
if [ $rc != 0 ] && [ "$(wc -l < "$tmp/closed.err")" = 1 ] &&
   grep -q "standard output is closed: give -o FILE" "$tmp/closed.err"; then
	pass stdout-closed "exit $rc: $(cat "$tmp/closed.err")"
else
	fail stdout-closed "exit $rc" "$tmp/closed.err"
fi

bad two-formats-one-stdout "-f folded and -f json would both go to standard output" -f folded -f json -d 1
bad rate-and-period "-F (samples per second) and -c (one sample every N events) exclude each other" -c 1000000 -F 99 -d 1
bad duration-too-long "invalid duration '1e9': at most 31536000 seconds (a year)" -d 1e9

# --- -o through a symlink: the file it points to is replaced, mode and owner kept
echo old > "$tmp/real.folded"; chmod 640 "$tmp/real.folded"; chown 65534:65534 "$tmp/real.folded"
ln -s real.folded "$tmp/link.folded"
run -o "$tmp/link.folded" 2> "$tmp/link.err"; rc=$?
if [ $rc = 0 ] && [ -L "$tmp/link.folded" ] && grep -q "$chain" "$tmp/real.folded" &&
   [ "$(stat -c '%a %u %g' "$tmp/real.folded")" = "640 65534 65534" ]; then
	pass output-through-symlink "link kept, target rewritten, $(stat -c 'mode %a owner %u' "$tmp/real.folded")"
else
	fail output-through-symlink "exit $rc, $(stat -c '%F %a %u' "$tmp/link.folded" "$tmp/real.folded" | tr '\n' ' ')" "$tmp/link.err"
fi

# --- a read-only file, one the sudo user may not write, /proc/version: refused, untouched
echo keep > "$tmp/ro.folded"; chmod 444 "$tmp/ro.folded"
bad output-read-only "cannot write $tmp/ro.folded: the file is read-only (mode 0444" -p "$demo_pid" -d 1 -o "$tmp/ro.folded"
[ "$(cat "$tmp/ro.folded")" = keep ] || fail output-read-only-untouched "the read-only file was changed"
echo keep > "$tmp/root.folded"; chmod 644 "$tmp/root.folded"
SUDO_UID=65534 SUDO_GID=65534 bad output-not-the-sudo-users \
	"cannot write $tmp/root.folded: the user who ran deferprof may not write it" -p "$demo_pid" -d 1 -o "$tmp/root.folded"
bad output-proc-version "cannot write /proc/version: the file is read-only" -p "$demo_pid" -d 1 -o /proc/version

# --- SIGKILL mid-run: nothing left beside the output, an existing file untouched
mkdir "$tmp/kill"; echo previous > "$tmp/kill/old.json"
"$dp" -p "$demo_pid" -d 60 -f json -o "$tmp/kill/new.json" -f json -o "$tmp/kill/old.json" 2> "$tmp/kill.err" &
kpid=$!; pids+=("$kpid")
# The output files are open (nameless) once both descriptors point into the directory.
open_outputs() { [ "$(find "/proc/$kpid/fd" -lname "$tmp/kill/*" 2>/dev/null | wc -l)" -ge 2 ]; }
if wait_until 200 open_outputs; then
	kill -9 "$kpid"; wait "$kpid" 2>/dev/null
	left=$(ls -A "$tmp/kill" | tr '\n' ' ')
	if [ "$left" = "old.json " ] && [ "$(cat "$tmp/kill/old.json")" = previous ]; then
		pass sigkill-leaves-nothing "only the previous old.json, unchanged"
	else
		fail sigkill-leaves-nothing "left: $left" "$tmp/kill.err"
	fi
else
	fail sigkill-leaves-nothing "the outputs never showed as open: $(ls -l "/proc/$kpid/fd" 2>&1 | tail -3)" "$tmp/kill.err"
	kill -9 "$kpid" 2>/dev/null
fi

# --- SIGINT inherited as ignored (a background job of a script): still ends the profile
bash -c "trap '' INT; exec \"$dp\" -p $demo_pid -d 60 -f folded -o \"$tmp/int.folded\"" 2> "$tmp/int.err" &
ipid=$!; pids+=("$ipid")
# SIGINT (2) caught: bit 1 of SigCgt, set once deferprof's handler is in place.
int_caught() { local m; m=$(awk '/^SigCgt/ {print $2}' "/proc/$ipid/status" 2>/dev/null); [ -n "$m" ] && (( 0x$m & 2 )); }
if wait_until 100 int_caught; then
	t0=$(date +%s)
	kill -INT "$ipid"
	wait "$ipid"; rc=$?
	secs=$(($(date +%s) - t0))
	if [ $rc = 0 ] && [ "$secs" -lt 30 ] && [ -e "$tmp/int.folded" ]; then
		pass sigint-inherited-ignored "ended ${secs} s after SIGINT of a -d 60 run, profile written"
	else
		fail sigint-inherited-ignored "exit $rc after ${secs} s" "$tmp/int.err"
	fi
else
	fail sigint-inherited-ignored "deferprof never caught SIGINT (inherited as ignored)" "$tmp/int.err"
	kill -9 "$ipid" 2>/dev/null
fi

# --- --probe as non-root: a permission problem, not a kernel version
if command -v setpriv > /dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$dp" --probe > "$tmp/np.out" 2>&1; rc=$?
	if [ $rc = 1 ] && grep -q "BPF perf_event programs .*needs root or CAP_BPF (run with sudo)" "$tmp/np.out" &&
	   grep -q "perf events (software) .*a permission problem (run with sudo)" "$tmp/np.out" &&
	   ! grep -q "needs Linux >= 4.9" "$tmp/np.out"; then
		pass probe-not-root "$(grep -c "run with sudo" "$tmp/np.out") lines say run with sudo"
	else
		fail probe-not-root "exit $rc" "$tmp/np.out"
	fi
else
	skip probe-not-root "no setpriv (util-linux) to drop privileges"
fi

# --- a zombie: -t and -p agree (nothing to profile, exit 1)
python3 -c '
import os, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(60)' > "$tmp/zombie" & zparent=$!; pids+=("$zparent")
is_zombie() { z=$(cat "$tmp/zombie" 2>/dev/null) && [ -n "$z" ] && grep -q "^State:.*Z" "/proc/$z/status" 2>/dev/null; }
if wait_until 100 is_zombie; then
	timeout 20 "$dp" -p "$z" -d 1 > /dev/null 2> "$tmp/zp.err"; rcp=$?
	timeout 20 "$dp" -t "$z" -d 1 > /dev/null 2> "$tmp/zt.err"; rct=$?
	if [ $rcp = 1 ] && [ $rct = 1 ] && grep -q "process $z exited before profiling began" "$tmp/zp.err" &&
	   grep -q "thread $z exited before profiling began" "$tmp/zt.err"; then
		pass zombie-t-agrees-with-p "$(cat "$tmp/zt.err")"
	else
		fail zombie-t-agrees-with-p "-p exit $rcp, -t exit $rct" "$tmp/zt.err"
	fi
else
	fail zombie-t-agrees-with-p "no zombie appeared"
fi
kill "$zparent" 2>/dev/null

finish
