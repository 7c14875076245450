/* src/eval/protocol_report.c — the report folder of the evaluation protocol: the kernel hash,
 * report.md with the reporting sections of docs/REFERENCE.md (CLAIM 2020 / TRIPOD+AI items
 * software can fill), the SVG figures (training curves, per-set foreground means with
 * interval bars, severity sweeps) and the PNG overlays of the worst and median case of each
 * set; report.json comes from protocol_json.c. Leaves out the numbers themselves
 * (protocol.c) and the chart and overlay drawing (svg.c, overlay.c). */
#include "eval/protocol_internal.h"
#include "medcl/eval_variants.h"
#include "runtime/runtime_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- shared helpers ---------------- */

const char *medcl_protocol_class_name(const medcl_eval_run_info *info, int32_t k, char *buf, size_t cap) {
    if (info && info->class_names && info->class_names[k]) return info->class_names[k];
    snprintf(buf, cap, "class %d", (int)k);
    return buf;
}

const char *medcl_protocol_metric_label(const medcl_eval_options *o, medcl_eval_metric m, char *buf, size_t cap) {
    switch (m) {
    case MEDCL_EVAL_DICE: return "Dice";
    case MEDCL_EVAL_IOU: return "IoU";
    case MEDCL_EVAL_HD: return "HD (mm)";
    case MEDCL_EVAL_HD_PERCENTILE: snprintf(buf, cap, "HD%g (mm)", o->surface.percentile); return buf;
    case MEDCL_EVAL_ASSD: return "ASSD (mm)";
    case MEDCL_EVAL_MASD: return "MASD (mm)";
    case MEDCL_EVAL_NSD:
        snprintf(buf, cap, "NSD@%gmm", o->surface.num_tolerances > 0 ? o->surface.tolerance_mm[0] : NAN);
        return buf;
    case MEDCL_EVAL_SENSITIVITY: return "Sensitivity";
    case MEDCL_EVAL_SPECIFICITY: return "Specificity";
    case MEDCL_EVAL_PRECISION: return "Precision";
    default: return "?";
    }
}

medcl_status medcl_eval_kernel_hash(medcl_context *ctx, char *buf, size_t cap) {
    medcl_status st = MEDCL_OK;
    medcl_program_variant *v = NULL;
    char *src = NULL;
    int n = 0;
    if (!ctx || !buf || cap < 17) return medcl_fail(MEDCL_ERR_INVALID_ARG, "eval_kernel_hash: ctx or buf NULL, or cap %zu < 17", cap);
    buf[0] = 0;
    MEDCL_TRY(medcl_library_variants(ctx, &v, &n));
    uint64_t h = MEDCL_HASH64_INIT;
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        h = medcl_hash64(v[i].program, strlen(v[i].program) + 1, h);
        h = medcl_hash64(v[i].defines, strlen(v[i].defines) + 1, h);
        MEDCL_TRY(medcl_program_source(ctx, v[i].program, &src, &len));
        h = medcl_hash64(src, len, h);
        free(src);
        src = NULL;
    }
    snprintf(buf, cap, "%016llx", (unsigned long long)h);
cleanup:
    free(src);
    free(v);
    return st;
}

/* Letters, digits, '-' and '_' kept; everything else becomes '_'. */
static void sanitize(char *dst, size_t cap, const char *src) {
    size_t j = 0;
    for (size_t i = 0; src[i] && j + 1 < cap; i++) {
        char c = src[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        dst[j++] = ok ? c : '_';
    }
    dst[j] = 0;
}

/* The figures written, by file name. */
typedef struct fig_list {
    char *names[MEDCL_REPORT_MAX_FIGURES];
    int n;
} fig_list;

static medcl_status fig_add(fig_list *f, const char *name) {
    if (f->n == MEDCL_REPORT_MAX_FIGURES) return medcl_fail(MEDCL_ERR_INVALID_ARG, "report: more than %d figures", MEDCL_REPORT_MAX_FIGURES);
    f->names[f->n] = strdup(name);
    if (!f->names[f->n]) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report: out of memory");
    f->n++;
    return MEDCL_OK;
}

static medcl_status save_svg(const char *dir, const char *name, char *svg, fig_list *f) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    medcl_status st = medcl_chart_save(path, svg);
    free(svg);
    return st == MEDCL_OK ? fig_add(f, name) : st;
}

/* ---------------- figures ---------------- */

