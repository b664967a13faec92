#!/usr/bin/env bash
# Print the path of a Linux kernel image (>= 6.19, with defer_callchain) for
# the VM tests, downloading Debian's current cloud kernel on first use.
#
#   DP_VM_KERNEL=/path/to/vmlinuz   use that image instead
#   DP_CACHE=dir                    cache folder (default ~/.cache/deferprof)
#   DP_KERNEL_SUITE=sid             Debian suite to take the kernel from
#
# The version is resolved at run time from the linux-image-cloud-amd64 meta
# package; apt runs with a private configuration, the system's is untouched.
set -euo pipefail

if [ -n "${DP_VM_KERNEL:-}" ]; then
	[ -r "$DP_VM_KERNEL" ] || { echo "get-kernel: DP_VM_KERNEL=$DP_VM_KERNEL is not readable" >&2; exit 1; }
	echo "$DP_VM_KERNEL"
	exit 0
fi

cache=${DP_CACHE:-${HOME:-/root}/.cache/deferprof}
suite=${DP_KERNEL_SUITE:-sid}
apt_dir=$cache/apt-$suite
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"

# The mirror the system already uses.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^http/) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$apt_dir/sources.list"

apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives"
	-o Dir::State::status=/dev/null -o Debug::NoLocking=1
	-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)

# Refresh the package list at most once a day.
if [ -z "$(find "$apt_dir/lists" -name '*Packages*' -mtime -1 2>/dev/null | head -n1)" ]; then
	apt-get -q "${apt_opts[@]}" update >&2 || {
		ls "$apt_dir"/lists/*Packages* >/dev/null 2>&1 || { echo "get-kernel: cannot fetch the $suite package list" >&2; exit 1; }
		echo "get-kernel: package list update failed; using the cached one" >&2
	}
fi

image=$(apt-cache "${apt_opts[@]}" depends linux-image-cloud-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1)
[ -n "$image" ] || { echo "get-kernel: cannot resolve linux-image-cloud-amd64 in $suite" >&2; exit 1; }
ver=${image#linux-image-}
out=$cache/kernel-$ver/vmlinuz
if [ ! -s "$out" ]; then
	binary=linux-binary-$ver
	apt-cache "${apt_opts[@]}" show "$binary" >/dev/null 2>&1 || binary=$image
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get -q "${apt_opts[@]}" download "$binary" >&2)
	dpkg-deb -x "$tmp"/*.deb "$tmp/x"
	img=$(find "$tmp/x" -name vmlinuz -o -name "vmlinuz-*" | head -n1)
	[ -n "$img" ] || { echo "get-kernel: no vmlinuz in $binary" >&2; exit 1; }
	mkdir -p "$(dirname "$out")"
	cp "$img" "$out.tmp" && mv "$out.tmp" "$out"
fi
echo "$out"
