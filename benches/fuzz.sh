#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a bounded time (default 120 s each) and prints
# libFuzzer's final line per target. Not part of CI: it builds the whole dependency tree with
# coverage instrumentation, which takes long. Findings land in fuzz/artifacts/TARGET/.
#
#   benches/fuzz.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain is told to accept the
# nightly flags cargo-fuzz passes (RUSTC_BOOTSTRAP=1). FUZZ_TARGET_DIR sets the build directory.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-120}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(row_filter policy_json envelope source_reader)
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"
# --dev: unoptimised but instrumented; it builds in a fraction of the release build's time.
cargo fuzz build -s none --dev 2>&1 | tail -3
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t (${seconds}s)"
    cargo fuzz run -s none --dev "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
        | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|==[0-9]+== ERROR|thread '.*' panicked|Done)" || true
done
