#!/usr/bin/env bash
# bench/scale.sh N — scale figures for bench/README.md at N generated patients:
# bulk-load throughput, bytes per patient on disk, resident memory of the
# server per patient, $match latency over HTTP (open loop, bench load), and
# in-process Match latency (go test -bench BenchmarkMatch).
#
# Run from the repository root after `make build`. Uses a temporary folder
# and 127.0.0.1 only; everything it starts it stops.
set -euo pipefail
N=${1:-100000}
RATE=${RATE:-200}
bin=./bin/patientmatch
tmp=$(mktemp -d)
trap 'kill "${srv:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT

echo "== N=$N on $(nproc) cores, $(go version | cut -d' ' -f3)"
$bin generate --n "$N" --seed 1 --out "$tmp/p.ndjson" --truth "$tmp/t.csv" 2>&1 | tail -1

echo "== load"
/usr/bin/time -f "load: %e s wall, %M KB peak RSS" $bin load --progress=false --data "$tmp/data" "$tmp/p.ndjson" 2>&1 | tail -2
store=$(du -sb "$tmp/data/store" | cut -f1)
index=$(du -sb "$tmp/data/index" | cut -f1)
echo "disk: store $store B, index $index B, $(( (store + index) / N )) B/patient"

echo "== serve"
port=$(( 20000 + RANDOM % 20000 ))
$bin serve --data "$tmp/data" --http "127.0.0.1:$port" --grpc "" 2>"$tmp/serve.log" &
srv=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
rss=$(awk '/VmRSS/ {print $2}' "/proc/$srv/status")
echo "server resident after start: $rss KB, $(( rss * 1024 / N )) B/patient"

# 1,000 queries: stored patients' demographics, spread over the file.
awk -v step=$(( N / 1000 > 0 ? N / 1000 : 1 )) 'NR % step == 0' "$tmp/p.ndjson" | head -1000 > "$tmp/q.ndjson"
$bin bench load --url "http://127.0.0.1:$port" --queries "$tmp/q.ndjson" --rate "$RATE" --duration 20s
rss=$(awk '/VmRSS/ {print $2}' "/proc/$srv/status")
echo "server resident after the load test: $rss KB, $(( rss * 1024 / N )) B/patient"
kill "$srv"; wait "$srv" 2>/dev/null || true; srv=

echo "== in-process Match (go test -bench BenchmarkMatch, its own store of N)"
PATIENTMATCH_BENCH_N=$N go test -run '^$' -bench 'BenchmarkMatch$' -benchtime 5000x -count 3 ./matcher/ | grep Benchmark
