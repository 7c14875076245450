#!/bin/bash
# tests/cli_lib.sh — shared by the shell tests: `. "$(dirname "$0")/cli_lib.sh" NAME` sets
# BIN (the medcl program, from MEDCL_BIN), a scratch folder TMP (removed at exit), pass/fail
# counters and the checks below; `finish` prints the counts and returns non-zero on a failure.
set -u
CLI_TEST=${1:?cli_lib.sh: test name}
BIN=${MEDCL_BIN:?MEDCL_BIN not set}
TMP=${MEDCL_TEST_TMP:-/tmp}/$CLI_TEST.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fails=0; passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() { # expected-rc description command... (stdout in $TMP/out, stderr in $TMP/err)
    local want=$1 what=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
    if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, expected $want"; cat "$TMP/err"; fi
}
contains() { # file fixed-string description
    if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; cat "$1"; fi
}
contains_re() { # file basic-regex description
    if grep -q -- "$2" "$1"; then ok; else bad "$3: /$2/ not in $1"; cat "$1"; fi
}
matches() { # file extended-regex description
    if grep -qE -- "$2" "$1"; then ok; else bad "$3: /$2/ not in $1"; cat "$1"; fi
}
exists() { if [ -s "$1" ]; then ok; else bad "$2: $1 missing or empty"; fi; }
size_is() { # file bytes description
    local n; n=$(stat -c %s "$1" 2>/dev/null || echo 0)
    if [ "$n" = "$2" ]; then ok; else bad "$3: $1 has $n bytes, expected $2"; fi
}
finish() {
    echo "$CLI_TEST: $passes passed, $fails failed"
    [ "$fails" = 0 ]
}
