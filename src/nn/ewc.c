/* src/nn/ewc.c — elastic weight consolidation (cl/continual.cl: ewc_*): per trainable
 * parameter a Fisher diagonal, an anchor copy and (while estimating) an accumulator of squared
 * gradients; the penalty lambda/2 sum F (theta - theta*)^2 as per-element terms followed by
 * reduce.cl's fixed-order sum; the penalty gradient added (+=) to the parameter gradients;
 * state export and import under "ewc.fisher.<param>" / "ewc.anchor.<param>".
 * Leaves out: the empirical Fisher from per-sample gradients (batches are the unit here, as in
 * Lifelong-nnU-Net), multi-task EWC with one Fisher per domain (online mode covers it). */
#include "medcl/continual.h"
#include "ops/ops_internal.h"
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "continual"

typedef struct ewc_param {
    char *fisher_name, *anchor_name;
    medcl_tensor *param, *grad;    /* the graph's (not owned) */
    medcl_tensor *fisher, *anchor;
    medcl_tensor *acc;             /* while estimating */
    medcl_tensor *terms;           /* view of the scratch tensor */
} ewc_param;

struct medcl_ewc {
    medcl_context *ctx;
    medcl_ewc_config cfg;
    ewc_param *p;
    int n;
    int64_t batches;
    bool active;
    medcl_tensor *scratch;         /* (total numel) penalty terms */
};

static char *dup_prefixed(const char *prefix, const char *name) {
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s", prefix, name);
    return s;
}

medcl_status medcl_ewc_create(medcl_graph *g, const medcl_ewc_config *c, medcl_ewc **out) {
    medcl_status st = MEDCL_OK;
    medcl_ewc *e = NULL;
    medcl_ewc_config def = MEDCL_EWC_CONFIG_INIT;
    if (out) *out = NULL;
    if (!g || !out) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_create: NULL argument");
    if (!c) c = &def;
    if (c->size != sizeof *c)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_create: config size %zu, expected %zu "
                   "(initialize with MEDCL_EWC_CONFIG_INIT)", c->size, sizeof *c);
    if (!(c->lambda >= 0.0) || !isfinite(c->lambda))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_create: lambda = %g, must be >= 0 and finite", c->lambda);
    MEDCL_TRY(medcl_graph_status(g));
    e = calloc(1, sizeof *e);
    if (!e) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "ewc_create: out of host memory");
    e->ctx = medcl_graph_context(g);
    e->cfg = *c;
    int np = medcl_graph_param_count(g);
    e->p = calloc(np > 0 ? (size_t)np : 1, sizeof *e->p);
    if (!e->p) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "ewc_create: out of host memory");
    int64_t total = 0;
    for (int i = 0; i < np; i++) {
        if (!medcl_graph_param_trainable(g, i)) continue;
        medcl_node nd = medcl_graph_param_at(g, i);
        ewc_param *q = &e->p[e->n];
        q->param = medcl_graph_tensor(g, nd);
        q->grad = medcl_graph_grad(g, nd);
        const char *name = medcl_graph_node_name(g, nd);
        if (!q->param || !q->grad)
            MEDCL_FAIL(MEDCL_ERR_STATE, "ewc_create: parameter %s has no %s (compile the graph for "
                       "training first)", name, q->param ? "gradient" : "tensor");
        e->n++;
        q->fisher_name = dup_prefixed("ewc.fisher.", name);
        q->anchor_name = dup_prefixed("ewc.anchor.", name);
        if (!q->fisher_name || !q->anchor_name)
            MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "ewc_create: out of host memory");
        medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
        d.ndim = medcl_tensor_ndim(q->param);
        for (int k = 0; k < d.ndim; k++) d.shape[k] = medcl_tensor_dim(q->param, k);
        d.name = q->fisher_name;
        MEDCL_TRY(medcl_tensor_create(e->ctx, &d, &q->fisher));
        d.name = q->anchor_name;
        MEDCL_TRY(medcl_tensor_create(e->ctx, &d, &q->anchor));
        MEDCL_TRY(medcl_fill(q->fisher, 0.0f));
        MEDCL_TRY(medcl_fill(q->anchor, 0.0f));
        total += medcl_tensor_numel(q->param);
    }
    if (e->n == 0) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_create: the graph has no trainable parameter");
    MEDCL_TRY(medcl_tensor_create_f32(e->ctx, "ewc.terms", 1, &total, &e->scratch));
    int64_t off = 0;
    for (int i = 0; i < e->n; i++) {
        int64_t n = medcl_tensor_numel(e->p[i].param);
        MEDCL_TRY(medcl_tensor_view_n(e->scratch, off, n, &e->p[i].terms));
        off += n;
    }
    *out = e;
    e = NULL;
