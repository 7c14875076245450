/* tests/test_eval_metrics_golden.c — the host metrics against golden vectors from the
 * reference implementations (tests/data/metrics/golden.json, written by
 * tools/golden/gen_metrics_golden.py): counts, Dice and IoU in both empty modes; voxel-mode
 * surface metrics against MONAI, surfel mode against DeepMind surface-distance, each in the
 * MONAI and Metrics Reloaded empty conventions; confusion-matrix metrics and AUC against
 * scikit-learn; ECE, Brier and NLL against numpy formulas. Values match to 1e-6 relative
 * (absolute below 1): the MONAI goldens are float32. Hand cases are in the other
 * test_eval_metrics_*.c files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "medcl/metrics.h"

static cJSON *g_doc;

static int setup(void **state)
{
    (void)state;
    const char *dir = getenv("MEDCL_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/metrics/golden.json", dir ? dir : "tests/data");
    void *text = NULL;
    size_t n = 0;
    if (medcl_file_read_all(path, 4u << 20, &text, &n) != MEDCL_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, medcl_last_error());
        return -1;
    }
    g_doc = cJSON_ParseWithLength(text, n);
    free(text);
    return g_doc ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cJSON_Delete(g_doc);
    return 0;
}

/* A golden number: JSON number or "nan" / "inf". */
static double num(const cJSON *j)
{
    if (cJSON_IsNumber(j)) return j->valuedouble;
    if (cJSON_IsString(j)) {
        if (!strcmp(j->valuestring, "nan")) return NAN;
        if (!strcmp(j->valuestring, "inf")) return INFINITY;
        if (!strcmp(j->valuestring, "-inf")) return -INFINITY;
    }
    fail_msg("golden value is neither a number nor nan/inf");
    return NAN;
}

static double field(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j) fail_msg("golden field %s missing", key);
    return num(j);
}

static void expect_close_tol(double got, double want, double rel, const char *what,
                             const char *where)
{
    if (isnan(want)) {
        if (!isnan(got)) fail_msg("%s %s: got %.17g, want nan", where, what, got);
        return;
    }
    if (isinf(want)) {
        if (got != want) fail_msg("%s %s: got %.17g, want %g", where, what, got, want);
        return;
    }
    double tol = rel * fmax(1.0, fabs(want));
    if (!(fabs(got - want) <= tol))
        fail_msg("%s %s: got %.17g, want %.17g (diff %.3g)", where, what, got, want, got - want);
}

static void expect_close(double got, double want, const char *what, const char *where)
{
    expect_close_tol(got, want, 1e-6, what, where);
}

/* Decodes [value, count, ...] into n labels. */
static int32_t *decode_rle(const cJSON *rle, int64_t n)
{
    int32_t *out = malloc((size_t)n * sizeof(*out));
    assert_non_null(out);
    int64_t k = 0;
    const cJSON *it = rle ? rle->child : NULL;
    while (it && it->next) {
        int32_t v = (int32_t)it->valuedouble;
        int64_t c = (int64_t)it->next->valuedouble;
        assert_true(k + c <= n);
        for (int64_t i = 0; i < c; i++) out[k++] = v;
        it = it->next->next;
    }
    assert_int_equal(k, n);
    return out;
}

typedef struct golden_case {
    const char *name;
    int64_t shape[3];
    double spacing[3];
    int32_t k;
    int64_t n;
    int32_t *ref, *pred;
    const cJSON *classes, *taus;
} golden_case;

