#!/usr/bin/env bash
# deferprof top, driven in tmux as a user would: keys in (send-keys), the
# screen out (capture-pane). On this machine's kernel in classic mode; the
# VM runs one such session on the deferred path.
set -uo pipefail
out=${1:-build}
dp=$(realpath "$out/deferprof")
demo=$(realpath "$out/deferprof-demo")
tmp=$(mktemp -d /tmp/dp-top.XXXXXX)
sock=dp-top-$$
T="tmux -L $sock"
pids=()
cleanup() { $T kill-server 2>/dev/null; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
suite=top prefix=top-
# shellcheck source=tests/live/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip all "not root: top needs root for BPF and perf events (run: sudo make live-test)"
	finish
fi
if ! command -v tmux >/dev/null; then
	skip all "tmux is missing (make deps installs it): the live view cannot be driven"
	finish
fi

start_demo() { "$demo" "$@" & demo_pid=$!; pids+=("$demo_pid"); wait_until 100 runs "$demo_pid" "$demo"; }
# A pane that runs top, then says how it ended and how the terminal was left.
start_top() {	# width height args...
	local w=$1 h=$2
	shift 2
	$T kill-server 2>/dev/null && sleep 0.5
	$T -f /dev/null new-session -d -s top -x "$w" -y "$h" \
		"echo MARKER-BEFORE; $dp top $*; echo EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -x -- '-\?icanon\|-\?echo' | tr '\n' ' '; echo; sleep 60"
}
screen() { $T capture-pane -p -t top > "$tmp/$1"; }
keys() { $T send-keys -t top "$@"; sleep 0.7; }
# Wait until the screen holds a pattern (up to N tenths of a second).
wait_for() {	# pattern file [tenths]
	for _ in $(seq "${3:-100}"); do
		screen "$2"
		grep -q -- "$1" "$tmp/$2" && return 0
		sleep 0.1
	done
	return 1
}
samples_line() { grep -m1 "^samples:" "$tmp/$1"; }

# --- not a terminal: a clear error that points to the report command
start_demo -l -1
"$dp" top -p "$demo_pid" < /dev/null > "$tmp/notty.out" 2> "$tmp/notty.err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l < "$tmp/notty.err")" = 1 ] && grep -q "top needs a terminal.*-f report|folded|json" "$tmp/notty.err"; then
	pass not-a-terminal "$(cat "$tmp/notty.err")"
else
	fail not-a-terminal "exit $rc" "$tmp/notty.err"
fi
kill "$demo_pid"; wait "$demo_pid" 2>/dev/null

# --- 80x24: the named functions, refreshed
start_demo -l 1500
start_top 80 24 -p "$demo_pid" -i 0.5
if wait_for "demo_spin_inner" s1 150 && wait_for "demo_sys_inner" s1 50; then
	mode=$(grep -o "[a-z]* mode" "$tmp/s1" | head -1)
	pass names "demo_spin_inner and demo_sys_inner on an 80x24 screen, $mode"
else
	fail names "the demo's functions never showed" "$tmp/s1"
fi
if [ "$(awk 'length > 80' "$tmp/s1" | wc -l)" = 0 ] && [ "$(wc -l < "$tmp/s1")" = 24 ]; then
	pass fits-80x24
else
	fail fits-80x24 "lines wider than 80 or not 24 lines" "$tmp/s1"
fi
a=$(samples_line s1); sleep 1.2; screen s2; b=$(samples_line s2)
if [ -n "$a" ] && [ "$a" != "$b" ]; then
	pass refresh "'$a' then '$b'"
else
	fail refresh "the samples line did not change" "$tmp/s2"
fi

# --- sort keys: each column in order, largest first
keys t; screen sort-total
keys s; screen sort-self
sorted_by() {	# column file: the rows' values never increase
	sed -n '6,23p' "$tmp/$2" | grep '%' | awk -v c="$1" '{ v = $c + 0; if (NR > 1 && v > last) bad = 1; last = v } END { exit bad }'
}
if grep -q "^sort total" "$tmp/sort-total" && sorted_by 4 sort-total &&
   grep -q "^sort self" "$tmp/sort-self" && sorted_by 3 sort-self && ! sorted_by 4 sort-self &&
   sed -n 6p "$tmp/sort-self" | grep -q "demo_"; then
	pass sort "t: rows by total; s: rows by self, led by $(sed -n 6p "$tmp/sort-self" | awk '{ print $6 }')"
else
	fail sort "sort keys" "$tmp/sort-total"
	sed 's/^/  | /' "$tmp/sort-self"
fi

