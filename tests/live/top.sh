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
no_server() { ! $T has-session 2>/dev/null; }
start_top() {	# width height args...
	local w=$1 h=$2
	shift 2
	$T kill-server 2>/dev/null && wait_until 50 no_server
	$T -f /dev/null new-session -d -s top -x "$w" -y "$h" \
		"echo MARKER-BEFORE; $dp top $*; echo EXIT=\$?; stty -a | tr ' ;' '\n\n' | grep -x -- '-\?icanon\|-\?echo' | tr '\n' ' '; echo; sleep 60"
}
screen() { $T capture-pane -p -t top > "$tmp/$1"; }
# Keys go in as typed; top reads them in order. Each check then waits for
# the screen it expects (never a fixed sleep), so a slow redraw is waited for.
keys() { $T send-keys -t top "$@"; }
# Capture the screen into file until a condition on it holds (N tenths at most).
until_screen() {	# file tenths condition...
	local f=$1 n=$2
	shift 2
	for _ in $(seq "$n"); do
		screen "$f"
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
has() { grep -q -- "$2" "$tmp/$1"; }	# file pattern
# Wait until the screen holds a pattern (up to N tenths of a second).
wait_for() { until_screen "$2" "${3:-100}" has "$2" "$1"; }	# pattern file [tenths]
samples_line() { grep -m1 "^samples:" "$tmp/$1"; }
# The samples line is no longer the one given (the view refreshed).
samples_moved() { [ -n "$(samples_line "$1")" ] && [ "$(samples_line "$1")" != "$2" ]; }	# file old
# top ended: its pane's shell printed the exit status and then the terminal's modes.
exited() { has "$1" "^EXIT=" && has "$1" "^-\?icanon"; }

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
a=$(samples_line s1)
until_screen s2 100 samples_moved s2 "$a"; b=$(samples_line s2)
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
	pass refresh "'$a' then '$b'"
else
	fail refresh "the samples line did not change" "$tmp/s2"
fi

# --- keys typed ahead, read in one batch (a paste, a held key): each one acts on
# the list the one before it made. Here, before any tree was drawn, Enter opens
# the first row's callers, Down and Right open the first caller (deferprof used
# to index the tree's rows by the list's count: a crash, or a stale tree's row).
typed_ahead() { has ahead "^CALLERS of " && has ahead "^ *[0-9.]*%  *[0-9]*   - "; }
keys Enter Down Right; until_screen ahead 100 typed_ahead
if typed_ahead && ! has ahead "^EXIT="; then
	pass typed-ahead "Enter Down Right at once: $(grep -m1 -o '^CALLERS of [^ ]*' "$tmp/ahead"), its first caller open"
else
	fail typed-ahead "Enter Down Right sent at once" "$tmp/ahead"
fi
# Closed again (Left), so that tree-expand below starts from a closed caller.
keys Left; until_screen ahead-closed 100 has ahead-closed "^ *[0-9.]*%  *[0-9]*   + " ||
	echo "top.sh: Left did not close the caller again" >&2
keys Escape; wait_for "SELF%  TOTAL%" list || echo "top.sh: Esc did not bring the list back" >&2

# --- sort keys: each column in order, largest first
sorted_by() {	# column file: the rows' values never increase
	sed -n '6,23p' "$tmp/$2" | grep '%' | awk -v c="$1" '{ v = $c + 0; if (NR > 1 && v > last) bad = 1; last = v } END { exit bad }'
}
by_total() { has sort-total "^sort total" && sorted_by 4 sort-total; }
by_self() {
	has sort-self "^sort self" && sorted_by 3 sort-self && ! sorted_by 4 sort-self &&
		sed -n 6p "$tmp/sort-self" | grep -q "demo_"
}
keys t; until_screen sort-total 100 by_total
keys s; until_screen sort-self 100 by_self
if by_total && by_self; then
	pass sort "t: rows by total; s: rows by self, led by $(sed -n 6p "$tmp/sort-self" | awk '{ print $6 }')"
else
	fail sort "sort keys" "$tmp/sort-total"
	sed 's/^/  | /' "$tmp/sort-self"
fi

# --- counting: cumulative and decaying
decaying() { has decaying "| decaying counts |" && sed -n 6p "$tmp/decaying" | grep -q "[0-9]\.[0-9]  *[0-9]*\.[0-9]"; }
keys c; until_screen decaying 100 decaying
keys c; wait_for "| cumulative counts |" cumulative
if decaying && has cumulative "| cumulative counts |"; then
	pass counting "c switches cumulative <-> decaying (fractional weights)"
else
	fail counting "c" "$tmp/decaying"
fi

# --- the tree: callers, callees, expand, back
callers() { has tree "^CALLERS of demo_" && has tree "  + demo_"; }
keys s Home Enter; until_screen tree 100 callers
keys Tab; wait_for "^CALLEES of demo_" callees
keys Escape; wait_for "SELF%  TOTAL%" back
if callers && has callees "^CALLEES of demo_" && has back "SELF%  TOTAL%"; then
	pass tree "Enter: callers of $(grep -o '^CALLERS of [^ ]*' "$tmp/tree" | cut -d' ' -f3); Tab: callees; Esc: back"
else
	fail tree "callers/callees tree" "$tmp/tree"
fi
expanded() { [ "$(grep -c "^ *[0-9.]*% " "$tmp/expanded")" -ge 3 ] && has expanded "  - demo_spin\|  - main\|  - demo"; }
closed() { has closed "^CALLERS of " && has closed "^ *[0-9.]*%  *[0-9]*   + " && ! has closed "^ *[0-9.]*%  *[0-9]*   - "; }
keys Enter Down; until_screen closed 100 closed
keys Right; until_screen expanded 100 expanded
if closed && expanded; then
	pass tree-expand "Right opens a caller: $(grep -c '^ *[0-9.]*% ' "$tmp/expanded") lines"
else
	fail tree-expand "Right did not open the caller" "$tmp/expanded"
fi
# Esc, then the list before the next key (an Esc and a key at once read as Alt).
keys Escape; wait_for "SELF%  TOTAL%" list || echo "top.sh: Esc did not bring the list back" >&2

# --- filters: kernel only, user only, search, thread
konly() { has konly "| kernel only |" && ! sed -n '6,23p' "$tmp/konly" | grep -q "  u  " && sed -n '6,23p' "$tmp/konly" | grep -q "  k  "; }
uonly() { has uonly "| user only |" && ! sed -n '6,23p' "$tmp/uonly" | grep -q "  k  "; }
keys k; until_screen konly 100 konly
keys k u; until_screen uonly 100 uonly
keys u
if konly && uonly; then
	pass side-filter "k: kernel frames only; u: user frames only"
else
	fail side-filter "k/u" "$tmp/konly"
fi
searched() {
	has search 'search "sys_"' && [ "$(sed -n '6,23p' "$tmp/search" | grep -c '%')" -ge 2 ] &&
		! sed -n '6,23p' "$tmp/search" | grep '%' | grep -vq "sys_"
}
keys / C-u s y s _ Enter; until_screen search 100 searched
if searched; then
	pass search "/sys_: $(sed -n '6,23p' "$tmp/search" | grep -c '%') rows, all with sys_"
else
	fail search "/ search" "$tmp/search"
fi
keys / C-u Enter
keys T; wait_for "demo-late" threads 50 >/dev/null
line=$(grep -n "demo-late" "$tmp/threads" | head -1 | cut -d: -f1)
if [ -n "$line" ]; then
	for _ in $(seq $((line - 6))); do keys Down; done
	late_only() { has thread-filter "| thread demo-late |" && has thread-filter "demo_late_work" && ! has thread-filter "demo_spin_inner"; }
	keys Enter; until_screen thread-filter 100 late_only
	if late_only; then
		pass thread-filter "T lists threads; Enter on demo-late shows only its functions"
	else
		fail thread-filter "after Enter on demo-late" "$tmp/thread-filter"
	fi
else
	fail thread-filter "no demo-late thread in the list" "$tmp/threads"
	cat "$tmp/threads"
fi
all_threads() { has all "SELF%  TOTAL%" && ! has all "| thread demo-late |"; }
keys T Home Enter; until_screen all 100 all_threads || echo "top.sh: T Home Enter did not show all threads" >&2

# --- freeze: the screen stays, collection goes on. Frozen, it is watched for five
# refresh intervals (0.5 s each): a length of time observed, not a wait. Thawed,
# the intervals taken at once count as five: the rate shown stays within what
# 99 Hz on this machine's CPUs can give (it once showed their sum as one interval's).
thawed() { samples_moved thawed "$(samples_line frozen2)" && has thawed "^deferprof top \[live\]"; }
keys f; wait_for "FROZEN, collecting" frozen1; sleep 2.5; screen frozen2
keys f; until_screen thawed 100 thawed
rate=$(samples_line thawed | grep -o "([0-9]*/s)" | tr -dc 0-9)
max_rate=$((99 * $(nproc) * 5 / 4))
if grep -q "FROZEN, collecting" "$tmp/frozen1" && [ "$(samples_line frozen1)" = "$(samples_line frozen2)" ] &&
   [ "$(samples_line frozen2)" != "$(samples_line thawed)" ] && grep -q "^deferprof top \[live\]" "$tmp/thawed" &&
   [ -n "$rate" ] && [ "$rate" -le "$max_rate" ]; then
	pass freeze "'$(samples_line frozen2)' held, then '$(samples_line thawed)' (at most $max_rate/s)"
else
	fail freeze "f: '$(samples_line frozen1)' / '$(samples_line frozen2)' / '$(samples_line thawed)' (at most $max_rate/s)" "$tmp/frozen2"
fi

# --- help
keys h; wait_for "deferprof top: keys" help
keys x; wait_for "SELF%  TOTAL%" after-help
if has help "deferprof top: keys" && has help "freeze the display" && has after-help "SELF%  TOTAL%"; then
	pass help "h shows every key; any key returns"
else
	fail help "h" "$tmp/help"
fi

# --- write: folded and json of the current aggregate
keys w C-u "$tmp/top.folded" Enter; wait_for "wrote [0-9]* samples to $tmp/top.folded (folded)" saved
keys w C-u "$tmp/top.json" Enter; wait_for "wrote [0-9]* samples to $tmp/top.json (json)" saved-json
keys w C-u "$tmp/top.html" Enter
if has saved "wrote [0-9]* samples to $tmp/top.folded (folded)" &&
   has saved-json "wrote [0-9]* samples to $tmp/top.json (json)" &&
   wait_for "wrote [0-9]* samples to $tmp/top.html (html)" saved-html &&
   grep -q "main;demo_spin_outer;demo_spin_middle;demo_spin_inner" "$tmp/top.folded" &&
   tests/check-export.py --chain main,demo_sys_outer,demo_sys_middle,demo_sys_inner --json "$tmp/top.json" > "$tmp/chk" 2>&1 &&
   tests/check-export.py --chain main,demo_sys_outer,demo_sys_middle,demo_sys_inner --html "$tmp/top.html" >> "$tmp/chk" 2>&1; then
	pass write "$(grep -o 'wrote [0-9]* samples' "$tmp/saved"); json: $(cat "$tmp/chk")"
else
	fail write "w" "$tmp/saved"
	cat "$tmp/chk" 2>/dev/null
fi

# --- write to a FIFO nobody reads: refused on the message line (opening it
# would wait for a reader, and the screen with it)
mkfifo "$tmp/unread.fifo"
keys w C-u "$tmp/unread.fifo" Enter
if wait_for "cannot write $tmp/unread.fifo: a FIFO" fifo; then
	pass write-fifo "$(grep -o "cannot write [^;]*" "$tmp/fifo")"
else
	fail write-fifo "no refusal on screen (top blocked on the FIFO?)" "$tmp/fifo"
fi

# --- resize: the screen follows
big() { [ "$(wc -l < "$tmp/big")" = 40 ] && [ "$(grep -c '%' "$tmp/big")" -gt "$(grep -c '%' "$tmp/s2")" ] && tail -1 "$tmp/big" | grep -q "h:help"; }
$T resize-window -t top -x 120 -y 40 2>/dev/null || $T resize-pane -t top -x 120 -y 40
until_screen big 100 big
if big; then
	pass resize "120x40: $(grep -c '%' "$tmp/big") rows with numbers (80x24: $(grep -c '%' "$tmp/s2"))"
else
	fail resize "after resizing to 120x40" "$tmp/big"
fi

# --- quit: the terminal comes back as it was
# q, then keys typed after it in the same burst: nothing after q is done (they
# were once read after q: a save, or a crash that left the terminal in curses mode).
keys q w C-u "$tmp/after-q.folded" Enter; until_screen quit 100 exited quit
if grep -q "^EXIT=0" "$tmp/quit" && grep -q "MARKER-BEFORE" "$tmp/quit" && grep -q "^icanon echo" "$tmp/quit" &&
   [ ! -e "$tmp/after-q.folded" ]; then
	pass quit-restores "q, then w and a path at once: nothing written, exit 0, the shell's screen back, icanon echo"
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
	keys x; until_screen exited2 100 exited exited2
	if grep -q "^EXIT=0" "$tmp/exited2" && grep -q "deferprof: the target exited; top ended" "$tmp/exited2" &&
	   grep -q "^icanon echo" "$tmp/exited2"; then
		pass target-exit "$(grep -o 'the target exited[^;]*' "$tmp/exited" | head -1); a key left, terminal restored"
	else
		fail target-exit "after the key" "$tmp/exited2"
	fi
else
	fail target-exit "no message when the target exited" "$tmp/exited"
fi

# --- before the first interval the header says so (once it read "? mode every 0 events")
start_demo -l -1
start_top 100 24 -p "$demo_pid" -i 3
if wait_for "^deferprof top \[live\]  starting (no interval in yet)" early 100 &&
   wait_for "^deferprof top \[live\]  pid $demo_pid deferprof-demo  [a-z]* mode  cpu-clock 99 Hz" early2 200; then
	pass header-starting "'$(head -1 "$tmp/early" | sed 's/  *$//')', then '$(head -1 "$tmp/early2" | sed 's/  *$//')'"
else
	fail header-starting "the header before and after the first interval" "$tmp/early"
	sed 's/^/  | /' "$tmp/early2" 2>/dev/null | head -3
fi
$T kill-server 2>/dev/null
kill "$demo_pid"; wait "$demo_pid" 2>/dev/null

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
	until_screen "sig-$how" 100 exited "sig-$how"
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
