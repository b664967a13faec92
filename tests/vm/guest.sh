#!/bin/sh
# In-VM tests: run inside a kernel with deferred user callchains (>= 6.19),
# under busybox. Each test prints "VMTEST <name>: PASS|FAIL|SKIP [why]";
# the exit status is the number of failures.
fails=0
T=/tmp/t
mkdir -p $T

pass() { echo "VMTEST $1: PASS${2:+ ($2)}"; }
fail() { echo "VMTEST $1: FAIL: $2"; fails=$((fails + 1)); }
show() { sed 's/^/  | /' "$1" | head -n "${2:-40}"; }

# Field N (1-based, spaces) of the first line matching a pattern.
field() { grep -m1 "$1" "$2" | tr -s ' ' | cut -d' ' -f"$3"; }

# --- 1. the probe reports deferred callchains as supported here
deferprof --probe > $T/probe.txt 2>&1
rc=$?
if [ $rc = 0 ] && grep -q "yes  defer_callchain/defer_output" $T/probe.txt &&
   grep -q "yes  deferred records (live check)" $T/probe.txt &&
   grep -q "^mode: deferred" $T/probe.txt; then
	pass probe "$(grep -m1 'deferred records' $T/probe.txt | tr -s ' ')"
else
	fail probe "rc=$rc, deferred callchains not reported as supported"
	show $T/probe.txt
fi

# --- 2. -p on the named-function workload: full chains, late thread, rate
deferprof-demo -l -1 & demo=$!
deferprof -v -p $demo -d 5 -f folded -o $T/demo.folded 2> $T/demo.err & prof=$!
i=0
while ! grep -q "perf events on" $T/demo.err 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
threads_at_attach=$(ls /proc/$demo/task | wc -l)
kill -USR1 $demo	# the late thread starts now, after attach
wait $prof
rc=$?
kill $demo; wait $demo 2>/dev/null
if [ $rc != 0 ]; then
	fail deferred-profile "deferprof exited $rc"
	show $T/demo.err
else
	grep -q "deferred mode" $T/demo.err || fail mode-named "mode not deferred: $(tail -n1 $T/demo.err)"
	if grep -q "main;demo_sys_outer;demo_sys_middle;demo_sys_inner;entry_SYSCALL_64[^;]*;do_syscall_64;.*vfs_read" $T/demo.folded; then
		pass syscall-chain "user chain continued by the read(2) kernel frames"
	else
		fail syscall-chain "no main;demo_sys_outer;demo_sys_middle;demo_sys_inner;entry_SYSCALL_64...;vfs_read"
		show $T/demo.folded 20
	fi
	if grep -Eq "main;demo_spin_outer;demo_spin_middle;demo_spin_inner(;demo_spin_step)? [0-9]" $T/demo.folded; then
		pass user-chain
	else
		fail user-chain "no main;demo_spin_outer;demo_spin_middle;demo_spin_inner"
		show $T/demo.folded 20
	fi
	if [ "$threads_at_attach" = 1 ] && grep -q "demo_late_thread;demo_late_work [0-9]" $T/demo.folded; then
		pass late-thread "thread started after attach was profiled"
	else
		fail late-thread "threads at attach: $threads_at_attach; late thread's chain present: $(grep -c demo_late_work $T/demo.folded)"
	fi
fi

# --- 3. --verify: the BPF join and perf-style stitching of raw samples agree,
# the accounting closes, and deferred samples take the log path
deferprof-demo -l -1 & demo=$!
deferprof -p $demo -d 4 --verify -o $T/verify.txt 2> $T/verify.err
rc=$?
kill $demo; wait $demo 2>/dev/null
if [ $rc = 0 ] && grep -q "stacks differ (ok)" $T/verify.txt && grep -q " 0 stacks differ" $T/verify.txt; then
	pass verify "$(grep -m1 'verify:' $T/verify.txt | tr -s ' ')"
else
	fail verify "rc=$rc"
	show $T/verify.txt 14
	show $T/verify.err 20
fi
seen=$(field "samples:" $T/verify.txt 3)
instacks=$(field "samples:" $T/verify.txt 8)
dropped=$(field "samples:" $T/verify.txt 12)
if [ -n "$seen" ] && [ -n "$instacks" ] && [ -n "$dropped" ] && [ "$seen" -gt 0 ] && [ "$seen" = $((instacks + dropped)) ]; then
	pass accounting "$seen seen = $instacks in stacks + $dropped dropped"
