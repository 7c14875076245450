/* src/nn/lwf.c — learning without forgetting: the temperature-scaled distillation loss between
 * student and teacher logits (cl/continual.cl: lwf_fwd per voxel, then reduce.cl's fixed-order
 * mean), its backward w.r.t. the student logits, the teacher's tempered softmax, and the
 * in-graph form built on the soft-target cross-entropy (same gradient).
 * Normalization (header): T^2 * sum_c KL term, averaged over the V = N*D*H*W voxels.
 * Leaves out: keeping the teacher (the caller compiles the previous model for inference or
 * stores its outputs), distillation of intermediate features, the MiB/PLOP variants. */
#include "graph/graph_internal.h"
#include "medcl/continual.h"

#include <math.h>
#include <stdio.h>

#define PROG "continual"

typedef struct lwf_shape {
    cl_ulong N, C, S;
    float T;
} lwf_shape;

static medcl_status lwf_check(const char *op, const medcl_tensor *s, const medcl_tensor *t,
                              const medcl_lwf_params *pp, lwf_shape *out) {
    medcl_lwf_params def = MEDCL_LWF_PARAMS_INIT;
    const medcl_lwf_params *p = pp ? pp : &def;
    medcl_status st = MEDCL_OK;
    if (p->size != sizeof *p)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: params size %zu, expected %zu (initialize with "
                          "MEDCL_LWF_PARAMS_INIT)", op, p->size, sizeof *p);
    if (!(p->temperature > 0.0f) || !isfinite(p->temperature))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: temperature = %g, must be > 0 and finite", op,
                          (double)p->temperature);
    if ((st = medcl_op_check(op, "student", s, true)) != MEDCL_OK) return st;
    if ((st = medcl_op_check(op, "teacher", t, true)) != MEDCL_OK) return st;
    if (s->ctx != t->ctx)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: student and teacher on different contexts", op);
    if (s->ndim < 2)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: student (%s) has %d dimension(s), needs (N, C, ...)",
                          op, medcl_tensor_name(s), s->ndim);
    bool same = s->ndim == t->ndim;
    for (int i = 0; same && i < s->ndim; i++) same = s->shape[i] == t->shape[i];
    if (!same) {
        char a[64], b[64];
        int la = 0, lb = 0;
        for (int i = 0; i < s->ndim && la < 60; i++)
            la += snprintf(a + la, sizeof a - (size_t)la, "%s%lld", i ? ", " : "", (long long)s->shape[i]);
        for (int i = 0; i < t->ndim && lb < 60; i++)
            lb += snprintf(b + lb, sizeof b - (size_t)lb, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: teacher (%s) has shape (%s), student (%s) has (%s)", op,
                          medcl_tensor_name(t), b, medcl_tensor_name(s), a);
    }
    out->N = (cl_ulong)s->shape[0];
    out->C = (cl_ulong)s->shape[1];
    out->S = (cl_ulong)(s->numel / (s->shape[0] * s->shape[1]));
    out->T = p->temperature;
    return MEDCL_OK;
}

static medcl_status check_scalar(const char *op, const char *role, const medcl_tensor *x) {
    medcl_status st = medcl_op_check(op, role, x, true);
    if (st != MEDCL_OK) return st;
    if (x->numel != 1)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: %s (%s) must have one element, has %lld", op, role,
                          medcl_tensor_name(x), (long long)x->numel);
    return MEDCL_OK;
}

medcl_status medcl_lwf_loss_forward(const medcl_tensor *student, const medcl_tensor *teacher,
                                    const medcl_lwf_params *p, medcl_tensor *loss) {
    static const char *op = "lwf_loss_forward";
    medcl_status st = MEDCL_OK;
    medcl_tensor *kl = NULL;
    lwf_shape sh;
    MEDCL_TRY(lwf_check(op, student, teacher, p, &sh));
    MEDCL_TRY(check_scalar(op, "loss", loss));
    if (loss->ctx != student->ctx) MEDCL_FAIL(MEDCL_ERR_INVALID_ARG, "%s: loss on another context", op);
    int64_t v = (int64_t)(sh.N * sh.S);
    MEDCL_TRY(medcl_tensor_create_f32(student->ctx, "lwf.kl", 1, &v, &kl));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(student->ctx, PROG, "", "lwf_fwd", &k));
    float invT = (float)(1.0 / (double)sh.T), T2 = (float)((double)sh.T * (double)sh.T);
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, student));
    MEDCL_CL(medcl_arg_tensor(k, &i, teacher));
    MEDCL_CL(medcl_arg_tensor(k, &i, kl));
    MEDCL_CL(MEDCL_ARG(k, i, sh.N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sh.C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sh.S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, invT)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, T2)); i++;
    MEDCL_TRY(medcl_launch_1d(student->ctx, k, (size_t)v));
    MEDCL_TRY(medcl_reduce_mean(kl, loss));
