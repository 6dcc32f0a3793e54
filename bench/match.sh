#!/usr/bin/env bash
# bench/match.sh [SIZE] — the "$match on held-out people" table of
# bench/README.md (issue 13's first targets): each labelled set of
# ../shared/datasets and one generated set of SIZE records (default 20000)
# of every generator profile (PROFILES, default "household registry civil
# names insured world"), run through `patientmatch bench match` (ABSENT share of
# absent queries, default 0.2; SEED, default 1) with the built-in model and with
# a model trained on the same file without its labels (patientmatch
# train). Prints one markdown row per set and model, then why the right
# patient was not graded certain (the best pair's hazard cap, or its grade).
#
# Run from the repository root after `make build`; uses a temporary folder.
# BIN names the binary under test (default ./bin/patientmatch), GEN the one
# that generates the data (default BIN), so an older binary can be measured
# on the newer generator's profiles.
set -euo pipefail
bin=${BIN:-./bin/patientmatch}
gen=${GEN:-$bin}
datasets=${DATASETS:-../shared/datasets}
profiles=${PROFILES-household registry civil names insured world}
absent=${ABSENT:-0.2}
seed=${SEED:-1}
size=${1:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

row() { # name data truth [model]
  local name=$1 data=$2 truth=$3 model=${4:-}
  local args=(bench match --json --progress=false --absent "$absent" --seed "$seed" --truth "$truth")
  [ -n "$model" ] && args+=(--model "$model")
  /usr/bin/time -f "%e" -o "$tmp/time" $bin "${args[@]}" "$data" >"$tmp/out.json" 2>"$tmp/err"
  python3 - "$tmp/out.json" "$name" "${model:+trained}" "$(cat "$tmp/time")" "$tmp/why.md" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
with open(sys.argv[5], "a") as why:
    why.write("| %s | %s | %d | %s |\n" % (sys.argv[2], sys.argv[3] or "built-in",
        e["present"]["queries"] - e["present"]["certain_right"]["n"],
        "; ".join("%s %d" % (r["reason"], r["n"]) for r in e["present"].get("not_certain_by") or [])))
p, a = e["present"], e["absent"]
r = lambda c: "%.4f" % c["rate"]
by = lambda rows, k: "/".join(str(x[k]) for x in rows)  # household/namesake/other
reg = a["registry"]
print("| %s | %s | %d | %d | %s | **%s** | %s | %d | %d (%s) | %d (%d/%d/%d) | **%d** | **%s** (%s) | %s | %s |" % (
    sys.argv[2], sys.argv[3] or "built-in", e["records"], p["queries"], r(p["top1"]), r(p["certain_right"]),
    r(p["probable_right"]), p["certain_wrong"]["n"], p["probable_wrong"]["n"], by(p["wrong_by"], "probable"),
    a["queries"], reg["household"], reg["namesake"], reg["stranger"], a["certain"]["n"], r(a["probable"]),
    by(a["answer_by"], "probable"), r(a["possible"]), sys.argv[4]))
PY
}

echo "| set | model | records | present queries | top-1 | right certain | right probable+ | wrong certain | wrong probable+ (hh/ns/other) | absent queries (registry holds hh/ns/neither) | absent certain | absent probable+ (hh/ns/other) | absent possible+ | seconds |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for f in "$datasets"/*.truth.csv; do
  name=$(basename "$f" .truth.csv)
  data="$datasets/$name.csv"
  [ -f "$data" ] || continue
  row "$name" "$data" "$f"
  $bin train --progress=false --out "$tmp/$name.model.json" "$data" >/dev/null 2>&1
  row "$name" "$data" "$f" "$tmp/$name.model.json"
done
for profile in $profiles; do
  g="$tmp/g-$profile"
  $gen generate --n "$size" --seed 1 --profile "$profile" --out "$g.csv" --truth "$g.truth.csv" 2>/dev/null
  row "$profile $size" "$g.csv" "$g.truth.csv"
  $bin train --progress=false --out "$g.model.json" "$g.csv" >/dev/null 2>&1
  row "$profile $size" "$g.csv" "$g.truth.csv" "$g.model.json"
done
echo
echo "Why the right patient was not certain (the best pair of the query with one of its person's stored records):"
echo
echo "| set | model | queries not certain | why |"
echo "|---|---|---|---|"
cat "$tmp/why.md"
