#!/usr/bin/env bash
# Programs nobody on the team wrote, profiled as a new user would, each run
# seen by deferprof and by `perf record -g` at once (-p PID, 999 Hz, 4 s):
# every sample must be accounted for (seen = in stacks + dropped, nothing
# malformed); the hot function (or library, for stripped ones) must take the same share
# in both, within 10 points, and be named; the frame-pointer note must name
# the objects built without frame pointers and only them.
#   xz        Debian's, no frame pointers, liblzma stripped (its functions
#             known by their unwind tables)
#   grep      Debian's, stripped, no frame pointers, six functions exported
#   lua5.4    Debian's interpreter, no frame pointers: stacks cut at [bad frame]
#   sqlite3   a recursive CTE in libsqlite3 (stripped)
#   python3   Debian's interpreter: _PyEval_EvalFrameDefault
#   go        a Go program built here: main.hot (Go keeps frame pointers)
#   xerces    Debian's SAX2Count (C++): XMLUTF8Transcoder::transcodeFrom,
#             named demangled from libxerces-c's dynamic symbols (stripped,
#             no frame pointers)
#   cxx       a C++ program built here with g++: a class template's method
#             in a namespace, named demangled (deferprof gives its
#             parameters, perf does not), and std::sort's template under it
#   java      a JIT-compiled method named through `jcmd PID Compiler.perfmap`
#   node      a function named through --perf-basic-prof's perf map
# A program that is not installed is a loud SKIP (make deps installs them).
set -uo pipefail
out=${1:-build}
dp=$(realpath "$out/deferprof")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/dp-real.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; rm -f "/tmp/perf-$p.map"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
suite=real prefix='real-'
# shellcheck source=tests/live/lib.sh
. "$here/../live/lib.sh"
cd "$tmp" || exit 1	# node leaves isolate-*-v8.log files where it runs

if [ "$(id -u)" != 0 ]; then
	skip all "not root: profiling needs root for BPF and perf events (run: sudo make realtest)"
	finish
fi
have_perf=1
if ! perf record -q -o "$tmp/probe.data" -g -- true > /dev/null 2>&1; then
	have_perf=0
	echo "NOTE: perf record -g does not run here: shares are checked without the comparison"
fi

# Profile pid with both tools at once; output in $tmp/$name.{json,txt,data}.
profile() {	# name pid [seconds]
	local name=$1 pid=$2 secs=${3:-4} pp=""
	if [ $have_perf = 1 ]; then
		perf record -q -F 999 -g -p "$pid" -o "$tmp/$name.data" -- sleep "$secs" > /dev/null 2>&1 & pp=$!
	fi
	timeout 120 "$dp" -p "$pid" -F 999 -d "$secs" -f json -o "$tmp/$name.json" \
		-f report -o "$tmp/$name.txt" 2> "$tmp/$name.err"
	rc=$?
	[ -n "$pp" ] && wait "$pp"
}

# Shares compared; pass or fail with the line compare.py prints.
judge() {	# name what pattern min-share [profile, when not the test's name]
	local name=$1 what=$2 pat=$3 min=$4 prof=${5:-$1} line data=-
	[ $have_perf = 1 ] && [ -s "$tmp/$prof.data" ] && data=$tmp/$prof.data
	if [ $rc != 0 ]; then
		fail "$name" "deferprof exited $rc" "$tmp/$prof.err"
		return 1
	fi
	# Every sample accounted for, whatever the program's stacks hold (a word in a
	# broken chain once made a whole log's samples vanish), and nothing malformed.
	local acc mal seen in drop
	acc=$(sed -n 's/.*samples: *\([0-9]*\) seen by BPF = \([0-9]*\) in stacks + \([0-9]*\) dropped.*/\1 \2 \3/p' "$tmp/$prof.txt")
	mal=$(sed -n 's/.* \([0-9]*\) malformed$/\1/p' "$tmp/$prof.txt")
	read -r seen in drop <<< "$acc"
	if [ -z "$seen" ] || [ "$seen" != $((in + drop)) ] || [ "${mal:-1}" != 0 ]; then
		fail "$name" "accounting: seen/in stacks/dropped ${acc:-none}, malformed ${mal:-none}" "$tmp/$prof.txt"
		return 1
	fi
	line=$("$here/compare.py" "$tmp/$prof.json" "$data" "$what" "$pat" --min-share "$min" 2>&1)
	if [ $? = 0 ]; then
		pass "$name" "$line"
	else
		fail "$name" "$line" "$tmp/$prof.txt"
		return 1
	fi
}

