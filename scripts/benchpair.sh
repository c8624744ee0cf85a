#!/usr/bin/env bash
# Interleaved benchmark pairs: appws and its gorilla baseline, round by
# round (not -count N, which runs one side's repetitions before the other's),
# at each -cpu given. Prints the medians of each benchmark.
#
#   scripts/benchpair.sh ROUNDS 'Receive|RoundTrip' [CPUS...]
#
# Example: scripts/benchpair.sh 7 'Receive|RoundTrip|TLSReceive' 1 2
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
pattern=${2:-Receive}
shift 2 || true
cpus=("${@:-1 2}")
[ ${#cpus[@]} -eq 0 ] && cpus=(1 2)
bin=$(mktemp -d)/appws.test
go test -c -o "$bin" .
out=$(mktemp)
for cpu in ${cpus[@]}; do
	for r in $(seq "$rounds"); do
		for side in appws appws-Request gorilla; do
			"$bin" -test.run '^$' -test.bench "^Benchmark(${pattern})\$/^${side}\$" \
				-test.benchtime 1s -test.count 1 -test.cpu "$cpu" -test.benchmem |
				grep '^Benchmark' >>"$out" || true
		done
	done
done
# Medians per benchmark name (with its -cpu suffix) and metric.
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
	for (i = 1; i <= k; i++) { split(order[i], p, " "); printf "%-44s %14.1f %-10s (n=%d)\n", p[1], median(vals[order[i]]), p[2], cnt[order[i]] }
}'
