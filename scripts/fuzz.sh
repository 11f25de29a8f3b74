#!/bin/sh
# Build the libFuzzer targets of fuzz/ with clang, ASan and UBSan in build-fuzz/, then run each
# for FUZZ_SECONDS (default 60). Fails when a target crashes, leaks, trips a sanitizer, times out
# on one input or runs out of memory; the input that did it is kept in build-fuzz/artifacts/.
#   FUZZ_SECONDS=300 make fuzz              longer runs
#   FUZZ_TARGETS="chunked url" make fuzz    only some targets (names without fuzz_)
#   FUZZ_BUILD_DIR=dir make fuzz            build somewhere else than build-fuzz/
# New inputs found while fuzzing go to build-fuzz/corpus/<target>/ (the checked-in seeds in
# fuzz/corpus/<target>/ are read, never written).
set -eu
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-60}
OUT=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found (run: make deps)" >&2
    exit 1
fi

targets=${FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
    for src in fuzz/fuzz_*.c; do
        name=$(basename "$src" .c)
        targets="$targets ${name#fuzz_}"
    done
fi

CC=clang cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DTR_FUZZ=ON -DTR_ASAN=ON -DTR_UBSAN=ON -DTR_WERROR=OFF >/dev/null
build_list=""
for t in $targets; do
    build_list="$build_list --target fuzz_$t"
done
# shellcheck disable=SC2086
if ! cmake --build "$OUT" -j "$JOBS" $build_list >"$OUT/build.log" 2>&1; then
    tail -n 30 "$OUT/build.log" >&2
    echo "fuzz: build failed (see $OUT/build.log)" >&2
    exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
failed=""
for t in $targets; do
    corpus="$OUT/corpus/$t"
    artifacts="$OUT/artifacts/$t"
    log="$OUT/fuzz_$t.log"
    mkdir -p "$corpus" "$artifacts"
    seeds=""
    [ -d "fuzz/corpus/$t" ] && seeds="fuzz/corpus/$t"
    dict=""
    case "$t" in http_* | chunked) [ -f fuzz/http.dict ] && dict="-dict=fuzz/http.dict" ;; esac
    [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
    printf 'fuzz: %-16s %ss ... ' "$t" "$SECONDS_EACH"
    rc=0
    # shellcheck disable=SC2086
    "$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" $dict \
        "$corpus" $seeds >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ] || grep -q -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" \
        -e "runtime error:" -e "ERROR: libFuzzer" "$log"; then
        echo "FAILED (exit $rc, ${execs:-?} runs; see $log and $artifacts/)"
        grep -m 5 -e "ERROR:" -e "runtime error:" -e "SUMMARY:" "$log" | sed 's/^/    /' || true
        failed="$failed $t"
    else
        echo "ok (${execs:-?} runs, $(find "$corpus" -type f | wc -l) inputs in corpus)"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed" >&2
    exit 1
fi
