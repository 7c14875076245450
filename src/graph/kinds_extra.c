/* src/graph/kinds_extra.c — more node kinds: add and mul with NumPy broadcasting, PReLU,
 * dropout (per-mode, per-step masks), channel slice, the focal / BCE / MSE / Tversky losses,
 * and nearest down-sampling of label maps (deep-supervision targets, two rectangular buffer
 * copies: no kernel). Each kind is shape inference + forward + backward over the op's public
 * API, as in kinds_net.c. Leaves out: broadcasting of integer tensors, gradients through the
 * down-sampling, down-sampling by non-integer factors. */
#include "graph_internal.h"
#include "medcl/ops_act.h"
#include "medcl/ops_loss.h"
#include "tensor/tensor_internal.h"

#include <stdio.h>
#include <string.h>


#define IN(i) (graph_in(g, n, (i))->value)

/* input checks shared by the node kinds: graph_need_f32, graph_need_rank (graph.c) */
#define need_f32 graph_need_f32
#define need_rank graph_need_rank

static void set_shape(gnode *n, int ndim, const int64_t *s) {
    n->ndim = ndim;
    for (int i = 0; i < MEDCL_MAX_DIMS; i++) n->shape[i] = i < ndim ? s[i] : 0;
}

static void fail_node(medcl_graph *g, medcl_status s) { graph_error(g, NULL, s); }

/* ================================ broadcasting add / mul ================================ */
bool graph_broadcast_shape(const gnode *a, const gnode *b, int *ndim, int64_t *out) {
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    bool differ = a->ndim != b->ndim;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t ea = ia >= 0 ? a->shape[ia] : 1, eb = ib >= 0 ? b->shape[ib] : 1;
        if (ea != eb && ea != 1 && eb != 1) return false;
        differ |= ea != eb;
        out[i] = ea > eb ? ea : eb;
    }
    *ndim = r;
    return differ;
}

static medcl_status bcast_infer(medcl_graph *g, gnode *n) {
    const gnode *a = graph_in(g, n, 0), *b = graph_in(g, n, 1);
    medcl_status st = need_f32(a, 0);
    if (st == MEDCL_OK) st = need_f32(b, 1);
    if (st != MEDCL_OK) return st;
    int nd = 0;
    int64_t s[MEDCL_MAX_DIMS];
    bool ok = graph_broadcast_shape(a, b, &nd, s);
    bool same = a->ndim == b->ndim;
    for (int i = 0; same && i < a->ndim; i++) same = a->shape[i] == b->shape[i];
    if (!ok && !same) {
        char sa[96], sb[96];
        return medcl_fail(MEDCL_ERR_SHAPE, "a (%s) %s and b (%s) %s do not broadcast", a->name,
                          graph_shape_str(a->ndim, a->shape, sa, sizeof sa), b->name,
                          graph_shape_str(b->ndim, b->shape, sb, sizeof sb));
    }
    if (same) {
        nd = a->ndim;
        for (int i = 0; i < nd; i++) s[i] = a->shape[i];
    }
    set_shape(n, nd, s);
    return MEDCL_OK;
}

static medcl_status badd_forward(medcl_graph *g, gnode *n) {
    return medcl_broadcast_add_forward(IN(0), IN(1), n->value);
}
static medcl_status badd_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    (void)n;
    medcl_broadcast_params p = MEDCL_BROADCAST_PARAMS_INIT;
    if (!dx[0] && !dx[1]) return MEDCL_OK;
    return medcl_broadcast_add_backward(&p, dy, dx[0], dx[1]);
}
static medcl_status bmul_forward(medcl_graph *g, gnode *n) {
    return medcl_broadcast_mul_forward(IN(0), IN(1), n->value);
}
static medcl_status bmul_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    medcl_broadcast_params p = MEDCL_BROADCAST_PARAMS_INIT;
    if (!dx[0] && !dx[1]) return MEDCL_OK;
    return medcl_broadcast_mul_backward(&p, IN(0), IN(1), dy, dx[0], dx[1]);
}
const graph_kind graph_kind_broadcast_add = {"broadcast_add", 0, false, 0, 0, bcast_infer,
                                             badd_forward, badd_backward, medcl_broadcast_variants};
const graph_kind graph_kind_broadcast_mul = {"broadcast_mul", 3u, false, 0, 0, bcast_infer,
                                             bmul_forward, bmul_backward, medcl_broadcast_variants};