# Whether the report's frame-pointer note names module (or, with no, does not).
fp_note() {	# name module yes|no
	local says
	says=$(grep -A8 -i "without frame pointers" "$tmp/$1.txt" | grep -c "$2")
	if [ "$3" = yes ] && [ "$says" -gt 0 ]; then
		pass "$1-fp-note" "names $2: $(grep -m1 -i "without frame pointers" "$tmp/$1.txt" | sed 's/^ *//')"
	elif [ "$3" = no ] && [ "$says" = 0 ]; then
		pass "$1-fp-note" "no frame-pointer note for $2"
	else
		fail "$1-fp-note" "note about $2 expected: $3" "$tmp/$1.txt"
	fi
}

start() {	# command...: in the background, its pid in $wpid once it runs
	"$@" > /dev/null 2> "$tmp/start.err" &
	wpid=$!
	pids+=("$wpid")
}
stop() { kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null; rm -f "/tmp/perf-$wpid.map"; }

# --- xz (Debian's: no frame pointers; liblzma stripped)
if command -v xz > /dev/null; then
	python3 -c "
import random
r = random.Random(1)
w = [''.join(r.choice('abcdefghijklmnop') for _ in range(r.randint(2, 9))) for _ in range(5000)]
with open('$tmp/words', 'w') as f:
    for _ in range(6000000):
        f.write(r.choice(w) + (' ' if r.random() < 0.9 else '\n'))
"
	start xz -6 -T1 -c "$tmp/words"
	profile xz "$wpid"
	stop
	judge xz module 'liblzma' 60 && fp_note xz liblzma yes
else
	skip xz "xz is not installed (make deps: xz-utils)"
fi

# --- grep (Debian's: stripped, no frame pointers, yet its dynamic symbol table
# exports six functions): a heavy regex. The frame-pointer note must name it
# (the six exported ones alone once hid its 288 others).
if command -v grep > /dev/null && [ -s "$tmp/words" ]; then
	start grep -E -c '(a|b)+c(d|e)*f[a-p]{3}(gh|ij)+k' $(printf "$tmp/words %.0s" $(seq 1 30))
	profile grep "$wpid"
	stop
	judge grep module '^grep$' 40 && fp_note grep grep yes
else
	skip grep "grep or the words file (made by the xz case) is missing"
fi

# --- lua5.4 (Debian's: no frame pointers): every stack is cut at a [bad frame]
# in the interpreter; the note must still name it.
if command -v lua5.4 > /dev/null; then
	start lua5.4 -e 'local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end for i = 1, 1000 do fib(32) end'
	profile lua "$wpid"
	stop
	judge lua module 'lua5.4' 60 && fp_note lua lua5.4 yes
else
	skip lua "lua5.4 is not installed (make deps: lua5.4)"
fi

# --- sqlite3 (Debian's; libsqlite3 stripped): a recursive CTE
if command -v sqlite3 > /dev/null; then
	start sqlite3 :memory: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000000) SELECT sum(x * x % 7) FROM c;"
	profile sqlite3 "$wpid"
	stop
	judge sqlite3 module 'libsqlite3' 60
else
	skip sqlite3 "sqlite3 is not installed (make deps: sqlite3)"
fi

# --- python3 (Debian's interpreter, not a pyenv shim)
if [ -x /usr/bin/python3 ]; then
	start /usr/bin/python3 -c "
import time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
end = time.time() + 60
while time.time() < end:
    fib(25)
"
	profile python3 "$wpid"
	stop
	judge python3 function '^_PyEval_EvalFrameDefault$' 15
else
	skip python3 "/usr/bin/python3 is not installed (make deps: python3)"
fi

# --- Go: a program built here; Go keeps frame pointers
if command -v go > /dev/null; then
	mkdir -p "$tmp/gohot"
	cat > "$tmp/gohot/main.go" <<'GO'
package main

import "time"

var sink uint64

//go:noinline
func hot(n int) uint64 {
	var x uint64
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + uint64(i)
	}
	return x
}

//go:noinline
func caller() {
	sink += hot(1 << 20)
}

