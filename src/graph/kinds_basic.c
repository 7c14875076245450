/* src/graph/kinds_basic.c — node kinds over the always-present ops (ops.h): add, mul, scale,
 * sum, mean, reshape; each as shape inference + forward + backward. Leaves out broadcasting
 * (same shapes only here) and the network op families (kinds_net.c). */
#include "graph_internal.h"

#include <stdio.h>
#include <string.h>

static bool same_shape(const gnode *a, const gnode *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

static medcl_status need_f32(const gnode *n, int slot, const gnode *in) {
    if (in->dtype != MEDCL_DTYPE_F32)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "input %d (%s) has dtype %s, expected f32", slot,
                          in->name, medcl_dtype_str(in->dtype));
    (void)n;
    return MEDCL_OK;
}

static void copy_shape(gnode *n, const gnode *from) {
    n->ndim = from->ndim;
    for (int i = 0; i < MEDCL_MAX_DIMS; i++) n->shape[i] = from->shape[i];
}

/* ---- add / mul (same shape) ---- */
static medcl_status infer_binary(medcl_graph *g, gnode *n) {
    const gnode *a = graph_in(g, n, 0), *b = graph_in(g, n, 1);
    medcl_status st = need_f32(n, 0, a);
    if (st == MEDCL_OK) st = need_f32(n, 1, b);
    if (st != MEDCL_OK) return st;
    if (!same_shape(a, b)) {
        char sa[96], sb[96];
        return medcl_fail(MEDCL_ERR_SHAPE, "a (%s) has shape %s, b (%s) has shape %s", a->name,
                          graph_shape_str(a->ndim, a->shape, sa, sizeof sa), b->name,
                          graph_shape_str(b->ndim, b->shape, sb, sizeof sb));
    }
    copy_shape(n, a);
    return MEDCL_OK;
}

static medcl_status add_forward(medcl_graph *g, gnode *n) {
    return medcl_add(graph_in(g, n, 0)->value, graph_in(g, n, 1)->value, n->value);
}

static medcl_status add_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy,
                                 medcl_tensor **dx) {
    (void)g;
    (void)n;
    for (int i = 0; i < 2; i++)
        if (dx[i]) {
            medcl_status st = medcl_copy(dx[i], dy);
            if (st != MEDCL_OK) return st;
        }
    return MEDCL_OK;
}

static medcl_status mul_forward(medcl_graph *g, gnode *n) {
    return medcl_mul(graph_in(g, n, 0)->value, graph_in(g, n, 1)->value, n->value);
}

/* da = dy * b, db = dy * a */
static medcl_status mul_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy,
                                 medcl_tensor **dx) {
    medcl_status st = MEDCL_OK;
    if (dx[0]) st = medcl_mul(dy, graph_in(g, n, 1)->value, dx[0]);
    if (st == MEDCL_OK && dx[1]) st = medcl_mul(dy, graph_in(g, n, 0)->value, dx[1]);
    return st;
}

/* ---- scale ---- */
static medcl_status infer_unary(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_f32(n, 0, x);
    if (st != MEDCL_OK) return st;
    copy_shape(n, x);
    return MEDCL_OK;
}

static medcl_status scale_forward(medcl_graph *g, gnode *n) {
    return medcl_scale(graph_in(g, n, 0)->value, (float)n->scalar, n->value);
}

static medcl_status scale_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy,
                                   medcl_tensor **dx) {
    (void)g;
    return dx[0] ? medcl_scale(dy, (float)n->scalar, dx[0]) : MEDCL_OK;
}

/* ---- sum / mean over all elements into (1) ---- */
static medcl_status infer_reduce(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    medcl_status st = need_f32(n, 0, x);
    if (st != MEDCL_OK) return st;
    n->ndim = 1;
    n->shape[0] = 1;
    return MEDCL_OK;
}

static medcl_status sum_forward(medcl_graph *g, gnode *n) {
    return medcl_reduce_sum(graph_in(g, n, 0)->value, n->value);
}

static medcl_status sum_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy,
                                 medcl_tensor **dx) {
    (void)g;
    (void)n;
    return dx[0] ? graph_fill_from_scalar(dx[0], dy, 1.0f) : MEDCL_OK;
}

static medcl_status mean_forward(medcl_graph *g, gnode *n) {
    return medcl_reduce_mean(graph_in(g, n, 0)->value, n->value);
}

static medcl_status mean_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy,
                                  medcl_tensor **dx) {
    if (!dx[0]) return MEDCL_OK;
    return graph_fill_from_scalar(dx[0], dy, (float)(1.0 / (double)graph_numel(graph_in(g, n, 0))));
}

/* ---- reshape (a copy: planned buffers never alias) ---- */
typedef struct reshape_params {
    int ndim;
    int64_t shape[MEDCL_MAX_DIMS];
} reshape_params;