/* ================================ PReLU ================================ */
static medcl_status prelu_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0), *w = graph_in(g, n, 1);
    medcl_status st = need_f32(x, 0);
    if (st != MEDCL_OK) return st;
    int64_t k = graph_numel(w);
    if (w->ndim != 1 || (k != 1 && (x->ndim < 2 || k != x->shape[1])))
        return medcl_fail(MEDCL_ERR_SHAPE, "slope %s has %lld elements in %d dimensions; PReLU needs "
                          "(1) or (C) with C = %lld, the channels of %s", w->name, (long long)k, w->ndim,
                          (long long)(x->ndim >= 2 ? x->shape[1] : 0), x->name);
    set_shape(n, x->ndim, x->shape);
    return MEDCL_OK;
}
static medcl_status prelu_forward(medcl_graph *g, gnode *n) {
    return medcl_prelu_forward(IN(0), IN(1), n->value);
}
static medcl_status prelu_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    if (!dx[0] && !dx[1]) return MEDCL_OK;
    return medcl_prelu_backward(IN(0), IN(1), dy, dx[0], dx[1]);
}
static const graph_kind kind_prelu = {"prelu", 3u, false, 2u, 0, prelu_infer, prelu_forward,
                                      prelu_backward, medcl_activation_variants};

medcl_node medcl_graph_prelu(medcl_graph *g, medcl_node x, medcl_node w) {
    int in[2] = {x.id, w.id};
    return (medcl_node){graph_add_node(g, &kind_prelu, in, 2, NULL, 0)};
}

/* ================================ dropout ================================ */
typedef struct dropout_node {
    medcl_dropout_params p;
    uint32_t ordinal;   /* position among the graph's dropout nodes */
} dropout_node;

static medcl_status dropout_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    const dropout_node *d = n->params;
    medcl_status st = need_f32(x, 0);
    if (st != MEDCL_OK) return st;
    if (!(d->p.p >= 0.0f && d->p.p <= 1.0f))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "dropout params.p = %g (must be in [0, 1])", (double)d->p.p);
    if (d->p.channelwise && x->ndim < 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "channel-wise dropout needs (N, C, ...); %s has %d dimensions",
                          x->name, x->ndim);
    set_shape(n, x->ndim, x->shape);
    return MEDCL_OK;
}
/* The parameters of the node's last forward: mode and step recorded there. */
static medcl_dropout_params dropout_run_params(const gnode *n) {
    const dropout_node *d = n->params;
    medcl_dropout_params p = d->p;
    p.training = d->p.training && n->fwd_training;
    p.stream = d->p.stream + d->ordinal;
    p.step = n->fwd_step;
    return p;
}
static medcl_status dropout_forward(medcl_graph *g, gnode *n) {
    n->fwd_training = graph_train_mode(g);
    n->fwd_step = (uint32_t)n->rng_next;
    medcl_dropout_params p = dropout_run_params(n);
    medcl_status st = medcl_dropout_forward(&p, IN(0), n->value);
    if (st == MEDCL_OK && n->fwd_training) n->rng_next++;
    return st;
}
static medcl_status dropout_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    if (!dx[0]) return MEDCL_OK;
    medcl_dropout_params p = dropout_run_params(n);
    return medcl_dropout_backward(&p, dy, dx[0]);
}
const graph_kind graph_kind_dropout = {"dropout", 0, false, 0, 0, dropout_infer, dropout_forward,
                                       dropout_backward, medcl_dropout_variants};

medcl_node medcl_graph_dropout(medcl_graph *g, medcl_node x, const medcl_dropout_params *p) {
    if (!g || g->status != MEDCL_OK) return MEDCL_NODE_NONE;
    dropout_node d = {MEDCL_DROPOUT_PARAMS_INIT, 0};
    if (p) {
        if (p->size < sizeof *p) {
            medcl_fail(MEDCL_ERR_INVALID_ARG, "dropout: params.size = %zu, expected %zu", p->size, sizeof *p);
            fail_node(g, MEDCL_ERR_INVALID_ARG);
            return MEDCL_NODE_NONE;
        }
        d.p = *p;
    }
    for (int i = 0; i < g->n; i++) d.ordinal += g->nodes[i].kind == &graph_kind_dropout;
    int id = graph_add_node(g, &graph_kind_dropout, &x.id, 1, &d, sizeof d);
    if (id >= 0) g->nodes[id].rng_next = g->rng_step;
    return (medcl_node){id};
}

