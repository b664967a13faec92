#!/usr/bin/env bash
# The leaf repair's cost in the sampling program: BPF run time per sample
# (kernel.bpf_stats_enabled, through deferprof -vv's "ns per run") and log
# bytes per sample, A/B interleaved on bench/workload.c's spin and sysdeep
# workloads: a deferprof without the repair (BASE, e.g. main's build), this
# one with it, and this one with --no-leaf-repair. Prints one line per run
# and the median of each. Root; a few minutes.
#   bench/leafcost.sh OUT BASE_DEFERPROF [REPS] [HZ]
set -euo pipefail
out=${1:?OUT}
base=${2:?a deferprof without the leaf repair}
reps=${3:-5}
hz=${4:-4999}
dp=$out/deferprof
work=$out/dp-bench-work
tmp=$(mktemp -d /tmp/dp-leafcost.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
[ "$(id -u)" = 0 ] || { echo "leafcost: needs root (BPF statistics, perf events)" >&2; exit 1; }

one() {	# variant workload -> "ns bytes_per_sample"
	local bin=$dp extra=()
	case $1 in
	base) bin=$base ;;
	off) extra=(--no-leaf-repair) ;;
	esac
	"$bin" -vv -F "$hz" -o "$tmp/r.txt" "${extra[@]}" -- "$work" -m "$2" -s 2 \
		> /dev/null 2> "$tmp/r.err" || { echo "leafcost: $1 $2 failed" >&2; tail -n 3 "$tmp/r.err" >&2; exit 1; }
	awk '/^  bpf:/ { for (i = 1; i <= NF; i++) if ($i == "ns") ns = $(i - 1) }
	     /^  logs:/ { n = $2; b = $4 }
	     END { printf "%s %.1f\n", ns, n ? b / n : 0 }' "$tmp/r.txt"
}

declare -A res
for w in spin sysdeep; do
	for ((r = 1; r <= reps; r++)); do
		for v in base on off; do
			x=$(one $v $w)
			echo "run $w $v $r: ${x% *} ns/sample, ${x#* } log bytes/sample"
			res[$w.$v]+="${x% *} "
			res[$w.$v.b]+="${x#* } "
		done
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for w in spin sysdeep; do
	for v in base on off; do
		echo "median $w $v: $(median <<< "${res[$w.$v]}") ns/sample, $(median <<< "${res[$w.$v.b]}") log bytes/sample"
	done
done