static void load_case(const cJSON *c, golden_case *g)
{
    g->name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(c, "shape");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(c, "spacing");
    g->n = 1;
    for (int a = 0; a < 3; a++) {
        g->shape[a] = (int64_t)cJSON_GetArrayItem(sh, a)->valuedouble;
        g->spacing[a] = cJSON_GetArrayItem(sp, a)->valuedouble;
        g->n *= g->shape[a];
    }
    g->k = (int32_t)cJSON_GetObjectItemCaseSensitive(c, "num_classes")->valuedouble;
    g->ref = decode_rle(cJSON_GetObjectItemCaseSensitive(c, "ref_rle"), g->n);
    g->pred = decode_rle(cJSON_GetObjectItemCaseSensitive(c, "pred_rle"), g->n);
    g->classes = cJSON_GetObjectItemCaseSensitive(c, "classes");
    g->taus = cJSON_GetObjectItemCaseSensitive(c, "taus");
    assert_int_equal(cJSON_GetArraySize(g->classes), g->k);
}

static void free_case(golden_case *g)
{
    free(g->ref);
    free(g->pred);
}

static void test_golden_overlap(void **state)
{
    (void)state;
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(g_doc, "cases");
    int checked = 0;
    for (const cJSON *c = cases->child; c; c = c->next) {
        golden_case g;
        load_case(c, &g);
        medcl_overlap_counts *cnt = calloc((size_t)g.k, sizeof(*cnt));
        double *dn = calloc((size_t)g.k, sizeof(double)), *d1 = calloc((size_t)g.k, sizeof(double));
        double *in = calloc((size_t)g.k, sizeof(double)), *i1 = calloc((size_t)g.k, sizeof(double));
        assert_int_equal(medcl_metric_counts(g.ref, g.pred, g.shape, g.k, cnt), MEDCL_OK);
        assert_int_equal(medcl_metric_dice(g.ref, g.pred, g.shape, g.k, MEDCL_EMPTY_NAN, dn), MEDCL_OK);
        assert_int_equal(medcl_metric_dice(g.ref, g.pred, g.shape, g.k, MEDCL_EMPTY_ONE, d1), MEDCL_OK);
        assert_int_equal(medcl_metric_iou(g.ref, g.pred, g.shape, g.k, MEDCL_EMPTY_NAN, in), MEDCL_OK);
        assert_int_equal(medcl_metric_iou(g.ref, g.pred, g.shape, g.k, MEDCL_EMPTY_ONE, i1), MEDCL_OK);
        int k = 0;
        for (const cJSON *e = g.classes->child; e; e = e->next, k++) {
            char where[96];
            snprintf(where, sizeof where, "%s class %d", g.name, k);
            assert_int_equal(cnt[k].tp, (int64_t)field(e, "tp"));
            assert_int_equal(cnt[k].fp, (int64_t)field(e, "fp"));
            assert_int_equal(cnt[k].fn, (int64_t)field(e, "fn"));
            assert_int_equal(cnt[k].tn, (int64_t)field(e, "tn"));
            expect_close(dn[k], field(e, "dice_nan"), "dice nan-mode", where);
            expect_close(d1[k], field(e, "dice_one"), "dice one-mode", where);
            expect_close(in[k], field(e, "iou_nan"), "iou nan-mode", where);
            expect_close(i1[k], field(e, "iou_one"), "iou one-mode", where);
            checked++;
        }
        free(cnt);
        free(dn);
        free(d1);
        free(in);
        free(i1);
        free_case(&g);
    }
    assert_true(checked >= 20);
}

