#!/bin/bash
# tests/test_cli_train.sh — `medcl train` and `medcl predict` end to end on tiny data (the
# built-in phantom, 32x32 slices, a 2-level U-Net with 4 features): usage and config errors
# with their exit codes and messages; a short run writes config.json, curves.csv and the
# latest/best/final checkpoints; predict loads a checkpoint and writes label maps and
# probabilities that have the expected NIfTI sizes; a run stopped after 4 steps and resumed
# ends with the same final checkpoint bytes as the uninterrupted run; SIGINT and SIGTERM
# during training exit 130/143 and leave a checkpoint that predict loads.
. "$(dirname "$0")/cli_lib.sh" test_cli_train

cat >"$TMP/tiny.json" <<'EOF'
{
  "task": "segmentation",
  "dataset": {"kind": "phantom", "cases": 8, "size": 32, "folds": 4, "fold": 0},
  "model": {"dims": 2, "levels": 2, "features": 4, "convs_per_stage": 1, "deep_supervision": true},
  "augmentation": {"transforms": [{"type": "gaussian_noise", "p": 0.5, "sigma": [0, 0.1]}]},
  "optimizer": {"kind": "sgd", "lr": 0.01},
  "training": {"epochs": 2, "iterations": 3, "batch": 2, "threads": 1, "prefetch": 2},
  "validation": {"every": 1},
  "seed": 7
}
EOF

# ---- usage and config errors
expect_rc 0 "train --help" "$BIN" train --help
contains "$TMP/out" "usage: medcl train" "train help"
contains "$TMP/out" "exit codes" "train help exit codes"
expect_rc 0 "predict --help" "$BIN" predict --help
contains "$TMP/out" "usage: medcl predict" "predict help"
expect_rc 2 "train without config" "$BIN" train
expect_rc 2 "train unknown option" "$BIN" train "$TMP/tiny.json" --bogus
contains "$TMP/err" "--bogus" "unknown option named"
expect_rc 2 "train --set without =" "$BIN" train "$TMP/tiny.json" --set optimizer.lr
contains "$TMP/err" "KEY=VALUE" "--set format named"
expect_rc 1 "train missing config file" "$BIN" train "$TMP/absent.json"
contains "$TMP/err" "absent.json" "missing config named"
expect_rc 4 "train bad value via flag" "$BIN" train "$TMP/tiny.json" --lr -1
contains "$TMP/err" 'tiny.json: $.optimizer.lr = -1 (must be > 0)' "bad lr message"
printf '{"task": "segmentation", "dataset": {"kind": "phantom"}, "optimizer": {"lrr": 1}}' >"$TMP/unknown.json"
expect_rc 4 "train unknown key" "$BIN" train "$TMP/unknown.json"
contains "$TMP/err" '$.optimizer.lrr: unknown key' "unknown key message"
printf '{"task": "segmentation",\n "dataset": {"kind": }}' >"$TMP/broken.json"
expect_rc 4 "train malformed JSON" "$BIN" train "$TMP/broken.json"
contains "$TMP/err" "broken.json: line 2" "malformed JSON line"
printf '{"task": "segmentation", "dataset": {"kind": "nnunet"}, "training": {"patch": [32, 32]}}' >"$TMP/nopath.json"
expect_rc 4 "train missing required field" "$BIN" train "$TMP/nopath.json"
contains "$TMP/err" '$.dataset.path: missing' "missing field message"
expect_rc 0 "train --print-config" "$BIN" train "$TMP/tiny.json" --epochs 5 --set optimizer.momentum=0.9 --print-config
contains "$TMP/out" '"epochs":	5' "flag override printed"
contains "$TMP/out" '"momentum":	0.9' "--set override printed"
expect_rc 2 "predict without checkpoint" "$BIN" predict --out "$TMP/p" x.nii
expect_rc 1 "predict missing checkpoint" "$BIN" predict --checkpoint "$TMP/none.safetensors" --out "$TMP/p" x.nii
contains "$TMP/err" "none.safetensors" "missing checkpoint named"
echo "not a checkpoint" >"$TMP/bad.safetensors"
expect_rc 4 "predict malformed checkpoint" "$BIN" predict --checkpoint "$TMP/bad.safetensors" --out "$TMP/p" x.nii
contains "$TMP/err" "bad.safetensors" "malformed checkpoint named"

