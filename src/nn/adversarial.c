/* src/nn/adversarial.c — FGSM and PGD on a compiled graph's input (cl/continual.cl: adv_step,
 * adv_random_start), the mixed clean/adversarial backward for adversarial training, and the
 * variant list of cl/continual.cl for kernel bundles.
 * Leaves out: metrics under attack (the caller evaluates the perturbed batch), L2 attacks,
 * targeted attacks, TRADES-style losses. */
#include "medcl/continual.h"
#include "ops/ops_internal.h"

#include <math.h>
#include <stdlib.h>

#define PROG "continual"
#define ADV_STREAM 0x4144u

/* Every program variant the continual-learning kernels use (registry.c): one, no tunables. */
medcl_status medcl_continual_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);
medcl_status medcl_continual_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    (void)ctx;
    return add(acc, PROG, "");
}

const char *medcl_adv_method_str(medcl_adv_method m) {
    switch (m) {
    case MEDCL_ADV_NONE: return "none";
    case MEDCL_ADV_FGSM: return "fgsm";
    case MEDCL_ADV_PGD: return "pgd";
    default: return "unknown";
    }
}

medcl_status medcl_adv_config_check(const medcl_adv_config *c) {
    if (!c) return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: config is NULL");
    if (c->size != sizeof *c)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: config size %zu, expected %zu "
                          "(initialize with MEDCL_ADV_CONFIG_INIT)", c->size, sizeof *c);
    if ((int)c->method < 0 || c->method >= MEDCL_ADV_METHOD_COUNT)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: method = %d", (int)c->method);
    if (c->method == MEDCL_ADV_NONE) return MEDCL_OK;
    if (!(c->epsilon > 0.0f) || !isfinite(c->epsilon))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: epsilon = %g, must be > 0 and finite",
                          (double)c->epsilon);
    if (!(c->alpha >= 0.0f) || !isfinite(c->alpha))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: alpha = %g, must be >= 0 and finite",
                          (double)c->alpha);
    if (c->method == MEDCL_ADV_PGD && c->steps < 1)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: steps = %d, must be >= 1", c->steps);
    if (c->clip && !(c->lo < c->hi))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: clip range lo = %g, hi = %g (need lo < hi)",
                          (double)c->lo, (double)c->hi);
    if (!(c->weight >= 0.0f && c->weight <= 1.0f))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversarial: weight = %g, must be in [0, 1]",
                          (double)c->weight);
    return MEDCL_OK;
}

void medcl_adv_loss_weights(const medcl_adv_config *c, float *clean, float *adv) {
    float w = (c && c->method != MEDCL_ADV_NONE) ? c->weight : 0.0f;
    if (clean) *clean = 1.0f - w;
    if (adv) *adv = w;
}

/* ---- the projected sign step ------------------------------------------------------------ */

medcl_status medcl_adv_step(const medcl_adv_step_params *p, const medcl_tensor *x0,
                            const medcl_tensor *x, const medcl_tensor *grad, medcl_tensor *out) {
    static const char *op = "adv_step";
    medcl_status st = MEDCL_OK;
    if (!p) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: params are NULL", op);
    if (p->size != sizeof *p)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: params size %zu, expected %zu "
                   "(initialize with MEDCL_ADV_STEP_PARAMS_INIT)", op, p->size, sizeof *p);
    if (!(p->epsilon >= 0.0f) || !isfinite(p->epsilon) || !(p->alpha >= 0.0f) || !isfinite(p->alpha))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: epsilon = %g, alpha = %g (need finite, >= 0)", op,
                   (double)p->epsilon, (double)p->alpha);
    if (p->clip && !(p->lo < p->hi))
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: clip range lo = %g, hi = %g", op, (double)p->lo,
                   (double)p->hi);
    MEDCL_TRY(medcl_op_check(op, "x0", x0, true));
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "grad", grad, true));
    MEDCL_TRY(medcl_op_check(op, "out", out, true));
    MEDCL_TRY(medcl_op_same_numel(op, "x0", x0, "x", x));
    MEDCL_TRY(medcl_op_same_numel(op, "x0", x0, "grad", grad));
    MEDCL_TRY(medcl_op_same_numel(op, "x0", x0, "out", out));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(out->ctx, PROG, "", "adv_step", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)out->numel;
    cl_int clip = p->clip ? 1 : 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, x0));
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(medcl_arg_tensor(k, &i, grad));
    MEDCL_CL(medcl_arg_tensor(k, &i, out));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, p->epsilon)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, p->alpha)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, clip)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, p->lo)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, p->hi)); i++;
    MEDCL_TRY(medcl_launch_1d(out->ctx, k, (size_t)n));
