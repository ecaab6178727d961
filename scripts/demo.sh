#!/usr/bin/env bash
# `make demo`: a sample portfolio scored with a definition built from the pre-defined groups.
set -euo pipefail
cd "$(dirname "$0")/.."

HS=.venv/bin/healthscore
OUT=.demo
COMPANIES=${DEMO_COMPANIES:-3000}
AS_OF=$(date -u +%F)
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

step "1/5 Generate a sample portfolio ($COMPANIES companies, a year of events up to $AS_OF)" \
     "healthscore sample-data $OUT/portfolio --companies $COMPANIES --seed 7 --until $AS_OF"
rm -rf "$OUT/portfolio"
$HS sample-data "$OUT/portfolio" --companies "$COMPANIES" --seed 7 --until "$AS_OF"

step "2/5 Build a definition from the five pre-defined groups" \
     "healthscore new $OUT/customer-health.json --name 'Customer health score' --segment seg-all-companies"
$HS new "$OUT/customer-health.json" --name "Customer health score" --segment seg-all-companies --force

step "3/5 Validate it" "healthscore validate $OUT/customer-health.json"
$HS validate "$OUT/customer-health.json"

step "4/5 Score every company" \
     "healthscore score $OUT/portfolio --definition $OUT/customer-health.json --as-of $AS_OF --output $OUT/scores.jsonl"
$HS score "$OUT/portfolio" --definition "$OUT/customer-health.json" --as-of "$AS_OF" --output "$OUT/scores.jsonl"
echo "first lines of $OUT/scores.jsonl:"
head -n 3 "$OUT/scores.jsonl"

step "5/5 Status distribution and the ten most at-risk companies" \
     "healthscore overview $OUT/portfolio --definition $OUT/customer-health.json --as-of $AS_OF"
$HS overview "$OUT/portfolio" --definition "$OUT/customer-health.json" --as-of "$AS_OF" --top 10

LOWEST=$(\
         .venv/bin/python -c "import json,sys; rows=[json.loads(l) for l in open('$OUT/scores.jsonl')]; print(min(rows, key=lambda r:(r['score'], r['id']))['id'])")
printf '\nNext: see where every point of one company comes from:\n'
printf '  .venv/bin/healthscore explain %s/portfolio --definition %s/customer-health.json --record %s --as-of %s\n' \
       "$OUT" "$OUT" "$LOWEST" "$AS_OF"
