#!/usr/bin/env bash
# Boot a kernel with deferred user callchains (>= 6.19) under QEMU and run
# the in-VM tests (tests/vm/guest.sh) on the real deferred path.
#
#   tests/vm/vmtest.sh BUILD_DIR
#   DP_VM_KERNEL=path      kernel image to boot (default: Debian's current cloud kernel)
#   DP_VM_ACCEL=kvm|tcg    force an accelerator (default: KVM when it boots, else TCG)
#   DP_VM_TIMEOUT=secs     whole-run limit (default 600)
#   DP_VM_QEMU_OPTS=...    more QEMU options under TCG (e.g. -icount shift=0,sleep=off for benchmarks)
#
# Exit status: 0 when every in-VM test passed; 1 when a test failed, the VM
# did not boot or timed out, or the kernel logged an oops, BUG or WARNING.
set -euo pipefail

out=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
case $out in
/*) bin_dir=$out ;;
*) bin_dir=$top/$out ;;
esac
timeout_s=${DP_VM_TIMEOUT:-600}
work=$(mktemp -d /tmp/dp-vmtest.XXXXXX)
trap 'rm -rf "$work"' EXIT

die() { echo "vmtest: $*" >&2; exit 1; }

for t in qemu-system-x86_64 cpio gzip; do
	command -v "$t" >/dev/null || die "$t is missing: run 'make deps'"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q "statically linked" ||
	busybox=/bin/busybox
file -L "$busybox" 2>/dev/null | grep -q "statically linked" || die "a static busybox is needed (Debian package busybox-static): run 'make deps'"

kernel=$("$top/scripts/get-kernel.sh") || die "cannot get a kernel image"
echo "vmtest: kernel $kernel"

# The initramfs: busybox, deferprof with its shared libraries, the tests.
root=$work/root
mkdir -p "$root"/{bin,dp,tests,proc,sys,dev,tmp}
cp "$busybox" "$root/bin/busybox"
cp "$bin_dir/deferprof" "$bin_dir/deferprof-demo" "$bin_dir/dp-leaf-work" "$bin_dir/dp-live-work" \
	"$bin_dir/dp-live-liba.so" "$bin_dir/dp-live-libb.so" "$root/dp/"
# DP_VM_SCRIPT runs another guest script (make bench); DP_VM_EXTRA: more binaries.
cp "${DP_VM_SCRIPT:-$here/guest.sh}" "$root/tests/guest.sh"
for x in ${DP_VM_EXTRA:-}; do cp "$x" "$root/dp/"; done
# tmux drives deferprof top in the guest, with the terminfo entries it needs.
tmux_bin=$(command -v tmux || true)
if [ -n "$tmux_bin" ]; then
	cp "$tmux_bin" "$root/dp/tmux"
	mkdir -p "$root/usr/lib/terminfo"
	# tmux wants a UTF-8 locale: Debian's C.utf8
	if [ -d /usr/lib/locale/C.utf8 ]; then
		mkdir -p "$root/usr/lib/locale"
		cp -r /usr/lib/locale/C.utf8 "$root/usr/lib/locale/"
	fi
	for e in t/tmux-256color t/tmux s/screen s/screen-256color x/xterm x/xterm-256color d/dumb; do
		for d in /usr/lib/terminfo /lib/terminfo /usr/share/terminfo; do
			if [ -e "$d/$e" ]; then
				mkdir -p "$root/usr/lib/terminfo/$(dirname "$e")"
				cp -L "$d/$e" "$root/usr/lib/terminfo/$e"
				break
			fi
		done
	done
fi
for bin in "$bin_dir/deferprof" "$bin_dir/deferprof-demo" "$bin_dir/dp-leaf-work" "$bin_dir/dp-live-work" ${tmux_bin:+"$tmux_bin"} ${DP_VM_EXTRA:-}; do
	ldd "$bin" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
printf 'export %s\n' ${DP_VM_GUEST_ENV:-DP_GUEST=1} > "$root/tests/env"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
export TERMINFO_DIRS=/usr/lib/terminfo
echo "VMTEST-BOOTED $(uname -r)"
export PATH=/dp:/bin:/sbin:/usr/bin:/usr/sbin
. /tests/env
sh /tests/guest.sh
echo "RESULT: $?"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

run_vm() {
	local accel=$1 log=$2 cpu=max
	local -a accel_opts=(-accel tcg,thread=single ${DP_VM_QEMU_OPTS:-})
	[ "$accel" = kvm ] && accel_opts=(-accel kvm) && cpu=host
	local qpid
	timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 "${accel_opts[@]}" -cpu "$cpu" \
		-m 1024 -smp 2 -nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 oops=panic" </dev/null >"$log" 2>&1 &
	qpid=$!
	# Nested KVM can fail in the guest's first instructions ("KVM internal
	# error ... emulation failure"): QEMU then stops the guest and waits
	# forever. Give up on it at once, so the TCG boot can follow.
	while kill -0 "$qpid" 2>/dev/null; do
		if grep -aq "KVM internal error" "$log" 2>/dev/null; then
			kill "$qpid" 2>/dev/null
			break
		fi
		sleep 1
	done
	wait "$qpid" 2>/dev/null || true
}

log=$work/console.log
accels=${DP_VM_ACCEL:-}
if [ -z "$accels" ]; then
	accels=tcg
	[ -w /dev/kvm ] && accels="kvm tcg"
fi
start=$(date +%s)
for accel in $accels; do
	echo "vmtest: booting with $accel"
	run_vm "$accel" "$log" 2>/dev/null
	grep -q "VMTEST-BOOTED" "$log" && break
	echo "vmtest: no boot with $accel"
done
tr -d '\r' < "$log" > "$log.txt"
cp "$log.txt" "$bin_dir/vmtest-console.log"
grep -E "^(VMTEST|vmtest|RESULT)|^  " "$log.txt" | grep -v "^VMFILE" || true
elapsed=$(( $(date +%s) - start ))

if ! grep -q "VMTEST-BOOTED" "$log.txt"; then
	tail -n 40 "$log.txt" >&2
	die "the VM did not boot"
fi
if grep -Eq "Oops|BUG:|WARNING:|Kernel panic|general protection fault" "$log.txt"; then
	grep -E -A20 "Oops|BUG:|WARNING:|Kernel panic|general protection fault" "$log.txt" | head -n 60 >&2
	die "the kernel logged an oops, BUG or WARNING"
fi
result=$(sed -n 's/^RESULT: \([0-9]*\)$/\1/p' "$log.txt" | tail -n1)
[ -n "$result" ] || { tail -n 40 "$log.txt" >&2; die "the VM timed out after ${timeout_s}s or the tests did not finish"; }
# Files the guest handed over: the exports, checked here with the host's tools.
extract() {	# name -> $work/name
	awk -v f="$1" '$0 == "VMFILE-BEGIN " f { on = 1; next } $0 == "VMFILE-END " f { on = 0 } on' \
		"$log.txt" | base64 -d > "$work/$1"
}
if grep -q "^VMFILE-BEGIN x.json" "$log.txt"; then
	for f in x.json x.pb.gz x.speedscope.json x.folded x.ndjson; do extract "$f"; done
	chain=main,demo_sys_outer,demo_sys_middle,demo_sys_inner,entry_SYSCALL_64_after_hwframe,do_syscall_64
	if "$top/tests/check-export.py" --chain "$chain" --json "$work/x.json" --pprof "$work/x.pb.gz" \
		--speedscope "$work/x.speedscope.json" --folded "$work/x.folded" \
		${DP_SPEEDSCOPE_SCHEMA:+--speedscope-schema "$DP_SPEEDSCOPE_SCHEMA"} > "$work/chk" 2>&1 &&
	   "$top/tests/check-export.py" --chain main,demo_spin_outer,demo_spin_middle,demo_spin_inner \
		--ndjson "$work/x.ndjson" >> "$work/chk" 2>&1; then
		echo "VMTEST exports (host check): PASS ($(tr '\n' ' ' < "$work/chk"))" | tee -a "$log.txt"
	else
		echo "VMTEST exports (host check): FAIL: $(tr '\n' ' ' < "$work/chk")" | tee -a "$log.txt"
	fi
fi
pass=$(grep -c "^VMTEST .*: PASS" "$log.txt" || true)
fail=$(grep -c "^VMTEST .*: FAIL" "$log.txt" || true)
skip=$(grep -c "^VMTEST .*: SKIP" "$log.txt" || true)
echo "vmtest: whole run ${elapsed}s"
# The failures again, last, each with the start of its detail: a CI log's tail
# is often all there is to read.
if [ "$fail" != 0 ]; then
	echo "vmtest: the failures, with what they showed:"
	awk '/^VMTEST .*: FAIL/ { on = 1; n = 0; print; next }
	     /^VMTEST / { on = 0 }
	     on && /^  / && n < 8 { print; n++ }' "$log.txt"
fi
echo "vmtest: ${pass} passed, ${fail} failed, ${skip} skipped"
[ "$result" = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ] || die "in-VM tests failed"
