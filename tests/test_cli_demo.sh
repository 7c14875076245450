#!/bin/bash
# tests/test_cli_demo.sh — `medcl demo --quick` (the reduced setting: 4x down-sampled ch2
# slices or the phantom, a 3-level U-Net with 4 features, 20 steps): exits 0, writes the
# report (report.json, report.md, domain and sweep SVGs, training curves, PNG overlays) and the
# training checkpoints, report.json parses with every Dice in [0, 1] (`medcl eval --check`),
# and the printed in-domain Dice is a number. Usage errors exit 2. The full demo is `make
# demo`, not part of the suite.
. "$(dirname "$0")/cli_lib.sh" test_cli_demo

expect_rc 0 "demo --help" "$BIN" demo --help
contains "$TMP/out" "usage: medcl demo" "demo help"
contains "$TMP/out" "--quick" "demo help lists --quick"
expect_rc 2 "demo unknown option" "$BIN" demo --bogus
contains "$TMP/err" "--bogus" "unknown option named"
expect_rc 2 "demo bad --epochs" "$BIN" demo --epochs x
expect_rc 4 "demo bad --set" "$BIN" demo --quick --out "$TMP/bad" --set optimizer.lr=-1
contains "$TMP/err" '$.optimizer.lr = -1' "bad override named"

expect_rc 0 "demo --check-device" "$BIN" demo --check-device
contains "$TMP/out" "0 differ from the host bits" "device normals match the host"
contains "$TMP/out" "demo: ok" "device check ok"

D="$TMP/demo"
start=$(date +%s)
expect_rc 0 "demo --quick" "$BIN" demo --quick --out "$D" --no-progress
echo "demo --quick: $(( $(date +%s) - start )) s"
cat "$TMP/out"
for f in report.json report.md fig_domains_dice.svg fig_domains_distance.svg fig_sweep_0_gaussian_noise.svg \
         fig_training_curves.svg overlay_0_test_worst.png overlay_0_test_median.png train/best.safetensors \
         train/curves.csv data/dataset.json; do
    exists "$D/$f" "demo output"
done
matches "$TMP/out" '^in-domain test Dice \(brain\): [01]\.[0-9]{4} \[' "in-domain Dice is a number"
for s in bias_field noise contrast_gamma blur_lowres; do
    matches "$TMP/out" "^  $s +Dice [01]\.[0-9]{4}  drop -?[0-9]\.[0-9]{4}" "drop under $s"
done
contains "$TMP/out" "report: $D/report.md" "report location printed"
expect_rc 0 "demo report parses" "$BIN" eval --check "$D/report.json"
contains "$TMP/out" "ok (5 sets, 1 sweeps" "five sets (in domain + 4 scanners) and one sweep"
contains "$D/report.md" "every 5th" "split documented in the report"

finish