static medcl_status fig_curves(const char *dir, const medcl_eval_run_info *info, fig_list *f) {
    if (info->num_curves <= 0 || !info->curves) return MEDCL_OK;
    medcl_line_chart c = MEDCL_LINE_CHART_INIT;
    c.title = "Training curves";
    c.x_label = info->curves_x_label ? info->curves_x_label : "epoch";
    c.y_label = info->curves_y_label ? info->curves_y_label : "value";
    c.series = info->curves;
    c.num_series = info->num_curves;
    c.interval = MEDCL_CHART_INTERVAL_NONE;
    char *svg = NULL;
    medcl_status st = medcl_chart_line(&c, &svg);
    return st == MEDCL_OK ? save_svg(dir, "fig_training_curves.svg", svg, f) : st;
}

/* Foreground means of the chosen metrics per set, with interval bars. */
static medcl_status fig_bars(const char *dir, const char *file, const char *title, const char *ylab,
                             const medcl_eval_results *res, const medcl_eval_metric *ms, int nm, int unit_range,
                             fig_list *f) {
    medcl_status st = MEDCL_OK;
    int G = res->num_sets;
    if (G > 256) G = 256;
    double *v = malloc((size_t)(G * nm) * 3 * sizeof *v);
    const char **gn = malloc((size_t)G * sizeof *gn);
    char lab[4][48];
    const char *sn[4];
    char *svg = NULL;
    if (!v || !gn) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report: out of memory");
    for (int q = 0; q < nm; q++) sn[q] = medcl_protocol_metric_label(&res->options, ms[q], lab[q], sizeof lab[q]);
    for (int g = 0; g < G; g++) {
        const medcl_eval_set_result *r = &res->sets[g];
        gn[g] = r->name;
        for (int q = 0; q < nm; q++) {
            const medcl_ci *ci = &r->mean[ms[q]][r->num_classes];
            v[g * nm + q] = ci->estimate;
            v[G * nm + g * nm + q] = ci->lower;
            v[2 * G * nm + g * nm + q] = ci->upper;
        }
    }
    medcl_bar_chart c = MEDCL_BAR_CHART_INIT;
    c.title = title;
    c.x_label = "test set";
    c.y_label = ylab;
    c.num_groups = G;
    c.group_names = gn;
    c.num_series = nm;
    c.series_names = sn;
    c.values = v;
    c.lower = v + G * nm;
    c.upper = v + 2 * G * nm;
    c.width = 160 + 90 * G * (nm > 1 ? nm : 1) > 640 ? 160 + 90 * G * (nm > 1 ? nm : 1) : 640;
    if (c.width > 8000) c.width = 8000;
    if (unit_range) {
        c.fixed_y = true;
        c.y_min = 0.0;
        c.y_max = 1.0;
    }
    MEDCL_TRY(medcl_chart_bar(&c, &svg));
    st = save_svg(dir, file, svg, f);
    svg = NULL;
cleanup:
    free(svg);
    free(v);
    free(gn);
    return st;
}

static medcl_status fig_sweep(const char *dir, int index, const medcl_eval_sweep_result *sw, fig_list *f) {
    medcl_status st = MEDCL_OK;
    int S = sw->num_strengths;
    const medcl_eval_metric ms[2] = {MEDCL_EVAL_DICE, MEDCL_EVAL_NSD};
    double *v = malloc((size_t)S * 6 * sizeof *v);
    char *svg = NULL, lab[2][48], title[256], file[256], kn[64];
    if (!v) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report: out of memory");
    medcl_chart_series series[2];
    for (int q = 0; q < 2; q++) {
        for (int i = 0; i < S; i++) {
            const medcl_eval_set_result *r = &sw->results->sets[i];
            const medcl_ci *ci = &r->mean[ms[q]][r->num_classes];
            v[(3 * q) * S + i] = ci->estimate;
            v[(3 * q + 1) * S + i] = ci->lower;
            v[(3 * q + 2) * S + i] = ci->upper;
        }
        series[q] = (medcl_chart_series){medcl_protocol_metric_label(&sw->results->options, ms[q], lab[q], sizeof lab[q]),
                                         sw->strengths, v + 3 * q * S, v + (3 * q + 1) * S, v + (3 * q + 2) * S, S};
    }
    const char *kind = medcl_augment_kind_str(sw->kind);
    snprintf(title, sizeof title, "Severity sweep: %s on %s", kind, sw->set_name);
    medcl_line_chart c = MEDCL_LINE_CHART_INIT;
    c.title = title;
    c.x_label = kind;
    c.y_label = "foreground mean (95% CI)";
    c.series = series;
    c.num_series = sw->results->options.surface_metrics ? 2 : 1;
    c.interval = MEDCL_CHART_INTERVAL_BAND;
    c.markers = true;
    c.fixed_y = true;
    c.y_min = 0.0;
    c.y_max = 1.0;
    MEDCL_TRY(medcl_chart_sweep(&c, &svg));
    sanitize(kn, sizeof kn, kind);
    snprintf(file, sizeof file, "fig_sweep_%d_%s.svg", index, kn);
    st = save_svg(dir, file, svg, f);
    svg = NULL;
cleanup:
    free(svg);
    free(v);
    return st;
}

