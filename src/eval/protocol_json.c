/* src/eval/protocol_json.c — report.json of the evaluation protocol: configuration, seeds,
 * case counts per split, set and domain, device and kernel hash, metric conventions,
 * inference settings, the run-info texts, training curves, every set's per-case table and
 * means with intervals, the generalization gaps and the severity sweeps. Built on the
 * cJSON helpers of medcl/report.h (NaN → null, ±inf → "inf"/"-inf"). Leaves out
 * report.md and the figures (protocol_report.c). */
#include "eval/protocol_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOM() medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "report.json: out of memory")

/* obj[key] = item, taking ownership of item. */
static medcl_status jput(cJSON *obj, const char *key, cJSON *item) {
    if (!item) return OOM();
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return OOM();
    }
    return MEDCL_OK;
}

static medcl_status jstr(cJSON *obj, const char *key, const char *s) {
    return s ? jput(obj, key, cJSON_CreateString(s)) : jput(obj, key, cJSON_CreateNull());
}

static medcl_status jnum(cJSON *obj, const char *key, double v) { return jput(obj, key, medcl_report_json_number(v)); }

static medcl_status jarr_push(cJSON *arr, cJSON *item) {
    if (!item) return OOM();
    if (!cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return OOM();
    }
    return MEDCL_OK;
}

static medcl_status jobj(cJSON *parent, const char *key, cJSON **out) {
    *out = cJSON_CreateObject();
    return jput(parent, key, *out);
}

static medcl_status jarr(cJSON *parent, const char *key, cJSON **out) {
    *out = cJSON_CreateArray();
    return jput(parent, key, *out);
}

static medcl_status jseed(cJSON *obj, const char *key, uint64_t v) {
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v); /* a string: exact above 2^53 */
    return jstr(obj, key, b);
}

/* {"<class>": ci, ..., "foreground_mean": ci} */
static medcl_status ci_table(cJSON *parent, const char *key, const medcl_eval_run_info *info, const medcl_ci *ci,
                             int32_t K, double conf) {
    medcl_status st = MEDCL_OK;
    cJSON *o;
    MEDCL_TRY(jobj(parent, key, &o));
    for (int32_t k = 0; k <= K; k++) {
        char nb[64];
        const char *name = k < K ? medcl_protocol_class_name(info, k, nb, sizeof nb) : "foreground_mean";
        MEDCL_TRY(medcl_report_json_add_ci(o, name, &ci[k], conf));
    }
cleanup:
    return st;
}

static medcl_status example_json(cJSON *parent, const char *key, const medcl_eval_set_result *r, int64_t c,
                                 const medcl_eval_example *e) {
    medcl_status st = MEDCL_OK;
    cJSON *o;
    if (c < 0) return jput(parent, key, cJSON_CreateNull());
    int64_t cols = r->num_classes + 1;
    MEDCL_TRY(jobj(parent, key, &o));
    MEDCL_TRY(jnum(o, "case_index", (double)c));
    MEDCL_TRY(jstr(o, "case_id", r->case_ids[c]));
    MEDCL_TRY(jnum(o, "foreground_dice", r->values[MEDCL_EVAL_DICE][c * cols + cols - 1]));
    MEDCL_TRY(jnum(o, "slice", e->case_index == c ? (double)e->slice : NAN));
cleanup:
    return st;
}

