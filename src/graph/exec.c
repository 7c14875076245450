/* src/graph/exec.c — running a compiled graph: forward, zero_grad, backward. Everything is
 * enqueued on the context's compute queue (in order); nothing here waits for the device, so
 * a training step synchronizes only where the caller reads a result back. Leaves out: the
 * optimizer step and the training loop (src/nn/train.c). */
#include "graph_internal.h"

static medcl_status ready(const medcl_graph *g, const char *fn, bool need_training) {
    if (!g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: graph is NULL", fn);
    medcl_status st = medcl_graph_status(g);
    if (st != MEDCL_OK) return st;
    if (!g->compiled) return medcl_fail(MEDCL_ERR_STATE, "%s: the graph is not compiled", fn);
    if (need_training && !g->training)
        return medcl_fail(MEDCL_ERR_STATE, "%s: the graph was compiled for inference only", fn);
    return medcl_context_check(g->ctx);
}

medcl_status medcl_graph_forward(medcl_graph *g) {
    medcl_status st = ready(g, "medcl_graph_forward", false);
    if (st != MEDCL_OK) return st;
    for (int i = 0; i < g->n; i++) {
        gnode *n = &g->nodes[i];
        if (n->role != ROLE_OP) continue;
        st = n->kind->forward(g, n);
        if (st != MEDCL_OK) {
            medcl_error_prefix("forward of node %s (%s)", n->name, n->kind->name);
            return st;
        }
    }
    return MEDCL_OK;
}

medcl_status medcl_graph_zero_grad(medcl_graph *g) {
    medcl_status st = ready(g, "medcl_graph_zero_grad", true);
    if (st != MEDCL_OK) return st;
    for (int i = 0; i < g->n && st == MEDCL_OK; i++)
        if (g->nodes[i].role == ROLE_PARAM) st = medcl_fill(g->nodes[i].grad, 0.0f);
    if (st == MEDCL_OK) st = medcl_fill(g->loss_sum, 0.0f);
    return st;
}

medcl_status medcl_graph_backward(medcl_graph *g, float loss_scale) {
    medcl_status st = ready(g, "medcl_graph_backward", true);
    if (st != MEDCL_OK) return st;
    gnode *loss = &g->nodes[g->loss];
    st = medcl_fill(g->seed, loss_scale);
    if (st == MEDCL_OK) st = medcl_axpy(loss_scale, loss->value, g->loss_sum);
    if (st != MEDCL_OK) return st;
    for (int i = g->n - 1; i >= 0; i--) {
        gnode *n = &g->nodes[i];
        if (!n->needs_backward) continue;
        medcl_tensor *dx[GRAPH_MAX_INPUTS] = {0};
        for (int s = 0; s < n->ninputs; s++) {
            gnode *x = graph_in(g, n, s);
            if (((n->kind->nograd_slots >> s) & 1u) || !x->requires_grad) continue;
            dx[s] = n->edge_tmp[s] ? n->edge_tmp[s] : x->grad;
        }
        st = n->kind->backward(g, n, n->grad, dx);
        /* temporary edges: add into the input's gradient (assigned already by its first edge,
         * or a parameter gradient that accumulates) */
        for (int s = 0; s < n->ninputs && st == MEDCL_OK; s++)
            if (dx[s] && n->edge_tmp[s]) {
                gnode *x = graph_in(g, n, s);
                st = medcl_add(x->grad, n->edge_tmp[s], x->grad);
            }
        if (st != MEDCL_OK) {
            medcl_error_prefix("backward of node %s (%s)", n->name, n->kind->name);
            return st;
        }
    }
    return MEDCL_OK;
}
