#!/usr/bin/env bash
# A DMS full load of N rows (the trades shape) from PostgreSQL into encrypted Parquet, beside
# `psql -c "\copy (SELECT ...) TO ..."` of the same rows in the same run: wall time of each and
# the ratio. PostgreSQL is started for the run as the tests start it (initdb into a temporary
# directory, 127.0.0.1, a free port, as the postgres user when run as root).
#   benches/dms.sh [N]        (default 1000000; LAKECTL_BIN=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
if [ -z "${LAKECTL_BIN:-}" ]; then
    cargo build --release --quiet
    bin=${CARGO_TARGET_DIR:-target}/release/lakectl
else
    bin=$LAKECTL_BIN
fi
pgbin=/usr/lib/postgresql/15/bin
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lakectl-dms-bench.XXXXXX")
chmod 755 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --no-sync > /dev/null
cat >> "$work/pg/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work/pg'
wal_level = logical
EOF
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start > /dev/null
trap 'as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop > /dev/null; rm -rf "$work"' EXIT
sql() { psql -X -q -v ON_ERROR_STOP=1 -h "$work/pg" -p "$port" -U postgres -d "${2:-bench}" -c "$1"; }
sql "CREATE ROLE bench LOGIN REPLICATION PASSWORD 'bench-pw'" postgres
sql "CREATE DATABASE bench OWNER bench" postgres
sql "CREATE TABLE trades(id int8 PRIMARY KEY, symbol text, side bool, qty int4, price numeric(12,4),
       traded timestamptz, account uuid);
     INSERT INTO trades SELECT g, (ARRAY['AAPL','MSFT','GOOG','AMZN'])[1 + g % 4], g % 2 = 0, g % 1000,
       (g % 100000) / 7.0, TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second', md5(g::text)::uuid
     FROM generate_series(1, $n) g;
     ALTER TABLE trades OWNER TO bench;"
sql "VACUUM ANALYZE trades"

export LAKECTL_LAKE=$work/lake LAKECTL_PASSPHRASE=bench
"$bin" init > /dev/null
"$bin" kms create-key --alias alias/bench > /dev/null
"$bin" s3 mb s3://bench --sse-kms-key-id alias/bench --require-sse-kms > /dev/null
"$bin" secretsmanager create-secret --name bench/db \
    --secret-string "{\"username\":\"bench\",\"password\":\"bench-pw\",\"host\":\"127.0.0.1\",\"port\":$port}" > /dev/null
"$bin" dms create-endpoint --endpoint-identifier src --endpoint-type source --engine-name postgres \
    --postgre-sql-settings SecretsManagerSecretId=bench/db,DatabaseName=bench > /dev/null
"$bin" dms create-endpoint --endpoint-identifier lake --endpoint-type target --engine-name s3 \
    --s3-settings BucketName=bench,BucketFolder=raw,DataFormat=parquet,EncryptionMode=SSE_KMS,ServerSideEncryptionKmsKeyId=alias/bench > /dev/null
"$bin" dms create-replication-task --replication-task-identifier load --source-endpoint-arn src \
    --target-endpoint-arn lake --migration-type full-load \
    --table-mappings '{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"public","table-name":"trades"},"rule-action":"include"}]}' > /dev/null

sync
start=$(date +%s.%N)
PGPASSWORD=bench-pw psql -X -q -h 127.0.0.1 -p "$port" -U bench -d bench \
    -c "\\copy (SELECT id, symbol, side, qty, price, traded, account FROM trades) TO '$work/trades.csv' WITH (FORMAT csv)"
sync -f "$work/trades.csv"
psql_s=$(echo "$(date +%s.%N) - $start" | bc)

start=$(date +%s.%N)
"$bin" dms start-replication-task --replication-task-arn load --start-replication-task-type start-replication --wait > "$work/task.json"
dms_s=$(echo "$(date +%s.%N) - $start" | bc)
rows=$("$bin" dms describe-table-statistics --replication-task-arn load | python3 -c 'import json,sys; print(json.load(sys.stdin)["TableStatistics"][0]["FullLoadRows"])')
[ "$rows" = "$n" ] || { echo "loaded $rows rows, not $n" >&2; exit 1; }

echo "full load of $n rows ($(nproc) cores)"
printf '%-28s %8.2f s\n' "psql \\copy to CSV (plain)" "$psql_s" "dms full load (sealed parquet)" "$dms_s"
printf 'ratio dms/psql: %.2f\n' "$(echo "$dms_s / $psql_s" | bc -l)"
