/* medcl/graph.h — static computation graphs: building with node handles, shape inference at
 * build time, autograd to parameters (and, on request, to inputs), a liveness-based memory
 * plan, compilation (every program built before the first step) and execution on the
 * context's compute queue without host synchronization.
 *
 * Building: every builder returns a node handle. A builder that fails records a sticky error
 * on the graph (as cairo does) and returns MEDCL_NODE_NONE; builders given MEDCL_NODE_NONE do
 * nothing, so chains stay readable and the first error, naming the node, is reported by the
 * next status-returning call (medcl_graph_status, medcl_graph_compile, ...).
 *
 *   medcl_graph *g; medcl_graph_create(ctx, &g);
 *   medcl_node x = medcl_graph_input(g, "image", MEDCL_DTYPE_F32, 4, (int64_t[]){2, 1, 64, 64});
 *   medcl_node w = medcl_graph_param(g, "conv1.weight", 4, (int64_t[]){8, 1, 3, 3}, &he);
 *   medcl_node y = medcl_graph_conv(g, x, w, MEDCL_NODE_NONE, &cp);
 *   ...
 *   medcl_graph_set_loss(g, loss);
 *   medcl_graph_compile(g, &opts);            // plan, allocate, initialize, build programs
 *   medcl_tensor_upload(medcl_graph_tensor(g, x), host, bytes);
 *   medcl_graph_zero_grad(g); medcl_graph_forward(g); medcl_graph_backward(g, 1.0f);
 *
 * Leaves out: dynamic shapes (one graph per shape), control flow, multiple devices, and the
 * optimizer step and training loop (medcl/nn.h). */
#ifndef MEDCL_GRAPH_H
#define MEDCL_GRAPH_H

#include "medcl/ops.h"
#include "medcl/ops_act.h"
#include "medcl/ops_conv.h"
#include "medcl/ops_linear.h"
#include "medcl/ops_loss.h"
#include "medcl/ops_norm.h"
#include "medcl/ops_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct medcl_graph medcl_graph;

/* A node of a graph; id < 0 is "no node" (the result of a failed builder). */
typedef struct medcl_node {
    int32_t id;
} medcl_node;
#define MEDCL_NODE_NONE ((medcl_node){-1})

/* Parameter initializers. Draws come from Philox on the device: stream = the parameter's
 * index in creation order, seed = the compile options' init_seed, so a graph initializes
 * identically on every device. */
typedef enum medcl_init_kind {
    MEDCL_INIT_ZEROS = 0,
    MEDCL_INIT_ONES = 1,
    MEDCL_INIT_CONSTANT = 2,  /* value */
    MEDCL_INIT_NORMAL = 3,    /* N(0, std^2) */
    MEDCL_INIT_HE_NORMAL = 4, /* Kaiming normal, fan_in mode: std = gain / sqrt(fan_in) with
                               * gain = sqrt(2 / (1 + neg_slope^2)) (nnU-Net InitWeights_He,
                               * neg_slope 1e-2); fan_in = product of shape[1:] when 0 */
    MEDCL_INIT_UNIFORM = 5,   /* U(lo, hi] */
    MEDCL_INIT_KIND_COUNT
} medcl_init_kind;

typedef struct medcl_init {
    size_t size;          /* sizeof(medcl_init) */
    medcl_init_kind kind;
    double value;         /* CONSTANT */
    double std;           /* NORMAL */
    double lo, hi;        /* UNIFORM */
    double neg_slope;     /* HE_NORMAL */
    int64_t fan_in;       /* HE_NORMAL; 0: from the shape */
} medcl_init;
#define MEDCL_INIT_INIT {sizeof(medcl_init), MEDCL_INIT_ZEROS, 0.0, 1.0, 0.0, 1.0, 1e-2, 0}

MEDCL_API medcl_status medcl_graph_create(medcl_context *ctx, medcl_graph **out);
/* Frees the graph, its tensors and its memory plan. Accepts NULL. */
MEDCL_API void medcl_graph_destroy(medcl_graph *g);
/* MEDCL_OK, or the first sticky error (its message becomes this thread's last error again). */
MEDCL_API medcl_status medcl_graph_status(const medcl_graph *g);
MEDCL_API medcl_context *medcl_graph_context(const medcl_graph *g);