cleanup:
    medcl_ewc_destroy(e);
    return st;
}

void medcl_ewc_destroy(medcl_ewc *e) {
    if (!e) return;
    for (int i = 0; i < e->n; i++) {
        ewc_param *q = &e->p[i];
        medcl_tensor_destroy(q->terms);
        medcl_tensor_destroy(q->fisher);
        medcl_tensor_destroy(q->anchor);
        medcl_tensor_destroy(q->acc);
        free(q->fisher_name);
        free(q->anchor_name);
    }
    medcl_tensor_destroy(e->scratch);
    free(e->p);
    free(e);
}

bool medcl_ewc_active(const medcl_ewc *e) { return e && e->active; }
int64_t medcl_ewc_fisher_batches(const medcl_ewc *e) { return e ? e->batches : 0; }

medcl_status medcl_ewc_set_lambda(medcl_ewc *e, double lambda) {
    if (!e) return medcl_fail(MEDCL_ERR_INVALID_ARG, "ewc_set_lambda: ewc is NULL");
    if (!(lambda >= 0.0) || !isfinite(lambda))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "ewc_set_lambda: lambda = %g, must be >= 0 and finite",
                          lambda);
    e->cfg.lambda = lambda;
    return MEDCL_OK;
}

/* ---- Fisher ------------------------------------------------------------------------------ */

medcl_status medcl_ewc_fisher_begin(medcl_ewc *e) {
    medcl_status st = MEDCL_OK;
    if (!e) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_fisher_begin: ewc is NULL");
    for (int i = 0; i < e->n; i++) {
        ewc_param *q = &e->p[i];
        if (!q->acc) {
            int64_t n = medcl_tensor_numel(q->param);
            MEDCL_TRY(medcl_tensor_create_f32(e->ctx, "ewc.fisher_acc", 1, &n, &q->acc));
        }
        MEDCL_TRY(medcl_fill(q->acc, 0.0f));
    }
    e->batches = 0;
cleanup:
    return st;
}

medcl_status medcl_ewc_fisher_accumulate(medcl_ewc *e) {
    medcl_status st = MEDCL_OK;
    if (!e) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_fisher_accumulate: ewc is NULL");
    if (!e->p[0].acc)
        MEDCL_FAIL(MEDCL_ERR_STATE, "ewc_fisher_accumulate: call medcl_ewc_fisher_begin first");
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(e->ctx, PROG, "", "ewc_fisher_accum", &k));
    for (int j = 0; j < e->n; j++) {
        ewc_param *q = &e->p[j];
        cl_uint i = 0;
        cl_ulong n = (cl_ulong)q->acc->numel;
        MEDCL_CL(medcl_arg_tensor(k, &i, q->grad));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->acc));
        MEDCL_CL(MEDCL_ARG(k, i, n));
        MEDCL_TRY(medcl_launch_1d(e->ctx, k, (size_t)n));
    }
    e->batches++;
cleanup:
    return st;
}

medcl_status medcl_ewc_consolidate(medcl_ewc *e) {
    medcl_status st = MEDCL_OK;
    if (!e) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_consolidate: ewc is NULL");
    if (!e->p[0].acc || e->batches < 1)
        MEDCL_FAIL(MEDCL_ERR_STATE, "ewc_consolidate: no batch accumulated (fisher_begin, then "
                   "fisher_accumulate after each backward)");
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(e->ctx, PROG, "", "ewc_fisher_finish", &k));
    float inv = (float)(1.0 / (double)e->batches);
    cl_int online = (e->cfg.online && e->active) ? 1 : 0;
    for (int j = 0; j < e->n; j++) {
        ewc_param *q = &e->p[j];
        cl_uint i = 0;
        cl_ulong n = (cl_ulong)q->acc->numel;
        MEDCL_CL(medcl_arg_tensor(k, &i, q->acc));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->fisher));
        MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, inv)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, online)); i++;
        MEDCL_TRY(medcl_launch_1d(e->ctx, k, (size_t)n));
        MEDCL_TRY(medcl_copy(q->anchor, q->param));
    }
    /* the in-order queue finishes the kernels above before the buffers are reused */
    for (int j = 0; j < e->n; j++) {
        medcl_tensor_destroy(e->p[j].acc);
        e->p[j].acc = NULL;
    }
    e->active = true;
