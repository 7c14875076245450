/* src/graph/kinds_net.c — node kinds over the network op families: convolution and
 * transposed convolution, activation, normalization, pooling (max/avg, global average),
 * up-sampling, concat, linear, softmax, and the losses (CE, Dice, Dice+CE). Each kind is
 * shape inference + forward + backward calling the op's public API; weights, biases and
 * affine parameters sit in accumulating slots (the ops do +=). Leaves out: fused conv
 * epilogues (activations are their own nodes: the backward needs the pre-activation); PReLU,
 * dropout, slice, broadcasting and the focal/BCE/MSE/Tversky losses are in kinds_extra.c.
 * Batch norm follows the graph's mode (medcl_graph_set_training). */
#include "graph_internal.h"
#include "medcl/ops_act.h"
#include "medcl/ops_conv.h"
#include "medcl/ops_linear.h"
#include "medcl/ops_loss.h"
#include "medcl/ops_norm.h"
#include "medcl/ops_pool.h"

#include <string.h>


#define IN(i) (graph_in(g, n, (i))->value)

#define need_f32 graph_need_f32

/* every network op here takes f32 inputs of a given rank */
static medcl_status need_rank(const gnode *in, int slot, int lo, int hi) {
    medcl_status st = graph_need_rank(in, slot, lo, hi);
    return st != MEDCL_OK ? st : graph_need_f32(in, slot);
}

static void set_shape(gnode *n, int ndim, const int64_t *s) {
    n->ndim = ndim;
    for (int i = 0; i < MEDCL_MAX_DIMS; i++) n->shape[i] = i < ndim ? s[i] : 0;
}

static void copy_shape(gnode *n, const gnode *x) { set_shape(n, x->ndim, x->shape); }

/* ================================ convolution ================================ */
static medcl_status conv_infer_common(medcl_graph *g, gnode *n, bool transpose) {
    const medcl_conv_params *p = n->params;
    const gnode *x = graph_in(g, n, 0), *w = graph_in(g, n, 1);
    medcl_status st = need_rank(x, 0, 4, 5);
    if (st != MEDCL_OK) return st;
    if (p->activation != MEDCL_ACT_NONE)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "conv params.activation = %d: in a graph the "
                          "activation is its own node", (int)p->activation);
    if (w->ndim != x->ndim)
        return medcl_fail(MEDCL_ERR_SHAPE, "weight %s has %d dimensions, input %s has %d", w->name,
                          w->ndim, x->name, x->ndim);
    int64_t cout = transpose ? w->shape[1] * p->groups : w->shape[0];
    int64_t y[MEDCL_MAX_DIMS];
    st = transpose ? medcl_conv_transpose_output_shape(p, x->ndim, x->shape, cout, y)
                   : medcl_conv_output_shape(p, x->ndim, x->shape, cout, y);
    if (st != MEDCL_OK) return st;
    if (n->ninputs == 3) {
        const gnode *b = graph_in(g, n, 2);
        if (b->ndim != 1 || b->shape[0] != cout)
            return medcl_fail(MEDCL_ERR_SHAPE, "bias %s has %lld elements, the convolution has %lld "
                              "output channels", b->name, (long long)graph_numel(b), (long long)cout);
    }
    set_shape(n, x->ndim, y);
    return MEDCL_OK;
}
static medcl_status conv_infer(medcl_graph *g, gnode *n) { return conv_infer_common(g, n, false); }
static medcl_status convt_infer(medcl_graph *g, gnode *n) { return conv_infer_common(g, n, true); }