/* ---- leaves ---- */
/* A data input of fixed shape (uploaded by the caller before each step). */
MEDCL_API medcl_node medcl_graph_input(medcl_graph *g, const char *name, medcl_dtype dtype,
                                       int ndim, const int64_t *shape);
/* A named, trainable f32 parameter; names are unique in a graph (they are checkpoint keys). */
MEDCL_API medcl_node medcl_graph_param(medcl_graph *g, const char *name, int ndim,
                                       const int64_t *shape, const medcl_init *init);
/* A named f32 tensor kept with the parameters but not trained (e.g. running statistics):
 * saved in checkpoints, no gradient. */
MEDCL_API medcl_node medcl_graph_buffer(medcl_graph *g, const char *name, int ndim,
                                        const int64_t *shape, const medcl_init *init);

/* ---- elementwise and reductions (always available) ---- */
/* y = a + b, y = a * b: same shape, or NumPy broadcasting (medcl/ops_act.h). */
MEDCL_API medcl_node medcl_graph_add(medcl_graph *g, medcl_node a, medcl_node b);
MEDCL_API medcl_node medcl_graph_mul(medcl_graph *g, medcl_node a, medcl_node b);
/* y = alpha * x */
MEDCL_API medcl_node medcl_graph_scale(medcl_graph *g, medcl_node x, float alpha);
/* One-element results of shape (1). */
MEDCL_API medcl_node medcl_graph_sum(medcl_graph *g, medcl_node x);
MEDCL_API medcl_node medcl_graph_mean(medcl_graph *g, medcl_node x);
/* Same data, another shape of the same element count (no copy at run time is promised). */
MEDCL_API medcl_node medcl_graph_reshape(medcl_graph *g, medcl_node x, int ndim,
                                         const int64_t *shape);

/* ---- network ops (medcl/ops_*.h); parameter structs are copied; NULL means the INIT
 * defaults. Weights, biases and affine parameters must be parameter nodes. ---- */
/* b may be MEDCL_NODE_NONE; params.activation must be NONE (use medcl_graph_activation). */
MEDCL_API medcl_node medcl_graph_conv(medcl_graph *g, medcl_node x, medcl_node w, medcl_node b,
                                      const medcl_conv_params *p);
MEDCL_API medcl_node medcl_graph_conv_transpose(medcl_graph *g, medcl_node x, medcl_node w,
                                                medcl_node b, const medcl_conv_params *p);
MEDCL_API medcl_node medcl_graph_activation(medcl_graph *g, medcl_node x,
                                            const medcl_activation_params *p);
MEDCL_API medcl_node medcl_graph_softmax(medcl_graph *g, medcl_node x, const medcl_softmax_params *p);
/* gamma, beta: parameters (C) when p->affine, else MEDCL_NODE_NONE; running_mean/var: buffers
 * (C) for MEDCL_NORM_BATCH (which needs affine here), else MEDCL_NODE_NONE. */
MEDCL_API medcl_node medcl_graph_norm(medcl_graph *g, medcl_node x, medcl_node gamma, medcl_node beta,
                                      medcl_node running_mean, medcl_node running_var,
                                      const medcl_norm_params *p);
MEDCL_API medcl_node medcl_graph_pool(medcl_graph *g, medcl_node x, const medcl_pool_params *p);
/* (N, C, ...) → (N, C, 1, ...) */
MEDCL_API medcl_node medcl_graph_global_avg_pool(medcl_graph *g, medcl_node x);
MEDCL_API medcl_node medcl_graph_upsample(medcl_graph *g, medcl_node x, const medcl_upsample_params *p);
/* along channels */
MEDCL_API medcl_node medcl_graph_concat(medcl_graph *g, const medcl_node *xs, int count);
/* x (N, IN), w (OUT, IN), b (OUT) or MEDCL_NODE_NONE */
MEDCL_API medcl_node medcl_graph_linear(medcl_graph *g, medcl_node x, medcl_node w, medcl_node b);
/* Losses (one-element results): target is an i32 class-index input or an f32 soft target of
 * the logits' shape; no gradient flows into the target. */
MEDCL_API medcl_node medcl_graph_ce_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                         const medcl_ce_loss_params *p);
MEDCL_API medcl_node medcl_graph_dice_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                           const medcl_dice_loss_params *p);
MEDCL_API medcl_node medcl_graph_dice_ce_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                              const medcl_dice_ce_loss_params *p);