static medcl_status set_json(cJSON *arr, const medcl_eval_run_info *info, const medcl_eval_results *res, int s) {
    medcl_status st = MEDCL_OK;
    const medcl_eval_set_result *r = &res->sets[s];
    double conf = res->options.bootstrap.confidence;
    int32_t K = r->num_classes;
    int64_t cols = K + 1;
    cJSON *o = cJSON_CreateObject(), *m, *g, *cases, *ex;
    MEDCL_TRY(jarr_push(arr, o));
    MEDCL_TRY(jstr(o, "name", r->name));
    MEDCL_TRY(jstr(o, "domain", r->domain));
    MEDCL_TRY(jput(o, "in_domain", cJSON_CreateBool(r->in_domain)));
    MEDCL_TRY(jput(o, "reference", cJSON_CreateBool(s == res->reference_set)));
    MEDCL_TRY(jnum(o, "num_cases", (double)r->num_cases));
    MEDCL_TRY(jnum(o, "seconds", r->seconds));
    MEDCL_TRY(jobj(o, "metrics", &m));
    for (int q = 0; q < MEDCL_EVAL_METRIC_COUNT; q++)
        MEDCL_TRY(ci_table(m, medcl_eval_metric_str((medcl_eval_metric)q), info, r->mean[q], K, conf));
    if (r->gap[0]) {
        MEDCL_TRY(jobj(o, "gap", &g));
        for (int q = 0; q < MEDCL_EVAL_METRIC_COUNT; q++)
            MEDCL_TRY(ci_table(g, medcl_eval_metric_str((medcl_eval_metric)q), info, r->gap[q], K, conf));
    } else {
        MEDCL_TRY(jput(o, "gap", cJSON_CreateNull()));
    }
    MEDCL_TRY(jobj(o, "examples", &ex));
    MEDCL_TRY(example_json(ex, "worst", r, r->worst_case, &r->worst));
    MEDCL_TRY(example_json(ex, "median", r, r->median_case, &r->median));
    MEDCL_TRY(jarr(o, "cases", &cases));
    for (int64_t i = 0; i < r->num_cases; i++) {
        cJSON *c = cJSON_CreateObject(), *cnt;
        MEDCL_TRY(jarr_push(cases, c));
        MEDCL_TRY(jstr(c, "id", r->case_ids[i]));
        for (int q = 0; q < MEDCL_EVAL_METRIC_COUNT; q++) {
            cJSON *a;
            MEDCL_TRY(jarr(c, medcl_eval_metric_str((medcl_eval_metric)q), &a));
            for (int64_t k = 0; k < cols; k++) MEDCL_TRY(jarr_push(a, medcl_report_json_number(r->values[q][i * cols + k])));
        }
        MEDCL_TRY(jarr(c, "counts_tp_fp_fn_tn", &cnt));
        for (int32_t k = 0; k < K; k++) {
            const medcl_overlap_counts *t = &r->counts[i * K + k];
            cJSON *a = cJSON_CreateArray();
            MEDCL_TRY(jarr_push(cnt, a));
            const double v[4] = {(double)t->tp, (double)t->fp, (double)t->fn, (double)t->tn};
            for (int j = 0; j < 4; j++) MEDCL_TRY(jarr_push(a, cJSON_CreateNumber(v[j])));
        }
    }
cleanup:
    return st;
}

static medcl_status results_json(cJSON *parent, const char *key, const medcl_eval_run_info *info,
                                 const medcl_eval_results *res) {
    medcl_status st = MEDCL_OK;
    cJSON *o, *sets;
    MEDCL_TRY(jobj(parent, key, &o));
    MEDCL_TRY(jstr(o, "reference_set", res->reference_set >= 0 ? res->sets[res->reference_set].name : NULL));
    MEDCL_TRY(jstr(o, "columns", "classes in order, then the case's foreground mean"));
    MEDCL_TRY(jnum(o, "seconds", res->seconds));
    MEDCL_TRY(jarr(o, "sets", &sets));
    for (int s = 0; s < res->num_sets; s++) MEDCL_TRY(set_json(sets, info, res, s));
cleanup:
    return st;
}

static medcl_status infer_json(cJSON *parent, const medcl_infer_options *io) {
    medcl_status st = MEDCL_OK;
    cJSON *o, *p;
    MEDCL_TRY(jobj(parent, "inference", &o));
    MEDCL_TRY(jarr(o, "patch", &p));
    for (int a = 0; a < 3; a++) MEDCL_TRY(jarr_push(p, cJSON_CreateNumber((double)io->patch[a])));
    MEDCL_TRY(jnum(o, "num_classes", io->num_classes));
    MEDCL_TRY(jnum(o, "step", io->step));
    MEDCL_TRY(jnum(o, "batch", io->batch));
    MEDCL_TRY(jstr(o, "weight", io->weight == MEDCL_INFER_WEIGHT_GAUSSIAN ? "gaussian" : "constant"));
    MEDCL_TRY(jnum(o, "sigma_scale", io->sigma_scale));
    MEDCL_TRY(jnum(o, "mirror_axes", (double)io->mirror_axes));
    MEDCL_TRY(jstr(o, "output", "argmax labels"));
cleanup:
    return st;
}