static medcl_status conv_forward(medcl_graph *g, gnode *n) {
    return medcl_conv_forward(IN(0), IN(1), n->ninputs == 3 ? IN(2) : NULL, n->value, n->params);
}
static medcl_status conv_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    medcl_status st = MEDCL_OK;
    if (dx[0]) st = medcl_conv_backward_data(dy, IN(1), dx[0], n->params);
    if (st == MEDCL_OK && dx[1])
        st = medcl_conv_backward_weight(IN(0), dy, dx[1], n->ninputs == 3 ? dx[2] : NULL, n->params);
    return st;
}
static medcl_status convt_forward(medcl_graph *g, gnode *n) {
    return medcl_conv_transpose_forward(IN(0), IN(1), n->ninputs == 3 ? IN(2) : NULL, n->value, n->params);
}
static medcl_status convt_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    medcl_status st = MEDCL_OK;
    if (dx[0]) st = medcl_conv_transpose_backward_data(dy, IN(1), dx[0], n->params);
    if (st == MEDCL_OK && dx[1])
        st = medcl_conv_transpose_backward_weight(IN(0), dy, dx[1], n->ninputs == 3 ? dx[2] : NULL,
                                                  n->params);
    return st;
}
static const graph_kind kind_conv = {"conv", 1u, false, 6u, 0, conv_infer, conv_forward,
                                     conv_backward, medcl_conv_variants};
static const graph_kind kind_convt = {"conv_transpose", 1u, false, 6u, 0, convt_infer, convt_forward,
                                      convt_backward, medcl_conv_variants};

static medcl_node conv_build(medcl_graph *g, const graph_kind *k, medcl_node x, medcl_node w,
                             medcl_node b, const medcl_conv_params *p) {
    medcl_conv_params def = MEDCL_CONV_PARAMS_INIT;
    if (!p) p = &def;
    int in[3] = {x.id, w.id, b.id};
    return (medcl_node){graph_add_node(g, k, in, b.id >= 0 ? 3 : 2, p, sizeof *p)};
}
medcl_node medcl_graph_conv(medcl_graph *g, medcl_node x, medcl_node w, medcl_node b,
                            const medcl_conv_params *p) {
    return conv_build(g, &kind_conv, x, w, b, p);
}
medcl_node medcl_graph_conv_transpose(medcl_graph *g, medcl_node x, medcl_node w, medcl_node b,
                                      const medcl_conv_params *p) {
    return conv_build(g, &kind_convt, x, w, b, p);
}

/* ================================ activation ================================ */
static medcl_status act_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_f32(x, 0);
    if (st == MEDCL_OK) copy_shape(n, x);
    return st;
}
static medcl_status act_forward(medcl_graph *g, gnode *n) {
    return medcl_activation_forward(n->params, IN(0), n->value);
}
static medcl_status act_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_activation_backward(n->params, IN(0), dy, dx[0]) : MEDCL_OK;
}
/* ReLU, LeakyReLU with slope >= 0 and the identity: x > 0 exactly when y > 0, so the
 * backward reads the output instead of the input, bit for bit the same gradient (PyTorch's
 * in-place activations do this). The input can then die right after the forward: with
 * conv → norm → act blocks the norm's output is not kept for the backward. */