# ---- a short run
A="$TMP/runA"
expect_rc 0 "train tiny" "$BIN" train "$TMP/tiny.json" --out "$A" --no-progress
cat "$TMP/err"
for f in config.json curves.csv latest.safetensors best.safetensors final.safetensors; do exists "$A/$f" "train output"; done
n=$(grep -c '^train,' "$A/curves.csv"); [ "$n" = 6 ] && ok || bad "curves.csv has $n train rows, expected 6"
n=$(grep -c '^val,' "$A/curves.csv"); [ "$n" = 2 ] && ok || bad "curves.csv has $n val rows, expected 2"
contains "$TMP/err" "validation Dice" "validation logged"

# ---- predict: labels and probabilities with the source geometry (32x32x1 NIfTI)
IMG="$A/dataset/imagesTr/slice0000_0000.nii"
expect_rc 0 "predict labels" "$BIN" predict --checkpoint "$A/final.safetensors" --out "$TMP/pred" "$IMG"
size_is "$TMP/pred/slice0000.nii" $((352 + 32 * 32)) "predicted label map (u8)"
expect_rc 0 "predict probabilities" "$BIN" predict --checkpoint "$A/best.safetensors" --out "$TMP/prob" --probabilities "$IMG"
size_is "$TMP/prob/slice0000.nii" $((352 + 32 * 32 * 2 * 4)) "probabilities (f32 x 2 classes)"
expect_rc 4 "predict on a non-image" "$BIN" predict --checkpoint "$A/final.safetensors" --out "$TMP/pred" "$TMP/tiny.json"

# ---- the "folders" dataset kind over the phantom's files (image and label folders)
cat >"$TMP/folders.json" <<EOF
{"task": "segmentation",
 "dataset": {"kind": "folders", "images": "$A/dataset/imagesTr", "labels": "$A/dataset/labelsTr", "num_classes": 2,
             "folds": 4},
 "model": {"dims": 2, "levels": 2, "features": 4, "convs_per_stage": 1}, "augmentation": "none",
 "training": {"epochs": 1, "iterations": 2, "batch": 2, "patch": [32, 32], "threads": 1}}
EOF
expect_rc 0 "train on folders" "$BIN" train "$TMP/folders.json" --out "$TMP/runF" --no-progress
exists "$TMP/runF/final.safetensors" "folders run checkpoint"
expect_rc 1 "train on missing folders" "$BIN" train "$TMP/folders.json" --out "$TMP/runG" --set dataset.images="$TMP/nowhere"
contains "$TMP/err" "nowhere" "missing image folder named"

# ---- resume is bitwise: stop after 4 steps, resume, same final checkpoint
B="$TMP/runB"
expect_rc 130 "train stopped after 4 steps" "$BIN" train "$TMP/tiny.json" --out "$B" --no-progress --stop-after 4
exists "$B/latest.safetensors" "checkpoint at the stop"
expect_rc 0 "train --resume" "$BIN" train "$TMP/tiny.json" --out "$B" --no-progress --resume
contains "$TMP/err" "resuming at step 4" "resume step logged"
if cmp -s "$A/final.safetensors" "$B/final.safetensors"; then ok; else bad "resumed final.safetensors differs from the uninterrupted run"; fi
n=$(grep -c '^train,' "$B/curves.csv"); [ "$n" = 6 ] && ok || bad "resumed curves.csv has $n train rows, expected 6"

# ---- signals: SIGINT → 130, SIGTERM → 143, each leaving a loadable latest checkpoint
for sig in INT TERM; do
    C="$TMP/run$sig"
    "$BIN" train "$TMP/tiny.json" --out "$C" --no-progress --epochs 1000 >"$TMP/out" 2>"$TMP/err.$sig" &
    pid=$!
    for _ in $(seq 1 600); do
        n=$(grep -c '^train,' "$C/curves.csv" 2>/dev/null)
        [ "${n:-0}" -ge 2 ] && break
        sleep 0.1
    done
    kill -$sig $pid
    wait $pid; rc=$?
    want=130; [ $sig = TERM ] && want=143
    if [ "$rc" = "$want" ]; then ok; else bad "SIG$sig: exit $rc, expected $want"; cat "$TMP/err.$sig"; fi
    contains "$TMP/err.$sig" "interrupted after step" "SIG$sig message"
    exists "$C/latest.safetensors" "SIG$sig checkpoint"
    expect_rc 0 "predict from the SIG$sig checkpoint" "$BIN" predict --checkpoint "$C/latest.safetensors" --out "$C/pred" "$IMG"
    size_is "$C/pred/slice0000.nii" $((352 + 32 * 32)) "prediction from SIG$sig checkpoint"
done

finish
