/* src/ops/broadcast.c — add and mul with NumPy broadcasting (up to 5 axes, aligned on the
 * right), forward and backward, on cl/broadcast.cl. The host checks the shapes, drops
 * extent-1 output axes and merges neighbouring axes with the same broadcast pattern, so a
 * kernel sees at most 5 extents and one mask per operand. Operand gradients are fixed-order
 * sums over the broadcast axes (bitwise reproducible).
 * Not here: same-shape add/mul (elementwise.c), reductions along axes with other ops. */
#include "medcl/ops_act.h"
#include "ops_internal.h"

#include <stdio.h>

#define PROG "broadcast"
#define MAX_GROUPS 64
#define SMALL_K 128 /* at most this many terms per element: one work-item per element */

typedef struct bc_layout {
    cl_ulong d[5]; /* merged output extents, outer to inner, padded in front with 1 */
    cl_uint am, bm; /* bit k: the operand is broadcast along axis k */
    int64_t n;      /* output elements */
} bc_layout;

static void defines(const medcl_context *ctx, char *buf, size_t cap) {
    snprintf(buf, cap, "-DWG=%u", medcl_reduce_wg(ctx));
}

/* Extent of t on output axis k of a rank-ry output (right-aligned; 1 in front). */
static int64_t aligned(const medcl_tensor *t, int ry, int k) {
    int off = ry - t->ndim;
    return k < off ? 1 : t->shape[k - off];
}

/* Checks y = broadcast(a, b) and builds the merged layout. a or b NULL: that operand has y's
 * shape (for a backward pass whose gradient is not wanted). */
static medcl_status bc_plan(const char *op, const char *ra, const medcl_tensor *a, const char *rb,
                            const medcl_tensor *b, const char *ry_name, const medcl_tensor *y,
                            bc_layout *L) {
    int ry = y->ndim;
    const medcl_tensor *ops[2] = {a, b};
    const char *roles[2] = {ra, rb};
    int maxr = 0;
    for (int j = 0; j < 2; j++) {
        if (!ops[j]) {
            maxr = ry;
            continue;
        }
        if (ops[j]->ctx != y->ctx)
            return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and %s belong to different contexts", op,
                              roles[j], ry_name);
        if (ops[j]->ndim > ry)
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has rank %d, above the rank %d of %s (%s)",
                              op, roles[j], medcl_tensor_name(ops[j]), ops[j]->ndim, ry, ry_name,
                              medcl_tensor_name(y));
        if (ops[j]->ndim > maxr) maxr = ops[j]->ndim;
    }
    if (maxr != ry)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has rank %d; the broadcast of %s and %s has rank %d",
                          op, ry_name, medcl_tensor_name(y), ry, ra, rb, maxr);
    int nd = 0;
    int64_t md[MEDCL_MAX_DIMS];
    bool mab[MEDCL_MAX_DIMS], mbb[MEDCL_MAX_DIMS];
    for (int k = 0; k < ry; k++) {
        int64_t yk = y->shape[k];
        int64_t ak = a ? aligned(a, ry, k) : yk, bk = b ? aligned(b, ry, k) : yk;
        for (int j = 0; j < 2; j++) {
            int64_t e = j ? bk : ak;
            if (e != yk && e != 1)
                return medcl_fail(MEDCL_ERR_SHAPE,
                                  "%s: %s (%s) has extent %lld on output axis %d where %s (%s) has %lld; "
                                  "broadcasting needs 1 or %lld", op, roles[j],
                                  medcl_tensor_name(ops[j]), (long long)e, k, ry_name,
                                  medcl_tensor_name(y), (long long)yk, (long long)yk);
        }
        if (yk != 1 && ak == 1 && bk == 1)
            return medcl_fail(MEDCL_ERR_SHAPE,
                              "%s: %s (%s) has extent %lld on axis %d but %s and %s both have 1 there",
                              op, ry_name, medcl_tensor_name(y), (long long)yk, k, ra, rb);
        if (yk == 1) continue;
        bool ab = ak == 1, bb = bk == 1;
        if (nd > 0 && mab[nd - 1] == ab && mbb[nd - 1] == bb) {
            md[nd - 1] *= yk;
        } else {
            md[nd] = yk;
            mab[nd] = ab;
            mbb[nd] = bb;
            nd++;
        }
    }
    L->am = L->bm = 0;
    for (int k = 0; k < 5; k++) L->d[k] = 1;
    for (int k = 0; k < nd; k++) {
        int pos = 5 - nd + k;
        L->d[pos] = (cl_ulong)md[k];
        if (mab[k]) L->am |= 1u << pos;
        if (mbb[k]) L->bm |= 1u << pos;
    }
    L->n = y->numel;
    return MEDCL_OK;
}