# --- counting: cumulative and decaying
keys c; screen decaying
keys c; screen cumulative
if grep -q "| decaying counts |" "$tmp/decaying" && grep -q "| cumulative counts |" "$tmp/cumulative" &&
   sed -n 6p "$tmp/decaying" | grep -q "[0-9]\.[0-9]  *[0-9]*\.[0-9]"; then
	pass counting "c switches cumulative <-> decaying (fractional weights)"
else
	fail counting "c" "$tmp/decaying"
fi

# --- the tree: callers, callees, expand, back
keys s; keys Home; keys Enter; screen tree
keys Tab; screen callees
keys Escape; screen back
if grep -q "^CALLERS of demo_" "$tmp/tree" && grep -q "  + demo_" "$tmp/tree" &&
   grep -q "^CALLEES of demo_" "$tmp/callees" && grep -q "SELF%  TOTAL%" "$tmp/back"; then
	pass tree "Enter: callers of $(grep -o '^CALLERS of [^ ]*' "$tmp/tree" | cut -d' ' -f3); Tab: callees; Esc: back"
else
	fail tree "callers/callees tree" "$tmp/tree"
fi
keys Enter; keys Down; keys Right; screen expanded
if [ "$(grep -c "^ *[0-9.]*% " "$tmp/expanded")" -ge 3 ] && grep -q "  - demo_spin\|  - main\|  - demo" "$tmp/expanded"; then
	pass tree-expand "Right opens a caller: $(grep -c '^ *[0-9.]*% ' "$tmp/expanded") lines"
else
	fail tree-expand "Right did not open the caller" "$tmp/expanded"
fi
keys Escape

# --- filters: kernel only, user only, search, thread
keys k; screen konly
keys k; keys u; screen uonly
keys u
if grep -q "| kernel only |" "$tmp/konly" && ! sed -n '6,23p' "$tmp/konly" | grep -q "  u  " &&
   sed -n '6,23p' "$tmp/konly" | grep -q "  k  " &&
   grep -q "| user only |" "$tmp/uonly" && ! sed -n '6,23p' "$tmp/uonly" | grep -q "  k  "; then
	pass side-filter "k: kernel frames only; u: user frames only"
else
	fail side-filter "k/u" "$tmp/konly"
fi
keys /; keys C-u; keys s y s _ Enter; screen search
if grep -q 'search "sys_"' "$tmp/search" && [ "$(sed -n '6,23p' "$tmp/search" | grep -c '%')" -ge 2 ] &&
   ! sed -n '6,23p' "$tmp/search" | grep '%' | grep -vq "sys_"; then
	pass search "/sys_: $(sed -n '6,23p' "$tmp/search" | grep -c '%') rows, all with sys_"
else
	fail search "/ search" "$tmp/search"
fi
keys /; keys C-u; keys Enter
keys T; wait_for "demo-late" threads 50 >/dev/null
line=$(grep -n "demo-late" "$tmp/threads" | head -1 | cut -d: -f1)
if [ -n "$line" ]; then
	for _ in $(seq $((line - 6))); do keys Down; done
	keys Enter; screen thread-filter
	if grep -q "| thread demo-late |" "$tmp/thread-filter" && grep -q "demo_late_work" "$tmp/thread-filter" &&
	   ! grep -q "demo_spin_inner" "$tmp/thread-filter"; then
		pass thread-filter "T lists threads; Enter on demo-late shows only its functions"
	else
		fail thread-filter "after Enter on demo-late" "$tmp/thread-filter"
	fi
else
	fail thread-filter "no demo-late thread in the list" "$tmp/threads"
	cat "$tmp/threads"
fi
keys T; keys Home; keys Enter

# --- freeze: the screen stays, collection goes on
keys f; screen frozen1; sleep 1.5; screen frozen2
keys f; sleep 1.2; screen thawed
if grep -q "FROZEN, collecting" "$tmp/frozen1" && [ "$(samples_line frozen1)" = "$(samples_line frozen2)" ] &&
   [ "$(samples_line frozen2)" != "$(samples_line thawed)" ] && grep -q "^deferprof top \[live\]" "$tmp/thawed"; then
	pass freeze "'$(samples_line frozen2)' held, then '$(samples_line thawed)'"
else
	fail freeze "f: '$(samples_line frozen1)' / '$(samples_line frozen2)' / '$(samples_line thawed)'" "$tmp/frozen2"
fi

# --- help
keys h; screen help; keys x; screen after-help
if grep -q "deferprof top: keys" "$tmp/help" && grep -q "freeze the display" "$tmp/help" &&
   grep -q "SELF%  TOTAL%" "$tmp/after-help"; then
	pass help "h shows every key; any key returns"
else
	fail help "h" "$tmp/help"
fi

