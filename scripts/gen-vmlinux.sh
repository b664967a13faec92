#!/usr/bin/env bash
# Regenerate vmlinux/ARCH/vmlinux.h from a kernel's BTF.
#   scripts/gen-vmlinux.sh ARCH [BTF_FILE]   (default: the running kernel's)
set -euo pipefail
arch=${1:-x86}
btf=${2:-/sys/kernel/btf/vmlinux}
[ -r "$btf" ] || { echo "gen-vmlinux: cannot read $btf" >&2; exit 1; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/vmlinux/$arch"
bpftool btf dump file "$btf" format c > "$top/vmlinux/$arch/vmlinux.h.tmp"
mv "$top/vmlinux/$arch/vmlinux.h.tmp" "$top/vmlinux/$arch/vmlinux.h"
echo "vmlinux/$arch/vmlinux.h from $btf ($(uname -r) if the running kernel's)"