static medcl_status act_backward_out(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    return dx[0] ? medcl_activation_backward(n->params, n->value, dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_act = {"activation", 1u, false, 0, 0, act_infer, act_forward,
                                    act_backward, medcl_activation_variants};
static const graph_kind kind_act_out = {"activation", 0, true, 0, 0, act_infer, act_forward,
                                        act_backward_out, medcl_activation_variants};
medcl_node medcl_graph_activation(medcl_graph *g, medcl_node x, const medcl_activation_params *p) {
    medcl_activation_params def = MEDCL_ACTIVATION_PARAMS_INIT;
    if (!p) p = &def;
    bool from_out = p->size >= sizeof def &&
                    (p->act == MEDCL_ACT_RELU || p->act == MEDCL_ACT_NONE ||
                     (p->act == MEDCL_ACT_LEAKY_RELU && p->slope >= 0.0f));
    return (medcl_node){graph_add_node(g, from_out ? &kind_act_out : &kind_act, &x.id, 1, p, sizeof def)};
}

/* ================================ softmax ================================ */
static medcl_status softmax_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_rank(x, 0, 2, 5);
    if (st == MEDCL_OK) copy_shape(n, x);
    return st;
}
static medcl_status softmax_forward(medcl_graph *g, gnode *n) {
    return medcl_softmax_forward(n->params, IN(0), n->value);
}
static medcl_status softmax_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    return dx[0] ? medcl_softmax_backward(n->params, n->value, dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_softmax = {"softmax", 0, true, 0, 0, softmax_infer, softmax_forward,
                                        softmax_backward, medcl_softmax_variants};
medcl_node medcl_graph_softmax(medcl_graph *g, medcl_node x, const medcl_softmax_params *p) {
    medcl_softmax_params def = MEDCL_SOFTMAX_PARAMS_INIT;
    return (medcl_node){graph_add_node(g, &kind_softmax, &x.id, 1, p ? p : &def, sizeof def)};
}

/* ================================ normalization ================================ */
/* inputs: x, [gamma, beta] (affine params), [running_mean, running_var] (BATCH buffers);
 * aux: mean, rstd (R) */
static medcl_status norm_infer(medcl_graph *g, gnode *n) {
    const medcl_norm_params *p = n->params;
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_rank(x, 0, 2, 5);
    if (st != MEDCL_OK) return st;
    int64_t N = x->shape[0], C = x->shape[1], R;
    switch (p->kind) {
    case MEDCL_NORM_BATCH: R = C; break;
    case MEDCL_NORM_INSTANCE: R = N * C; break;
    case MEDCL_NORM_GROUP:
        if (p->groups < 1 || C % p->groups)
            return medcl_fail(MEDCL_ERR_SHAPE, "groups = %d does not divide C = %lld", p->groups, (long long)C);
        R = N * p->groups;
        break;
    case MEDCL_NORM_LAYER: R = N; break;
    default: return medcl_fail(MEDCL_ERR_INVALID_ARG, "norm params.kind = %d", (int)p->kind);
    }
    int want = (p->affine ? 2 : 0) + (p->kind == MEDCL_NORM_BATCH ? 2 : 0);
    if (n->ninputs != 1 + want)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "norm: %d inputs, expected %d", n->ninputs, 1 + want);
    copy_shape(n, x);
    n->naux = 2;
    for (int k = 0; k < 2; k++) {
        n->aux_ndim[k] = 1;
        n->aux_shape[k][0] = R;
        n->aux_dtype[k] = MEDCL_DTYPE_F32;
    }
    return MEDCL_OK;
}
static medcl_status norm_forward(medcl_graph *g, gnode *n) {
    const medcl_norm_params *p = n->params;
    int k = 1;
    const medcl_tensor *ga = NULL, *be = NULL;
    medcl_tensor *rm = NULL, *rv = NULL;
    if (p->affine) {
        ga = IN(k);
        be = IN(k + 1);
        k += 2;
    }
    if (p->kind == MEDCL_NORM_BATCH) {
        rm = IN(k);
        rv = IN(k + 1);
    }
    /* batch norm: batch statistics only in training mode (medcl_graph_set_training) */
    n->fwd_training = graph_train_mode(g);
    medcl_norm_params q = *p;
    q.training = p->training && n->fwd_training;
    return medcl_norm_forward(&q, IN(0), ga, be, n->value, n->aux[0], n->aux[1], rm, rv);
}
static medcl_status norm_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    const medcl_norm_params *p = n->params;
    medcl_tensor *dg = p->affine ? dx[1] : NULL, *db = p->affine ? dx[2] : NULL;
    if (!dx[0] && !dg && !db) return MEDCL_OK;
    medcl_norm_params q = *p;
    q.training = p->training && n->fwd_training; /* the mode of its forward */
    return medcl_norm_backward(&q, IN(0), p->affine ? IN(1) : NULL, n->aux[0], n->aux[1], dy, dx[0], dg, db);
}
static const graph_kind kind_norm = {"norm", 1u, false, 6u, 24u, norm_infer, norm_forward,
                                     norm_backward, medcl_norm_variants};
