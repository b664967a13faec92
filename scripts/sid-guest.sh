#!/usr/bin/env bash
# A Debian sid guest with the peer profilers (perf >= 6.19, bpftrace, bcc,
# bpftool), for make bench-peers: built once, cached, booted under QEMU with
# its own kernel.
#
#   scripts/sid-guest.sh build          build (or reuse) the guest; prints its folder
#   scripts/sid-guest.sh run DIR OUT    boot it; DIR (any files, with run.sh at its
#                                       top) is the guest's /io; run.sh runs as root
#                                       right after boot with /io as working folder;
#                                       what it leaves in /io/out comes back in OUT,
#                                       the serial console in OUT/console.log
#
#   DP_CACHE=dir            cache root (default ~/.cache/deferprof)
#   DP_SID_REBUILD=1        build again even when a cached guest exists
#   DP_SID_TIMEOUT=secs     whole-boot limit for run (default 7200: a loaded host
#                           was seen to need more than 3600 for make bench)
#   DP_SID_ICOUNT=0         no -icount (guest time is then host time, noisy)
#   DP_SID_MEM=MiB          guest memory (default 2048)
#
# The cache key is a hash of this script's recipe (package list, initrd and
# init set-up): changing the recipe builds a new guest; sid moving on does
# not (the kernel of a cached guest stays what it was; DP_SID_REBUILD=1 takes
# the newest). The root image is attached with snapshot=on, so every boot
# starts from the same pristine disk. Needs root (debootstrap, chroot).
# Host packages it needs (debootstrap, e2fsprogs, qemu-system-x86, zstd) are
# installed when missing.
set -euo pipefail

die() { echo "sid-guest: $*" >&2; exit 1; }
say() { echo "sid-guest: $*" >&2; }

PKGS="linux-image-cloud-amd64 linux-headers-cloud-amd64 linux-perf bpftrace bpfcc-tools
initramfs-tools zstd binutils procps bpftool python3 kmod"
RECIPE_VERSION=3	# bump when the build steps below change
cache=${DP_CACHE:-${HOME:-/root}/.cache/deferprof}
key=$( (echo "$RECIPE_VERSION"; echo "$PKGS"; sed -n '/^guest_init()/,/^}/p' "$0") | sha256sum | cut -c1-12)
gdir=$cache/sid-guest/$key
CHROOT=

host_deps() {
	local p missing=()
	for p in debootstrap e2fsprogs qemu-system-x86 zstd; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing host packages ${missing[*]}; run as root"
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || {
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
	}
}

mirror() {
	local m
	m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	[ -n "$m" ] || m=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^http/) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null)
	echo "${m:-http://deb.debian.org/debian}"
}

# PID 1 of the guest: mounts, sysctls for profiling, then /io/run.sh, then power off.
guest_init() {
	cat <<'INIT'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs shm /dev/shm
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
echo -1 > /proc/sys/kernel/perf_event_paranoid
echo 0 > /proc/sys/kernel/kptr_restrict
echo 200000 > /proc/sys/kernel/perf_event_max_sample_rate
echo 0 > /proc/sys/kernel/perf_cpu_time_max_percent
echo 1024 > /proc/sys/kernel/perf_event_mlock_kb
ulimit -l unlimited
ip link set lo up 2>/dev/null
hostname sid-guest
mkdir -p /io
if mount -t ext4 /dev/vdb /io; then
	mkdir -p /io/out
	echo "DPGUEST-BOOTED $(uname -r)"
	cd /io && sh /io/run.sh
	echo "DPGUEST-RESULT: $?"
	cd /
	sync
	umount /io
else
	echo "DPGUEST-BOOTED $(uname -r)"
	echo "DPGUEST-RESULT: no /io disk"
fi
sync
echo o > /proc/sysrq-trigger
sleep 10
INIT
}

