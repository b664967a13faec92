#!/usr/bin/env bash
# Fetch one pinned npm package's tarball, check its SHA-256, unpack it.
#   scripts/npm-asset.sh DIR PACKAGE VERSION SHA256
# leaves DIR/PACKAGE-VERSION/ (the package's files) for the build to embed.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 DIR PACKAGE VERSION SHA256" >&2; exit 2; }
dir=$1 pkg=$2 ver=$3 sum=$4
dest=$dir/$pkg-$ver
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
command -v npm >/dev/null || { echo "npm-asset: npm is missing: run make deps" >&2; exit 1; }
(cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null) || {
	echo "npm-asset: cannot fetch $pkg@$ver from the npm registry" >&2; exit 1; }
tgz=$(ls "$tmp"/*.tgz)
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$sum" ]; then
	echo "npm-asset: $pkg@$ver has SHA-256 $got, expected $sum: not using it" >&2
	exit 1
fi
mkdir "$tmp/x"
tar xzf "$tgz" -C "$tmp/x"
rm -rf "$dest"
mv "$tmp/x/package" "$dest"
