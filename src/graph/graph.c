/* src/graph/graph.c — graph building: nodes, leaves (inputs, parameters, buffers), names,
 * roles, the sticky error, accessors, and the training/evaluation mode and RNG step. Leaves out: node kinds (kinds_*.c), compile and
 * memory plan (plan.c), execution (exec.c). */
#include "graph_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

medcl_status graph_error(medcl_graph *g, const gnode *n, medcl_status s) {
    if (g->status != MEDCL_OK) return g->status;
    g->status = s;
    if (n)
        snprintf(g->message, sizeof g->message, "graph node %s (%s): %s", n->name,
                 n->kind ? n->kind->name : "leaf", medcl_last_error());
    else
        snprintf(g->message, sizeof g->message, "graph: %s", medcl_last_error());
    medcl_fail(s, "%s", g->message);
    return s;
}

medcl_status medcl_graph_status(const medcl_graph *g) {
    if (!g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "graph is NULL");
    if (g->status != MEDCL_OK) return medcl_fail(g->status, "%s", g->message);
    return MEDCL_OK;
}

medcl_context *medcl_graph_context(const medcl_graph *g) { return g ? g->ctx : NULL; }

int64_t graph_numel(const gnode *n) {
    int64_t k = 1;
    for (int i = 0; i < n->ndim; i++) k *= n->shape[i];
    return k;
}

const char *graph_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "(");
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, ")");
    return buf;
}

medcl_status medcl_graph_create(medcl_context *ctx, medcl_graph **out) {
    if (!out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_create: out is NULL");
    *out = NULL;
    if (!ctx) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_create: context is NULL");
    medcl_graph *g = calloc(1, sizeof *g);
    if (!g) return medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "medcl_graph_create: out of memory");
    g->ctx = ctx;
    g->loss = -1;
    *out = g;
    return MEDCL_OK;
}

void medcl_graph_destroy(medcl_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n; i++) {
        gnode *n = &g->nodes[i];
        free(n->params);
        if (n->persistent) medcl_tensor_destroy(n->value);
        if (n->grad_owned) medcl_tensor_destroy(n->grad);
        free(n->edge_tmp);
    }
    for (int i = 0; i < g->nviews; i++) medcl_tensor_destroy(g->views[i]);
    free(g->views);
    for (int i = 0; i < g->narenas; i++) medcl_tensor_destroy(g->arenas[i]);
    free(g->arenas);
    medcl_tensor_destroy(g->loss_sum);
    medcl_tensor_destroy(g->seed);
    free(g->nodes);
    free(g);
}

/* New node slot with a default name; -1 after setting the sticky error. */
static int new_node(medcl_graph *g, const char *what) {
    if (g->compiled) {
        medcl_fail(MEDCL_ERR_STATE, "cannot add %s: the graph is compiled", what);
        graph_error(g, NULL, MEDCL_ERR_STATE);
        return -1;
    }
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 64;
        gnode *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) {
            medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "out of memory adding %s", what);
            graph_error(g, NULL, MEDCL_ERR_OUT_OF_MEMORY);
            return -1;
        }
        g->nodes = nn;
        g->cap = cap;
    }
    int id = g->n++;
    gnode *n = &g->nodes[id];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s#%d", what, id);
    n->param_index = -1;
    return id;
}

static bool valid(const medcl_graph *g, int id) { return id >= 0 && id < g->n; }