else
	fail accounting "samples line: $(grep -m1 'samples:' $T/verify.txt)"
fi
joined=$(field "stacks:" $T/verify.txt 5)
if [ -n "$joined" ] && [ "$joined" -gt 0 ]; then
	pass joined "$joined samples joined with deferred records"
else
	fail joined "$(grep -m1 'stacks:' $T/verify.txt)"
fi
# Deferred samples go through the per-CPU logs, chain and all: one entry
# per sample, and none of them in the BPF stack store.
logged=$(field "logs:" $T/verify.txt 3)
deferred_seen=$(field "samples:" $T/verify.txt 3)
store=$(field "store:" $T/verify.txt 3)
if [ -n "$logged" ] && [ -n "$store" ] && [ "$logged" -gt 0 ] && [ "$logged" -ge $((deferred_seen * 9 / 10)) ] &&
   [ "$store" -le $((logged / 5)) ]; then
	pass log-path "$logged of $deferred_seen samples through the logs; $store stacks in the BPF store"
else
	fail log-path "$(grep -m1 'logs:' $T/verify.txt); $(grep -m1 'store:' $T/verify.txt)"
fi

# --- 3b. -- COMMAND on the deferred path: inherited events enabled by the
# exec, the command's exit status passed through, its chains joined
deferprof -f folded -o $T/cmd.folded -- sh -c 'deferprof-demo -s 2 -l 200; exit 3' 2> $T/cmd.err
rc=$?
if [ $rc = 3 ] && grep -q "deferred mode" $T/cmd.err &&
   grep -Eq "main;demo_spin_outer;demo_spin_middle;demo_spin_inner(;demo_spin_step)? [0-9]" $T/cmd.folded &&
   grep -q "demo_late_thread;demo_late_work [0-9]" $T/cmd.folded; then
	pass command "exit 3 passed through; the child's chains and its late thread, deferred"
else
	fail command "rc=$rc (wanted 3)"
	show $T/cmd.err 10
	show $T/cmd.folded 20
fi

# --- 3c. --cgroup on the deferred path: per-CPU cgroup events, one demo inside
# the group and one outside; only the inside one is profiled, chains joined.
# Nothing in this bare guest wrote cgroup.subtree_control, which the kernel
# needs before it gives new groups the (implicit) perf_event controller: a
# group made before that gets deferprof's line about it, checked first.
mkdir -p /sys/fs/cgroup
grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
mkdir /sys/fs/cgroup/dp-bare
deferprof --cgroup dp-bare -d 1 -o $T/cgbare.txt 2> $T/cgbare.err
rc_bare=$?
echo +pids > /sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/dp-in
deferprof-demo -l -1 > /dev/null & cg_in=$!
sh -c 'while :; do :; done' & cg_out=$!	# busybox: none of the demo's names
echo $cg_in > /sys/fs/cgroup/dp-in/cgroup.procs
deferprof --cgroup dp-in -d 3 -f folded -o $T/cg.folded 2> $T/cg.err
rc=$?
kill $cg_in $cg_out; wait $cg_in $cg_out 2>/dev/null
if [ $rc = 0 ] && grep -q "deferred mode" $T/cg.err &&
   grep -q "main;demo_sys_outer;demo_sys_middle;demo_sys_inner;entry_SYSCALL_64" $T/cg.folded &&
   grep -q "main;demo_spin_outer;demo_spin_middle;demo_spin_inner" $T/cg.folded &&
   ! grep -q "busybox" $T/cg.folded &&
   [ $rc_bare != 0 ] && grep -q "subtree_control" $T/cgbare.err; then
	pass cgroup "deferred, only the group's demo: $(grep -c . $T/cg.folded) stacks; a bare group named the fix"
else
	fail cgroup "rc=$rc (bare group rc=$rc_bare)"
	show $T/cgbare.err 4
	show $T/cg.err 10
	show $T/cg.folded 20
fi

# --- 4. rate: one busy thread at 99 Hz gives 99 samples a second, within 20%
deferprof-demo -m spin -l -1 & demo=$!
deferprof -p $demo -F 99 -d 4 -o $T/rate.txt 2> $T/rate.err
rc=$?
kill $demo; wait $demo 2>/dev/null
seen=$(field "samples:" $T/rate.txt 3)
dur=$(grep -m1 "duration:" $T/rate.txt | tr -s ' ' | cut -d' ' -f3)
if [ $rc = 0 ] && [ -n "$seen" ] && [ -n "$dur" ]; then
	# busybox awk does the float arithmetic
	verdict=$(awk -v s="$seen" -v d="$dur" 'BEGIN { r = s / d; printf "%s %.1f", (r >= 79.2 && r <= 118.8) ? "ok" : "bad", r }')
	case $verdict in
	ok*) pass rate "${verdict#ok } samples/s at 99 Hz" ;;
	*) fail rate "${verdict#bad } samples/s at 99 Hz (expected 79.2 to 118.8)" ;;
	esac