/* ================================ slice along channels ================================ */
typedef struct slice_node {
    medcl_slice_params p;
    int64_t count;
} slice_node;

static medcl_status slice_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    const slice_node *s = n->params;
    medcl_status st = need_f32(x, 0);
    if (st == MEDCL_OK) st = need_rank(x, 0, 2, 5);
    if (st != MEDCL_OK) return st;
    if (s->p.start < 0 || s->count < 1 || s->count > x->shape[1] || s->p.start > x->shape[1] - s->count)
        return medcl_fail(MEDCL_ERR_SHAPE, "slice start = %lld, count = %lld outside the %lld channels of %s",
                          (long long)s->p.start, (long long)s->count, (long long)x->shape[1], x->name);
    set_shape(n, x->ndim, x->shape);
    n->shape[1] = s->count;
    return MEDCL_OK;
}
static medcl_status slice_forward(medcl_graph *g, gnode *n) {
    return medcl_slice_forward(&((const slice_node *)n->params)->p, IN(0), n->value);
}
static medcl_status slice_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    return dx[0] ? medcl_slice_backward(&((const slice_node *)n->params)->p, dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_slice = {"slice", 0, false, 0, 0, slice_infer, slice_forward, slice_backward,
                                      medcl_concat_variants};

medcl_node medcl_graph_slice(medcl_graph *g, medcl_node x, int64_t start, int64_t count) {
    slice_node s = {MEDCL_SLICE_PARAMS_INIT, count};
    s.p.start = start;
    s.p.accumulate = false; /* the backward assigns all of dx (zeros outside the slice) */
    return (medcl_node){graph_add_node(g, &kind_slice, &x.id, 1, &s, sizeof s)};
}

/* ================================ losses ================================ */
/* inputs: prediction (f32), target (i32 class indices or f32 of the prediction's shape) */
static medcl_status loss_infer_rank(medcl_graph *g, gnode *n, int lo) {
    const gnode *x = graph_in(g, n, 0), *t = graph_in(g, n, 1);
    medcl_status st = need_f32(x, 0);
    if (st == MEDCL_OK) st = need_rank(x, 0, lo, 5);
    if (st != MEDCL_OK) return st;
    char a[96], b[96];
    if (t->dtype == MEDCL_DTYPE_F32) {
        bool same = t->ndim == x->ndim;
        for (int d = 0; same && d < x->ndim; d++) same = t->shape[d] == x->shape[d];
        if (!same)
            return medcl_fail(MEDCL_ERR_SHAPE, "soft target %s %s differs from the prediction %s %s", t->name,
                              graph_shape_str(t->ndim, t->shape, a, sizeof a), x->name,
                              graph_shape_str(x->ndim, x->shape, b, sizeof b));
    } else if (t->dtype == MEDCL_DTYPE_I32) {
        /* (N, 1, ...) or (N, ...) of the logits' spatial shape */
        bool ok = x->ndim >= 2;
        if (ok && t->ndim == x->ndim) {
            ok = t->shape[0] == x->shape[0] && t->shape[1] == 1;
            for (int d = 2; ok && d < x->ndim; d++) ok = t->shape[d] == x->shape[d];
        } else if (ok && t->ndim == x->ndim - 1) {
            ok = t->shape[0] == x->shape[0];
            for (int d = 2; ok && d < x->ndim; d++) ok = t->shape[d - 1] == x->shape[d];
        } else {
            ok = false;
        }
        if (!ok)
            return medcl_fail(MEDCL_ERR_SHAPE, "label target %s %s does not match the logits %s %s (labels "
                              "are (N, 1, ...) or (N, ...) of the logits' spatial shape)", t->name,
                              graph_shape_str(t->ndim, t->shape, a, sizeof a), x->name,
                              graph_shape_str(x->ndim, x->shape, b, sizeof b));
    } else {
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "target %s has dtype %s (i32 labels or f32 targets)", t->name,
                          medcl_dtype_str(t->dtype));
    }
    int64_t one = 1;
    set_shape(n, 1, &one);
    return MEDCL_OK;
}
static medcl_status loss_infer(medcl_graph *g, gnode *n) { return loss_infer_rank(g, n, 2); }
static medcl_status mse_infer(medcl_graph *g, gnode *n) { return loss_infer_rank(g, n, 1); }

