/* src/eval/report_json.c — helpers that build report.json sections with cJSON
 * (medcl/report.h): numbers with the non-finite convention (NaN → null, ±inf → "inf" /
 * "-inf"), bootstrap intervals, device description, metric conventions, counts, series,
 * matrices, surface-metric results, and the atomic writer.
 *
 * Left out: which sections a report has (the eval command decides) and reading reports back. */
#include "medcl/report.h"
#include "core/internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOM() medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report.json: out of memory")

cJSON *medcl_report_json_number(double v) {
    if (isnan(v)) return cJSON_CreateNull();
    if (isinf(v)) return cJSON_CreateString(v > 0 ? "inf" : "-inf");
    return cJSON_CreateNumber(v);
}

/* obj[key] = item (replacing), taking ownership of item in every case. */
static medcl_status put(cJSON *obj, const char *key, cJSON *item) {
    if (!item) return OOM();
    if (!obj || !key || !cJSON_IsObject(obj)) {
        cJSON_Delete(item);
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: member \"%s\": parent is NULL or not an object",
                          key ? key : "(null)");
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)) {
            cJSON_Delete(item);
            return OOM();
        }
        return MEDCL_OK;
    }
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return OOM();
    }
    return MEDCL_OK;
}

static medcl_status put_num(cJSON *obj, const char *key, double v) {
    return put(obj, key, medcl_report_json_number(v));
}

static medcl_status put_str(cJSON *obj, const char *key, const char *s) {
    return put(obj, key, cJSON_CreateString(s ? s : ""));
}

static medcl_status put_bool(cJSON *obj, const char *key, bool b) {
    return put(obj, key, cJSON_CreateBool(b));
}

medcl_status medcl_report_json_root(cJSON **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: out is NULL");
    *out = NULL;
    medcl_status st = MEDCL_OK;
    cJSON *root = cJSON_CreateObject();
    if (!root) return OOM();
    MEDCL_TRY(put_str(root, "schema", "medcl-report/1"));
    MEDCL_TRY(put_str(root, "library_version", medcl_version()));
    *out = root;
    root = NULL;
cleanup:
    cJSON_Delete(root);
    return st;
}

medcl_status medcl_report_json_section(cJSON *obj, const char *key, cJSON **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: out is NULL");
    *out = NULL;
    if (!obj || !key || !cJSON_IsObject(obj))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: section \"%s\": parent is NULL or not an object",
                          key ? key : "(null)");
    cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (s) {
        if (!cJSON_IsObject(s))
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: member \"%s\" exists and is not an object", key);
        *out = s;
        return MEDCL_OK;
    }
    s = cJSON_CreateObject();
    medcl_status st = put(obj, key, s);
    if (st == MEDCL_OK) *out = s;
    return st;
}

medcl_status medcl_report_json_add_number(cJSON *obj, const char *key, double v) {
    return put_num(obj, key, v);
}

medcl_status medcl_report_json_add_ci(cJSON *obj, const char *key, const medcl_ci *ci,
                                      double confidence) {
    if (!ci) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: interval \"%s\" is NULL", key ? key : "(null)");
    medcl_status st = MEDCL_OK;
    cJSON *o = cJSON_CreateObject();
    if (!o) return OOM();
    MEDCL_TRY(put_num(o, "estimate", ci->estimate));
    MEDCL_TRY(put_num(o, "lower", ci->lower));
    MEDCL_TRY(put_num(o, "upper", ci->upper));
    MEDCL_TRY(put_num(o, "confidence", confidence));
    MEDCL_TRY(put_num(o, "n", (double)ci->num_used));
    MEDCL_TRY(put_num(o, "n_ignored", (double)ci->num_ignored));
    st = put(obj, key, o);
    o = NULL;
cleanup:
    cJSON_Delete(o);
    return st;
}