static void check_surface_mode(medcl_boundary_mode boundary, medcl_surface_empty empty,
                               const char *key)
{
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(g_doc, "cases");
    int checked = 0, finite = 0, with_monai = 0;
    for (const cJSON *c = cases->child; c; c = c->next) {
        golden_case g;
        load_case(c, &g);
        medcl_surface_options o = MEDCL_SURFACE_OPTIONS_INIT;
        o.boundary = boundary;
        o.empty = empty;
        o.num_tolerances = cJSON_GetArraySize(g.taus);
        for (int t = 0; t < o.num_tolerances; t++)
            o.tolerance_mm[t] = cJSON_GetArrayItem(g.taus, t)->valuedouble;
        medcl_surface_result *res = calloc((size_t)g.k, sizeof(*res));
        medcl_status st = medcl_metrics_surface_labels(g.ref, g.pred, g.shape, g.spacing, g.k, &o, res);
        if (st != MEDCL_OK) fail_msg("%s: %s", g.name, medcl_last_error());
        int k = 0;
        for (const cJSON *e = g.classes->child; e; e = e->next, k++) {
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, key);
            char where[128];
            snprintf(where, sizeof where, "%s %s class %d", key, g.name, k);
            expect_close(res[k].hd, field(w, "hd"), "hd", where);
            expect_close(res[k].hd_percentile, field(w, "hd95"), "hd95", where);
            expect_close(res[k].assd, field(w, "assd"), "assd", where);
            expect_close(res[k].masd, field(w, "masd"), "masd", where);
            const cJSON *nsd = cJSON_GetObjectItemCaseSensitive(w, "nsd");
            for (int t = 0; t < o.num_tolerances; t++)
                expect_close(res[k].nsd[t], num(cJSON_GetArrayItem(nsd, t)), "nsd", where);
            /* voxel mode also against MONAI's own float32 output (float32 quantile) */
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(w, "monai_f32");
            if (m) {
                expect_close_tol(res[k].hd, field(m, "hd"), 5e-6, "monai hd", where);
                expect_close_tol(res[k].hd_percentile, field(m, "hd95"), 5e-6, "monai hd95", where);
                expect_close_tol(res[k].assd, field(m, "assd"), 5e-6, "monai assd", where);
                expect_close_tol(res[k].masd, field(m, "masd"), 5e-6, "monai masd", where);
                const cJSON *mn = cJSON_GetObjectItemCaseSensitive(m, "nsd");
                for (int t = 0; t < o.num_tolerances; t++)
                    expect_close_tol(res[k].nsd[t], num(cJSON_GetArrayItem(mn, t)), 5e-6,
                                     "monai nsd", where);
                with_monai++;
            }
            finite += isfinite(res[k].hd) && res[k].hd > 0;
            checked++;
        }
        free(res);
        free_case(&g);
    }
    assert_true(checked >= 20);
    assert_true(finite >= 15);
    if (boundary == MEDCL_BOUNDARY_VOXEL) assert_true(with_monai >= 15);
}

static void test_golden_voxel_monai(void **state)
{
    (void)state;
    check_surface_mode(MEDCL_BOUNDARY_VOXEL, MEDCL_SURFACE_EMPTY_MONAI, "voxel_monai");
}

static void test_golden_voxel_reloaded(void **state)
{
    (void)state;
    check_surface_mode(MEDCL_BOUNDARY_VOXEL, MEDCL_SURFACE_EMPTY_RELOADED, "voxel_reloaded");
}

static void test_golden_surfel_monai(void **state)
{
    (void)state;
    check_surface_mode(MEDCL_BOUNDARY_SURFEL, MEDCL_SURFACE_EMPTY_MONAI, "surfel_monai");
}

static void test_golden_surfel_reloaded(void **state)
{
    (void)state;
    check_surface_mode(MEDCL_BOUNDARY_SURFEL, MEDCL_SURFACE_EMPTY_RELOADED, "surfel_reloaded");
}

