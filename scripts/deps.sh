#!/usr/bin/env bash
# Install deferprof's build and test dependencies from Debian's archive.
# Idempotent: installs only what is missing. Debian 12 (bookworm) and newer.
set -euo pipefail

pkgs=(
	make gcc clang llvm lld pkg-config libclang-rt-dev
	libbpf-dev bpftool
	libelf-dev libdw-dev libdebuginfod-dev zlib1g-dev libzstd-dev libiberty-dev uthash-dev
	libjson-c-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev
	libncurses-dev
	libcriterion-dev protobuf-compiler python3 python3-jsonschema tmux
	chromium fonts-dejavu-core
	qemu-system-x86 busybox-static cpio gzip file
	bpfcc-tools bpftrace valgrind
	xz-utils sqlite3 lua5.4 golang-go g++ libxerces-c-samples default-jdk-headless linux-perf
	debuginfod
)
# npm fetches speedscope's published schema for the tests, d3 and
# d3-flame-graph for the html page (build time), and puppeteer-core for the
# browser test: the machine's own Node.js when there is one, else Debian's.
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing ${missing[*]}; run as root (sudo make deps)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