medcl_status medcl_report_json_add_device(cJSON *obj, const medcl_device_info *info,
                                          const char *kernel_hash) {
    if (!info) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: device info is NULL");
    medcl_status st = MEDCL_OK;
    cJSON *o = cJSON_CreateObject();
    if (!o) return OOM();
    MEDCL_TRY(put_str(o, "name", info->name));
    MEDCL_TRY(put_str(o, "vendor", info->vendor));
    MEDCL_TRY(put_str(o, "platform", info->platform));
    MEDCL_TRY(put_str(o, "version", info->version));
    MEDCL_TRY(put_str(o, "driver", info->driver));
    MEDCL_TRY(put_str(o, "opencl_c", info->c_version));
    MEDCL_TRY(put_str(o, "type", medcl_device_type_str(info->type)));
    MEDCL_TRY(put_num(o, "compute_units", (double)info->compute_units));
    MEDCL_TRY(put_num(o, "clock_mhz", (double)info->clock_mhz));
    MEDCL_TRY(put_num(o, "global_mem_bytes", (double)info->global_mem));
    MEDCL_TRY(put_num(o, "local_mem_bytes", (double)info->local_mem));
    MEDCL_TRY(put_num(o, "max_alloc_bytes", (double)info->max_alloc));
    MEDCL_TRY(put_bool(o, "fp16", info->fp16));
    MEDCL_TRY(put_bool(o, "fp64", info->fp64));
    st = put(obj, "device", o);
    o = NULL;
    if (st == MEDCL_OK && kernel_hash) st = put_str(obj, "kernel_hash", kernel_hash);
cleanup:
    cJSON_Delete(o);
    return st;
}

medcl_status medcl_report_json_add_conventions(cJSON *obj, const medcl_empty_mode *overlap,
                                               const medcl_surface_options *surface,
                                               const medcl_bootstrap_options *bootstrap) {
    medcl_status st = MEDCL_OK;
    cJSON *o = cJSON_CreateObject(), *tol = NULL;
    if (!o) return OOM();
    if (overlap) {
        bool nan = *overlap == MEDCL_EMPTY_NAN;
        MEDCL_TRY(put_str(o, "dice_iou_both_empty", nan ? "nan" : "one"));
        MEDCL_TRY(put_str(o, "dice_iou_both_empty_follows", nan ? "nnU-Net, DeepMind (NaN, excluded from means)"
                                                                : "Metrics Reloaded (1)"));
        MEDCL_TRY(put_str(o, "aggregation", "per case and class, then mean over cases ignoring NaN"));
    }
    if (surface) {
        bool voxel = surface->boundary == MEDCL_BOUNDARY_VOXEL;
        MEDCL_TRY(put_str(o, "surface_boundary", voxel ? "voxel" : "surfel"));
        MEDCL_TRY(put_str(o, "surface_boundary_follows",
                          voxel ? "MONAI, Metrics Reloaded (mask XOR erosion, exact EDT)"
                                : "DeepMind surface-distance (surfels, area-weighted)"));
        bool monai = surface->empty == MEDCL_SURFACE_EMPTY_MONAI;
        MEDCL_TRY(put_str(o, "surface_both_empty", monai ? "nan (MONAI)" : "distances 0, NSD 1 (Metrics Reloaded)"));
        MEDCL_TRY(put_str(o, "surface_one_empty", "distances inf, NSD 0"));
        MEDCL_TRY(put_num(o, "hausdorff_percentile", surface->percentile));
        MEDCL_TRY(put_str(o, "units", "mm"));
        tol = cJSON_CreateArray();
        if (!tol) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.json: out of memory");
        int nt = surface->num_tolerances;
        if (nt < 0) nt = 0;
        if (nt > MEDCL_SURFACE_MAX_TOLERANCES) nt = MEDCL_SURFACE_MAX_TOLERANCES;
        for (int i = 0; i < nt; i++) {
            cJSON *v = medcl_report_json_number(surface->tolerance_mm[i]);
            if (!v || !cJSON_AddItemToArray(tol, v)) {
                cJSON_Delete(v);
                MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.json: out of memory");
            }
        }
        st = put(o, "nsd_tolerances_mm", tol);
        tol = NULL;
        if (st != MEDCL_OK) goto cleanup;
    }
    if (bootstrap) {
        MEDCL_TRY(put_str(o, "interval", "percentile bootstrap over cases"));
        MEDCL_TRY(put_num(o, "bootstrap_resamples", (double)bootstrap->num_resamples));
        MEDCL_TRY(put_num(o, "confidence", bootstrap->confidence));
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)bootstrap->seed); /* exact above 2^53 */
        MEDCL_TRY(put_str(o, "bootstrap_seed", seed));
    }
    st = put(obj, "metric_conventions", o);
    o = NULL;
cleanup:
    cJSON_Delete(tol);
    cJSON_Delete(o);
    return st;
}