/* gamma, beta: MEDCL_NODE_NONE when !affine; running stats: BATCH only (graph buffers). */
medcl_node medcl_graph_norm(medcl_graph *g, medcl_node x, medcl_node gamma, medcl_node beta,
                            medcl_node running_mean, medcl_node running_var,
                            const medcl_norm_params *p) {
    medcl_norm_params def = MEDCL_NORM_PARAMS_INIT;
    if (!p) p = &def;
    if (g && g->status == MEDCL_OK && p->kind == MEDCL_NORM_BATCH && !p->affine) {
        medcl_fail(MEDCL_ERR_UNSUPPORTED, "norm: batch norm without affine parameters is not bound in graphs");
        graph_error(g, NULL, MEDCL_ERR_UNSUPPORTED);
        return MEDCL_NODE_NONE;
    }
    int in[5], k = 0;
    in[k++] = x.id;
    if (p->affine) {
        in[k++] = gamma.id;
        in[k++] = beta.id;
    }
    if (p->kind == MEDCL_NORM_BATCH) {
        in[k++] = running_mean.id;
        in[k++] = running_var.id;
    }
    return (medcl_node){graph_add_node(g, &kind_norm, in, k, p, sizeof *p)};
}

/* ================================ pooling ================================ */
static medcl_status pool_infer(medcl_graph *g, gnode *n) {
    const medcl_pool_params *p = n->params;
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_rank(x, 0, 4, 5);
    if (st != MEDCL_OK) return st;
    int64_t y[MEDCL_MAX_DIMS];
    st = medcl_pool_output_shape(p, x->ndim, x->shape, y);
    if (st != MEDCL_OK) return st;
    set_shape(n, x->ndim, y);
    if (p->mode == MEDCL_POOL_MAX) {
        n->naux = 1;
        n->aux_ndim[0] = x->ndim;
        for (int i = 0; i < x->ndim; i++) n->aux_shape[0][i] = y[i];
        n->aux_dtype[0] = MEDCL_DTYPE_I32;
    }
    return MEDCL_OK;
}
static medcl_status pool_forward(medcl_graph *g, gnode *n) {
    return medcl_pool_forward(n->params, IN(0), n->value, n->naux ? n->aux[0] : NULL);
}
static medcl_status pool_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    return dx[0] ? medcl_pool_backward(n->params, NULL, n->naux ? n->aux[0] : NULL, dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_pool = {"pool", 0, false, 0, 0, pool_infer, pool_forward, pool_backward,
                                     medcl_pool_variants};
medcl_node medcl_graph_pool(medcl_graph *g, medcl_node x, const medcl_pool_params *p) {
    medcl_pool_params def = MEDCL_POOL_PARAMS_INIT;
    return (medcl_node){graph_add_node(g, &kind_pool, &x.id, 1, p ? p : &def, sizeof def)};
}

static medcl_status gap_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_rank(x, 0, 3, 5);
    if (st != MEDCL_OK) return st;
    int64_t y[MEDCL_MAX_DIMS] = {x->shape[0], x->shape[1], 1, 1, 1};
    set_shape(n, x->ndim, y);
    return MEDCL_OK;
}
static medcl_status gap_forward(medcl_graph *g, gnode *n) {
    return medcl_global_avg_pool_forward(IN(0), n->value);
}
static medcl_status gap_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    (void)n;
    return dx[0] ? medcl_global_avg_pool_backward(dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_gap = {"global_avg_pool", 0, false, 0, 0, gap_infer, gap_forward,
                                    gap_backward, medcl_pool_variants};
medcl_node medcl_graph_global_avg_pool(medcl_graph *g, medcl_node x) {
    return (medcl_node){graph_add_node(g, &kind_gap, &x.id, 1, NULL, 0)};
}

/* ================================ up-sampling ================================ */
static medcl_status up_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_rank(x, 0, 4, 5);
    if (st != MEDCL_OK) return st;
    int64_t y[MEDCL_MAX_DIMS];
    st = medcl_upsample_output_shape(n->params, x->ndim, x->shape, y);
    if (st == MEDCL_OK) set_shape(n, x->ndim, y);
    return st;
}
static medcl_status up_forward(medcl_graph *g, gnode *n) {
    return medcl_upsample_forward(n->params, IN(0), n->value);
}
static medcl_status up_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    return dx[0] ? medcl_upsample_backward(n->params, dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_up = {"upsample", 0, false, 0, 0, up_infer, up_forward, up_backward,
                                   medcl_upsample_variants};
medcl_node medcl_graph_upsample(medcl_graph *g, medcl_node x, const medcl_upsample_params *p) {
    medcl_upsample_params def = MEDCL_UPSAMPLE_PARAMS_INIT;
    return (medcl_node){graph_add_node(g, &kind_up, &x.id, 1, p ? p : &def, sizeof def)};
}

/* ================================ concat ================================ */
static medcl_status concat_infer(medcl_graph *g, gnode *n) {
    const gnode *x0 = graph_in(g, n, 0);
    medcl_status st = need_rank(x0, 0, 2, 5);
    if (st != MEDCL_OK) return st;
    int64_t c = 0;
    for (int i = 0; i < n->ninputs; i++) {
        const gnode *x = graph_in(g, n, i);
        st = need_f32(x, i);
        if (st != MEDCL_OK) return st;
        bool ok = x->ndim == x0->ndim;
        for (int d = 0; ok && d < x0->ndim; d++) ok = d == 1 || x->shape[d] == x0->shape[d];
        if (!ok) {
            char a[96], b[96];
            return medcl_fail(MEDCL_ERR_SHAPE, "input %d (%s) %s does not match input 0 (%s) %s "
                              "outside the channel axis", i, x->name,
                              graph_shape_str(x->ndim, x->shape, a, sizeof a), x0->name,
                              graph_shape_str(x0->ndim, x0->shape, b, sizeof b));
        }
        c += x->shape[1];
    }
    copy_shape(n, x0);
    n->shape[1] = c;
    return MEDCL_OK;
}
static medcl_status concat_forward(medcl_graph *g, gnode *n) {
    const medcl_tensor *xs[GRAPH_MAX_INPUTS];
    for (int i = 0; i < n->ninputs; i++) xs[i] = IN(i);
    return medcl_concat_forward(n->params, xs, n->ninputs, n->value);
}
static medcl_status concat_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    return medcl_concat_backward(n->params, dy, dx, n->ninputs);
}
static const graph_kind kind_concat = {"concat", 0, false, 0, 0, concat_infer, concat_forward,
                                       concat_backward, medcl_concat_variants};
