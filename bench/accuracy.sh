#!/usr/bin/env bash
# bench/accuracy.sh [SIZES...] — the accuracy table of bench/README.md: each
# labelled set of ../shared/datasets and generated sets of the given sizes
# (default 100000 1000000), deduplicated with the built-in model and with a
# model trained on the same file without its labels (patientmatch train).
# Prints one markdown row per set and model: P / R / F1 at probable and at
# possible, false pairs at certain, candidate pairs compared, wall seconds
# and peak RSS of `bench accuracy` (/usr/bin/time).
#
# Run from the repository root after `make build`; uses a temporary folder.
set -euo pipefail
bin=./bin/patientmatch
datasets=${DATASETS:-../shared/datasets}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

row() { # name data truth [model]
  local name=$1 data=$2 truth=$3 model=${4:-}
  local args=(bench accuracy --json --truth "$truth")
  [ -n "$model" ] && args+=(--model "$model")
  /usr/bin/time -f "%e %M" -o "$tmp/time" $bin "${args[@]}" "$data" >"$tmp/out.json" 2>"$tmp/err"
  read -r secs kb <"$tmp/time"
  python3 - "$tmp/out.json" "$name" "${model:+trained}" "$secs" "$kb" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
g = {x["grade"]: x["at_or_above"] for x in a["grades"]}
f = lambda m: "%.4f / %.4f / **%.4f**" % (m["precision"], m["recall"], m["f1"])
print("| %s | %s | %d | %s | %s | %d | %d | %s | %.0f MiB |" % (
    sys.argv[2], sys.argv[3] or "built-in", a["records"], f(g["probable"]), f(g["possible"]),
    g["certain"]["false_positives"], a["blocking"]["candidate_pairs"], sys.argv[4], int(sys.argv[5]) / 1024))
PY
}

echo "| set | model | records | probable+ P / R / F1 | possible+ P / R / F1 | false certain | pairs compared | seconds | peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|"
for f in "$datasets"/*.truth.csv; do
  name=$(basename "$f" .truth.csv)
  data="$datasets/$name.csv"
  [ -f "$data" ] || continue
  row "$name" "$data" "$f"
  $bin train --progress=false --out "$tmp/$name.model.json" "$data" >/dev/null 2>&1
  row "$name" "$data" "$f" "$tmp/$name.model.json"
done
for n in "${sizes[@]}"; do
  $bin generate --n "$n" --seed 1 --out "$tmp/g$n.csv" --truth "$tmp/g$n.truth.csv" 2>/dev/null
  row "generated $n" "$tmp/g$n.csv" "$tmp/g$n.truth.csv"
  $bin train --progress=false --out "$tmp/g$n.model.json" "$tmp/g$n.csv" >/dev/null 2>&1
  row "generated $n" "$tmp/g$n.csv" "$tmp/g$n.truth.csv" "$tmp/g$n.model.json"
done
