#!/usr/bin/env bash
# Athena-style queries on N rows of Parquet trades, beside DuckDB on the same files: a scan with
# a filter, a group-by aggregate, a top-N and a join. lakectl runs each as the admin, as the admin
# with the restricted principal's row filter written into the query by hand, and as a principal
# granted three columns and the BUY rows (a data cells filter); the last two return the same
# rows, so their ratio is the cost of enforcement. lakectl decrypts every byte it reads and
# encrypts its results; DuckDB reads plain files. Median of RUNS runs, seconds.
#   benches/query.sh [N] [RUNS]        (default 10000000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
runs=${2:-3}
cargo build --release --quiet --bin lakectl
bin=${CARGO_TARGET_DIR:-target}/release/lakectl
venv=${BENCH_VENV:-$HOME/.cache/lakectl-bench/venv}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet duckdb; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lakectl-query.XXXXXX")
trap 'rm -rf "$work"' EXIT
export LAKECTL_LAKE=$work/lake LAKECTL_PASSPHRASE=bench

# The data: N trades in 8 Parquet files, and a small table of symbols and sectors.
mkdir -p "$work/data/trades" "$work/data/symbols"
"$venv/bin/python" - "$n" "$work/data" <<'PY'
import sys, duckdb
n, out = int(sys.argv[1]), sys.argv[2]
con = duckdb.connect()
symbols = ["AAPL","MSFT","GOOG","AMZN","META","NFLX","NVDA","TSLA","JPM","BAC",
           "WMT","KO","PEP","XOM","CVX","PFE","MRK","DIS","INTC","CSCO"]
sectors = ["tech","tech","tech","retail","tech","media","tech","auto","bank","bank",
           "retail","food","food","energy","energy","pharma","pharma","media","tech","tech"]
con.execute("CREATE TABLE s AS SELECT * FROM (VALUES " +
            ",".join(f"('{a}','{b}')" for a, b in zip(symbols, sectors)) + ") t(symbol, sector)")
con.execute(f"COPY s TO '{out}/symbols/symbols.parquet' (FORMAT parquet)")
files = 8
for f in range(files):
    lo, hi = f * n // files, (f + 1) * n // files
    con.execute(f"""COPY (SELECT i AS trade_id,
                           (SELECT list_value({",".join(f"'{s}'" for s in symbols)}))[CAST(1 + hash(i) % 20 AS BIGINT)] AS symbol,
                           CASE WHEN hash(i * 7) % 2 = 0 THEN 'BUY' ELSE 'SELL' END AS side,
                           1 + hash(i * 13) % 1000 AS quantity,
                           round(1 + (hash(i * 17) % 100000) / 100.0, 2) AS price,
                           'trader-' || lpad(CAST(hash(i * 19) % 200 AS VARCHAR), 3, '0') AS trader,
                           '2026-11-' || lpad(CAST(1 + hash(i * 23) % 28 AS VARCHAR), 2, '0') AS ts
                    FROM range({lo}, {hi}) r(i))
                    TO '{out}/trades/part-{f}.parquet' (FORMAT parquet)""")
PY

q() { "$bin" "$@" > /dev/null; }
q init
q iam create-principal --name lf-role
q iam create-principal --name restricted
q kms create-key --alias alias/bench
q kms allow --key-id alias/bench --principal lf-role --operations Decrypt,DescribeKey
q kms allow --key-id alias/bench --principal restricted --operations Encrypt,Decrypt,GenerateDataKey
q s3 mb s3://bench --sse-kms-key-id alias/bench --require-sse-kms
q s3 cp "$work/data" s3://bench/ --recursive --sse aws:kms
q s3api put-bucket-policy --bucket bench --policy '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bench","arn:aws:s3:::bench/trades/*","arn:aws:s3:::bench/symbols/*"],"Condition":{"StringEquals":{"aws:username":"lf-role"}}},{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bench/results/${aws:username}/*"}]}'
q lakeformation register-resource --resource-arn s3://bench/ --role-arn lf-role
q glue create-database --name bench
q glue create-crawler --name bench --database bench --target s3://bench/
q glue start-crawler --name bench --wait
q athena create-work-group --name primary --output-location s3://bench/results/ --sse-kms-key-id alias/bench
q lakeformation create-data-cells-filter --name buys --table bench.trades --row-filter "side = 'BUY'" --columns symbol,quantity,price
q lakeformation grant-permissions --principal restricted --permissions SELECT --data-cells-filter buys --filter-table bench.trades
q lakeformation grant-permissions --principal restricted --permissions SELECT --table bench.symbols
# Identity policies: Athena and the catalog (Athena's managed policy), its own Lake Formation data access.
q iam attach-user-policy --user-name restricted --policy-arn arn:aws:iam::aws:policy/AmazonAthenaFullAccess
q iam put-user-policy --user-name restricted --policy-name lake-user --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lakeformation:GetDataAccess","Resource":"*"}]}'