static medcl_status infer_reshape(medcl_graph *g, gnode *n) {
    const gnode *x = graph_in(g, n, 0);
    const reshape_params *p = n->params;
    for (int i = 0; i < p->ndim; i++)
        if (p->shape[i] < 1)
            return medcl_fail(MEDCL_ERR_SHAPE, "target shape[%d] = %lld", i, (long long)p->shape[i]);
    n->ndim = p->ndim;
    for (int i = 0; i < MEDCL_MAX_DIMS; i++) n->shape[i] = i < p->ndim ? p->shape[i] : 0;
    int64_t k = graph_numel(n);
    if (k != graph_numel(x)) {
        char sa[96], sb[96];
        return medcl_fail(MEDCL_ERR_SHAPE, "cannot reshape %s %s (%lld elements) to %s", x->name,
                          graph_shape_str(x->ndim, x->shape, sa, sizeof sa), (long long)graph_numel(x),
                          graph_shape_str(n->ndim, n->shape, sb, sizeof sb));
    }
    n->dtype = x->dtype;
    return MEDCL_OK;
}

static medcl_status reshape_forward(medcl_graph *g, gnode *n) {
    return medcl_tensor_copy(n->value, graph_in(g, n, 0)->value);
}

static medcl_status reshape_backward(medcl_graph *g, gnode *n, const medcl_tensor *dy,
                                     medcl_tensor **dx) {
    (void)g;
    (void)n;
    return dx[0] ? medcl_tensor_copy(dx[0], dy) : MEDCL_OK;
}

static medcl_status basic_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    medcl_status st = medcl_elementwise_variants(ctx, add, acc);
    if (st == MEDCL_OK) st = medcl_reduce_variants(ctx, add, acc);
    if (st == MEDCL_OK) st = medcl_optim_variants(ctx, add, acc);
    return st;
}

const graph_kind graph_kind_add = {"add", 0, false, 0, 0, infer_binary, add_forward, add_backward,
                                   basic_variants};
const graph_kind graph_kind_mul = {"mul", 3u, false, 0, 0, infer_binary, mul_forward, mul_backward,
                                   basic_variants};
const graph_kind graph_kind_scale = {"scale", 0, false, 0, 0, infer_unary, scale_forward,
                                     scale_backward, basic_variants};
const graph_kind graph_kind_sum = {"sum", 0, false, 0, 0, infer_reduce, sum_forward, sum_backward,
                                   basic_variants};
const graph_kind graph_kind_mean = {"mean", 0, false, 0, 0, infer_reduce, mean_forward,
                                    mean_backward, basic_variants};
const graph_kind graph_kind_reshape = {"reshape", 0, false, 0, 0, infer_reshape, reshape_forward,
                                       reshape_backward, basic_variants};

/* ---- builders ---- */
static medcl_node build(medcl_graph *g, const graph_kind *k, const int *in, int nin) {
    return (medcl_node){graph_add_node(g, k, in, nin, NULL, 0)};
}

medcl_node medcl_graph_add(medcl_graph *g, medcl_node a, medcl_node b) {
    int in[2] = {a.id, b.id};
    return build(g, &graph_kind_add, in, 2);
}

medcl_node medcl_graph_mul(medcl_graph *g, medcl_node a, medcl_node b) {
    int in[2] = {a.id, b.id};
    return build(g, &graph_kind_mul, in, 2);
}

medcl_node medcl_graph_scale(medcl_graph *g, medcl_node x, float alpha) {
    medcl_node r = build(g, &graph_kind_scale, &x.id, 1);
    if (r.id >= 0) g->nodes[r.id].scalar = alpha;
    return r;
}

medcl_node medcl_graph_sum(medcl_graph *g, medcl_node x) { return build(g, &graph_kind_sum, &x.id, 1); }

medcl_node medcl_graph_mean(medcl_graph *g, medcl_node x) {
    return build(g, &graph_kind_mean, &x.id, 1);
}

medcl_node medcl_graph_reshape(medcl_graph *g, medcl_node x, int ndim, const int64_t *shape) {
    if (!g || g->status != MEDCL_OK) return MEDCL_NODE_NONE;
    reshape_params p = {0, {0}};
    if (ndim < 1 || ndim > MEDCL_MAX_DIMS || !shape) {
        medcl_fail(MEDCL_ERR_SHAPE, "reshape: ndim = %d (must be 1..%d)", ndim, MEDCL_MAX_DIMS);
        graph_error(g, NULL, MEDCL_ERR_SHAPE);
        return MEDCL_NODE_NONE;
    }
    p.ndim = ndim;
    for (int i = 0; i < ndim; i++) p.shape[i] = shape[i];
    return (medcl_node){graph_add_node(g, &graph_kind_reshape, &x.id, 1, &p, sizeof p)};
}

/* ---- the scalar-broadcast helper (cl/optim.cl) ---- */
medcl_status graph_fill_from_scalar(medcl_tensor *y, const medcl_tensor *src, float scale) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check("fill_from_scalar", "y", y, true));
    MEDCL_TRY(medcl_op_check("fill_from_scalar", "src", src, true));
    char defs[32];
    snprintf(defs, sizeof defs, "-DWG=%u", medcl_reduce_wg(y->ctx));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, "optim", defs, "graph_fill_scalar", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)y->numel;
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n));
    i++;
    MEDCL_CL(medcl_arg_tensor(k, &i, src));
    MEDCL_CL(MEDCL_ARG(k, i, scale));
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}