static medcl_status focal_forward(medcl_graph *g, gnode *n) {
    return medcl_focal_loss_forward(IN(0), IN(1), n->params, n->value);
}
static medcl_status focal_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_focal_loss_backward(IN(0), IN(1), n->params, dy, dx[0]) : MEDCL_OK;
}
static medcl_status bce_forward(medcl_graph *g, gnode *n) {
    return medcl_bce_loss_forward(IN(0), IN(1), n->params, n->value);
}
static medcl_status bce_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_bce_loss_backward(IN(0), IN(1), n->params, dy, dx[0]) : MEDCL_OK;
}
static medcl_status mse_forward(medcl_graph *g, gnode *n) {
    return medcl_mse_loss_forward(IN(0), IN(1), n->params, n->value);
}
static medcl_status mse_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_mse_loss_backward(IN(0), IN(1), n->params, dy, dx[0]) : MEDCL_OK;
}
static medcl_status tversky_forward(medcl_graph *g, gnode *n) {
    return medcl_tversky_loss_forward(IN(0), IN(1), n->params, n->value);
}
static medcl_status tversky_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    return dx[0] ? medcl_tversky_loss_backward(IN(0), IN(1), n->params, dy, dx[0]) : MEDCL_OK;
}
static const graph_kind kind_focal = {"focal_loss", 3u, false, 0, 2u, loss_infer, focal_forward,
                                      focal_backward, medcl_loss_variants};
static const graph_kind kind_bce = {"bce_loss", 3u, false, 0, 2u, loss_infer, bce_forward, bce_backward,
                                    medcl_loss_variants};
static const graph_kind kind_mse = {"mse_loss", 3u, false, 0, 2u, mse_infer, mse_forward, mse_backward,
                                    medcl_loss_variants};
static const graph_kind kind_tversky = {"tversky_loss", 3u, false, 0, 2u, loss_infer, tversky_forward,
                                        tversky_backward, medcl_loss_variants};

/* size field of a caller's parameter struct (the first member of each) */
static bool params_ok(medcl_graph *g, const void *p, size_t want, const char *what) {
    if (!p || *(const size_t *)p >= want) return true;
    medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params.size = %zu, expected %zu", what, *(const size_t *)p, want);
    fail_node(g, MEDCL_ERR_INVALID_ARG);
    return false;
}

medcl_node medcl_graph_focal_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                  const medcl_focal_loss_params *p) {
    medcl_focal_loss_params def = MEDCL_FOCAL_LOSS_PARAMS_INIT;
    int in[2] = {logits.id, target.id};
    if (!g || g->status != MEDCL_OK || !params_ok(g, p, sizeof def, "focal_loss")) return MEDCL_NODE_NONE;
    return (medcl_node){graph_add_node(g, &kind_focal, in, 2, p ? p : &def, sizeof def)};
}
medcl_node medcl_graph_bce_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                const medcl_bce_loss_params *p) {
    medcl_bce_loss_params def = MEDCL_BCE_LOSS_PARAMS_INIT;
    int in[2] = {logits.id, target.id};
    if (!g || g->status != MEDCL_OK || !params_ok(g, p, sizeof def, "bce_loss")) return MEDCL_NODE_NONE;
    return (medcl_node){graph_add_node(g, &kind_bce, in, 2, p ? p : &def, sizeof def)};
}
medcl_node medcl_graph_mse_loss(medcl_graph *g, medcl_node x, medcl_node target,
                                const medcl_mse_loss_params *p) {
    medcl_mse_loss_params def = MEDCL_MSE_LOSS_PARAMS_INIT;
    int in[2] = {x.id, target.id};
    if (!g || g->status != MEDCL_OK || !params_ok(g, p, sizeof def, "mse_loss")) return MEDCL_NODE_NONE;
    return (medcl_node){graph_add_node(g, &kind_mse, in, 2, p ? p : &def, sizeof def)};
}
medcl_node medcl_graph_tversky_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                    const medcl_tversky_loss_params *p) {
    medcl_tversky_loss_params def = MEDCL_TVERSKY_LOSS_PARAMS_INIT;
    int in[2] = {logits.id, target.id};
    if (!g || g->status != MEDCL_OK || !params_ok(g, p, sizeof def, "tversky_loss")) return MEDCL_NODE_NONE;
    return (medcl_node){graph_add_node(g, &kind_tversky, in, 2, p ? p : &def, sizeof def)};
}

