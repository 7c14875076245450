#!/bin/bash
# perf/device_session.sh BUILD OUT — one timed session on a lent GPU (one call of at most
# 10 minutes), in order of what is still to be shown:
#   1. convolution side by side with cuDNN (PyTorch, TF32 off) at the full U-Net shapes of
#      PERFORMANCE.md, the joined table printed (issue 3's >= 50% of cuDNN milestone);
#   2. the training step with PyTorch side by side, 3D with deep supervision first (the NaN
#      seen on the H100 before the label down-sampling copies were chunked);
#   3. the test suite, 8 executables at a time;
#   4. conv tile tuning on two shapes, if time is left.
# Everything lands in OUT; stdout stays short (the device tool returns its last 12,000
# characters). BUILD is a finished build carried to the machine: bin/, tests/ and lib/ with the
# shared libraries the GPU image lacks; nothing is compiled here except OpenCL kernels.
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
left() { echo $(( ${BUDGET:-570} - ($(date +%s) - T0) )); }
"$B/bin/medcl" devices | sed -n '1,7p'
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null

# 1. convolution: medcl (no CLBlast: it builds kernels per shape) and PyTorch/cuDNN
timeout 170 "$B/bin/bench_conv" --json --runs 5 --no-clblast >"$OUT/conv.json" 2>"$OUT/conv.err"
el "bench_conv rc=$?"
timeout 120 python3 perf/torch_conv.py --device cuda --runs 5 >"$OUT/torch_conv.json" 2>"$OUT/torch_conv.err"
el "torch_conv rc=$?"; tail -2 "$OUT/torch_conv.err"
python3 perf/torch_conv.py --join "$OUT/conv.json" "$OUT/torch_conv.json" >"$OUT/join.txt" 2>&1
cat "$OUT/join.txt"

# 2. training step, both sides (3D with deep supervision first)
for d in 3d 2d; do
    t=$(left); [ "$t" -gt 60 ] || break
    [ "$t" -gt 110 ] && t=110
    timeout "$t" "$B/bin/bench_train" --only $d --torch --torch-device cuda --steps 5 --warmup 2 \
        --python python3 >"$OUT/train_$d.txt" 2>&1
    el "bench_train $d rc=$?"
    grep -E "^unet|parameters|step ms|images/s|peak memory|loss|nan|NaN|error" "$OUT/train_$d.txt" | head -12
done

# 3. the test suite, 8 at a time (program cache warmed by one conv test first)
t=$(left)
if [ "$t" -gt 60 ]; then
    timeout 60 "$B/tests/test_op_conv" >/dev/null 2>&1
    ls "$B"/tests/test_* | xargs -P 8 -I{} bash -c 'n=$(basename {}); s=$(date +%s%N); timeout 90 {} >'"$OUT"'/$n.log 2>&1; r=$?; printf "%-30s %s %d ms\n" $n $r $(( ($(date +%s%N) - s) / 1000000 ))' >"$OUT/tests.txt"
    el "tests: $(awk '$2==0' "$OUT/tests.txt" | wc -l) passed, $(awk '$2!=0' "$OUT/tests.txt" | wc -l) failed"
    awk '$2!=0' "$OUT/tests.txt"
fi

# 4. tuning, if time is left
t=$(left)
if [ "$t" -gt 40 ]; then
    timeout $(( t - 10 )) "$B/bin/bench_conv" --tune --no-clblast --shape "2d L0,3d L1" --runs 3 >"$OUT/tune.txt" 2>&1
    el "tune rc=$?"
    grep -iE "best" "$OUT/tune.txt" | tail -10
fi
el finished