int graph_add_node(medcl_graph *g, const graph_kind *kind, const int *inputs, int ninputs,
                   const void *params, size_t psize) {
    if (!g || g->status != MEDCL_OK) return -1;
    for (int i = 0; i < ninputs; i++)
        if (!valid(g, inputs[i])) {
            /* a failed builder upstream already set the error; otherwise name the slot */
            medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: input %d is not a node of this graph (id %d)",
                       kind->name, i, inputs[i]);
            graph_error(g, NULL, MEDCL_ERR_INVALID_ARG);
            return -1;
        }
    if (ninputs > GRAPH_MAX_INPUTS) {
        medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: %d inputs (at most %d)", kind->name, ninputs,
                   GRAPH_MAX_INPUTS);
        graph_error(g, NULL, MEDCL_ERR_INVALID_ARG);
        return -1;
    }
    /* add and mul of operands whose shapes differ but broadcast become the broadcasting
     * kinds (graph.h promises NumPy broadcasting); shapes that do not broadcast stay with the
     * same-shape kind, whose shape check reports both operands */
    if ((kind == &graph_kind_add || kind == &graph_kind_mul) && ninputs == 2) {
        int bnd;
        int64_t bshape[MEDCL_MAX_DIMS];
        if (graph_broadcast_shape(&g->nodes[inputs[0]], &g->nodes[inputs[1]], &bnd, bshape))
            kind = kind == &graph_kind_add ? &graph_kind_broadcast_add : &graph_kind_broadcast_mul;
    }
    int id = new_node(g, kind->name);
    if (id < 0) return -1;
    gnode *n = &g->nodes[id];
    n->kind = kind;
    n->role = ROLE_OP;
    n->ninputs = ninputs;
    for (int i = 0; i < ninputs; i++) n->inputs[i] = inputs[i];
    n->dtype = MEDCL_DTYPE_F32;
    if (params && psize) {
        n->params = malloc(psize);
        if (!n->params) {
            medcl_fail(MEDCL_ERR_OUT_OF_MEMORY, "out of memory");
            graph_error(g, n, MEDCL_ERR_OUT_OF_MEMORY);
            return -1;
        }
        memcpy(n->params, params, psize);
    }
    for (int i = 0; i < ninputs; i++) {
        const gnode *in = &g->nodes[inputs[i]];
        if (((kind->accum_slots >> i) & 1u) && in->role != ROLE_PARAM) {
            medcl_fail(MEDCL_ERR_INVALID_ARG, "input %d (%s) must be a parameter", i, in->name);
            graph_error(g, n, MEDCL_ERR_INVALID_ARG);
            return -1;
        }
    }
    medcl_status st = kind->infer(g, n);
    if (st != MEDCL_OK) {
        graph_error(g, n, st);
        return -1;
    }
    return id;
}

static medcl_status check_shape(int ndim, const int64_t *shape, const char *name) {
    if (ndim < 1 || ndim > MEDCL_MAX_DIMS || !shape)
        return medcl_fail(MEDCL_ERR_SHAPE, "%s: ndim = %d (must be 1..%d)", name, ndim,
                          MEDCL_MAX_DIMS);
    int64_t k = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || !medcl_mul_i64(k, shape[i], &k))
            return medcl_fail(MEDCL_ERR_SHAPE, "%s: shape[%d] = %lld", name, i,
                              (long long)shape[i]);
    return MEDCL_OK;
}

static int find_name(const medcl_graph *g, const char *name) {
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

static int leaf(medcl_graph *g, gnode_role role, const char *name, medcl_dtype dtype, int ndim,
                const int64_t *shape, const medcl_init *init) {
    if (!g || g->status != MEDCL_OK) return -1;
    const char *what = role == ROLE_INPUT ? "input" : role == ROLE_PARAM ? "param" : "buffer";
    if (!name || !name[0] || strlen(name) >= GRAPH_NAME) {
        medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: name is %s", what,
                   name ? (name[0] ? "too long" : "empty") : "NULL");
        graph_error(g, NULL, MEDCL_ERR_INVALID_ARG);
        return -1;
    }
    if (find_name(g, name) >= 0) {
        medcl_fail(MEDCL_ERR_INVALID_ARG, "%s %s: the name is already used", what, name);
        graph_error(g, NULL, MEDCL_ERR_INVALID_ARG);
        return -1;
    }
    medcl_status st = check_shape(ndim, shape, name);
    if (st == MEDCL_OK && ((int)dtype < 0 || dtype >= MEDCL_DTYPE_COUNT))
        st = medcl_fail(MEDCL_ERR_INVALID_ARG, "%s %s: dtype = %d", what, name, (int)dtype);
    if (st == MEDCL_OK && init && init->size < sizeof(medcl_init))
        st = medcl_fail(MEDCL_ERR_INVALID_ARG, "%s %s: init.size = %zu, expected %zu", what, name,
                        init->size, sizeof(medcl_init));
    if (st == MEDCL_OK && init && ((int)init->kind < 0 || init->kind >= MEDCL_INIT_KIND_COUNT))
        st = medcl_fail(MEDCL_ERR_INVALID_ARG, "%s %s: init.kind = %d", what, name, (int)init->kind);
    if (st != MEDCL_OK) {
        graph_error(g, NULL, st);
        return -1;
    }
    int id = new_node(g, what);
    if (id < 0) return -1;
    gnode *n = &g->nodes[id];
    n->role = role;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->dtype = dtype;
    n->ndim = ndim;
    for (int i = 0; i < ndim; i++) n->shape[i] = shape[i];
    medcl_init def = MEDCL_INIT_INIT;
    n->init = init ? *init : def;
    if (role != ROLE_INPUT) n->param_index = g->nparams++;
    return id;
}

medcl_node medcl_graph_input(medcl_graph *g, const char *name, medcl_dtype dtype, int ndim,
                             const int64_t *shape) {
    return (medcl_node){leaf(g, ROLE_INPUT, name, dtype, ndim, shape, NULL)};
}

