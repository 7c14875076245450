#!/bin/bash
# tests/test_cli.sh — the medcl program end to end: --help, --version, devices (table and
# JSON), device selection errors and exit codes, no OpenCL platform, kernels build and a run
# from the bundle, demo.
. "$(dirname "$0")/cli_lib.sh" test_cli

expect_rc 0 "--version" "$BIN" --version
contains_re "$TMP/out" "^medcl [0-9]*\.[0-9]*\.[0-9]*$" "version line"
expect_rc 0 "--help" "$BIN" --help
contains_re "$TMP/out" "exit codes" "help lists exit codes"
contains_re "$TMP/out" "MEDCL_DEVICE" "help lists environment"
expect_rc 2 "no command" "$BIN"
expect_rc 2 "unknown command" "$BIN" frobnicate
contains_re "$TMP/err" "frobnicate" "unknown command named"
for c in devices kernels demo; do
    expect_rc 0 "$c --help" "$BIN" $c --help
    contains_re "$TMP/out" "usage: medcl $c" "$c help"
done
expect_rc 2 "devices bad option" "$BIN" devices --bogus

expect_rc 0 "devices" "$BIN" devices
contains_re "$TMP/out" "^\* \[0\]\|^\* \[" "selected device marked"
contains_re "$TMP/out" "max work-group" "capabilities shown"
expect_rc 0 "devices --json" "$BIN" devices --json
contains_re "$TMP/out" '"devices": \[' "json devices array"
contains_re "$TMP/out" '"float_atomics": ' "json capabilities"
contains_re "$TMP/out" '"selected": true' "json selection"
# JSON is well formed enough for a strict reader: braces balance
opens=$(tr -cd '{' <"$TMP/out" | wc -c); closes=$(tr -cd '}' <"$TMP/out" | wc -c)
[ "$opens" = "$closes" ] && ok || bad "json braces unbalanced"

# selection that matches nothing: exit 3 and a list of what exists
MEDCL_DEVICE=no-such-device-xyz expect_rc 3 "unmatched MEDCL_DEVICE" "$BIN" demo --check-device
contains_re "$TMP/err" "no-such-device-xyz" "selector named"
contains_re "$TMP/err" "found [0-9]" "devices listed"
# no OpenCL platform at all
mkdir -p "$TMP/noicd"
OCL_ICD_VENDORS="$TMP/noicd" OCL_ICD_FILENAMES= expect_rc 3 "no platform" "$BIN" devices
contains_re "$TMP/err" "no OpenCL platform" "no platform message"

# kernels: list, build a bundle, run the demo from it without compiling
expect_rc 2 "kernels build without --out" "$BIN" kernels build
expect_rc 0 "kernels list" "$BIN" kernels list
contains_re "$TMP/out" "elementwise" "variants listed"
expect_rc 0 "kernels build" "$BIN" kernels build --out "$TMP/bundle"
[ -f "$TMP/bundle/manifest.json" ] && ok || bad "manifest written"
contains_re "$TMP/bundle/manifest.json" '"library_version"' "manifest has library version"
MEDCL_KERNEL_BUNDLE="$TMP/bundle" expect_rc 0 "demo from bundle" "$BIN" demo --check-device
contains_re "$TMP/out" "program cache: 0 compiled" "bundle mode compiles nothing"
MEDCL_KERNEL_BUNDLE="$TMP/nonexistent" expect_rc 1 "missing bundle" "$BIN" demo --check-device
contains_re "$TMP/err" "manifest.json" "missing bundle named"

# demo with a fresh cache, then warm
MEDCL_CACHE_DIR="$TMP/cache" expect_rc 0 "demo cold" "$BIN" demo --check-device
contains_re "$TMP/out" "demo: ok" "demo ok"
MEDCL_CACHE_DIR="$TMP/cache" expect_rc 0 "demo warm" "$BIN" demo --check-device
contains_re "$TMP/out" "0 compiled" "warm cache compiles nothing"

finish
