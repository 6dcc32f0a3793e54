#!/usr/bin/env bash
# bench/wire.sh N — the over-the-wire figures of bench/README.md ("Hot path")
# at N generated patients (default 100000), with load generators from the
# ecosystem: vegeta for HTTP $match (open loop at several rates, then a
# closed loop) and ghz for gRPC Match (closed loop). Both are installed with
# `go install` at pinned versions.
#
#   bash bench/wire.sh 1000000
#
# It generates N patients (`generate --seed 11`), loads them (load rate and
# peak RSS), serves them on random loopback ports, and prints one table:
# rate asked, rate served (2xx answers per second), p50 / p99 / p99.9 of
# the answered requests, errors (neither 2xx nor 503; how many of them the
# client's 5 s timeout), shed (503 /
# RESOURCE_EXHAUSTED) with the refusals' p99 and slowest as the client saw
# them and their p99 in the server (from its request log: the time from
# the handler's start to the answer written, so the difference is spent
# before the server read the request or after it wrote the answer), and
# the server's resident memory before and after. Latency is measured from when vegeta begins each
# request (its open loop does not wait for the server, but a request it
# begins late because the load generator itself is starved of CPU is not
# charged that lateness). "conns" is the most HTTP connections the server's
# port held established during the run (sampled every 0.5 s with ss; those
# over --max-conns are answered 503 and closed, beyond twice it closed at
# once: see bench/README "Overload"). "GC" is the server's garbage
# collections during the run (GODEBUG=gctrace=1): cycles, and the longest
# concurrent mark phase in wall-clock ms, so that a tail can be told
# from a GC cycle or not.
#
# Queries: 2,000 of the generated records, spread over the file, without
# their identifiers, count 5 (the issue's protocol). Environment:
#   RATES="500 1000 2500 5000"  open-loop rates (requests/s)
#   DURATION=15s                each run's length
#   WORKERS=8                   closed-loop concurrency (vegeta and ghz)
#   KEEP=DIR                    reuse DIR's generated file and data folder
#   SERVE_FLAGS=...             extra flags for serve (e.g. --max-inflight 8)
#
# Run from the repository root. Everything listens on 127.0.0.1 only and
# everything it starts it stops. The load generators share the machine's
# cores with the server, as on the issue's reference machine.
set -euo pipefail
N=${1:-100000}
RATES=${RATES:-"500 1000 2500 5000"}
DURATION=${DURATION:-15s}
WORKERS=${WORKERS:-8}
VEGETA_VERSION=v12.13.0
GHZ_VERSION=v0.93.0

work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

gobin=$(go env GOPATH)/bin
[ -x "$gobin/vegeta" ] || go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
[ -x "$gobin/ghz" ] || go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"
vegeta=$gobin/vegeta ghz=$gobin/ghz
go build -o "$work/patientmatch" ./cmd/patientmatch
bin=$work/patientmatch

echo "== N=$N, $(nproc) cores, $(go version | cut -d' ' -f3), load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -s "$work/p.ndjson" ]; then
  $bin generate --n "$N" --seed 11 --out "$work/p.ndjson" 2>&1 | tail -1
fi
if [ ! -d "$work/data" ]; then
  /usr/bin/time -f "%e %M" -o "$work/load.time" $bin load --progress=false --data "$work/data" "$work/p.ndjson" 2>&1 | tail -1
  read -r secs kb <"$work/load.time"
  echo "load: $(python3 -c "print(round($N / $secs))") patients/s, ${secs} s, peak RSS $(( kb / 1024 )) MiB"
fi

# Queries: $match bodies for vegeta (JSON targets) and MatchRequests for ghz.
python3 - "$work" "$N" <<'PY'
import base64, json, sys
work, n = sys.argv[1], int(sys.argv[2])
step = max(1, n // 2000)
pats = []
with open(work + "/p.ndjson") as f:
    for i, line in enumerate(f):
        if i % step == 0 and len(pats) < 2000:
            p = json.loads(line)
            p.pop("identifier", None)
            p.pop("id", None)
            pats.append(p)
with open(work + "/targets.json", "w") as t:
    for p in pats:
        body = {"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": p}, {"name": "count", "valueInteger": 5}]}
        t.write(json.dumps({"method": "POST", "url": "http://HOSTPORT/fhir/Patient/$match",
            "header": {"Content-Type": ["application/fhir+json"]},
            "body": base64.b64encode(json.dumps(body).encode()).decode()}) + "\n")
with open(work + "/grpc.json", "w") as g:
    json.dump([{"patientJson": json.dumps(p), "count": 5} for p in pats], g)
PY

port=$(( 20000 + RANDOM % 20000 ))
gport=$(( port + 1 ))
# shellcheck disable=SC2086
GODEBUG=${GODEBUG:+$GODEBUG,}gctrace=1 $bin serve --data "$work/data" --http "127.0.0.1:$port" --grpc "127.0.0.1:$gport" ${SERVE_FLAGS:-} 2>"$work/serve.log" &
srv=$!
for _ in $(seq 1 1200); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$srv" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.5
done
# The identity service catches up in the background once the server is
# ready: it matches every patient its log does not account for yet (after
# a bulk load, all of them: minutes of both cores at 1M, and its state on
# the heap). Measured before it finishes, the figures would include that
# work, so wait for it (its progress is kept: a second run waits little).
t0=$SECONDS
until grep -q '"identities ready"' "$work/serve.log"; do
  kill -0 "$srv" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 1
done
echo "identity catch-up: $(( SECONDS - t0 )) s after ready"
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$srv/status")
sed -i "s/HOSTPORT/127.0.0.1:$port/" "$work/targets.json"

