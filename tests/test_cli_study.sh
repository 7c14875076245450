#!/bin/bash
# tests/test_cli_study.sh — `medcl demo --study generalization --quick` end to end (toy sizes,
# synthetic three-site data): exit code, wall time, the report folder (report.md with the
# regularizer, leave-one-domain-out and continual tables; report.json with finite BWT/FWT per
# continual method; one heat-map SVG of R per method), and what each continual run leaves
# (stage checkpoints, the EWC state file, the replay buffer in the checkpoint metadata,
# continual.json); plus `medcl train` config errors of the new sections (exit 4, JSON path).
. "$(dirname "$0")/cli_lib.sh" test_cli_study

# ---- the study
start=$(date +%s)
"$BIN" demo --study generalization --quick --out "$TMP/study" >"$TMP/out" 2>"$TMP/err"
rc=$?
took=$(( $(date +%s) - start ))
echo "study --quick: exit $rc in ${took} s"
if [ "$rc" = 0 ]; then ok; else bad "study exit $rc"; tail -20 "$TMP/err"; fi
if [ "$took" -lt 120 ]; then ok; else bad "study took ${took} s (limit 120)"; fi
R="$TMP/study"
exists "$R/report.md" "report.md"
exists "$R/report.json" "report.json"
contains "$R/report.md" "## Regularizers" "regularizer table"
contains "$R/report.md" "| adversarial_fgsm |" "FGSM row"
contains "$R/report.md" "| cutmix |" "cutmix row"
contains "$R/report.md" "Leave one domain out" "LODO table"
contains "$R/report.md" "| BWT | FWT |" "continual table header"
for m in finetune ewc lwf replay; do
    f="$R/fig_continual_synthetic_$m.svg"
    exists "$f" "heat map $m"
    contains "$f" "<svg" "heat map $m is SVG"
    contains "$R/report.md" "fig_continual_synthetic_$m.svg" "heat map $m linked"
    run="$R/runs/continual_synthetic_$m"
    exists "$run/continual.json" "continual.json $m"
    for i in 0 1 2; do exists "$run/stage$i.safetensors" "stage $i checkpoint $m"; done
done
exists "$R/runs/continual_synthetic_ewc/stage1.ewc.safetensors" "EWC state next to the checkpoint"
if head -c 4096 "$R/runs/continual_synthetic_replay/stage1.safetensors" | grep -aq 'cli.replay'; then ok; else
    bad "replay buffer not in the stage checkpoint metadata"; fi
# BWT and FWT are finite numbers for every method
python3 - "$R/report.json" <<'PY' || bad "report.json BWT/FWT check"
import json, math, sys
r = json.load(open(sys.argv[1]))
runs = r["continual_synthetic"]
assert [x["method"] for x in runs] == ["finetune", "ewc", "lwf", "replay"], runs
for x in runs:
    for k in ("acc", "bwt", "fwt", "forgetting"):
        assert isinstance(x[k], (int, float)) and math.isfinite(x[k]), (x["method"], k, x[k])
    T = len(x["domains"])
    assert len(x["R"]) == T and all(len(row) == T for row in x["R"])
    # BWT by hand from R
    bwt = sum(x["R"][T - 1][i] - x["R"][i][i] for i in range(T - 1)) / (T - 1)
    assert abs(bwt - x["bwt"]) < 1e-9, (bwt, x["bwt"])
    fwt = sum(x["R"][i - 1][i] - x["baseline"][i] for i in range(1, T)) / (T - 1)
    assert abs(fwt - x["fwt"]) < 1e-9, (fwt, x["fwt"])
for v in r["regularizers_synthetic"]:
    d = v["evaluation"]["domains"]
    assert len(d) == 3 and all(0 <= e["dice"]["lower"] <= e["dice"]["estimate"] <= e["dice"]["upper"] <= 1 for e in d)
    assert len(v["evaluation"]["robustness"]["results"]) == 3
assert r["wall_seconds"] > 0
print("report.json: BWT/FWT match R for", len(runs), "methods")
PY
[ $? = 0 ] && ok

# ---- config errors of the new sections
base='"task": "segmentation", "dataset": {"kind": "phantom", "cases": 8, "size": 32, "folds": 4}'
check_err() { # json fragment expected-message
    printf '{%s, %s}' "$base" "$1" >"$TMP/bad.json"
    "$BIN" train "$TMP/bad.json" >"$TMP/out" 2>"$TMP/err"; local rc=$?
    if [ "$rc" = 4 ]; then ok; else bad "config '$1': exit $rc, expected 4"; fi
    contains "$TMP/err" "$2" "config '$1' message"
}
check_err '"regularizers": {"dropout": 1.5}' '$.regularizers.dropout = 1.5'
check_err '"regularizers": {"mixup": {"alpha": -1}}' '$.regularizers.mixup.alpha = -1'
check_err '"regularizers": {"adversarial": {"method": "cw"}}' '$.regularizers.adversarial.method = "cw"'
check_err '"continual": {"method": "ewc"}' '$.continual.domains: missing'
check_err '"continual": {"method": "ewc", "domains": ["a", "b"], "lamda": 1}' '$.continual.lamda: unknown key'

finish
