#!/bin/bash
# perf/gpu_check.sh — one device session: every test executable and the benchmarks on the
# chosen OpenCL device (default: the first GPU), with a short table at the end.
#   perf/gpu_check.sh BUILD_DIR OUT_DIR [quick]
# BUILD_DIR holds a finished build (bin/, tests/); nothing is compiled here except kernels.
# Results: OUT_DIR/summary.txt, one log per test, bench JSON files.
set -u
B=${1:?build dir}; OUT=${2:?out dir}; MODE=${3:-full}
mkdir -p "$OUT"
ROOT=$(pwd)
export MEDCL_DEVICE=${MEDCL_DEVICE:-gpu}
export MEDCL_TEST_DATA=$ROOT/tests/data MEDCL_BIN=$ROOT/$B/bin/medcl MEDCL_BUILD_DIR=$ROOT/$B
export MEDCL_TEST_TMP=/tmp/medcl-test MEDCL_CACHE_DIR=/tmp/medcl-cache CMOCKA_MESSAGE_OUTPUT=stdout
mkdir -p "$MEDCL_TEST_TMP"
S="$OUT/summary.txt"
: >"$S"
"$B/bin/medcl" devices | tee "$OUT/devices.txt" | head -8
"$B/bin/medcl" demo >"$OUT/demo.txt" 2>&1; echo "demo rc=$?" >>"$S"
pass=0; fail=0
for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    t0=$(date +%s%N)
    timeout 300 "$t" >"$OUT/$name.log" 2>&1; rc=$?
    t1=$(date +%s%N)
    if [ $rc = 0 ]; then pass=$((pass + 1)); r=ok; else fail=$((fail + 1)); r="FAIL($rc)"; fi
    printf "%-34s %-9s %6d ms\n" "$name" "$r" $(( (t1 - t0) / 1000000 )) >>"$S"
done
for t in tests/test_*.sh; do
    name=$(basename "$t" .sh)
    [ "$name" = test_install ] && continue   # needs cmake --install on the device image
    timeout 300 bash "$t" >"$OUT/$name.log" 2>&1; rc=$?
    if [ $rc = 0 ]; then pass=$((pass + 1)); r=ok; else fail=$((fail + 1)); r="FAIL($rc)"; fi
    printf "%-34s %-9s\n" "$name" "$r" >>"$S"
done
echo "tests: $pass passed, $fail failed" >>"$S"
if [ "$MODE" != quick ]; then
    for b in bench_conv bench_train bench_augment; do
        [ -x "$B/bin/$b" ] || continue
        timeout 240 "$B/bin/$b" --json >"$OUT/$b.json" 2>"$OUT/$b.err"; echo "$b rc=$?" >>"$S"
    done
    if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
        timeout 120 python3 perf/torch_conv.py --device cuda >"$OUT/torch_conv.json" 2>"$OUT/torch_conv.err"
        echo "torch_conv rc=$?" >>"$S"
        if [ -f perf/torch_unet.py ]; then
            timeout 120 python3 perf/torch_unet.py --device cuda >"$OUT/torch_unet.json" 2>"$OUT/torch_unet.err"
            echo "torch_unet rc=$?" >>"$S"
        fi
    fi
fi
cat "$S"
