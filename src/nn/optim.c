/* src/nn/optim.c — optimizers on the device (cl/optim.cl): parameter registry and state
 * tensors, the deterministic global gradient norm with clipping, SGD / Adam / AdamW updates
 * in PyTorch's operation order, stats read-back. Scalars PyTorch computes in Python doubles
 * (bias corrections, 1 - beta, -lr) are computed here in double and passed as floats.
 * Leaves out: per-parameter-group settings, AMSGrad, maximize. */
#include "graph/graph_internal.h"
#include "medcl/nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "optim"
#define MAX_PARTS_PER_TENSOR 64

typedef struct oparam {
    char *name;
    medcl_tensor *p, *g;
    medcl_tensor *s1, *s2;  /* SGD: momentum buffer; Adam: exp_avg, exp_avg_sq */
    char *s1_name, *s2_name;
    uint32_t part_off, nparts;
} oparam;

struct medcl_optim {
    medcl_context *ctx;
    medcl_optim_config cfg;
    oparam *params;
    int n, cap;
    uint32_t total_parts;
    medcl_tensor *parts;  /* partial sums of squares */
    medcl_tensor *stats;  /* (4) */
    int64_t steps;
};

static void defines(const medcl_context *ctx, char *buf, size_t cap) {
    snprintf(buf, cap, "-DWG=%u", medcl_reduce_wg(ctx));
}

medcl_status medcl_optim_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    char defs[32];
    defines(ctx, defs, sizeof defs);
    return add(acc, PROG, defs);
}

const char *medcl_optim_kind_str(medcl_optim_kind k) {
    switch (k) {
    case MEDCL_OPTIM_SGD: return "sgd";
    case MEDCL_OPTIM_ADAM: return "adam";
    case MEDCL_OPTIM_ADAMW: return "adamw";
    default: return "?";
    }
}

static medcl_status check_config(const medcl_optim_config *c) {
    if (c->size < sizeof *c)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "optimizer: config.size = %zu, expected %zu", c->size,
                          sizeof *c);
    if ((int)c->kind < 0 || c->kind >= MEDCL_OPTIM_KIND_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "optimizer: config.kind = %d", (int)c->kind);
#define BAD(cond, field, v)                                                                      \
    if (cond) return medcl_fail(MEDCL_ERR_INVALID_ARG, "optimizer %s: config." field " = %g",  \
                                medcl_optim_kind_str(c->kind), (double)(v))
    BAD(!(c->momentum >= 0.0 && c->momentum < 1.0), "momentum", c->momentum);
    BAD(!(c->dampening >= 0.0 && c->dampening <= 1.0), "dampening", c->dampening);
    BAD(!(c->weight_decay >= 0.0 && isfinite(c->weight_decay)), "weight_decay", c->weight_decay);
    BAD(!(c->beta1 >= 0.0 && c->beta1 < 1.0), "beta1", c->beta1);
    BAD(!(c->beta2 >= 0.0 && c->beta2 < 1.0), "beta2", c->beta2);
    BAD(!(c->eps > 0.0 && isfinite(c->eps)), "eps", c->eps);
    BAD(!(c->clip_norm >= 0.0 && isfinite(c->clip_norm)), "clip_norm", c->clip_norm);
#undef BAD
    if (c->kind == MEDCL_OPTIM_SGD && c->nesterov && (c->momentum <= 0.0 || c->dampening != 0.0))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "optimizer sgd: nesterov needs momentum > 0 "
                          "(is %g) and dampening = 0 (is %g)", c->momentum, c->dampening);
    return MEDCL_OK;
}

medcl_status medcl_optim_create(medcl_context *ctx, const medcl_optim_config *cfg,
                                medcl_optim **out) {
    medcl_status st = MEDCL_OK;
    medcl_optim *o = NULL;
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_create: out is NULL");
    *out = NULL;
    if (!ctx || !cfg) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_create: NULL argument");
    MEDCL_TRY(check_config(cfg));
    o = calloc(1, sizeof *o);
    if (!o) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "optimizer: out of memory");
    o->ctx = ctx;
    o->cfg = *cfg;
    int64_t four = 4;
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "optim.stats", 1, &four, &o->stats));
    MEDCL_TRY(medcl_fill(o->stats, 0.0f));
    *out = o;
    o = NULL;
cleanup:
    medcl_optim_destroy(o);
    return st;
}