medcl_status medcl_report_json_add_counts(cJSON *obj, const char *key, const char *const *names,
                                          const int64_t *counts, int n) {
    if (n < 0 || (n > 0 && (!names || !counts)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: counts \"%s\": n = %d with NULL arrays",
                          key ? key : "(null)", n);
    medcl_status st = MEDCL_OK;
    cJSON *o = cJSON_CreateObject();
    if (!o) return OOM();
    for (int i = 0; i < n; i++) {
        if (!names[i]) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "report.json: counts \"%s\": names[%d] is NULL", key, i);
        MEDCL_TRY(put_num(o, names[i], (double)counts[i]));
    }
    st = put(obj, key, o);
    o = NULL;
cleanup:
    cJSON_Delete(o);
    return st;
}

static cJSON *number_array(const double *v, int64_t n, bool index_when_null) {
    cJSON *a = cJSON_CreateArray();
    if (!a) return NULL;
    for (int64_t i = 0; i < n; i++) {
        cJSON *e = medcl_report_json_number(v ? v[i] : (index_when_null ? (double)i : NAN));
        if (!e || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

medcl_status medcl_report_json_add_series(cJSON *obj, const char *key, const double *x,
                                          const double *y, int64_t n) {
    if (n < 0 || (n > 0 && !y))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: series \"%s\": n = %lld, y is NULL",
                          key ? key : "(null)", (long long)n);
    medcl_status st = MEDCL_OK;
    cJSON *o = cJSON_CreateObject();
    if (!o) return OOM();
    MEDCL_TRY(put(o, "x", number_array(x, n, true)));
    MEDCL_TRY(put(o, "y", number_array(y, n, false)));
    st = put(obj, key, o);
    o = NULL;
cleanup:
    cJSON_Delete(o);
    return st;
}

medcl_status medcl_report_json_add_matrix(cJSON *obj, const char *key, const double *values,
                                          int rows, int cols) {
    if (rows < 0 || cols < 0 || (rows * (int64_t)cols > 0 && !values))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: matrix \"%s\": %d x %d with values NULL",
                          key ? key : "(null)", rows, cols);
    cJSON *m = cJSON_CreateArray();
    if (!m) return OOM();
    for (int r = 0; r < rows; r++) {
        cJSON *row = number_array(values + (int64_t)r * cols, cols, false);
        if (!row || !cJSON_AddItemToArray(m, row)) {
            cJSON_Delete(row);
            cJSON_Delete(m);
            return OOM();
        }
    }
    return put(obj, key, m);
}

medcl_status medcl_report_json_add_surface(cJSON *obj, const char *key, const medcl_surface_result *r,
                                           const medcl_surface_options *opt) {
    if (!r) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: surface \"%s\" is NULL", key ? key : "(null)");
    medcl_surface_options def = MEDCL_SURFACE_OPTIONS_INIT;
    if (!opt) opt = &def;
    medcl_status st = MEDCL_OK;
    cJSON *o = cJSON_CreateObject(), *nsd = NULL;
    if (!o) return OOM();
    char name[64];
    MEDCL_TRY(put_num(o, "hd", r->hd));
    MEDCL_TRY(put_num(o, "hd_percentile", r->hd_percentile));
    MEDCL_TRY(put_num(o, "percentile", opt->percentile));
    MEDCL_TRY(put_num(o, "assd", r->assd));
    MEDCL_TRY(put_num(o, "masd", r->masd));
    nsd = cJSON_CreateObject();
    if (!nsd) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.json: out of memory");
    int nt = opt->num_tolerances;
    if (nt < 0) nt = 0;
    if (nt > MEDCL_SURFACE_MAX_TOLERANCES) nt = MEDCL_SURFACE_MAX_TOLERANCES;
    for (int i = 0; i < nt; i++) {
        snprintf(name, sizeof name, "%g mm", opt->tolerance_mm[i]);
        MEDCL_TRY(put_num(nsd, name, r->nsd[i]));
    }
    st = put(o, "nsd", nsd);
    nsd = NULL;
    if (st != MEDCL_OK) goto cleanup;
    st = put(obj, key, o);
    o = NULL;
cleanup:
    cJSON_Delete(nsd);
    cJSON_Delete(o);
    return st;
}

medcl_status medcl_report_json_write(const cJSON *root, const char *path) {
    if (!root || !path) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report.json: root or path is NULL");
    char *text = cJSON_Print(root);
    if (!text) return OOM();
    size_t n = strlen(text);
    char *buf = malloc(n + 2);
    if (!buf) {
        cJSON_free(text);
        return OOM();
    }
    memcpy(buf, text, n);
    buf[n] = '\n';
    buf[n + 1] = 0;
    cJSON_free(text);
    medcl_status st = medcl_file_write_atomic(path, buf, n + 1);
    free(buf);
    if (st != MEDCL_OK) medcl_error_prefix("report.json %s", path);
    return st;
}
