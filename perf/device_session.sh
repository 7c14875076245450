#!/bin/bash
# perf/device_session.sh BUILD OUT — one timed session on a lent GPU: the test suite (in
# parallel), conv tile tuning on two U-Net shapes, the conv and training benchmarks with
# PyTorch (CUDA, TF32 off) side by side. Prints a short table; files land in OUT.
set -u
B=${1:?build}; OUT=${2:?out}
mkdir -p "$OUT"
ROOT=$(pwd)
export MEDCL_DEVICE=${MEDCL_DEVICE:-gpu} MEDCL_TEST_DATA=$ROOT/tests/data MEDCL_BIN=$ROOT/$B/bin/medcl
export MEDCL_BUILD_DIR=$ROOT/$B MEDCL_TEST_TMP=/tmp/medcl-test MEDCL_CACHE_DIR=/tmp/medcl-cache
export CMOCKA_MESSAGE_OUTPUT=stdout
mkdir -p "$MEDCL_TEST_TMP"
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
"$B/bin/medcl" devices | head -7
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null
"$B/bin/medcl" demo >"$OUT/demo.txt" 2>&1 && el "demo ok" || { el "demo FAILED"; cat "$OUT/demo.txt"; }
# warm the program cache once (serial), then all tests 8 at a time
"$B/tests/test_op_conv" >/dev/null 2>&1
ls "$B"/tests/test_* | xargs -P 8 -I{} bash -c 'n=$(basename {}); s=$(date +%s%N); timeout 90 {} >'"$OUT"'/$n.log 2>&1; r=$?; printf "%-30s %s %d ms\n" $n $r $(( ($(date +%s%N) - s) / 1000000 ))' >"$OUT/tests.txt"
for t in tests/test_cli.sh tests/test_cli_train.sh; do timeout 120 bash $t >"$OUT/$(basename $t).log" 2>&1; echo "$(basename $t) $?" >>"$OUT/tests.txt"; done
el "tests: $(awk '$2==0' "$OUT/tests.txt" | wc -l) passed, $(awk '$2!=0' "$OUT/tests.txt" | wc -l) failed"
awk '$2!=0' "$OUT/tests.txt"
timeout 100 "$B/bin/bench_conv" --tune --shape "2d L1,3d L1" --runs 5 >"$OUT/tune.txt" 2>&1; el "tune rc=$?"
grep -iE "best" "$OUT/tune.txt" | tail -12
timeout 90 "$B/bin/bench_conv" --json --runs 5 >"$OUT/conv.json" 2>"$OUT/conv.err"; el "bench_conv rc=$?"
timeout 50 python3 perf/torch_conv.py --device cuda --runs 5 >"$OUT/torch_conv.json" 2>"$OUT/torch_conv.err"; el "torch_conv rc=$?"
python3 perf/torch_conv.py --join "$OUT/conv.json" "$OUT/torch_conv.json" 2>&1 | tee "$OUT/join.txt" | head -50
timeout 100 "$B/bin/bench_train" --torch --torch-device cuda --steps 5 --warmup 2 >"$OUT/train.txt" 2>&1; el "bench_train rc=$?"
tail -25 "$OUT/train.txt"
