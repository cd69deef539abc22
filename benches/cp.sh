#!/usr/bin/env bash
# `lakectl s3 cp` of a large file into and out of the lake, beside plain `cp` and `dd conv=fsync`
# of the same file in the same run: wall time and peak memory (max RSS) of each, median of RUNS
# runs. An upload is on disk (fsync) before it is visible, so dd conv=fsync is its like-for-like peer.
#   benches/cp.sh [SIZE_MIB] [RUNS]        (default 1024 MiB, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
runs=${2:-3}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/lakectl
work=$(mktemp -d "${BENCH_DIR:-/tmp}/lakectl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export LAKECTL_LAKE=$work/lake LAKECTL_PASSPHRASE=bench

head -c $((size_mib << 20)) /dev/urandom > "$work/in.bin"
"$bin" init > /dev/null
"$bin" kms create-key --alias alias/bench > /dev/null
"$bin" s3 mb s3://bench --sse-kms-key-id alias/bench --require-sse-kms > /dev/null

# measure NAME COMMAND...: prints "NAME seconds max_rss_kib" for one run.
measure() {
    local name=$1; shift
    sync
    /usr/bin/time -f "$name %e %M" -o "$work/t" "$@" > /dev/null
    cat "$work/t"
}

for _ in $(seq "$runs"); do
    # Each side starts from an absent destination: replacing 1 GiB is a delete plus a write.
    rm -f "$work/copy.bin" "$work/out.bin"
    "$bin" s3 rm s3://bench/in.bin > /dev/null
    measure cp cp "$work/in.bin" "$work/copy.bin"
    # A copy that, like an upload, is on disk before it returns (cp may copy in the kernel and
    # return before the disk has the data).
    measure dd-fsync dd if="$work/in.bin" of="$work/copy2.bin" bs=1M conv=fsync status=none
    measure upload "$bin" s3 cp "$work/in.bin" s3://bench/in.bin --sse aws:kms --sse-kms-key-id alias/bench
    measure download "$bin" s3 cp s3://bench/in.bin "$work/out.bin"
    cmp -s "$work/in.bin" "$work/out.bin" || { echo "download differs from the upload" >&2; exit 1; }
    rm -f "$work/copy2.bin"
done > "$work/results"

echo "s3 cp of ${size_mib} MiB, median of $runs runs ($(nproc) cores)"
printf '%-10s %10s %12s %10s\n' what seconds MiB/s peak_MiB
for what in cp dd-fsync upload download; do
    grep "^$what " "$work/results" | sort -k2 -n | awk -v n="$runs" -v mib="$size_mib" '
        NR == int((n + 1) / 2) { printf "%-10s %10.2f %12.0f %10.1f\n", $1, $2, ($2 > 0 ? mib / $2 : 0), $3 / 1024 }'
done