else
	fail rate "rc=$rc"
	show $T/rate.err
fi

# --- 5. exports on the deferred path: every format of one run, handed to the
# host (base64 between markers) where tests/check-export.py checks them
deferprof-demo -l -1 & demo=$!
deferprof -p $demo -d 3 -f json -o $T/x.json -f pprof -o $T/x.pb.gz \
	-f speedscope -o $T/x.speedscope.json -f folded -o $T/x.folded 2> $T/x.err
rc=$?
deferprof -p $demo -d 2.2 -f ndjson -i 0.5 -o $T/x.ndjson 2>> $T/x.err
rc2=$?
kill $demo; wait $demo 2>/dev/null
if [ $rc = 0 ] && [ $rc2 = 0 ] && grep -q '"mode":"deferred"' $T/x.json; then
	for f in x.json x.pb.gz x.speedscope.json x.folded x.ndjson; do
		echo "VMFILE-BEGIN $f"
		base64 $T/$f
		echo "VMFILE-END $f"
	done
	pass exports-written "deferred mode; checked on the host (VMHOST exports)"
else
	fail exports-written "rc=$rc/$rc2"
	show $T/x.err
fi

# --- 6. deferprof top on the deferred path, driven in tmux
if command -v tmux >/dev/null; then
	export TERM=xterm LC_ALL=C.UTF-8	# tmux needs a known terminal and a UTF-8 locale
	deferprof-demo -l -1 & demo=$!
	tmux -f /dev/null new-session -d -s top -x 100 -y 30 \
		"deferprof top -p $demo -i 0.5; echo EXIT=\$?; sleep 60"
	i=0
	while [ $i -lt 120 ]; do	# the probe alone takes seconds under TCG
		sleep 0.5; i=$((i + 1))
		tmux capture-pane -p -t top > $T/top1
		grep -q "demo_spin_inner" $T/top1 && grep -q "demo_sys_inner" $T/top1 && break
	done
	# The screen refreshes: wait for the samples line to move (30 s at most).
	a=$(grep -m1 "^samples:" $T/top1); b=$a; i=0
	while { [ -z "$b" ] || [ "$b" = "$a" ]; } && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
		tmux capture-pane -p -t top > $T/top2
		b=$(grep -m1 "^samples:" $T/top2)
	done
	tmux send-keys -t top q
	i=0
	: > $T/top3
	while ! grep -q "^EXIT=" $T/top3 && [ $i -lt 300 ]; do	# q: top ends
		sleep 0.1; i=$((i + 1))
		tmux capture-pane -p -t top > $T/top3
	done
	tmux kill-server
	kill $demo; wait $demo 2>/dev/null
	if grep -q "deferred mode" $T/top1 && grep -q "demo_spin_inner" $T/top1 &&
	   grep -q "demo_sys_inner" $T/top1 && [ -n "$a" ] && [ "$a" != "$b" ] && grep -q "^EXIT=0" $T/top3; then
		pass top "deferred mode on screen, named functions, '$a' then '$b', q exits 0"
	else
		fail top "screen below"
		show $T/top2
		show $T/top3 10
	fi
else
	echo "VMTEST top: SKIP: tmux is not in the VM image (install tmux: make deps)"
fi

# --- 7. the leaf repair on the deferred path (tests/live/leafwork.c): the
# callers of libc's read() wrapper and of a frameless leaf are back, by name,
# --verify's reference repaired alike; --no-leaf-repair shows the hole.
READ='(__libc_read|__GI___libc_read|read)'
# In read() itself (one frame is recovered, not two: see tests/live/leaf.sh)
IN_READ="$READ(;__libc_read)?(;entry_SYSCALL[^;]*;| [0-9])"
deferprof --verify -F 499 -f report -o $T/leaf.txt -f folded -o $T/leaf.folded \
	-- dp-leaf-work 4 2> $T/leaf.err