static medcl_status fig_overlay(const char *dir, int set_index, const medcl_eval_set_result *r, const char *role,
                                const medcl_eval_example *e, fig_list *f) {
    if (e->case_index < 0 || !e->image) return MEDCL_OK;
    char sn[96], file[256], path[4096];
    sanitize(sn, sizeof sn, r->name);
    snprintf(file, sizeof file, "overlay_%d_%s_%s.png", set_index, sn, role);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    medcl_overlay_options o = MEDCL_OVERLAY_OPTIONS_INIT;
    int64_t m = e->height > e->width ? e->height : e->width;
    o.scale = m >= 256 ? 1 : m >= 128 ? 2 : m >= 48 ? 3 : 4;
    medcl_status st = medcl_overlay_write_png(path, e->image, e->ref, e->pred, e->width, e->height, &o);
    return st == MEDCL_OK ? fig_add(f, file) : st;
}

/* ---------------- report.md ---------------- */

#define MD(call)                                                                                                       \
    do {                                                                                                               \
        st = (call);                                                                                                   \
        if (st != MEDCL_OK) goto cleanup;                                                                              \
    } while (0)

static medcl_status md_text(medcl_md *md, const char *text, const char *missing) {
    return medcl_md_paragraph(md, "%s", text ? text : missing);
}

