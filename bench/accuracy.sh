#!/usr/bin/env bash
# bench/accuracy.sh [SIZES...] — the accuracy table of bench/README.md: each
# labelled set of ../shared/datasets, generated sets of the given sizes
# (default 100000 1000000) in the default household profile, and one set of
# each other generator profile (PROFILES, default "registry:20000
# civil:20000 names:10000 insured:20000 world:20000"), deduplicated with the built-in
# model and with a model trained on the same file without its labels
# (patientmatch train). Prints one markdown row per set and model: P / R / F1
# at probable and at possible, false pairs at certain, blocking pairs
# completeness, candidate pairs compared, wall seconds and peak RSS of
# `bench accuracy` (/usr/bin/time); then the pairs completeness of each
# blocking rule on its own, keys per record, the largest block (before
# MaxBlock and the per-record cap) and the sparse records, which get the
# fallback keys (built-in rows).
#
# Run from the repository root after `make build`; uses a temporary folder.
# BIN names the binary under test (default ./bin/patientmatch), GEN the one
# that generates the data (default BIN), so an older binary can be measured
# on the newer generator's profiles.
# A size of 0 runs no household-profile set.
set -euo pipefail
bin=${BIN:-./bin/patientmatch}
gen=${GEN:-$bin}
datasets=${DATASETS:-../shared/datasets}
profiles=${PROFILES-registry:20000 civil:20000 names:10000 insured:20000 world:20000}
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
  python3 - "$tmp/out.json" "$name" "${model:+trained}" "$secs" "$kb" "$tmp/rules.md" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
g = {x["grade"]: x["at_or_above"] for x in a["grades"]}
f = lambda m: "%.4f / %.4f / **%.4f**" % (m["precision"], m["recall"], m["f1"])
b = a["blocking"]
print("| %s | %s | %d | %s | %s | %d | %.4f | %.4f | %d | %s | %.0f MiB |" % (
    sys.argv[2], sys.argv[3] or "built-in", a["records"], f(g["probable"]), f(g["possible"]),
    g["certain"]["false_positives"], g["certain"]["recall"], b["pairs_completeness"], b["candidate_pairs"],
    sys.argv[4], int(sys.argv[5]) / 1024))
if not sys.argv[3] and a.get("rules"):
    k = a.get("keys") or {}
    with open(sys.argv[6], "a") as out:
        out.write("| %s | %s | %.2f | %d | %d |\n" % (sys.argv[2], " | ".join(
            "%.3f (%d)" % (r["completeness"], r["only"]) for r in a["rules"]),
            k.get("keys_per_record", 0), k.get("largest_block", 0), k.get("sparse_records", 0)))
    with open(sys.argv[6] + ".head", "w") as h:
        h.write("| set | %s | keys per record | largest block | sparse records |\n|---|%s\n" % (
            " | ".join(r["rule"] for r in a["rules"]), "---|" * (len(a["rules"]) + 3)))
PY
}

echo "| set | model | records | probable+ P / R / F1 | possible+ P / R / F1 | false certain | certain recall | blocking PC | pairs compared | seconds | peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for f in "$datasets"/*.truth.csv; do
  name=$(basename "$f" .truth.csv)
  data="$datasets/$name.csv"
  [ -f "$data" ] || continue
  row "$name" "$data" "$f"
  $bin train --progress=false --out "$tmp/$name.model.json" "$data" >/dev/null 2>&1
  row "$name" "$data" "$f" "$tmp/$name.model.json"
done
gen_row() { # label profile size
  local label=$1 profile=$2 n=$3 g="$tmp/g-$2-$3"
  $gen generate --n "$n" --seed 1 --profile "$profile" --out "$g.csv" --truth "$g.truth.csv" 2>/dev/null
  row "$label" "$g.csv" "$g.truth.csv"
  $bin train --progress=false --out "$g.model.json" "$g.csv" >/dev/null 2>&1
  row "$label" "$g.csv" "$g.truth.csv" "$g.model.json"
}
for n in "${sizes[@]}"; do
  [ "$n" = 0 ] && continue # 0: no household-profile set
  gen_row "generated $n" household "$n"
done
for pn in $profiles; do
  gen_row "${pn%%:*} ${pn##*:}" "${pn%%:*}" "${pn##*:}"
done
if [ -f "$tmp/rules.md" ]; then
  echo
  echo "Pairs completeness of each blocking rule on its own (built-in rows; in brackets the true pairs no other rule proposes), keys per record, largest block and sparse records:"
  echo
  cat "$tmp/rules.md.head" "$tmp/rules.md"
fi