rc=$?
deferprof -F 499 --no-leaf-repair -f folded -o $T/leafoff.folded -- dp-leaf-work 3 2> $T/leafoff.err
rc2=$?
if [ $rc != 0 ] || [ $rc2 != 0 ]; then
	fail leaf-runs "rc=$rc/$rc2"
	tail -n 4 $T/leaf.err | sed 's/^/  | leaf: /'
	tail -n 3 $T/leafoff.err | sed 's/^/  | leafoff: /'
	grep -E "verify:|samples:|lost|leaf:" $T/leaf.txt | sed 's/^/  | leaf.txt: /'
	show $T/leaf.err
else
	if grep -q "mode: *deferred" $T/leaf.txt &&
	   grep -Eq ";heron_outer;egret_mid;ibis_reader;$READ;" $T/leaf.folded &&
	   ! grep -Eq ";egret_mid;$IN_READ" $T/leaf.folded; then
		pass leaf-syscall-caller "deferred: heron_outer;egret_mid;ibis_reader;read in every read() stack"
	else
		fail leaf-syscall-caller "no heron_outer;egret_mid;ibis_reader;read, or a read() stack without ibis_reader"
		grep -E ";egret_mid;$IN_READ" $T/leaf.folded | head -n 10 | sed 's/^/  | without: /'
		grep -m1 "leaf:" $T/leaf.txt
		show $T/leaf.folded 20
	fi
	if grep -Eq ";heron_outer;kite_worker;kite_leaf( |;)" $T/leaf.folded &&
	   ! grep -Eq ";heron_outer;kite_leaf( |;)" $T/leaf.folded; then
		pass leaf-leaf-caller "deferred: every kite_leaf stack is heron_outer;kite_worker;kite_leaf"
	else
		fail leaf-leaf-caller "kite_leaf without kite_worker, or never seen"
		show $T/leaf.folded 20
	fi
	if grep -Eq ";heron_outer;plover_loop;wren_tiny( |;)" $T/leaf.folded &&
	   ! grep -Eq ";heron_outer;wren_tiny( |;)" $T/leaf.folded &&
	   ! grep -Eq ";plover_loop;wren_nop( |;)" $T/leaf.folded; then
		pass leaf-prologue-epilogue "deferred: every wren_tiny stack is plover_loop;wren_tiny"
	else
		fail leaf-prologue-epilogue "a wren_tiny or wren_nop stack without its caller, or none seen"
		grep -E "wren" $T/leaf.folded | head -n 10 | sed 's/^/  | /'
	fi
	if grep -Eq ";heron_outer;crane_framed( |;)" $T/leaf.folded &&
	   ! grep -E ";crane_framed( |;)" $T/leaf.folded | grep -Evq ";main;heron_outer;crane_framed( |;)"; then
		pass leaf-framed-unchanged "crane_framed's stacks: main;heron_outer;crane_framed, nothing inserted"
	else
		fail leaf-framed-unchanged "a frame inserted under crane_framed, or it was never seen"
		show $T/leaf.folded 20
	fi
	if grep -q " 0 stacks differ (ok)" $T/leaf.txt && grep -q "leaf: .* [1-9][0-9]* samples with a caller recovered" $T/leaf.txt; then
		pass leaf-verify "$(grep -m1 'verify:' $T/leaf.txt | tr -s ' '); $(grep -m1 'leaf:' $T/leaf.txt | tr -s ' ')"
	else
		fail leaf-verify "the reference and the join differ, or nothing was recovered"
		show $T/leaf.txt 16
	fi
	if grep -Eq ";heron_outer;egret_mid;$READ;" $T/leafoff.folded &&
	   ! grep -Eq ";ibis_reader;$READ;" $T/leafoff.folded &&
	   grep -Eq ";heron_outer;kite_leaf( |;)" $T/leafoff.folded &&
	   ! grep -q ";kite_worker;kite_leaf" $T/leafoff.folded &&
	   grep -Eq ";heron_outer;wren_tiny( |;)" $T/leafoff.folded; then
		pass leaf-off "--no-leaf-repair: heron_outer;egret_mid;read, heron_outer;kite_leaf, heron_outer;wren_tiny, as perf -g"
	else
		fail leaf-off "--no-leaf-repair: not the frame-pointer stacks"
		show $T/leafoff.folded 20
	fi
fi