static void test_golden_classification(void **state)
{
    (void)state;
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(g_doc, "classification");
    int checked = 0;
    for (const cJSON *s = sets->child; s; s = s->next) {
        const char *name = cJSON_GetObjectItemCaseSensitive(s, "name")->valuestring;
        int64_t n = (int64_t)field(s, "n");
        int32_t k = (int32_t)field(s, "num_classes");
        int32_t *y = malloc((size_t)n * sizeof(*y)), *yhat = malloc((size_t)n * sizeof(*yhat));
        float *p = malloc((size_t)(n * k) * sizeof(*p));
        const cJSON *jl = cJSON_GetObjectItemCaseSensitive(s, "labels");
        const cJSON *jp = cJSON_GetObjectItemCaseSensitive(s, "probs");
        assert_int_equal(cJSON_GetArraySize(jl), n);
        assert_int_equal(cJSON_GetArraySize(jp), n * k);
        int64_t i = 0;
        for (const cJSON *it = jl->child; it; it = it->next) y[i++] = (int32_t)it->valuedouble;
        i = 0;
        for (const cJSON *it = jp->child; it; it = it->next) p[i++] = (float)num(it);
        for (i = 0; i < n; i++) { /* argmax, first max (numpy) */
            int32_t am = 0;
            for (int32_t c = 1; c < k; c++)
                if (p[i * k + c] > p[i * k + am]) am = c;
            yhat[i] = am;
        }
        int64_t *cm = malloc((size_t)(k * k) * sizeof(*cm));
        assert_int_equal(medcl_confusion_matrix(y, yhat, n, k, cm), MEDCL_OK);
        const cJSON *jc = cJSON_GetObjectItemCaseSensitive(s, "confusion");
        i = 0;
        for (const cJSON *it = jc->child; it; it = it->next, i++)
            assert_int_equal(cm[i], (int64_t)it->valuedouble);
        medcl_class_stats *st = malloc((size_t)k * sizeof(*st));
        medcl_class_summary sum;
        assert_int_equal(medcl_metrics_classification(cm, k, st, &sum), MEDCL_OK);
        double *auc = malloc((size_t)k * sizeof(double)), macro = 0;
        assert_int_equal(medcl_metric_roc_auc_ovr(p, y, n, k, auc, &macro), MEDCL_OK);
        for (int32_t c = 0; c < k; c++) {
            char where[64];
            snprintf(where, sizeof where, "%s class %d", name, c);
            expect_close(st[c].sensitivity, num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "sensitivity"), c)), "sensitivity", where);
            expect_close(st[c].specificity, num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "specificity"), c)), "specificity", where);
            expect_close(st[c].precision, num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "precision"), c)), "precision", where);
            expect_close(st[c].f1, num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "f1"), c)), "f1", where);
            expect_close(auc[c], num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "auc"), c)), "auc", where);
            checked++;
        }
        expect_close(sum.accuracy, field(s, "accuracy"), "accuracy", name);
        expect_close(sum.balanced_accuracy, field(s, "balanced_accuracy"), "balanced accuracy", name);
        expect_close(macro, field(s, "auc_macro"), "auc macro", name);
        if (k == 2) { /* binary AUC of class 1 equals sklearn's binary roc_auc_score */
            uint8_t *pos = malloc((size_t)n);
            float *s1 = malloc((size_t)n * sizeof(float));
            for (i = 0; i < n; i++) pos[i] = y[i] == 1, s1[i] = p[i * 2 + 1];
            double a = 0;
            assert_int_equal(medcl_metric_roc_auc(s1, pos, n, &a), MEDCL_OK);
            expect_close(a, num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "auc"), 1)), "binary auc", name);
            free(pos);
            free(s1);
        }
        medcl_calibration cal;
        assert_int_equal(medcl_metrics_calibration(p, y, n, k, 10, &cal), MEDCL_OK);
        expect_close(cal.ece, field(s, "ece"), "ece", name);
        expect_close(cal.brier, field(s, "brier"), "brier", name);
        expect_close(cal.nll, field(s, "nll"), "nll", name);
        free(y);
        free(yhat);
        free(p);
        free(cm);
        free(st);
        free(auc);
    }
    assert_true(checked >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_overlap),
        cmocka_unit_test(test_golden_voxel_monai),
        cmocka_unit_test(test_golden_voxel_reloaded),
        cmocka_unit_test(test_golden_surfel_monai),
        cmocka_unit_test(test_golden_surfel_reloaded),
        cmocka_unit_test(test_golden_classification),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