static cl_int set_dims(cl_kernel k, cl_uint *i, const bc_layout *L) {
    cl_int e = CL_SUCCESS;
    for (int j = 0; j < 5 && e == CL_SUCCESS; j++) {
        e = clSetKernelArg(k, *i, sizeof(cl_ulong), &L->d[j]);
        (*i)++;
    }
    return e;
}

static medcl_status forward(const char *op, cl_int opcode, const medcl_tensor *a,
                            const medcl_tensor *b, medcl_tensor *y) {
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "a", a, true));
    MEDCL_TRY(medcl_op_check(op, "b", b, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    bc_layout L;
    MEDCL_TRY(bc_plan(op, "a", a, "b", b, "y", y, &L));
    char defs[64];
    defines(y->ctx, defs, sizeof defs);
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(y->ctx, PROG, defs, "bc_fwd", &k));
    cl_uint i = 0;
    cl_ulong n = (cl_ulong)L.n;
    MEDCL_CL(medcl_arg_tensor(k, &i, a));
    MEDCL_CL(medcl_arg_tensor(k, &i, b));
    MEDCL_CL(medcl_arg_tensor(k, &i, y));
    MEDCL_CL(MEDCL_ARG(k, i, n)); i++;
    MEDCL_CL(set_dims(k, &i, &L));
    MEDCL_CL(MEDCL_ARG(k, i, L.am)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, L.bm)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, opcode)); i++;
    MEDCL_TRY(medcl_launch_1d(y->ctx, k, (size_t)n));
cleanup:
    return st;
}

medcl_status medcl_broadcast_add_forward(const medcl_tensor *a, const medcl_tensor *b,
                                         medcl_tensor *y) {
    return forward("broadcast_add_forward", 0, a, b, y);
}

medcl_status medcl_broadcast_mul_forward(const medcl_tensor *a, const medcl_tensor *b,
                                         medcl_tensor *y) {
    return forward("broadcast_mul_forward", 1, a, b, y);
}

/* o = (or +=) sum over o's broadcast axes of dy (x NULL) or dy * x. om, xm: the masks of o
 * and x. */
static medcl_status reduce_into(const bc_layout *L, const medcl_tensor *dy, const medcl_tensor *x,
                                cl_uint om, cl_uint xm, medcl_tensor *o, bool accumulate) {
    medcl_status st = MEDCL_OK;
    medcl_tensor *part = NULL;
    medcl_context *ctx = dy->ctx;
    char defs[64];
    defines(ctx, defs, sizeof defs);
    cl_ulong M = (cl_ulong)o->numel, K = (cl_ulong)L->n / M;
    cl_int mul = x ? 1 : 0, acc = accumulate ? 1 : 0;
    if (!x) x = dy; /* unread when mul = 0 */
    cl_kernel k;
    cl_uint i = 0;
    if (K <= SMALL_K) {
        MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "bc_bwd_small", &k));
        MEDCL_CL(medcl_arg_tensor(k, &i, dy));
        MEDCL_CL(medcl_arg_tensor(k, &i, x));
        MEDCL_CL(medcl_arg_tensor(k, &i, o));
        MEDCL_CL(MEDCL_ARG(k, i, M)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, K)); i++;
        MEDCL_CL(set_dims(k, &i, L));
        MEDCL_CL(MEDCL_ARG(k, i, om)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, xm)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, mul)); i++;
        MEDCL_CL(MEDCL_ARG(k, i, acc)); i++;
        MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)M));
        goto cleanup;
    }
    unsigned wg = medcl_reduce_wg(ctx);
    /* fixed chunking: the group count depends only on the shapes and WG */
    cl_ulong groups = (K + (cl_ulong)wg * 8 - 1) / ((cl_ulong)wg * 8);
    if (groups > MAX_GROUPS) groups = MAX_GROUPS;
    if (groups < 1) groups = 1;
    cl_ulong chunk = (K + groups - 1) / groups;
    cl_uint ng = (cl_uint)groups;
    int64_t pn = (int64_t)(groups * M);
    MEDCL_TRY(medcl_tensor_create_f32(ctx, "broadcast.partials", 1, &pn, &part));
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "bc_bwd_stage1", &k));
    MEDCL_CL(medcl_arg_tensor(k, &i, dy));
    MEDCL_CL(medcl_arg_tensor(k, &i, x));
    MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &part->mem));
    MEDCL_CL(MEDCL_ARG(k, i, K)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, chunk)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, ng)); i++;
    MEDCL_CL(set_dims(k, &i, L));
    MEDCL_CL(MEDCL_ARG(k, i, om)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, xm)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, mul)); i++;
    size_t g1[2] = {(size_t)groups * wg, (size_t)M}, l1[2] = {wg, 1};
    MEDCL_TRY(medcl_launch(ctx, k, 2, g1, l1, NULL));
    MEDCL_TRY(medcl_kernel_get(ctx, PROG, defs, "bc_bwd_stage2", &k));
    i = 0;
    MEDCL_CL(clSetKernelArg(k, i++, sizeof(cl_mem), &part->mem));
    MEDCL_CL(MEDCL_ARG(k, i, ng)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, M)); i++;
    MEDCL_CL(medcl_arg_tensor(k, &i, o));
    MEDCL_CL(MEDCL_ARG(k, i, acc)); i++;
    MEDCL_TRY(medcl_launch_1d(ctx, k, (size_t)M));
