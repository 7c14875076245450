#!/bin/bash
# tests/test_cli_eval.sh — `medcl eval` end to end on tiny data (the built-in phantom, 32x32
# slices, a 2-level U-Net with 4 features trained for 6 steps): two folder test sets (the
# training phantom and another phantom draw) plus a simulated scanner (Gaussian noise) and a
# bias-field severity sweep → report.json / report.md / SVG figures / PNG overlays exist,
# report.json parses (`medcl eval --check`, which also checks every set's Dice is in [0, 1]),
# the --json table has its keys; bad inputs (missing folder, malformed checkpoint, bad --test
# and --sweep syntax, unknown domain of training, labels outside the model's classes, a
# damaged report) give the documented exit codes and name the file or field.
. "$(dirname "$0")/cli_lib.sh" test_cli_eval

cat >"$TMP/tiny.json" <<'JSON'
{
  "task": "segmentation",
  "dataset": {"kind": "phantom", "cases": 8, "size": 32, "folds": 4, "fold": 0},
  "model": {"dims": 2, "levels": 2, "features": 4, "convs_per_stage": 1, "deep_supervision": true},
  "augmentation": "none",
  "optimizer": {"kind": "sgd", "lr": 0.01},
  "training": {"epochs": 2, "iterations": 3, "batch": 2, "threads": 1, "prefetch": 2},
  "validation": {"every": 1},
  "seed": 7
}
JSON

# ---- a checkpoint and two folder pairs (the training phantom and another draw, seed 8)
A="$TMP/runA"
expect_rc 0 "train tiny" "$BIN" train "$TMP/tiny.json" --out "$A" --no-progress --quiet
exists "$A/final.safetensors" "checkpoint"
expect_rc 0 "second phantom draw" "$BIN" train "$TMP/tiny.json" --out "$TMP/runB" --seed 8 --epochs 1 --iterations 1 \
    --val-every 0 --quiet
CK="$A/final.safetensors"
TA="a=$A/dataset/imagesTr:$A/dataset/labelsTr"
TB="b=$TMP/runB/dataset/imagesTr:$TMP/runB/dataset/labelsTr"

# ---- usage and input errors
expect_rc 0 "eval --help" "$BIN" eval --help
contains "$TMP/out" "usage: medcl eval" "eval help"
contains "$TMP/out" "exit codes" "eval help exit codes"
expect_rc 2 "eval without checkpoint" "$BIN" eval --test "$TA" --out "$TMP/r"
contains "$TMP/err" "--checkpoint is required" "missing --checkpoint named"
expect_rc 2 "eval without test set" "$BIN" eval --checkpoint "$CK" --out "$TMP/r"
expect_rc 2 "bad --test syntax (no colon)" "$BIN" eval --checkpoint "$CK" --test "a=$A/dataset/imagesTr" --out "$TMP/r"
contains "$TMP/err" "NAME=IMAGES_DIR:LABELS_DIR" "--test syntax named"
expect_rc 2 "--test domain without --config" "$BIN" eval --checkpoint "$CK" --test siteA --out "$TMP/r"
contains "$TMP/err" "--config" "domain needs --config"
expect_rc 2 "bad --sweep kind" "$BIN" eval --checkpoint "$CK" --test "$TA" --sweep blurr=1,2 --out "$TMP/r"
contains "$TMP/err" "blurr" "--sweep value named"
expect_rc 2 "bad --sweep strengths" "$BIN" eval --checkpoint "$CK" --test "$TA" --sweep gamma=1,x --out "$TMP/r"
expect_rc 2 "unknown option" "$BIN" eval --checkpoint "$CK" --test "$TA" --out "$TMP/r" --bogus
contains "$TMP/err" "--bogus" "unknown option named"
expect_rc 2 "unknown domain of training" "$BIN" eval --checkpoint "$CK" --test "$TA" --domain-of-training zz --out "$TMP/r"
contains "$TMP/err" "zz" "unknown domain of training named"
expect_rc 2 "--shift of an unknown set" "$BIN" eval --checkpoint "$CK" --test "$TA" --shift "n=zz:gaussian_noise=1" --out "$TMP/r"
expect_rc 1 "missing image folder" "$BIN" eval --checkpoint "$CK" --test "x=$TMP/nowhere:$A/dataset/labelsTr" --out "$TMP/r"
contains "$TMP/err" "nowhere" "missing folder named"
contains "$TMP/err" "--test x" "missing folder's test set named"
expect_rc 1 "missing checkpoint" "$BIN" eval --checkpoint "$TMP/none.safetensors" --test "$TA" --out "$TMP/r"
contains "$TMP/err" "none.safetensors" "missing checkpoint named"
echo "not a checkpoint" >"$TMP/bad.safetensors"
expect_rc 4 "malformed checkpoint" "$BIN" eval --checkpoint "$TMP/bad.safetensors" --test "$TA" --out "$TMP/r"
contains "$TMP/err" "bad.safetensors" "malformed checkpoint named"
# labels outside the model's classes: a 3-class label folder for a 2-class model
mkdir -p "$TMP/lab3"
cp "$A/dataset/labelsTr/"*.nii "$TMP/lab3/"
printf '\x03' | dd of="$TMP/lab3/slice0000.nii" bs=1 seek=$((352 + 100)) conv=notrunc 2>/dev/null
expect_rc 4 "label value outside the classes" "$BIN" eval --checkpoint "$CK" --test "c=$A/dataset/imagesTr:$TMP/lab3" --out "$TMP/r"
contains "$TMP/err" "slice0000.nii" "bad label file named"
contains "$TMP/err" "has label 3" "bad label value named"