medcl_node medcl_graph_param(medcl_graph *g, const char *name, int ndim, const int64_t *shape,
                             const medcl_init *init) {
    return (medcl_node){leaf(g, ROLE_PARAM, name, MEDCL_DTYPE_F32, ndim, shape, init)};
}

medcl_node medcl_graph_buffer(medcl_graph *g, const char *name, int ndim, const int64_t *shape,
                              const medcl_init *init) {
    return (medcl_node){leaf(g, ROLE_BUFFER, name, MEDCL_DTYPE_F32, ndim, shape, init)};
}

medcl_node medcl_graph_named(medcl_graph *g, medcl_node node, const char *name) {
    if (!g || g->status != MEDCL_OK) return MEDCL_NODE_NONE;
    if (!valid(g, node.id)) return MEDCL_NODE_NONE;
    gnode *n = &g->nodes[node.id];
    if (!name || !name[0] || strlen(name) >= GRAPH_NAME) {
        medcl_fail(MEDCL_ERR_INVALID_ARG, "name is NULL, empty or longer than %d", GRAPH_NAME - 1);
        graph_error(g, n, MEDCL_ERR_INVALID_ARG);
        return MEDCL_NODE_NONE;
    }
    int other = find_name(g, name);
    if (other >= 0 && other != node.id) {
        medcl_fail(MEDCL_ERR_INVALID_ARG, "name %s is already used by node %d", name, other);
        graph_error(g, n, MEDCL_ERR_INVALID_ARG);
        return MEDCL_NODE_NONE;
    }
    snprintf(n->name, sizeof n->name, "%s", name);
    return node;
}

medcl_node medcl_graph_find(const medcl_graph *g, const char *name) {
    if (!g || !name) return MEDCL_NODE_NONE;
    return (medcl_node){find_name(g, name)};
}

const char *medcl_graph_node_name(const medcl_graph *g, medcl_node n) {
    return g && valid(g, n.id) ? g->nodes[n.id].name : "(none)";
}

const char *medcl_graph_node_kind(const medcl_graph *g, medcl_node node) {
    if (!g || !valid(g, node.id)) return "(none)";
    const gnode *n = &g->nodes[node.id];
    if (n->kind) return n->kind->name;
    return n->role == ROLE_INPUT ? "input" : n->role == ROLE_PARAM ? "param" : "buffer";
}

static medcl_status node_arg(const medcl_graph *g, medcl_node n, const char *fn) {
    if (!g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: graph is NULL", fn);
    medcl_status st = medcl_graph_status(g);
    if (st != MEDCL_OK) return st;
    if (!valid(g, n.id))
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "%s: node id %d is not in the graph", fn, n.id);
    return MEDCL_OK;
}

medcl_status medcl_graph_node_shape(const medcl_graph *g, medcl_node node, int *ndim,
                                    int64_t shape[MEDCL_MAX_DIMS]) {
    medcl_status st = node_arg(g, node, "medcl_graph_node_shape");
    if (st != MEDCL_OK) return st;
    const gnode *n = &g->nodes[node.id];
    if (ndim) *ndim = n->ndim;
    if (shape)
        for (int i = 0; i < MEDCL_MAX_DIMS; i++) shape[i] = i < n->ndim ? n->shape[i] : 0;
    return MEDCL_OK;
}

static medcl_status not_compiled(const medcl_graph *g, const char *fn) {
    if (g->compiled)
        return medcl_fail(MEDCL_ERR_STATE, "%s: the graph is already compiled", fn);
    return MEDCL_OK;
}

medcl_status medcl_graph_set_loss(medcl_graph *g, medcl_node loss) {
    medcl_status st = node_arg(g, loss, "medcl_graph_set_loss");
    if (st == MEDCL_OK) st = not_compiled(g, "medcl_graph_set_loss");
    if (st != MEDCL_OK) return st;
    gnode *n = &g->nodes[loss.id];
    if (graph_numel(n) != 1 || n->dtype != MEDCL_DTYPE_F32)
        return medcl_fail(MEDCL_ERR_SHAPE, "medcl_graph_set_loss: node %s has %lld elements of %s, "
                          "a loss is one f32 element", n->name, (long long)graph_numel(n),
                          medcl_dtype_str(n->dtype));
    g->loss = loss.id;
    return MEDCL_OK;
}

medcl_status medcl_graph_mark_output(medcl_graph *g, medcl_node node) {
    medcl_status st = node_arg(g, node, "medcl_graph_mark_output");
    if (st == MEDCL_OK) st = not_compiled(g, "medcl_graph_mark_output");
    if (st != MEDCL_OK) return st;
    g->nodes[node.id].output = true;
    return MEDCL_OK;
}

