/* src/ops/linear.c — the fully connected layer y = x W^T + b on CLBlast SGEMM (row-major,
 * buffer offsets from the tensors' views), with the bias added and its gradient reduced by the
 * broadcast kernels (cl/broadcast.cl: fixed order, bitwise reproducible). CLBlast compiles and
 * caches its own kernels: they are not part of medcl's program cache or kernel bundles.
 * Not here: 1x1 convolution (conv.c), initialization (nn). */
#include "medcl/ops_act.h"
#include "medcl/ops_linear.h"
#include "ops_internal.h"

#include <clblast_c.h>

/* Runs one SGEMM C = alpha op(A) op(B) + beta C (row-major) and turns a CLBlast status into a
 * medcl error naming the op. */
static medcl_status sgemm(const char *op, medcl_context *ctx, bool ta, bool tb, int64_t m,
                          int64_t n, int64_t k, const medcl_tensor *a, int64_t lda,
                          const medcl_tensor *b, int64_t ldb, float beta, medcl_tensor *c,
                          int64_t ldc) {
    cl_command_queue q = medcl_context_cl_queue(ctx);
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       tb ? CLBlastTransposeYes : CLBlastTransposeNo, (size_t)m,
                                       (size_t)n, (size_t)k, 1.0f, a->mem, (size_t)a->offset,
                                       (size_t)lda, b->mem, (size_t)b->offset, (size_t)ldb, beta,
                                       c->mem, (size_t)c->offset, (size_t)ldc, &q, NULL);
    if (s == CLBlastSuccess) return MEDCL_OK;
    const char *what = s > -100 ? medcl_cl_error_name((cl_int)s) : "CLBlast error";
    medcl_status st = medcl_fail(MEDCL_ERR_DEVICE,
                                 "%s: CLBlastSgemm (m=%lld, n=%lld, k=%lld) on %s failed with CLBlast "
                                 "status %d (%s)", op, (long long)m, (long long)n, (long long)k,
                                 medcl_context_device(ctx)->name, (int)s, what);
    if (s == CLBlastOpenCLOutOfResources || s == CLBlastTempBufferAllocFailure ||
        s == CLBlastOpenCLOutOfHostMemory)
        medcl_context_mark_broken(ctx, medcl_last_error());
    return st;
}

/* x (N, IN...) and w (OUT, IN): N, IN, OUT */
static medcl_status dims(const char *op, const char *rx, const medcl_tensor *x,
                         const medcl_tensor *w, int64_t *N, int64_t *IN, int64_t *OUT) {
    if (x->ctx != w->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and w belong to different contexts", op, rx);
    if (x->ndim < 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) has rank %d; expected (N, IN) or (N, ...)", op,
                          rx, medcl_tensor_name(x), x->ndim);
    if (w->ndim != 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: w (%s) has rank %d; expected (OUT, IN)", op,
                          medcl_tensor_name(w), w->ndim);
    *N = x->shape[0];
    *IN = x->numel / *N;
    *OUT = w->shape[0];
    if (w->shape[1] != *IN)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: w (%s) has IN = %lld columns; %s (%s) has %lld features "
                          "per sample", op, medcl_tensor_name(w), (long long)w->shape[1], rx,
                          medcl_tensor_name(x), (long long)*IN);
    return MEDCL_OK;
}

/* t is (N, OUT) */
static medcl_status check_nout(const char *op, const char *role, const medcl_tensor *t, int64_t N,
                               int64_t OUT, const medcl_tensor *w) {
    if (t->ctx != w->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and w belong to different contexts", op, role);
    if (t->ndim != 2 || t->shape[0] != N || t->shape[1] != OUT)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) must be (N, OUT) = (%lld, %lld); it has rank %d "
                          "and %lld elements", op, role, medcl_tensor_name(t), (long long)N,
                          (long long)OUT, t->ndim, (long long)t->numel);
    return MEDCL_OK;
}