cleanup:
    return st;
}

static medcl_status random_start(const medcl_adv_config *c, const medcl_tensor *x0,
                                 medcl_tensor *out, uint32_t step) {
    medcl_status st = MEDCL_OK;
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(out->ctx, PROG, "", "adv_random_start", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)out->numel, seed = c->seed;
    cl_int clip = c->clip ? 1 : 0;
    cl_uint stream = ADV_STREAM, c2 = step, c3 = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, x0));
    MEDCL_CL(medcl_arg_tensor(k, &i, out));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, c->epsilon)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, clip)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, c->lo)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, c->hi)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, seed)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, stream)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, c2)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, c3)); i++;
    MEDCL_TRY(medcl_launch_1d(out->ctx, k, (size_t)n));
cleanup:
    return st;
}

/* ---- the adversary ------------------------------------------------------------------------ */

struct medcl_adversary {
    medcl_graph *g;
    medcl_node input;
    medcl_adv_config cfg;
    medcl_tensor *x;      /* the graph's input tensor (not owned) */
    medcl_tensor *gx;     /* its gradient (not owned) */
    medcl_tensor *clean;  /* saved clean batch */
    medcl_tensor *adv;    /* x' while the clean pass runs (PGD training) */
};

medcl_status medcl_adversary_create(medcl_graph *g, medcl_node input, const medcl_adv_config *c,
                                    medcl_adversary **out) {
    medcl_status st = MEDCL_OK;
    medcl_adversary *a = NULL;
    if (out) *out = NULL;
    if (!g || !out) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "adversary_create: NULL argument");
    MEDCL_TRY(medcl_adv_config_check(c));
    MEDCL_TRY(medcl_graph_status(g));
    medcl_tensor *x = medcl_graph_tensor(g, input), *gx = medcl_graph_grad(g, input);
    if (!x || !gx)
        MEDCL_FAIL(MEDCL_ERR_STATE, "adversary_create: node %s has no input gradient (call "
                   "medcl_graph_input_requires_grad on an input of a training graph before "
                   "medcl_graph_compile)", input.id >= 0 ? medcl_graph_node_name(g, input) : "(none)");
    if (medcl_tensor_dtype(x) != MEDCL_DTYPE_F32)
        MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "adversary_create: input %s has dtype %s, expected f32",
                   medcl_tensor_name(x), medcl_dtype_str(medcl_tensor_dtype(x)));
    a = calloc(1, sizeof *a);
    if (!a) MEDCL_FAIL(MEDCL_ERR_OUT_OF_MEMORY, "adversary_create: out of host memory");
    a->g = g;
    a->input = input;
    a->cfg = *c;
    if (a->cfg.method == MEDCL_ADV_FGSM) {
        a->cfg.alpha = a->cfg.epsilon;
        a->cfg.steps = 1;
        a->cfg.random_start = false;
    } else if (a->cfg.method == MEDCL_ADV_PGD && a->cfg.alpha == 0.0f) {
        a->cfg.alpha = (float)(2.5 * (double)a->cfg.epsilon / (double)a->cfg.steps);
    }
    a->x = x;
    a->gx = gx;
    medcl_tensor_desc d = MEDCL_TENSOR_DESC_INIT;
    d.ndim = medcl_tensor_ndim(x);
    for (int i = 0; i < d.ndim; i++) d.shape[i] = medcl_tensor_dim(x, i);
    d.name = "adversary.clean";
    MEDCL_TRY(medcl_tensor_create(medcl_graph_context(g), &d, &a->clean));
    d.name = "adversary.adv";
    MEDCL_TRY(medcl_tensor_create(medcl_graph_context(g), &d, &a->adv));
    *out = a;
    a = NULL;
cleanup:
    medcl_adversary_destroy(a);
    return st;
}