medcl_status medcl_graph_input_requires_grad(medcl_graph *g, medcl_node node) {
    medcl_status st = node_arg(g, node, "medcl_graph_input_requires_grad");
    if (st == MEDCL_OK) st = not_compiled(g, "medcl_graph_input_requires_grad");
    if (st != MEDCL_OK) return st;
    gnode *n = &g->nodes[node.id];
    if (n->role != ROLE_INPUT || n->dtype != MEDCL_DTYPE_F32)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_input_requires_grad: node %s is not "
                          "an f32 input", n->name);
    n->input_grad = true;
    return MEDCL_OK;
}

medcl_tensor *medcl_graph_tensor(const medcl_graph *g, medcl_node n) {
    if (!g || !valid(g, n.id) || !g->compiled) return NULL;
    const gnode *x = &g->nodes[n.id];
    return x->persistent ? x->value : NULL;
}

medcl_tensor *medcl_graph_grad(const medcl_graph *g, medcl_node n) {
    if (!g || !valid(g, n.id) || !g->compiled) return NULL;
    const gnode *x = &g->nodes[n.id];
    return (x->role == ROLE_PARAM || x->input_grad) ? x->grad : NULL;
}

medcl_tensor *medcl_graph_loss_sum(const medcl_graph *g) { return g ? g->loss_sum : NULL; }

int medcl_graph_param_count(const medcl_graph *g) { return g ? g->nparams : 0; }

medcl_node medcl_graph_param_at(const medcl_graph *g, int i) {
    if (!g) return MEDCL_NODE_NONE;
    for (int k = 0; k < g->n; k++)
        if (g->nodes[k].param_index == i) return (medcl_node){k};
    return MEDCL_NODE_NONE;
}

bool medcl_graph_param_trainable(const medcl_graph *g, int i) {
    medcl_node n = medcl_graph_param_at(g, i);
    return n.id >= 0 && g->nodes[n.id].role == ROLE_PARAM;
}

int64_t medcl_graph_param_numel(const medcl_graph *g) {
    int64_t k = 0;
    if (!g) return 0;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].role == ROLE_PARAM) k += graph_numel(&g->nodes[i]);
    return k;
}

medcl_status medcl_graph_memory_report(const medcl_graph *g, medcl_graph_memory *out) {
    if (!g || !out) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_memory_report: NULL argument");
    if (!g->compiled) return medcl_fail(MEDCL_ERR_STATE, "medcl_graph_memory_report: graph not compiled");
    *out = g->mem;
    return MEDCL_OK;
}

/* ---- training / evaluation mode and the RNG step of per-step random ops ---- */
medcl_status medcl_graph_set_training(medcl_graph *g, bool training) {
    if (!g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_set_training: graph is NULL");
    medcl_status st = medcl_graph_status(g);
    if (st != MEDCL_OK) return st;
    if (!g->compiled)
        return medcl_fail(MEDCL_ERR_STATE, "medcl_graph_set_training: the graph is not compiled "
                          "(compile first; until then the mode follows the compile options)");
    g->mode = training ? 1 : 2;
    return MEDCL_OK;
}

bool medcl_graph_is_training(const medcl_graph *g) { return g && g->compiled && graph_train_mode(g); }

medcl_status medcl_graph_set_rng_step(medcl_graph *g, uint64_t step) {
    if (!g) return medcl_fail(MEDCL_ERR_INVALID_ARG, "medcl_graph_set_rng_step: graph is NULL");
    g->rng_step = step;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].kind == &graph_kind_dropout) g->nodes[i].rng_next = step;
    return MEDCL_OK;
}

uint64_t medcl_graph_rng_step(const medcl_graph *g) {
    if (!g) return 0;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].kind == &graph_kind_dropout) return g->nodes[i].rng_next;
    return g->rng_step;
}

medcl_status graph_need_f32(const gnode *in, int slot) {
    if (in->dtype != MEDCL_DTYPE_F32)
        return medcl_fail(MEDCL_ERR_INVALID_ARG, "input %d (%s) has dtype %s, expected f32", slot,
                          in->name, medcl_dtype_str(in->dtype));
    return MEDCL_OK;
}

medcl_status graph_need_rank(const gnode *in, int slot, int lo, int hi) {
    if (in->ndim < lo || in->ndim > hi)
        return medcl_fail(MEDCL_ERR_SHAPE, "input %d (%s) has %d dimensions, expected %d..%d", slot,
                          in->name, in->ndim, lo, hi);
    return MEDCL_OK;
}