void medcl_optim_destroy(medcl_optim *o) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        oparam *p = &o->params[i];
        free(p->name);
        free(p->s1_name);
        free(p->s2_name);
        medcl_tensor_destroy(p->s1);
        medcl_tensor_destroy(p->s2);
    }
    free(o->params);
    medcl_tensor_destroy(o->parts);
    medcl_tensor_destroy(o->stats);
    free(o);
}

static medcl_status state_tensor(medcl_optim *o, const char *what, const char *name,
                                 const medcl_tensor *like, medcl_tensor **t, char **tname) {
    size_t len = strlen(what) + strlen(name) + 16;
    *tname = malloc(len);
    if (!*tname) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "optimizer: out of memory");
    snprintf(*tname, len, "optim.%s.%s", what, name);
    medcl_status st = medcl_tensor_create_f32(o->ctx, *tname, like->ndim, like->shape, t);
    if (st == MEDCL_OK) st = medcl_fill(*t, 0.0f);
    return st;
}

medcl_status medcl_optim_add_param(medcl_optim *o, const char *name, medcl_tensor *param,
                                   medcl_tensor *grad) {
    medcl_status st = MEDCL_OK;
    if (!o || !name) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_add_param: NULL argument");
    MEDCL_TRY(medcl_op_check("optim_add_param", "param", param, true));
    MEDCL_TRY(medcl_op_check("optim_add_param", "grad", grad, true));
    MEDCL_TRY(medcl_op_same_numel("optim_add_param", "param", param, "grad", grad));
    if (param->ctx != o->ctx)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "optim_add_param %s: tensor of another context", name);
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->params[i].name, name))
            MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "optim_add_param: parameter %s added twice", name);
    if (o->n == o->cap) {
        int cap = o->cap ? o->cap * 2 : 32;
        oparam *np = realloc(o->params, (size_t)cap * sizeof *np);
        if (!np) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "optimizer: out of memory");
        o->params = np;
        o->cap = cap;
    }
    oparam *p = &o->params[o->n];
    memset(p, 0, sizeof *p);
    o->n++;
    p->name = strdup(name);
    if (!p->name) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "optimizer: out of memory");
    p->p = param;
    p->g = grad;
    if (o->cfg.kind == MEDCL_OPTIM_SGD) {
        if (o->cfg.momentum != 0.0) MEDCL_TRY(state_tensor(o, "momentum", name, param, &p->s1, &p->s1_name));
    } else {
        MEDCL_TRY(state_tensor(o, "exp_avg", name, param, &p->s1, &p->s1_name));
        MEDCL_TRY(state_tensor(o, "exp_avg_sq", name, param, &p->s2, &p->s2_name));
    }
    /* partial sums for the norm: a fixed count per tensor (depends on its size only) */
    unsigned wg = medcl_reduce_wg(o->ctx);
    uint64_t per = (uint64_t)wg * 4;
    uint64_t k = ((uint64_t)param->numel + per - 1) / per;
    if (k > MAX_PARTS_PER_TENSOR) k = MAX_PARTS_PER_TENSOR;
    if (k < 1) k = 1;
    p->nparts = (uint32_t)k;
    p->part_off = o->total_parts;
    o->total_parts += p->nparts;
    medcl_tensor_destroy(o->parts);
    o->parts = NULL;
    int64_t np = o->total_parts;
    MEDCL_TRY(medcl_tensor_create_f32(o->ctx, "optim.norm_partials", 1, &np, &o->parts));
cleanup:
    return st;
}

