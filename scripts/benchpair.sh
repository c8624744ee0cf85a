#!/usr/bin/env bash
# Interleaved benchmark rounds: every benchmark's appws side and its bare
# gorilla baseline run one after the other, round by round (not -count N,
# which runs all of one side's repetitions before the other's), at each
# -cpu given; then the medians. On a shared, noisy machine this is what
# makes the two sides comparable.
#
#   scripts/benchpair.sh ROUNDS CPUS PATTERN...
#
# CPUS is a comma-separated list (1,2). Each PATTERN is a -bench pattern
# with SIDE where the last level goes; SIDE is replaced by appws,
# appws-Request and gorilla in turn (a side a benchmark lacks is skipped):
#
#   scripts/benchpair.sh 5 1,2 'Receive$/^SIDE$' 'RoundTrip$/^SIDE$' 'Send$/RawMessage/^SIDE$'
#
# BENCH_BINS="tag=path ..." compares test binaries built from other commits
# too (go test -c -o path); each benchmark line is then prefixed by its tag.
# Their order alternates from round to round; the bare gorilla baseline
# runs with the first binary only.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1
cpus=$2
shift 2
if [ -z "${BENCH_BINS:-}" ]; then
	bin=$(mktemp -d)/appws.test
	go test -c -o "$bin" .
	BENCH_BINS="cur=$bin"
fi
# The binaries run in turn, and in the reverse turn every other round: the
# one that runs first in a pair was measured slower (a new/old pair read
# 1.13 in one order and 0.97 in the other), so no binary may always go
# first.
reversed=$(printf '%s\n' $BENCH_BINS | tac | tr '\n' ' ')
out=$(mktemp)
for cpu in ${cpus//,/ }; do
	for r in $(seq "$rounds"); do
		bins=$BENCH_BINS
		[ $((r % 2)) -eq 0 ] && bins=$reversed
		for pattern in "$@"; do
			for side in appws appws-Request gorilla; do
				for tb in $bins; do
					tag=${tb%%=*}
					path=${tb#*=}
					[ "$side" = gorilla ] && [ "$tb" != "${BENCH_BINS%% *}" ] && continue # one baseline
					"$path" -test.run '^$' -test.bench "^Benchmark${pattern//SIDE/$side}" \
						-test.benchtime 1s -test.count 1 -test.cpu "$cpu" -test.benchmem 2>/dev/null |
						grep '^Benchmark' | sed "s/^/$tag:/" >>"$out" || true
				done
			done
		done
	done
done
# The median of each benchmark (with its -cpu suffix) and metric.
sort -k1,1 "$out" | awk '
function median(s,    a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j+1] = a[j]; a[j+1] = t }
	return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{
	for (i = 3; i < NF; i += 2) { key = $1 " " $(i+1); if (!(key in vals)) order[++k] = key; vals[key] = vals[key] " " $i; cnt[key]++ }
}
END {
	for (i = 1; i <= k; i++) { split(order[i], p, " "); printf "%-52s %14.1f %-10s (n=%d)\n", p[1], median(vals[order[i]]), p[2], cnt[order[i]] }
}'