# --- write: folded and json of the current aggregate
keys w; keys C-u; keys "$tmp/top.folded" Enter; screen saved
keys w; keys C-u; keys "$tmp/top.json" Enter
keys w; keys C-u; keys "$tmp/top.html" Enter
if grep -q "wrote [0-9]* samples to $tmp/top.folded (folded)" "$tmp/saved" &&
   wait_for "wrote [0-9]* samples to $tmp/top.html (html)" saved-html &&
   grep -q "main;demo_spin_outer;demo_spin_middle;demo_spin_inner" "$tmp/top.folded" &&
   tests/check-export.py --chain main,demo_sys_outer,demo_sys_middle,demo_sys_inner --json "$tmp/top.json" > "$tmp/chk" 2>&1 &&
   tests/check-export.py --chain main,demo_sys_outer,demo_sys_middle,demo_sys_inner --html "$tmp/top.html" >> "$tmp/chk" 2>&1; then
	pass write "$(grep -o 'wrote [0-9]* samples' "$tmp/saved"); json: $(cat "$tmp/chk")"
else
	fail write "w" "$tmp/saved"
	cat "$tmp/chk" 2>/dev/null
fi

# --- resize: the screen follows
$T resize-window -t top -x 120 -y 40 2>/dev/null || $T resize-pane -t top -x 120 -y 40
sleep 1.2; screen big
if [ "$(wc -l < "$tmp/big")" = 40 ] && [ "$(grep -c '%' "$tmp/big")" -gt "$(grep -c '%' "$tmp/s2")" ] &&
   tail -1 "$tmp/big" | grep -q "h:help"; then
	pass resize "120x40: $(grep -c '%' "$tmp/big") rows with numbers (80x24: $(grep -c '%' "$tmp/s2"))"
else
	fail resize "after resizing to 120x40" "$tmp/big"
fi

# --- quit: the terminal comes back as it was
keys q; sleep 1; screen quit
if grep -q "^EXIT=0" "$tmp/quit" && grep -q "MARKER-BEFORE" "$tmp/quit" && grep -q "^icanon echo" "$tmp/quit"; then
	pass quit-restores "q: exit 0, the shell's screen back, icanon echo"
else
	fail quit-restores "q" "$tmp/quit"
fi
kill "$demo_pid"; wait "$demo_pid" 2>/dev/null

# --- the target exits: said on screen, any key leaves. The demo is ended once top
# shows samples (a demo timed to exit by itself could be gone before a slow start-up).
start_demo -l -1
start_top 80 24 -p "$demo_pid" -i 0.5
wait_for "samples: [1-9]" exiting 300
kill "$demo_pid"
if wait_for "the target exited" exited 100; then
	keys x; sleep 1; screen exited2
	if grep -q "^EXIT=0" "$tmp/exited2" && grep -q "deferprof: the target exited; top ended" "$tmp/exited2" &&
	   grep -q "^icanon echo" "$tmp/exited2"; then
		pass target-exit "$(grep -o 'the target exited[^;]*' "$tmp/exited" | head -1); a key left, terminal restored"
	else
		fail target-exit "after the key" "$tmp/exited2"
	fi
else
	fail target-exit "no message when the target exited" "$tmp/exited"
fi

# --- Ctrl-C and SIGTERM leave at once, terminal restored
for how in C-c TERM; do
	start_demo -l -1
	start_top 80 24 -p "$demo_pid" -i 0.5
	wait_for "demo_spin" sig 100 >/dev/null
	if [ $how = C-c ]; then
		$T send-keys -t top C-c
	else
		# this pane's deferprof, not its shell (nor any other deferprof running)
		pkill -TERM -x -P "$($T display-message -p -t top '#{pane_pid}')" deferprof
	fi
	sleep 1.5; screen sig-$how
	if grep -q "^EXIT=0" "$tmp/sig-$how" && grep -q "^icanon echo" "$tmp/sig-$how" && grep -q "MARKER-BEFORE" "$tmp/sig-$how"; then
		pass "signal-$how" "exit 0, terminal restored"
	else
		fail "signal-$how" "after $how" "$tmp/sig-$how"
	fi
	kill "$demo_pid"; wait "$demo_pid" 2>/dev/null
done

# --- bad input before the screen is taken
if nopid=$(free_pid); then
	script -qec "$dp top -p $nopid" /dev/null > "$tmp/bad.out" 2>&1; rc=$?
	if [ $rc = 2 ] && grep -q "no such process: $nopid" "$tmp/bad.out"; then
		pass error-no-such-pid "$(tr -d '\r' < "$tmp/bad.out")"
	else
		fail error-no-such-pid "exit $rc" "$tmp/bad.out"
	fi
else
	skip error-no-such-pid "every pid below kernel.pid_max is in use"
fi
finish