/* ================================ nearest down-sampling ================================ */
/* y (P = N * C, Do, Ho, Wo) picks x at (z f0 + o0, y f1 + o1, x f2 + o2): one kernel
 * (medcl_downsample_pick), 4-D tensors with D = 1. Until 2026-11-26 this was two
 * clEnqueueCopyBufferRect passes (one 4-byte "row" per element); the H100 run of a 2x1x128^3
 * deep-supervision U-Net gave a NaN loss at the first step with them (32768 slices in one
 * copy; not reproduced on PoCL), so the driver's rectangular copies are out of the path. */
typedef struct ds_geom {
    int64_t P, D, H, W, Do, Ho, Wo;
    int64_t f[3], o[3];  /* factor and source offset per (D, H, W) */
} ds_geom;

static void ds_geometry(const gnode *x, const medcl_downsample_params *p, ds_geom *q) {
    int nd = x->ndim;
    q->P = x->shape[0] * x->shape[1];
    q->D = nd == 5 ? x->shape[2] : 1;
    q->H = x->shape[nd - 2];
    q->W = x->shape[nd - 1];
    for (int a = 0; a < 3; a++) {
        q->f[a] = (a == 0 && nd == 4) ? 1 : p->factor[a];
        q->o[a] = p->exact ? q->f[a] / 2 : 0;
    }
    q->Do = q->D / q->f[0];
    q->Ho = q->H / q->f[1];
    q->Wo = q->W / q->f[2];
}

static medcl_status ds_infer(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    const medcl_downsample_params *p = n->params;
    medcl_status st = need_rank(x, 0, 4, 5);
    if (st != MEDCL_OK) return st;
    if (x->dtype != MEDCL_DTYPE_I32 && x->dtype != MEDCL_DTYPE_F32 && x->dtype != MEDCL_DTYPE_U8)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "input %s has dtype %s", x->name, medcl_dtype_str(x->dtype));
    static const char *axis[3] = {"D", "H", "W"};
    for (int a = (x->ndim == 4 ? 1 : 0); a < 3; a++) {
        int64_t e = x->shape[x->ndim - 3 + a];
        if (p->factor[a] < 1 || e % p->factor[a])
            return medcl_fail(MEDCL_ERR_SHAPE, "factor[%d] (%s) = %d does not divide the extent %lld of %s", a,
                              axis[a], p->factor[a], (long long)e, x->name);
    }
    ds_geom q;
    ds_geometry(x, p, &q);
    set_shape(n, x->ndim, x->shape);
    if (x->ndim == 5) n->shape[2] = q.Do;
    n->shape[x->ndim - 2] = q.Ho;
    n->shape[x->ndim - 1] = q.Wo;
    n->dtype = x->dtype;
    return MEDCL_OK;
}

static medcl_status ds_forward(medcl_graph *g, gnode *n) {
    ds_geom q;
    ds_geometry(graph_in(g, n, 0), n->params, &q);
    int f[3] = {(int)q.f[0], (int)q.f[1], (int)q.f[2]}, o[3] = {(int)q.o[0], (int)q.o[1], (int)q.o[2]};
    return medcl_downsample_pick(IN(0), n->value, f, o);
}
static medcl_status ds_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx) {
    (void)g;
    (void)n;
    (void)dy;
    (void)dx;
    return MEDCL_OK; /* no gradient flows (nograd slot) */
}
static const graph_kind kind_ds = {"downsample_nearest", 0, false, 0, 1u, ds_infer, ds_forward, ds_backward,
                                   NULL};

medcl_node medcl_graph_downsample_nearest(medcl_graph *g, medcl_node x, const medcl_downsample_params *p) {
    medcl_downsample_params def = MEDCL_DOWNSAMPLE_PARAMS_INIT;
    if (!g || g->status != MEDCL_OK || !params_ok(g, p, sizeof def, "downsample_nearest")) return MEDCL_NODE_NONE;
    return (medcl_node){graph_add_node(g, &kind_ds, &x.id, 1, p ? p : &def, sizeof def)};
}
