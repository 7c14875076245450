/* src/ops/conv_tuning.c — per-device tile sizes for the implicit-GEMM convolution kernels
 * (cl/conv.cl), matched by device-name substring and device type, with defaults for CPU and
 * GPU. The values become -D defines, so they depend only on the device, never on shapes.
 * Leaves out: tuning by measurement (perf/bench_conv --tune measures candidates and prints the
 * best; its winner is copied into this table by hand).
 * MEDCL_CONV_TUNE="TM,TN,TK,WPTM,WPTN[,APAD[,VEC[,DBUF[,SHRINK]]]]" overrides the table (tuning runs);
 * fields left out keep the table's values. */
#include "ops_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* v[]: TM, TN, TK, WPTM, WPTN, APAD, BWG, work-groups wanted per compute unit, VEC, DBUF,
 * SHRINK (largest factor by which TM may shrink for GEMMs with few rows: 1, 2 or 4; each factor
 * is one more program variant to build) */
enum { T_TM, T_TN, T_TK, T_WPTM, T_WPTN, T_APAD, T_BWG, T_GPC, T_VEC, T_DBUF, T_SHRINK, T_COUNT };

typedef struct conv_tune_entry {
    const char *name_substring; /* NULL: match by type only */
    medcl_device_type type;
    int v[T_COUNT];
} conv_tune_entry;

/* First match wins; the last two rows are the defaults.
 * CPU (PoCL, AVX-512, 2 cores), measured with perf/bench_conv (perf/RESULTS.md): each
 * work-item holds WPTM rows of one float16 (WPTN = 16: an AVX-512 register) of adjacent
 * outputs (VEC = 1), single-buffered local tiles 32 deep (TK = 32: 1.2-1.6x faster than 16 in
 * `bench_conv --tune`, fewer barriers and accumulator spills per FMA; 64 was as fast on most
 * shapes but slower for the 32 x 256 variant, whose B tile then leaves the L1 cache).
 * GPU: the classic 128x128 SGEMM tile with 8x8 outputs per work-item (256 work-items, 64
 * scalar accumulators: no float16 per work-item, which spills), columns strided across
 * work-items so local reads are bank-conflict free (VEC = 0), A/B tiles padded by one float,
 * register prefetch + double-buffered local tiles (DBUF = 1): 2 x 2 x 16 x 129 x 4 B = 33 KB
 * of local memory, under the 48 KB of NVIDIA's OpenCL; 64- and 32-row variants (SHRINK 4) for
 * the 32- and 64-channel U-Net levels. On the CPU the shrunk variants keep 8 accumulator rows
 * per work-item and widen TN instead (64 x 128 and 32 x 256 tiles), which made the 32-channel
 * levels 1.5-1.8x faster than the 64-row tile (perf/RESULTS.md), so SHRINK 4 there. On an
 * H100 the NVIDIA row and the 64 x 64 tile of the generic GPU row were within 5% of each
 * other (geometric mean over the 2D U-Net shapes; 128 x 128 ahead at 128 channels, behind at
 * 256 and 512; perf/RESULTS.md); `bench_conv --tune` on a GPU prints the winner to copy here. */
static const conv_tune_entry table[] = {
    {"NVIDIA", MEDCL_DEVICE_TYPE_GPU, {128, 128, 16, 8, 8, 1, 256, 4, 0, 1, 4}},
    {NULL, MEDCL_DEVICE_TYPE_CPU, {128, 64, 32, 8, 16, 0, 64, 4, 1, 0, 4}},
    {NULL, MEDCL_DEVICE_TYPE_GPU, {64, 64, 16, 4, 4, 1, 256, 4, 0, 1, 2}},
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

/* Fills v[T_COUNT] for the device; returns false when MEDCL_CONV_TUNE is malformed or the
 * tiles break the kernel's rules or the device's limits. */
bool medcl_conv_tuning_get(const medcl_device_info *info, int v[T_COUNT]);
bool medcl_conv_tuning_get(const medcl_device_info *info, int v[T_COUNT]) {
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
        int o[9] = {0, 0, 0, 0, 0, v[T_APAD], v[T_VEC], v[T_DBUF], v[T_SHRINK]};
        int n = sscanf(env, "%d,%d,%d,%d,%d,%d,%d,%d,%d", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                       &o[7], &o[8]);
        if (n < 5) return false;
        for (int i = 0; i < 6; i++) v[i] = o[i];
        v[T_VEC] = o[6];
        v[T_DBUF] = o[7];
        v[T_SHRINK] = o[8];
    }
    /* the kernel's divisibility rules (cl/conv.cl #error) and the device's limits */
    int tm = v[T_TM], tn = v[T_TN], tk = v[T_TK], wptn = v[T_WPTN];
    if (tm <= 0 || tn <= 0 || tk <= 0 || v[T_WPTM] <= 0 || wptn <= 0 || v[T_APAD] < 0) return false;
    if (tm % v[T_WPTM] || tn % wptn) return false;
    if (v[T_VEC] != 0 && v[T_VEC] != 1) return false;
    if (v[T_DBUF] != 0 && v[T_DBUF] != 1) return false;
    if (v[T_SHRINK] != 1 && v[T_SHRINK] != 2 && v[T_SHRINK] != 4) return false;
    if (v[T_VEC] && wptn != 1 && wptn != 2 && wptn != 4 && wptn != 8 && wptn != 16) return false;
    if (v[T_VEC] && tk != 1 && tk != 2 && tk != 4 && tk != 8 && tk % 16) return false;
    int wgs = (tm / v[T_WPTM]) * (tn / wptn);
    if (!v[T_VEC] && (wgs % tk || wgs % tn || (tm * tk) % wgs || (tk * tn) % wgs)) return false;
    if ((size_t)wgs > info->max_work_group) return false;
    size_t local = (size_t)(v[T_DBUF] + 1) * tk * (size_t)(tm + tn + 2 * v[T_APAD]) * sizeof(float);
    if (info->local_mem && local > info->local_mem) return false;
    while ((size_t)v[T_BWG] > info->max_work_group && v[T_BWG] > 1) v[T_BWG] /= 2;
    return true;
}
