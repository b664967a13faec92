#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz/fuzz_NAME.c), built by make into DIR.
#
#   tests/fuzz/run.sh DIR SECONDS NAME...   fuzz each NAME for SECONDS (make fuzz)
#   tests/fuzz/run.sh DIR replay NAME...    run every file of tests/fuzz/corpus/NAME
#                                           once (make fuzz-replay, in make test)
#
# Fuzzing starts from the repository's corpus and keeps what it finds new
# under DIR/corpus/NAME; crashes go to DIR/crashes/ and fail the run. A crash
# found becomes a file in tests/fuzz/corpus/NAME/ with its fix.
set -uo pipefail
dir=$1 how=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fails=0
for name in "$@"; do
	bin=$dir/fuzz_$name corpus=$top/tests/fuzz/corpus/$name
	files=("$corpus"/*)
	if [ ! -e "${files[0]}" ]; then
		echo "FAIL fuzz-$name: no corpus in tests/fuzz/corpus/$name"
		fails=$((fails + 1))
		continue
	fi
	log=$dir/$name.log
	if [ "$how" = replay ]; then
		if "$bin" -runs=1 -timeout=30 "${files[@]}" > "$log" 2>&1; then
			echo "PASS fuzz-$name: ${#files[@]} corpus files replayed under ASan and UBSan"
		else
			echo "FAIL fuzz-$name: a corpus file crashes or fails a check (log: $log)"
			grep -E "ERROR|runtime error|fuzz check failed|Running:" "$log" | tail -n 6 | sed 's/^/  | /'
			fails=$((fails + 1))
		fi
		continue
	fi
	mkdir -p "$dir/corpus/$name" "$dir/crashes"
	if "$bin" -max_total_time="$how" -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/crashes/$name-" \
		"$dir/corpus/$name" "$corpus" > "$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -Eo "cov: [0-9]+ ft: [0-9]+" "$log" | tail -n1)
		echo "PASS fuzz-$name: ${how}s, $execs runs, $cov, corpus $(ls "$dir/corpus/$name" | wc -l) new files"
	else
		echo "FAIL fuzz-$name: a crash or a failed check, input under $dir/crashes/ (log: $log)"
		grep -E "ERROR|runtime error|fuzz check failed" "$log" | head -n 4 | sed 's/^/  | /'
		fails=$((fails + 1))
	fi
done
echo "fuzz: $(( $# - fails )) passed, $fails failed"
[ "$fails" = 0 ]
