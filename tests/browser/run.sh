#!/usr/bin/env bash
# make browser-test: deferprof's pages in a real browser. Profiles the demo
# live (-f html and -f json from one run), then two runs of the demo with
# different work for deferprof diff, and opens each page in Debian's chromium,
# headless, driven by puppeteer-core (tests/browser/check-page.mjs): frames
# drawn by name, tooltip, search and its share, zoom, icicle, threads, the
# diff's colours and table, no console error, nothing fetched. Keeps the
# screenshots in OUT/browser/ (the README's pictures come from there).
# Also checks deferprof diff's one-line errors on bad input.
#   tests/browser/run.sh OUT
set -uo pipefail
out=$(realpath "${1:?usage: run.sh OUT}")	# absolute: node resolves modules from it
suite=browser-test prefix=browser/
cd "$(dirname "$0")/../.."
# shellcheck source=tests/live/lib.sh
. tests/live/lib.sh
dp=$out/deferprof demo=$out/deferprof-demo
dir=$out/browser
rm -rf "$dir" && mkdir -p "$dir"
chromium=${DP_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
export DP_NODE_MODULES=$out/browser-test/node_modules

# Each check-page.mjs line is one result here.
page_checks() {	# name args...
	local name=$1 log
	shift
	log=$dir/$name.log
	timeout 180 node tests/browser/check-page.mjs --chromium "$chromium" "$@" > "$log" 2>&1
	echo "  (exit $?)" >> "$log"
	while read -r word check rest; do
		case $word in
		ok) pass "$name/${check%:}" "$rest" ;;
		FAIL) fail "$name/${check%:}" "$rest" ;;
		esac
	done < "$log"
	grep -qE '^(ok|FAIL) ' "$log" || fail "$name" "check-page.mjs gave no result" "$log"
}

# ---- deferprof diff's bad input: files only, no browser, no root ----
printf 'main;work 3\n' > "$dir/a.folded"
printf '{"type":"interval"}\n' > "$dir/interval.json"
printf '{"type":"profile",' > "$dir/cut.json"
printf 'main;work three\n' > "$dir/badcount.folded"
: > "$dir/empty.folded"
bad_diff() {	# name expected-message args...
	local name=$1 want=$2 rc
	shift 2
	"$dp" diff "$@" > "$dir/bad.out" 2> "$dir/bad.err"; rc=$?
	if [ $rc != 0 ] && [ "$(wc -l < "$dir/bad.err")" = 1 ] && grep -qF -- "$want" "$dir/bad.err" &&
	   [ ! -s "$dir/bad.out" ]; then
		pass "diff-error-$name" "exit $rc: $(cat "$dir/bad.err")"
	else
		fail "diff-error-$name" "exit $rc, expected one line with \"$want\"" "$dir/bad.err"
	fi
}
bad_diff missing-file "cannot read $dir/nope.json: No such file or directory" "$dir/nope.json" "$dir/a.folded"
bad_diff one-file "expected two files, BASE and NEW, got 1" "$dir/a.folded"
bad_diff not-json "not valid JSON" "$dir/cut.json" "$dir/a.folded"
bad_diff not-profile 'not a deferprof profile (its "type" is "interval")' "$dir/interval.json" "$dir/a.folded"
bad_diff bad-count 'line 1: the count "three" is not a whole number' "$dir/a.folded" "$dir/badcount.folded"
bad_diff empty "is empty: nothing to compare" "$dir/a.folded" "$dir/empty.folded"
bad_diff format "unknown format 'svg': expected report, folded or html" -f svg "$dir/a.folded" "$dir/a.folded"

# ---- live profiles and pages ----
if [ "$(id -u)" != 0 ]; then
	skip pages "not root: the pages are made from live profiles (run: sudo make browser-test)"
	finish
fi
if [ ! -e /sys/kernel/btf/vmlinux ]; then
	skip pages "no kernel BTF (/sys/kernel/btf/vmlinux): the BPF program cannot load here"
	finish
fi
if [ -z "$chromium" ]; then
	skip pages "chromium is not installed (make deps installs Debian's chromium)"
	finish
fi
if [ ! -e "$DP_NODE_MODULES/puppeteer-core/package.json" ]; then
	fail pages "puppeteer-core is not in $DP_NODE_MODULES (make browser-test installs it)"
	finish
fi