/* Case counts per split, per set and per domain (sets of one domain summed, first-seen order). */
static medcl_status counts_json(cJSON *root, const medcl_eval_run_info *info, const medcl_eval_results *res) {
    medcl_status st = MEDCL_OK;
    cJSON *o, *sets, *doms;
    MEDCL_TRY(jobj(root, "case_counts", &o));
    if (info->num_splits > 0 && info->split_names && info->split_counts)
        MEDCL_TRY(medcl_report_json_add_counts(o, "splits", info->split_names, info->split_counts, info->num_splits));
    if (!res) goto cleanup;
    MEDCL_TRY(jobj(o, "test_sets", &sets));
    MEDCL_TRY(jobj(o, "domains", &doms));
    for (int s = 0; s < res->num_sets; s++) {
        MEDCL_TRY(jnum(sets, res->sets[s].name, (double)res->sets[s].num_cases));
        cJSON *d = cJSON_GetObjectItemCaseSensitive(doms, res->sets[s].domain);
        if (d)
            cJSON_SetNumberValue(d, d->valuedouble + (double)res->sets[s].num_cases);
        else
            MEDCL_TRY(jnum(doms, res->sets[s].domain, (double)res->sets[s].num_cases));
    }
cleanup:
    return st;
}

static medcl_status sweep_json(cJSON *arr, const medcl_eval_run_info *info, const medcl_eval_sweep_result *sw) {
    medcl_status st = MEDCL_OK;
    cJSON *o = cJSON_CreateObject(), *x, *fg;
    MEDCL_TRY(jarr_push(arr, o));
    MEDCL_TRY(jstr(o, "set", sw->set_name));
    MEDCL_TRY(jstr(o, "transform", medcl_augment_kind_str(sw->kind)));
    MEDCL_TRY(jseed(o, "seed", sw->seed));
    MEDCL_TRY(jarr(o, "strengths", &x));
    for (int i = 0; i < sw->num_strengths; i++) MEDCL_TRY(jarr_push(x, medcl_report_json_number(sw->strengths[i])));
    const medcl_eval_results *res = sw->results;
    MEDCL_TRY(jnum(o, "reference_strength", sw->strengths[res->reference_set]));
    /* foreground means against strength, for plotting without walking the sets */
    MEDCL_TRY(jobj(o, "foreground_mean", &fg));
    double conf = res->options.bootstrap.confidence;
    for (int q = 0; q < MEDCL_EVAL_METRIC_COUNT; q++) {
        cJSON *a;
        MEDCL_TRY(jarr(fg, medcl_eval_metric_str((medcl_eval_metric)q), &a));
        for (int i = 0; i < sw->num_strengths; i++) {
            const medcl_eval_set_result *r = &res->sets[i];
            cJSON *h = cJSON_CreateObject();
            MEDCL_TRY(jarr_push(a, h));
            MEDCL_TRY(medcl_report_json_add_ci(h, "mean", &r->mean[q][r->num_classes], conf));
            if (r->gap[q])
                MEDCL_TRY(medcl_report_json_add_ci(h, "drop", &r->gap[q][r->num_classes], conf));
        }
    }
    MEDCL_TRY(results_json(o, "results", info, res));
cleanup:
    return st;
}

static medcl_status text_section(cJSON *root, const char *key, const char *const *names, const char *const *texts,
                                 int n) {
    medcl_status st = MEDCL_OK;
    cJSON *o;
    MEDCL_TRY(jobj(root, key, &o));
    for (int i = 0; i < n; i++) MEDCL_TRY(jstr(o, names[i], texts[i]));
cleanup:
    return st;
}