medcl_node medcl_graph_concat(medcl_graph *g, const medcl_node *xs, int count) {
    int in[GRAPH_MAX_INPUTS];
    if (!g || g->status != MEDCL_OK) return MEDCL_NODE_NONE;
    if (!xs || count < 1 || count > GRAPH_MAX_INPUTS) {
        medcl_fail(MEDCL_ERR_INVALID_ARG, "concat: count = %d (1..%d)", count, GRAPH_MAX_INPUTS);
        graph_error(g, NULL, MEDCL_ERR_INVALID_ARG);
        return MEDCL_NODE_NONE;
    }
    for (int i = 0; i < count; i++) in[i] = xs[i].id;
    medcl_concat_params p = MEDCL_CONCAT_PARAMS_INIT;
    return (medcl_node){graph_add_node(g, &kind_concat, in, count, &p, sizeof p)};
}

/* ================================ linear ================================ */
static medcl_status linear_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0), *w = graph_in(g, n, 1);
    medcl_status st = need_rank(x, 0, 2, 2);
    if (st != MEDCL_OK) return st;
    if (w->ndim != 2 || w->shape[1] != x->shape[1])
        return medcl_fail(MEDCL_ERR_SHAPE, "weight %s must be (OUT, %lld)", w->name, (long long)x->shape[1]);
    if (n->ninputs == 3 && (graph_in(g, n, 2)->ndim != 1 || graph_in(g, n, 2)->shape[0] != w->shape[0]))
        return medcl_fail(MEDCL_ERR_SHAPE, "bias %s must be (%lld)", graph_in(g, n, 2)->name,
                          (long long)w->shape[0]);
    int64_t y[2] = {x->shape[0], w->shape[0]};
    set_shape(n, 2, y);
    return MEDCL_OK;
}
static medcl_status linear_forward(medcl_graph *g, gnode *n) {
    return medcl_linear_forward(IN(0), IN(1), n->ninputs == 3 ? IN(2) : NULL, n->value);
}
static medcl_status linear_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    medcl_status st = MEDCL_OK;
    if (dx[0]) st = medcl_linear_backward_data(dy, IN(1), dx[0]);
    if (st == MEDCL_OK && dx[1])
        st = medcl_linear_backward_weight(IN(0), dy, dx[1], n->ninputs == 3 ? dx[2] : NULL);
    return st;
}
static const graph_kind kind_linear = {"linear", 1u, false, 6u, 0, linear_infer, linear_forward,
                                       linear_backward, medcl_linear_variants};
