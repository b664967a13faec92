#!/usr/bin/env bash
# Debug files from debuginfod: Debian's real server (the debuginfod package)
# started here on a free port, serving only a debug file made from the
# workload's unstripped build (objcopy --only-keep-debug). The stripped
# workload profiled with DEBUGINFOD_URLS pointing at it must come out with
# its functions' names, which nothing on this machine gives otherwise;
# without DEBUGINFOD_URLS as dp-live-work-stripped+0xSTART (unchanged); with
# a closed port and with a server that never answers, the run must end on
# time with exit 0 and the fallback names (the second one ended by SIGTERM
# during the download). Last, with the server gone, the first run's cache
# still names them.
set -uo pipefail
out=${1:-build}
dp=$(realpath "$out/deferprof")
work=$out/dp-live-work
stripped=$(realpath "$out/dp-live-work-stripped")
tmp=$(mktemp -d /tmp/dp-debuginfod.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
suite=debuginfod prefix='debuginfod-'
# shellcheck source=tests/live/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_btf
for tool in debuginfod objcopy readelf nm python3; do
	if ! command -v "$tool" > /dev/null; then
		skip all "$tool is missing (make deps installs it)"
		finish
	fi
done

# A TCP port on 127.0.0.1 nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Whether GET url answers 200.
http_ok() {	# url
	python3 - "$1" 2> /dev/null <<-'EOF'
	import sys, urllib.request
	sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
	EOF
}
# Whether a child of this shell has ended (a zombie counts: kill -0 still reaches it).
ended() {	# pid
	! kill -0 "$1" 2> /dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2> /dev/null
}
# Samples of a folded file, and those whose stack holds frame $2.
total() { awk '{ n += $NF } END { print n + 0 }' "$1"; }
under() { grep -- ";$2[; ]" "$1" | awk '{ n += $NF } END { print n + 0 }'; }
now_ms() { date +%s%3N; }

bid=$(readelf -n "$stripped" | awk '/Build ID:/ { print $3 }')
a_start=$(nm "$work" | awk '$3 == "live_proc_a" { sub(/^0+/, "", $1); print $1 }')
if [ -z "$bid" ] || [ -z "$a_start" ]; then
	fail setup "no build-id in $stripped (${bid:-none}) or no live_proc_a in $work (${a_start:-none})"
	finish
fi
if nm "$stripped" 2> /dev/null | grep -q live_proc_a; then
	fail setup "$stripped still names live_proc_a: the test could pass without debuginfod"
	finish
fi
mkdir -p "$tmp/srv"
objcopy --only-keep-debug "$work" "$tmp/srv/dp-live-work.debug" || { fail setup "objcopy --only-keep-debug"; finish; }

# --- the server: files under srv/ only (-F), one scan and no rescan or grooming (-t 0,
# -g 0), its own database, no upstream (DEBUGINFOD_URLS unset in its environment). It
# binds every address, but the port is random and it lives for the test only.
port='' srv_pid=''
for _ in 1 2 3; do
	port=$(free_port) || break
	env -u DEBUGINFOD_URLS debuginfod -p "$port" -d "$tmp/db.sqlite" -F -t 0 -g 0 -c 1 \
		--disable-source-scan "$tmp/srv" > "$tmp/server.log" 2>&1 &
	srv_pid=$!
	pids+=("$srv_pid")
	# Up once it serves the debug file by build-id (the scan runs after the listen).
	if wait_until 300 eval "ended $srv_pid || http_ok http://127.0.0.1:$port/buildid/$bid/debuginfo" &&
	   ! ended "$srv_pid"; then
		break
	fi
	kill "$srv_pid" 2> /dev/null
	wait "$srv_pid" 2> /dev/null
	srv_pid=''	# the port was taken in between, or the scan was slow: another port
done
if [ -z "$srv_pid" ]; then
	fail server "debuginfod never served /buildid/$bid/debuginfo (3 tries)" "$tmp/server.log"
	finish
fi
pass server "debuginfod on 127.0.0.1:$port serves /buildid/$bid/debuginfo"

"$stripped" a 120 & work_pid=$!
pids+=("$work_pid")
wait_until 100 runs "$work_pid" "$stripped"

# Profile the stripped workload for 1 s: exit status in $rc, run time in $ms.
profile() {	# name [env assignments...]
	local name=$1 t0
	shift
	t0=$(now_ms)
	env -u DEBUGINFOD_URLS "$@" "$dp" -p "$work_pid" -d 1 -F 999 -f folded -o "$tmp/$name.folded" \
		2> "$tmp/$name.err"
	rc=$?
	ms=$(( $(now_ms) - t0 ))
}
# Whether a profile names the workload by its stripped offsets only.
fallback() {	# name
	local all fn
	all=$(total "$tmp/$1.folded")
	fn=$(grep "dp-live-work-stripped+0x$a_start [0-9]*$" "$tmp/$1.folded" | awk '{ n += $NF } END { print n + 0 }')
	[ "$all" -gt 0 ] && [ "$fn" -gt $((all * 8 / 10)) ] && ! grep -q "live_proc_a" "$tmp/$1.folded"
}

# --- names from the server
profile found DEBUGINFOD_URLS="http://127.0.0.1:$port" DEBUGINFOD_CACHE_PATH="$tmp/cache"
all=$(total "$tmp/found.folded") hot=$(under "$tmp/found.folded" live_proc_a)
if [ $rc = 0 ] && [ "$all" -gt 0 ] && [ "$hot" -gt $((all * 8 / 10)) ] &&
   grep -q ";main;live_proc_a[; ]" "$tmp/found.folded" && ! grep -q "dp-live-work-stripped+0x" "$tmp/found.folded" &&
   [ -s "$tmp/cache/$bid/debuginfo" ]; then
	pass names-from-server "$hot of $all samples under main;live_proc_a, no dp-live-work-stripped+0x frame, the file in DEBUGINFOD_CACHE_PATH; ${ms} ms"
else
	fail names-from-server "exit $rc: $hot of $all samples under live_proc_a; cache: $(ls "$tmp/cache" 2>&1)" "$tmp/found.folded"
	sed 's/^/  | /' "$tmp/found.err"
fi
# Asked once, though libdwfl wants the file twice (for the symbol table, then for DWARF).
# The readiness polls are Python's; deferprof's requests carry libdebuginfod's user agent.
client_gets() { grep -c "UA:elfutils.*GET /buildid/$bid/debuginfo" "$tmp/server.log"; }
client_asked() { [ "$(client_gets)" -ge 1 ]; }
wait_until 50 client_asked
asked=$(client_gets)
if [ "$asked" = 1 ]; then
	pass asked-once "one GET /buildid/$bid/debuginfo from deferprof in the server's log"
else
	fail asked-once "$asked GETs of the build-id from deferprof" "$tmp/server.log"
fi

# --- without DEBUGINFOD_URLS: the existing names, and no request
before=$(grep -c "UA:elfutils" "$tmp/server.log")
profile none
after=$(grep -c "UA:elfutils" "$tmp/server.log")
if [ $rc = 0 ] && fallback none && [ "$before" = "$after" ]; then
	pass without-urls "dp-live-work-stripped+0x$a_start (live_proc_a's start), no request to the server"
else
	fail without-urls "exit $rc, requests $before -> $after" "$tmp/none.folded"
fi

# --- a closed port: one warning, the fallback names, exit 0, on time
dead=$(free_port)
profile closed DEBUGINFOD_URLS="http://127.0.0.1:$dead" DEBUGINFOD_CACHE_PATH="$tmp/cache-closed"
if [ $rc = 0 ] && fallback closed && [ "$ms" -lt 15000 ] &&
   [ "$(grep -c "debuginfod" "$tmp/closed.err")" = 1 ]; then
	pass closed-port "exit 0 in ${ms} ms, names fall back; $(grep debuginfod "$tmp/closed.err")"
else
	fail closed-port "exit $rc in ${ms} ms" "$tmp/closed.err"
	sed 's/^/  | /' "$tmp/closed.folded" | head -n 10
fi

# --- a server that accepts and never answers: SIGTERM during the download ends it (the
# client's own timeout, DEBUGINFOD_TIMEOUT, is 90 s by default)
python3 - "$tmp/hang.port" "$tmp/hang.conn" <<-'EOF' &
	import socket, sys, time
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	s.listen(8)
	open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
	__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
	c, _ = s.accept()
	open(sys.argv[2], "w").close()
	time.sleep(600)
	EOF
hang_pid=$!
pids+=("$hang_pid")
if ! wait_until 100 test -s "$tmp/hang.port"; then
	fail signal-ends-download "the silent server did not start"
else
	env -u DEBUGINFOD_URLS DEBUGINFOD_URLS="http://127.0.0.1:$(cat "$tmp/hang.port")" \
		DEBUGINFOD_CACHE_PATH="$tmp/cache-hang" \
		"$dp" -p "$work_pid" -d 1 -F 999 -f folded -o "$tmp/hang.folded" 2> "$tmp/hang.err" &
	dp_pid=$!
	pids+=("$dp_pid")
	if wait_until 300 test -e "$tmp/hang.conn"; then
		t0=$(now_ms)
		kill -TERM "$dp_pid"
		wait_until 100 ended "$dp_pid"
		ms=$(( $(now_ms) - t0 ))
		if ended "$dp_pid"; then
			wait "$dp_pid"
			rc=$?
			if [ $rc = 0 ] && [ "$ms" -lt 5000 ] && fallback hang &&
			   grep -q "debuginfod: download of build-id $bid stopped by a signal" "$tmp/hang.err"; then
				pass signal-ends-download "SIGTERM during the download: exit 0 ${ms} ms later, profile written, names fall back"
			else
				fail signal-ends-download "exit $rc ${ms} ms after SIGTERM" "$tmp/hang.err"
			fi
		else
			fail signal-ends-download "still running ${ms} ms after SIGTERM" "$tmp/hang.err"
		fi
	else
		fail signal-ends-download "deferprof never connected to the silent server in 30 s" "$tmp/hang.err"
	fi
	kill "$dp_pid" 2> /dev/null
fi

# --- the server gone: the first run's cache still names the functions
kill "$srv_pid" 2> /dev/null
wait "$srv_pid" 2> /dev/null
profile cached DEBUGINFOD_URLS="http://127.0.0.1:$port" DEBUGINFOD_CACHE_PATH="$tmp/cache"
all=$(total "$tmp/cached.folded") hot=$(under "$tmp/cached.folded" live_proc_a)
if [ $rc = 0 ] && [ "$all" -gt 0 ] && [ "$hot" -gt $((all * 8 / 10)) ] && ! grep -q debuginfod "$tmp/cached.err"; then
	pass names-from-cache "server stopped: $hot of $all samples under live_proc_a from DEBUGINFOD_CACHE_PATH, no warning"
else
	fail names-from-cache "exit $rc: $hot of $all samples under live_proc_a" "$tmp/cached.err"
fi

finish
