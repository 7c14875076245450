#!/bin/bash
# scripts/gpu_bundle.sh [DIR] — a build to carry to a lent GPU machine that has no compiler
# toolchain for us: a Release build of this working tree, then DIR (default build-gpu, ignored
# by git) with bin/ (medcl, benchmarks), tests/ (the cmocka executables) and lib/ (the shared
# libraries they need that such an image usually lacks: CLBlast, cJSON, cmocka, libpng; never
# libOpenCL, which must be the machine's own ICD loader). Binaries are stripped (~20 MB).
# On the machine, from the repository root:
#   mkdir -p /tmp/icd && echo /usr/lib/libnvidia-opencl.so.1 >/tmp/icd/nvidia.icd
#   export OCL_ICD_VENDORS=/tmp/icd LD_LIBRARY_PATH=$PWD/build-gpu/lib:$LD_LIBRARY_PATH
#   bash perf/device_session.sh build-gpu OUT
set -eu
DIR=${1:-build-gpu}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$ROOT/$DIR.cmake
cmake -S "$ROOT" -B "$WORK" -DCMAKE_BUILD_TYPE=Release -DMEDCL_WERROR=ON >/dev/null
cmake --build "$WORK" -j"$(nproc)" >/dev/null
rm -rf "${ROOT:?}/$DIR"
mkdir -p "$ROOT/$DIR/bin" "$ROOT/$DIR/tests" "$ROOT/$DIR/lib"
cp "$WORK"/bin/* "$ROOT/$DIR/bin/"
cp "$WORK"/tests/test_* "$ROOT/$DIR/tests/"
strip "$ROOT/$DIR"/bin/* "$ROOT/$DIR"/tests/* 2>/dev/null || true
for lib in libclblast libcjson libcmocka libpng16; do
    path=$(ldd "$ROOT/$DIR"/bin/* "$ROOT/$DIR"/tests/* 2>/dev/null | awk -v l="$lib" '$1 ~ "^"l {print $3; exit}')
    [ -n "$path" ] && cp -L "$path" "$ROOT/$DIR/lib/$(basename "$path")"
done
du -sh "$ROOT/$DIR"
