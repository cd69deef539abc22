#!/usr/bin/env bash
# From an object created to the run its rule's target started, p50 and p99 over N events, two
# ways: (1) through `lakectl serve` (objects put with boto3 over S3; the server's dispatcher
# delivers), (2) with no server (`lakectl s3 cp` per object; the CLI process delivers after its
# command). The latency is measured inside the lake: the event's time (recorded in the put's
# transaction) to the run's start (recorded in the delivery's transaction), from meta.db.
#   benches/events.sh [N] [PROFILE]        (default 200 events, release; LAKECTL_BIN=path skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
profile=${2:-release}
# LAKECTL_BIN runs a binary already built instead.
if [ -z "${LAKECTL_BIN:-}" ]; then
    if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
fi
bin=${LAKECTL_BIN:-${CARGO_TARGET_DIR:-target}/$([ "$profile" = release ] && echo release || echo debug)/lakectl}
python3 -c 'import boto3' 2>/dev/null || { echo "needs boto3 (pip install boto3)" >&2; exit 1; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lakectl-events.XXXXXX")
cleanup() {
    [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

setup() {
    export LAKECTL_LAKE=$work/$1 LAKECTL_PASSPHRASE=bench
    "$bin" init > /dev/null
    "$bin" kms create-key --alias alias/bench > /dev/null
    "$bin" s3 mb s3://bench --sse-kms-key-id alias/bench > /dev/null
    # The target: a job whose run starts and ends at once (its source is empty).
    "$bin" glue create-job --name on-upload --source s3://bench/empty/ --target s3://bench/out/ > /dev/null
    "$bin" events put-rule --name uploads \
        --event-pattern '{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"object":{"key":[{"prefix":"raw/"}]}}}' > /dev/null
    account=$("$bin" sts get-caller-identity | python3 -c 'import json,sys; print(json.load(sys.stdin)["Account"])')
    "$bin" events put-targets --rule uploads --targets "Id=job,Arn=arn:aws:glue:local:$account:job/on-upload,MaximumRetryAttempts=0" > /dev/null
}

report() {
    python3 - "$work/$1/meta.db" "$2" "$n" <<'PY'
import sqlite3, sys, datetime, statistics
db, label, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = sqlite3.connect(db)
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
rows = c.execute("SELECT e.time, r.started FROM events e JOIN job_runs r ON r.event_id = e.id").fetchall()
lat = sorted((t(b) - t(a)).total_seconds() * 1000 for a, b in rows)
failed = c.execute("SELECT count(*) FROM event_deliveries WHERE state != 'DELIVERED'").fetchone()[0]
assert len(lat) == n, f"{label}: {len(lat)} runs for {n} events ({failed} not delivered)"
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{label}: {len(lat)} events, object created -> run started: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]:.1f} ms")
PY
}

# 1. Through the lake server.
setup served
keys=$("$bin" iam create-access-key --user-name admin)
export AWS_ACCESS_KEY_ID=$(echo "$keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKey"]["AccessKeyId"])')
export AWS_SECRET_ACCESS_KEY=$(echo "$keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKey"]["SecretAccessKey"])')
export AWS_DEFAULT_REGION=local AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
"$bin" serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
endpoint=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Listening"])' "$work/serve.out")
python3 - "$endpoint" "$n" <<'PY'
import sys, time, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
for i in range(int(sys.argv[2])):
    s3.put_object(Bucket="bench", Key=f"raw/{i:05}.csv", Body=b"id,name\n1,x\n")
    # One event at a time, as uploads arrive: the latency of each, not of a queue.
    time.sleep(0.05)
PY
for _ in $(seq 200); do
    done_runs=$(sqlite3 "$work/served/meta.db" "SELECT count(*) FROM job_runs WHERE event_id IS NOT NULL")
    [ "$done_runs" -ge "$n" ] && break
    sleep 0.1
done
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
report served "lakectl serve"

# 2. Without a server: each `s3 cp` process delivers its own event after its command.
setup cli
echo "id,name" > "$work/one.csv"
for i in $(seq "$n"); do "$bin" s3 cp "$work/one.csv" "s3://bench/raw/$i.csv" > /dev/null; done
report cli "CLI, no server"