cleanup:
    medcl_tensor_destroy(kl);
    return st;
}

medcl_status medcl_lwf_loss_backward(const medcl_tensor *student, const medcl_tensor *teacher,
                                     const medcl_lwf_params *p, const medcl_tensor *dloss,
                                     medcl_tensor *dstudent) {
    static const char *op = "lwf_loss_backward";
    medcl_status st = MEDCL_OK;
    lwf_shape sh;
    MEDCL_TRY(lwf_check(op, student, teacher, p, &sh));
    if (dloss) MEDCL_TRY(check_scalar(op, "dloss", dloss));
    MEDCL_TRY(medcl_op_check(op, "dstudent", dstudent, true));
    MEDCL_TRY(medcl_op_same_numel(op, "student", student, "dstudent", dstudent));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(student->ctx, PROG, "", "lwf_bwd", &k));
    cl_ulong v = sh.N * sh.S;
    float invT = (float)(1.0 / (double)sh.T), coef = (float)((double)sh.T / (double)v);
    cl_int has = dloss ? 1 : 0;
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, student));
    MEDCL_CL(medcl_arg_tensor(k, &i, teacher));
    MEDCL_CL(medcl_arg_tensor(k, &i, dloss ? dloss : dstudent)); /* unread when has = 0 */
    MEDCL_CL(MEDCL_ARG(k, i, has)); i++;
    MEDCL_CL(medcl_arg_tensor(k, &i, dstudent));
    MEDCL_CL(MEDCL_ARG(k, i, sh.N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sh.C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sh.S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, invT)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, coef)); i++;
    MEDCL_TRY(medcl_launch_1d(student->ctx, k, (size_t)v));
cleanup:
    return st;
}

medcl_status medcl_lwf_teacher_probs(const medcl_tensor *teacher, const medcl_lwf_params *p,
                                     medcl_tensor *probs) {
    static const char *op = "lwf_teacher_probs";
    medcl_status st = MEDCL_OK;
    lwf_shape sh;
    /* the teacher checked against itself: shape rules and temperature */
    MEDCL_TRY(lwf_check(op, teacher, teacher, p, &sh));
    MEDCL_TRY(medcl_op_check(op, "probs", probs, true));
    MEDCL_TRY(medcl_op_same_numel(op, "teacher", teacher, "probs", probs));
    cl_kernel k;
    MEDCL_TRY(medcl_kernel_get(teacher->ctx, PROG, "", "lwf_probs", &k));
    float invT = (float)(1.0 / (double)sh.T);
    cl_uint i = 0;
    MEDCL_CL(medcl_arg_tensor(k, &i, teacher));
    MEDCL_CL(medcl_arg_tensor(k, &i, probs));
    MEDCL_CL(MEDCL_ARG(k, i, sh.N)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sh.C)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, sh.S)); i++;
    MEDCL_CL(MEDCL_ARG(k, i, invT)); i++;
    MEDCL_TRY(medcl_launch_1d(teacher->ctx, k, (size_t)(sh.N * sh.S)));
cleanup:
    return st;
}

medcl_node medcl_lwf_graph_loss(medcl_graph *g, medcl_node student_logits, medcl_node teacher_probs,
                                const medcl_lwf_params *pp, float weight) {
    medcl_lwf_params def = MEDCL_LWF_PARAMS_INIT;
    const medcl_lwf_params *p = pp ? pp : &def;
    if (!g) return MEDCL_NODE_NONE;
    if (p->size != sizeof *p || !(p->temperature > 0.0f) || !isfinite(p->temperature) ||
        !isfinite(weight)) {
        /* sticky error on the graph, as the builders do */
        graph_error(g, NULL, medcl_fail(MEDCL_ERR_INVALID_ARG, "lwf_graph_loss: temperature = %g, "
                                        "weight = %g, params size %zu (expected %zu)",
                                        (double)p->temperature, (double)weight, p->size, sizeof *p));
        return MEDCL_NODE_NONE;
    }
    double T = p->temperature;
    medcl_ce_loss_params ce = MEDCL_CE_LOSS_PARAMS_INIT;
    medcl_node z = medcl_graph_scale(g, student_logits, (float)(1.0 / T));
    medcl_node l = medcl_graph_ce_loss(g, z, teacher_probs, &ce);
    return medcl_graph_scale(g, l, (float)((double)weight * T * T));
}
