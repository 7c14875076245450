#!/usr/bin/env python3
"""tools/golden/gen_metrics_golden.py — writes the golden vectors for the host-side metrics
(tests/data/metrics/golden.json) and the surfel area table (src/eval/metrics_surfel_table.c).

Committed for reproducibility only: the C tests read the JSON and never need Python.

Sources of each expected value (REFERENCE.md, "Overlap metrics", "Surface metrics",
"Classification and calibration"):
  * TP/FP/FN/TN, Dice, IoU: direct numpy formulas on the label maps (the definitions in
    REFERENCE.md); the `nan` mode matches nnU-Net, the `one` mode Metrics Reloaded.
  * voxel-mode surface metrics: MONAI (compute_hausdorff_distance with percentile None and
    95, compute_average_surface_distance symmetric=True for ASSD and symmetric=False both
    ways for MASD, compute_surface_dice for NSD), cross-checked against an independent
    float64 implementation here (scipy binary_erosion XOR mask + scipy
    distance_transform_edt with sampling = spacing, numpy.percentile linear).
    The goldens are the float64 values; MONAI's own float32 results are stored beside them
    (`monai_f32`) after this script asserts they agree to 2e-6 relative (MONAI's
    torch.quantile interpolates in float32).
  * surfel-mode surface metrics: DeepMind's surface-distance package (PyPI
    `surface-distance` 0.1): compute_robust_hausdorff (100 and 95),
    compute_average_surface_distance (MASD = mean of the two directed means),
    compute_surface_dice_at_tolerance; the pooled area-weighted ASSD is computed here
    from DeepMind's distances and areas (DeepMind has no pooled mean).
  * empty cases: the conventions of REFERENCE.md (MONAI default, Metrics Reloaded) are
    written by this script, not by a library: for "both empty" DeepMind itself returns
    HD = inf and MONAI NaN, medcl's MONAI mode gives NaN in both boundary modes.
  * ROC AUC per class: sklearn.metrics.roc_auc_score (one-vs-rest, binary per class);
    macro = mean of the per-class values. Confusion-matrix metrics: sklearn
    (confusion_matrix, precision/recall/f1 with zero_division=nan, balanced_accuracy_score).
    ECE (10 equal-width bins (l, u] of the max probability), Brier (multiclass, sum over
    classes), NLL (probabilities clipped below at 1e-15): direct numpy formulas.

Run: python3 tools/golden/gen_metrics_golden.py  (numpy, scipy, torch, monai,
surface-distance, scikit-learn). Deterministic: fixed numpy seeds.
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import scipy.ndimage as ndi

# surface-distance 0.1 predates numpy 2 and scipy's namespace clean-up.
if not hasattr(np, "Inf"):
    np.Inf = np.inf
if not hasattr(np, "NaN"):
    np.NaN = np.nan
if not hasattr(ndi, "filters"):
    ndi.filters = ndi
if not hasattr(ndi, "morphology"):
    ndi.morphology = ndi

import surface_distance as sdm  # noqa: E402
from surface_distance import lookup_tables  # noqa: E402
import torch  # noqa: E402
from monai.metrics import (compute_average_surface_distance,  # noqa: E402
                           compute_hausdorff_distance, compute_surface_dice)
import sklearn.metrics as skm  # noqa: E402

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_JSON = os.path.join(ROOT, "tests", "data", "metrics", "golden.json")
OUT_TABLE = os.path.join(ROOT, "src", "eval", "metrics_surfel_table.c")


def jnum(x):
    """JSON has no NaN/inf: they travel as strings."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def rle(a):
    """Run-length code of a flat int array: [value, count, value, count, ...]."""
    flat = a.ravel().astype(np.int64)
    out = []
    i = 0
    n = flat.size
    while i < n:
        j = i
        while j < n and flat[j] == flat[i]:
            j += 1
        out += [int(flat[i]), j - i]
        i = j
    return out


# ---------------- masks ----------------
def ellipsoid(shape, spacing, center_mm, radii_mm):
    zz, yy, xx = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    q = ((zz - center_mm[0]) / radii_mm[0]) ** 2 + ((yy - center_mm[1]) / radii_mm[1]) ** 2 + \
        ((xx - center_mm[2]) / radii_mm[2]) ** 2
    return q <= 1.0


def blobs(shape, seed, sigma, thresholds):
    rng = np.random.default_rng(seed)
    s = ndi.gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="wrap")
    s = (s - s.mean()) / s.std()
    lab = np.zeros(shape, np.int32)
    for k, t in enumerate(thresholds):
        lab[s > t] = k + 1
    return lab


