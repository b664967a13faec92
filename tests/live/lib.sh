# shellcheck shell=bash
# Shared by the live test scripts (run.sh, top.sh, targets.sh): results and
# the summary line, waits on conditions, pids with known properties. Each
# script sets suite (the summary's name) and prefix (of its test names).
: "${suite:?set by the script}" "${prefix?set by the script}"
passed=0 failed=0 skipped=0
skips=()

pass() { echo "PASS $prefix$1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $prefix$1: $2"; failed=$((failed + 1)); [ -n "${3:-}" ] && sed 's/^/  | /' "$3" | head -n 40; }
# A test that could not run here: said at once and again in the summary.
skip() { echo "SKIP $prefix$1: $2"; skipped=$((skipped + 1)); skips+=("$prefix$1: $2"); }
finish() {
	local line="$suite: $passed passed, $failed failed" reasons
	if [ "$skipped" -gt 0 ]; then
		reasons=$(printf '%s; ' "${skips[@]}")
		line+=", $skipped SKIPPED, not verified here (${reasons%; })"
	else
		line+=", 0 skipped"
	fi
	echo "$line"
	exit $((failed > 0))
}

# Poll until a command succeeds, up to N tenths of a second.
wait_until() {	# tenths command...
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# Start "$dp" -v ARGS in the background, stderr into err, and wait (N tenths at
# most) until it says its events are enabled; sets prof. err is emptied first:
# the child truncates it only once it runs, and a last run's line must not count.
start_profiling() {	# tenths err args...
	local n=$1 err=$2
	shift 2
	: > "$err"
	"$dp" -v "$@" 2> "$err" & prof=$!
	wait_until "$n" grep -q "events enabled" "$err"
}

# A pid no process or thread has now: the highest below kernel.pid_max.
free_pid() {
	local p max
	max=$(cat /proc/sys/kernel/pid_max) || return 1
	for ((p = max - 1; p > 300; p--)); do
		[ -e "/proc/$p" ] || { echo "$p"; return 0; }
	done
	return 1
}

# A kernel thread's pid: PF_KTHREAD (0x00200000) in /proc/PID/stat's flags,
# what deferprof itself checks.
kernel_thread_pid() {
	local f st flags
	for f in /proc/[0-9]*/stat; do
		st=$(cat "$f" 2>/dev/null) || continue
		# after "(comm) ": state ppid pgrp session tty_nr tpgid flags
		read -r _ _ _ _ _ _ flags _ <<< "${st##*) }"
		if (( flags & 0x00200000 )); then
			f=${f#/proc/}
			echo "${f%/stat}"
			return 0
		fi
	done
	return 1
}

# Whether a process runs the given executable yet (its exec is done).
runs() {	# pid path
	[ "/proc/$1/exe" -ef "$2" ]
}

# The whole suite SKIPs, saying why, without root (BPF and perf events need it).
need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip all "not root: live tests need root for BPF and perf events (run: sudo make live-test)"
		finish
	fi
}

# ... or without the kernel's BTF, which the BPF program is built against.
need_btf() {
	if [ ! -r /sys/kernel/btf/vmlinux ]; then
		skip all "no kernel BTF (/sys/kernel/btf/vmlinux): the BPF program cannot load here"
		finish
	fi
}