/* ---- more network ops (src/graph/kinds_extra.c) ---- */
/* PReLU: y = x > 0 ? x : w[c] * x; w is a parameter (C) or (1) (torch.nn.PReLU). */
MEDCL_API medcl_node medcl_graph_prelu(medcl_graph *g, medcl_node x, medcl_node w);
/* Inverted dropout (medcl/ops_act.h). It drops only while the graph is in training mode
 * (medcl_graph_set_training) and p->training is true; otherwise it is the identity. Its mask
 * comes from Philox with seed p->seed, stream p->stream + k (k: this node's position among the
 * graph's dropout nodes, so layers never share a mask) and step = the graph's RNG step
 * (medcl_graph_rng_step), which every training-mode forward advances by one; p->step is
 * ignored. The backward redraws the mask of the node's last forward. */
MEDCL_API medcl_node medcl_graph_dropout(medcl_graph *g, medcl_node x, const medcl_dropout_params *p);
/* y = x[:, start : start + count] (channels, axis 1). */
MEDCL_API medcl_node medcl_graph_slice(medcl_graph *g, medcl_node x, int64_t start, int64_t count);
/* More losses (medcl/ops_loss.h), one-element results like the ones above. MSE takes any f32
 * prediction of rank 1..5 and an f32 target of its shape (or i32 labels, one-hot). Class
 * weights and pos_weight tensors in the parameter structs are the caller's and must outlive
 * the graph. */
MEDCL_API medcl_node medcl_graph_focal_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                            const medcl_focal_loss_params *p);
MEDCL_API medcl_node medcl_graph_bce_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                          const medcl_bce_loss_params *p);
MEDCL_API medcl_node medcl_graph_mse_loss(medcl_graph *g, medcl_node x, medcl_node target,
                                          const medcl_mse_loss_params *p);
MEDCL_API medcl_node medcl_graph_tversky_loss(medcl_graph *g, medcl_node logits, medcl_node target,
                                              const medcl_tversky_loss_params *p);

/* Nearest down-sampling by integer factors, for label maps (deep-supervision targets): any
 * dtype (i32 labels, f32 maps), rank 4 (N, C, H, W) or 5 (N, C, D, H, W); each down-sampled
 * extent must be divisible by its factor. Output index o of an axis with factor f reads input
 * f * o + f / 2 when exact (PyTorch interpolate mode 'nearest-exact', which nnU-Net v2's
 * DownsampleSegForDSTransform uses), f * o when not (mode 'nearest'). A byte copy on the
 * device (no kernel, no rounding); no gradient flows through it. */
typedef struct medcl_downsample_params {
    size_t size;    /* sizeof(medcl_downsample_params) */
    int factor[3];  /* (D, H, W); 2D uses H and W; >= 1 */
    bool exact;     /* true: 'nearest-exact' (default); false: 'nearest' */
} medcl_downsample_params;
#define MEDCL_DOWNSAMPLE_PARAMS_INIT {sizeof(medcl_downsample_params), {2, 2, 2}, true}
MEDCL_API medcl_node medcl_graph_downsample_nearest(medcl_graph *g, medcl_node x,
                                                    const medcl_downsample_params *p);

/* ---- naming and roles ---- */
/* Renames a node (for messages and medcl_graph_find); returns the node for chaining. */
MEDCL_API medcl_node medcl_graph_named(medcl_graph *g, medcl_node n, const char *name);
MEDCL_API medcl_node medcl_graph_find(const medcl_graph *g, const char *name);
MEDCL_API const char *medcl_graph_node_name(const medcl_graph *g, medcl_node n);
MEDCL_API medcl_status medcl_graph_node_shape(const medcl_graph *g, medcl_node n, int *ndim,
                                              int64_t shape[MEDCL_MAX_DIMS]);
/* The scalar (one-element) node that training differentiates. */
MEDCL_API medcl_status medcl_graph_set_loss(medcl_graph *g, medcl_node loss);
/* Keeps the node's tensor after forward for the caller to read (logits, probabilities). */
MEDCL_API medcl_status medcl_graph_mark_output(medcl_graph *g, medcl_node n);
/* Asks for d loss / d input (adversarial training): the input's gradient tensor is assigned
 * by every medcl_graph_backward. */
MEDCL_API medcl_status medcl_graph_input_requires_grad(medcl_graph *g, medcl_node input);