# ---- evaluation: two folder sets + a simulated scanner + a severity sweep
R="$TMP/report"
expect_rc 0 "eval" "$BIN" eval --checkpoint "$CK" --test "$TA" --test "$TB" --shift "noisy=a:gaussian_noise=0.5" \
    --sweep bias_field=0,0.3,0.6 --bootstrap 200 --out "$R"
cat "$TMP/err"
for f in report.json report.md fig_domains_dice.svg fig_domains_distance.svg fig_sweep_0_bias_field.svg \
         fig_training_curves.svg overlay_0_a_worst.png overlay_0_a_median.png overlay_2_noisy_worst.png; do
    exists "$R/$f" "report file"
done
contains "$TMP/out" "gap Dice" "table header"
matches "$TMP/out" "^a +a +yes +8 +0\.[0-9]+ \[" "in-domain row with Dice and interval"
matches "$TMP/out" "^noisy +noisy +no +8 " "shifted set row"
contains "$TMP/out" "severity sweep of bias_field on a" "sweep printed"
contains "$R/report.md" "Generalization gap" "report.md gap section"
if [ -e "$R/.testset_0" ]; then bad "temporary test-set folder left behind"; else ok; fi
expect_rc 0 "report.json parses and Dice in [0, 1]" "$BIN" eval --check "$R/report.json"
contains "$TMP/out" "ok (3 sets, 1 sweeps" "check summary"
contains "$TMP/out" "set noisy: 8 cases" "check lists the shifted set"
for key in '"schema"' '"results"' '"generalization_gap"' '"metric_conventions"' '"device"' '"kernel_hash"' '"sweeps"'; do
    contains "$R/report.json" "$key" "report.json key"
done

# ---- --json table
expect_rc 0 "eval --json" "$BIN" eval --checkpoint "$CK" --test "$TA" --shift "dark=a:gamma=2" --no-surface \
    --bootstrap 100 --json --out "$TMP/r2"
contains "$TMP/out" '"sets": [' "json sets"
contains "$TMP/out" '"name": "dark"' "json shifted set"
contains "$TMP/out" '"gap_dice": {"estimate": ' "json gap"
matches "$TMP/out" '"dice": \{"estimate": (0\.[0-9]+|1|0)' "json Dice in [0, 1]"

# ---- domains of a config's nnU-Net dataset (dataset.json "domains"), built-in scanners
mkdir -p "$TMP/dom"
cp -r "$A/dataset/imagesTr" "$A/dataset/labelsTr" "$TMP/dom/"
{
    printf '{"channel_names": {"0": "noNorm"}, "labels": {"background": 0, "phantom": 1}, "numTraining": 8,\n'
    printf ' "file_ending": ".nii", "domains": {'
    for i in 0 1 2 3 4 5 6 7; do
        site=siteA; [ $i -ge 4 ] && site=siteB
        [ $i -gt 0 ] && printf ', '
        printf '"slice000%d": "%s"' $i $site
    done
    printf '}}\n'
} >"$TMP/dom/dataset.json"
printf '{"task": "segmentation", "dataset": {"kind": "nnunet", "path": "%s/dom"}, "training": {"patch": [32, 32]}}' \
    "$TMP" >"$TMP/domcfg.json"
expect_rc 0 "eval on the config's domains" "$BIN" eval --checkpoint "$CK" --config "$TMP/domcfg.json" \
    --domain-of-training siteB --scanners --no-surface --bootstrap 100 --out "$TMP/r3"
matches "$TMP/out" "^siteA +siteA +no +4 " "domain siteA (out of domain)"
matches "$TMP/out" "^siteB +siteB +yes +4 .*reference" "domain siteB (reference)"
matches "$TMP/out" "^blur_lowres +blur_lowres +no +4 " "built-in scanner of the reference set"
expect_rc 4 "unknown domain" "$BIN" eval --checkpoint "$CK" --config "$TMP/domcfg.json" --test siteC --out "$TMP/r4"
contains "$TMP/err" 'siteC: no such domain' "unknown domain named"
contains "$TMP/err" '"siteA", "siteB"' "domains listed"

# ---- a damaged report is a data error naming the file
printf '{"schema": "medcl-report/1", "results": {"sets": [{"name": "x", "metrics": {"dice": {"foreground_mean": {"estimate": 1.5}}}}]}}' >"$TMP/bad_report.json"
expect_rc 4 "--check Dice out of range" "$BIN" eval --check "$TMP/bad_report.json"
contains "$TMP/err" "bad_report.json" "damaged report named"
printf '{"schema": ' >"$TMP/trunc.json"
expect_rc 4 "--check malformed JSON" "$BIN" eval --check "$TMP/trunc.json"

finish