medcl_status medcl_optim_add_graph(medcl_optim *o, medcl_graph *g) {
    if (!o || !g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_add_graph: NULL argument");
    medcl_status st = medcl_graph_status(g);
    if (st != MEDCL_OK) return st;
    if (!g->compiled || !g->training)
        return medcl_fail(MEDCL_ERR_STATE, "medcl_optim_add_graph: the graph must be compiled for training");
    for (int i = 0; i < g->nparams && st == MEDCL_OK; i++) {
        if (!medcl_graph_param_trainable(g, i)) continue;
        medcl_node n = medcl_graph_param_at(g, i);
        st = medcl_optim_add_param(o, medcl_graph_node_name(g, n), medcl_graph_tensor(g, n),
                                   medcl_graph_grad(g, n));
    }
    return st;
}

int64_t medcl_optim_steps(const medcl_optim *o) { return o ? o->steps : 0; }
void medcl_optim_set_steps(medcl_optim *o, int64_t steps) {
    if (o && steps >= 0) o->steps = steps;
}
const medcl_optim_config *medcl_optim_get_config(const medcl_optim *o) { return o ? &o->cfg : NULL; }
medcl_tensor *medcl_optim_stats_tensor(const medcl_optim *o) { return o ? o->stats : NULL; }

/* Global norm of every gradient into stats[1..3]. */
static medcl_status grad_norm(medcl_optim *o, const char *defs) {
    medcl_status st = MEDCL_OK;
    cl_kernel k1, k2;
    MEDCL_TRY(medcl_kernel_get(o->ctx, PROG, defs, "optim_sqnorm_partial", &k1));
    MEDCL_TRY(medcl_kernel_get(o->ctx, PROG, defs, "optim_norm_finish", &k2));
    size_t wg = medcl_reduce_wg(o->ctx);
    for (int i = 0; i < o->n; i++) {
        oparam *p = &o->params[i];
        cl_uint a = 0;
        cl_ulong n = (cl_ulong)p->g->numel, chunk = (n + p->nparts - 1) / p->nparts;
        cl_uint off = p->part_off;
        MEDCL_CL(medcl_arg_tensor(k1, &a, p->g));
        MEDCL_CL(MEDCL_ARG(k1, a, n));
        a++;
        MEDCL_CL(MEDCL_ARG(k1, a, chunk));
        a++;
        MEDCL_CL(clSetKernelArg(k1, a++, sizeof(cl_mem), &o->parts->mem));
        MEDCL_CL(MEDCL_ARG(k1, a, off));
        size_t gsz = (size_t)p->nparts * wg;
        MEDCL_TRY(medcl_launch(o->ctx, k1, 1, &gsz, &wg, NULL));
    }
    cl_uint a = 0, np = o->total_parts;
    float maxn = (float)o->cfg.clip_norm;
    cl_int skip = o->cfg.skip_nonfinite ? 1 : 0;
    MEDCL_CL(clSetKernelArg(k2, a++, sizeof(cl_mem), &o->parts->mem));
    MEDCL_CL(MEDCL_ARG(k2, a, np));
    a++;
    MEDCL_CL(MEDCL_ARG(k2, a, maxn));
    a++;
    MEDCL_CL(MEDCL_ARG(k2, a, skip));
    a++;
    MEDCL_CL(medcl_arg_tensor(k2, &a, o->stats));
    MEDCL_TRY(medcl_launch(o->ctx, k2, 1, &wg, &wg, NULL));
cleanup:
    return st;
}

medcl_status medcl_optim_step(medcl_optim *o, double lr) {
    medcl_status st = MEDCL_OK;
    if (!o) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_step: optimizer is NULL");
    if (!(lr >= 0.0 && isfinite(lr)))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "optimizer step %lld: lr = %g", (long long)o->steps, lr);
    if (o->n == 0) return medcl_fail(MEDCL_ERR_STATE, "optimizer step: no parameters registered");
    MEDCL_TRY(medcl_context_check(o->ctx));
    char defs[32];
    defines(o->ctx, defs, sizeof defs);
    MEDCL_TRY(grad_norm(o, defs));
    const medcl_optim_config *c = &o->cfg;
    cl_kernel k;
    if (c->kind == MEDCL_OPTIM_SGD) {
        MEDCL_TRY(medcl_kernel_get(o->ctx, PROG, defs, "sgd_step", &k));
        float neg_lr = (float)-lr, mom = (float)c->momentum, omd = (float)(1.0 - c->dampening);
        float wd = (float)c->weight_decay;
        cl_int nest = c->nesterov ? 1 : 0, first = o->steps == 0 ? 1 : 0;
        for (int i = 0; i < o->n; i++) {
            oparam *p = &o->params[i];
            cl_uint a = 0;
            cl_ulong n = (cl_ulong)p->p->numel;
            MEDCL_CL(medcl_arg_tensor(k, &a, p->p));
            MEDCL_CL(medcl_arg_tensor(k, &a, p->g));
            MEDCL_CL(medcl_arg_tensor(k, &a, p->s1 ? p->s1 : p->p)); /* unused without momentum */
            MEDCL_CL(MEDCL_ARG(k, a, n)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, neg_lr)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, mom)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, omd)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, wd)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, nest)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, first)); a++;
            MEDCL_CL(medcl_arg_tensor(k, &a, o->stats));
            MEDCL_TRY(medcl_launch_1d(o->ctx, k, (size_t)n));
        }
    } else {
        MEDCL_TRY(medcl_kernel_get(o->ctx, PROG, defs, "adam_step", &k));
        double t = (double)(o->steps + 1);
        double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
        bool decoupled = c->kind == MEDCL_OPTIM_ADAMW;
        float decay = decoupled ? (float)(1.0 - lr * c->weight_decay) : 1.0f;
        float wd_l2 = decoupled ? 0.0f : (float)c->weight_decay;
        float omb1 = (float)(1.0 - c->beta1), b2 = (float)c->beta2, omb2 = (float)(1.0 - c->beta2);
        float eps = (float)c->eps, neg_step = (float)(-(lr / bc1)), bc2s = (float)sqrt(bc2);
        for (int i = 0; i < o->n; i++) {
            oparam *p = &o->params[i];
            cl_uint a = 0;
            cl_ulong n = (cl_ulong)p->p->numel;
            MEDCL_CL(medcl_arg_tensor(k, &a, p->p));
            MEDCL_CL(medcl_arg_tensor(k, &a, p->g));
            MEDCL_CL(medcl_arg_tensor(k, &a, p->s1));
            MEDCL_CL(medcl_arg_tensor(k, &a, p->s2));
            MEDCL_CL(MEDCL_ARG(k, a, n)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, decay)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, wd_l2)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, omb1)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, b2)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, omb2)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, eps)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, neg_step)); a++;
            MEDCL_CL(MEDCL_ARG(k, a, bc2s)); a++;
            MEDCL_CL(medcl_arg_tensor(k, &a, o->stats));
            MEDCL_TRY(medcl_launch_1d(o->ctx, k, (size_t)n));
        }
    }
    o->steps++;