static medcl_status check_bias(const char *op, const char *role, const medcl_tensor *b, int64_t OUT,
                               const medcl_tensor *w) {
    medcl_status st = medcl_op_check(op, role, b, true);
    if (st != MEDCL_OK) return st;
    if (b->ctx != w->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %s and w belong to different contexts", op, role);
    if (b->ndim != 1 || b->shape[0] != OUT)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) must be (OUT) = (%lld); it has rank %d and %lld "
                          "elements", op, role, medcl_tensor_name(b), (long long)OUT, b->ndim,
                          (long long)b->numel);
    return MEDCL_OK;
}

medcl_status medcl_linear_forward(const medcl_tensor *x, const medcl_tensor *w,
                                  const medcl_tensor *b, medcl_tensor *y) {
    const char *op = "linear_forward";
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "w", w, true));
    MEDCL_TRY(medcl_op_check(op, "y", y, true));
    int64_t N, IN, OUT;
    MEDCL_TRY(dims(op, "x", x, w, &N, &IN, &OUT));
    MEDCL_TRY(check_nout(op, "y", y, N, OUT, w));
    if (b) MEDCL_TRY(check_bias(op, "b", b, OUT, w));
    /* y (N, OUT) = x (N, IN) . W^T (IN, OUT) */
    MEDCL_TRY(sgemm(op, y->ctx, false, true, N, OUT, IN, x, IN, w, IN, 0.0f, y, OUT));
    if (b) MEDCL_TRY(medcl_broadcast_add_forward(y, b, y));
cleanup:
    return st;
}

medcl_status medcl_linear_backward_data(const medcl_tensor *dy, const medcl_tensor *w,
                                        medcl_tensor *dx) {
    const char *op = "linear_backward_data";
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_check(op, "w", w, true));
    MEDCL_TRY(medcl_op_check(op, "dx", dx, true));
    int64_t N, IN, OUT;
    MEDCL_TRY(dims(op, "dx", dx, w, &N, &IN, &OUT));
    MEDCL_TRY(check_nout(op, "dy", dy, N, OUT, w));
    /* dx (N, IN) = dy (N, OUT) . W (OUT, IN) */
    MEDCL_TRY(sgemm(op, dx->ctx, false, false, N, IN, OUT, dy, OUT, w, IN, 0.0f, dx, IN));
cleanup:
    return st;
}

medcl_status medcl_linear_backward_weight(const medcl_tensor *x, const medcl_tensor *dy,
                                          medcl_tensor *dw, medcl_tensor *db) {
    const char *op = "linear_backward_weight";
    medcl_status st = MEDCL_OK;
    MEDCL_TRY(medcl_op_check(op, "x", x, true));
    MEDCL_TRY(medcl_op_check(op, "dy", dy, true));
    MEDCL_TRY(medcl_op_check(op, "dw", dw, true));
    int64_t N, IN, OUT;
    MEDCL_TRY(dims(op, "x", x, dw, &N, &IN, &OUT));
    MEDCL_TRY(check_nout(op, "dy", dy, N, OUT, dw));
    if (db) MEDCL_TRY(check_bias(op, "db", db, OUT, dw));
    /* dW (OUT, IN) += dy^T (OUT, N) . x (N, IN) */
    MEDCL_TRY(sgemm(op, dw->ctx, true, false, OUT, IN, N, dy, OUT, x, IN, 1.0f, dw, IN));
    if (db) {
        medcl_broadcast_params bp = MEDCL_BROADCAST_PARAMS_INIT;
        bp.accumulate = true;
        /* db (OUT) += sum over n of dy (N, OUT): OUT broadcasts against (N, OUT) */
        MEDCL_TRY(medcl_broadcast_add_backward(&bp, dy, NULL, db));
    }
cleanup:
    return st;
}

/* The medcl programs linear uses (CLBlast's own kernels are not listed: it builds them). */
medcl_status medcl_linear_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc) {
    return medcl_broadcast_variants(ctx, add, acc);
}