func main() {
	end := time.Now().Add(60 * time.Second)
	for time.Now().Before(end) {
		caller()
	}
}
GO
	if (cd "$tmp/gohot" && GOCACHE=$tmp/gocache GOPATH=$tmp/gopath GO111MODULE=off GOFLAGS= \
		go build -o gohot main.go) > "$tmp/gobuild.err" 2>&1; then
		start "$tmp/gohot/gohot"
		profile go "$wpid"
		stop
		judge go function '^main\.hot$' 60 && fp_note go gohot no
		if grep -q "main.caller;main.hot" <(python3 -c "
import json; d = json.load(open('$tmp/go.json')); f = d['frames']
for s in d['stacks']: print(';'.join(f[i]['name'] for i in s['frames']))"); then
			pass go-stack "main.main;main.caller;main.hot, whole"
		else
			fail go-stack "no main.caller;main.hot stack" "$tmp/go.txt"
		fi
	else
		fail go-build "go build failed" "$tmp/gobuild.err"
	fi
else
	skip go "go is not installed (make deps: golang-go)"
fi

# --- C++ from Debian: xerces-c's SAX2Count parsing UTF-8 text (Cyrillic, so
# each character goes through the transcoder's multi-byte path). Its library
# is stripped but exports its C++ symbols (mangled, in the dynamic symbol
# table), and is built without frame pointers: the note must name it.
if command -v SAX2Count > /dev/null; then
	python3 -c "
import random
r = random.Random(1)
a = 'абвгдежзийклмнопрстуфхцчшщэюя'
w = [''.join(r.choice(a) for _ in range(r.randint(2, 9))) for _ in range(5000)]
with open('$tmp/text.xml', 'w', encoding='utf-8') as f:
    f.write('<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root>\n')
    for _ in range(150000):
        f.write(' '.join(r.choice(w) for _ in range(10)) + '\n')
    f.write('</root>\n')
with open('$tmp/xml.list', 'w') as f:
    f.write('$tmp/text.xml\n' * 2000)	# about 50 ms each here
"
	start SAX2Count -l "$tmp/xml.list"
	profile xerces "$wpid"
	stop
	xcode='^xercesc_[0-9]+_[0-9]+::XMLUTF8Transcoder::transcodeFrom'
	judge xerces function "$xcode(\(.*\))?\$" 40 && fp_note xerces libxerces-c yes
	# deferprof names it with its parameters, as the demangler gives them.
	if line=$(python3 - "$tmp/xerces.json" "$xcode\(unsigned char const\*, " <<'PY' 2>&1
import json, re, sys
d = json.load(open(sys.argv[1]))
pat = re.compile(sys.argv[2])
names = {f["name"] for f in d["frames"] if (f.get("module") or "").startswith("libxerces-c")}
hit = sorted(n for n in names if pat.search(n))
mangled = sorted(n for n in names if n.startswith("_Z"))
if not hit or mangled:
    print(f"demangled with parameters: {hit}; mangled: {mangled[:3]}")
    sys.exit(1)
print(f"{hit[0]}; {len(names)} names of libxerces-c, none mangled")
PY
	); then
		pass xerces-name "$line"
	else
		fail xerces-name "$line" "$tmp/xerces.txt"
	fi
else
	skip xerces "SAX2Count is not installed (make deps: libxerces-c-samples)"
fi

# --- C++: a program built here with g++ (-O2 -fno-omit-frame-pointer, symbol
# table kept): a class template's method in a namespace, std::sort and
# std::map. deferprof names it demangled with its parameters, perf without
# them: one pattern takes both. GCC gives churn, a leaf that needs no stack,
# no frame even so: its caller main comes from the leaf repair (perf -g
# skips it), and the object keeps frame pointers (no note).
if command -v g++ > /dev/null; then
	mkdir -p "$tmp/cxx"
	cat > "$tmp/cxx/cxxhot.cpp" <<'CXX'
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

namespace dpreal {

template <typename T>
class Mixer {
public:
	explicit Mixer(std::size_t n) : buf_(n)
	{
		for (std::size_t i = 0; i < 4096; i++)
			table_[T(i * 2654435761u)] = i;
	}
	__attribute__((noinline)) std::uint64_t churn(std::uint64_t seed);
	__attribute__((noinline)) std::uint64_t order(std::uint64_t seed);

private:
	std::vector<T> buf_;
	std::map<T, std::size_t> table_;
};

// The hot loop, its own arithmetic: about three quarters of the samples.
template <typename T>
std::uint64_t Mixer<T>::churn(std::uint64_t seed)
{
	std::uint64_t x = seed;

	for (int r = 0; r < 16; r++)
		for (auto &v : buf_) {
			x = x * 6364136223846793005ULL + v;
			v = T(x >> 29);
		}
	return x;
}

// The standard library's templates: a sort (about a sixth), then map lookups.
template <typename T>
std::uint64_t Mixer<T>::order(std::uint64_t seed)
{
	std::uint64_t s = seed;

	std::sort(buf_.begin(), buf_.end());
	for (std::size_t i = 0; i < buf_.size(); i += 8) {
		auto it = table_.lower_bound(buf_[i]);
		if (it != table_.end())
			s += it->second;
	}
	return s;
}

} // namespace dpreal

int main()
{
	dpreal::Mixer<unsigned> m(1 << 16);
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
	std::uint64_t sink = 0;

	while (std::chrono::steady_clock::now() < end)
		sink = m.order(m.churn(sink));
	return int(sink & 1);
}
CXX
	if g++ -O2 -fno-omit-frame-pointer -o "$tmp/cxx/cxxhot" "$tmp/cxx/cxxhot.cpp" \
		> "$tmp/cxxbuild.err" 2>&1; then
		start "$tmp/cxx/cxxhot"
		profile cxx "$wpid"
		stop
		churn='dpreal::Mixer<unsigned int>::churn(unsigned long)'
		judge cxx function '^dpreal::Mixer<unsigned int>::churn(\(unsigned long\))?$' 50 &&
			fp_note cxx cxxhot no
		judge cxx-sort function '^(void )?std::__introsort_loop<' 5 cxx
		if grep -qF "u $churn [cxxhot]" "$tmp/cxx.txt"; then
			pass cxx-report "the report names $churn"
		else
			fail cxx-report "the report does not name $churn" "$tmp/cxx.txt"
		fi
		# Whole stacks, by the exact demangled names; nothing of cxxhot left mangled.
		if line=$(python3 - "$tmp/cxx.json" <<'PY' 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
f = d["frames"]
churn = "dpreal::Mixer<unsigned int>::churn(unsigned long)"
order = "dpreal::Mixer<unsigned int>::order(unsigned long)"
hot = sort = 0
mangled = set()
for s in d["stacks"]:
    names = [f[i]["name"] for i in s["frames"]]
    mangled.update(f[i]["name"] for i in s["frames"]
                   if f[i]["module"] == "cxxhot" and f[i]["name"].startswith("_Z"))
    if names[-2:] == ["main", churn]:
        hot += s["samples"]
    if order in names and names.index(order) + 1 < len(names) and \
            names[names.index(order) + 1].startswith("void std::__introsort_loop<"):
        sort += s["samples"]
if mangled or not hot or not sort:
    print(f"main;churn {hot} samples, order;std::__introsort_loop {sort}, mangled: {sorted(mangled)}")
    sys.exit(1)
print(f"main;{churn}: {hot} samples; {order};void std::__introsort_loop<...>: {sort}")
PY
		); then
			pass cxx-stack "$line"
		else
			fail cxx-stack "$line" "$tmp/cxx.txt"
		fi
	else
		fail cxx-build "g++ failed" "$tmp/cxxbuild.err"
	fi
else
	skip cxx "g++ is not installed (make deps: g++)"
fi

# --- Java: a JIT-compiled method, named through the JVM's own perf map
if command -v java > /dev/null && command -v jcmd > /dev/null; then
	mkdir -p "$tmp/java"
	cat > "$tmp/java/Hot.java" <<'JAVA'
public class Hot {
	static long sink;

	static long spin(long n) {
		long x = 0;
		for (long i = 0; i < n; i++)
			x = x * 6364136223846793005L + i;
		return x;
	}

	public static void main(String[] args) {
		long end = System.currentTimeMillis() + 60000;
		while (System.currentTimeMillis() < end)
			sink += spin(1 << 20);
	}
}
JAVA
	if javac -d "$tmp/java" "$tmp/java/Hot.java" 2> "$tmp/javac.err"; then
		start java -XX:+PreserveFramePointer -cp "$tmp/java" Hot
		# Compiled by now, then its map written: deferprof reads it at the end.
		wait_until 100 jcmd "$wpid" VM.version > /dev/null 2>&1
		sleep 1	# the JIT's first compilations, not a condition to wait for
		jcmd "$wpid" Compiler.perfmap > /dev/null 2>&1
		profile java "$wpid"
		jcmd "$wpid" Compiler.perfmap > /dev/null 2>&1	# for perf report, after
		judge java function 'spin' 60
		stop
	else
		fail java-build "javac failed" "$tmp/javac.err"
	fi
else
	skip java "java or jcmd is not installed (make deps: default-jdk-headless)"
fi

# --- node: a function named through --perf-basic-prof's perf map
if command -v node > /dev/null; then
	start node --perf-basic-prof -e '
function hot(n) { let s = 0; for (let i = 0; i < n; i++) s = (s * 31 + i) % 1000003; return s; }
const end = Date.now() + 60000;
let sink = 0;
while (Date.now() < end) sink += hot(1e6);'
	wait_until 100 test -s "/tmp/perf-$wpid.map"
	profile node "$wpid"
	judge node function 'hot' 50
	stop
else
	skip node "node is not installed (make deps: nodejs)"
fi

finish
