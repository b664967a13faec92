#!/usr/bin/env bash
# Build "today's" deferprof (a pinned commit) for make bench-peers, which
# measures it in the same boot as the current build. Prints the build folder.
#
#   bench/baseline.sh                   build (or reuse) the pinned baseline
#   DP_BASELINE_COMMIT=rev              another commit (default 9d63216)
#   DP_BASELINE_BUILD=dir               use that build folder as it is (no build)
#   DP_CACHE=dir                        cache root (default ~/.cache/deferprof)
#
# The commit is checked out with `git worktree add --detach` of this
# repository into a temporary folder and built with `make OUT=<cache> all`;
# the worktree is removed afterwards, the build stays cached under
# $DP_CACHE/baseline-<full commit>/.
set -euo pipefail

die() { echo "baseline: $*" >&2; exit 1; }
if [ -n "${DP_BASELINE_BUILD:-}" ]; then
	[ -x "$DP_BASELINE_BUILD/deferprof" ] || die "DP_BASELINE_BUILD=$DP_BASELINE_BUILD has no deferprof"
	echo "$DP_BASELINE_BUILD"
	exit 0
fi
top=$(cd "$(dirname "$0")/.." && pwd)
rev=${DP_BASELINE_COMMIT:-9d63216}
full=$(git -C "$top" rev-parse --verify "$rev^{commit}") || die "unknown commit $rev"
cache=${DP_CACHE:-${HOME:-/root}/.cache/deferprof}
out=$cache/baseline-$full
if [ -x "$out/deferprof" ] && [ -e "$out/.complete" ]; then
	echo "$out"
	exit 0
fi
tmp=$(mktemp -d /tmp/dp-baseline.XXXXXX)
cleanup() {
	git -C "$top" worktree remove --force "$tmp/src" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	git -C "$top" worktree prune >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "baseline: building deferprof at ${full:0:12} into $out" >&2
git -C "$top" worktree add --detach "$tmp/src" "$full" >/dev/null 2>&1 || die "git worktree add failed"
rm -rf "$out"
mkdir -p "$out"
make -C "$tmp/src" -j"$(nproc)" OUT="$out" all > "$tmp/build.log" 2>&1 ||
	{ tail -n 30 "$tmp/build.log" >&2; die "the build failed"; }
echo "$full" > "$out/.complete"
echo "$out"