cleanup:
    return st;
}

/* ---- penalty and gradient ---------------------------------------------------------------- */

medcl_status medcl_ewc_penalty(medcl_ewc *e, medcl_tensor *out) {
    medcl_status st = MEDCL_OK;
    if (!e) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_penalty: ewc is NULL");
    MEDCL_TRY(medcl_op_check("ewc_penalty", "out", out, true));
    if (out->numel != 1)
        MEDCL_FAIL(MEDCL_ERR_SHAPE, "ewc_penalty: out (%s) must have one element, has %lld",
                   medcl_tensor_name(out), (long long)out->numel);
    if (!e->active) {
        MEDCL_TRY(medcl_fill(out, 0.0f));
        goto cleanup;
    }
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(e->ctx, PROG, "", "ewc_terms", &k));
    for (int j = 0; j < e->n; j++) {
        ewc_param *q = &e->p[j];
        cl_uint i = 0;
        cl_ulong n = (cl_ulong)q->terms->numel;
        MEDCL_CL(medcl_arg_tensor(k, &i, q->fisher));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->param));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->anchor));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->terms));
        MEDCL_CL(MEDCL_ARG(k, i, n));
        MEDCL_TRY(medcl_launch_1d(e->ctx, k, (size_t)n));
    }
    MEDCL_TRY(medcl_reduce_sum(e->scratch, out));
    MEDCL_TRY(medcl_scale(out, (float)(0.5 * e->cfg.lambda), out));
cleanup:
    return st;
}

medcl_status medcl_ewc_add_grad(medcl_ewc *e, float scale) {
    medcl_status st = MEDCL_OK;
    if (!e) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_add_grad: ewc is NULL");
    if (!isfinite(scale)) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_add_grad: scale = %g", (double)scale);
    if (!e->active) goto cleanup;
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(e->ctx, PROG, "", "ewc_grad", &k));
    float coef = (float)((double)scale * e->cfg.lambda);
    for (int j = 0; j < e->n; j++) {
        ewc_param *q = &e->p[j];
        cl_uint i = 0;
        cl_ulong n = (cl_ulong)q->param->numel;
        MEDCL_CL(medcl_arg_tensor(k, &i, q->fisher));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->param));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->anchor));
        MEDCL_CL(medcl_arg_tensor(k, &i, q->grad));
        MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, coef)); i++;
        MEDCL_TRY(medcl_launch_1d(e->ctx, k, (size_t)n));
    }
cleanup:
    return st;
}

/* ---- state --------------------------------------------------------------------------------- */

int medcl_ewc_state_count(const medcl_ewc *e) { return (e && e->active) ? 2 * e->n : 0; }

medcl_status medcl_ewc_state_at(const medcl_ewc *e, int i, const char **name, medcl_tensor **t) {
    if (name) *name = NULL;
    if (t) *t = NULL;
    if (!e) return medcl_fail(MEDCL_ERR_INVALID_ARG, "ewc_state_at: ewc is NULL");
    if (i < 0 || i >= medcl_ewc_state_count(e))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "ewc_state_at: index %d outside [0, %d)", i,
                          medcl_ewc_state_count(e));
    const ewc_param *q = &e->p[i / 2];
    if (name) *name = (i % 2) ? q->anchor_name : q->fisher_name;
    if (t) *t = (i % 2) ? q->anchor : q->fisher;
    return MEDCL_OK;
}

static int64_t st_numel(const medcl_st_tensor *s) {
    int64_t n = 1;
    for (int k = 0; k < s->ndim; k++) n *= s->shape[k];
    return n;
}