# The demo: the html page and the json of the same run (the search's share is checked against it).
"$dp" --demo -d 3 -f html -o "$dir/demo.html" -f json -o "$dir/demo.json" 2> "$dir/demo.err"
if [ $? = 0 ] && [ -s "$dir/demo.html" ]; then
	pass profile-demo "$(tail -1 "$dir/demo.err")"
	page_checks flamegraph --page "$dir/demo.html" --json "$dir/demo.json" --kind profile \
		--expect main,demo_spin_outer,demo_spin_middle,demo_spin_inner,demo_late_work \
		--search demo_sys --zoom demo_spin_outer --thread demo-late:demo_late_work:demo_spin_inner \
		--screenshot "$dir/flamegraph.png"
	# 100,000 distinct stacks in the same page: how big, how soon drawn (frames under
	# a pixel pruned from the drawing, not the data), a search and a zoom.
	if python3 tests/browser/big-page.py "$dir/demo.html" 100000 "$dir/big.html"; then
		pass big-page "100000 stacks: $(($(stat -c %s "$dir/big.html") / 1024)) KiB"
		page_checks big --page "$dir/big.html" --kind big --expect main --search fn_01 \
			--zoom main --screenshot "$dir/big.png" --limit-ms 30000
	else
		fail big-page "tests/browser/big-page.py failed"
	fi
else
	fail profile-demo "deferprof --demo -f html failed" "$dir/demo.err"
fi

# BASE: the main thread spinning (a little read(2)); NEW: read(2) only, and the late thread.
"$dp" -d 3 -f json -o "$dir/base.json" -f folded -o "$dir/base.folded" -- "$demo" -m both -l -1 \
	2> "$dir/base.err" &&
"$dp" -d 3 -f json -o "$dir/new.json" -f folded -o "$dir/new.folded" -- "$demo" -m sys 2> "$dir/new.err"
if [ $? = 0 ]; then
	pass profile-diff-inputs "$(tail -1 "$dir/base.err"); $(tail -1 "$dir/new.err")"
else
	fail profile-diff-inputs "deferprof -- deferprof-demo failed" "$dir/new.err"
fi
if "$dp" diff "$dir/base.json" "$dir/new.json" -f html -o "$dir/diff.html" 2> "$dir/diff.err"; then
	pass diff-html "$(wc -c < "$dir/diff.html") bytes"
	page_checks diff --page "$dir/diff.html" --kind diff \
		--expect main,demo_sys_outer,demo_sys_inner,demo_late_work \
		--search demo_sys --zoom demo_sys_outer --red demo_sys_outer --blue main \
		--orange demo_late_work --table-down demo_spin_step --table-up demo_late_work \
		--screenshot "$dir/diff.png"
else
	fail diff-html "deferprof diff -f html failed" "$dir/diff.err"
fi
# The report of the same two runs: the spinning went, the late thread came.
"$dp" diff "$dir/base.json" "$dir/new.json" > "$dir/diff.txt" 2>&1
if grep -qE '^ +[0-9.]+% +0\.00% +-[0-9.]+ .* demo_spin_step \[deferprof-demo\] \(inlined\)$' "$dir/diff.txt" &&
   grep -qE '^ +0\.00% +[0-9.]+% +\+[0-9.]+ .* demo_late_work \[deferprof-demo\]$' "$dir/diff.txt"; then
	pass diff-report "$(grep -E 'demo_spin_step|demo_late_work' "$dir/diff.txt" | tr -s ' ' | paste -sd';')"
else
	fail diff-report "demo_spin_step down and demo_late_work up expected" "$dir/diff.txt"
fi
# Folded inputs give the same stacks and counts as json ones (frames match by name alone there).
"$dp" diff "$dir/base.json" "$dir/new.json" -f folded > "$dir/diff-json.folded" 2>&1 &&
"$dp" diff "$dir/base.folded" "$dir/new.folded" -f folded > "$dir/diff-folded.folded" 2>&1
if [ $? = 0 ] && [ -s "$dir/diff-json.folded" ] && cmp -s "$dir/diff-json.folded" "$dir/diff-folded.folded"; then
	pass diff-folded "$(wc -l < "$dir/diff-json.folded") stacks, the same from json and from folded inputs"
else
	fail diff-folded "json and folded inputs differ" "$dir/diff-folded.folded"
fi
bad_diff kinds "is a json file but NEW ($dir/new.folded) is a folded file: compare two of the same kind" \
	"$dir/base.json" "$dir/new.folded"
finish