medcl_node medcl_graph_linear(medcl_graph *g, medcl_node x, medcl_node w, medcl_node b) {
    int in[3] = {x.id, w.id, b.id};
    return (medcl_node){graph_add_node(g, &kind_linear, in, b.id >= 0 ? 3 : 2, NULL, 0)};
}

/* ================================ losses ================================ */
/* inputs: logits (f32), target (i32 class indices or f32 soft targets; no gradient) */
static medcl_status loss_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0), *t = graph_in(g, n, 1);
    medcl_status st = need_rank(x, 0, 2, 5);
    if (st != MEDCL_OK) return st;
    if (t->dtype == MEDCL_DTYPE_F32) {
        bool same = t->ndim == x->ndim;
        for (int d = 0; same && d < x->ndim; d++) same = t->shape[d] == x->shape[d];
        if (!same) {
            char a[96], b[96];
            return medcl_fail(MEDCL_ERR_SHAPE, "soft target %s %s differs from logits %s %s", t->name,
                              graph_shape_str(t->ndim, t->shape, a, sizeof a), x->name,
                              graph_shape_str(x->ndim, x->shape, b, sizeof b));
        }
    } else if (t->dtype != MEDCL_DTYPE_I32) {
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "target %s has dtype %s (i32 labels or f32 soft targets)",
                          t->name, medcl_dtype_str(t->dtype));
    }
    int64_t one = 1;
    set_shape(n, 1, &one);
    return MEDCL_OK;
}
static medcl_status ce_forward(medcl_graph *g, gnode *n) {
    return medcl_ce_loss_forward(IN(0), IN(1), n->params, n->value);
}
static medcl_status ce_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_ce_loss_backward(IN(0), IN(1), n->params, dy, dx[0]) : MEDCL_OK;
}
static medcl_status dice_forward(medcl_graph *g, gnode *n) {
    return medcl_dice_loss_forward(IN(0), IN(1), n->params, n->value);
}
static medcl_status dice_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_dice_loss_backward(IN(0), IN(1), n->params, dy, dx[0]) : MEDCL_OK;
}
static medcl_status dce_forward(medcl_graph *g, gnode *n) {
    return medcl_dice_ce_loss_forward(IN(0), IN(1), n->params, n->value);
}
static medcl_status dce_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_dice_ce_loss_backward(IN(0), IN(1), n->params, dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_ce = {"ce_loss", 3u, false, 0, 2u, loss_infer, ce_forward, ce_backward,
                                   medcl_loss_variants};
static const graph_kind kind_dice = {"dice_loss", 3u, false, 0, 2u, loss_infer, dice_forward,
                                     dice_backward, medcl_loss_variants};
static const graph_kind kind_dce = {"dice_ce_loss", 3u, false, 0, 2u, loss_infer, dce_forward,
                                    dce_backward, medcl_loss_variants};

medcl_node medcl_graph_ce_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                               const medcl_ce_loss_params *p) {
    medcl_ce_loss_params def = MEDCL_CE_LOSS_PARAMS_INIT;
    int in[2] = {logits.id, target.id};
    return (medcl_node){graph_add_node(g, &kind_ce, in, 2, p ? p : &def, sizeof def)};
}
medcl_node medcl_graph_dice_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                 const medcl_dice_loss_params *p) {
    medcl_dice_loss_params def = MEDCL_DICE_LOSS_PARAMS_INIT;
    int in[2] = {logits.id, target.id};
    return (medcl_node){graph_add_node(g, &kind_dice, in, 2, p ? p : &def, sizeof def)};
}
medcl_node medcl_graph_dice_ce_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                    const medcl_dice_ce_loss_params *p) {
    medcl_dice_ce_loss_params def = MEDCL_DICE_CE_LOSS_PARAMS_INIT;
    int in[2] = {logits.id, target.id};
    return (medcl_node){graph_add_node(g, &kind_dce, in, 2, p ? p : &def, sizeof def)};
}