def make_cases():
    cases = []
    # 2D ellipses, anisotropic pixels, a far outlier blob in the prediction.
    sh, sp = (1, 40, 48), (1.0, 0.8, 1.3)
    ref = np.zeros(sh, np.int32)
    pred = np.zeros(sh, np.int32)
    ref[ellipsoid(sh, sp, (0, 14.4, 26.0), (1, 8.0, 15.6))] = 1
    ref[ellipsoid(sh, sp, (0, 24.0, 49.4), (1, 4.0, 7.8))] = 2
    pred[ellipsoid(sh, sp, (0, 15.2, 28.6), (1, 7.2, 16.9))] = 1
    pred[ellipsoid(sh, sp, (0, 23.2, 46.8), (1, 4.8, 6.5))] = 2
    pred[ellipsoid(sh, sp, (0, 4.0, 52.0), (1, 1.6, 2.6))] = 1
    cases.append(("ellipses2d", ref, pred, sp, 3, [1.0, 2.5]))

    # 2D objects touching the image border (erosion border convention).
    sh, sp = (1, 32, 32), (1.0, 0.5, 0.9)
    ref = np.zeros(sh, np.int32)
    pred = np.zeros(sh, np.int32)
    ref[0, 0:13, 0:21] = 1
    pred[ellipsoid(sh, sp, (0, 0.0, 0.0), (1, 7.3, 19.1))] = 1
    ref[0, 20:32, 25:32] = 2
    pred[0, 22:32, 23:32] = 2
    cases.append(("border2d", ref, pred, sp, 3, [1.1, 1.7]))

    # 2D empty cases: 1 both present, 2 empty reference, 3 empty prediction, 4 absent.
    sh, sp = (1, 24, 20), (1.0, 1.1, 0.7)
    ref = np.zeros(sh, np.int32)
    pred = np.zeros(sh, np.int32)
    ref[0, 3:9, 2:8] = 1
    pred[0, 4:10, 3:8] = 1
    pred[0, 14:18, 12:16] = 2
    ref[0, 15:20, 3:6] = 3
    cases.append(("empty2d", ref, pred, sp, 5, [1.0]))

    # 3D spheres (in mm) on a strongly anisotropic grid.
    sh, sp = (20, 28, 30), (2.5, 0.9, 0.7)
    ref = np.zeros(sh, np.int32)
    pred = np.zeros(sh, np.int32)
    ref[ellipsoid(sh, sp, (24.0, 12.6, 10.5), (9.0, 9.0, 9.0))] = 1
    pred[ellipsoid(sh, sp, (26.5, 13.5, 11.9), (8.1, 8.1, 8.1))] = 1
    cases.append(("spheres3d", ref, pred, sp, 2, [1.0, 2.2]))

    # 3D random blobs, two nested classes, thin structures.
    sh, sp = (16, 24, 24), (1.5, 1.0, 1.2)
    ref = blobs(sh, 11, 2.0, [0.6, 1.4])
    pred = blobs(sh, 11, 2.0, [0.6, 1.4])
    noise = blobs(sh, 12, 1.5, [1.2])
    pred[(noise == 1) & (pred == 0)] = 1
    pred[blobs(sh, 13, 1.5, [1.6]) == 1] = 0
    cases.append(("blobs3d", ref, pred, sp, 3, [1.0, 1.9]))

    # 3D objects touching the volume border on several faces.
    sh, sp = (12, 16, 14), (1.2, 0.8, 1.0)
    ref = np.zeros(sh, np.int32)
    pred = np.zeros(sh, np.int32)
    ref[0:6, 0:9, 0:7] = 1
    pred[ellipsoid(sh, sp, (0.0, 0.0, 0.0), (7.9, 7.7, 7.4))] = 1
    ref[5:12, 10:16, 8:14] = 2
    pred[6:12, 9:16, 9:14] = 2
    cases.append(("border3d", ref, pred, sp, 3, [1.0, 1.5]))

    # 3D empty cases as in empty2d.
    sh, sp = (8, 10, 12), (2.0, 0.75, 0.75)
    ref = np.zeros(sh, np.int32)
    pred = np.zeros(sh, np.int32)
    ref[2:6, 2:7, 2:8] = 1
    pred[2:7, 3:7, 2:9] = 1
    pred[1:3, 7:9, 8:11] = 2
    ref[5:8, 1:3, 9:12] = 3
    cases.append(("empty3d", ref, pred, sp, 5, [1.0]))

    # Single voxels at a known distance: sqrt((3*2)^2 + (5*0.5)^2) = 6.5 mm (voxel mode).
    sh, sp = (8, 6, 12), (2.0, 1.0, 0.5)
    ref = np.zeros(sh, np.int32)
    pred = np.zeros(sh, np.int32)
    ref[2, 3, 4] = 1
    pred[5, 3, 9] = 1
    cases.append(("voxels3d", ref, pred, sp, 2, [1.0, 6.5001]))
    return cases