cleanup:
    /* the partials return to the pool; the queue is in order, so reuse is safe */
    medcl_tensor_destroy(part);
    return st;
}

static medcl_status bc_params(const char *op, const medcl_broadcast_params *p,
                              medcl_broadcast_params *out) {
    const medcl_broadcast_params def = MEDCL_BROADCAST_PARAMS_INIT;
    return medcl_op_params(op, p, &def, sizeof def, out);
}

medcl_status medcl_broadcast_add_backward(const medcl_broadcast_params *p, const medcl_tensor *dy,
                                          medcl_tensor *da, medcl_tensor *db) {
    const char *op = "broadcast_add_backward";
    medcl_status st = MEDCL_OK;
    medcl_broadcast_params q = MEDCL_BROADCAST_PARAMS_INIT;
    MEDCL_TRY(bc_params(op, p, &q));
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    if (da) MEDCL_TRY(medcl_op_check(op, "da", da, true));
    if (db) MEDCL_TRY(medcl_op_check(op, "db", db, true));
    bc_layout L;
    MEDCL_TRY(bc_plan(op, "da", da, "db", db, "dy", dy, &L));
    if (da) MEDCL_TRY(reduce_into(&L, dy, NULL, L.am, 0, da, q.accumulate));
    if (db) MEDCL_TRY(reduce_into(&L, dy, NULL, L.bm, 0, db, q.accumulate));
cleanup:
    return st;
}

medcl_status medcl_broadcast_mul_backward(const medcl_broadcast_params *p, const medcl_tensor *a,
                                          const medcl_tensor *b, const medcl_tensor *dy,
                                          medcl_tensor *da, medcl_tensor *db) {
    const char *op = "broadcast_mul_backward";
    medcl_status st = MEDCL_OK;
    medcl_broadcast_params q = MEDCL_BROADCAST_PARAMS_INIT;
    MEDCL_TRY(bc_params(op, p, &q));
    MEDCL_TRY(medcl_op_check(op, "a", a, true));
    MEDCL_TRY(medcl_op_check(op, "b", b, true));
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    bc_layout L;
    MEDCL_TRY(bc_plan(op, "a", a, "b", b, "dy", dy, &L));
    if (da) {
        MEDCL_TRY(medcl_op_check(op, "da", da, true));
        MEDCL_TRY(medcl_op_same_numel(op, "a", a, "da", da));
    }
    if (db) {
        MEDCL_TRY(medcl_op_check(op, "db", db, true));
        MEDCL_TRY(medcl_op_same_numel(op, "b", b, "db", db));
    }
    if (da) MEDCL_TRY(reduce_into(&L, dy, b, L.am, L.bm, da, q.accumulate));
    if (db) MEDCL_TRY(reduce_into(&L, dy, a, L.bm, L.am, db, q.accumulate));
cleanup:
    return st;
}

medcl_status medcl_broadcast_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    char defs[64];
    defines(ctx, defs, sizeof defs);
    return add(acc, PROG, defs);
}
