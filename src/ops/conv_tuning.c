/* src/ops/conv_tuning.c — per-device tile sizes for the implicit-GEMM convolution kernels
 * (cl/conv.cl), matched by device-name substring and device type, with defaults for CPU and
 * GPU. The values become -D defines, so they depend only on the device, never on shapes.
 * Leaves out: tuning by measurement (a later `medcl kernels tune` would write this table).
 * MEDCL_CONV_TUNE="TM,TN,TK,WPTM,WPTN[,APAD]" overrides the table (for tuning runs). */
#include "ops_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v[]: TM, TN, TK, WPTM, WPTN, APAD, BWG, work-groups wanted per compute unit */
enum { T_TM, T_TN, T_TK, T_WPTM, T_WPTN, T_APAD, T_BWG, T_GPC, T_COUNT };

typedef struct conv_tune_entry {
    const char *name_substring; /* NULL: match by type only */
    medcl_device_type type;
    int v[T_COUNT];
} conv_tune_entry;

/* First match wins; the last two rows are the defaults.
 * CPU (PoCL, AVX-512, 2 cores), measured with perf/bench_conv (perf/RESULTS.md): each
 * work-item holds WPTM rows of one float16 (WPTN = 16: an AVX-512 register) of adjacent
 * outputs. GPU defaults: the classic 64x64 tile, 8x8 per work-item would
 * spill on some drivers, so 4x4 (256 work-items), padded A/B tiles against bank conflicts. */
static const conv_tune_entry table[] = {
    {"NVIDIA", MEDCL_DEVICE_TYPE_GPU, {128, 64, 16, 8, 4, 1, 256, 4}},
    {NULL, MEDCL_DEVICE_TYPE_CPU, {128, 64, 16, 8, 16, 0, 64, 4}},
    {NULL, MEDCL_DEVICE_TYPE_GPU, {64, 64, 16, 4, 4, 1, 256, 4}},
};

static bool contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && (p[i] | 32) == (needle[i] | 32)) i++;
        if (i == n) return true;
    }
    return false;
}

/* Fills v[T_COUNT] for the device; returns false when MEDCL_CONV_TUNE is malformed. */
bool medcl_conv_tuning_get(const medcl_device_info *info, int v[8]);
bool medcl_conv_tuning_get(const medcl_device_info *info, int v[8]) {
    const conv_tune_entry *e = &table[sizeof table / sizeof table[0] - 1];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const conv_tune_entry *t = &table[i];
        bool type_ok = t->type == MEDCL_DEVICE_TYPE_CPU ? info->type == MEDCL_DEVICE_TYPE_CPU
                                                   : info->type != MEDCL_DEVICE_TYPE_CPU;
        if (!type_ok) continue;
        if (t->name_substring && !contains_ci(info->name, t->name_substring) &&
            !contains_ci(info->vendor, t->name_substring))
            continue;
        e = t;
        break;
    }
    memcpy(v, e->v, sizeof e->v);
    const char *env = medcl_env("MEDCL_CONV_TUNE");
    if (env) {
        int o[6] = {0, 0, 0, 0, 0, v[T_APAD]};
        int n = sscanf(env, "%d,%d,%d,%d,%d,%d", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5]);
        if (n < 5) return false;
        for (int i = 0; i < 6; i++) v[i] = o[i];
    }
    /* the kernel's divisibility rules (cl/conv.cl #error) and the device's group limit */
    int tm = v[T_TM], tn = v[T_TN], tk = v[T_TK];
    if (tm <= 0 || tn <= 0 || tk <= 0 || v[T_WPTM] <= 0 || v[T_WPTN] <= 0) return false;
    if (tm % v[T_WPTM] || tn % v[T_WPTN]) return false;
    int wgs = (tm / v[T_WPTM]) * (tn / v[T_WPTN]);
    if (wgs % tk || wgs % tn || (tm * tk) % wgs || (tk * tn) % wgs) return false;
    if ((size_t)wgs > info->max_work_group) return false;
    while ((size_t)v[T_BWG] > info->max_work_group && v[T_BWG] > 1) v[T_BWG] /= 2;
    return true;
}