build() {
	if [ -z "${DP_SID_REBUILD:-}" ] && [ -s "$gdir/root.ext4" ] && [ -s "$gdir/vmlinuz" ] && [ -s "$gdir/initrd.img" ]; then
		echo "$gdir"
		return 0
	fi
	[ "$(id -u)" = 0 ] || die "building the guest needs root (debootstrap, chroot)"
	host_deps
	local t0 work root m
	t0=$(date +%s)
	work=$cache/sid-guest/build-$key
	root=$work/root
	CHROOT=$root
	m=$(mirror)
	mkdir -p "$work"
	# Mounts inside the chroot go away whatever happens.
	trap 'for d in dev/pts dev sys proc; do mountpoint -q "$CHROOT/$d" 2>/dev/null && umount -l "$CHROOT/$d"; done; true' EXIT
	if [ ! -e "$work/.debootstrap-done" ] || [ -n "${DP_SID_REBUILD:-}" ]; then
		rm -rf "$root" "$work/.debootstrap-done" "$work/.packages-done"
		say "debootstrap sid from $m (a few minutes)"
		debootstrap --variant=minbase --merged-usr \
			--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
			sid "$root" "$m" > "$work/debootstrap.log" 2>&1 ||
			{ tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }
		touch "$work/.debootstrap-done"
	fi
	if [ ! -e "$work/.packages-done" ]; then
		# apt in the chroot: sid may have an expired Release here; no recommends;
		# no docs, man pages or locales; services never start.
		echo "deb $m sid main" > "$root/etc/apt/sources.list"
		cat > "$root/etc/apt/apt.conf.d/90deferprof" <<-'EOF'
		Acquire::Check-Valid-Until "false";
		APT::Install-Recommends "false";
		APT::Install-Suggests "false";
		EOF
		cat > "$root/etc/dpkg/dpkg.cfg.d/90deferprof-nodoc" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-exclude /usr/share/lintian/*
		EOF
		printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
		chmod +x "$root/usr/sbin/policy-rc.d"
		# initramfs-tools, only what finds and mounts the root disk.
		mkdir -p "$root/etc/initramfs-tools/conf.d"
		printf 'MODULES=list\nCOMPRESS=zstd\n' > "$root/etc/initramfs-tools/conf.d/90deferprof"
		mkdir -p "$root/etc/initramfs-tools"
		printf 'virtio_pci\nvirtio_blk\next4\n' > "$root/etc/initramfs-tools/modules"
		mount -t proc proc "$root/proc"
		mount -t sysfs sys "$root/sys"
		mount --bind /dev "$root/dev"
		mount --bind /dev/pts "$root/dev/pts"
		say "installing $(echo $PKGS) in the guest (a few minutes)"
		# shellcheck disable=SC2086
		chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
			sh -c "apt-get -q update && apt-get install -y -q $(echo $PKGS) && apt-get clean" \
			> "$work/packages.log" 2>&1 ||
			{ tail -n 30 "$work/packages.log" >&2; die "package installation failed (log: $work/packages.log)"; }
		chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin update-initramfs -u -k all \
			>> "$work/packages.log" 2>&1 || die "update-initramfs failed (log: $work/packages.log)"
		for d in dev/pts dev sys proc; do umount "$root/$d"; done
		rm -f "$root/usr/sbin/policy-rc.d"
		touch "$work/.packages-done"
	fi
	guest_init > "$root/sbin/dp-init"
	chmod +x "$root/sbin/dp-init"
	local ver vmlinuz initrd
	vmlinuz=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
	[ -n "$vmlinuz" ] || die "no kernel in the guest's /boot"
	ver=${vmlinuz##*/vmlinuz-}
	initrd=$root/boot/initrd.img-$ver
	[ -s "$initrd" ] || die "no initrd for $ver"
	[ -d "$root/usr/lib/modules/$ver/build" ] || [ -d "$root/usr/src/linux-headers-$ver" ] ||
		say "warning: no kernel headers for $ver (bcc's profile needs them)"
	rm -rf "$gdir.tmp" && mkdir -p "$gdir.tmp"
	cp "$vmlinuz" "$gdir.tmp/vmlinuz"
	cp "$initrd" "$gdir.tmp/initrd.img"
	echo "$ver" > "$gdir.tmp/kernel-release"
	chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' > "$gdir.tmp/packages.txt"
	# The root disk: the tree plus room for /tmp files and logs.
	local kib
	kib=$(du -sk "$root" | cut -f1)
	say "making the ext4 root image ($((kib / 1024)) MiB of files)"
	mke2fs -q -t ext4 -L sidroot -E root_owner=0:0 -d "$root" "$gdir.tmp/root.ext4" "$((kib * 13 / 10 + 262144))k" ||
		die "mke2fs failed"
	rm -rf "$gdir" && mv "$gdir.tmp" "$gdir"
	say "guest built in $(( $(date +%s) - t0 )) s: kernel $ver, $gdir"
	echo "$gdir"
}