medcl_status medcl_ewc_load_state(medcl_ewc *e, const medcl_safetensors *f) {
    medcl_status st = MEDCL_OK;
    char *msg = NULL;
    size_t cap = 1024, len = 0;
    if (!e || !f) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_load_state: NULL argument");
    msg = malloc(cap);
    if (!msg) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "ewc_load_state: out of host memory");
    msg[0] = 0;
    int problems = 0;
    for (int j = 0; j < 2 * e->n; j++) {
        const ewc_param *q = &e->p[j / 2];
        const char *nm = (j % 2) ? q->anchor_name : q->fisher_name;
        const medcl_st_tensor *s = medcl_safetensors_find(f, nm);
        char line[320];
        line[0] = 0;
        if (!s)
            snprintf(line, sizeof line, "; missing %s", nm);
        else if (s->dtype != MEDCL_DTYPE_F32 || st_numel(s) != medcl_tensor_numel(q->param) ||
                 s->bytes != (size_t)medcl_tensor_numel(q->param) * 4)
            snprintf(line, sizeof line, "; %s has dtype %s and %lld elements, expected f32 and %lld", nm,
                     medcl_dtype_str(s->dtype), (long long)st_numel(s),
                     (long long)medcl_tensor_numel(q->param));
        if (line[0]) {
            problems++;
            size_t l = strlen(line);
            if (len + l + 1 < cap) {
                memcpy(msg + len, line, l + 1);
                len += l;
            }
        }
    }
    if (problems)
        MEDCL_FAIL(MEDCL_ERR_FORMAT, "ewc_load_state: %d problem(s)%s", problems, msg);
    for (int j = 0; j < 2 * e->n; j++) {
        ewc_param *q = &e->p[j / 2];
        const medcl_st_tensor *s = medcl_safetensors_find(f, (j % 2) ? q->anchor_name : q->fisher_name);
        MEDCL_TRY(medcl_tensor_upload((j % 2) ? q->anchor : q->fisher, s->data, s->bytes));
    }
    e->active = true;
cleanup:
    free(msg);
    return st;
}

medcl_status medcl_ewc_save(const medcl_ewc *e, const char *path) {
    medcl_status st = MEDCL_OK;
    medcl_st_tensor *t = NULL;
    void **data = NULL;
    int n = 0;
    if (!e || !path) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_save: NULL argument");
    n = medcl_ewc_state_count(e);
    if (n == 0) MEDCL_FAIL(MEDCL_ERR_STATE, "ewc_save: %s: no Fisher yet (consolidate or load first)", path);
    t = calloc((size_t)n, sizeof *t);
    data = calloc((size_t)n, sizeof *data);
    if (!t || !data) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "ewc_save: out of host memory");
    for (int i = 0; i < n; i++) {
        medcl_tensor *x;
        MEDCL_TRY(medcl_ewc_state_at(e, i, &t[i].name, &x));
        t[i].dtype = MEDCL_DTYPE_F32;
        t[i].ndim = medcl_tensor_ndim(x);
        for (int k = 0; k < t[i].ndim; k++) t[i].shape[k] = medcl_tensor_dim(x, k);
        t[i].bytes = medcl_tensor_bytes(x);
        data[i] = malloc(t[i].bytes);
        if (!data[i]) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "ewc_save: out of host memory");
        MEDCL_TRY(medcl_tensor_download(x, data[i], t[i].bytes));
        t[i].data = data[i];
    }
    char lam[64], bat[32];
    snprintf(lam, sizeof lam, "%.17g", e->cfg.lambda);
    snprintf(bat, sizeof bat, "%lld", (long long)e->batches);
    medcl_st_meta meta[2] = {{"medcl.ewc.lambda", lam}, {"medcl.ewc.batches", bat}};
    MEDCL_TRY(medcl_safetensors_write(path, t, n, meta, 2));
cleanup:
    for (int i = 0; data && i < n; i++) free(data[i]);
    free(data);
    free(t);
    return st;
}

medcl_status medcl_ewc_load(medcl_ewc *e, const char *path) {
    medcl_status st = MEDCL_OK;
    medcl_safetensors *f = NULL;
    if (!e || !path) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "ewc_load: NULL argument");
    MEDCL_TRY(medcl_safetensors_read(path, &f));
    st = medcl_ewc_load_state(e, f);
    if (st != MEDCL_OK) medcl_error_prefix("%s", path);
cleanup:
    medcl_safetensors_close(f);
    return st;
}