# ---------------- voxel mode: independent float64 reference ----------------
def voxel_edges(m):
    return m ^ ndi.binary_erosion(m)  # cross structuring element, border_value=0


def directed_voxel(a_edges, b_edges, spacing):
    if not b_edges.any():
        return np.full(int(a_edges.sum()), np.inf)
    dt = ndi.distance_transform_edt(~b_edges, sampling=spacing)
    return dt[a_edges]


def own_voxel(r, p, spacing, taus):
    er, ep = voxel_edges(r), voxel_edges(p)
    d_pr = directed_voxel(ep, er, spacing)
    d_rp = directed_voxel(er, ep, spacing)
    if d_pr.size + d_rp.size == 0:
        return None
    hd = max(d_pr.max() if d_pr.size else -np.inf, d_rp.max() if d_rp.size else -np.inf)
    hd95 = max(np.percentile(d_pr, 95) if d_pr.size else -np.inf,
               np.percentile(d_rp, 95) if d_rp.size else -np.inf)
    assd = np.concatenate([d_pr, d_rp]).mean()
    masd = 0.5 * ((d_pr.mean() if d_pr.size else np.inf) + (d_rp.mean() if d_rp.size else np.inf))
    nsd = [(np.sum(d_pr <= t) + np.sum(d_rp <= t)) / (d_pr.size + d_rp.size) for t in taus]
    return dict(hd=hd, hd95=hd95, assd=assd, masd=masd, nsd=nsd,
                dists=np.concatenate([d_pr, d_rp]))


def monai_voxel(r, p, spacing, taus):
    yp = torch.from_numpy(p[None, None].astype(np.float32))
    yt = torch.from_numpy(r[None, None].astype(np.float32))
    sp = list(spacing)
    hd = compute_hausdorff_distance(yp, yt, include_background=True, spacing=sp)[0, 0].item()
    hd95 = compute_hausdorff_distance(yp, yt, include_background=True, percentile=95,
                                      spacing=sp)[0, 0].item()
    assd = compute_average_surface_distance(yp, yt, include_background=True, symmetric=True,
                                            spacing=sp)[0, 0].item()
    m1 = compute_average_surface_distance(yp, yt, include_background=True, symmetric=False,
                                          spacing=sp)[0, 0].item()
    m2 = compute_average_surface_distance(yt, yp, include_background=True, symmetric=False,
                                          spacing=sp)[0, 0].item()
    nsd = [compute_surface_dice(yp, yt, [t], include_background=True, spacing=sp)[0, 0].item()
           for t in taus]
    return dict(hd=hd, hd95=hd95, assd=assd, masd=0.5 * (m1 + m2), nsd=nsd)


def deepmind_surfel(r, p, spacing, taus):
    sd = sdm.compute_surface_distances(r.astype(bool), p.astype(bool), list(spacing))
    dg, dp = sd["distances_gt_to_pred"], sd["distances_pred_to_gt"]
    ag, ap = sd["surfel_areas_gt"], sd["surfel_areas_pred"]
    hd = sdm.compute_robust_hausdorff(sd, 100)
    hd95 = sdm.compute_robust_hausdorff(sd, 95)
    m = sdm.compute_average_surface_distance(sd)
    with np.errstate(invalid="ignore", divide="ignore"):
        assd = (np.sum(dg * ag) + np.sum(dp * ap)) / (np.sum(ag) + np.sum(ap))
    nsd = [sdm.compute_surface_dice_at_tolerance(sd, t) for t in taus]
    return dict(hd=hd, hd95=hd95, assd=assd, masd=0.5 * (m[0] + m[1]), nsd=nsd,
                dists=np.concatenate([dg, dp]))


def close(a, b, rel):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(1.0, abs(b))