medcl_status medcl_protocol_json(const medcl_eval_run_info *info, const medcl_eval_results *results,
                                 const medcl_eval_sweep_result *const *sweeps, int num_sweeps,
                                 const char *const *figures, int num_figures, const char *kernel_hash,
                                 cJSON **out) {
    medcl_status st = MEDCL_OK;
    cJSON *root = NULL, *o, *a;
    *out = NULL;
    const medcl_eval_results *any = results ? results : sweeps[0]->results;
    MEDCL_TRY(medcl_report_json_root(&root));
    MEDCL_TRY(jstr(root, "title", info->title ? info->title : "medcl evaluation report"));
    if (info->config_json) {
        cJSON *cfg = cJSON_Parse(info->config_json);
        if (!cfg) {
            const char *e = cJSON_GetErrorPtr();
            MEDCL_FAIL(MEDCL_ERR_FORMAT, "report: run_info.config_json is not valid JSON (near offset %lld: \"%.20s\")",
                       e ? (long long)(e - info->config_json) : -1LL, e ? e : "");
        }
        MEDCL_TRY(jput(root, "config", cfg));
    } else {
        MEDCL_TRY(jput(root, "config", cJSON_CreateNull()));
    }
    MEDCL_TRY(jobj(root, "seeds", &o));
    for (int i = 0; i < info->num_seeds; i++)
        MEDCL_TRY(jseed(o, info->seed_names && info->seed_names[i] ? info->seed_names[i] : "seed", info->seeds[i]));
    MEDCL_TRY(jseed(o, "bootstrap", any->options.bootstrap.seed));
    for (int i = 0; i < num_sweeps; i++) {
        char k[96];
        snprintf(k, sizeof k, "sweep_%d_%s", i, medcl_augment_kind_str(sweeps[i]->kind));
        MEDCL_TRY(jseed(o, k, sweeps[i]->seed));
    }
    MEDCL_TRY(counts_json(root, info, results));
    if (info->ctx) {
        MEDCL_TRY(medcl_report_json_add_device(root, medcl_context_device(info->ctx), kernel_hash));
    } else {
        MEDCL_TRY(jput(root, "device", cJSON_CreateNull()));
        MEDCL_TRY(jput(root, "kernel_hash", cJSON_CreateNull()));
    }
    MEDCL_TRY(medcl_report_json_add_conventions(root, &any->options.overlap_empty, &any->options.surface,
                                                &any->options.bootstrap));
    cJSON *conv = cJSON_GetObjectItemCaseSensitive(root, "metric_conventions");
    MEDCL_TRY(jstr(conv, "foreground_mean", "per case: mean over classes 1..K-1 ignoring NaN; then mean over cases"));
    MEDCL_TRY(jstr(conv, "generalization_gap",
                   "reference (in-domain) mean minus the set's mean; percentile bootstrap of the difference with "
                   "both sets resampled independently"));
    MEDCL_TRY(jput(conv, "surface_metrics", cJSON_CreateBool(any->options.surface_metrics != 0)));
    MEDCL_TRY(infer_json(root, &any->infer));
    {
        const char *names[] = {"sources_and_domains", "preprocessing", "labels"};
        const char *texts[] = {info->data_sources, info->preprocessing, info->labels};
        MEDCL_TRY(text_section(root, "data", names, texts, 3));
    }
    MEDCL_TRY(jobj(root, "model", &o));
    MEDCL_TRY(jstr(o, "description", info->model));
    MEDCL_TRY(jnum(o, "num_parameters", info->num_parameters >= 0 ? (double)info->num_parameters : NAN));
    MEDCL_TRY(jobj(root, "training", &o));
    MEDCL_TRY(jstr(o, "description", info->training));
    MEDCL_TRY(jstr(o, "model_selection", info->model_selection));
    MEDCL_TRY(jnum(o, "seconds", info->train_seconds >= 0 ? info->train_seconds : NAN));
    MEDCL_TRY(jobj(o, "curves", &a));
    for (int i = 0; i < info->num_curves; i++) {
        const medcl_chart_series *c = &info->curves[i];
        char nb[32];
        snprintf(nb, sizeof nb, "curve_%d", i);
        MEDCL_TRY(medcl_report_json_add_series(a, c->name ? c->name : nb, c->x, c->y, c->n));
    }
    MEDCL_TRY(jobj(root, "compute", &o));
    MEDCL_TRY(jstr(o, "description", info->compute));
    MEDCL_TRY(jnum(o, "eval_seconds", results ? results->seconds : NAN));
    MEDCL_TRY(jnum(o, "train_seconds", info->train_seconds >= 0 ? info->train_seconds : NAN));
    if (results)
        MEDCL_TRY(results_json(root, "results", info, results));
    else
        MEDCL_TRY(jput(root, "results", cJSON_CreateNull()));
    MEDCL_TRY(jarr(root, "sweeps", &a));
    for (int i = 0; i < num_sweeps; i++) MEDCL_TRY(sweep_json(a, info, sweeps[i]));
    MEDCL_TRY(jarr(root, "figures", &a));
    for (int i = 0; i < num_figures; i++) MEDCL_TRY(jarr_push(a, cJSON_CreateString(figures[i])));
    *out = root;
    root = NULL;
cleanup:
    cJSON_Delete(root);
    return st;
}
