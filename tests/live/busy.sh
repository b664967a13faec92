#!/usr/bin/env bash
# Run a command with every CPU kept busy by a loop at normal priority, so a
# test that depends on timing (a fixed sleep used as synchronisation, a
# workload timed to outlive deferprof's start-up) fails here first, not once
# in twenty runs on someone's loaded machine. make test runs the live tests
# this way once more after their quiet run.
#   tests/live/busy.sh COMMAND [ARGS...]
set -uo pipefail
loops=()
cleanup() { [ ${#loops[@]} = 0 ] || kill "${loops[@]}" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM
n=$(nproc)
for _ in $(seq 1 "$n"); do
	bash -c 'while :; do :; done' & loops+=("$!")
done
echo "busy: $n CPU-bound loops beside: $*"
"$@"
rc=$?
echo "busy: exit $rc with every CPU kept busy"
exit $rc