run() {
	local payload=$1 out=$2 timeout_s=${DP_SID_TIMEOUT:-7200}
	[ -f "$payload/run.sh" ] || die "run: $payload/run.sh is missing"
	host_deps
	build > /dev/null
	mkdir -p "$out"
	local io kib
	io=$(mktemp /tmp/dp-sid-io.XXXXXX.ext4)
	# The io disk: the payload and room for what the guest writes back.
	kib=$(du -sk "$payload" | cut -f1)
	rm -f "$io"
	mke2fs -q -t ext4 -L io -E root_owner=0:0 -d "$payload" "$io" "$((kib * 12 / 10 + 524288))k" || die "mke2fs (io) failed"
	local -a accel=(-accel tcg,thread=single -cpu max)
	# nohz=off (on the kernel's command line below): an idle vCPU keeps its
	# periodic tick. Without it, a task woken onto an idle vCPU was seen to
	# wait for that vCPU's next timer, 0.2-0.9 s of guest time (the waker's
	# sched_waking with no sched_wakeup until then; idle=halt did not help),
	# and a profiler's ring overflowed meanwhile; with it, the loop woke at
	# worst 1.5 ms late in 14 runs (bench/results/peers-stall-20261204.md).
	[ "${DP_SID_ICOUNT:-1}" = 0 ] || accel+=(-icount shift=0,sleep=off)
	say "booting $(cat "$gdir/kernel-release") (${accel[*]})"
	local t0 rc=0
	t0=$(date +%s)
	timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 "${accel[@]}" \
		-m "${DP_SID_MEM:-2048}" -smp 2 -nographic -no-reboot \
		-kernel "$gdir/vmlinuz" -initrd "$gdir/initrd.img" \
		-append "root=/dev/vda rw rootfstype=ext4 init=/sbin/dp-init console=ttyS0 quiet panic=-1 fsck.mode=skip nohz=off" \
		-drive "file=$gdir/root.ext4,format=raw,if=virtio,snapshot=on" \
		-drive "file=$io,format=raw,if=virtio" \
		-nic none </dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$out/console.log" || rc=$?
	say "guest ran $(( $(date +%s) - t0 )) s"
	# What the guest left in /io/out, read off the image without mounting it.
	rm -rf "$out/guest-out"
	debugfs -R "rdump /out $out" "$io" >/dev/null 2>&1 && [ -d "$out/out" ] && mv "$out/out" "$out/guest-out" ||
		say "warning: could not read /out back from the io disk"
	rm -f "$io"
	grep -q "DPGUEST-BOOTED" "$out/console.log" || die "the guest did not boot (see $out/console.log)"
	grep -q "^DPGUEST-RESULT: 0$" "$out/console.log" || die "the guest script did not finish with 0 (timeout ${timeout_s}s?)"
	return $rc
}

case ${1:-} in
build) build ;;
run) [ $# -ge 3 ] || die "usage: $0 run PAYLOAD_DIR OUT_DIR"; run "$2" "$3" ;;
dir) echo "$gdir" ;;
*) die "usage: $0 build | run PAYLOAD_DIR OUT_DIR | dir" ;;
esac