/* ---- compile ---- */
typedef struct medcl_graph_compile_options {
    size_t size;          /* sizeof(medcl_graph_compile_options) */
    bool training;        /* plan and run backward (needs a loss) */
    uint64_t init_seed;   /* parameter initialization */
    bool plan_memory;     /* false: every tensor gets its own buffer (for debugging) */
} medcl_graph_compile_options;
#define MEDCL_GRAPH_COMPILE_OPTIONS_INIT {sizeof(medcl_graph_compile_options), true, 0, true}

/* Autograd, the memory plan, allocation, parameter initialization (enqueued), and a build of
 * every program the graph's nodes use, so the first step compiles nothing. */
MEDCL_API medcl_status medcl_graph_compile(medcl_graph *g, const medcl_graph_compile_options *o);

typedef struct medcl_graph_memory {
    size_t size;            /* sizeof(medcl_graph_memory) */
    size_t planned_peak;    /* bytes of the planned arenas (activations, gradients, scratch) */
    size_t naive_sum;       /* the same tensors, each in its own buffer */
    size_t persistent;      /* parameters, gradients of parameters, inputs, outputs, loss */
    int planned_tensors;
    int arenas;
} medcl_graph_memory;
#define MEDCL_GRAPH_MEMORY_INIT {sizeof(medcl_graph_memory), 0, 0, 0, 0, 0}
MEDCL_API medcl_status medcl_graph_memory_report(const medcl_graph *g, medcl_graph_memory *out);

/* ---- tensors of a compiled graph ----
 * Inputs, parameters, buffers, outputs and the loss have their own tensors; other nodes live
 * in the memory plan and their contents are valid only while the plan keeps them (NULL here
 * unless marked as output). */
MEDCL_API medcl_tensor *medcl_graph_tensor(const medcl_graph *g, medcl_node n);
/* Gradient of a parameter or of an input that requires grad (NULL otherwise). */
MEDCL_API medcl_tensor *medcl_graph_grad(const medcl_graph *g, medcl_node n);
/* One-element f32: sum of loss * loss_scale over the backward passes since zero_grad. */
MEDCL_API medcl_tensor *medcl_graph_loss_sum(const medcl_graph *g);

/* Named parameters (and buffers) in creation order. */
MEDCL_API int medcl_graph_param_count(const medcl_graph *g);
MEDCL_API medcl_node medcl_graph_param_at(const medcl_graph *g, int i);
MEDCL_API bool medcl_graph_param_trainable(const medcl_graph *g, int i);
/* Total elements of the trainable parameters. */
MEDCL_API int64_t medcl_graph_param_numel(const medcl_graph *g);

/* ---- execution (enqueue only; nothing waits) ---- */
MEDCL_API medcl_status medcl_graph_forward(medcl_graph *g);
/* Parameter gradients and the loss sum set to zero. */
MEDCL_API medcl_status medcl_graph_zero_grad(medcl_graph *g);
/* After medcl_graph_forward: back-propagates loss_scale * d loss, accumulating (+=) into the
 * parameter gradients (micro-batch accumulation: call forward/backward k times with scale
 * 1/k between zero_grad and the optimizer step). */
MEDCL_API medcl_status medcl_graph_backward(medcl_graph *g, float loss_scale);

/* ---- training and evaluation mode (after compile) ----
 * Dropout and batch norm behave per mode: training mode drops and uses (and updates) batch
 * statistics; evaluation mode is the identity for dropout and uses the running statistics.
 * A graph starts in the mode it was compiled for (options.training); switching never
 * recompiles or re-plans. Backward works in both modes (evaluation-mode batch norm treats its
 * statistics as constants), so a training graph can give input gradients of the eval model. */
MEDCL_API medcl_status medcl_graph_set_training(medcl_graph *g, bool training);
MEDCL_API bool medcl_graph_is_training(const medcl_graph *g);
/* The step number that per-step random ops (dropout) draw with; each training-mode forward
 * advances it by one. Save it with a checkpoint and set it again on resume. */
MEDCL_API medcl_status medcl_graph_set_rng_step(medcl_graph *g, uint64_t step);
MEDCL_API uint64_t medcl_graph_rng_step(const medcl_graph *g);

/* Node kinds bound so far, for messages and tests: "conv", "add", ... */
MEDCL_API const char *medcl_graph_node_kind(const medcl_graph *g, medcl_node n);

#ifdef __cplusplus
}
#endif
#endif