# --- 8. address spaces over time on the deferred path (tests/live/addrspace.sh on
# the host): a library dlopen'd where a dlclose'd one was, an exec mid-profile,
# short-lived forked children under -p PARENT; each named, nothing [unmapped]. The
# children: their work named, at most 2% [unmapped] or [unknown]; children forked
# while the events were being opened get no FORK record and are read from /proc
# right after the enable (1 run in 12 had 8% [unmapped] before that)
sum() { grep -E "$1" "$2" | awk '{ n += $NF } END { print n + 0 }'; }
deferprof -F 999 -f folded -o $T/dl.folded -- dp-live-work dlopen 1 /dp > $T/dl.out 2> $T/dl.err
rc=$?
if ! grep -q "^reused 1" $T/dl.out; then
	echo "VMTEST aspace-dlopen-reuse: SKIP libb not mapped where liba was: $(cat $T/dl.out)"
else
	a=$(sum "live_dl_phase_a;dl_alpha_work " $T/dl.folded)
	b=$(sum "live_dl_phase_b;dl_beta_work " $T/dl.folded)
	bad=$(sum "live_dl_phase_a;dl_beta_work |live_dl_phase_b;dl_alpha_work " $T/dl.folded)
	all=$(sum . $T/dl.folded)
	if [ $rc = 0 ] && [ "$a" -gt $((all * 35 / 100)) ] && [ "$b" -gt $((all * 35 / 100)) ] &&
	   [ "$bad" -le $((all / 50)) ]; then
		pass aspace-dlopen-reuse "of $all: dl_alpha_work $a, dl_beta_work $b, misnamed $bad"
	else
		fail aspace-dlopen-reuse "rc=$rc: alpha $a, beta $b, misnamed $bad of $all"
		show $T/dl.folded 20
		show $T/dl.err 10
	fi
fi
deferprof -F 999 -f folded -o $T/ex.folded -- dp-live-work exec 1 > /dev/null 2> $T/ex.err
rc=$?
pre=$(sum ";main;live_pre_exec" $T/ex.folded)
post=$(sum ";main;live_proc_a" $T/ex.folded)
unm=$(sum "unmapped" $T/ex.folded)
all=$(sum . $T/ex.folded)
if [ $rc = 0 ] && [ "$pre" -gt $((all * 35 / 100)) ] && [ "$post" -gt $((all * 35 / 100)) ] && [ "$unm" -le $((all / 100)) ]; then
	pass aspace-exec "of $all: live_pre_exec $pre, live_proc_a $post, $unm [unmapped]"
else
	fail aspace-exec "rc=$rc: before $pre, after $post, unmapped $unm of $all"
	show $T/ex.folded 20
	show $T/ex.err 10
fi
# Each under the command name of its time: dp-live-work, then exe (it runs /proc/self/exe).
pre_old=$(sum "^dp-live-work;.*;main;live_pre_exec" $T/ex.folded)
post_new=$(sum "^exe;.*;main;live_proc_a" $T/ex.folded)
# At most 2% under the other name (an exec's records read from two CPUs' rings in either order).
if [ $rc = 0 ] && [ "$pre" -gt 0 ] && [ "$post" -gt 0 ] && [ $((pre - pre_old)) -le $((pre / 50)) ] &&
   [ $((post - post_new)) -le $((post / 50)) ] && ! grep -q "^deferprof;" $T/ex.folded; then
	pass aspace-exec-names "live_pre_exec: $pre_old of $pre under dp-live-work, live_proc_a: $post_new of $post under exe"
else
	fail aspace-exec-names "rc=$rc: live_pre_exec $pre_old of $pre under dp-live-work, live_proc_a $post_new of $post under exe"
	show $T/ex.folded 20
fi
# Forking until killed: a profiler slow to start under TCG never finds it gone.
dp-live-work forks 0 25 & fk=$!
deferprof -p $fk -F 999 -d 2 -f folded -o $T/fk.folded 2> $T/fk.err
rc=$?
kill $fk; wait $fk 2>/dev/null
named=$(sum ";main;forks;live_child_work" $T/fk.folded)
unm=$(sum "unmapped|^\[unknown\]" $T/fk.folded)
all=$(sum . $T/fk.folded)
if [ $rc = 0 ] && [ "$all" -gt 50 ] && [ "$named" -ge $((all / 2)) ] && [ "$unm" -le $((all / 50)) ]; then
	pass aspace-fork-children "of $all: $named in main;forks;live_child_work, $unm [unmapped] or [unknown]"
else
	fail aspace-fork-children "rc=$rc: $named named, $unm unmapped of $all"
	show $T/fk.err 10
	grep unmapped $T/fk.folded | sed 's/^/  | unmapped: /' | head -n 10
	show $T/fk.folded 20
fi

exit $fails
