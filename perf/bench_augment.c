/* perf/bench_augment.c — augmentation throughput: voxels/s of each transform alone (p = 1)
 * and of the nnU-Net preset, on a 3D volume (1 x 1 x 128^3) and a 2D batch (16 x 1 x 512^2);
 * --small uses 64^3 and 4 x 256^2 (PoCL, about a minute). Each case is checked first (output
 * finite and changed; the numerics are checked against float64 references in
 * tests/test_augment_*.c), warmed up, then timed with clFinish + monotonic clock; the median
 * is printed with the device line. Left out: JSON output files (figures go to the report). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "medcl/augment.h"

typedef struct {
    medcl_augment_pipeline *p;
    medcl_tensor *x, *l;
    uint32_t epoch;
} job;

static bool run_once(void *u) {
    job *j = u;
    return medcl_augment_pipeline_apply(j->p, j->x, j->l, 1234, j->epoch++, 0) == MEDCL_OK;
}

static medcl_augment_transform one(medcl_augment_kind k) {
    medcl_augment_transform t = MEDCL_AUGMENT_TRANSFORM_INIT;
    t.kind = k;
    t.range[0] = 0.5f, t.range[1] = 1.0f;
    switch (k) {
    case MEDCL_AUGMENT_SPATIAL:
        t.spatial.p_rotation = t.spatial.p_scale = t.spatial.p_elastic = 1;
        for (int a = 0; a < 3; a++) t.spatial.rotation[a][0] = -30, t.spatial.rotation[a][1] = 30;
        t.spatial.scale[0] = 0.7f, t.spatial.scale[1] = 1.4f;
        t.spatial.label_interp = MEDCL_AUGMENT_LABEL_ONEHOT;
        break;
    case MEDCL_AUGMENT_BIAS_FIELD: t.range[0] = -0.5f; break;
    case MEDCL_AUGMENT_COARSE_DROPOUT: t.count[0] = 2, t.count[1] = 4, t.range[0] = 0.1f, t.range[1] = 0.3f; break;
    case MEDCL_AUGMENT_MOTION: t.count[0] = 1, t.count[1] = 2, t.range[0] = -3, t.range[1] = 3; break;
    case MEDCL_AUGMENT_GHOSTING: t.count[0] = 2, t.count[1] = 4; break;
    case MEDCL_AUGMENT_SPIKE: t.count[0] = 1, t.count[1] = 2, t.range[0] = 0.1f, t.range[1] = 0.3f; break;
    case MEDCL_AUGMENT_GAMMA: t.range[0] = 0.7f, t.range[1] = 1.5f, t.retain_stats = 1; break;
    default: break;
    }
    return t;
}

static int bench_shape(medcl_context *ctx, const int64_t sh[5], int runs, bool kspace) {
    int64_t n = sh[0] * sh[1] * sh[2] * sh[3] * sh[4], ls[5] = {sh[0], 1, sh[2], sh[3], sh[4]};
    float *h = malloc(sizeof(float) * (size_t)n), *hl = malloc(sizeof(float) * (size_t)(n / sh[1]));
    for (int64_t i = 0; i < n; i++) h[i] = 1.0f + 0.5f * sinf((float)i * 0.001f) + (float)(i % 7) * 0.01f;
    for (int64_t i = 0; i < n / sh[1]; i++) hl[i] = (float)((i / 1000) % 3);
    medcl_tensor *x = NULL, *l = NULL;
    if (medcl_tensor_create_f32(ctx, "x", 5, sh, &x) || medcl_tensor_create_f32(ctx, "label", 5, ls, &l) ||
        medcl_tensor_upload(x, h, sizeof(float) * (size_t)n) || medcl_tensor_upload(l, hl, sizeof(float) * (size_t)(n / sh[1]))) {
        fprintf(stderr, "setup: %s\n", medcl_last_error());
        return 1;
    }
    printf("shape N=%lld C=%lld D=%lld H=%lld W=%lld (%lld voxels)\n", (long long)sh[0], (long long)sh[1], (long long)sh[2],
           (long long)sh[3], (long long)sh[4], (long long)n);
    printf("%-16s %10s %12s %8s\n", "transform", "median ms", "Mvoxel/s", "spread");
    int rc = 0;
    for (int k = -1; k < MEDCL_AUGMENT_KIND_COUNT; k++) {
        bool ks = k == MEDCL_AUGMENT_MOTION || k == MEDCL_AUGMENT_GHOSTING || k == MEDCL_AUGMENT_SPIKE;
        if (ks && !kspace) continue;
        job j = {NULL, x, l, 0};
        const char *name = k < 0 ? "nnunet preset" : medcl_augment_kind_str((medcl_augment_kind)k);
        if (k < 0) {
            int64_t patch[3] = {sh[2], sh[3], sh[4]};
            medcl_augment_preset("nnunet", sh[2] > 1 ? 3 : 2, patch, &j.p);
        } else {
            medcl_augment_transform t = one((medcl_augment_kind)k);
            medcl_augment_pipeline_create(&j.p);
            medcl_augment_pipeline_add(j.p, &t);
        }
        /* check: runs, finite, changed */
        medcl_tensor_upload(x, h, sizeof(float) * (size_t)n);
        bool ok = run_once(&j);
        float *y = ok ? malloc(sizeof(float) * (size_t)n) : NULL;
        if (ok) ok = medcl_tensor_download(x, y, sizeof(float) * (size_t)n) == MEDCL_OK;
        bool finite = true, changed = false;
        for (int64_t i = 0; ok && i < n; i++) finite &= isfinite(y[i]) != 0, changed |= y[i] != h[i];
        free(y);
        if (!ok || !finite || (!changed && k >= 0)) {
            printf("%-16s FAILED check (%s)\n", name, ok ? (finite ? "unchanged" : "non-finite") : medcl_last_error());
            rc = 1;
            medcl_augment_pipeline_destroy(j.p);
            continue;
        }
        bu_stats s;
        medcl_tensor_upload(x, h, sizeof(float) * (size_t)n);
        if (!bu_time(ctx, run_once, &j, 1, ks && runs > 3 ? 3 : runs, &s)) {
            printf("%-16s FAILED: %s\n", name, medcl_last_error());
            rc = 1;
        } else {
            printf("%-16s %10.3f %12.1f %7.0f%%\n", name, s.median * 1e3, (double)n / s.median * 1e-6, s.spread * 100);
        }
        medcl_augment_pipeline_destroy(j.p);
    }
    medcl_tensor_destroy(x);
    medcl_tensor_destroy(l);
    free(h);
    free(hl);
    return rc;
}

int main(int argc, char **argv) {
    bool small = argc > 1 && !strcmp(argv[1], "--small");
    medcl_context *ctx = NULL;
    if (medcl_context_create(NULL, &ctx) != MEDCL_OK) {
        fprintf(stderr, "no device: %s\n", medcl_last_error());
        return 1;
    }
    bu_print_device(stdout, ctx);
    int64_t s3[5] = {1, 1, 128, 128, 128}, s2[5] = {16, 1, 1, 512, 512};
    if (small) s3[2] = s3[3] = s3[4] = 64, s2[0] = 4, s2[3] = s2[4] = 256;
    int rc = bench_shape(ctx, s3, small ? 3 : 10, true);
    rc |= bench_shape(ctx, s2, small ? 3 : 10, !small); /* direct DFT: 2D k-space only in full mode */
    medcl_context_destroy(ctx);
    return rc;
}
