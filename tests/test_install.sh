#!/bin/bash
# tests/test_install.sh — `cmake --install` into a temporary prefix, then a consumer program
# built against it twice: through pkg-config (medcl.pc) and through CMake find_package(medcl).
set -eu
B=${MEDCL_BUILD_DIR:?}
TMP=${MEDCL_TEST_TMP:-/tmp}/install.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
cmake --install "$B" --prefix "$TMP/prefix" >/dev/null
test -f "$TMP/prefix/include/medcl/medcl.h"
LIBDIR=$(dirname "$(find "$TMP/prefix" -name 'libmedcl.so' | head -1)")
test -f "$LIBDIR/pkgconfig/medcl.pc"
test -f "$LIBDIR/cmake/medcl/medclConfig.cmake"
test -x "$TMP/prefix/bin/medcl"
cat >"$TMP/use.c" <<'C'
#include <medcl/medcl.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    printf("%s\n", medcl_version());
    return strcmp(medcl_version(), MEDCL_VERSION_STRING) != 0;
}
C
# only MEDCL_API symbols are exported from the shared library
if nm -D --defined-only "$LIBDIR/libmedcl.so" | grep -q " T medcl_fail$"; then
    echo "FAIL: internal symbol medcl_fail exported"; exit 1
fi
nm -D --defined-only "$LIBDIR/libmedcl.so" | grep -q " T medcl_context_create$"
# a sanitizer build's library needs the consumer linked with the same runtime
SAN=""
[ "${MEDCL_SANITIZE:-OFF}" = ON ] && SAN="-fsanitize=address,undefined"
# pkg-config
PKG_CONFIG_PATH="$LIBDIR/pkgconfig" cc $SAN "$TMP/use.c" -o "$TMP/use_pc" $(PKG_CONFIG_PATH="$LIBDIR/pkgconfig" pkg-config --cflags --libs medcl)
LD_LIBRARY_PATH="$LIBDIR" "$TMP/use_pc" | grep -q '^[0-9]'
# CMake package
mkdir -p "$TMP/proj"
cp "$TMP/use.c" "$TMP/proj/use.c"
cat >"$TMP/proj/CMakeLists.txt" <<'C'
cmake_minimum_required(VERSION 3.25)
project(use C)
find_package(medcl REQUIRED)
add_executable(use use.c)
target_link_libraries(use medcl::medcl)
C
cmake -S "$TMP/proj" -B "$TMP/proj/b" -DCMAKE_PREFIX_PATH="$TMP/prefix" -DCMAKE_C_FLAGS="$SAN" >/dev/null
cmake --build "$TMP/proj/b" >/dev/null
LD_LIBRARY_PATH="$LIBDIR" "$TMP/proj/b/use" | grep -q '^[0-9]'
echo "1 passed, 0 failed"
