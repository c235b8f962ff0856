#!/usr/bin/env bash
# fuzz.sh [--ci | SECONDS] - builds the libFuzzer harnesses (tests/fuzz,
# clang, ASan+UBSan) and runs each one:
#   --ci      (default) a fixed seed and a fixed number of runs from the seed
#             corpus into a fresh work corpus: the same inputs on every run,
#             so CI is reproducible; about 10 s per target
#   SECONDS   that long per target, growing build/fuzz/work/<target> (kept
#             between runs); crashes are saved in build/fuzz/crash-*
# Exits non-zero on the first crash, leak or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---ci}
B=build/fuzz
cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRDM_FUZZ=ON \
    -DRDM_TESTS=OFF -DRDM_EMULATOR=OFF -DRDM_WERROR=ON >/dev/null
cmake --build "$B" -j"$(nproc 2>/dev/null || echo 2)" -- --no-print-directory >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in config cron profile flc csv status manifest landfile; do
    seeds=tests/fuzz/corpus/$t
    if [ "$mode" = --ci ]; then
        work=$(mktemp -d)
        args=(-seed=1 -runs=40000 -max_len=4096)
    else
        work=$B/work/$t
        mkdir -p "$work"
        args=(-max_total_time="$mode" -max_len=8192)
    fi
    t0=$(date +%s)
    if ! "$B/tests/fuzz/fuzz_$t" "${args[@]}" -artifact_prefix="$B/crash-$t-" -print_final_stats=1 \
        "$work" "$seeds" >"$B/fuzz_$t.log" 2>&1; then
        tail -40 "$B/fuzz_$t.log"
        echo "fuzz_$t: FAILED (see $B/fuzz_$t.log and $B/crash-$t-*)"
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz_$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$B/fuzz_$t.log" | tail -1)
    echo "fuzz_$t: $execs executions in $(($(date +%s) - t0)) s, $cov, no crash"
    if [ "$mode" = --ci ]; then rm -rf "$work"; fi
done
