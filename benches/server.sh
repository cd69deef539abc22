#!/usr/bin/env bash
# GET and PUT of a large object through `lakectl serve`, with the AWS CLI and with boto3, beside
# nginx (Debian's package) serving and accepting (WebDAV PUT) the same plaintext file on loopback,
# in the same run. lakectl encrypts every byte it stores (SSE-KMS, fsynced before the put is
# acknowledged) and decrypts every byte it serves; nginx stores and serves plain bytes.
# Wall time (median of RUNS) and the server's peak memory during each transfer (VmHWM, reset
# before each one through /proc/PID/clear_refs).
#   benches/server.sh [SIZE_MIB] [RUNS]        (default 1024 MiB, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${2:-3}
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "needs nginx (apt-get install nginx-light)" >&2; exit 1; }
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/lakectl
venv=${BENCH_VENV:-$HOME/.cache/lakectl-bench/server-venv}
[ -x "$venv/bin/aws" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet awscli==1.46.3 boto3==1.44.8; }
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lakectl-server.XXXXXX")
cleanup() {
    [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export LAKECTL_LAKE=$work/lake LAKECTL_PASSPHRASE=bench

head -c $((size_mib << 20)) /dev/urandom > "$work/in.bin"
"$bin" init > /dev/null
"$bin" kms create-key --alias alias/bench > /dev/null
"$bin" s3 mb s3://bench --sse-kms-key-id alias/bench --require-sse-kms > /dev/null
keys=$("$bin" iam create-access-key --user-name admin)
export AWS_ACCESS_KEY_ID=$(echo "$keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKey"]["AccessKeyId"])')
export AWS_SECRET_ACCESS_KEY=$(echo "$keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["AccessKey"]["SecretAccessKey"])')
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

"$bin" serve --listen 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
export AWS_ENDPOINT_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Listening"])' "$work/serve.out")

mkdir -p "$work/www" "$work/nginx-tmp"
cat > "$work/nginx.conf" <<CONF
daemon on;
# Workers run as whoever runs the bench (as root, nginx would switch them to nobody, who may not
# write the bench's directory).
user $(id -un);
pid $work/nginx.pid;
error_log $work/nginx.err;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $work/nginx-tmp;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:18777;
        root $work/www;
        dav_methods PUT DELETE;
        create_full_put_path on;
    }
}
CONF
"$nginx" -c "$work/nginx.conf" -p "$work"
nginx_url=http://127.0.0.1:18777

cat > "$work/boto.py" <<'PY'
import sys, boto3
from boto3.s3.transfer import TransferConfig
s3 = boto3.client("s3")
cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20)
if sys.argv[1] == "put":
    s3.upload_file(sys.argv[2], "bench", "boto.bin", ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/bench"}, Config=cfg)
else:
    s3.download_file("bench", "boto.bin", sys.argv[2], Config=cfg)
PY

# measure NAME COMMAND...: "NAME seconds server_peak_kib growth_kib" for one run (the growth is
# the peak less what the server held before the transfer).
measure() {
    local name=$1; shift
    sync
    echo 5 > "/proc/$server_pid/clear_refs" 2>/dev/null || true
    local before
    before=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    local peak
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
    echo "$name $(awk "BEGIN {print $end - $start}") $peak $((peak - before))"
}

for _ in $(seq "$runs"); do
    rm -f "$work/out.bin" "$work/www/in.bin"
    measure nginx-put curl -sf -T "$work/in.bin" "$nginx_url/in.bin"
    measure nginx-get curl -sf -o "$work/out.bin" "$nginx_url/in.bin"
    rm -f "$work/out.bin"
    measure aws-put "$venv/bin/aws" s3 cp "$work/in.bin" s3://bench/cli.bin --sse aws:kms --sse-kms-key-id alias/bench --only-show-errors
    measure aws-get "$venv/bin/aws" s3 cp s3://bench/cli.bin "$work/out.bin" --only-show-errors
    cmp "$work/in.bin" "$work/out.bin"
    rm -f "$work/out.bin"
    measure boto3-put "$venv/bin/python" "$work/boto.py" put "$work/in.bin"
    measure boto3-get "$venv/bin/python" "$work/boto.py" get "$work/out.bin"
    cmp "$work/in.bin" "$work/out.bin"
done > "$work/times"

python3 - "$work/times" "$size_mib" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda name: statistics.median(float(r[1]) for r in rows if r[0] == name)
peak = lambda name: max(int(r[2]) for r in rows if r[0] == name)
growth = lambda name: max(int(r[3]) for r in rows if r[0] == name)
mib = int(sys.argv[2])
print(f"{mib} MiB, median of {len(rows) // 6} runs")
for op in ("put", "get"):
    base = med(f"nginx-{op}")
    print(f"  nginx {op:3}: {base:6.2f} s  {mib / base:7.1f} MiB/s")
    for client in ("aws", "boto3"):
        t = med(f"{client}-{op}")
        print(f"  {client:5} {op:3}: {t:6.2f} s  {mib / t:7.1f} MiB/s  {t / base:5.2f}x nginx  server peak {peak(f'{client}-{op}') / 1024:6.1f} MiB (+{growth(f'{client}-{op}') / 1024:5.1f} MiB for the transfer)")
PY