# conns_during CMD...: runs CMD while sampling the server port's
# established connections; prints the largest count seen to fd 3.
conns_during() {
  local out=$work/conns.log
  ( while :; do ss -Htn state established "( sport = :$port )" | wc -l; sleep 0.5; done ) >"$out" &
  local sampler=$!
  "$@"
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  sort -n "$out" | tail -1 >&3
}

# gc_lines: how many GC cycles the server has traced so far.
gc_lines() { grep -c '^gc [0-9]* @' "$work/serve.log" || true; }
# gc_since N: the cycles traced after the first N, and their longest mark
# phase (the second of gctrace's "A+B+C ms clock").
gc_since() {
  grep '^gc [0-9]* @' "$work/serve.log" | awk -v n="$1" 'NR > n {split($5, t, "+"); c++; if (t[2] > m) m = t[2]}
    END {if (c) printf "%d (mark %.0f ms)", c, m; else printf "0"}'
}

# log_lines: how many lines the server has logged so far.
log_lines() { wc -l <"$work/serve.log"; }
# server_refusals N: the durations (ns) of the 503 answers logged after the
# first N lines, one a line, to $work/refusals.txt.
server_refusals() {
  tail -n +$(( $1 + 1 )) "$work/serve.log" | grep '"status":503' |
    sed -n 's/.*"duration":\([0-9]*\).*/\1/p' >"$work/refusals.txt" || true
}

summarize() { # label asked results.bin conns gc
  $vegeta encode --to json <"$3" | python3 -c '
import json, sys
label, asked, conns, gc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ok, shed, err, timeouts = [], [], 0, 0
t0, t1 = None, None
for line in sys.stdin:
    r = json.loads(line)
    lat = r["latency"] / 1e6
    if r["code"] // 100 == 2:
        ok.append(lat)
    elif r["code"] == 503:
        shed.append(lat)
    else:
        err += 1
        timeouts += "Timeout" in r.get("error", "")
    ts = r["timestamp"]
    t0 = ts if t0 is None or ts < t0 else t0
    t1 = ts if t1 is None or ts > t1 else t1
from datetime import datetime
def parse(s):
    s = s[:26] + s[-6:] if len(s) > 32 and "." in s else s
    return datetime.fromisoformat(s.replace("Z", "+00:00"))
secs = max((parse(t1) - parse(t0)).total_seconds(), 1e-9) if t0 else 1
ok.sort()
q = lambda p: "%.1f" % ok[min(len(ok) - 1, int(len(ok) * p))] if ok else "-"
shed.sort()
srv = sorted(int(x) / 1e6 for x in open(sys.argv[5]) if x.strip())
in_server = ", server p99 %.1f ms" % srv[min(len(srv) - 1, int(len(srv) * .99))] if srv else ""
slowest_shed = "p99 %.1f ms, slowest %.1f ms%s" % (shed[min(len(shed) - 1, int(len(shed) * .99))], shed[-1], in_server) if shed else "-"
errors = "%d (%d timeouts)" % (err, timeouts) if err else "0"
print("| HTTP %s | %s | %.0f | %s | %s | %s | %s | %d (%s) | %s | %s |" % (
    label, asked, len(ok) / secs, q(.5), q(.99), q(.999), errors, len(shed), slowest_shed, conns, gc))
' "$1" "$2" "$4" "$5" "$work/refusals.txt"
}

echo
echo "| run | rate asked (req/s) | rate served (2xx/s) | p50 ms | p99 ms | p99.9 ms | errors | shed | conns | GC |"
echo "|---|---|---|---|---|---|---|---|---|---|"
# Warm up: the first requests map the index and the store.
$vegeta attack -targets "$work/targets.json" -format json -rate 200 -duration 5s -timeout 5s >/dev/null
for rate in $RATES; do
  gc0=$(gc_lines) log0=$(log_lines)
  conns=$(conns_during $vegeta attack -targets "$work/targets.json" -format json -rate "$rate" -duration "$DURATION" -timeout 5s -output "$work/r.bin" 3>&1)
  server_refusals "$log0"
  summarize "open loop" "$rate" "$work/r.bin" "$conns" "$(gc_since "$gc0")"
done
gc0=$(gc_lines) log0=$(log_lines)
conns=$(conns_during $vegeta attack -targets "$work/targets.json" -format json -rate 0 -max-workers "$WORKERS" -workers "$WORKERS" -duration "$DURATION" -timeout 5s -output "$work/r.bin" 3>&1)
server_refusals "$log0"
summarize "closed loop, $WORKERS workers" "-" "$work/r.bin" "$conns" "$(gc_since "$gc0")"

$ghz --insecure --call patientmatch.v1.PatientMatch.Match -D "$work/grpc.json" -c "$WORKERS" -z "$DURATION" \
  --timeout 5s --format json "127.0.0.1:$gport" >"$work/ghz.json" 2>/dev/null || true
python3 - "$work/ghz.json" "$WORKERS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = r.get("statusCodeDistribution", {}).get("OK", 0)
shed = r.get("statusCodeDistribution", {}).get("ResourceExhausted", 0)
err = sum(v for k, v in r.get("statusCodeDistribution", {}).items() if k not in ("OK", "ResourceExhausted"))
secs = r["total"] / 1e9
lat = {d["percentage"]: d["latency"] / 1e6 for d in r.get("latencyDistribution") or []}
f = lambda p: "%.1f" % lat[p] if p in lat else "-"
print("| gRPC closed loop, %s workers (ghz) | - | %.0f | %s | %s | - | %d | %d | - | - |" % (sys.argv[2], ok / secs, f(50), f(99), err, shed))
PY
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$srv/status")
echo
echo "server resident: $(( rss0 / 1024 )) MiB after start ($(( rss0 * 1024 / N )) B/patient), $(( rss1 / 1024 )) MiB after the runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