def surface_entry(r, p, spacing, taus, mode, empty_conv):
    nr, np_ = bool(r.any()), bool(p.any())
    if mode == "voxel" and empty_conv == "monai" and not (nr and np_):
        m = monai_voxel(r, p, spacing, taus)  # MONAI itself follows the default convention
        want = float("nan") if not nr and not np_ else float("inf")
        for k in ("hd", "assd"):
            assert close(m[k], want, 0), (k, m[k], want)
        # MONAI 1.6.1 gives NaN for HD95 with one mask empty (torch.quantile of all-inf
        # distances); medcl keeps +inf there as REFERENCE.md says.
        assert math.isnan(m["hd95"]), ("hd95", m["hd95"])
        for x in m["nsd"]:
            assert close(x, float("nan") if not nr and not np_ else 0.0, 0), ("nsd", x)
    if not nr and not np_:  # both empty: a convention, not a computation
        if empty_conv == "monai":
            return dict(hd="nan", hd95="nan", assd="nan", masd="nan", nsd=["nan"] * len(taus))
        return dict(hd=0.0, hd95=0.0, assd=0.0, masd=0.0, nsd=[1.0] * len(taus))
    if not nr or not np_:  # one empty: inf distances, NSD 0 in both conventions
        return dict(hd="inf", hd95="inf", assd="inf", masd="inf", nsd=[0.0] * len(taus))
    if mode == "voxel":
        v = monai_voxel(r, p, spacing, taus)
        own = own_voxel(r, p, spacing, taus)
        for k in ("hd", "hd95", "assd", "masd"):
            assert close(v[k], own[k], 2e-6), (k, v[k], own[k])
        for a, b in zip(v["nsd"], own["nsd"]):
            assert close(a, b, 2e-6), ("nsd", a, b)
        dists = own["dists"]
        # goldens: the float64 scipy/numpy values; MONAI's own float32 output rides along
        # as `monai_f32` (its torch.quantile interpolates in float32: ~2e-6 off at worst)
        raw = dict(hd=jnum(v["hd"]), hd95=jnum(v["hd95"]), assd=jnum(v["assd"]),
                   masd=jnum(v["masd"]), nsd=[jnum(x) for x in v["nsd"]])
        v = dict(own, monai_f32=raw)
    else:
        v = deepmind_surfel(r, p, spacing, taus)
        dists = v["dists"]
    for t in taus:  # a distance within rounding of tau (but not exactly tau) is fragile
        gap = np.abs(dists - t)
        assert not np.any((gap > 0) & (gap <= 1e-5)), ("tau tie", t, mode, spacing, dists[np.abs(dists - t) <= 1e-5][:3])
    out = dict(hd=jnum(v["hd"]), hd95=jnum(v["hd95"]), assd=jnum(v["assd"]),
               masd=jnum(v["masd"]), nsd=[jnum(x) for x in v["nsd"]])
    if "monai_f32" in v:
        out["monai_f32"] = v["monai_f32"]
    return out


def overlap_entry(r, p):
    tp = int(np.sum(r & p))
    fp = int(np.sum(~r & p))
    fn = int(np.sum(r & ~p))
    tn = int(np.sum(~r & ~p))
    if tp + fp + fn == 0:
        d_nan = i_nan = float("nan")
        d_one = i_one = 1.0
    else:
        d_nan = d_one = 2 * tp / (2 * tp + fp + fn)
        i_nan = i_one = tp / (tp + fp + fn)
    return dict(tp=tp, fp=fp, fn=fn, tn=tn, dice_nan=jnum(d_nan), dice_one=jnum(d_one),
                iou_nan=jnum(i_nan), iou_one=jnum(i_one))


def case_json(name, ref, pred, sp, k, taus):
    is2d = ref.shape[0] == 1
    spacing = sp[1:] if is2d else sp
    classes = []
    for c in range(k):
        r = ref == c
        p = pred == c
        if is2d:
            r, p = r[0], p[0]
        e = dict(label=c)
        e.update(overlap_entry(r, p))
        e["voxel_monai"] = surface_entry(r, p, spacing, taus, "voxel", "monai")
        e["voxel_reloaded"] = surface_entry(r, p, spacing, taus, "voxel", "reloaded")
        e["surfel_monai"] = surface_entry(r, p, spacing, taus, "surfel", "monai")
        e["surfel_reloaded"] = surface_entry(r, p, spacing, taus, "surfel", "reloaded")
        classes.append(e)
    return dict(name=name, shape=list(ref.shape), spacing=list(sp), num_classes=k,
                taus=taus, ref_rle=rle(ref), pred_rle=rle(pred), classes=classes)