cleanup:
    return st;
}

medcl_status medcl_optim_read_stats(const medcl_optim *o, medcl_step_stats *out) {
    if (!o || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_read_stats: NULL argument");
    float v[4];
    medcl_status st = medcl_tensor_download(o->stats, v, sizeof v);
    if (st != MEDCL_OK) return st;
    out->loss = v[0];
    out->grad_norm = v[1];
    out->clip_coef = v[2];
    out->skipped = v[3] != 0.0f;
    return MEDCL_OK;
}

int medcl_optim_state_count(const medcl_optim *o) {
    int k = 0;
    if (!o) return 0;
    for (int i = 0; i < o->n; i++) k += (o->params[i].s1 != NULL) + (o->params[i].s2 != NULL);
    return k;
}

medcl_status medcl_optim_state_at(const medcl_optim *o, int i, const char **name, medcl_tensor **t) {
    if (!o || !name || !t) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_state_at: NULL argument");
    for (int j = 0; j < o->n; j++) {
        const oparam *p = &o->params[j];
        if (p->s1 && i-- == 0) {
            *name = p->s1_name;
            *t = p->s1;
            return MEDCL_OK;
        }
        if (p->s2 && i-- == 0) {
            *name = p->s2_name;
            *t = p->s2;
            return MEDCL_OK;
        }
    }
    return medcl_fail(MEDCL_ERR_NOT_FOUND, "medcl_optim_state_at: index out of range");
}

medcl_status medcl_optim_config_json(const medcl_optim *o, char **out) {
    if (!o || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_optim_config_json: NULL argument");
    const medcl_optim_config *c = &o->cfg;
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"kind\":\"%s\",\"momentum\":%.17g,\"dampening\":%.17g,\"nesterov\":%s,"
             "\"weight_decay\":%.17g,\"beta1\":%.17g,\"beta2\":%.17g,\"eps\":%.17g,"
             "\"clip_norm\":%.17g,\"skip_nonfinite\":%s}",
             medcl_optim_kind_str(c->kind), c->momentum, c->dampening, c->nesterov ? "true" : "false",
             c->weight_decay, c->beta1, c->beta2, c->eps, c->clip_norm,
             c->skip_nonfinite ? "true" : "false");
    *out = strdup(buf);
    return *out ? MEDCL_OK : medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "optimizer: out of memory");
}

/* ---- the training step: one host synchronization (the stats read-back) ---- */
medcl_status medcl_train_step(medcl_graph *g, medcl_optim *o, double lr, medcl_step_stats *stats) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *slot = NULL;
    if (!g || !o) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_train_step: NULL argument");
    MEDCL_TRY(medcl_graph_zero_grad(g));
    MEDCL_TRY(medcl_graph_forward(g));
    MEDCL_TRY(medcl_graph_backward(g, 1.0f));
    MEDCL_TRY(medcl_optim_step(o, lr));
    MEDCL_TRY(medcl_tensor_view_n(o->stats, 0, 1, &slot));
    MEDCL_TRY(medcl_tensor_copy(slot, medcl_graph_loss_sum(g)));
    if (stats) MEDCL_TRY(medcl_optim_read_stats(o, stats));
cleanup:
    medcl_tensor_destroy(slot);
    return st;
}