/* A table of the foreground means (with intervals) of the given metrics per set. */
static medcl_status md_means(medcl_md *md, const medcl_eval_results *res, int gap) {
    medcl_status st = MEDCL_OK;
    const medcl_eval_metric ms[] = {MEDCL_EVAL_DICE, MEDCL_EVAL_IOU, MEDCL_EVAL_HD_PERCENTILE, MEDCL_EVAL_ASSD,
                                    MEDCL_EVAL_NSD};
    const int nm = 5, fixed = gap ? 2 : 4, cols = fixed + nm;
    int rows = 0;
    for (int s = 0; s < res->num_sets; s++) rows += !gap || res->sets[s].gap[0];
    char **cells = calloc((size_t)(rows ? rows : 1) * (size_t)cols, sizeof *cells);
    const char *head[9];
    char lab[5][48];
    char align[10];
    if (!cells) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
    head[0] = "Set";
    head[1] = "Domain";
    if (!gap) head[2] = "Reference", head[3] = "Cases";
    for (int q = 0; q < nm; q++) head[fixed + q] = medcl_protocol_metric_label(&res->options, ms[q], lab[q], sizeof lab[q]);
    for (int c = 0; c < cols; c++) align[c] = c < 2 ? 'l' : 'r';
    align[cols] = 0;
    int row = 0;
    for (int s = 0; s < res->num_sets; s++) {
        const medcl_eval_set_result *r = &res->sets[s];
        if (gap && !r->gap[0]) continue;
        char **c = cells + row * cols;
        char b[128];
        c[0] = strdup(r->name);
        c[1] = strdup(r->domain);
        if (!gap) {
            c[2] = strdup(s == res->reference_set ? "yes" : r->in_domain ? "in-domain" : "");
            snprintf(b, sizeof b, "%lld", (long long)r->num_cases);
            c[3] = strdup(b);
        }
        for (int q = 0; q < nm; q++) {
            const medcl_ci *ci = gap ? &r->gap[ms[q]][r->num_classes] : &r->mean[ms[q]][r->num_classes];
            if (gap && ci->num_used > 0) {
                char e[32], lo[32], hi[32];
                snprintf(b, sizeof b, "%s [%s, %s]", medcl_md_format_number(e, sizeof e, ci->estimate, 3),
                         medcl_md_format_number(lo, sizeof lo, ci->lower, 3),
                         medcl_md_format_number(hi, sizeof hi, ci->upper, 3));
            } else {
                medcl_md_format_ci(b, sizeof b, ci, 3);
            }
            c[fixed + q] = strdup(b);
        }
        for (int q = 0; q < cols; q++)
            if (!c[q]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
        row++;
    }
    if (rows) MD(medcl_md_table(md, rows, cols, head, (const char *const *)cells, align));
cleanup:
    for (int i = 0; i < rows * cols; i++) free(cells[i]);
    free(cells);
    return st;
}

/* Dice per class and set (only when K > 2: with one foreground class it is the table above). */
static medcl_status md_classes(medcl_md *md, const medcl_eval_run_info *info, const medcl_eval_results *res) {
    medcl_status st = MEDCL_OK;
    int32_t K = res->infer.num_classes;
    if (K <= 2) return MEDCL_OK;
    int cols = K + 1, rows = res->num_sets;
    char **cells = calloc((size_t)(rows * cols), sizeof *cells);
    const char **head = calloc((size_t)cols, sizeof *head);
    char (*nb)[64] = calloc((size_t)cols, sizeof *nb);
    if (!cells || !head || !nb) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
    head[0] = "Set (Dice per class)";
    for (int32_t k = 0; k < K; k++) head[k + 1] = medcl_protocol_class_name(info, k, nb[k], sizeof nb[k]);
    for (int s = 0; s < rows; s++) {
        const medcl_eval_set_result *r = &res->sets[s];
        cells[s * cols] = strdup(r->name);
        for (int32_t k = 0; k < K; k++) {
            char b[128];
            medcl_md_format_ci(b, sizeof b, &r->mean[MEDCL_EVAL_DICE][k], 3);
            cells[s * cols + k + 1] = strdup(b);
        }
        for (int q = 0; q < cols; q++)
            if (!cells[s * cols + q]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
    }
    MD(medcl_md_table(md, rows, cols, head, (const char *const *)cells, NULL));
cleanup:
    if (cells)
        for (int i = 0; i < rows * cols; i++) free(cells[i]);
    free(cells);
    free(head);
    free(nb);
    return st;
}

static medcl_status md_sweep(medcl_md *md, const medcl_eval_sweep_result *sw, const char *fig) {
    medcl_status st = MEDCL_OK;
    const medcl_eval_results *res = sw->results;
    const int cols = 5, rows = sw->num_strengths;
    char **cells = calloc((size_t)(rows * cols), sizeof *cells);
    char lab[2][48];
    const char *head[5] = {"Strength", "Dice", "Dice drop", "HD (mm)", "NSD"};
    if (!cells) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
    head[3] = medcl_protocol_metric_label(&res->options, MEDCL_EVAL_HD_PERCENTILE, lab[0], sizeof lab[0]);
    head[4] = medcl_protocol_metric_label(&res->options, MEDCL_EVAL_NSD, lab[1], sizeof lab[1]);
    MD(medcl_md_heading(md, 3, medcl_augment_kind_str(sw->kind)));
    MD(medcl_md_paragraph(md, "Set `%s`, transform `%s` at %d strengths (shift seed %llu); the drop is the mean at "
                              "strength %g minus the mean at each strength.",
                          sw->set_name, medcl_augment_kind_str(sw->kind), sw->num_strengths,
                          (unsigned long long)sw->seed, sw->strengths[res->reference_set]));
    for (int i = 0; i < rows; i++) {
        const medcl_eval_set_result *r = &res->sets[i];
        char b[128];
        int32_t K = r->num_classes;
        char **c = cells + i * cols;
        snprintf(b, sizeof b, "%g", sw->strengths[i]);
        c[0] = strdup(b);
        c[1] = strdup(medcl_md_format_ci(b, sizeof b, &r->mean[MEDCL_EVAL_DICE][K], 3));
        if (r->gap[0]) {
            char e[32], lo[32], hi[32];
            const medcl_ci *g = &r->gap[MEDCL_EVAL_DICE][K];
            snprintf(b, sizeof b, "%s [%s, %s]", medcl_md_format_number(e, sizeof e, g->estimate, 3),
                     medcl_md_format_number(lo, sizeof lo, g->lower, 3), medcl_md_format_number(hi, sizeof hi, g->upper, 3));
        } else {
            snprintf(b, sizeof b, "reference");
        }
        c[2] = strdup(b);
        c[3] = strdup(medcl_md_format_ci(b, sizeof b, &r->mean[MEDCL_EVAL_HD_PERCENTILE][K], 3));
        c[4] = strdup(medcl_md_format_ci(b, sizeof b, &r->mean[MEDCL_EVAL_NSD][K], 3));
        for (int q = 0; q < cols; q++)
            if (!c[q]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
    }
    MD(medcl_md_table(md, rows, cols, head, (const char *const *)cells, "rrrrr"));
    if (fig) MD(medcl_md_image(md, "severity sweep", fig));
cleanup:
    for (int i = 0; i < rows * cols; i++) free(cells[i]);
    free(cells);
    return st;
}

/* The n worst cases of each set by foreground Dice, then the overlays. */
static medcl_status md_failures(medcl_md *md, const medcl_eval_run_info *info, const medcl_eval_results *res,
                                const fig_list *f) {
    medcl_status st = MEDCL_OK;
    int nf = info->num_failure_cases > 0 ? info->num_failure_cases : 5;
    char lab[48];
    const char *head[5] = {"Set", "Case", "Dice", "HD (mm)", "NSD"};
    head[3] = medcl_protocol_metric_label(&res->options, MEDCL_EVAL_HD_PERCENTILE, lab, sizeof lab);
    int64_t total = 0;
    for (int s = 0; s < res->num_sets; s++) total += res->sets[s].num_cases < nf ? res->sets[s].num_cases : nf;
    char **cells = calloc((size_t)(total ? total : 1) * 5, sizeof *cells);
    int64_t *idx = NULL;
    int row = 0;
    if (!cells) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
    MD(medcl_md_paragraph(md, "The %d cases with the lowest foreground Dice in each set (NaN last), and overlays of "
                              "the worst and the median case: image | reference (green) | prediction (red).",
                          nf));
    for (int s = 0; s < res->num_sets; s++) {
        const medcl_eval_set_result *r = &res->sets[s];
        int64_t cols = r->num_classes + 1, n = r->num_cases;
        const double *d = r->values[MEDCL_EVAL_DICE];
        free(idx);
        idx = malloc((size_t)n * sizeof *idx);
        if (!idx) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
        for (int64_t i = 0; i < n; i++) idx[i] = i;
        /* selection of the nf smallest, NaN treated as +inf, index order on ties */
        int64_t take = n < nf ? n : nf;
        for (int64_t a = 0; a < take; a++) {
            int64_t best = a;
            for (int64_t b = a + 1; b < n; b++) {
                double x = d[idx[b] * cols + cols - 1], y = d[idx[best] * cols + cols - 1];
                if (isnan(x)) x = INFINITY;
                if (isnan(y)) y = INFINITY;
                if (x < y || (x == y && idx[b] < idx[best])) best = b;
            }
            int64_t t = idx[a];
            idx[a] = idx[best];
            idx[best] = t;
            int64_t i = idx[a];
            char b[64];
            char **c = cells + row * 5;
            c[0] = strdup(r->name);
            c[1] = strdup(r->case_ids[i]);
            c[2] = strdup(medcl_md_format_number(b, sizeof b, d[i * cols + cols - 1], 3));
            c[3] = strdup(medcl_md_format_number(b, sizeof b, r->values[MEDCL_EVAL_HD_PERCENTILE][i * cols + cols - 1], 2));
            c[4] = strdup(medcl_md_format_number(b, sizeof b, r->values[MEDCL_EVAL_NSD][i * cols + cols - 1], 3));
            for (int q = 0; q < 5; q++)
                if (!c[q]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "report.md: out of memory");
            row++;
        }
    }
    if (row) MD(medcl_md_table(md, row, 5, head, (const char *const *)cells, "llrrr"));
    for (int i = 0; i < f->n; i++)
        if (!strncmp(f->names[i], "overlay_", 8)) MD(medcl_md_image(md, f->names[i], f->names[i]));
cleanup:
    for (int i = 0; i < row * 5; i++) free(cells[i]);
    free(cells);
    free(idx);
    return st;
}

static const char *find_fig(const fig_list *f, const char *prefix) {
    for (int i = 0; i < f->n; i++)
        if (!strncmp(f->names[i], prefix, strlen(prefix))) return f->names[i];
    return NULL;
}

static medcl_status write_md(const char *path, const medcl_eval_run_info *info, const medcl_eval_results *res,
                             const medcl_eval_sweep_result *const *sweeps, int num_sweeps, const fig_list *f,
                             const char *hash) {
    medcl_status st = MEDCL_OK;
    medcl_md *md = NULL;
    const char *nr = "_Not reported._";
    const medcl_eval_results *any = res ? res : sweeps[0]->results;
    MD(medcl_md_create(&md));
    MD(medcl_md_heading(md, 1, info->title ? info->title : "medcl evaluation report"));
    MD(medcl_md_paragraph(md, "Generated by medcl %s. Section order follows the reporting items of CLAIM 2020 and "
                              "TRIPOD+AI that software can fill; every number is also in `report.json`.",
                          medcl_version()));

    MD(medcl_md_heading(md, 2, "Data sources and domains"));
    MD(md_text(md, info->data_sources, nr));
    if (res)
        for (int s = 0; s < res->num_sets; s++)
            MD(medcl_md_bullet(md, "`%s`: domain `%s`%s, %lld cases", res->sets[s].name, res->sets[s].domain,
                               s == res->reference_set ? " (in-domain reference)" : res->sets[s].in_domain ? " (in-domain)" : "",
                               (long long)res->sets[s].num_cases));

    MD(medcl_md_heading(md, 2, "Case counts"));
    if (info->num_splits > 0 && info->split_names && info->split_counts)
        for (int i = 0; i < info->num_splits; i++)
            MD(medcl_md_bullet(md, "%s: %lld cases", info->split_names[i], (long long)info->split_counts[i]));
    else
        MD(medcl_md_paragraph(md, "Training splits: %s", nr));
    if (res) {
        int64_t tot = 0;
        for (int s = 0; s < res->num_sets; s++) tot += res->sets[s].num_cases;
        MD(medcl_md_paragraph(md, "Evaluated: %lld cases in %d test sets.", (long long)tot, res->num_sets));
    }

    MD(medcl_md_heading(md, 2, "Preprocessing"));
    MD(md_text(md, info->preprocessing, nr));
    MD(medcl_md_heading(md, 2, "Labels"));
    MD(md_text(md, info->labels, nr));
    if (info->class_names) {
        for (int32_t k = 0; k < any->infer.num_classes; k++) MD(medcl_md_bullet(md, "%d: %s", (int)k, info->class_names[k]));
    }

    MD(medcl_md_heading(md, 2, "Model"));
    MD(md_text(md, info->model, nr));
    if (info->num_parameters >= 0)
        MD(medcl_md_paragraph(md, "Parameters: %lld.", (long long)info->num_parameters));
    else
        MD(medcl_md_paragraph(md, "Parameters: not reported."));
    {
        const medcl_infer_options *io = &any->infer;
        MD(medcl_md_paragraph(md, "Inference: sliding window, patch (%lld, %lld, %lld), step %g, %s weights, batch %d, "
                                  "mirror axes 0x%x, argmax over %d classes.",
                              (long long)io->patch[0], (long long)io->patch[1], (long long)io->patch[2], io->step,
                              io->weight == MEDCL_INFER_WEIGHT_GAUSSIAN ? "Gaussian" : "constant", io->batch,
                              io->mirror_axes, io->num_classes));
    }

    MD(medcl_md_heading(md, 2, "Training"));
    MD(md_text(md, info->training, nr));
    for (int i = 0; i < info->num_seeds; i++)
        MD(medcl_md_bullet(md, "seed %s: %llu", info->seed_names && info->seed_names[i] ? info->seed_names[i] : "",
                           (unsigned long long)info->seeds[i]));
    if (find_fig(f, "fig_training_curves")) MD(medcl_md_image(md, "training curves", "fig_training_curves.svg"));

    MD(medcl_md_heading(md, 2, "Model selection"));
    MD(md_text(md, info->model_selection, nr));

    MD(medcl_md_heading(md, 2, "Metrics and conventions"));
    {
        const medcl_eval_options *o = &any->options;
        char tol[128] = "";
        for (int t = 0; t < o->surface.num_tolerances && t < MEDCL_SURFACE_MAX_TOLERANCES; t++) {
            size_t l = strlen(tol);
            snprintf(tol + l, sizeof tol - l, "%s%g", t ? ", " : "", o->surface.tolerance_mm[t]);
        }
        MD(medcl_md_bullet(md, "Per case and class: Dice, IoU, Hausdorff distance, HD%g, ASSD, MASD (mm, from the "
                               "voxel spacing), NSD at %s mm, sensitivity, specificity, precision.",
                           o->surface.percentile, tol[0] ? tol : "(none)"));
        MD(medcl_md_bullet(md, "Dice/IoU with empty reference and prediction: %s.",
                           o->overlap_empty == MEDCL_EMPTY_NAN ? "NaN, excluded from means (nnU-Net)" : "1 (Metrics Reloaded)"));
        MD(medcl_md_bullet(md, "Surface boundaries: %s; both masks empty: %s; one empty: distances inf, NSD 0.",
                           o->surface.boundary == MEDCL_BOUNDARY_VOXEL ? "voxel (mask XOR erosion, exact EDT; MONAI)"
                                                                       : "surfel (DeepMind, area-weighted)",
                           o->surface.empty == MEDCL_SURFACE_EMPTY_MONAI ? "NaN (MONAI)" : "distances 0, NSD 1 (Metrics Reloaded)"));
        if (!o->surface_metrics) MD(medcl_md_bullet(md, "Surface metrics were not computed in this run (n/a)."));
        MD(medcl_md_bullet(md, "Foreground mean: per case, the mean over the foreground classes ignoring NaN; then the "
                               "mean over cases ignoring NaN."));
        MD(medcl_md_bullet(md, "Intervals: %.0f%% percentile bootstrap over cases, %lld resamples, seed %llu.",
                           100.0 * o->bootstrap.confidence, (long long)o->bootstrap.num_resamples,
                           (unsigned long long)o->bootstrap.seed));
        MD(medcl_md_bullet(md, "Generalization gap: reference mean minus the set's mean; interval from resampling both "
                               "sets independently (difference of the resampled means)."));
    }

    MD(medcl_md_heading(md, 2, "Results per domain"));
    if (res) {
        MD(medcl_md_paragraph(md, "Foreground means with %.0f%% intervals.", 100.0 * res->options.bootstrap.confidence));
        MD(md_means(md, res, 0));
        MD(md_classes(md, info, res));
        if (find_fig(f, "fig_domains_dice")) MD(medcl_md_image(md, "overlap per set", "fig_domains_dice.svg"));
        if (find_fig(f, "fig_domains_distance")) MD(medcl_md_image(md, "distances per set", "fig_domains_distance.svg"));
    } else {
        MD(medcl_md_paragraph(md, "%s", nr));
    }

    MD(medcl_md_heading(md, 2, "Generalization gap"));
    if (res && res->reference_set >= 0 && res->num_sets > 1) {
        MD(medcl_md_paragraph(md, "Reference: `%s`. A positive gap for Dice, IoU and NSD (negative for distances) is a "
                                  "drop out of domain.",
                              res->sets[res->reference_set].name));
        MD(md_means(md, res, 1));
    } else {
        MD(medcl_md_paragraph(md, "No gap: %s.", res && res->reference_set >= 0 ? "only the reference set was evaluated"
                                                                              : "no in-domain reference set"));
    }

    MD(medcl_md_heading(md, 2, "Severity sweeps"));
    if (num_sweeps == 0) MD(medcl_md_paragraph(md, "None in this run."));
    for (int i = 0; i < num_sweeps; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "fig_sweep_%d_", i);
        MD(md_sweep(md, sweeps[i], find_fig(f, prefix)));
    }

    MD(medcl_md_heading(md, 2, "Failure cases"));
    if (res)
        MD(md_failures(md, info, res, f));
    else
        MD(medcl_md_paragraph(md, "%s", nr));

    MD(medcl_md_heading(md, 2, "Compute"));
    if (info->ctx) {
        const medcl_device_info *d = medcl_context_device(info->ctx);
        MD(medcl_md_bullet(md, "Device: %s (%s, %s), %u compute units, %.1f GiB", d->name, d->vendor,
                           medcl_device_type_str(d->type), d->compute_units, (double)d->global_mem / 1073741824.0));
        MD(medcl_md_bullet(md, "Driver: %s; %s; %s", d->driver, d->version, d->c_version));
    } else {
        MD(medcl_md_bullet(md, "Device: not recorded"));
    }
    {
        double ev = res ? res->seconds : 0.0;
        for (int i = 0; i < num_sweeps; i++) ev += sweeps[i]->results->seconds;
        MD(medcl_md_bullet(md, "Evaluation time: %.1f s", ev));
    }
    if (info->train_seconds >= 0) MD(medcl_md_bullet(md, "Training time: %.1f s", info->train_seconds));
    if (info->compute) MD(md_text(md, info->compute, nr));

    MD(medcl_md_heading(md, 2, "Software"));
    MD(medcl_md_bullet(md, "medcl %s", medcl_version()));
    MD(medcl_md_bullet(md, "Kernel hash: %s", hash ? hash : "not recorded"));
    MD(medcl_md_write(md, path));
cleanup:
    medcl_md_destroy(md);
    return st;
}

/* ---------------- the entry point ---------------- */

medcl_status medcl_eval_report_write(const char *dir, const medcl_eval_run_info *info, const medcl_eval_results *results,
                                     const medcl_eval_sweep_result *const *sweeps, int num_sweeps) {
    static const char fn[] = "eval_report_write";
    medcl_status st = MEDCL_OK;
    fig_list *f = NULL;
    cJSON *root = NULL;
    char hash[32], path[4096];
    const char *hp = NULL;
    if (!dir || !info) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: dir or info is NULL", fn);
    if (info->size != sizeof *info)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: info->size = %zu, expected %zu (MEDCL_EVAL_RUN_INFO_INIT)", fn,
                          info->size, sizeof *info);
    if (num_sweeps < 0 || num_sweeps > 64 || (num_sweeps > 0 && !sweeps))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: num_sweeps = %d (sweeps %s), need 0..64", fn, num_sweeps,
                          sweeps ? "given" : "NULL");
    for (int i = 0; i < num_sweeps; i++)
        if (!sweeps[i] || !sweeps[i]->results)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: sweeps[%d] is NULL or has no results", fn, i);
    if (!results && num_sweeps == 0) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: no results and no sweeps", fn);
    if (info->num_seeds > 0 && !info->seeds) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: info->seeds is NULL", fn);
    if (info->num_curves < 0 || info->num_curves > 32 || (info->num_curves > 0 && !info->curves))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: info->num_curves = %d, need 0..32 with curves", fn, info->num_curves);
    f = calloc(1, sizeof *f);
    if (!f) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    MEDCL_TRY(medcl_mkdir_p(dir));
    if (info->ctx) {
        MEDCL_TRY(medcl_eval_kernel_hash(info->ctx, hash, sizeof hash));
        hp = hash;
    }
    MEDCL_TRY(fig_curves(dir, info, f));
    if (results) {
        const medcl_eval_metric ov[3] = {MEDCL_EVAL_DICE, MEDCL_EVAL_IOU, MEDCL_EVAL_NSD};
        const medcl_eval_metric di[2] = {MEDCL_EVAL_HD_PERCENTILE, MEDCL_EVAL_ASSD};
        int ns = results->options.surface_metrics ? 3 : 2;
        MEDCL_TRY(fig_bars(dir, "fig_domains_dice.svg", "Overlap per test set (foreground mean, 95% CI)", "value",
                           results, ov, ns, 1, f));
        if (results->options.surface_metrics)
            MEDCL_TRY(fig_bars(dir, "fig_domains_distance.svg", "Surface distance per test set (foreground mean, 95% CI)",
                               "mm", results, di, 2, 0, f));
    }
    for (int i = 0; i < num_sweeps; i++) MEDCL_TRY(fig_sweep(dir, i, sweeps[i], f));
    if (results)
        for (int s = 0; s < results->num_sets; s++) {
            MEDCL_TRY(fig_overlay(dir, s, &results->sets[s], "worst", &results->sets[s].worst, f));
            MEDCL_TRY(fig_overlay(dir, s, &results->sets[s], "median", &results->sets[s].median, f));
        }
    MEDCL_TRY(medcl_protocol_json(info, results, sweeps, num_sweeps, (const char *const *)f->names, f->n, hp, &root));
    snprintf(path, sizeof path, "%s/report.json", dir);
    MEDCL_TRY(medcl_report_json_write(root, path));
    snprintf(path, sizeof path, "%s/report.md", dir);
    MEDCL_TRY(write_md(path, info, results, sweeps, num_sweeps, f, hp));
cleanup:
    cJSON_Delete(root);
    if (f)
        for (int i = 0; i < f->n; i++) free(f->names[i]);
    free(f);
    return st;
}
