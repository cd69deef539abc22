#!/usr/bin/env bash
# The ETL job beside DuckDB on the same data: N JSON lines of trades (~5% duplicates, ~1%
# malformed) to deduplicated Parquet. lakectl decrypts its input and encrypts its output; DuckDB
# reads and writes plain files. Median of RUNS runs, two times for each side, each saying what it
# includes:
#   engine  - lakectl: the run's own StartedOn to CompletedOn (read, dedup, write, fsync, commit);
#             DuckDB: the COPY statement alone, timed inside Python.
#   process - the whole command: lakectl also starts, derives the lake's key from the passphrase
#             and opens the lake; DuckDB's also starts Python and imports duckdb. Neither includes
#             the read-back of the output (DuckDB's count of the rows it wrote comes after its
#             timing, from the last run only).
# and the peak memory of each process.
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
import time
con = duckdb.connect()
con.execute("SET threads = 2")
start = time.perf_counter()
con.execute("""COPY (SELECT DISTINCT * FROM read_json('$work/trades.json', format = 'newline_delimited', ignore_errors = true))
               TO '$work/duck.parquet' (FORMAT parquet)""")
print(time.perf_counter() - start)
PY
cat > "$work/engine.py" <<'PY'
import json, sys
from datetime import datetime
run = json.load(open(sys.argv[1]))["JobRun"]
def at(v):
    return v if isinstance(v, (int, float)) else datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
print(at(run["CompletedOn"]) - at(run["StartedOn"]))
PY

for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/t" "$bin" glue start-job-run --job-name bench --wait > "$work/run.json"
    echo "lakectl $(python3 "$work/engine.py" "$work/run.json") $(cat "$work/t")"
    /usr/bin/time -f "%e %M" -o "$work/t" "$venv/bin/python" "$work/duck.py" > "$work/duck.out"
    echo "duckdb $(cat "$work/duck.out") $(cat "$work/t")"
done > "$work/results"

written=$(python3 -c "import json; m=json.load(open('$work/run.json'))['JobRun']['Metrics']; print(m['RecordsWritten'], m['Duplicates'], m['Quarantined'])")
echo "ETL of $n JSON lines to deduplicated Parquet, median of $runs runs ($(nproc) cores)"
duck_rows=$("$venv/bin/python" -c "import duckdb; print(duckdb.sql(\"SELECT count(*) FROM '$work/duck.parquet'\").fetchall()[0][0])")
echo "lakectl wrote/duplicates/quarantined: $written; duckdb wrote: $duck_rows"
python3 - "$work/results" "$n" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
n = int(sys.argv[2])
median = {}
print(f"{'what':8} {'engine_s':>9} {'rows/s':>11} {'process_s':>10} {'peak_MiB':>9}")
for what in ("lakectl", "duckdb"):
    runs = [tuple(map(float, r[1:])) for r in rows if r[0] == what]
    engine, process, peak = (statistics.median(x) for x in zip(*runs))
    median[what] = (engine, process)
    print(f"{what:8} {engine:9.2f} {n / engine:11.0f} {process:10.2f} {peak / 1024:9.1f}")
for i, name in enumerate(("engine", "process")):
    print(f"{name} time, lakectl / duckdb: {median['lakectl'][i] / median['duckdb'][i]:.2f}x")
PY
