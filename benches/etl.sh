#!/usr/bin/env bash
# The ETL job beside DuckDB on the same data: N JSON lines of trades (~5% duplicates, ~1%
# malformed) to deduplicated Parquet. lakectl decrypts its input and encrypts its output; DuckDB
# reads and writes plain files. Rows per second and peak memory, median of RUNS runs.
#   benches/etl.sh [N] [RUNS]        (default 1000000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/lakectl
venv=${BENCH_VENV:-$HOME/.cache/lakectl-bench/venv}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet duckdb; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lakectl-etl.XXXXXX")
trap 'rm -rf "$work"' EXIT
export LAKECTL_LAKE=$work/lake LAKECTL_PASSPHRASE=bench

python3 benches/gen_trades.py "$n" "$work/trades.json"
"$bin" init > /dev/null
"$bin" kms create-key --alias alias/bench > /dev/null
"$bin" s3 mb s3://bench --sse-kms-key-id alias/bench --require-sse-kms > /dev/null
"$bin" s3 cp "$work/trades.json" s3://bench/raw/trades.json --sse aws:kms > /dev/null
"$bin" glue create-security-configuration --name sc --sse-kms-key-id alias/bench > /dev/null
"$bin" glue create-job --name bench --source s3://bench/raw/ --target s3://bench/processed/ --dedup --security-configuration sc > /dev/null

cat > "$work/duck.py" <<PY
import duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("""COPY (SELECT DISTINCT * FROM read_json('$work/trades.json', format = 'newline_delimited', ignore_errors = true))
               TO '$work/duck.parquet' (FORMAT parquet)""")
print(con.execute("SELECT count(*) FROM '$work/duck.parquet'").fetchone()[0])
PY

for _ in $(seq "$runs"); do
    /usr/bin/time -f "lakectl %e %M" -o "$work/t" "$bin" glue start-job-run --job-name bench --wait > "$work/run.json"
    cat "$work/t"
    /usr/bin/time -f "duckdb %e %M" -o "$work/t" "$venv/bin/python" "$work/duck.py" > "$work/duck.out"
    cat "$work/t"
done > "$work/results"

written=$(python3 -c "import json; m=json.load(open('$work/run.json'))['JobRun']['Metrics']; print(m['RecordsWritten'], m['Duplicates'], m['Quarantined'])")
echo "ETL of $n JSON lines to deduplicated Parquet, median of $runs runs ($(nproc) cores)"
echo "lakectl wrote/duplicates/quarantined: $written; duckdb wrote: $(cat "$work/duck.out")"
printf '%-8s %10s %12s %10s\n' what seconds rows/s peak_MiB
for what in lakectl duckdb; do
    grep "^$what " "$work/results" | sort -k2 -n | awk -v r="$runs" -v n="$n" '
        NR == int((r + 1) / 2) { printf "%-8s %10.2f %12.0f %10.1f\n", $1, $2, n / $2, $3 / 1024 }'
done