# ---------------- classification and calibration ----------------
def classification_json(name, n, k, seed, quantum):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.standard_normal((n, k)) * 1.5
    logits[np.arange(n), y] += 1.2
    pr = np.exp(logits)
    pr /= pr.sum(1, keepdims=True)
    pr = np.round(pr / quantum) * quantum  # ties for the rank formula, exact in float32
    pr = pr.astype(np.float32).astype(np.float64)
    yhat = np.argmax(pr, 1)
    labels = list(range(k))
    cm = skm.confusion_matrix(y, yhat, labels=labels)
    prec = skm.precision_score(y, yhat, labels=labels, average=None, zero_division=np.nan)
    rec = skm.recall_score(y, yhat, labels=labels, average=None, zero_division=np.nan)
    f1 = skm.f1_score(y, yhat, labels=labels, average=None, zero_division=np.nan)
    spec = []
    for c in labels:
        tn = np.sum((y != c) & (yhat != c))
        fp = np.sum((y != c) & (yhat == c))
        spec.append(tn / (tn + fp) if tn + fp else float("nan"))
    auc = [skm.roc_auc_score(y == c, pr[:, c]) for c in labels]
    if k == 2:
        assert close(auc[1], skm.roc_auc_score(y, pr[:, 1]), 1e-12)
    conf = pr.max(1)
    correct = (yhat == y).astype(np.float64)
    edges = np.arange(0, 1.00001, 0.1)
    num = 0.0
    tot = 0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        nb = int(sel.sum())
        if nb:
            num += nb * abs(correct[sel].mean() - conf[sel].mean())
            tot += nb
    ece = num / tot
    onehot = np.eye(k)[y]
    brier = np.mean(np.sum((pr - onehot) ** 2, 1))
    nll = -np.mean(np.log(np.maximum(pr[np.arange(n), y], 1e-15)))
    return dict(name=name, n=n, num_classes=k, labels=[int(v) for v in y],
                probs=[jnum(v) for v in pr.ravel()], confusion=[int(v) for v in cm.ravel()],
                sensitivity=[jnum(v) for v in rec], specificity=[jnum(v) for v in spec],
                precision=[jnum(v) for v in prec], f1=[jnum(v) for v in f1],
                accuracy=jnum(skm.accuracy_score(y, yhat)),
                balanced_accuracy=jnum(skm.balanced_accuracy_score(y, yhat)),
                auc=[jnum(v) for v in auc], auc_macro=jnum(np.mean(auc)),
                ece=jnum(ece), brier=jnum(brier), nll=jnum(nll))


# ---------------- surfel area table for the C code ----------------
def write_table():
    rows = []
    for code in range(256):
        normals = lookup_tables._NEIGHBOUR_CODE_TO_NORMALS[code]
        ints = []
        for nv in normals:
            t = [int(round(x * 8)) for x in nv]
            assert all(abs(x * 8 - ti) < 1e-12 for x, ti in zip(nv, t))
            ints.append("{%d, %d, %d}" % tuple(t))
        count = len(ints)
        if normals == [[0, 0, 0]]:  # codes 0 and 255: no surface
            count = 0
        rows.append("    /* %3d */ {%d, {%s}}," % (code, count, ", ".join(ints)))
    text = """/* src/eval/metrics_surfel_table.c — the 2x2x2 neighbourhood-code → surfel normals table of
 * DeepMind's surface-distance (lookup_tables._NEIGHBOUR_CODE_TO_NORMALS, made by marching
 * cubes; Apache License 2.0, Copyright 2018 Google Inc.). Each normal is stored in eighths;
 * its length, after scaling component i by the product of the other two spacings, is the
 * area of one triangle of the surfel. Generated by tools/golden/gen_metrics_golden.py: do
 * not edit. Used only by metrics_surface.c; the 2D contour lengths are computed there. */
#include "eval/metrics_internal.h"

const medcl_surfel_code medcl_surfel_normals[256] = {
%s
};
""" % "\n".join(rows)
    with open(OUT_TABLE, "w") as f:
        f.write(text)


def main():
    cases = [case_json(*c) for c in make_cases()]
    cls = [classification_json("multiclass", 160, 4, 7, 1.0 / 64),
           classification_json("binary_ties", 60, 2, 8, 1.0 / 8)]
    doc = dict(format="medcl-metrics-golden-1",
               generator="tools/golden/gen_metrics_golden.py",
               versions=dict(numpy=np.__version__, monai=__import__("monai").__version__,
                             torch=torch.__version__,
                             sklearn=__import__("sklearn").__version__,
                             scipy=__import__("scipy").__version__,
                             surface_distance="0.1"),
               cases=cases, classification=cls)
    with open(OUT_JSON, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    write_table()
    print("wrote", OUT_JSON, os.path.getsize(OUT_JSON), "bytes;", OUT_TABLE)


if __name__ == "__main__":
    sys.exit(main())