void medcl_adversary_destroy(medcl_adversary *a) {
    if (!a) return;
    medcl_tensor_destroy(a->clean);
    medcl_tensor_destroy(a->adv);
    free(a);
}

const medcl_adv_config *medcl_adversary_config(const medcl_adversary *a) { return a ? &a->cfg : NULL; }
medcl_tensor *medcl_adversary_clean(const medcl_adversary *a) { return a ? a->clean : NULL; }

medcl_status medcl_adversary_restore(medcl_adversary *a) {
    if (!a) return medcl_fail(MEDCL_ERR_INVALID_ARG, "adversary_restore: adversary is NULL");
    return medcl_copy(a->x, a->clean);
}

/* x ← x + step toward higher loss, projected; x0 = the saved clean batch; the input gradient
 * must be the current one (any positive loss scale). */
static medcl_status sign_step(medcl_adversary *a) {
    medcl_adv_step_params p = MEDCL_ADV_STEP_PARAMS_INIT;
    p.epsilon = a->cfg.epsilon;
    p.alpha = a->cfg.alpha;
    p.clip = a->cfg.clip;
    p.lo = a->cfg.lo;
    p.hi = a->cfg.hi;
    return medcl_adv_step(&p, a->clean, a->x, a->gx, a->x);
}

/* Crafting from the clean batch already saved in a->clean (graph input = clean on entry). */
static medcl_status craft(medcl_adversary *a, uint32_t step) {
    medcl_status st = MEDCL_OK;
    if (a->cfg.method == MEDCL_ADV_PGD && a->cfg.random_start)
        MEDCL_TRY(random_start(&a->cfg, a->clean, a->x, step));
    for (int s = 0; s < a->cfg.steps; s++) {
        MEDCL_TRY(medcl_graph_forward(a->g));
        MEDCL_TRY(medcl_graph_backward(a->g, 1.0f));
        MEDCL_TRY(sign_step(a));
    }
cleanup:
    return st;
}

medcl_status medcl_adversary_perturb(medcl_adversary *a, uint32_t step) {
    medcl_status st = MEDCL_OK;
    if (!a) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "adversary_perturb: adversary is NULL");
    MEDCL_TRY(medcl_copy(a->clean, a->x));
    if (a->cfg.method != MEDCL_ADV_NONE) MEDCL_TRY(craft(a, step));
cleanup:
    return st;
}

medcl_status medcl_adversary_train_backward(medcl_adversary *a, uint32_t step) {
    medcl_status st = MEDCL_OK;
    if (!a) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "adversary_train_backward: adversary is NULL");
    float wc, wa;
    medcl_adv_loss_weights(&a->cfg, &wc, &wa);
    MEDCL_TRY(medcl_copy(a->clean, a->x));
    if (a->cfg.method == MEDCL_ADV_NONE || wa == 0.0f) {
        MEDCL_TRY(medcl_graph_zero_grad(a->g));
        MEDCL_TRY(medcl_graph_forward(a->g));
        MEDCL_TRY(medcl_graph_backward(a->g, 1.0f));
        goto cleanup;
    }
    if (a->cfg.method == MEDCL_ADV_FGSM) {
        /* the clean pass gives the input gradient FGSM needs (sign ignores the scale wc > 0) */
        MEDCL_TRY(medcl_graph_zero_grad(a->g));
        MEDCL_TRY(medcl_graph_forward(a->g));
        MEDCL_TRY(medcl_graph_backward(a->g, wc > 0.0f ? wc : 1.0f));
        if (wc == 0.0f) MEDCL_TRY(medcl_graph_zero_grad(a->g));
        MEDCL_TRY(sign_step(a));
    } else {
        MEDCL_TRY(craft(a, step));
        MEDCL_TRY(medcl_copy(a->adv, a->x));
        MEDCL_TRY(medcl_graph_zero_grad(a->g));
        if (wc > 0.0f) {
            MEDCL_TRY(medcl_copy(a->x, a->clean));
            MEDCL_TRY(medcl_graph_forward(a->g));
            MEDCL_TRY(medcl_graph_backward(a->g, wc));
            MEDCL_TRY(medcl_copy(a->x, a->adv));
        }
    }
    MEDCL_TRY(medcl_graph_forward(a->g));
    MEDCL_TRY(medcl_graph_backward(a->g, wa));
cleanup:
    return st;
}
