/* src/graph/graph_internal.h — the graph structure and the op table through which every node
 * kind plugs in (forward, backward, shape inference, programs to build). Not installed.
 * Leaves out: the kinds themselves (kinds_*.c), planning (plan.c), execution (exec.c). */
#ifndef MEDCL_GRAPH_INTERNAL_H
#define MEDCL_GRAPH_INTERNAL_H

#include "medcl/graph.h"
#include "ops/ops_internal.h"

#define GRAPH_MAX_INPUTS 16
#define GRAPH_MAX_AUX 4
#define GRAPH_NAME 96

typedef struct gnode gnode;

/* One entry per node kind. Conventions of the ops hold: backward assigns activation
 * gradients; slots in accum_slots take a parameter whose gradient the op accumulates (+=). */
typedef struct graph_kind {
    const char *name;
    unsigned bwd_needs_inputs;  /* bit i: backward reads input i's value */
    bool bwd_needs_output;      /* backward reads this node's value */
    unsigned accum_slots;       /* bit i: input i must be a parameter; backward does += */
    unsigned nograd_slots;      /* bit i: no gradient flows to input i (labels, targets) */
    /* Checks the inputs and sets n->dtype, n->ndim, n->shape (and n->naux, n->aux_*). */
    medcl_status (*infer)(medcl_graph *g, gnode *n);
    medcl_status (*forward)(medcl_graph *g, gnode *n);
    /* dy: gradient of this node's value; dx[i]: target for input i or NULL (not wanted). */
    medcl_status (*backward)(medcl_graph *g, gnode *n, const medcl_tensor *dy, medcl_tensor **dx);
    medcl_variants_fn variants;  /* programs its forward and backward use (may be NULL) */
} graph_kind;

typedef enum gnode_role {
    ROLE_OP = 0,
    ROLE_INPUT = 1,
    ROLE_PARAM = 2,
    ROLE_BUFFER = 3,
} gnode_role;

struct gnode {
    const graph_kind *kind;   /* NULL for leaves */
    gnode_role role;
    char name[GRAPH_NAME];
    int ninputs;
    int inputs[GRAPH_MAX_INPUTS];
    medcl_dtype dtype;
    int ndim;
    int64_t shape[MEDCL_MAX_DIMS];
    void *params;             /* the op's parameter struct (copied), or NULL */
    double scalar;            /* scale factor and other single-number attributes */
    medcl_init init;          /* params and buffers */
    int naux;                 /* per-node scratch kept from forward to backward */
    int aux_ndim[GRAPH_MAX_AUX];
    int64_t aux_shape[GRAPH_MAX_AUX][MEDCL_MAX_DIMS];
    medcl_dtype aux_dtype[GRAPH_MAX_AUX];

    /* set by compile */
    bool input_grad;          /* input: d loss / d input requested */
    bool output;              /* kept for the caller */
    bool requires_grad;       /* a gradient flows into this node */
    bool needs_backward;      /* its backward runs */
    bool persistent;          /* own tensor, not planned */
    bool grad_owned;          /* grad is its own tensor (else a planned view or the seed) */
    medcl_tensor *value;
    medcl_tensor *grad;
    medcl_tensor *aux[GRAPH_MAX_AUX];
    medcl_tensor **edge_tmp;  /* per input slot: temporary gradient, or NULL (direct) */
    int param_index;          /* params and buffers: position in creation order */

    /* run-time state of the mode-dependent kinds (kinds_extra.c, kinds_net.c) */
    bool fwd_training;        /* the mode its last forward ran in (dropout, batch norm) */
    uint32_t fwd_step;        /* dropout: the step its last forward drew its mask with */
    uint64_t rng_next;        /* dropout: the step of its next training-mode forward */
};

struct medcl_graph {
    medcl_context *ctx;
    gnode *nodes;
    int n, cap;
    int loss;                 /* node id or -1 */
    medcl_status status;      /* sticky error */
    char message[1024];
    bool compiled, training;
    int nparams;
    medcl_tensor *loss_sum;   /* (1) */
    medcl_tensor *seed;       /* (1): d loss, filled with loss_scale */
    medcl_tensor **arenas;
    int narenas;
    medcl_tensor **views;     /* every planned tensor (freed with the graph) */
    int nviews, cap_views;
    medcl_graph_memory mem;
    int mode;                 /* 0: as compiled (training or not), 1: train, 2: evaluation */
    uint64_t rng_step;        /* medcl_graph_set_rng_step (dropout nodes keep their own copy) */
};

/* Whether mode-dependent kinds (dropout, batch norm) run in training mode now. */
static inline bool graph_train_mode(const medcl_graph *g) {
    return g->mode == 0 ? g->training : g->mode == 1;
}

/* Records the first error on the graph: message "node NAME (kind): <last error>". */
medcl_status graph_error(medcl_graph *g, const gnode *n, medcl_status s);
/* Adds an op node after checking the inputs exist; runs kind->infer. Returns the node id
 * or -1 (sticky error set). params (psize bytes) is copied. */
int graph_add_node(medcl_graph *g, const graph_kind *kind, const int *inputs, int ninputs,
                   const void *params, size_t psize);
static inline gnode *graph_node(medcl_graph *g, int id) { return &g->nodes[id]; }
static inline gnode *graph_in(medcl_graph *g, const gnode *n, int i) {
    return &g->nodes[n->inputs[i]];
}
int64_t graph_numel(const gnode *n);
/* "(2, 3, 4)" into buf */
const char *graph_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

/* Kinds defined in kinds_*.c */
extern const graph_kind graph_kind_add, graph_kind_mul, graph_kind_scale, graph_kind_sum,
    graph_kind_mean, graph_kind_reshape;
/* kinds_extra.c: NumPy-broadcasting add and mul (medcl_graph_add / medcl_graph_mul switch to
 * them when the operands' shapes differ but broadcast), and the dropout kind. */
extern const graph_kind graph_kind_broadcast_add, graph_kind_broadcast_mul, graph_kind_dropout;
/* True when shapes a and b broadcast (NumPy rules) and differ; out receives the result. */
bool graph_broadcast_shape(const gnode *a, const gnode *b, int *ndim, int64_t *out);

/* Variant functions of the op families the kinds use. */
medcl_status medcl_optim_variants(medcl_context *ctx, medcl_variant_add_fn add, void *acc);

/* Helper kernels of cl/optim.cl used by the graph: y[i] = scale * src[0] (broadcast of a
 * device scalar, for reductions' backward). */
medcl_status graph_fill_from_scalar(medcl_tensor *y, const medcl_tensor *src, float scale);

/* Input checks for node kinds: dtype f32; rank in [lo, hi]. Messages name the slot and node. */
medcl_status graph_need_f32(const gnode *in, int slot);
medcl_status graph_need_rank(const gnode *in, int slot, int lo, int hi);

#endif