# name | query | the same with the restricted principal's row filter written in
queries=(
"scan+filter|SELECT symbol, price, quantity FROM bench.trades WHERE price BETWEEN 500 AND 500.5|SELECT symbol, price, quantity FROM bench.trades WHERE price BETWEEN 500 AND 500.5 AND side = 'BUY'"
"group-by|SELECT symbol, count(*), avg(price), sum(quantity) FROM bench.trades GROUP BY symbol|SELECT symbol, count(*), avg(price), sum(quantity) FROM bench.trades WHERE side = 'BUY' GROUP BY symbol"
"top-N|SELECT symbol, price, quantity FROM bench.trades ORDER BY price DESC, quantity DESC LIMIT 10|SELECT symbol, price, quantity FROM bench.trades WHERE side = 'BUY' ORDER BY price DESC, quantity DESC LIMIT 10"
"join|SELECT s.sector, count(*), sum(t.quantity * t.price) FROM bench.trades t JOIN bench.symbols s ON t.symbol = s.symbol GROUP BY s.sector|SELECT s.sector, count(*), sum(t.quantity * t.price) FROM bench.trades t JOIN bench.symbols s ON t.symbol = s.symbol WHERE t.side = 'BUY' GROUP BY s.sector"
)

# lakectl: the engine's own time (planning, decrypting, executing, writing encrypted results)
# as get-query-execution reports it; the process around it adds ~0.1 s (the passphrase's KDF).
lake_time() { # principal sql
    "$bin" --as "$1" athena start-query-execution --query-string "$2" --wait |
        python3 -c "import json,sys; e=json.load(sys.stdin)['QueryExecution']; assert e['Status']['State']=='SUCCEEDED', e; print(e['Statistics']['EngineExecutionTimeInMillis']/1000)"
}
cat > "$work/duck.py" <<PY
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET threads = $(nproc)")
con.execute("CREATE VIEW trades AS SELECT * FROM '$work/data/trades/*.parquet'")
con.execute("CREATE VIEW symbols AS SELECT * FROM '$work/data/symbols/*.parquet'")
sql = sys.argv[1].replace("bench.", "")
t = time.perf_counter()
con.execute(sql).fetchall()
print(time.perf_counter() - t)
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "Queries on $n rows of Parquet (8 files), median of $runs runs, seconds ($(nproc) cores)"
printf '%-12s %8s %10s %11s %8s %10s %12s\n' query admin admin+rows restricted duckdb duck+rows enforcement
for entry in "${queries[@]}"; do
    IFS='|' read -r name plain narrowed <<< "$entry"
    a=$(for _ in $(seq "$runs"); do lake_time admin "$plain"; done | median)
    ar=$(for _ in $(seq "$runs"); do lake_time admin "$narrowed"; done | median)
    r=$(for _ in $(seq "$runs"); do lake_time restricted "$plain"; done | median)
    d=$(for _ in $(seq "$runs"); do "$venv/bin/python" "$work/duck.py" "$plain"; done | median)
    dr=$(for _ in $(seq "$runs"); do "$venv/bin/python" "$work/duck.py" "$narrowed"; done | median)
    printf '%-12s %8.3f %10.3f %11.3f %8.3f %10.3f %+11.1f%%\n' "$name" "$a" "$ar" "$r" "$d" "$dr" \
        "$(python3 -c "print(($r / $ar - 1) * 100)")"
done
